"""The InfoNCE loss as goodness of fit (paper, Methods "Goodness of fit").

A model whose embedding carries no information about the pairing scores log(n) (n
negatives per reference); goodness of fit = (log n - loss) in bits, 0 for a model no
better than chance, independent of the batch size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from neurolatent.objectives.contrastive import ContrastiveObjective
from neurolatent.recording import Recording
from neurolatent.sampling import build_sampler
from neurolatent.training import Trainer, TrainerConfig

__all__ = ["goodness_of_fit_history", "goodness_of_fit_score", "infonce_loss"]


def _num_terms(model) -> int:
    return 2 if model.hybrid else 1  # hybrid sums a time and a behaviour InfoNCE


def _evaluate(model, X: Any, y: tuple, session_id: int | None, num_batches: int,
              trial_ids: Any, random_state: int) -> tuple[float, int]:
    """Mean InfoNCE over ``num_batches`` batches and the number of negatives per reference."""
    model._check_fitted()
    if not isinstance(model.objective_, ContrastiveObjective):
        raise TypeError(f"model: goodness of fit is the InfoNCE loss of a CEBRA model; a "
                        f"{type(model).__name__} model has no InfoNCE objective.")
    encoder = model._session_encoder(session_id)
    if isinstance(num_batches, bool) or not isinstance(num_batches, int) or num_batches < 1:
        raise ValueError(f"num_batches must be an int >= 1; got {num_batches!r}.")
    if model.batch_size is None:
        raise ValueError("model: goodness of fit needs a minibatch model (batch_size set); "
                         "this one was fitted full-batch.")
    recording = Recording.from_arrays(X, y, trial_ids=trial_ids, device=model.device_)
    if recording.label_kind != model.label_kind_:
        raise ValueError(f"y: the model was fitted with {model.label_kind_} labels; got "
                         f"{recording.label_kind} labels.")
    expected = model.session_features_[session_id or 0]
    if recording.num_neurons != expected:
        raise ValueError(f"X has {recording.num_neurons} features, but the model is expecting "
                         f"{expected} features as input.")
    rf = encoder.receptive_field
    recording.check_length(rf)
    sampler = build_sampler(recording, rf, model._sampling_config(recording.label_kind))
    generator = torch.Generator(device=model.device_).manual_seed(random_state)
    config = TrainerConfig(batch_size=model.batch_size, num_negatives=model.num_negatives)
    trainer = Trainer(encoder, model.objective_, sampler, recording, generator, config)
    negatives = model.num_negatives or model.batch_size
    return float(trainer.evaluate(num_batches).mean()), negatives


def infonce_loss(model, X: Any, *y: Any, session_id: int | None = None,
                 num_batches: int = 100, trial_ids: Any = None, random_state: int = 0) -> float:
    """Mean InfoNCE of a fitted ``model`` on (``X``, ``y``).

    Batches are drawn with the model's own sampling scheme, batch size and number of
    negatives, from a generator seeded with ``random_state``, and embedded together. For a
    multi-session model ``session_id`` names the recording: its encoder embeds ``X``, and
    positives and negatives come from ``X`` alone (the within-session fit).

    Examples
    --------
    >>> from neurolatent import CEBRA
    >>> X = np.random.default_rng(0).normal(size=(300, 6))
    >>> model = CEBRA(batch_size=64, max_iterations=3, device="cpu", random_state=0).fit(X)
    >>> loss = infonce_loss(model, X, num_batches=5)
    >>> bool(abs(loss - np.log(64)) < 0.5)
    True
    """
    return _evaluate(model, X, y, session_id, num_batches, trial_ids, random_state)[0]


def goodness_of_fit_score(model, X: Any, *y: Any, session_id: int | None = None,
                          num_batches: int = 100, trial_ids: Any = None,
                          random_state: int = 0) -> float:
    """Goodness of fit in bits: (log n − InfoNCE) / ln 2 on (``X``, ``y``).

    n is the number of negatives per reference (the batch size unless ``num_negatives``
    was set); a hybrid model sums two InfoNCE terms, so its chance level is 2·log n.

    Examples
    --------
    >>> from neurolatent import CEBRA
    >>> X = np.random.default_rng(0).normal(size=(300, 6))
    >>> model = CEBRA(batch_size=64, max_iterations=3, device="cpu", random_state=0).fit(X)
    >>> bool(abs(goodness_of_fit_score(model, X, num_batches=5)) < 0.5)
    True
    """
    loss, negatives = _evaluate(model, X, y, session_id, num_batches, trial_ids, random_state)
    return (_num_terms(model) * math.log(negatives) - loss) / math.log(2)


def goodness_of_fit_history(model) -> np.ndarray:
    """Goodness of fit in bits at every training step, from ``model.history_``.

    Examples
    --------
    >>> from neurolatent import CEBRA
    >>> X = np.random.default_rng(0).normal(size=(300, 6))
    >>> model = CEBRA(batch_size=64, max_iterations=4, device="cpu", random_state=0).fit(X)
    >>> goodness_of_fit_history(model).shape
    (4,)
    """
    model._check_fitted()
    loss = np.asarray(model.history_["loss"], dtype=float)
    return (_num_terms(model) * math.log(model.num_negatives_) - loss) / math.log(2)
