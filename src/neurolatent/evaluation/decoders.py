"""Decoders that read behaviour out of an embedding (thin wrappers over scikit-learn).

Both decoders follow the label's kind, as `CEBRA.fit` does: integer targets are classes
(``score`` is accuracy), float targets are regressed (``score`` is R²). The official
package's ``score`` returns R² even for a classifier; a scientist reading "0.9" for a
direction decoder expects accuracy, so we return accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import Lasso, LogisticRegression
from sklearn.metrics import accuracy_score, r2_score
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

__all__ = ["DEFAULT_NEIGHBORS", "DEFAULT_PENALTIES", "KNNDecoder", "L1LinearRegressor",
           "angle_accuracy", "decode", "decode_linear", "decode_linear_by_trial", "trial_folds"]

# The paper's k grid for the rat hippocampus (Methods, "Decoding analysis": 1, 4, 9, 16, 25)
# joined with the wider grid of its benchmark runs (1, 4, 16, 36, 64, 100).
DEFAULT_NEIGHBORS = (1, 4, 9, 16, 25, 36, 64, 100)
# Inverse regularisation strengths searched by decode_linear (the SOURCE.md baselines' grid).
DEFAULT_PENALTIES = (1e-3, 1e-2, 0.1, 1.0, 10.0)


def _check_embedding(X: Any, name: str) -> np.ndarray:
    array = np.asarray(X)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be a numeric array of shape (n_samples, n_dims); got "
                        f"dtype {array.dtype}.")
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_dims); got shape {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return array


def _check_target(y: Any, n: int, name: str) -> np.ndarray:
    target = np.asarray(y)
    if target.dtype == object or not (np.issubdtype(target.dtype, np.number)
                                      or target.dtype == bool):
        raise TypeError(f"{name} must be a numeric array (integer classes or float values); "
                        f"got dtype {target.dtype}.")
    if target.ndim not in (1, 2) or len(target) != n:
        raise ValueError(f"{name} must have shape ({n},) or ({n}, k) to match the embedding; "
                         f"got shape {target.shape}.")
    return target


def _is_discrete(y: np.ndarray) -> bool:
    return bool(np.issubdtype(y.dtype, np.integer) or y.dtype == bool)


class _Decoder(BaseEstimator):
    """Shared fit/predict/score: subclasses say which scikit-learn estimator to use."""

    def _make(self, discrete: bool):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X: Any, y: Any) -> _Decoder:
        X = _check_embedding(X, "X")
        y = _check_target(y, len(X), "y")
        self.discrete_ = _is_discrete(y)
        if self.discrete_ and y.ndim != 1:
            raise ValueError(f"y: integer (class) targets must be 1-D; got shape {y.shape}.")
        self.estimator_ = self._make(self.discrete_).fit(X, y)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        if not hasattr(self, "estimator_"):
            raise ValueError(f"This {type(self).__name__} is not fitted yet; call fit first.")
        X = _check_embedding(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} dimensions; the decoder was fitted on "
                             f"{self.n_features_in_}.")
        return self.estimator_.predict(X)

    def score(self, X: Any, y: Any) -> float:
        """Accuracy for integer (class) targets, R² (averaged over columns) otherwise."""
        prediction = self.predict(X)
        y = _check_target(y, len(prediction), "y")
        if self.discrete_:
            return float(accuracy_score(y, prediction))
        return float(r2_score(y, prediction))


class KNNDecoder(_Decoder):
    """k-nearest-neighbour decoder on embeddings (cosine metric by default, as in the paper).

    Integer targets are classified (majority vote), float targets regressed (mean of the
    neighbours).

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
    >>> KNNDecoder(metric="euclidean").fit(emb, (emb[:, 0] > 0.5).astype(int)).score(
    ...     emb, (emb[:, 0] > 0.5).astype(int))
    1.0
    """

    def __init__(self, n_neighbors: int = 3, metric: str = "cosine"):
        self.n_neighbors = n_neighbors
        self.metric = metric

    def _make(self, discrete: bool):
        if isinstance(self.n_neighbors, bool) or not isinstance(self.n_neighbors,
                                                                  (int, np.integer)) \
                or self.n_neighbors < 1:
            raise ValueError(f"n_neighbors must be an int >= 1; got {self.n_neighbors!r}.")
        cls = KNeighborsClassifier if discrete else KNeighborsRegressor
        return cls(n_neighbors=int(self.n_neighbors), metric=self.metric)


class L1LinearRegressor(_Decoder):
    """L1-regularised linear decoder: Lasso for float targets, L1 logistic regression for classes.

    Parameters
    ----------
    alpha : float, default 1.0
        Regularisation strength (scikit-learn's ``Lasso(alpha)``; for classes the logistic
        regression's ``C = 1 / alpha``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> emb = rng.normal(size=(200, 4))
    >>> target = emb @ [1.0, 0.0, -2.0, 0.0]
    >>> round(L1LinearRegressor(alpha=1e-3).fit(emb, target).score(emb, target), 3)
    1.0
    """

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def _make(self, discrete: bool):
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) \
                or not self.alpha > 0:
            raise ValueError(f"alpha must be a float > 0; got {self.alpha!r}.")
        if discrete:
            return LogisticRegression(C=1.0 / self.alpha, l1_ratio=1.0, solver="saga",
                                      max_iter=5000)
        return Lasso(alpha=float(self.alpha), max_iter=10000)


def _figures(y_true: np.ndarray, y_pred: np.ndarray, discrete: bool,
             classes: np.ndarray | None) -> dict[str, Any]:
    if discrete:
        per_class = {int(c): float(np.mean(y_pred[y_true == c] == c))
                     for c in classes if np.any(y_true == c)}
        return {"accuracy": float(accuracy_score(y_true, y_pred)),
                "balanced_accuracy": float(np.mean(list(per_class.values()))),
                "per_class_accuracy": per_class}
    error = np.abs(y_true - y_pred)
    if error.ndim == 2:  # several columns (e.g. x, y): the Euclidean distance per sample
        error = np.linalg.norm(y_true - y_pred, axis=1)
    return {"median_absolute_error": float(np.median(error)),
            "mean_absolute_error": float(np.mean(error)),
            "r2": float(r2_score(y_true, y_pred))}


def _decoding_inputs(train_embedding, train_label, test_embedding, test_label, valid):
    """Validate a decoding problem and split off validation rows when none are given."""
    train_embedding = _check_embedding(train_embedding, "train_embedding")
    test_embedding = _check_embedding(test_embedding, "test_embedding")
    train_label = _check_target(train_label, len(train_embedding), "train_label")
    test_label = _check_target(test_label, len(test_embedding), "test_label")
    if test_embedding.shape[1] != train_embedding.shape[1]:
        raise ValueError(f"test_embedding has {test_embedding.shape[1]} dimensions; "
                         f"train_embedding has {train_embedding.shape[1]}.")
    discrete = _is_discrete(train_label)
    if discrete != _is_discrete(test_label):
        raise TypeError("train_label and test_label must both be integer (classes) or both "
                        f"float; got {train_label.dtype} and {test_label.dtype}.")
    if valid is None:
        cut = int(0.8 * len(train_embedding))
        fit_x, fit_y = train_embedding[:cut], train_label[:cut]
        valid_x, valid_y = train_embedding[cut:], train_label[cut:]
    else:
        if not isinstance(valid, (tuple, list)) or len(valid) != 2:
            raise TypeError("valid must be a pair (valid_embedding, valid_label); got "
                            f"{type(valid).__name__}.")
        fit_x, fit_y = train_embedding, train_label
        valid_x = _check_embedding(valid[0], "valid[0] (valid_embedding)")
        valid_y = _check_target(valid[1], len(valid_x), "valid[1] (valid_label)")
    return (train_embedding, train_label, test_embedding, test_label, fit_x, fit_y, valid_x,
            valid_y, discrete)


def decode(train_embedding: Any, train_label: Any, test_embedding: Any, test_label: Any,
           valid: tuple[Any, Any] | None = None,
           n_neighbors: Sequence[int] = DEFAULT_NEIGHBORS,
           metric: str = "cosine") -> dict[str, Any]:
    """kNN-decode a label from embeddings, choosing k on validation data; report test figures.

    k is chosen from ``n_neighbors`` by validation R² (continuous labels, as in the paper)
    or accuracy (integer labels) on ``valid = (valid_embedding, valid_label)``; without
    ``valid`` the last 20 % of the training rows are held out for the choice (consecutive,
    so neighbouring time bins do not leak). The decoder is then refitted on all training
    rows with the chosen k.

    Returns
    -------
    dict
        ``n_neighbors`` (chosen k), ``valid_scores`` (k → score), and for continuous labels
        ``median_absolute_error``, ``mean_absolute_error`` (Euclidean per sample for
        several columns) and ``r2``; for integer labels ``accuracy``,
        ``balanced_accuracy`` and ``per_class_accuracy``.

    Examples
    --------
    >>> t = np.linspace(0, 4 * np.pi, 400)
    >>> emb = np.c_[np.cos(t), np.sin(t)]
    >>> angle = (t % (2 * np.pi))
    >>> out = decode(emb[:300], angle[:300], emb[300:], angle[300:], n_neighbors=(1, 4))
    >>> out["n_neighbors"] in (1, 4), out["median_absolute_error"] < 0.1
    (True, True)
    """
    (train_embedding, train_label, test_embedding, test_label, fit_x, fit_y, valid_x, valid_y,
     discrete) = _decoding_inputs(train_embedding, train_label, test_embedding, test_label,
                                  valid)
    grid = [int(k) for k in np.atleast_1d(n_neighbors)]
    if not grid or any(k < 1 for k in grid):
        raise ValueError(f"n_neighbors must be a non-empty list of ints >= 1; got "
                         f"{n_neighbors!r}.")
    usable = [k for k in grid if k <= len(fit_x)] or [min(grid)]
    valid_scores = {k: KNNDecoder(k, metric).fit(fit_x, fit_y).score(valid_x, valid_y)
                    for k in usable}
    best = max(valid_scores, key=lambda k: (valid_scores[k], -k))
    decoder = KNNDecoder(best, metric).fit(train_embedding, train_label)
    classes = np.unique(np.concatenate([train_label, test_label])) if discrete else None
    return {"n_neighbors": best, "valid_scores": valid_scores,
            **_figures(test_label, decoder.predict(test_embedding), discrete, classes)}


def decode_linear(train_embedding: Any, train_label: Any, test_embedding: Any, test_label: Any,
                  valid: tuple[Any, Any] | None = None,
                  penalties: Sequence[float] = DEFAULT_PENALTIES,
                  balanced: bool = False) -> dict[str, Any]:
    """Linear readout with its regularisation chosen on validation data; test figures.

    Integer labels: multinomial logistic regression on standardised features, ``C`` from
    ``penalties`` by validation accuracy (``balanced`` weights classes inversely to their
    frequency, for rare states such as REM sleep). Float labels: ridge regression with
    ``alpha = 1 / C`` by validation R². ``valid`` as in :func:`decode`. Returns the same
    figures as :func:`decode` with ``C`` and ``valid_scores``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> emb = rng.normal(size=(600, 3))
    >>> y = (emb[:, 0] > 0).astype(int)
    >>> out = decode_linear(emb[:400], y[:400], emb[400:], y[400:])
    >>> out["accuracy"] > 0.95
    True
    """
    out = _fit_linear(train_embedding, train_label, test_embedding, test_label, valid,
                      penalties, balanced)
    classes = (np.unique(np.concatenate([out["train_label"], out["test_label"]]))
               if out["discrete"] else None)
    return {"C": out["C"], "valid_scores": out["valid_scores"],
            **_figures(out["test_label"], out["prediction"], out["discrete"], classes)}


def trial_folds(trial_ids: Any, n_folds: int = 10) -> np.ndarray:
    """Fold of every sample: its trial's block when the trials are cut into ``n_folds``
    contiguous blocks in order of first appearance.

    Block k holds trials ``[floor(k n / n_folds), floor((k + 1) n / n_folds))`` of the n
    trials, so with 10 folds the last two blocks are the validation and test trials of the
    usual 80 / 10 / 10 split by trial order (``int(0.8 n)``, ``int(0.9 n)``).

    Examples
    --------
    >>> trial_folds([4, 4, 9, 9, 9, 2, 7, 7], n_folds=3).tolist()  # trials 4, 9, 2, 7
    [0, 0, 1, 1, 1, 2, 2, 2]
    """
    trial_ids = np.asarray(trial_ids)
    if trial_ids.ndim != 1 or trial_ids.dtype.kind not in "iu":
        raise ValueError(f"trial_ids must be a 1-D integer array (one trial id per sample); "
                         f"got {trial_ids.dtype} array of shape {trial_ids.shape}.")
    unique, first = np.unique(trial_ids, return_index=True)
    order = np.argsort(first)  # trials in order of first appearance
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) \
            or not 3 <= n_folds <= len(unique):
        raise ValueError(f"n_folds must be an int from 3 (train, validation, test) to the "
                         f"number of trials ({len(unique)}); got {n_folds!r}.")
    starts = np.arange(1, n_folds) * len(unique) // n_folds
    block = np.empty(len(unique), dtype=np.int64)
    block[order] = np.searchsorted(starts, np.arange(len(unique)), side="right")
    return block[np.searchsorted(unique, trial_ids)]


def decode_linear_by_trial(embedding: Any, label: Any, trial_ids: Any, n_folds: int = 10,
                           penalties: Sequence[float] = DEFAULT_PENALTIES,
                           balanced: bool = False) -> dict[str, Any]:
    """:func:`decode_linear` cross-validated over contiguous blocks of trials.

    A fixed split by trial order (train, validation, test) tests on a handful of trials:
    reaching sessions keep 16–18 test trials, ~75 time bins, so one accuracy carries a
    standard error of ~0.05 and more (bins of a trial are correlated). Here the trials are
    cut into ``n_folds`` blocks (:func:`trial_folds`); fold k tests on block k, chooses the
    penalty on block k − 1 (cyclically) and trains on the others — the fixed split rotated
    so that every trial is tested once; with 10 folds the last fold *is* the 80 / 10 / 10
    split. Trials never straddle train and test, so neighbouring bins cannot leak.

    ``embedding`` is one array for all folds (raw rates, a fixed feature map), or a list of
    ``n_folds`` arrays, fold k's from an encoder fitted *without* block k. An encoder fitted
    on the test trials, even without labels, embeds them better than unseen trials (a
    time-contrastive fit: 0.83–0.96 accuracy on the blocks it had seen, 0.65 on the one it
    had not), so one shared learned embedding overstates the accuracy.

    Returns
    -------
    dict
        ``folds``: per fold the test trials, chosen ``C`` and the :func:`decode_linear`
        figures; and each scalar figure (``accuracy``, ``balanced_accuracy`` for classes;
        ``r2``, ``median_absolute_error``, ... for values) pooled as the mean over folds
        weighted by their test samples.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> trial = np.repeat(np.arange(40), 10)
    >>> y = np.repeat(rng.integers(0, 2, 40), 10)
    >>> emb = np.c_[y + 0.3 * rng.normal(size=400), rng.normal(size=400)]
    >>> out = decode_linear_by_trial(emb, y, trial)
    >>> len(out["folds"]), out["accuracy"] > 0.9
    (10, True)
    """
    embeddings = list(embedding) if isinstance(embedding, (list, tuple)) else None
    if embeddings is not None and len(embeddings) != n_folds:
        raise ValueError(f"embedding: a list needs one array per fold ({n_folds}); got "
                         f"{len(embeddings)}.")
    embeddings = [_check_embedding(e, f"embedding[{k}]") for k, e in enumerate(embeddings)] \
        if embeddings is not None else [_check_embedding(embedding, "embedding")] * n_folds
    label = _check_target(label, len(embeddings[0]), "label")
    if any(len(e) != len(label) for e in embeddings):
        raise ValueError("embedding: every fold's array needs one row per sample "
                         f"({len(label)}); got {[len(e) for e in embeddings]}.")
    trial_ids = np.asarray(trial_ids)
    if trial_ids.shape != label.shape[:1]:
        raise ValueError(f"trial_ids must have one entry per sample of embedding "
                         f"({len(label)},); got {trial_ids.dtype} array of shape "
                         f"{trial_ids.shape}.")
    sample_block = trial_folds(trial_ids, n_folds)
    folds = []
    for k, emb in enumerate(embeddings):
        test, valid = sample_block == k, sample_block == (k - 1) % n_folds
        train = ~(test | valid)
        figures = decode_linear(emb[train], label[train], emb[test], label[test],
                                valid=(emb[valid], label[valid]), penalties=penalties,
                                balanced=balanced)
        folds.append({"test_trials": list(dict.fromkeys(trial_ids[test].tolist())),
                      "n_test": int(test.sum()), **figures})
    weights = np.array([f["n_test"] for f in folds], dtype=float)
    pooled = {key: float(np.average([f[key] for f in folds], weights=weights))
              for key, value in folds[0].items()
              if key not in ("C", "n_test") and isinstance(value, (int, float, np.floating))}
    return {"folds": folds, **pooled}


def _fit_linear(train_embedding, train_label, test_embedding, test_label, valid, penalties,
                balanced: bool) -> dict[str, Any]:
    """Standardise, fit logistic (classes) or ridge (values) per C, keep the best on valid."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    (train_embedding, train_label, test_embedding, test_label, fit_x, fit_y, valid_x, valid_y,
     discrete) = _decoding_inputs(train_embedding, train_label, test_embedding, test_label,
                                  valid)
    grid = [float(c) for c in np.atleast_1d(penalties)]
    if not grid or any(not c > 0 for c in grid):
        raise ValueError(f"penalties must be a non-empty list of floats > 0; got {penalties!r}.")

    def model(c: float):
        if discrete:
            head = LogisticRegression(C=c, max_iter=5000,
                                      class_weight="balanced" if balanced else None)
        else:
            head = Ridge(alpha=1.0 / c)
        return make_pipeline(StandardScaler(), head)

    def score(fitted, x, y) -> float:
        prediction = fitted.predict(x)
        if not discrete:
            return float(r2_score(y, prediction))
        if balanced:
            return float(np.mean([np.mean(prediction[y == c] == c) for c in np.unique(y)]))
        return float(accuracy_score(y, prediction))

    valid_scores = {c: score(model(c).fit(fit_x, fit_y), valid_x, valid_y) for c in grid}
    best = max(valid_scores, key=lambda c: (valid_scores[c], -c))
    fitted = model(best).fit(train_embedding, train_label)
    return {"C": best, "valid_scores": valid_scores, "discrete": discrete,
            "prediction": fitted.predict(test_embedding), "train_label": train_label,
            "test_label": test_label}


def angle_accuracy(train_embedding: Any, train_angle: Any, test_embedding: Any,
                   test_angle: Any, valid: tuple[Any, Any] | None = None,
                   penalties: Sequence[float] = DEFAULT_PENALTIES) -> dict[str, Any]:
    """Reach-direction accuracy of a linear readout of (cos θ, sin θ) (MYOW's metric).

    A ridge regression from the embedding to (cos θ, sin θ), its penalty chosen on
    validation R², predicts the angle atan2(sin, cos) of each test sample; ``accuracy`` is
    the fraction within π/8 of the true angle (the correct one of eight targets),
    ``delta_accuracy`` within 3π/16. Angles in radians.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> theta = rng.uniform(0, 2 * np.pi, 500)
    >>> emb = np.c_[np.cos(theta), np.sin(theta)] + 0.05 * rng.normal(size=(500, 2))
    >>> angle_accuracy(emb[:400], theta[:400], emb[400:], theta[400:])["accuracy"]
    1.0
    """
    angles = {}
    for name, value in (("train_angle", train_angle), ("test_angle", test_angle)):
        array = np.asarray(value, dtype=float)
        if array.ndim != 1:
            raise ValueError(f"{name} must be 1-D (radians); got shape {array.shape}.")
        angles[name] = array
    circle = {name: np.c_[np.cos(a), np.sin(a)] for name, a in angles.items()}
    if valid is not None:
        if not isinstance(valid, (tuple, list)) or len(valid) != 2:
            raise TypeError("valid must be a pair (valid_embedding, valid_angle); got "
                            f"{type(valid).__name__}.")
        angle = np.asarray(valid[1], dtype=float)
        valid = (valid[0], np.c_[np.cos(angle), np.sin(angle)])
    out = _fit_linear(train_embedding, circle["train_angle"], test_embedding,
                      circle["test_angle"], valid, penalties, balanced=False)
    predicted = np.arctan2(out["prediction"][:, 1], out["prediction"][:, 0])
    error = np.abs(np.angle(np.exp(1j * (predicted - angles["test_angle"]))))
    return {"accuracy": float(np.mean(error < np.pi / 8)),
            "delta_accuracy": float(np.mean(error < 3 * np.pi / 16)),
            "median_angle_error": float(np.median(error)), "C": out["C"]}
