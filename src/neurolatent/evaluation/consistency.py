"""Consistency of embeddings across runs or animals: pairwise linear-fit R².

Plain functions over arrays; nothing here trains.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurolatent.evaluation.decoders import linear_r2

__all__ = ["binned_means", "consistency_score"]


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


def consistency_score(embeddings: Sequence[np.ndarray],
                      labels: Sequence[np.ndarray] | None = None,
                      num_bins: int = 100) -> np.ndarray:
    """Matrix of R² of the best linear map from embedding i to embedding j.

    Between datasets (``labels`` given, one 1-D label per embedding): each embedding is
    averaged within shared label bins first, which aligns recordings of different length
    (the paper's across-animal consistency). Between runs on the same data (no labels):
    the embeddings are compared sample by sample. The diagonal is NaN.

    Examples
    --------
    >>> z = np.random.default_rng(0).normal(size=(200, 3))
    >>> scores = consistency_score([z, z @ np.diag([2.0, -1.0, 0.5])])
    >>> round(float(scores[0, 1]), 6)
    1.0
    """
    if labels is not None:
        if len(labels) != len(embeddings):
            raise ValueError(f"labels: need one label array per embedding ({len(embeddings)});"
                             f" got {len(labels)}.")
        flat = [np.asarray(label, dtype=float).reshape(len(label), -1)[:, 0] for label in labels]
        low = max(label.min() for label in flat)
        high = min(label.max() for label in flat)
        edges = np.linspace(low, high, num_bins + 1)
        embeddings = [binned_means(np.asarray(z), label, edges)
                      for z, label in zip(embeddings, flat, strict=True)]
        keep = np.all([np.isfinite(z).all(axis=1) for z in embeddings], axis=0)
        embeddings = [z[keep] for z in embeddings]
    elif len({len(z) for z in embeddings}) > 1:
        raise ValueError("embeddings: without labels all embeddings must have the same length "
                         "(runs on the same data); pass labels to compare datasets.")
    count = len(embeddings)
    scores = np.full((count, count), np.nan)
    for i in range(count):
        for j in range(count):
            if i != j:
                scores[i, j] = linear_r2(embeddings[i], embeddings[j])
    return scores
