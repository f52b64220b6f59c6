"""Fig. 2e–g: persistent cohomology of the rat's CEBRA-Behavior embedding against a shuffled null.

CEBRA-Behavior (offset10-model, temperature 1, time offset 10, batch 512, position +
direction) is fitted on all of buddy; persistence diagrams of 1,000 random embedding points
are compared with the largest lifespans of models fitted on label-shuffled data (the paper
used 500 shuffles; we use as many as the budget allows); Betti numbers count the classes
that outlive the null. The circular coordinate of the first H¹ class (DREiMac) is compared
with the rat's phase on its round trip (0 → π running one way along the track, π → 2π back).

The paper's 10,000 training steps matter: after 1,500 steps a second loop and a void also
outlived the null (Betti (1, 2, 1)); after 10,000 the ring (1, 1, 0) stands out.

    python benchmarks/topology.py [--quick] [--dims 3 8] [--shuffles 10] [--steps 10000]
                                  [--jobs 2]
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

NAME = "topology"


def loop_phase(label: np.ndarray) -> np.ndarray:
    """Round-trip phase: π·x/L running right (position decreasing), 2π − π·x/L back."""
    fraction = (label[:, 0] - label[:, 0].min()) / np.ptp(label[:, 0])
    return np.where(label[:, 1] > 0.5, np.pi * fraction, 2 * np.pi - np.pi * fraction)


def fit_embedding(model, data) -> np.ndarray:
    """Embedding of all of ``data`` by ``model`` fitted on it (labels and trials)."""
    model.fit(data.neural, data.label, trial_ids=data.trial)
    return model.transform(data.neural, trial_ids=data.trial)


def main(argv: list[str] | None = None) -> dict:
    args = _report.parser(__doc__.splitlines()[0])
    args.add_argument("--dims", type=int, nargs="*", default=[3, 8])
    args.add_argument("--shuffles", type=int, default=10)
    args.add_argument("--steps", type=int, default=10_000)
    args.add_argument("--points", type=int, default=1000)
    args.add_argument("--n-perm", type=int, default=200)
    args.add_argument("--maxdim", type=int, default=2)
    options = args.parse_args(argv)
    if options.quick:
        options.dims, options.shuffles, options.steps = [3], 2, 300
        options.points, options.n_perm, options.maxdim = 300, 120, 1
    _report.setup(options, argv)

    from neurolatent import CEBRA, topology
    from neurolatent._parallel import run_calls
    from neurolatent.datasets import rat_hippocampus

    data = rat_hippocampus("buddy")
    phase = loop_phase(data.label)
    rows, diagrams, thetas = [], {}, {}
    for dim in options.dims:
        model = CEBRA("offset10-model", batch_size=512, temperature=1.0, time_offsets=10,
                      output_dimension=dim, max_iterations=options.steps, learning_rate=3e-4,
                      device="cpu", random_state=0)
        start = time.perf_counter()
        # the fit under test and the shuffled fits share one pool: with --jobs 2 on two cores
        # the real fit runs beside a shuffle instead of before all of them
        shuffle = partial(topology.shuffle_null, model, data.neural, data.label, 1,
                          options.maxdim, options.points, options.n_perm, return_all=True)
        embedding, *per_shuffle = run_calls(
            [partial(fit_embedding, model, data)]
            + [partial(shuffle, random_state=k) for k in range(options.shuffles)], options.jobs)
        per_shuffle = np.concatenate(per_shuffle)
        diagrams[dim] = topology.persistence(embedding, options.maxdim, options.points,
                                             random_state=0, n_perm=options.n_perm)
        null = per_shuffle.max(axis=0)
        betti = topology.betti_numbers(diagrams[dim], null)
        # the paper: circular coordinates of 1,000 randomly sampled points
        rows_used = np.sort(np.random.default_rng(0).choice(
            len(embedding), min(options.points, len(embedding)), replace=False))
        thetas[dim] = (rows_used, topology.circular_coordinates(embedding[rows_used],
                                                                n_landmarks=200))
        rows.append({"dim": dim, "betti": str(betti),
                     "null max lifespans": str(np.round(null, 3).tolist()),
                     # each shuffled fit's largest lifespan per dimension: how tight the null is
                     "null lifespans per shuffle": str(np.round(per_shuffle, 3).tolist()),
                     "top H1 lifespans": str(np.round(np.sort(topology.lifespans(
                         diagrams[dim])[1])[-3:], 3).tolist()),
                     "circ. corr. with loop phase":
                         abs(topology.circular_correlation(thetas[dim][1],
                                                           phase[thetas[dim][0]])),
                     "shuffles": options.shuffles,
                     "seconds": time.perf_counter() - start})

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, len(options.dims), figsize=(4 * len(options.dims), 7),
                                squeeze=False)
    for i, dim in enumerate(options.dims):
        ax = axes[0, i]
        for d, diagram in enumerate(diagrams[dim]):
            finite = diagram[np.isfinite(diagram[:, 1])]
            ax.scatter(finite[:, 0], finite[:, 1], s=6, color=f"C{d}", label=f"H{d}")
        top = max(float(np.max(np.nan_to_num(dg[:, 1], posinf=0))) for dg in diagrams[dim])
        ax.plot([0, top], [0, top], "k", lw=0.5)
        ax.set_title(f"{dim}-D: Betti {rows[i]['betti']}")
        ax.set_xlabel("birth")
        ax.set_ylabel("death")
        ax.legend(frameon=False, fontsize=7)
        used, theta = thetas[dim]
        axes[1, i].scatter(phase[used], theta, s=2, c=data.label[used, 1], cmap="coolwarm")
        axes[1, i].set_xlabel("round-trip phase (rad)")
        axes[1, i].set_ylabel("circular coordinate (rad)")
    summary = (f"buddy, CEBRA-Behavior, {options.steps} steps; persistence of "
               f"{options.points} random points (ripser, greedy permutation of "
               f"{options.n_perm} landmarks); thresholds = largest lifespans over "
               f"{options.shuffles} label-shuffled fits. Expected: ring (1, 1, 0).")
    return _report.write(NAME, options, {
        "summary": rows}, figure, "Topology of the rat embedding (Fig. 2e-g)", summary, rows)


if __name__ == "__main__":
    main()
