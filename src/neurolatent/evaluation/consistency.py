"""Consistency of embeddings across runs or datasets (animals): pairwise linear-fit R².

Plain functions over arrays; nothing here trains.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["binned_means", "consistency_score", "pairwise_linear_r2", "shared_label_bins"]


def binned_means(embedding: np.ndarray, label: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean embedding in each label bin (bins given by ``edges``; empty bins are NaN).

    Examples
    --------
    >>> binned_means(np.arange(4.0)[:, None], np.array([0.1, 0.2, 0.6, 0.9]),
    ...              np.array([0.0, 0.5, 1.0])).ravel().tolist()
    [0.5, 2.5]
    """
    bins = np.clip(np.digitize(label, edges[1:-1]), 0, len(edges) - 2)
    counts = np.bincount(bins, minlength=len(edges) - 1).astype(float)
    sums = np.stack([np.bincount(bins, weights=embedding[:, d], minlength=len(edges) - 1)
                     for d in range(embedding.shape[1])], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None]


def shared_label_bins(embeddings: Sequence[np.ndarray], labels: Sequence[np.ndarray],
                      num_bins: int = 100) -> list[np.ndarray]:
    """Mean of each embedding in label bins shared by all of them (bins empty anywhere dropped).

    The bins split the label range common to all recordings (first label column) into
    ``num_bins`` equal parts, so row i of every output refers to the same behaviour.

    Examples
    --------
    >>> label = np.linspace(0, 1, 40)
    >>> a, b = shared_label_bins([label[:, None], 2 * label[:, None]], [label, label], 4)
    >>> a.shape, bool(np.allclose(b, 2 * a))
    ((4, 1), True)
    """
    if labels is None or len(labels) != len(embeddings):
        raise ValueError("labels: aligning embeddings by label needs one label array per "
                         f"embedding ({len(embeddings)}); got "
                         f"{'None' if labels is None else len(labels)}.")
    if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) \
            or num_bins < 1:
        raise ValueError(f"num_discretization_bins must be an int >= 1; got {num_bins!r}.")
    flat = []
    for i, (z, label) in enumerate(zip(embeddings, labels, strict=True)):
        label = np.asarray(label, dtype=float)
        if len(label) != len(z):
            raise ValueError(f"labels[{i}] has {len(label)} rows; embeddings[{i}] has {len(z)}.")
        flat.append(label.reshape(len(label), -1)[:, 0])
    edges = np.linspace(max(f.min() for f in flat), min(f.max() for f in flat), num_bins + 1)
    means = [binned_means(np.asarray(z, dtype=float), f, edges)
             for z, f in zip(embeddings, flat, strict=True)]
    keep = np.all([np.isfinite(m).all(axis=1) for m in means], axis=0)
    return [m[keep] for m in means]


def pairwise_linear_r2(source: np.ndarray, target: np.ndarray,
                       held_out: bool = False) -> float:
    """R² (averaged over target dimensions) of the least-squares affine map source → target.

    With ``held_out`` the map is fitted on the even rows and scored on the odd rows.

    Examples
    --------
    >>> z = np.random.default_rng(0).normal(size=(50, 3))
    >>> round(pairwise_linear_r2(z, z @ [[1.0], [-2.0], [0.5]] + 3), 6)
    1.0
    """
    design = np.c_[source, np.ones(len(source))]
    fit_rows = slice(0, None, 2) if held_out else slice(None)
    score_rows = slice(1, None, 2) if held_out else slice(None)
    weights, *_ = np.linalg.lstsq(design[fit_rows], target[fit_rows], rcond=None)
    residual = target[score_rows] - design[score_rows] @ weights
    centred = target[score_rows] - target[score_rows].mean(0)
    ss_tot = (centred**2).sum(0)
    r2 = 1 - (residual**2).sum(0) / np.where(ss_tot > 0, ss_tot, np.nan)
    return float(np.nanmean(r2))


def consistency_score(
    embeddings: Sequence[np.ndarray],
    between: str | None = None,
    labels: Sequence[np.ndarray] | None = None,
    dataset_ids: Sequence | None = None,
    num_discretization_bins: int = 100,
    held_out: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R² of the best affine map between every ordered pair of embeddings.

    ``between="runs"``: embeddings of the same data (equal length), compared sample by
    sample. ``between="datasets"``: recordings of different length aligned through a 1-D
    label: each embedding is averaged within ``num_discretization_bins`` shared label bins
    and renormalised to unit length first (the paper's across-animal consistency).
    ``held_out=True`` fits each map on half of the points and scores it on the other half.

    Returns
    -------
    scores : (n_pairs,) array; pairs : (n_pairs, 2) array of ids; ids : (n,) array

    Examples
    --------
    >>> z = np.random.default_rng(0).normal(size=(200, 3))
    >>> scores, pairs, ids = consistency_score([z, z @ np.diag([2.0, -1.0, 0.5])], "runs")
    >>> np.round(scores, 6).tolist(), pairs.tolist()
    ([1.0, 1.0], [[0, 1], [1, 0]])
    """
    if between not in ("runs", "datasets"):
        raise ValueError(f"between must be 'runs' or 'datasets'; got {between!r}.")
    embeddings = [np.asarray(z, dtype=float) for z in embeddings]
    if len(embeddings) < 2:
        raise ValueError(f"embeddings: need at least two; got {len(embeddings)}.")
    ids = np.arange(len(embeddings)) if dataset_ids is None else np.asarray(dataset_ids)
    if len(ids) != len(embeddings):
        raise ValueError(f"dataset_ids: need one id per embedding ({len(embeddings)}); "
                         f"got {len(ids)}.")
    if between == "datasets":
        means = shared_label_bins(embeddings, labels, num_discretization_bins)
        embeddings = [m / np.linalg.norm(m, axis=1, keepdims=True) for m in means]
    elif len({len(z) for z in embeddings}) > 1:
        raise ValueError("embeddings: between='runs' needs embeddings of equal length (runs "
                         "on the same data); use between='datasets' with labels.")
    pairs = [(i, j) for i in range(len(embeddings)) for j in range(len(embeddings)) if i != j]
    scores = np.array([pairwise_linear_r2(embeddings[i], embeddings[j], held_out)
                       for i, j in pairs])
    return scores, ids[np.array(pairs)], ids
