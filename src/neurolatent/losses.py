"""The InfoNCE family of CEBRA (cosine or Euclidean similarity, fixed or learned temperature).

    L = mean_i[-s(r_i, p_i)] + mean_i[log sum_j exp s(r_i, n_j)]

The positive is not in the denominator; each row's logsumexp is stabilised by its maximum,
and the (n, m) matrix of similarities is only ever held in cache-sized chunks of rows.
Losses see embeddings only, never indices or labels.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

__all__ = ["InfoNCE", "LossTerms", "infonce", "pairwise_similarity"]


class LossTerms(NamedTuple):
    """Loss value and its two parts (``loss = alignment + uniformity``).

    >>> terms = LossTerms(torch.tensor(3.0), torch.tensor(-1.0), torch.tensor(4.0))
    >>> float(terms.alignment + terms.uniformity) == float(terms.loss)
    True
    """

    loss: torch.Tensor
    alignment: torch.Tensor
    uniformity: torch.Tensor


def pairwise_similarity(
    a: torch.Tensor, b: torch.Tensor, distance: str, inverse_temperature: torch.Tensor | float
) -> torch.Tensor:
    """Similarities between every row of ``a`` (n, d) and ``b`` (m, d): shape (n, m).

    ``cosine``: dot product (inputs are expected normalised) / tau;
    ``euclidean``: minus the squared distance / tau.

    Examples
    --------
    >>> pairwise_similarity(torch.eye(2), torch.eye(2), "euclidean", 1.0)
    tensor([[ 0., -2.],
            [-2.,  0.]])
    """
    inverse_temperature = torch.as_tensor(inverse_temperature, dtype=a.dtype, device=a.device)
    left, right, row = _factors(a, b, distance, inverse_temperature)
    similarity = left @ right.t()
    return similarity if row is None else similarity + row[:, None]


def _paired_similarity(a, b, distance, inverse_temperature):
    if distance == "cosine":
        return (a * b).sum(1) * inverse_temperature
    return -(a - b).pow(2).sum(1) * inverse_temperature


# Reference rows per chunk of the similarity matrix: 2^18 entries (1 MiB in float32), so
# one batch of 512 x 512 is a single chunk and larger ones stay cache-sized. Multi-session
# batches (4 x 512 references against 4 x 512 negatives) went through autograd's dense
# graph before: 26-31 ms per forward + backward, with 16 MiB temporaries that were fresh
# mmaps (page faults) every step. In chunks, with the backward below: 9 ms.
_CHUNK_ENTRIES = 1 << 18


def _factors(reference, negative, distance, inverse_temperature):
    """``a``, ``b``, ``c`` with similarity(r_i, n_j) = a_i . b_j + c_i (``c`` None: zero).

    Euclidean: -|r - n|^2 / tau = (2 r / tau, -1 / tau) . (n, |n|^2) - |r|^2 / tau, so both
    distances are one GEMM per chunk.
    """
    if distance == "cosine":
        return reference * inverse_temperature, negative, None
    a = torch.cat([2 * inverse_temperature * reference,
                   (-inverse_temperature).expand(reference.shape[0], 1)], 1)
    b = torch.cat([negative, negative.pow(2).sum(1, keepdim=True)], 1)
    return a, b, -inverse_temperature * reference.pow(2).sum(1)


class _LogSumExp(torch.autograd.Function):
    """Row-wise logsumexp of the (n, m) similarity matrix, in chunks of reference rows.

    Memory is O(chunk * m), never O(n * m). The backward recomputes each chunk's softmax P
    from the saved row logsumexp as one GEMM (the exponent a.b + c - lse is the product of
    (a, c - lse) and (b, 1)), then needs two GEMMs: P b gives the references' gradient (and
    the temperature's), P^T (g r) the negatives'. No other pass over the matrix: the upstream
    gradient g scales rows of r and of the results, and P's rows sum to one. A matrix of one
    chunk (a 512-sample batch) keeps the forward's exp(s - row max) instead: P is that
    scaled by 1 / row sum, a scale the backward folds into g and into P b.
    """

    @staticmethod
    def forward(ctx, reference, negative, inverse_temperature, distance, rows):
        a, b, c = _factors(reference, negative, distance, inverse_temperature)
        lse = a.new_empty(a.shape[0])
        ctx.kept = None
        for start in range(0, a.shape[0], rows):
            similarity = a[start : start + rows] @ b.t()
            # in place, unlike torch.logsumexp (two fewer chunk-sized temporaries)
            row_max = similarity.amax(1, keepdim=True)
            total = similarity.sub_(row_max).exp_().sum(1)
            if a.shape[0] <= rows:  # the only chunk: at most _CHUNK_ENTRIES floats kept
                ctx.kept = (similarity, total.reciprocal())
            torch.add(total.log_(), row_max[:, 0], out=lse[start : start + rows])
        if c is not None:
            lse += c
        ctx.save_for_backward(reference, negative, inverse_temperature, lse)
        ctx.distance, ctx.rows = distance, rows
        return lse

    @staticmethod
    def backward(ctx, grad_lse):
        reference, negative, inverse_temperature, lse = ctx.saved_tensors
        need_ref, need_neg, need_inv = ctx.needs_input_grad[:3]
        cosine = ctx.distance == "cosine"
        a, b, c = _factors(reference, negative, ctx.distance, inverse_temperature)
        kept = ctx.kept  # left in place: a retained graph's second backward is the same
        if kept is None:
            exponent_a = torch.cat([a, ((0 if c is None else c) - lse)[:, None]], 1)
            exponent_b = torch.cat([b, b.new_ones(b.shape[0], 1)], 1)
        g = grad_lse[:, None]
        # rows of g * r (cosine) or (g * r, g) (euclidean): P^T of them, summed over chunks
        weighted = g * reference if cosine else torch.cat([g * reference, g], 1)
        if kept is not None:  # P = kept exp(s - max) / row sum: the 1 / sum goes into g
            weighted = weighted * kept[1][:, None]
        # Both products are taken transposed, (k, chunk) @ (chunk, m) and (k, m) @ (m, chunk):
        # GEMMs with k ~ 8 output columns ran 2-4x slower (chunk 128 x m 2048: 309 -> 72 us).
        weighted_t, b_t = weighted.t(), b.t().contiguous()
        p_b_t = [] if need_ref or need_inv else None
        pt_weighted_t = weighted.new_zeros(weighted.shape[1], b.shape[0]) if need_neg else None
        for start in range(0, a.shape[0], ctx.rows):
            stop = start + ctx.rows
            p = kept[0] if kept is not None else (
                exponent_a[start:stop] @ exponent_b.t()).exp_()
            if p_b_t is not None:
                p_b_t.append(b_t @ p.t())
            if pt_weighted_t is not None:
                pt_weighted_t.addmm_(weighted_t[:, start:stop], p)
        p_b = torch.cat(p_b_t, 1).t() if p_b_t is not None else None
        if p_b is not None and kept is not None:
            p_b = p_b * kept[1][:, None]
        pt_weighted = pt_weighted_t.t() if pt_weighted_t is not None else None
        grad_ref = grad_neg = grad_inv = None
        inv = inverse_temperature
        if cosine:
            if need_ref:
                grad_ref = inv * g * p_b
            if need_neg:
                grad_neg = inv * pt_weighted
            if need_inv:
                grad_inv = (g * reference * p_b).sum()
        else:  # similarity -|r - n|^2 / tau
            d = reference.shape[1]
            if need_ref:
                grad_ref = -2 * inv * g * (reference - p_b[:, :d])
            if need_neg:
                grad_neg = -2 * inv * (pt_weighted[:, d:] * negative - pt_weighted[:, :d])
            if need_inv:
                grad_inv = -(grad_lse * (reference.pow(2).sum(1) + p_b[:, d]
                                         - 2 * (reference * p_b[:, :d]).sum(1))).sum()
        if grad_inv is not None:
            grad_inv = grad_inv.reshape(inverse_temperature.shape)
        return grad_ref, grad_neg, grad_inv, None, None


def infonce(
    reference: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    distance: str = "cosine",
    inverse_temperature: torch.Tensor | float = 1.0,
    chunk_size: int | None = None,
) -> LossTerms:
    """InfoNCE of (n, d) references and positives against (m, d) shared negatives.

    The n x m similarity matrix is never held in memory: rows are processed in chunks of
    ``chunk_size`` (default: ~2^18 entries per chunk) and recomputed in backward
    (:class:`_LogSumExp`); value and gradient do not depend on the chunk size beyond float
    summation order.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> z = torch.nn.functional.normalize(torch.randn(64, 3, generator=g), dim=1)
    >>> float(infonce(z, z, z).loss) > 0
    True
    """
    inverse_temperature = torch.as_tensor(inverse_temperature, dtype=reference.dtype,
                                          device=reference.device)
    alignment = -_paired_similarity(reference, positive, distance, inverse_temperature).mean()
    rows = chunk_size or max(1, _CHUNK_ENTRIES // negative.shape[0])
    uniformity = _LogSumExp.apply(reference, negative, inverse_temperature, distance,
                                  rows).mean()
    return LossTerms(alignment + uniformity, alignment, uniformity)


class InfoNCE(nn.Module):
    """InfoNCE criterion with a fixed or learned temperature.

    Parameters
    ----------
    distance : {"cosine", "euclidean"}
    temperature : float
        Fixed temperature, or the initial one when ``temperature_mode="auto"``.
    temperature_mode : {"constant", "auto"}
        ``auto`` learns log(1/tau); 1/tau is clamped at ``1 / min_temperature``.
    min_temperature : float

    Examples
    --------
    >>> crit = InfoNCE("cosine", temperature=0.5)
    >>> float(crit.temperature)
    0.5
    """

    def __init__(
        self,
        distance: str = "cosine",
        temperature: float = 1.0,
        temperature_mode: str = "constant",
        min_temperature: float = 0.1,
    ):
        super().__init__()
        self.distance = distance
        self.max_inverse_temperature = 1.0 / min_temperature if min_temperature else math.inf
        log_inverse = torch.tensor(math.log(1.0 / temperature))
        if temperature_mode == "auto":
            self.log_inverse_temperature = nn.Parameter(log_inverse)
        else:
            self.register_buffer("log_inverse_temperature", log_inverse)

    @property
    def inverse_temperature(self) -> torch.Tensor:
        return self.log_inverse_temperature.exp().clamp(max=self.max_inverse_temperature)

    @property
    def temperature(self) -> torch.Tensor:
        return 1.0 / self.inverse_temperature.detach()

    def forward(self, reference, positive, negative, chunk_size: int | None = None) -> LossTerms:
        return infonce(reference, positive, negative, self.distance,
                       self.inverse_temperature, chunk_size)
