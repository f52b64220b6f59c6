"""Topology of embeddings: persistent cohomology, Betti numbers against a shuffled null,
circular coordinates (paper, Methods "Topological analysis").

ripser computes the persistence diagrams, DREiMac the circular (Eilenberg–MacLane)
coordinates; both are optional dependencies (``pip install neurolatent[topology]``).
What is ours is the protocol: random subsampling, lifespans, thresholds from models fitted
on label-shuffled data, and the Betti count.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from neurolatent._optional import require
from neurolatent._parallel import run_calls

__all__ = ["betti_numbers", "circular_coordinates", "circular_correlation", "lifespans",
           "persistence", "shuffle_null"]


def _check_points(embedding: Any, name: str = "embedding") -> np.ndarray:
    points = np.asarray(embedding)
    if points.dtype == object or not np.issubdtype(points.dtype, np.number):
        raise TypeError(f"{name} must be a numeric array (n_samples, n_dims); got dtype "
                        f"{points.dtype}.")
    if points.ndim != 2 or len(points) < 3:
        raise ValueError(f"{name} must be 2-D with at least 3 points; got shape {points.shape}.")
    if not np.isfinite(points).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return points.astype(float)


def _check_count(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}.")
    return int(value)


def persistence(embedding: Any, maxdim: int = 2, n_points: int | None = 1000,
                random_state: int = 0, n_perm: int | None = 200,
                metric: str = "euclidean") -> list[np.ndarray]:
    """Persistence diagrams H⁰…H^maxdim of ``n_points`` random points of ``embedding``.

    The paper's protocol: 1,000 randomly chosen points, Vietoris–Rips filtration to an
    infinite radius (ripser). Exact H² on 1,000 points costs roughly n⁴·⁵ (≈ 45 min on two
    CPU cores), so by default the filtration runs on ``n_perm`` = 200 landmarks of ripser's
    greedy permutation of those points (a cover of all 1,000, far better than 200 random
    points); ``n_perm=None`` is the exact computation.

    Returns
    -------
    list of (n_features, 2) arrays of (birth, death); death is ``inf`` for classes that
    never die (the one connected component).

    Examples
    --------
    >>> t = np.linspace(0, 2 * np.pi, 100, endpoint=False)
    >>> diagrams = persistence(np.c_[np.cos(t), np.sin(t)], maxdim=1, n_perm=None)
    >>> betti_numbers(diagrams, thresholds=0.5)
    (1, 1)
    """
    ripser = require("ripser", "neurolatent.topology", "topology")
    points = _check_points(embedding)
    maxdim = _check_count(maxdim, "maxdim", 0)
    if n_points is not None and len(points) > _check_count(n_points, "n_points", 3):
        rows = np.random.default_rng(random_state).choice(len(points), n_points, replace=False)
        points = points[np.sort(rows)]
    if n_perm is not None and _check_count(n_perm, "n_perm", 3) >= len(points):
        n_perm = None
    result = ripser.ripser(points, maxdim=maxdim, thresh=np.inf, metric=metric,
                           n_perm=n_perm)
    return [np.asarray(d, dtype=float) for d in result["dgms"]]


def lifespans(diagrams: Sequence[np.ndarray], finite: bool = False) -> list[np.ndarray]:
    """Death − birth of every feature, per dimension (``finite`` drops never-dying classes).

    Examples
    --------
    >>> lifespans([np.array([[0.0, 1.0], [0.0, np.inf]])])[0].tolist()
    [1.0, inf]
    >>> lifespans([np.array([[0.0, 1.0], [0.0, np.inf]])], finite=True)[0].tolist()
    [1.0]
    """
    spans = [np.asarray(d, dtype=float).reshape(-1, 2) for d in diagrams]
    spans = [d[:, 1] - d[:, 0] for d in spans]
    return [s[np.isfinite(s)] for s in spans] if finite else spans


def betti_numbers(diagrams: Sequence[np.ndarray],
                  thresholds: float | Sequence[float]) -> tuple[int, ...]:
    """Number of features per dimension whose lifespan exceeds that dimension's threshold.

    ``thresholds`` is one value for every dimension, or one per dimension — typically the
    maximum lifespans from :func:`shuffle_null`. Never-dying classes always count.

    Examples
    --------
    >>> diagrams = [np.array([[0, np.inf], [0, 0.1]]), np.array([[0.2, 1.5], [0.3, 0.35]])]
    >>> betti_numbers(diagrams, thresholds=[0.2, 0.2])
    (1, 1)
    """
    spans = lifespans(diagrams)
    limits = np.broadcast_to(np.asarray(thresholds, dtype=float), (len(spans),)) \
        if np.ndim(thresholds) == 0 else np.asarray(thresholds, dtype=float)
    if limits.shape != (len(spans),):
        raise ValueError(f"thresholds must be a number or one per dimension ({len(spans)}); "
                         f"got {len(limits)} values.")
    return tuple(int(np.sum(s > limit)) for s, limit in zip(spans, limits, strict=True))


def _null_lifespan(model, X: np.ndarray, label: np.ndarray, seed: int, maxdim: int,
                   n_points: int | None, n_perm: int | None) -> np.ndarray:
    from sklearn.base import clone

    shuffled = label[np.random.default_rng(seed).permutation(len(label))]
    fitted = clone(model).set_params(random_state=seed).fit(X, shuffled)
    diagrams = persistence(fitted.transform(X), maxdim, n_points, seed, n_perm)
    return np.array([s.max() if len(s) else 0.0 for s in lifespans(diagrams, finite=True)])


def shuffle_null(model, X: Any, y: Any, n_shuffles: int = 10, maxdim: int = 2,
                 n_points: int | None = 1000, n_perm: int | None = 200, n_jobs: int = 1,
                 random_state: int = 0, return_all: bool = False) -> np.ndarray:
    """Maximum finite lifespan per dimension over models fitted on label-shuffled data.

    For each of ``n_shuffles`` seeds the labels ``y`` are permuted over time, an unfitted
    copy of ``model`` (a `CEBRA` with the settings under test) is fitted on (``X``,
    shuffled ``y``) and the persistence of its embedding of ``X`` is computed as in
    :func:`persistence`. The paper used 500 shuffles. Fits run in parallel over ``n_jobs``
    processes (joblib).

    Returns
    -------
    (maxdim + 1,) array of thresholds for :func:`betti_numbers`; with ``return_all`` the
    (n_shuffles, maxdim + 1) array of per-shuffle maxima.

    Examples
    --------
    >>> from neurolatent import CEBRA
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(300, 8)), rng.uniform(size=300)
    >>> model = CEBRA(model_architecture="offset1-model", batch_size=32, max_iterations=2,
    ...               output_dimension=3, device="cpu")
    >>> shuffle_null(model, X, y, n_shuffles=2, maxdim=1, n_points=60).shape
    (2,)
    """
    X = _check_points(X, "X")
    label = np.asarray(y)
    if len(label) != len(X):
        raise ValueError(f"y must have one row per sample of X ({len(X)}); got {len(label)}.")
    n_shuffles = _check_count(n_shuffles, "n_shuffles")
    seeds = np.random.default_rng(random_state).integers(0, 2**31 - 1, size=n_shuffles)
    runs = run_calls([partial(_null_lifespan, model, X, label, int(seed), maxdim, n_points,
                              n_perm) for seed in seeds], n_jobs)
    spans = np.stack(runs)
    return spans if return_all else spans.max(axis=0)


def circular_coordinates(embedding: Any, n_landmarks: int = 200, perc: float = 0.5,
                         cocycle_idx: int = 0, prime: int = 41,
                         standard_range: bool | None = None) -> np.ndarray:
    """Angle in [0, 2π) of every point from the ``cocycle_idx``-th most persistent H¹ class.

    DREiMac's sparse circular coordinates: persistent cohomology on ``n_landmarks``
    max-min landmarks, then the harmonic representative of the cocycle maps every point of
    ``embedding`` (memory O(n_samples × n_landmarks)) to the circle. ``standard_range``
    (DREiMac's guarantee that the class is non-trivial in the cover) is tried first when
    ``None``; when the class is too short for it, the coordinates are computed without it
    and a warning says so.

    Examples
    --------
    >>> t = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    >>> theta = circular_coordinates(np.c_[np.cos(t), np.sin(t)], n_landmarks=60)
    >>> bool(abs(circular_correlation(theta, t)) > 0.99)
    True
    """
    dreimac = require("dreimac", "neurolatent.topology", "topology")
    points = _check_points(embedding)
    n_landmarks = min(_check_count(n_landmarks, "n_landmarks", 3), len(points))
    if not 0 < perc < 1:
        raise ValueError(f"perc must be in (0, 1); got {perc!r}.")
    coords = dreimac.CircularCoords(points, n_landmarks=n_landmarks, prime=prime, maxdim=1)
    if standard_range is None:
        try:
            theta = coords.get_coordinates(perc=perc, cocycle_idx=cocycle_idx,
                                           standard_range=True)
        except Exception as error:  # DREiMac raises a bare Exception for a short class
            if "too short" not in str(error):
                raise
            warnings.warn("circular_coordinates: the H¹ class is too short for DREiMac's "
                          "standard range; computed with standard_range=False.",
                          UserWarning, stacklevel=2)
            theta = coords.get_coordinates(perc=perc, cocycle_idx=cocycle_idx,
                                           standard_range=False)
    else:
        theta = coords.get_coordinates(perc=perc, cocycle_idx=cocycle_idx,
                                       standard_range=bool(standard_range))
    return np.mod(np.asarray(theta, dtype=float), 2 * np.pi)


def circular_correlation(alpha: Any, beta: Any) -> float:
    """Fisher–Lee circular correlation of two angle arrays (invariant to rotating either).

    +1 when one angle is the other shifted, −1 when mirrored, ≈ 0 when unrelated; unlike
    the Jammalamadaka–SenGupta coefficient it stays defined for angles spread uniformly
    around the circle (a ring embedding), where the mean direction does not exist.

    Examples
    --------
    >>> t = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    >>> round(circular_correlation(t, (t + 1.0) % (2 * np.pi)), 6)
    1.0
    >>> round(circular_correlation(t, -t), 6)
    -1.0
    """
    alpha, beta = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    if alpha.shape != beta.shape or alpha.ndim != 1 or len(alpha) < 2:
        raise ValueError(f"alpha and beta must be 1-D arrays of equal length >= 2; got shapes "
                         f"{alpha.shape} and {beta.shape}.")
    # Closed form of the pairwise definition E[sin(a_i - a_j) sin(b_i - b_j)] / norms.
    n = len(alpha)
    ca, sa, cb, sb = np.cos(alpha), np.sin(alpha), np.cos(beta), np.sin(beta)
    numerator = 4 * (np.sum(ca * cb) * np.sum(sa * sb) - np.sum(ca * sb) * np.sum(sa * cb))
    spread_a = n**2 - np.sum(np.cos(2 * alpha)) ** 2 - np.sum(np.sin(2 * alpha)) ** 2
    spread_b = n**2 - np.sum(np.cos(2 * beta)) ** 2 - np.sum(np.sin(2 * beta)) ** 2
    return float(numerator / np.sqrt(spread_a * spread_b))
