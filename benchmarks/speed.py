"""Speed and memory benchmark: steps/s, transform throughput and peak RSS, written to JSON.

Each case runs in its own subprocess so that its peak RSS is its own.

    python benchmarks/speed.py [--steps 200] [--out benchmarks/results/speed.json] [--cases ...]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_official import peak_rss_mib

CASES = {
    "time_T10k": {"T": 10_000, "labels": "none", "batch_size": 512},
    "continuous_T10k": {"T": 10_000, "labels": "continuous", "batch_size": 512},
    "time_T100k": {"T": 100_000, "labels": "none", "batch_size": 512},
    "continuous_T100k": {"T": 100_000, "labels": "continuous", "batch_size": 512},
    "continuous3d_T100k": {"T": 100_000, "labels": "continuous3d", "batch_size": 512},
    # full batch: every step is a 100k x 100k similarity (chunked); measures the memory bound
    "multisession4_T10k": {"T": 10_000, "labels": "continuous", "batch_size": 512,
                           "sessions": 4},
    "fullbatch_T100k": {"T": 100_000, "labels": "continuous", "batch_size": None, "steps": 1,
                        "warmup": False},
}


def run_case(name: str, steps: int) -> dict:
    from neurolatent import CEBRA

    spec = CASES[name]
    steps = spec.get("steps", steps)
    rng = np.random.default_rng(0)
    T, N = spec["T"], 120
    X = rng.poisson(1.0, size=(T, N)).astype(np.float32)
    labels = {"none": (), "continuous": (np.cumsum(rng.normal(size=T)).astype(np.float32),),
              "continuous3d": (np.cumsum(rng.normal(size=(T, 3)), 0).astype(np.float32),)}
    y = labels[spec["labels"]]
    if spec.get("sessions"):  # S sessions with their own neurons, a shared label space
        count = spec["sessions"]
        X = [rng.poisson(1.0, size=(T, N)).astype(np.float32) for _ in range(count)]
        y = ([np.cumsum(rng.normal(size=T)).astype(np.float32) for _ in range(count)],)
    params = {"model_architecture": "offset10-model", "batch_size": spec["batch_size"],
              "output_dimension": 8, "device": "cpu", "random_state": 0}
    if spec.get("warmup", True):
        CEBRA(**params, max_iterations=2).fit(X, *y)  # warm-up: imports, allocator
    model = CEBRA(**params, max_iterations=steps)
    start = time.perf_counter()
    model.fit(X, *y)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    if spec.get("sessions"):
        model.transform(X[0], session_id=0)
    else:
        model.transform(X)
    transform_seconds = time.perf_counter() - start
    return {
        "case": name, "T": T, "N": N, "batch_size": spec["batch_size"],
        "sessions": spec.get("sessions", 1),
        "labels": spec["labels"], "steps": steps,
        "steps_per_second": steps / fit_seconds,
        "transform_samples_per_second": T / transform_seconds,
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "speed.json"))
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case, print JSON
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.steps)))
        return
    results = []
    for name in args.cases:
        proc = subprocess.run([sys.executable, __file__, "--case", name, "--steps",
                               str(args.steps)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            results.append({"case": name, "error": proc.stderr.strip().splitlines()[-1:]})
        else:
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": {"python": platform.python_version(), "torch": torch.__version__,
                          "threads": torch.get_num_threads(), "processor": platform.machine()},
              "results": results}
    out.write_text(json.dumps(report, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
