"""Speed and memory of neurolatent against the official ``cebra`` (0.6.1), side by side.

Each configuration runs in a fresh subprocess per library, alternating ours / official /
ours / official (``--repeats`` rounds), on the same synthetic data and seed, with the same
thread count, after a warm-up fit. The official package lives in its own virtual
environment (``make bench`` builds ``.venv-official`` with ``cebra==0.6.1`` and the same
torch); this file is also the worker, so it imports neither library at module level.

Per configuration and library: steady-state steps/s (from per-step time stamps of a real
``fit``), fit wall time, ms per step split into sampling / gather / forward (+ loss) /
backward / optimiser (a re-run of each library's own step, phase by phase), transform
samples/s, peak RSS (of the fits and transforms, before the phase profile), and the
achieved GFLOP/s of forward + backward (FLOPs counted by ``torch.utils.flop_counter``)
next to this machine's measured fp32 matmul and conv1d peaks. The counts are the FLOPs each
library performs: where a step's windows overlap, ours convolve shared samples once
(``ConvEncoder.embed_rows``) and count fewer than the official's for the same model.
Ratios are ours / official (medians over the rounds). Results: JSON in
``benchmarks/results/``, a page in ``docs/``, and the README table between its markers.

    python benchmarks/compare_official.py --official-python .venv-official/bin/python
        [--configs ...] [--repeats 2] [--budget 15] [--threads 2] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LIBRARIES = ("neurolatent", "official")
PHASES = ("sampling", "gather", "forward", "backward", "optimizer")

# name -> data and model settings (offset10-model, batch 512, N = 120 unless stated)
CONFIGS = {
    "continuous_T10k": {"T": 10_000, "labels": "continuous"},
    "continuous_T100k": {"T": 100_000, "labels": "continuous"},
    "continuous_T1M": {"T": 1_000_000, "labels": "continuous"},
    "time_T10k": {"T": 10_000, "labels": "none"},
    "discrete_T10k": {"T": 10_000, "labels": "discrete"},
    "mixed_T10k": {"T": 10_000, "labels": "mixed"},
    "hybrid_T10k": {"T": 10_000, "labels": "continuous", "hybrid": True},
    "time_N1000": {"T": 10_000, "N": 1000, "labels": "none"},
    "continuous_N1000": {"T": 10_000, "N": 1000, "labels": "continuous"},
    "multisession4_T10k": {"T": 10_000, "labels": "continuous", "sessions": 4},
    "fullbatch_T20k": {"T": 20_000, "labels": "continuous", "batch_size": None},
    "transform_T100k": {"T": 100_000, "labels": "continuous", "transform": True},
    # ours only: bf16 autocast, compared with the official fp32 time-contrastive step
    "time_T10k_bf16": {"T": 10_000, "labels": "none", "precision": "bf16"},
}
QUICK = {"continuous_T10k": {"T": 2_000, "labels": "continuous"},
         "time_T10k": {"T": 2_000, "labels": "none"},
         "transform_T100k": {"T": 5_000, "labels": "continuous", "transform": True}}

# ratio targets (ours / official, same run); "T1M_vs_T10k" compares our own rates
TARGETS = {
    "continuous_T10k": ("steps_per_second", 4.0),
    "continuous_T100k": ("steps_per_second", 30.0),
    "time_T10k": ("steps_per_second", 1.3),
    "discrete_T10k": ("steps_per_second", 1.3),
    "time_N1000": ("steps_per_second", 1.2),
    "continuous_N1000": ("steps_per_second", 1.2),
    "transform_T100k": ("transform_samples_per_second", 2.0),
    "time_T10k_bf16": ("steps_per_second", 2.5),
}
RSS_TARGET = 0.6
TRANSFORM_SECONDS = 0.5  # timed transform passes in all, per worker


# ------------------------------------------------------------------------------ worker
def make_data(spec: dict) -> tuple[list, list]:
    """Synthetic Poisson counts and labels, identical for both libraries (numpy seed 0)."""
    rng = np.random.default_rng(0)
    T, N = spec["T"], spec.get("N", 120)
    sessions = spec.get("sessions", 1)
    Xs, ys = [], []
    for _ in range(sessions):
        X = rng.poisson(1.0, size=(T, N)).astype(np.float32)
        continuous = np.cumsum(rng.normal(size=(T, 1)), 0).astype(np.float32)
        discrete = np.repeat(rng.integers(0, 8, size=T // 100 + 1), 100)[:T].astype(np.int64)
        labels = {"none": (), "continuous": (continuous,), "discrete": (discrete,),
                  "mixed": (continuous, discrete)}[spec["labels"]]
        Xs.append(X)
        ys.append(labels)
    return Xs, ys


def _estimator(library: str, spec: dict, steps: int):
    kwargs = dict(model_architecture="offset10-model", batch_size=spec.get("batch_size", 512),
                  output_dimension=8, num_hidden_units=32, learning_rate=3e-4,
                  temperature=1.0, time_offsets=10, max_iterations=steps, device="cpu",
                  conditional="time" if spec["labels"] == "none" else "time_delta",
                  hybrid=bool(spec.get("hybrid")), verbose=False)
    if library == "neurolatent":
        from neurolatent import CEBRA

        return CEBRA(**kwargs, random_state=0, precision=spec.get("precision", "32"))
    import cebra

    return cebra.CEBRA(**kwargs)


def _fit_args(Xs: list, ys: list) -> tuple:
    if len(Xs) == 1:
        return (Xs[0], *ys[0])
    return (Xs, *[[y[j] for y in ys] for j in range(len(ys[0]))])


def _timed_fit(library: str, spec: dict, Xs: list, ys: list, steps: int):
    stamps: list[float] = []

    def callback(step, _):
        stamps.append(time.perf_counter())

    model = _estimator(library, spec, steps)
    start = time.perf_counter()
    model.fit(*_fit_args(Xs, ys), callback=callback, callback_frequency=1)
    wall = time.perf_counter() - start
    # steady state: skip the first tenth of the steps (allocator, caches)
    skip = max(1, len(stamps) // 10)
    steady = (len(stamps) - 1 - skip) / (stamps[-1] - stamps[skip]) if len(stamps) > skip + 2 \
        else steps / wall
    return model, wall, steady


def _our_step_parts(model, spec, Xs, ys):
    """Our trainer, captured while building a 1-step fit, stepped phase by phase."""
    import torch

    import neurolatent.estimator as estimator

    captured = []
    original = estimator.Trainer

    class Capture(original):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            captured.append(self)

    estimator.Trainer = Capture
    try:
        model.set_params(max_iterations=1).fit(*_fit_args(Xs, ys))
    finally:
        estimator.Trainer = original
    trainer = captured[-1]
    cfg = trainer.config
    trainer.encoder.train()

    def sample():
        if cfg.batch_size is None:
            return trainer.sampler.sample_full(trainer.generator)
        return trainer.sampler.sample(cfg.batch_size, cfg.num_negatives or cfg.batch_size,
                                      trainer.generator)

    def gather(parts):
        batch = trainer.batch(parts, augment=True)
        if not batch.full_batch:
            batch._windows(tuple(parts))  # materialise the windows (cached for forward)
        return batch

    def forward(batch):
        return trainer.objective.batch_loss(batch, trainer.encoder)[0]

    def flop_inputs():
        return forward(gather(sample()))

    return (sample, gather, forward, trainer.optimizer, flop_inputs, torch)


def _official_step_parts(model, spec, Xs, ys):
    """The official solver's own step, split at the same places."""
    import torch

    solver, net, loader, _ = model._prepare_fit(*_fit_args(Xs, ys))
    solver.to(model.device_)
    net.train()
    full_batch = type(solver).__name__.startswith("Batch")
    if full_batch and not hasattr(solver, "neural"):
        # the full-batch solver sets these at the start of its fit()
        solver.offset, solver.neural = loader.dataset.offset, loader.dataset.neural.T[None]
        solver._mode = "convolutional"

    def sample():
        return loader.get_indices(loader.batch_size)

    def gather(index):
        # the full-batch loader yields the indices themselves: the solver embeds the whole
        # sequence and indexes the outputs, there is no window gather
        return index if full_batch else loader.dataset.load_batch(index)

    def forward(batch):
        prediction = solver._inference(batch)
        if isinstance(prediction, tuple):  # some solvers return (reference, positive, negative)
            return solver.criterion(*prediction[:3])[0]
        return solver.criterion(prediction.reference, prediction.positive,
                                prediction.negative)[0]

    def flop_inputs():
        return forward(gather(sample()))

    return (sample, gather, forward, solver.optimizer, flop_inputs, torch)


def _phases(parts, repeats: int) -> tuple[dict, float]:
    sample, gather, forward, optimizer, flop_inputs, torch = parts
    from torch.utils.flop_counter import FlopCounterMode

    times = {name: [] for name in PHASES}
    for _ in range(repeats):
        t0 = time.perf_counter()
        drawn = sample()
        t1 = time.perf_counter()
        batch = gather(drawn)
        t2 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = forward(batch)
        t3 = time.perf_counter()
        loss.backward()
        t4 = time.perf_counter()
        optimizer.step()
        t5 = time.perf_counter()
        for name, dt in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            times[name].append(dt * 1e3)
    # our convolutions accumulate their taps with the in-place addmm_, which the counter's
    # table lacks (it has addmm): count it the same way, 2 * m * k * n
    def addmm_flops(self_shape, a_shape, b_shape, *args, out_shape=None, **kwargs):
        return 2 * a_shape[0] * a_shape[1] * b_shape[1]

    counter = FlopCounterMode(display=False,
                              custom_mapping={torch.ops.aten.addmm_: addmm_flops})
    with counter:
        flop_inputs().backward()
    optimizer.zero_grad(set_to_none=True)
    return {name: statistics.median(v) for name, v in times.items()}, counter.get_total_flops()


def worker(library: str, name: str, spec: dict, budget: float, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)  # the official package draws from the global RNG
    _version(library)  # imports the library: its resident size before any data is the floor
    import_rss = peak_rss_mib()
    Xs, ys = make_data(spec)
    # warm-up (imports, allocator, first-call overheads) and a rate estimate for the budget
    _, _, warm_rate = _timed_fit(library, spec, Xs, ys, 4)
    steps = int(min(max(warm_rate * budget, 8), 2000))
    model, wall, rate = _timed_fit(library, spec, Xs, ys, steps)
    result = {"library": library, "config": name, "steps": steps, "fit_seconds": wall,
              "steps_per_second": rate, "threads": threads}
    if spec.get("transform") or spec["T"] <= 100_000:
        X = Xs[0]
        kwargs = {"session_id": 0} if len(Xs) > 1 else {}
        model.transform(X[:2000], **kwargs)  # warm-up
        # best pass of at least three and at least TRANSFORM_SECONDS in all: a pass over
        # T = 10k takes ~10 ms, and best of three such passes still varied 1.7x run to run
        seconds: list[float] = []
        while len(seconds) < 3 or sum(seconds) < TRANSFORM_SECONDS:
            start = time.perf_counter()
            model.transform(X, **kwargs)
            seconds.append(time.perf_counter() - start)
        result["transform_samples_per_second"] = X.shape[0] / min(seconds)
        result["transform_passes"] = len(seconds)
    # The library's peak: fit and transform. The phase profile below is the benchmark's own
    # instrument (its FLOP counter imports torch._dynamo, ~60 MiB) and would count as ours.
    result["peak_rss_mib"] = peak_rss_mib()
    try:  # the profile re-runs library internals; its failure must not lose the timings
        parts = (_our_step_parts if library == "neurolatent" else _official_step_parts)(
            model, spec, Xs, ys)
        phase_ms, flops = _phases(parts, repeats=int(min(max(rate * budget / 4, 3), 50)))
    except Exception as error:  # reported in the JSON
        result["phase_error"] = f"{type(error).__name__}: {error}"
        phase_ms, flops = None, None
    result["phase_ms"] = phase_ms
    result["flops_per_step"] = flops
    compute_ms = phase_ms["forward"] + phase_ms["backward"] if phase_ms else 0
    result["gflops_per_second"] = flops / (compute_ms * 1e-3) / 1e9 if compute_ms else None
    result["import_rss_mib"] = import_rss
    result["versions"] = {"torch": torch.__version__, "library": _version(library)}
    return result


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM). ``getrusage``'s ru_maxrss would be wrong
    here: Linux carries it across ``exec``, so a worker would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def _version(library: str) -> str:
    if library == "neurolatent":
        import neurolatent

        return neurolatent.__version__
    import cebra

    return cebra.__version__


# ------------------------------------------------------------------------------ driver
# CPU features that decide what bf16 can gain: avx512_bf16 has bf16 dot products at twice
# the fp32 FMA rate, AMX tiles at many times it; without either bf16 only halves memory
BF16_FEATURES = ("avx512_bf16", "amx_bf16", "amx_tile")


def cpu_features() -> list[str]:
    """Which of :data:`BF16_FEATURES` this CPU reports (Linux ``/proc/cpuinfo``)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux
        return []
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    return [f for f in BF16_FEATURES if f in flags]


def machine_peaks(threads: int) -> dict:
    """Measured GFLOP/s of a large matmul (fp32 and bf16) and of an encoder-like conv1d,
    and the CPU's bf16 features."""
    import torch

    torch.set_num_threads(threads)
    features = cpu_features()
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    # without bf16 instructions PyTorch emulates bf16 at ~1 % of the fp32 rate: six 2048^3
    # products took over a minute there, and the rate is as well measured at 512^3
    size = 2048 if features else 512
    a16, b16 = a[:size, :size].bfloat16(), b[:size, :size].bfloat16()
    x = torch.randn(4096, 32, 64)
    conv = torch.nn.Conv1d(32, 32, 3)

    def best(fn, flops):
        fn()
        times = []
        for _ in range(5):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return flops / min(times) / 1e9

    with torch.no_grad():
        matmul = best(lambda: a @ b, 2 * 2048**3)
        matmul_bf16 = best(lambda: a16 @ b16, 2 * size**3)
        conv_flops = 2 * 4096 * 32 * 32 * 3 * 62
        conv1d = best(lambda: conv(x), conv_flops)
    return {"matmul_gflops": matmul, "matmul_bf16_gflops": matmul_bf16,
            "matmul_bf16_size": size, "conv1d_gflops": conv1d, "cpu_bf16_features": features}


def _run_worker(python: str, library: str, name: str, spec: dict, args) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads), PYTHONHASHSEED="0")
    command = [python, str(Path(__file__).resolve()), "--worker", library, "--config", name,
               "--spec", json.dumps(spec), "--budget", str(args.budget),
               "--threads", str(args.threads)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False,
                          cwd=ROOT)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        return {"library": library, "config": name, "error": " | ".join(tail)}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median(runs: list[dict], key: str):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def summarise(name: str, spec: dict, runs: list[dict]) -> dict:
    row: dict = {"config": name, "T": spec["T"], "N": spec.get("N", 120),
                 "labels": spec["labels"], "sessions": spec.get("sessions", 1),
                 "batch_size": spec.get("batch_size", 512),
                 "precision": spec.get("precision", "32")}
    for library in LIBRARIES:
        mine = [r for r in runs if r["library"] == library and "error" not in r]
        errors = [r["error"] for r in runs if r["library"] == library and "error" in r]
        part = {key: _median(mine, key) for key in (
            "steps_per_second", "fit_seconds", "transform_samples_per_second", "peak_rss_mib",
            "import_rss_mib", "gflops_per_second", "flops_per_step")}
        profiled = [r for r in mine if r.get("phase_ms")]
        part["phase_ms"] = ({p: statistics.median(r["phase_ms"][p] for r in profiled)
                             for p in PHASES} if profiled else None)
        part["runs"] = len(mine)
        part["runs_steps_per_second"] = _per_round(runs, library, "steps_per_second")
        if errors:
            part["errors"] = errors
        row[library] = part
    ours, official = row["neurolatent"], row["official"]
    row["ratio"] = {
        key: (ours[key] / official[key] if ours[key] and official[key] else None)
        for key in ("steps_per_second", "transform_samples_per_second", "peak_rss_mib")}
    # one ratio per alternating round, whose two runs were adjacent in time: on a machine
    # whose speed drifts (our rate for one configuration moved by up to 45 % between two
    # rounds), their spread says how much of a verdict near its threshold is that drift
    row["round_ratios"] = {
        key: [a / b if a and b else None
              for a, b in zip(_per_round(runs, "neurolatent", key),
                              _per_round(runs, "official", key), strict=True)]
        for key in ("steps_per_second", "transform_samples_per_second")}
    return row


def _per_round(runs: list[dict], library: str, key: str) -> list:
    """``key`` of ``library``'s runs in round order (None where a run failed)."""
    return [r.get(key) for r in runs if r["library"] == library]


def check_targets(rows: dict, machine: dict | None = None) -> list[dict]:
    checks = []

    def add(name, what, value, target, bound="", rounds=None):
        met = value is not None and value >= target if what != "peak_rss_mib" else (
            value is not None and value <= target)
        check = {"config": name, "metric": what, "value": value, "target": target,
                 "met": bool(met), "shortfall": None if met or value is None else (
                     target / value if what != "peak_rss_mib" else value / target),
                 "bound": "" if met else bound}
        if rounds is not None:  # reports before per-round ratios have none
            check["rounds"] = rounds
            check["rounds_met"] = sum(v is not None and v >= target for v in rounds)
        checks.append(check)

    for name, (what, target) in TARGETS.items():
        if name in rows:
            bound = _bound(rows[name], what)
            if rows[name].get("precision") == "bf16" and machine \
                    and "matmul_bf16_gflops" in machine:
                # what bf16 can gain here: the hardware's bf16 rate against its fp32 rate
                bound += (f"; this CPU's bf16 features: "
                          f"{', '.join(machine['cpu_bf16_features']) or 'none'} (the target "
                          f"assumes AMX or a GPU), large bf16 matmul "
                          f"{machine['matmul_bf16_gflops']:.0f} vs fp32 "
                          f"{machine['matmul_gflops']:.0f} GFLOP/s")
            add(name, f"{what} ratio", rows[name]["ratio"][what], target, bound,
                rows[name].get("round_ratios", {}).get(what))
    if "continuous_T1M" in rows and "continuous_T10k" in rows:
        ours_1m = rows["continuous_T1M"]["neurolatent"]["steps_per_second"]
        ours_10k = rows["continuous_T10k"]["neurolatent"]["steps_per_second"]
        value = ours_1m / ours_10k if ours_1m and ours_10k else None
        bound = _bound(rows["continuous_T1M"], "steps_per_second")
        flops_1m = rows["continuous_T1M"]["neurolatent"].get("flops_per_step")
        flops_10k = rows["continuous_T10k"]["neurolatent"].get("flops_per_step")
        if value and flops_1m and flops_10k and flops_10k < flops_1m:
            # the T = 10k windows overlap and share samples (ConvEncoder.embed_rows); 1M
            # samples leave nothing to share: compare the rates per FLOP as well
            bound += (f"; our T=10k step does {100 * (1 - flops_10k / flops_1m):.0f} % fewer "
                      "FLOPs (its overlapping windows' shared samples are convolved once), "
                      f"per FLOP T=1M runs at {value * flops_1m / flops_10k:.2f}x T=10k's rate")
        rounds = None
        if "runs_steps_per_second" in rows["continuous_T1M"]["neurolatent"]:
            # round i of each configuration; the two were not adjacent in time, and after a
            # --merge they may even come from runs with different numbers of rounds
            rounds = [a / b if a and b else None for a, b in zip(
                rows["continuous_T1M"]["neurolatent"]["runs_steps_per_second"],
                rows["continuous_T10k"]["neurolatent"]["runs_steps_per_second"], strict=False)]
        add("continuous_T1M", "our T=1M / T=10k steps/s", value, 0.8, bound, rounds)
    for name, row in rows.items():
        if row["ratio"]["peak_rss_mib"] is not None:
            checks.append(_rss_check(name, row))
    return checks


def _rss_check(name: str, row: dict) -> dict:
    value = row["ratio"]["peak_rss_mib"]
    met = value <= RSS_TARGET
    ours, official = row["neurolatent"], row["official"]
    bound = ""
    if not met:
        floor = ours.get("import_rss_mib")
        bound = f"our peak {ours['peak_rss_mib']:.0f} MiB"
        if floor and official.get("import_rss_mib"):
            # what each library adds on top of its imports; the shared floor (interpreter,
            # torch, scikit-learn/scipy) is what keeps small recordings above the target
            bound += (f", of which {floor:.0f} MiB after import (official "
                      f"{official['import_rss_mib']:.0f}); above the import: ours "
                      f"{ours['peak_rss_mib'] - floor:.0f} vs official "
                      f"{official['peak_rss_mib'] - official['import_rss_mib']:.0f} MiB")
            allowed = RSS_TARGET * official["peak_rss_mib"] - floor
            bound += ("; the target leaves " + (f"{allowed:.0f} MiB above our import"
                                                 if allowed > 0 else
                                                 "less than our import alone"))
    return {"config": name, "metric": "peak_rss ratio", "value": value, "target": RSS_TARGET,
            "met": met, "shortfall": None if met else value / RSS_TARGET, "bound": bound}


def _bound(row: dict, what: str) -> str:
    """Where our time goes, from the phase profile (what limits the ratio)."""
    phases = row["neurolatent"].get("phase_ms")
    if not phases:
        return "not measured"
    total = sum(phases.values())
    top = max(phases, key=phases.get)
    text = (f"our step: {total:.1f} ms, {100 * phases[top] / total:.0f} % in {top}; "
            + ", ".join(f"{p} {v:.2f}" for p, v in phases.items()))
    gflops = row["neurolatent"].get("gflops_per_second")
    if gflops:
        text += f"; forward+backward at {gflops:.1f} GFLOP/s"
    theirs = row["official"].get("phase_ms")
    if theirs:  # a ratio is bounded by the other library's step as much as by ours
        text += (f"; official step: {sum(theirs.values()):.1f} ms, "
                 + ", ".join(f"{p} {v:.2f}" for p, v in theirs.items()))
    target = TARGETS.get(row["config"], (None, None))[1]
    rate = row["official"].get("steps_per_second")
    if what == "steps_per_second" and target and rate:
        text += f"; the target needs our step <= {1e3 / (rate * target):.1f} ms"
    return text


def readme_table(rows: dict) -> str:
    lines = ["| configuration | ours steps/s | official steps/s | ratio | ours transform "
             "samples/s | official | ratio | peak RSS ours / official (MiB) |",
             "|---|---|---|---|---|---|---|---|"]

    def f(value, digits=1):
        if value is None:
            return "-"
        if value >= 1000:
            return f"{value:,.0f}"
        # rates below one step per second (the official full batch, T = 1M) keep two
        # significant digits instead of printing as 0.0
        return f"{value:.{digits}f}" if value >= 1 else f"{value:.2g}"

    for name, row in rows.items():
        ours, official, ratio = row["neurolatent"], row["official"], row["ratio"]
        lines.append(
            f"| {name} | {f(ours['steps_per_second'])} | {f(official['steps_per_second'])} | "
            f"{f(ratio['steps_per_second'], 2)}x | {f(ours['transform_samples_per_second'])} | "
            f"{f(official['transform_samples_per_second'])} | "
            f"{f(ratio['transform_samples_per_second'], 2)}x | "
            f"{f(ours['peak_rss_mib'], 0)} / {f(official['peak_rss_mib'], 0)} |")
    return "\n".join(lines)


MARK_BEGIN, MARK_END = "<!-- compare-official:begin -->", "<!-- compare-official:end -->"


def update_readme(path: Path, table: str, note: str) -> None:
    text = path.read_text()
    if MARK_BEGIN not in text:
        return
    head, rest = text.split(MARK_BEGIN, 1)
    _, tail = rest.split(MARK_END, 1)
    path.write_text(f"{head}{MARK_BEGIN}\n{note}\n\n{table}\n{MARK_END}{tail}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official-python", default=str(ROOT / ".venv-official/bin/python"))
    parser.add_argument("--configs", nargs="+", default=None)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--budget", type=float, default=15.0,
                        help="seconds of timed training per run (steps from a warm-up rate)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--out-dir", type=Path, default=HERE / "results")
    parser.add_argument("--docs-dir", type=Path, default=ROOT / "docs")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other configurations of an existing JSON")
    parser.add_argument("--rewrite", action="store_true",
                        help="no runs: re-derive the targets, the page and the README table "
                             "from the stored JSON (after a change to their texts)")
    parser.add_argument("--worker", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.config, json.loads(args.spec), args.budget,
                                args.threads)))
        return {}
    if not args.quick and not args.readme.is_file():  # checked before the hour of runs
        parser.error(f"--readme: {args.readme} is not a file (the table is written between "
                     "its markers)")

    out = args.out_dir / ("compare_official_quick.json" if args.quick else
                          "compare_official.json")
    if args.rewrite:
        if not out.is_file():
            parser.error(f"--rewrite: no stored results at {out}")
        report = json.loads(out.read_text())
        table = QUICK if args.quick else CONFIGS
        # rows re-summarised from the stored runs, so that a summary added later (the
        # per-round ratios) covers earlier measurements too
        report["configs"] = {name: summarise(name, table[name],
                                             [r for r in report["runs"] if r["config"] == name])
                             for name in report["configs"]}
        report["targets"] = check_targets(report["configs"], report["machine"])
        # stored since the header existed; rebuilt for earlier reports
        report.setdefault("header", _header(report["settings"]["threads"],
                                            report["settings"]["repeats"], report["machine"]))
        return write_reports(report, out, args)
    table = QUICK if args.quick else CONFIGS
    names = args.configs or list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        parser.error(f"unknown configs {unknown}; choose from {list(table)}")
    pythons = {"neurolatent": sys.executable, "official": args.official_python}
    if not Path(args.official_python).exists():
        parser.error(f"--official-python {args.official_python} does not exist; run "
                     "`make bench` (it builds .venv-official with cebra==0.6.1).")
    peaks = machine_peaks(args.threads)
    rows, runs = {}, []
    for name in names:
        spec = table[name]
        mine = []
        for _ in range(args.repeats):
            for library in LIBRARIES:  # A B A B
                if library == "official" and spec.get("precision", "32") != "32":
                    # the official package has no bf16: compare with its fp32 run
                    spec_run = {**spec, "precision": "32"}
                else:
                    spec_run = spec
                result = _run_worker(pythons[library], library, name, spec_run, args)
                mine.append(result)
                print(json.dumps(result), flush=True)
        runs += mine
        rows[name] = summarise(name, spec, mine)
    if args.merge and out.exists():  # re-measured configurations replace the stored ones
        previous = json.loads(out.read_text())
        rows = {**{k: v for k, v in previous["configs"].items() if k not in rows}, **rows}
        rows = {k: rows[k] for k in table if k in rows}
        runs = [r for r in previous["runs"] if r["config"] not in names] + runs
    checks = check_targets(rows, peaks)
    import torch

    report = {
        "name": "compare_official", "quick": args.quick,
        "settings": {"repeats": args.repeats, "budget_seconds": args.budget,
                     "threads": args.threads, "model": "offset10-model", "batch_size": 512,
                     "output_dimension": 8, "num_hidden_units": 32, "label_dims": 1,
                     "command": " ".join(sys.argv[1:] if argv is None else argv)},
        "machine": {"python": platform.python_version(), "torch": torch.__version__,
                    "processor": platform.processor() or platform.machine(),
                    "cpu_count": os.cpu_count(), **peaks},
        "configs": rows, "targets": checks, "runs": runs,
        "header": _header(args.threads, args.repeats, peaks, names if args.merge else None),
    }
    return write_reports(report, out, args)


def _header(threads: int, repeats: int, peaks: dict, merged: list | None = None) -> str:
    """The first sentence of the page and the README note: how the numbers were measured."""
    return (f"Measured by `make bench` ({threads} threads, {repeats} alternating rounds, "
            f"machine peaks: matmul {peaks['matmul_gflops']:.0f} GFLOP/s"
            + (f" (bf16 {peaks['matmul_bf16_gflops']:.0f}; CPU bf16 features: "
               f"{', '.join(peaks['cpu_bf16_features']) or 'none'})"
               if "matmul_bf16_gflops" in peaks else "")  # absent from earlier reports
            + f", conv1d {peaks['conv1d_gflops']:.0f} GFLOP/s"
            + (f", measured in a re-run of {', '.join(merged)} merged into an earlier run"
               if merged else "")
            + "); ratios are ours / official.")


def _round_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def write_reports(report: dict, out: Path, args) -> dict:
    """The JSON, and unless ``--quick`` the docs page and the README table, from a report."""
    rows, checks = report["configs"], report["targets"]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    text = readme_table(rows)
    note = (report["header"] + " Targets: "
            + "; ".join(f"{c['config']} {c['metric']} {'met' if c['met'] else 'NOT met'}"
                        for c in checks if "rss" not in c["metric"]) + ".")
    if not args.quick:
        args.docs_dir.mkdir(parents=True, exist_ok=True)
        (args.docs_dir / "compare_official.md").write_text(
            "# Speed and memory against the official cebra 0.6.1\n\n"
            f"Regenerate: `make bench`.\n\n{note}\n\n{text}\n\n## Targets\n\n"
            + "\n".join(f"- {c['config']}: {c['metric']} = "
                        + ("-" if c["value"] is None else f"{c['value']:.2f}")
                        + f" (target {c['target']}): {'met' if c['met'] else 'NOT met'}"
                        + (f" (per round: {', '.join(_round_text(v) for v in c['rounds'])}; "
                           f"met in {c['rounds_met']} of {len(c['rounds'])})"
                           if c.get("rounds") else "")
                        + (f" — {c['bound']}" if c["bound"] else "") for c in checks) + "\n")
        update_readme(args.readme, text, note)
    print(text)
    print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
