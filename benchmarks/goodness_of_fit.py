"""Extended Data Fig. 5: goodness of fit as hypothesis test on the rat (buddy).

CEBRA-Behavior (offset10-model, batch 512, temperature 1, time offset 10) is fitted with
four hypotheses about what the hippocampus encodes — position, direction, position +
direction, and position + direction shuffled over time — and scored by goodness of fit in
bits (log n − InfoNCE, n = batch size) on fresh batches. Position is a continuous label,
direction an integer label (so direction alone is discrete sampling, and position +
direction the mixed scheme).

    python benchmarks/goodness_of_fit.py [--quick] [--steps 3000]
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

NAME = "goodness_of_fit"


def hypotheses(label: np.ndarray, seed: int) -> dict[str, tuple]:
    position = label[:, :1].astype(np.float32)
    direction = label[:, 2].astype(np.int64)  # 1 = running left (position increasing)
    shuffle = np.random.default_rng(seed).permutation(len(label))
    return {"position": (position,), "direction": (direction,),
            "position+direction": (position, direction),
            "shuffled": (position[shuffle], direction[shuffle])}


def fit_and_score(data, labels: tuple, steps: int, seed: int, num_batches: int) -> tuple:
    """The fitted 3-D CEBRA-Behavior model for one hypothesis, its score and fit seconds."""
    from neurolatent import CEBRA
    from neurolatent.metrics import goodness_of_fit_score

    model = CEBRA("offset10-model", batch_size=512, temperature=1.0, time_offsets=10,
                  output_dimension=3, max_iterations=steps, learning_rate=3e-4,
                  device="cpu", random_state=seed)
    start = time.perf_counter()
    model.fit(data.neural, *labels, trial_ids=data.trial)
    seconds = time.perf_counter() - start
    score = goodness_of_fit_score(model, data.neural, *labels, trial_ids=data.trial,
                                  num_batches=num_batches)
    return model, score, seconds


def main(argv: list[str] | None = None) -> dict:
    args = _report.parser(__doc__.splitlines()[0])
    args.add_argument("--steps", type=int, default=3000)
    args.add_argument("--seed", type=int, default=0)
    args.add_argument("--num-batches", type=int, default=50)
    options = args.parse_args(argv)
    if options.quick:
        options.steps, options.num_batches = 300, 10
    _report.setup(options, argv)

    from neurolatent._parallel import run_calls
    from neurolatent.datasets import rat_hippocampus
    from neurolatent.metrics import goodness_of_fit_history

    data = rat_hippocampus("buddy")
    named = hypotheses(data.label, options.seed)
    fits = run_calls([partial(fit_and_score, data, labels, options.steps, options.seed,
                              options.num_batches) for labels in named.values()], options.jobs)
    models = {name: model for name, (model, _, _) in zip(named, fits, strict=True)}
    rows = [{"hypothesis": name, "goodness of fit (bits)": score,
             "final training loss": float(np.mean(model.history_["loss"][-50:])),
             "fit seconds": seconds} for name, (model, score, seconds) in zip(named, fits,
                                                                                strict=True)]

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurolatent.plotting import compare_models

    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    compare_models(list(models.values()), list(models), ax=left, smooth=25)
    left.set_title("training loss")
    for k, (name, model) in enumerate(models.items()):
        right.plot(np.convolve(goodness_of_fit_history(model), np.ones(25) / 25, "valid"),
                   color=f"C{k}", label=f"{name} ({rows[k]['goodness of fit (bits)']:.2f})")
    right.set_xlabel("step")
    right.set_ylabel("goodness of fit (bits)")
    right.legend(frameon=False, fontsize=7)
    right.set_title("goodness of fit (held-out batches in legend)")
    order = sorted(rows, key=lambda r: -r["goodness of fit (bits)"])
    summary = (f"buddy, {options.steps} steps per hypothesis, 3-D. Ranking: "
               + " > ".join(r["hypothesis"] for r in order)
               + ". Expected: position+direction best, shuffled worst.")
    return _report.write(NAME, options, {
        "summary": rows, "ranking": [r["hypothesis"] for r in order]},
        figure, "Goodness of fit on the rat (Extended Data Fig. 5)", summary, rows)


if __name__ == "__main__":
    main()
