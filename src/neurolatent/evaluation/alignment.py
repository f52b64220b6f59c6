"""Orthogonal Procrustes alignment of embeddings, and ensembles of aligned embeddings.

CEBRA embeddings are identifiable up to an orthogonal map (cosine) or an affine map
(Euclidean); to compare or average runs and animals they are first rotated onto a
reference. The rotation is fitted on paired rows (runs on the same data) or on label-bin
means (recordings of different length, the paper's across-animal alignment), and always on at
most ``max_points`` rows, so memory does not grow with the recording length.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.linalg import orthogonal_procrustes

from neurolatent.evaluation.consistency import shared_label_bins

__all__ = ["align_embeddings", "ensemble_embeddings", "procrustes"]


def _as_embedding_list(embeddings: Any) -> list[np.ndarray]:
    if isinstance(embeddings, np.ndarray) or not isinstance(embeddings, Sequence):
        raise TypeError("embeddings must be a list of 2-D arrays (one per run or animal); got "
                        f"{type(embeddings).__name__}.")
    if len(embeddings) < 1:
        raise ValueError("embeddings: need at least one embedding; got an empty list.")
    out = []
    for i, z in enumerate(embeddings):
        z = np.asarray(z, dtype=float)
        if z.ndim != 2 or not np.isfinite(z).all():
            raise ValueError(f"embeddings[{i}] must be a finite 2-D array (n_samples, n_dims); "
                             f"got shape {z.shape}.")
        out.append(z)
    if len({z.shape[1] for z in out}) > 1:
        raise ValueError("embeddings must share their number of dimensions; got "
                         f"{[z.shape[1] for z in out]}.")
    return out


def procrustes(source: Any, target: Any, center: bool = False,
               max_points: int | None = 10_000, random_state: int = 0
               ) -> tuple[np.ndarray, np.ndarray]:
    """The orthogonal map R (and shift t) minimising ‖(source − μ_s) R + t − target‖.

    Rows of ``source`` and ``target`` are paired. Without ``center`` the map is a pure
    rotation/reflection about the origin (t = 0), which keeps embeddings on the unit sphere;
    with it both sides are centred first and t = μ_target − μ_source R. When there are more
    than ``max_points`` rows, a random subset (seeded by ``random_state``) is used to fit.

    Returns
    -------
    rotation : (d, d) orthogonal array; shift : (d,) array. Apply as ``source @ R + t``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(100, 3))
    >>> R = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    >>> rotation, shift = procrustes(z, z @ R)
    >>> bool(np.allclose(rotation, R)), shift.tolist()
    (True, [0.0, 0.0, 0.0])
    """
    source, target = _as_embedding_list([source, target])
    if len(source) != len(target):
        raise ValueError(f"source and target must have paired rows; got {len(source)} and "
                         f"{len(target)} rows.")
    if max_points is not None and len(source) > max_points:
        rows = np.random.default_rng(random_state).choice(len(source), max_points,
                                                          replace=False)
        source, target = source[rows], target[rows]
    mu_s = source.mean(0) if center else np.zeros(source.shape[1])
    mu_t = target.mean(0) if center else np.zeros(target.shape[1])
    rotation, _ = orthogonal_procrustes(source - mu_s, target - mu_t)
    return rotation, mu_t - mu_s @ rotation


def align_embeddings(embeddings: Sequence[Any], labels: Sequence[Any] | None = None,
                     reference: int = 0, num_discretization_bins: int = 100,
                     center: bool = False, max_points: int | None = 10_000,
                     random_state: int = 0) -> list[np.ndarray]:
    """Rotate every embedding onto ``embeddings[reference]`` (orthogonal Procrustes).

    Without ``labels`` the embeddings are runs on the same data and rows are paired; with
    ``labels`` (one 1-D array per embedding) each is summarised by its mean in
    ``num_discretization_bins`` shared label bins and the bins are paired.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> z = rng.normal(size=(200, 3))
    >>> R = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    >>> aligned = align_embeddings([z, z @ R])
    >>> bool(np.allclose(aligned[1], z))
    True
    """
    embeddings = _as_embedding_list(embeddings)
    if isinstance(reference, bool) or not isinstance(reference, (int, np.integer)) \
            or not 0 <= reference < len(embeddings):
        raise ValueError(f"reference must be an int in [0, {len(embeddings) - 1}]; got "
                         f"{reference!r}.")
    if labels is None:
        if len({len(z) for z in embeddings}) > 1:
            raise ValueError("embeddings of different length can only be aligned through "
                             "labels; pass labels=[label_0, label_1, ...].")
        paired = embeddings
    else:
        paired = shared_label_bins(embeddings, labels, num_discretization_bins)
    aligned = []
    for z, fit_rows in zip(embeddings, paired, strict=True):
        rotation, shift = procrustes(fit_rows, paired[reference], center=center,
                                     max_points=max_points, random_state=random_state)
        aligned.append(z @ rotation + shift)
    return aligned


def ensemble_embeddings(embeddings: Sequence[Any], labels: Sequence[Any] | None = None,
                        reference: int = 0, normalize: bool | None = None,
                        num_discretization_bins: int = 100, center: bool = False,
                        max_points: int | None = 10_000, random_state: int = 0) -> np.ndarray:
    """Align runs on the same data onto one reference, average them, optionally renormalise.

    ``labels`` (one per run, all of the same length) make the alignment use label-bin means
    instead of every row — useful when runs are noisy. ``normalize=None`` renormalises to
    unit length exactly when every input lies on the unit sphere (cosine models).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> z = rng.normal(size=(300, 3))
    >>> z /= np.linalg.norm(z, axis=1, keepdims=True)
    >>> runs = [z @ np.linalg.qr(rng.normal(size=(3, 3)))[0] for _ in range(3)]
    >>> ensemble = ensemble_embeddings(runs)
    >>> bool(np.allclose(ensemble, runs[0])), bool(np.allclose(np.linalg.norm(ensemble, axis=1), 1))
    (True, True)
    """
    embeddings = _as_embedding_list(embeddings)
    if len({len(z) for z in embeddings}) > 1:
        raise ValueError("ensemble_embeddings averages runs on the same data; got embeddings "
                         f"of lengths {[len(z) for z in embeddings]}.")
    aligned = align_embeddings(embeddings, labels, reference, num_discretization_bins,
                               center, max_points, random_state)
    mean = np.mean(aligned, axis=0)
    if normalize is None:
        normalize = all(np.allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-4)
                        for z in embeddings)
    if normalize:
        mean /= np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
    return mean
