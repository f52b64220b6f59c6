"""Reach direction (Chewie, test trials) and sleep state (mouse CA1, test split) from CEBRA
embeddings, beside the raw-rate logistic baselines of the data's SOURCE.md files.

CEBRA-Behavior (integer label: direction or state) and CEBRA-Time are fitted on the train
split; every split is embedded; a kNN decoder (k on validation) and a linear readout
(logistic regression, C on validation; class-balanced for the unbalanced sleep states) give
the test accuracy. The raw-rate baseline is recomputed here with the SOURCE.md recipe.
Reaching trials are 3–9 bins long, so the reaching models see one bin (offset1-model);
sleep bins are 4 s, and the sleep models see ten (offset10-model).

    python benchmarks/reaching_sleep.py [--quick] [--steps 3000]
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

NAME = "reaching_sleep"
# Raw-rate logistic regression test accuracy given in the SOURCE.md files.
SOURCE_BASELINES = {"chewie_20131003": 0.646, "chewie_20131219": 0.747, "mouse_ca1": 0.909}


def _tasks(quick: bool) -> list[dict]:
    from neurolatent.datasets import monkey_reaching, sleep_states

    tasks = []
    for session in ("chewie_20131003",) if quick else ("chewie_20131003", "chewie_20131219"):
        data = monkey_reaching(session)
        tasks.append({"task": session, "neural": data.neural, "label": data.direction,
                      "trial": data.trial, "masks": (data.train_mask, data.val_mask,
                                                     data.test_mask),
                      "model": "offset1-model", "balanced": False})
    if not quick:
        data = sleep_states("mouse_ca1")
        tasks.append({"task": "mouse_ca1", "neural": data.neural, "label": data.state,
                      "trial": None, "masks": (data.train_mask, data.val_mask, data.test_mask),
                      "model": "offset10-model", "balanced": True})
    return tasks


def raw_rate_baseline(task: dict) -> float:
    """The SOURCE.md recipe: z-scored rates, logistic regression, C by validation accuracy."""
    from sklearn.linear_model import LogisticRegression

    train, valid, test = task["masks"]
    X = task["neural"]
    mean, std = X[train].mean(0), X[train].std(0)
    Z = (X - mean) / np.where(std > 0, std, 1.0)
    weight = "balanced" if task["balanced"] else None
    fits = {c: LogisticRegression(C=c, max_iter=5000, class_weight=weight).fit(
        Z[train], task["label"][train]) for c in (1e-3, 1e-2, 0.1, 1.0, 10.0)}
    best = max(fits, key=lambda c: (fits[c].score(Z[valid], task["label"][valid]), -c))
    return float(fits[best].score(Z[test], task["label"][test]))


def run_one(task: dict, method: str, steps: int, seed: int) -> dict:
    from neurolatent import CEBRA, decode, decode_linear

    train, valid, test = task["masks"]
    trial = task["trial"]
    model = CEBRA(task["model"], batch_size=512, output_dimension=8, max_iterations=steps,
                  temperature=1.0, time_offsets=1 if task["model"] == "offset1-model" else 10,
                  learning_rate=1e-3, device="cpu", random_state=seed)
    labels = (task["label"][train],) if method == "CEBRA-Behavior" else ()
    start = time.perf_counter()
    model.fit(task["neural"][train], *labels,
              trial_ids=None if trial is None else trial[train])
    seconds = time.perf_counter() - start

    def embed(mask):
        return model.transform(task["neural"][mask],
                               trial_ids=None if trial is None else trial[mask])

    parts = {name: (embed(mask), task["label"][mask])
             for name, mask in (("train", train), ("valid", valid), ("test", test))}
    knn = decode(*parts["train"], *parts["test"], valid=parts["valid"],
                 n_neighbors=(1, 4, 9, 16, 25, 36, 64, 100))
    linear = decode_linear(*parts["train"], *parts["test"], valid=parts["valid"],
                           balanced=task["balanced"])
    return {"task": task["task"], "method": method, "steps": steps,
            "knn_accuracy": knn["accuracy"], "knn_balanced_accuracy": knn["balanced_accuracy"],
            "linear_accuracy": linear["accuracy"],
            "linear_balanced_accuracy": linear["balanced_accuracy"], "fit_seconds": seconds}


def main(argv: list[str] | None = None) -> dict:
    args = _report.parser(__doc__.splitlines()[0])
    args.add_argument("--steps", type=int, default=3000)
    args.add_argument("--seed", type=int, default=0)
    options = args.parse_args(argv)
    if options.quick:
        options.steps = 300
    _report.setup(options, argv)
    tasks = _tasks(options.quick)
    from neurolatent._parallel import run_calls

    methods = ("CEBRA-Behavior", "CEBRA-Time")
    fits = iter(run_calls([partial(run_one, task, method, options.steps, options.seed)
                           for task in tasks for method in methods], options.jobs))
    runs, rows = [], []
    for task in tasks:
        baseline = raw_rate_baseline(task)
        for method in methods:
            run = next(fits)
            runs.append(run | {"raw_rate_baseline": baseline})
            rows.append({"task": task["task"], "method": method,
                         "kNN acc.": run["knn_accuracy"], "linear acc.": run["linear_accuracy"],
                         "raw-rate logistic (here)": baseline,
                         "raw-rate (SOURCE.md)": SOURCE_BASELINES[task["task"]]})

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(1.5 + 2.2 * len(tasks), 3.2))
    bars = [("CEBRA-Behavior", "knn_accuracy"), ("CEBRA-Behavior", "linear_accuracy"),
            ("CEBRA-Time", "knn_accuracy"), ("CEBRA-Time", "linear_accuracy")]
    for i, task in enumerate(tasks):
        for k, (method, key) in enumerate(bars):
            value = next(r[key] for r in runs if r["task"] == task["task"]
                         and r["method"] == method)
            ax.bar(i + (k - 2) * 0.16, value, 0.15, color=f"C{k}",
                   label=f"{method}, {key.split('_')[0]}" if i == 0 else None)
        ax.hlines(SOURCE_BASELINES[task["task"]], i - 0.4, i + 0.3, color="k", ls="--",
                  label="raw-rate logistic" if i == 0 else None)
    ax.set_xticks(range(len(tasks)), [t["task"] for t in tasks])
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    ax.set_title("Reach direction and sleep state")
    summary = (f"{options.steps} steps per model, 8-D embeddings; chance is 12.5 % for "
               "reaching (8 targets) and 57.3 % (majority) for sleep states.")
    return _report.write(NAME, options, {
        "runs": runs, "summary": rows}, figure, "Reaching and sleep states", summary, rows)


if __name__ == "__main__":
    main()
