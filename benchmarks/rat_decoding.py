"""Fig. 2d: decoding the rat's position from CEBRA-Behavior and CEBRA-Time embeddings (buddy).

For each fold of the paper's nested 3-fold trial split, CEBRA-Behavior (offset10-model,
time offset 10, batch 512, temperature 1, position + direction labels) and CEBRA-Time
(temperature 2.25) are fitted on the train trials; train, valid and test are embedded trial
by trial; a kNN decoder (cosine, k from the paper's grid 1, 4, 16, 36, 64, 100 chosen by
validation R²) reads position; the median absolute error on the test trials is reported in cm
beside the published buddy figures (reference_results/, median over seeds of the per-seed
mean over folds).

    python benchmarks/rat_decoding.py [--quick] [--dims 3 8 16 32] [--folds 0 1 2] [--jobs 2]
"""

from __future__ import annotations

import os
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

NAME = "rat_decoding"
GRID = (1, 4, 16, 36, 64, 100)
METHODS = {"CEBRA-Behavior": {"temperature": 1.0, "labels": True},
           "CEBRA-Time": {"temperature": 2.25, "labels": False}}
PUBLISHED = {"CEBRA-Behavior": "cebra-b.csv", "CEBRA-Time": "cebra-t.csv",
             "pi-VAE (labels)": "pivae-w.csv"}


def published_errors(animal: int = 1) -> dict[str, float]:
    """Median over seeds of the per-seed mean test error (cm) in the paper's result tables."""
    import pandas as pd

    folder = Path(os.environ["NEUROLATENT_DATA"]) / "rat_hippocampus" / "reference_results"
    out = {}
    for method, file in PUBLISHED.items():
        if (folder / file).is_file():
            table = pd.read_csv(folder / file, skiprows=1)
            rows = table[table["animal"] == animal]
            per_seed = rows.groupby("seed")["test_position_error"].mean()
            out[method] = float(np.median(per_seed) * 100)
    return out


def run_one(fold: int, method: str, dim: int, steps: int, seed: int) -> dict:
    from neurolatent import CEBRA, decode
    from neurolatent.datasets import rat_hippocampus

    data = rat_hippocampus("buddy", split_no=fold)
    settings = METHODS[method]
    model = CEBRA("offset10-model", batch_size=512, temperature=settings["temperature"],
                  time_offsets=10, output_dimension=dim, max_iterations=steps,
                  learning_rate=3e-4, device="cpu", random_state=seed)
    labels = (data.train.label,) if settings["labels"] else ()
    start = time.perf_counter()
    model.fit(data.train.neural, *labels, trial_ids=data.train.trial)
    seconds = time.perf_counter() - start
    embed = {part: model.transform(data[part].neural, trial_ids=data[part].trial)
             for part in ("train", "valid", "test")}
    cm = {part: data[part].label[:, 0] * 100 for part in ("train", "valid", "test")}
    out = decode(embed["train"], cm["train"], embed["test"], cm["test"],
                 valid=(embed["valid"], cm["valid"]), n_neighbors=GRID)
    return {"fold": fold, "method": method, "dim": dim, "steps": steps,
            "test_error_cm": out["median_absolute_error"], "test_r2": out["r2"],
            "k": out["n_neighbors"], "fit_seconds": seconds}


def main(argv: list[str] | None = None) -> dict:
    args = _report.parser(__doc__.splitlines()[0])
    args.add_argument("--dims", type=int, nargs="*", default=[3, 8, 16, 32])
    args.add_argument("--folds", type=int, nargs="*", default=[0, 1, 2])
    args.add_argument("--methods", nargs="*", default=list(METHODS))
    args.add_argument("--steps-behavior", type=int, default=10_000)
    args.add_argument("--steps-time", type=int, default=4_000)
    args.add_argument("--seed", type=int, default=0)
    args.add_argument("--merge", action="store_true",
                      help="keep the stored JSON's runs that this invocation does not re-run "
                           "(method, dimension, fold), so dimensions can be added one by one")
    options = args.parse_args(argv)
    if options.quick:
        options.dims, options.folds, options.methods = [3], [0], ["CEBRA-Behavior"]
        options.steps_behavior = 400
    _report.setup(options, argv)
    stored = _report.stored_runs(options, NAME)
    from neurolatent._parallel import run_calls

    steps = {"CEBRA-Behavior": options.steps_behavior, "CEBRA-Time": options.steps_time}
    runs = run_calls([partial(run_one, fold, method, dim, steps[method], options.seed)
                      for method in options.methods for dim in options.dims
                      for fold in options.folds], options.jobs)
    runs = _report.merge(stored, runs, lambda r: (r["method"], r["dim"], r["fold"]))
    methods = [m for m in METHODS if any(r["method"] == m for r in runs)]
    published = published_errors()
    rows = []
    for method in methods:
        for dim in sorted({r["dim"] for r in runs if r["method"] == method}):
            mine = [r for r in runs if r["method"] == method and r["dim"] == dim]
            rows.append({"method": method, "dim": dim,
                         "test error (cm), mean of folds":
                             float(np.mean([r["test_error_cm"] for r in mine])),
                         "R²": float(np.mean([r["test_r2"] for r in mine])),
                         "folds": len(mine),
                         "steps": "/".join(str(n) for n in sorted({r["steps"] for r in mine})),
                         "published (cm)": published.get(method, float("nan"))})
    best = {m: min((r for r in rows if r["method"] == m),
                   key=lambda r: r["test error (cm), mean of folds"])
            for m in methods}

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(5, 3.2))
    for k, method in enumerate(methods):
        mine = [r for r in rows if r["method"] == method]
        ax.plot([r["dim"] for r in mine], [r["test error (cm), mean of folds"] for r in mine],
                "o-", color=f"C{k}", label=method)
        if method in published:
            ax.axhline(published[method], color=f"C{k}", ls="--", lw=1,
                       label=f"{method}, published")
    if "pi-VAE (labels)" in published:
        ax.axhline(published["pi-VAE (labels)"], color="gray", ls=":", label="pi-VAE, published")
    ax.set_xscale("log", base=2)
    dims = sorted({r["dim"] for r in rows})
    ax.set_xticks(dims, [str(d) for d in dims])
    ax.set_xlabel("output dimension")
    ax.set_ylabel("median abs. position error (cm)")
    ax.set_title("Rat buddy, test trials (Fig. 2d)")
    ax.legend(frameon=False, fontsize=7)
    summary = ("kNN decoding of position on the test trials of the nested 3-fold trial split "
               f"(folds {sorted({r['fold'] for r in runs})}), beside the published buddy "
               "medians; each row's steps column gives its training length. Best dimension: "
               + "; ".join(f"{m} {b['dim']}-D, {b['test error (cm), mean of folds']:.1f} cm"
                           for m, b in best.items()) + ". Target: CEBRA-Behavior ≤ 13.4 cm at 3-D.")
    return _report.write(NAME, options, {
        "runs": runs, "summary": rows, "published_cm": published,
        "best": {m: b["dim"] for m, b in best.items()}},
        figure, "Rat hippocampus decoding (Fig. 2d)", summary, rows)


if __name__ == "__main__":
    main()
