"""Decoders that read behaviour out of an embedding (thin wrappers over scikit-learn)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

__all__ = ["KNNDecoder"]


class KNNDecoder(BaseEstimator):
    """k-nearest-neighbour decoder on embeddings (cosine metric by default, as in the paper).

    Integer targets are classified (majority vote), float targets regressed (mean).

    Parameters
    ----------
    n_neighbors : int, default 3 (as the official ``cebra.KNNDecoder``)
    metric : str, default "cosine"

    Examples
    --------
    >>> emb = np.linspace(0, 1, 100)[:, None] * [1.0, 0.5]
    >>> dec = KNNDecoder(n_neighbors=3, metric="euclidean").fit(emb, emb[:, 0])
    >>> dec.score(emb, emb[:, 0]) > 0.99
    True
    """

    def __init__(self, n_neighbors: int = 3, metric: str = "cosine"):
        self.n_neighbors = n_neighbors
        self.metric = metric

    def fit(self, X: np.ndarray, y: np.ndarray) -> KNNDecoder:
        y = np.asarray(y)
        cls = KNeighborsClassifier if np.issubdtype(y.dtype, np.integer) else KNeighborsRegressor
        self.knn_ = cls(n_neighbors=self.n_neighbors, metric=self.metric).fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.knn_.predict(X)

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """R² for regression, accuracy for classification."""
        return float(self.knn_.score(X, y))
