"""Consistency scores against known truth."""

from __future__ import annotations

import numpy as np
import pytest

from neurolatent import metrics


def test_identical_transformed_and_independent_embeddings():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(500, 4))
    transformed = z @ rng.normal(size=(4, 4)) + rng.normal(size=4)
    noise = rng.normal(size=(500, 4))
    scores, pairs, ids = metrics.consistency_score([z, z, transformed, noise], between="runs")
    score = {tuple(p): s for p, s in zip(pairs.tolist(), scores, strict=True)}
    assert ids.tolist() == [0, 1, 2, 3] and len(pairs) == 12
    assert score[(0, 1)] == pytest.approx(1.0)
    assert score[(0, 2)] == pytest.approx(1.0) and score[(2, 0)] == pytest.approx(1.0)
    assert abs(score[(0, 3)]) < 0.05
    held, _, _ = metrics.consistency_score([z, noise], between="runs", held_out=True)
    assert (held < 0.05).all()  # no in-sample inflation for unrelated embeddings


def test_between_datasets_aligns_by_label_bins():
    rng = np.random.default_rng(1)
    labels = [rng.uniform(0, 1, size=n) for n in (800, 1200)]
    circle = [np.c_[np.cos(3 * y), np.sin(3 * y), y] for y in labels]
    rotation = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    embeddings = [circle[0] + 0.01 * rng.normal(size=circle[0].shape),
                  circle[1] @ rotation + 0.01 * rng.normal(size=circle[1].shape)]
    scores, pairs, _ = metrics.consistency_score(
        embeddings, between="datasets", labels=labels, dataset_ids=["rat1", "rat2"],
        num_discretization_bins=50)
    assert pairs.tolist() == [["rat1", "rat2"], ["rat2", "rat1"]]
    assert (scores > 0.95).all()


def test_consistency_errors():
    z = np.zeros((10, 2))
    with pytest.raises(ValueError, match="between"):
        metrics.consistency_score([z, z])
    with pytest.raises(ValueError, match="labels"):
        metrics.consistency_score([z, z], between="datasets")
    with pytest.raises(ValueError, match="equal length"):
        metrics.consistency_score([z, z[:5]], between="runs")
