"""Plots of embeddings, training curves and consistency (matplotlib, headless-safe; plotly for
the interactive embedding).

Every function accepts an existing axis (``ax=``) and returns the axis it drew on, so plots
compose into a user's own figure; ``plot_embedding_interactive`` returns a plotly figure.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")  # plots are written to files; never needs a display
import matplotlib.pyplot as plt
import numpy as np

from neurolatent._optional import require

__all__ = ["compare_models", "plot_consistency", "plot_embedding",
           "plot_embedding_interactive", "plot_loss", "plot_temperature"]


def _embedding_dims(embedding, idx_order) -> tuple[np.ndarray, list[int]]:
    embedding = np.asarray(embedding)
    if embedding.ndim != 2 or embedding.shape[1] < 1:
        raise ValueError(f"embedding must be 2-D (n_samples, n_dims); got shape "
                         f"{embedding.shape}.")
    dims = list(idx_order)
    if len(dims) not in (2, 3) or any(
            not isinstance(i, (int, np.integer)) or not 0 <= i < embedding.shape[1]
            for i in dims):
        raise ValueError(f"idx_order must list 2 or 3 embedding dimensions in [0, "
                         f"{embedding.shape[1] - 1}]; got {tuple(idx_order)!r}.")
    return embedding, dims


def _colour(color, n: int) -> np.ndarray:
    if color is None:
        return np.arange(n)  # colour by time when no label is given
    color = np.asarray(color)
    if color.ndim == 2 and color.shape[1] == 1:
        color = color[:, 0]
    if color.ndim != 1 or len(color) != n:
        raise ValueError(f"color must be one value per sample ({n},); got shape "
                         f"{color.shape}.")
    return color


def plot_embedding(embedding: np.ndarray, color: np.ndarray | None = None, ax=None,
                   title: str = "", cmap: str = "viridis", markersize: float = 1.0,
                   idx_order: tuple[int, ...] | None = None, alpha: float = 0.6):
    """Scatter two or three embedding dimensions, coloured by a label (or by time).

    ``idx_order`` picks the dimensions and their order (default the first three, or two
    for a 2-D embedding); ``color`` is one value per sample — a label — and defaults to
    the sample index (time).

    Examples
    --------
    >>> ax = plot_embedding(np.random.default_rng(0).normal(size=(50, 3)), np.arange(50))
    >>> ax.name
    '3d'
    >>> plot_embedding(np.zeros((10, 4)), idx_order=(3, 1)).name
    'rectilinear'
    """
    if idx_order is None:
        idx_order = tuple(range(min(3, max(2, np.shape(embedding)[-1]))))
    embedding, dims = _embedding_dims(embedding, idx_order)
    color = _colour(color, len(embedding))
    three_d = len(dims) == 3
    if ax is None:
        fig = plt.figure(figsize=(5, 5))
        ax = fig.add_subplot(111, projection="3d" if three_d else None)
    ax.scatter(*(embedding[:, i] for i in dims), c=color, cmap=cmap, s=markersize, alpha=alpha)
    ax.set_title(title)
    if three_d:
        ax.set_axis_off()
    else:
        ax.set_xlabel(f"latent {dims[0]}")
        ax.set_ylabel(f"latent {dims[1]}")
    return ax


def plot_embedding_interactive(embedding: np.ndarray, color: np.ndarray | None = None,
                               idx_order: tuple[int, ...] | None = None, title: str = "",
                               markersize: float = 2.0, colorscale: str = "Viridis"):
    """Rotatable plotly scatter of two or three embedding dimensions (optional extra).

    Returns a ``plotly.graph_objects.Figure``; ``fig.write_html(path)`` saves it.

    Examples
    --------
    >>> fig = plot_embedding_interactive(np.random.default_rng(0).normal(size=(30, 3)))
    >>> fig.data[0].type
    'scatter3d'
    """
    require("plotly", "plot_embedding_interactive", "plots")
    import plotly.graph_objects as go
    if idx_order is None:
        idx_order = tuple(range(min(3, max(2, np.shape(embedding)[-1]))))
    embedding, dims = _embedding_dims(embedding, idx_order)
    marker = {"size": markersize, "color": _colour(color, len(embedding)),
              "colorscale": colorscale, "showscale": True}
    if len(dims) == 3:
        trace = go.Scatter3d(x=embedding[:, dims[0]], y=embedding[:, dims[1]],
                             z=embedding[:, dims[2]], mode="markers", marker=marker)
    else:
        trace = go.Scatter(x=embedding[:, dims[0]], y=embedding[:, dims[1]], mode="markers",
                           marker=marker)
    return go.Figure(trace, layout={"title": title, "template": "plotly_white"})


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


def plot_consistency(scores: np.ndarray, pairs: np.ndarray, ids: np.ndarray, ax=None,
                     title: str = "consistency (R²)", cmap: str = "viridis",
                     fmt: str = ".2f"):
    """Matrix of ``consistency_score`` results: row = source, column = target, value in cells.

    Examples
    --------
    >>> from neurolatent.metrics import consistency_score
    >>> z = np.random.default_rng(0).normal(size=(100, 3))
    >>> ax = plot_consistency(*consistency_score([z, 2 * z, z ** 3], between="runs"))
    >>> len(ax.texts)
    6
    """
    scores, pairs, ids = np.asarray(scores, dtype=float), np.asarray(pairs), np.asarray(ids)
    if pairs.ndim != 2 or pairs.shape != (len(scores), 2):
        raise ValueError(f"pairs must have shape ({len(scores)}, 2) to match scores; got "
                         f"{pairs.shape}.")
    position = {key: i for i, key in enumerate(ids.tolist())}
    matrix = np.full((len(ids), len(ids)), np.nan)
    for (source, target), value in zip(pairs.tolist(), scores, strict=True):
        matrix[position[source], position[target]] = value
    if ax is None:
        _, ax = plt.subplots(figsize=(1 + 0.6 * len(ids), 0.8 + 0.6 * len(ids)))
    image = ax.imshow(matrix, cmap=cmap, vmin=min(0.0, np.nanmin(matrix)), vmax=1.0)
    for (i, j), value in np.ndenumerate(matrix):
        if np.isfinite(value):
            ax.text(j, i, format(value, fmt), ha="center", va="center", fontsize=8,
                    color="white" if value < 0.6 else "black")
    labels = [str(k) for k in ids.tolist()]
    ax.set_xticks(range(len(ids)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(ids)), labels)
    ax.set_xlabel("target")
    ax.set_ylabel("source")
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, fraction=0.046)
    return ax


def compare_models(models, labels: list[str] | None = None, ax=None, smooth: int = 1):
    """Loss curves of several fitted models (or their ``history_`` dicts) on one axis.

    Examples
    --------
    >>> ax = compare_models([{"loss": np.linspace(6, 5, 20)}, {"loss": np.linspace(6, 4, 20)}],
    ...                     labels=["position", "shuffled"])
    >>> [line.get_label() for line in ax.lines]
    ['position', 'shuffled']
    """
    models = list(models)
    if labels is None:
        labels = [f"model {i}" for i in range(len(models))]
    if len(labels) != len(models):
        raise ValueError(f"labels: need one per model ({len(models)}); got {len(labels)}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    for model, label in zip(models, labels, strict=True):
        history = model if isinstance(model, Mapping) else getattr(model, "history_", None)
        if history is None:
            raise TypeError(f"models: expected fitted models or history dicts; got "
                            f"{type(model).__name__} without history_.")
        plot_loss(history, ax=ax, label=label, smooth=smooth)
    return ax
