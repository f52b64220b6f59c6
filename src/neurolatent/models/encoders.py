"""Convolutional encoders: windows of neural activity -> embedding vectors.

One parametrised class covers every receptive field; the registry in
:mod:`neurolatent.models` only records which parameters an official model name means.
Encoders never see labels or sampling.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from neurolatent.models.receptive_field import ReceptiveField

__all__ = ["ConvEncoder", "init_parameters"]

NORMALIZE_EPS = 1e-8
_VARIANTS = ("", "v2", "bn")


class _Skip(nn.Module):
    """``x[crop] + GELU(conv(x))``: the residual block of the paper's conv encoders.

    A parameter holder: :class:`ConvEncoder` runs its blocks through :func:`_run_layers`.
    Called on its own it computes the same block with PyTorch's direct convolution.
    """

    def __init__(self, channels: int, kernel_size: int = 3):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size)
        self.crop = (kernel_size - 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., self.crop : x.shape[-1] - self.crop] + F.gelu(self.conv(x))


# How a layer's convolution output becomes the next layer's input.
_GELU, _RESIDUAL, _LINEAR = "gelu", "residual", "linear"


def _taps(weight: torch.Tensor) -> torch.Tensor:
    """(out, in, k) convolution weight -> (k, out, in): one contiguous matrix per tap."""
    return weight.permute(2, 0, 1).contiguous()


# From this many input channels on (the first layer of wide recordings), a convolution's
# taps are one GEMM against all of them at once instead of one GEMM per tap. The input rows
# are then read once, not k times: at N = 1,000 neurons the first layer's GEMMs are bound
# by that read (2 taps, 1,536 windows: forward 14.7 -> 13.0 ms, weight gradient 15.0 ->
# 12.4 ms), at the price of computing the k - 1 edge positions each tap does not need. At
# N = 120 the per-tap GEMMs are as fast or faster (1.23 vs 1.40 ms forward).
_STACKED_MIN_CHANNELS = 512


def _stacked(taps: torch.Tensor) -> bool:
    return taps.shape[0] > 1 and taps.shape[2] >= _STACKED_MIN_CHANNELS


def _convolve(rows: torch.Tensor, taps: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """A stride-1 convolution on time-major rows: (t, B, in) -> (t - k + 1, B, out).

    Time-major rows make every shifted input ``rows[j : j + steps]`` one contiguous block
    of ``steps * B`` rows, so the convolution is k GEMMs accumulating into one output:
    no im2col copies, no shifted sums. For batches of short windows this is faster on CPU
    than the direct convolution and than the channels-last im2col layers it replaced
    (forward + backward of 1,536 windows, offset10-model, N = 120: 30 -> 21 ms, together
    with :class:`_Layers`).
    """
    k = taps.shape[0]
    t, batch, channels = rows.shape
    steps = t - k + 1
    if steps < 1:  # as nn.Conv1d does; negative slice bounds would silently wrap
        raise RuntimeError(f"input of {t} time steps is shorter than the kernel ({k}).")
    flat = rows.reshape(t * batch, channels)
    n = steps * batch
    # Accumulating in place saves a copy of the output per tap; with autograd recording
    # (torch.func's Jacobians have no batching rule for addmm_) or under autocast (which
    # does not cast the operands of in-place ops) the taps accumulate out of place.
    in_place = not (torch.is_grad_enabled() or torch.is_autocast_enabled(rows.device.type))
    if _stacked(taps):
        width = taps.shape[1]
        every = flat @ taps.reshape(k * width, channels).t()  # (t * B, k * out)
        out = every[:n, :width] + bias
        for j in range(1, k):
            shifted = every[j * batch : j * batch + n, j * width : (j + 1) * width]
            out = out.add_(shifted) if in_place else out + shifted
        return out.view(steps, batch, -1)
    out = torch.addmm(bias, flat[:n], taps[0].t())
    for j in range(1, k):
        shifted = flat[j * batch : j * batch + n]
        out = out.addmm_(shifted, taps[j].t()) if in_place else out.addmm(shifted, taps[j].t())
    return out.view(steps, batch, -1)


def _forward_layers(rows: torch.Tensor, kinds: tuple[str, ...], taps: Sequence[torch.Tensor],
                    biases: Sequence[torch.Tensor], saved: list | None = None) -> torch.Tensor:
    """The layer stack on time-major rows (``taps`` from :func:`_taps`); ``saved`` collects
    each layer's input and, before a GELU, its convolution output for the backward."""
    for kind, layer_taps, bias in zip(kinds, taps, biases, strict=True):
        pre = _convolve(rows, layer_taps, bias)
        if saved is not None:
            saved += [rows] if kind == _LINEAR else [rows, pre]
        if kind == _LINEAR:
            rows = pre
        elif kind == _GELU:
            rows = F.gelu(pre)
        else:
            crop = (layer_taps.shape[0] - 1) // 2
            rows = rows[crop : crop + pre.shape[0]] + F.gelu(pre)
    return rows


class _Layers(torch.autograd.Function):
    """The whole layer stack as one autograd node with a hand-written backward.

    Autograd's graph of the same stack has about ten nodes per layer (views, transposes,
    weight reshapes and their backwards), each a dispatch that costs microseconds next to
    the small GEMMs of these encoders. Here each layer's backward is k per-tap GEMMs for
    the weight, a sum for the bias, and k GEMMs accumulating into one input-gradient
    buffer (plus the residual); frozen layers (adaptation) skip their weight GEMMs, and
    nothing is computed below the lowest layer that needs a gradient.
    """

    @staticmethod
    def forward(ctx, kinds: tuple[str, ...], rows: torch.Tensor, *params: torch.Tensor):
        saved: list[torch.Tensor] = []
        # the rows' dtype is the compute dtype: bf16 rows (autocast) run every GEMM, GELU
        # and saved activation in bf16 against bf16 copies of the fp32 parameters
        taps = [_taps(weight).to(rows.dtype) for weight in params[0::2]]  # kept for backward
        biases = [bias.to(rows.dtype) for bias in params[1::2]]
        out = _forward_layers(rows, kinds, taps, biases, saved)
        ctx.kinds, ctx.param_dtype = kinds, params[0].dtype
        ctx.save_for_backward(*saved, *taps)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        kinds = ctx.kinds
        tensors = ctx.saved_tensors
        all_taps = tensors[len(tensors) - len(kinds):]  # (k, out, in) per layer
        saved = list(tensors[: len(tensors) - len(kinds)])
        needs = ctx.needs_input_grad
        grads: list[torch.Tensor | None] = [None] * (2 * len(kinds))
        # the earliest layer whose input gradient is needed (a parameter or the input)
        first = next((i for i in range(len(kinds)) if needs[2 + 2 * i] or needs[3 + 2 * i]),
                     len(kinds))
        grad = grad.contiguous()
        for i in range(len(kinds) - 1, -1, -1):
            kind, taps = kinds[i], all_taps[i]
            pre = None if kind == _LINEAR else saved.pop()
            rows = saved.pop()
            if i < first and not needs[1]:
                break
            grad_pre = grad if pre is None else torch.ops.aten.gelu_backward(grad, pre)
            k, steps, batch = taps.shape[0], grad_pre.shape[0], grad_pre.shape[1]
            n = steps * batch
            g = grad_pre.reshape(n, -1)
            flat = rows.reshape(-1, rows.shape[2])
            if needs[2 + 2 * i] and _stacked(taps):
                # the forward's stacked GEMM transposed: tap j's gradient rows shifted by j
                width = taps.shape[1]
                shifted = g.new_zeros(flat.shape[0], k * width)
                for j in range(k):
                    shifted[j * batch : j * batch + n, j * width : (j + 1) * width] = g
                every = flat.t() @ shifted  # (in, k * out)
                grads[2 * i] = every.view(-1, k, width).permute(2, 0, 1).to(ctx.param_dtype)
            elif needs[2 + 2 * i]:
                per_tap = torch.empty_like(taps)
                for j in range(k):
                    torch.mm(g.t(), flat[j * batch : j * batch + n], out=per_tap[j])
                grads[2 * i] = per_tap.permute(1, 2, 0).to(ctx.param_dtype)
            if needs[3 + 2 * i]:
                # summed in at least float32: a bias gradient adds up thousands of rows
                wide = torch.promote_types(g.dtype, torch.float32)
                grads[2 * i + 1] = g.sum(0, dtype=wide).to(ctx.param_dtype)
            if i <= first and not needs[1]:
                break
            grad_rows = rows.new_empty(rows.shape)
            grad_flat = grad_rows.view(-1, rows.shape[2])
            torch.mm(g, taps[0], out=grad_flat[:n])
            grad_flat[n:].zero_()
            for j in range(1, k):
                grad_flat[j * batch : j * batch + n].addmm_(g, taps[j])
            if kind == _RESIDUAL:
                crop = (k - 1) // 2
                grad_rows[crop : crop + steps] += grad
            grad = grad_rows
        return (None, grad if needs[1] else None, *grads)


def _run_stack(rows: torch.Tensor, layers: list[nn.Conv1d],
               kinds: tuple[str, ...]) -> torch.Tensor:
    """Time-major rows (time, batch, channels) through the layers -> (time', batch, out).

    Under autocast (``precision="bf16"``) training runs the stack in the autocast dtype
    with the same hand-written backward, the output in that dtype as autocast's GEMMs give.
    """
    if torch.is_grad_enabled() and layers[0].training and rows.shape[0] > 1:
        params = [p for layer in layers for p in (layer.weight, layer.bias)]
        device = rows.device.type
        if not torch.is_autocast_enabled(device):
            return _Layers.apply(kinds, rows, *params)
        # autocast would also cast inside the node's forward; the node casts itself, once:
        # the parameters per step, not per tap GEMM (autograd's graph of the stack under
        # autocast took as long in bf16 as in fp32 on an avx512_bf16 CPU)
        with torch.autocast(device, enabled=False):
            return _Layers.apply(kinds, rows.to(torch.get_autocast_dtype(device)), *params)
    # evaluation and torch.func transforms (attribution's Jacobians) take the
    # same arithmetic through autograd's own graph; so do the per-sample MLPs on windows
    # of one time step (one addmm per layer: autograd's backward is as cheap, and the
    # Python of _Layers' backward made a 512-window step ~8 % slower)
    return _forward_layers(rows, kinds, [_taps(layer.weight) for layer in layers],
                           [layer.bias for layer in layers])


def _run_layers(x: torch.Tensor, layers: list[nn.Conv1d],
                kinds: tuple[str, ...]) -> torch.Tensor:
    """(batch, channels, time) through the convolution layers -> (batch, out, time')."""
    return _run_stack(_time_major(x), layers, kinds).permute(1, 2, 0)


def _time_major(x: torch.Tensor) -> torch.Tensor:
    """(batch, channels, time) -> contiguous (time, batch, channels) rows; the window gather
    already lays windows out this way, so usually no copy."""
    rows = x.permute(2, 0, 1)
    return rows if rows.is_contiguous() else rows.contiguous()


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
        ``"v2"`` (``receptive_field=1`` only) selects the wider MLP without bottleneck;
        ``"bn"`` MYOW's encoder (Azabou et al. 2021, ``nerdslab/myow``): three hidden layers
        of ``num_units``, each Linear -> BatchNorm -> ReLU, then a linear output. Its
        BatchNorm layers use the batch's statistics in training and their running averages
        in evaluation (``transform``), so it needs at least 2 samples per training batch.
        With ``receptive_field > 1`` its first layer reads the whole window (one linear map
        of the window's bins side by side); the rest is unchanged.

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
        if variant not in _VARIANTS or (variant == "v2" and receptive_field != 1) or (
                variant == "bn" and (receptive_field < 1 or subsample != 1)):
            raise ValueError(f"variant must be one of {sorted(_VARIANTS)} (\"v2\" only with "
                             "receptive_field=1, \"bn\" without subsampling); got "
                             f"{variant!r} with receptive field {receptive_field} and "
                             f"subsample {subsample}.")
        batchnorm = variant == "bn"
        if batchnorm:
            # the input layer spans the receptive field: the MLP reads the window's bins
            # together (a 3-bin window of 100 ms reaching bins: ``offset3-model-bn-mse``)
            self.input_layer = nn.Conv1d(num_neurons, H, receptive_field)
            layers = [nn.BatchNorm1d(H), nn.ReLU()]
            for _ in range(2):
                layers += [nn.Conv1d(H, H, 1), nn.BatchNorm1d(H), nn.ReLU()]
            layers.append(nn.Conv1d(H, num_output, 1))
        elif receptive_field == 1:
            # Paper: N->H, H->H, H->H/2 (bottleneck), ->out; v2 keeps the full width.
            widths = [H, H, H, H] if variant == "v2" else [H, H, max(H // 2, 1)]
            self.input_layer = nn.Conv1d(num_neurons, widths[0], 1)
            layers: list[nn.Module] = [nn.GELU()]
            for a, b in itertools.pairwise(widths):
                layers += [nn.Conv1d(a, b, 1), nn.GELU()]
            layers.append(nn.Conv1d(widths[-1], num_output, 1))
        elif subsample == 4:
            if receptive_field != 40:
                raise ValueError("the 4x-subsampling encoder has a receptive field of 40")
            self.input_layer = _Subsample4(num_neurons, H)  # rf 8, stride 4
            layers = [_Skip(H) for _ in range(3)]  # + 3 * 8
            layers.append(nn.Conv1d(H, num_output, 3))  # + 8 = 40
        else:
            last_kernel = 3 if receptive_field % 2 == 0 else 2
            num_blocks = (receptive_field - 1 - last_kernel) // 2
            if receptive_field < 3 or num_blocks < 0:
                raise ValueError(f"unsupported receptive field {receptive_field}")
            self.input_layer = nn.Conv1d(num_neurons, H, 2)
            layers = [nn.GELU(), *[_Skip(H) for _ in range(num_blocks)]]
            layers.append(nn.Conv1d(H, num_output, last_kernel))
        self.trunk = nn.Sequential(*layers)  # module names fix the state dict's keys
        stack = self._stack()
        # what follows each convolution of the stack, fixed by the architecture; BatchNorm
        # layers keep running statistics, so that stack runs as PyTorch modules (None)
        self._kinds = None if batchnorm else tuple(
            _RESIDUAL if isinstance(m, _Skip)
            else _GELU if isinstance(nxt, nn.GELU) else _LINEAR
            for m, nxt in zip(stack, [*stack[1:], None], strict=True)
            if not isinstance(m, nn.GELU))

    def _stack(self) -> list[nn.Module]:
        # the modules run as one layer stack; the subsampling input stage has strides and
        # runs as PyTorch modules before it
        return ([] if self.stride > 1 else [self.input_layer]) + list(self.trunk)

    def _convolutions(self) -> list[nn.Conv1d]:
        return [m.conv if isinstance(m, _Skip) else m for m in self._stack()
                if not isinstance(m, nn.GELU)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, neurons, time) -> (batch, num_output, outputs)."""
        if self._kinds is None:
            return self._normalized(self._batchnorm_stack(x))
        if self.stride > 1:
            x = self.input_layer(x)
        return self._normalized(_run_layers(x, self._convolutions(), self._kinds))

    def _batchnorm_stack(self, x: torch.Tensor) -> torch.Tensor:
        """MYOW's BatchNorm MLP on (batch, neurons, time) -> (batch, out, time'), its
        convolutions as GEMMs on time-major rows (:func:`_convolve`).

        The modules (and so the state dict, the running statistics and their update) are
        PyTorch's; only the convolutions' arithmetic differs. ``nn.Conv1d`` on windows of
        one bin is a slow path of PyTorch's CPU convolution: forward + backward of the
        first layer of a 1,024-window step (N = 150 -> 64, one thread, a busy machine) took
        7.1 ms there, 1.3 ms as one GEMM; a whole MYOW step on reaching ~10 % less (on
        three-bin windows both take the same time).
        BatchNorm on the (time * batch, channels) rows pools the same samples as on
        (batch, channels, time).
        """
        rows = _time_major(x)
        for module in (self.input_layer, *self.trunk):
            if isinstance(module, nn.Conv1d):
                rows = _convolve(rows, _taps(module.weight), module.bias)
            elif isinstance(module, nn.BatchNorm1d):
                rows = module(rows.flatten(0, 1)).view(rows.shape)
            else:
                rows = module(rows)
        return rows.permute(1, 2, 0)

    def _normalized(self, out: torch.Tensor) -> torch.Tensor:
        # dim 1 holds the output channels in (batch, out) and (batch, out, time) alike
        if self.normalize:
            out = out / (out.norm(dim=1, keepdim=True) + NORMALIZE_EPS)
        return out

    def embed_windows(self, windows: torch.Tensor) -> torch.Tensor:
        """(batch, neurons, receptive field) -> (batch, num_output)."""
        return self.forward(windows)[..., 0]

    @property
    def takes_rows(self) -> bool:
        """Whether :meth:`embed_rows` applies (stride 1, receptive field > 1, no BatchNorm)."""
        # BatchNorm stacks run as PyTorch modules (their running statistics), not as rows
        return self.stride == 1 and self.receptive_field.size > 1 and self._kinds is not None

    def embed_rows(self, rows: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
        """Embed windows given as one run of time-ordered samples -> (batch, num_output).

        Window ``b`` is ``rows[first[b] : first[b] + receptive_field.size]`` (consecutive
        samples, see :func:`~neurolatent.recording.window_rows`); the result equals
        :meth:`embed_windows` of the gathered windows. The first convolution -- the widest
        layer -- runs once along the run instead of once per window position, so samples
        that overlapping windows share are convolved once: with ~half the rows shared (1,536
        windows of 10 samples from 10,000) that halves its work. So do the next layers while
        the run is shorter than their positions in all windows together; the rest run per
        window on its slice of the last such layer's output.

        Examples
        --------
        >>> from neurolatent.recording import window_rows
        >>> enc = ConvEncoder(20, 32, 3, receptive_field=10)
        >>> neural, index = torch.randn(100, 20), torch.tensor([30, 33, 70])
        >>> times, first = window_rows(index, enc.receptive_field)
        >>> windows = torch.stack([neural[i - 5 : i + 5].t() for i in index])
        >>> torch.allclose(enc.embed_rows(neural[times], first), enc.embed_windows(windows),
        ...                atol=1e-6)
        True
        """
        if not self.takes_rows:
            raise ValueError("embed_rows needs a stride-1 convolutional encoder without "
                             "BatchNorm (receptive field > 1); this one has stride "
                             f"{self.stride}, receptive field {self.receptive_field.size}"
                             f"{' and BatchNorm' if self._kinds is None else ''}.")
        layers = self._convolutions()
        # layers[:split] run along the run: the first always, a later one while the run's
        # positions are fewer than the windows' (each window shrinks by k - 1 per layer,
        # the run by k - 1 in all); the last layer has one position per window
        length, steps, split = rows.shape[0], self.receptive_field.size, 0
        for layer in layers[:-1]:
            k = layer.kernel_size[0]
            if split and length - k + 1 >= (steps - k + 1) * first.shape[0]:
                break
            length, steps, split = length - k + 1, steps - k + 1, split + 1
        along = _run_stack(rows.unsqueeze(1), layers[:split], self._kinds[:split])[:, 0]
        positions = torch.arange(steps, device=first.device)[:, None] + first
        hidden = along.index_select(0, positions.reshape(-1)).view(steps, first.shape[0], -1)
        return self._normalized(_run_stack(hidden, layers[split:], self._kinds[split:])[0])

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
