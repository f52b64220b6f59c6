"""The InfoNCE family of CEBRA (cosine or Euclidean similarity, fixed or learned temperature).

    L = mean_i[-s(r_i, p_i)] + mean_i[log sum_j exp s(r_i, n_j)]

The positive is not in the denominator; each row is stabilised by its detached maximum.
Losses see embeddings only, never indices or labels.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

__all__ = ["InfoNCE", "LossTerms", "infonce", "pairwise_similarity"]

# Above this many reference x negative entries the similarity matrix is computed in row
# chunks that are recomputed during backward, so memory stays O(chunk * negatives).
_DENSE_LIMIT = 1 << 22


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
    tensor([[-0., -2.],
            [-2., -0.]])
    """
    dot = a @ b.t()
    if distance == "cosine":
        return dot * inverse_temperature
    squared = a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1)[None, :] - 2 * dot
    return -squared * inverse_temperature


def _paired_similarity(a, b, distance, inverse_temperature):
    if distance == "cosine":
        return (a * b).sum(1) * inverse_temperature
    return -(a - b).pow(2).sum(1) * inverse_temperature


def _stable_logsumexp(similarity: torch.Tensor) -> torch.Tensor:
    # amax: the values without the indices `max` also computes (16x faster at 512 x 512)
    row_max = similarity.amax(dim=1, keepdim=True).detach()
    return (similarity - row_max).exp().sum(1).log() + row_max[:, 0]


class _ChunkedLogSumExp(torch.autograd.Function):
    """Row-wise logsumexp of the (n, m) similarity matrix, computed and differentiated in
    row chunks: peak memory O(chunk * m) instead of O(n * m). The backward pass recomputes
    each chunk's softmax from the saved row logsumexp, so the gradient is the exact
    gradient of the dense computation (up to float summation order)."""

    @staticmethod
    def forward(ctx, reference, negative, inverse_temperature, distance, rows):
        lse = reference.new_empty(reference.shape[0])
        for start in range(0, reference.shape[0], rows):
            sim = pairwise_similarity(reference[start : start + rows], negative, distance,
                                      inverse_temperature)
            lse[start : start + rows] = _stable_logsumexp(sim)
        ctx.save_for_backward(reference, negative, inverse_temperature, lse)
        ctx.distance, ctx.rows = distance, rows
        return lse

    @staticmethod
    def backward(ctx, grad_lse):
        reference, negative, inverse_temperature, lse = ctx.saved_tensors
        grad_ref = torch.empty_like(reference)
        grad_neg = torch.zeros_like(negative)
        grad_inv = reference.new_zeros(())
        for start in range(0, reference.shape[0], ctx.rows):
            r = reference[start : start + ctx.rows]
            sim = pairwise_similarity(r, negative, ctx.distance, inverse_temperature)
            weight = (sim - lse[start : start + ctx.rows, None]).exp()
            weight *= grad_lse[start : start + ctx.rows, None]  # dL/dsim
            grad_inv += (weight * sim).sum() / inverse_temperature
            if ctx.distance == "cosine":
                grad_ref[start : start + ctx.rows] = inverse_temperature * (weight @ negative)
                grad_neg += inverse_temperature * (weight.t() @ r)
            else:  # sim = -tau^-1 |r - n|^2
                scale = -2 * inverse_temperature
                grad_ref[start : start + ctx.rows] = scale * (
                    weight.sum(1, keepdim=True) * r - weight @ negative)
                grad_neg += scale * (weight.sum(0)[:, None] * negative - weight.t() @ r)
        return grad_ref, grad_neg, grad_inv.reshape(inverse_temperature.shape), None, None


def infonce(
    reference: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    distance: str = "cosine",
    inverse_temperature: torch.Tensor | float = 1.0,
    chunk_size: int | None = None,
) -> LossTerms:
    """InfoNCE of (n, d) references and positives against (m, d) shared negatives.

    With ``chunk_size`` (or automatically when n*m is large) the n x m similarity matrix
    is never held in memory: rows are processed in chunks and recomputed in backward
    (:class:`_ChunkedLogSumExp`); value and gradient equal the dense computation.

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
    n, m = reference.shape[0], negative.shape[0]
    if chunk_size is None and n * m <= _DENSE_LIMIT:
        uniformity = _stable_logsumexp(
            pairwise_similarity(reference, negative, distance, inverse_temperature)
        ).mean()
    else:
        rows = chunk_size or max(1, _DENSE_LIMIT // m)
        uniformity = _ChunkedLogSumExp.apply(reference, negative, inverse_temperature,
                                             distance, rows).mean()
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
