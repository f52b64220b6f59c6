"""Whether a device computes in bfloat16 natively, and the warning when it does not.

``precision="bf16"`` runs natively where the hardware has bf16 arithmetic (GPUs; CPUs with
AMX or avx512_bf16). It pays most with AMX and on GPUs: with avx512_bf16 alone, a large bf16
matmul ran 2.3x faster than fp32, but the 32-unit encoders' narrow GEMMs gain ~1.3x and their
elementwise ops nothing, so a time-contrastive step ran 1.06-1.13x faster. A CPU without
either still runs bf16 -- PyTorch converts every operand and falls back to slow reference
kernels -- but on such a CPU (AVX2, no avx512_bf16) a 512 x 512 bf16 matmul ran at
~1.4 GFLOP/s against ~110 in fp32, and a fixed-seed offset10-model fit at 6.3 against
45 steps/s: a fit ~7x slower than in fp32 for no gain. Training then warns instead of
silently taking that long.
"""

from __future__ import annotations

import warnings

import torch

__all__ = ["native_bf16", "warn_if_bf16_is_emulated"]


def _cpu_flag(name: str) -> bool | None:
    # PyTorch's own CPU feature probes (cpuinfo, any OS); private names, hence None when a
    # release renames them: then we do not know and stay silent
    probe = getattr(torch.cpu, name, None)
    return None if probe is None else bool(probe())


def native_bf16(device: torch.device | str) -> bool | None:
    """Whether ``device`` has bf16 arithmetic: True, False, or None when unknown.

    CPUs: AMX tiles or avx512_bf16 instructions. CUDA: the device's bf16 support. Other
    devices: None.

    Examples
    --------
    >>> native_bf16("cpu") in (True, False, None)
    True
    >>> native_bf16("meta") is None
    True
    """
    device = torch.device(device)
    if device.type == "cpu":
        flags = [_cpu_flag(n) for n in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
        if any(flags):
            return True
        return None if None in flags else False
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return None


def warn_if_bf16_is_emulated(precision: str, device: torch.device | str) -> None:
    """Warn (``UserWarning``) when ``precision="bf16"`` runs on a device without bf16
    arithmetic, where it is several times slower than ``"32"``.

    Examples
    --------
    >>> warn_if_bf16_is_emulated("32", "cpu")  # fp32: nothing to say
    """
    if precision != "bf16" or native_bf16(device) is not False:
        return
    kind = torch.device(device).type
    lacks = ("this CPU has neither AMX nor avx512_bf16" if kind == "cpu"
             else "this GPU has no bf16 arithmetic")
    warnings.warn(
        f"precision='bf16' on {kind!r}: {lacks}, so PyTorch emulates bf16 and the fit runs "
        "several times slower than with precision='32' (7x measured on an AVX2 CPU). Use "
        "precision='32' here; bf16 pays on GPUs and CPUs with bf16 arithmetic.",
        UserWarning, stacklevel=2)
