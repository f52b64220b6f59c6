"""Goodness of fit: InfoNCE against its chance level log(n), in bits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurolatent import CEBRA
from neurolatent.datasets import place_cells
from neurolatent.evaluation import goodness_of_fit_history, goodness_of_fit_score, infonce_loss


def test_real_labels_score_above_shuffled_labels_near_zero():
    data = place_cells(3000, 60, seed=3)
    position = data.labels[:, 0]
    shuffled = np.random.default_rng(0).permutation(position)
    scores = {}
    for name, labels in (("real", position), ("shuffled", shuffled)):
        model = CEBRA("offset10-model", batch_size=512, max_iterations=500, output_dimension=3,
                      learning_rate=3e-3, time_offsets=5, device="cpu", random_state=0)
        model.fit(data.neural, labels)
        scores[name] = goodness_of_fit_score(model, data.neural, labels, num_batches=20)
        # the score on fresh batches agrees with the end of the training history
        assert scores[name] == pytest.approx(goodness_of_fit_history(model)[-20:].mean(),
                                             abs=0.05)
    assert scores["real"] > 0.5, scores
    assert abs(scores["shuffled"]) < 0.1, scores


def test_history_is_log_n_minus_loss_in_bits_and_reproducible():
    X = np.random.default_rng(0).normal(size=(400, 6))
    model = CEBRA(batch_size=64, num_negatives=100, max_iterations=6, device="cpu",
                  random_state=0).fit(X)
    assert model.num_negatives_ == 100
    expected = (math.log(100) - model.history_["loss"]) / math.log(2)
    np.testing.assert_allclose(goodness_of_fit_history(model), expected, atol=1e-5)
    assert infonce_loss(model, X, num_batches=4) == infonce_loss(model, X, num_batches=4)
    full = CEBRA(batch_size=None, max_iterations=2, device="cpu", random_state=0).fit(X)
    assert full.num_negatives_ == 400 - 1  # every valid reference is a negative


def test_goodness_of_fit_input_errors():
    X = np.random.default_rng(0).normal(size=(200, 4))
    model = CEBRA(batch_size=32, max_iterations=2, device="cpu", random_state=0).fit(X)
    with pytest.raises(ValueError, match="labels"):
        infonce_loss(model, X, np.linspace(0, 1, 200))
    with pytest.raises(ValueError, match="features"):
        infonce_loss(model, X[:, :3])
    with pytest.raises(ValueError, match="num_batches"):
        infonce_loss(model, X, num_batches=0)
    with pytest.raises(ValueError, match="not fitted"):
        goodness_of_fit_history(CEBRA())
