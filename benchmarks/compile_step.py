"""torch.compile against our hand-written layer node, on the encoder's training step.

Issue 7 asks for ``torch.compile`` to be measured and kept only where it pays. This times
the encoder part of a time-contrastive step -- forward, an InfoNCE loss and backward of
offset10-model over 3 x 512 windows of 120 neurons, 2 threads -- three ways, alternated
in one process after warm-up:

* ``ours``: the estimator's path (``ConvEncoder.embed_windows`` in training mode, i.e. the
  whole layer stack as one autograd node with a hand-written backward);
* ``autograd``: the same arithmetic (``_forward_layers``) through autograd's own graph;
* ``compiled``: that graph through ``torch.compile`` (inductor; its C++ kernels fuse the
  GELUs, bias adds and the loss' elementwise work around the GEMMs).

All three see the same parameters and windows; the script checks that their losses and
gradients agree before timing. JSON into ``benchmarks/results/compile_step.json``.

    python benchmarks/compile_step.py [--quick] [--repeats 5] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def _loss(out: torch.Tensor, batch: int) -> torch.Tensor:
    # cosine InfoNCE at temperature 1 against the batch's negatives (outputs are normalised)
    ref, pos, neg = out[:batch], out[batch : 2 * batch], out[2 * batch :]
    return (torch.logsumexp(ref @ neg.t(), 1) - (ref * pos).sum(1)).mean()


def measure(batch: int = 512, neurons: int = 120, repeats: int = 5, steps: int = 50,
            threads: int = 2) -> dict:
    """Milliseconds per forward + backward for ours, autograd's graph and compiled."""
    from neurolatent.models import make_encoder
    from neurolatent.models.encoders import _forward_layers, _taps

    torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(0)
    encoder = make_encoder("offset10-model", neurons, 32, 8, generator).train()
    layers, kinds = encoder._convolutions(), encoder._kinds
    windows = torch.randn(3 * batch, neurons, encoder.receptive_field.size,
                          generator=generator)

    def ours(x):
        return _loss(encoder.embed_windows(x), batch)

    def graph(x):
        rows = x.permute(2, 0, 1).contiguous()
        out = _forward_layers(rows, kinds, [_taps(layer.weight) for layer in layers],
                              [layer.bias for layer in layers])[0]
        return _loss(encoder._normalized(out), batch)

    compiled = torch.compile(graph)
    functions = {"ours": ours, "autograd": graph, "compiled": compiled}
    results = {}
    for name, fn in functions.items():  # the first call of the compiled one compiles
        encoder.zero_grad(set_to_none=True)
        start = time.perf_counter()
        loss = fn(windows)
        loss.backward()
        seconds = time.perf_counter() - start
        results[name] = {"loss": float(loss.detach()), "first_call_seconds": seconds,
                         "grads": [p.grad.clone() for p in encoder.parameters()]}
    reference = results["ours"]
    for name in ("autograd", "compiled"):
        agree = all(torch.allclose(a, b, rtol=1e-4, atol=1e-6)
                    for a, b in zip(reference["grads"], results[name]["grads"], strict=True))
        if not agree or abs(results[name]["loss"] - reference["loss"]) > 1e-5:
            raise RuntimeError(f"{name}'s loss or gradients differ from ours")

    def step(fn):
        loss = fn(windows)
        encoder.zero_grad(set_to_none=True)
        loss.backward()

    times = {name: [] for name in functions}
    for fn in functions.values():  # warm-up
        for _ in range(5):
            step(fn)
    for _ in range(repeats):  # alternated: the machine's state drifts within a run
        for name, fn in functions.items():
            start = time.perf_counter()
            for _ in range(steps):
                step(fn)
            times[name].append((time.perf_counter() - start) / steps * 1e3)
    best = {name: min(values) for name, values in times.items()}
    return {"batch": batch, "windows": 3 * batch, "neurons": neurons, "threads": threads,
            "steps_per_repeat": steps, "ms_per_step": best, "ms_per_step_all": times,
            "first_call_seconds": {n: r["first_call_seconds"] for n, r in results.items()},
            "compiled_over_ours": best["ours"] / best["compiled"],
            "ours_over_autograd": best["autograd"] / best["ours"]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=512, help="references per step")
    parser.add_argument("--out", type=Path, default=RESULTS / "compile_step.json")
    options = parser.parse_args(argv)
    sizes = dict(batch=16, neurons=12, steps=3) if options.quick else {"batch": options.batch}
    report = measure(repeats=options.repeats, **sizes)
    report["machine"] = {"python": platform.python_version(), "torch": torch.__version__,
                         "processor": platform.processor() or platform.machine()}
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(report, indent=2))
    best = report["ms_per_step"]
    print(f"ms per step: ours {best['ours']:.2f}, autograd {best['autograd']:.2f}, compiled "
          f"{best['compiled']:.2f} (compiled / ours speed {report['compiled_over_ours']:.2f}x; "
          f"its first call, compiling, {report['first_call_seconds']['compiled']:.0f} s); "
          f"wrote {options.out}")
    return report


if __name__ == "__main__":
    main()
