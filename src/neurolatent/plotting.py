"""Static plots of embeddings and training curves (matplotlib, headless-safe)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")  # plots are written to files; never needs a display
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_embedding", "plot_loss", "plot_temperature"]


def plot_embedding(embedding: np.ndarray, color: np.ndarray | None = None, ax=None,
                   title: str = "", cmap: str = "viridis", markersize: float = 1.0,
                   idx_order: tuple[int, ...] = (0, 1, 2)):
    """Scatter the first two or three embedding dimensions, coloured by ``color``.

    Examples
    --------
    >>> ax = plot_embedding(np.random.default_rng(0).normal(size=(50, 3)), np.arange(50))
    >>> ax.name
    '3d'
    """
    embedding = np.asarray(embedding)
    dims = [i for i in idx_order if i < embedding.shape[1]]
    three_d = len(dims) >= 3
    if ax is None:
        fig = plt.figure(figsize=(5, 5))
        ax = fig.add_subplot(111, projection="3d" if three_d else None)
    coords = [embedding[:, i] for i in dims[:3]] if three_d else [
        embedding[:, dims[0]], embedding[:, dims[1]] if len(dims) > 1 else np.zeros(len(embedding))]
    ax.scatter(*coords, c=color, cmap=cmap, s=markersize)
    ax.set_title(title)
    ax.set_axis_off() if three_d else None
    return ax


def plot_loss(history: Mapping[str, np.ndarray], ax=None, label: str | None = None,
              smooth: int = 1):
    """Loss over training steps from a fitted model's ``history_``.

    Examples
    --------
    >>> ax = plot_loss({"loss": np.linspace(6, 5, 100)}, smooth=10)
    >>> len(ax.lines)
    1
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    loss = np.asarray(history["loss"], dtype=float)
    if smooth > 1 and len(loss) >= smooth:
        loss = np.convolve(loss, np.ones(smooth) / smooth, mode="valid")
    ax.plot(np.arange(len(loss)) + 1, loss, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("InfoNCE loss")
    if label:
        ax.legend()
    return ax


def plot_temperature(history: Mapping[str, np.ndarray], ax=None):
    """Temperature over training steps (constant unless ``temperature_mode="auto"``).

    Examples
    --------
    >>> ax = plot_temperature({"temperature": np.ones(10)})
    >>> ax.get_ylabel()
    'temperature'
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    ax.plot(np.asarray(history["temperature"]))
    ax.set_xlabel("step")
    ax.set_ylabel("temperature")
    return ax
