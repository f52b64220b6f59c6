"""Convolutional encoders: windows of neural activity -> embedding vectors.

One parametrised class covers every receptive field; the registry in
:mod:`neurolatent.models` only records which parameters an official model name means.
Encoders never see labels or sampling.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from neurolatent.models.receptive_field import ReceptiveField

__all__ = ["ConvEncoder", "init_parameters"]

NORMALIZE_EPS = 1e-8


class _Skip(nn.Module):
    """``x[crop] + GELU(conv(x))``: the residual block of the paper's conv encoders."""

    def __init__(self, channels: int, kernel_size: int = 3):
        super().__init__()
        self.conv = _GemmConv(channels, channels, kernel_size)
        self.crop = (kernel_size - 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.conv
        if (not _fused_backward(self) or torch.is_autocast_enabled(x.device.type)
                or x.shape[-1] < conv.kernel_size[0]):
            return x[..., self.crop : x.shape[-1] - self.crop] + F.gelu(conv(x))
        weight = conv.weight.permute(0, 2, 1).reshape(conv.out_channels, -1)  # (out, k*c)
        return _SkipBlock.apply(x.transpose(1, 2), weight, conv.bias, self.crop).transpose(1, 2)


class _GemmConv(nn.Conv1d):
    """Stride-1 convolution computed as one matrix product on channels-last columns.

    Same parameters (and state dict) as ``nn.Conv1d``. The input's (batch, channels, time)
    view is read as (batch, time, channels) -- contiguous when the previous layer was a
    ``_GemmConv`` or the input came from the window gather -- its k shifted copies are laid
    side by side (im2col by concatenation), and one GEMM over batch x time does the layer;
    a narrowing layer (fewer outputs than inputs) instead applies all taps in one GEMM and
    sums the shifted results. For the small channel counts and short windows of these
    encoders that is faster on CPU, forward and backward, than the direct convolution.
    In training, both shifts have hand-written backwards (``_Shift``; residual blocks use
    ``_SkipBlock``).
    (Measured alternatives: ``unfold`` columns have a slow backward; shifted sums for the
    square hidden layers spend their backward zero-filling slice gradients.)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1):
        super().__init__(in_channels, out_channels, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel_size[0]
        rows = x.transpose(1, 2)  # (batch, time, channels)
        if k == 1:
            return F.linear(rows, self.weight[..., 0], self.bias).transpose(1, 2)
        steps = rows.shape[1] - k + 1
        if steps < 1:  # as nn.Conv1d does; negative slice bounds would silently wrap
            raise RuntimeError(f"input of {rows.shape[1]} time steps is shorter than the "
                               f"kernel ({k}).")
        out = self.out_channels
        if out < self.in_channels:
            # Narrowing layer (e.g. the input layer, neurons -> hidden): apply all k taps
            # to every step in one GEMM, (b*t, in) x (in, k*out), and add tap j's result
            # at t + j -- the intermediate is k*out wide instead of the k*in of im2col.
            taps = F.linear(rows, self.weight.permute(2, 0, 1).reshape(k * out, -1))
            summed = (_Shift.apply(taps, k, _shifted_sum, _unsum_taps) if _fused_backward(self)
                      else _shifted_sum(taps, k))
            return (summed + self.bias).transpose(1, 2)
        # (b, t, k*c)
        columns = (_Shift.apply(rows, k, _shifted_columns, _unshift_columns)
                   if _fused_backward(self) else _shifted_columns(rows, k))
        weight = self.weight.permute(0, 2, 1).reshape(out, -1)  # (out, k*c)
        return F.linear(columns, weight, self.bias).transpose(1, 2)


# The shift operations below are also written as autograd functions because autograd's
# backward of a slice allocates a zero-filled tensor of the full input size per slice and
# then adds them up; for k shifted slices that was a quarter of a training step. Each
# backward here fills one buffer once and accumulates the k shifted gradients into it.
# They serve training only: evaluation (transform, torch.func Jacobians, which would need
# functorch rules) takes the plain operations, which compute the same values.


def _fused_backward(module: nn.Module) -> bool:
    return module.training and torch.is_grad_enabled()


def _shifted_columns(rows: torch.Tensor, k: int) -> torch.Tensor:
    steps = rows.shape[1] - k + 1
    return torch.cat([rows[:, j : j + steps] for j in range(k)], dim=2)


def _shifted_sum(taps: torch.Tensor, k: int) -> torch.Tensor:
    steps, width = taps.shape[1] - k + 1, taps.shape[2] // k
    result = taps[:, :steps, :width]
    for j in range(1, k):
        result = result + taps[:, j : j + steps, j * width : (j + 1) * width]
    return result


class _Shift(torch.autograd.Function):
    """A linear shift map with its hand-written adjoint as the backward.

    ``_Shift.apply(x, k, shift, adjoint)`` returns ``shift(x, k)``; the gradient of ``x`` is
    ``adjoint(grad, x.shape, k)``. Used for the columns (``_shifted_columns`` /
    ``_unshift_columns``) and the tap sum (``_shifted_sum`` / ``_unsum_taps``).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, k: int, shift, adjoint) -> torch.Tensor:
        ctx.k, ctx.shape, ctx.adjoint = k, x.shape, adjoint
        return shift(x, k)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return ctx.adjoint(grad, ctx.shape, ctx.k), None, None, None


def _unshift_columns(grad: torch.Tensor, shape: torch.Size, k: int) -> torch.Tensor:
    """The gradient of the input of ``_shifted_columns`` from that of its columns."""
    channels, steps = shape[2], shape[1] - k + 1
    out = grad.new_empty(shape)
    out[:, :steps] = grad[..., :channels]
    out[:, steps:] = 0
    for j in range(1, k):
        out[:, j : j + steps] += grad[..., j * channels : (j + 1) * channels]
    return out


class _SkipBlock(torch.autograd.Function):
    """Residual block on channels-last rows (b, t, c): ``rows[crop] + GELU(cols @ W.T + b)``.

    One function instead of autograd's graph of slice / cat / linear / GELU / add: the
    backward accumulates the residual gradient and the k shifted column gradients into a
    single input-gradient buffer (the residual's slice alone cost a zero-filled copy of the
    block input per step).
    """

    @staticmethod
    def forward(ctx, rows: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                crop: int) -> torch.Tensor:
        k = 2 * crop + 1
        steps = rows.shape[1] - k + 1
        columns = _shifted_columns(rows, k)
        before = F.linear(columns, weight, bias)
        ctx.save_for_backward(columns, weight, before)
        ctx.crop, ctx.shape = crop, rows.shape
        return rows[:, crop : crop + steps] + F.gelu(before)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        columns, weight, before = ctx.saved_tensors
        crop, steps = ctx.crop, grad.shape[1]
        grad_before = torch.ops.aten.gelu_backward(grad, before)
        flat = grad_before.reshape(-1, grad_before.shape[-1])
        grad_weight = flat.t() @ columns.reshape(-1, columns.shape[-1])
        grad_bias = flat.sum(0)
        out = _unshift_columns(grad_before @ weight, ctx.shape, 2 * crop + 1)
        out[:, crop : crop + steps] += grad  # the residual path
        return out, grad_weight, grad_bias, None


def _unsum_taps(grad: torch.Tensor, shape: torch.Size, k: int) -> torch.Tensor:
    """The gradient of the taps of ``_shifted_sum`` from that of its sum."""
    steps, width = shape[1] - k + 1, shape[2] // k
    out = grad.new_zeros(shape)
    for j in range(k):
        out[:, j : j + steps, j * width : (j + 1) * width] = grad
    return out


class _Subsample4(nn.Module):
    """Input stage of the 4x-subsampling model (paper, "CEBRA models"): a 2x-downsampled
    copy of the signal concatenated with a learnable stride-2 convolution (kernel 4),
    followed directly by a stride-2 convolution (kernel 3); receptive field 8, stride 4."""

    def __init__(self, num_neurons: int, num_units: int):
        super().__init__()
        self.down = nn.Conv1d(num_neurons, num_units, 4, stride=2)
        self.mix = nn.Conv1d(num_units + num_neurons, num_units, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.avg_pool1d(x, 4, stride=2)
        return F.gelu(self.mix(torch.cat([self.down(x), pooled], dim=1)))


class ConvEncoder(nn.Module):
    """Encoder with an unpadded temporal convolution stack.

    A window of exactly ``receptive_field.size`` samples yields one output vector; a
    longer sequence yields one output per window position (divided by ``stride``).

    Parameters
    ----------
    num_neurons, num_units, num_output : int
        Input channels, hidden width and embedding dimension.
    receptive_field : int
        1 gives the paper's 4-layer MLP (applied per sample), >= 3 the conv network
        (first kernel 2, residual kernel-3 blocks, last kernel 3 or 2).
    normalize : bool
        Project outputs onto the unit sphere (cosine-similarity models).
    subsample : {1, 4}
        4 builds the paper's 40-sample, 4x-subsampling model.
    variant : str
        ``"v2"`` selects the wider 1-sample MLP without bottleneck.

    Examples
    --------
    >>> enc = ConvEncoder(20, 32, 3, receptive_field=10)
    >>> enc.receptive_field
    ReceptiveField(left=5, right=5)
    >>> enc.embed_windows(torch.randn(7, 20, 10)).shape
    torch.Size([7, 3])
    """

    def __init__(
        self,
        num_neurons: int,
        num_units: int,
        num_output: int,
        receptive_field: int,
        normalize: bool = True,
        subsample: int = 1,
        variant: str = "",
    ):
        super().__init__()
        self.num_neurons, self.num_units, self.num_output = num_neurons, num_units, num_output
        self.normalize = normalize
        self.stride = subsample
        self.receptive_field = ReceptiveField.centred(receptive_field)
        H = num_units
        if receptive_field == 1:
            # Paper: N->H, H->H, H->H/2 (bottleneck), ->out; v2 keeps the full width.
            widths = [H, H, H, H] if variant == "v2" else [H, H, max(H // 2, 1)]
            self.input_layer = _GemmConv(num_neurons, widths[0])
            layers: list[nn.Module] = [nn.GELU()]
            for a, b in itertools.pairwise(widths):
                layers += [_GemmConv(a, b), nn.GELU()]
            layers.append(_GemmConv(widths[-1], num_output))
        elif subsample == 4:
            if receptive_field != 40:
                raise ValueError("the 4x-subsampling encoder has a receptive field of 40")
            self.input_layer = _Subsample4(num_neurons, H)  # rf 8, stride 4
            layers = [_Skip(H) for _ in range(3)]  # + 3 * 8
            layers.append(_GemmConv(H, num_output, 3))  # + 8 = 40
        else:
            last_kernel = 3 if receptive_field % 2 == 0 else 2
            num_blocks = (receptive_field - 1 - last_kernel) // 2
            if receptive_field < 3 or num_blocks < 0:
                raise ValueError(f"unsupported receptive field {receptive_field}")
            self.input_layer = _GemmConv(num_neurons, H, 2)
            layers = [nn.GELU(), *[_Skip(H) for _ in range(num_blocks)]]
            layers.append(_GemmConv(H, num_output, last_kernel))
        self.trunk = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, neurons, time) -> (batch, num_output, outputs)."""
        out = self.trunk(self.input_layer(x))
        if self.normalize:
            out = out / (out.norm(dim=1, keepdim=True) + NORMALIZE_EPS)
        return out

    def embed_windows(self, windows: torch.Tensor) -> torch.Tensor:
        """(batch, neurons, receptive field) -> (batch, num_output)."""
        return self.forward(windows)[..., 0]

    def embed_sequence(self, neural: torch.Tensor, chunk_size: int | None = None,
                       pad: bool = False) -> torch.Tensor:
        """Embed every complete window of a (time, neurons) sequence.

        Output row ``i`` is the embedding of the window ``[i, i + rf.size)``, i.e. of time
        ``i + rf.left``. The convolution runs over the sequence in chunks of
        ``chunk_size`` outputs, so memory is bounded and each layer is evaluated once per
        time point instead of once per window. Strided (subsampling) models are run once
        per phase and interleaved, giving the same result as per-window evaluation.

        With ``pad=True`` the sequence is extended by repeating its first sample
        ``rf.left`` times and its last ``rf.right - 1`` times, so row ``i`` embeds time
        ``i`` and every sample gets an embedding.

        Examples
        --------
        >>> enc = ConvEncoder(4, 8, 2, receptive_field=5)
        >>> enc.embed_sequence(torch.randn(30, 4), chunk_size=7).shape
        torch.Size([26, 2])
        >>> enc.embed_sequence(torch.randn(30, 4), pad=True).shape
        torch.Size([30, 2])
        """
        if pad:
            return self._embed_padded(neural, chunk_size)
        size = self.receptive_field.size
        num_out = neural.shape[0] - size + 1
        x = neural.t().unsqueeze(0)  # (1, neurons, time)
        if chunk_size is None:
            chunk_size = num_out
        chunk_size = max(self.stride, (chunk_size // self.stride) * self.stride)
        pieces = []
        for start in range(0, num_out, chunk_size):
            stop = min(start + chunk_size, num_out)
            segment = x[..., start : stop + size - 1]
            if self.stride == 1:
                pieces.append(self.forward(segment)[0].t())
                continue
            out = segment.new_empty(stop - start, self.num_output)
            for phase in range(min(self.stride, stop - start)):
                out[phase :: self.stride] = self.forward(segment[..., phase:])[0].t()
            pieces.append(out)
        return torch.cat(pieces, dim=0)

    def _embed_padded(self, neural: torch.Tensor, chunk_size: int | None) -> torch.Tensor:
        # Only the edge windows see repeated samples: embedding them from two short padded
        # segments, and the interior from the sequence itself, avoids copying (and, in a
        # transposed layout, slowly padding) the whole recording -- the padded copy took
        # 60 % of transform time at T = 100k.
        rf = self.receptive_field
        size, length = rf.size, neural.shape[0]
        if length < 2 * size or self.stride > 1:  # short trials: one small padded copy
            return self.embed_sequence(_repeat_edges(neural, rf.left, rf.right - 1),
                                       chunk_size)
        pieces = [self.embed_sequence(neural, chunk_size)]
        if rf.left > 0:
            pieces.insert(0, self.embed_sequence(_repeat_edges(neural[: size - 1], rf.left, 0)))
        if rf.right > 1:
            edge = neural[length - size + 1 :]
            pieces.append(self.embed_sequence(_repeat_edges(edge, 0, rf.right - 1)))
        return torch.cat(pieces, dim=0)


def _repeat_edges(neural: torch.Tensor, before: int, after: int) -> torch.Tensor:
    """(time, neurons) with the first row repeated ``before`` and the last ``after`` times."""
    return torch.cat([neural[:1].expand(before, -1), neural, neural[-1:].expand(after, -1)])


def init_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise conv/linear weights from ``generator`` (PyTorch's default scheme).

    PyTorch layers initialise from the global RNG; drawing from the fit's own generator
    keeps fits reproducible without touching global state.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> a, b = ConvEncoder(3, 4, 2, 1), ConvEncoder(3, 4, 2, 1)
    >>> init_parameters(a, torch.Generator().manual_seed(0))
    >>> init_parameters(b, torch.Generator().manual_seed(0))
    >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    True
    """
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                if layer.bias is not None:
                    fan_in = layer.weight[0].numel()
                    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                    layer.bias.uniform_(-bound, bound, generator=generator)
