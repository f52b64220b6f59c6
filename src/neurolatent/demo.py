"""The demo: simulated place cells on a linear track -> CEBRA-Behavior and CEBRA-Time.

Prints held-out kNN decoding error and R² against the true position and writes plots.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from neurolatent.datasets import place_cells
from neurolatent.estimator import CEBRA
from neurolatent.evaluation import KNNDecoder

__all__ = ["run_demo"]


def run_demo(output_dir: str | Path = "neurolatent_demo", max_iterations: int = 1200,
             seed: int = 0) -> dict:
    """Fit both models, print the figures, write PNGs into ``output_dir``; return the figures.

    Examples
    --------
    >>> import tempfile
    >>> figures = run_demo(tempfile.mkdtemp(), max_iterations=20)  # doctest: +ELLIPSIS
    simulated place cells: ...
    >>> sorted(figures)
    ['CEBRA-Behavior', 'CEBRA-Time']
    """
    import matplotlib.pyplot as plt

    from neurolatent.plotting import plot_embedding, plot_loss

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    data = place_cells(num_samples=10000, num_neurons=80, seed=seed)
    position = data.labels[:, 0]
    split = int(0.8 * len(position))
    train, test = slice(0, split), slice(split, None)
    print(f"simulated place cells: {data.neural.shape[0]} bins x {data.neural.shape[1]} neurons,"
          f" train {split} / held-out {len(position) - split} bins")
    figures = {}
    fig = plt.figure(figsize=(10, 4.5))
    for column, (name, labels) in enumerate(
        [("CEBRA-Behavior", (data.labels[train],)), ("CEBRA-Time", ())]
    ):
        model = CEBRA(model_architecture="offset10-model", batch_size=512, output_dimension=3,
                      max_iterations=max_iterations, temperature=1.0, learning_rate=3e-4,
                      device="cpu", random_state=seed)
        start = time.perf_counter()
        model.fit(data.neural[train], *labels)
        seconds = time.perf_counter() - start
        z_train, z_test = model.transform(data.neural[train]), model.transform(data.neural[test])
        decoder = KNNDecoder(n_neighbors=24).fit(z_train, position[train])
        error = float(np.median(np.abs(decoder.predict(z_test) - position[test])))
        figures[name] = {"median_abs_error_m": error,
                         "knn_r2": decoder.score(z_test, position[test]),
                         "seconds": seconds, "final_loss": float(model.history_["loss"][-1])}
        print(f"{name:15s} fit {seconds:5.1f} s ({max_iterations / seconds:5.0f} steps/s) | "
              f"held-out kNN median |error| {100 * error:5.1f} cm, kNN R² "
              f"{figures[name]['knn_r2']:.3f} against the true position")
        ax = fig.add_subplot(1, 2, column + 1, projection="3d")
        plot_embedding(z_test, position[test], ax=ax, title=f"{name} (held-out, by position)",
                       markersize=2)
        loss_ax = plot_loss(model.history_, label=name, smooth=25)
        loss_ax.figure.savefig(output_dir / f"loss_{name}.png", dpi=100, bbox_inches="tight")
        plt.close(loss_ax.figure)
    fig.savefig(output_dir / "embeddings.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"plots written to {output_dir.resolve()}")
    return figures
