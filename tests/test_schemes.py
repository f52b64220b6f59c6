"""Every sampling scheme end to end: discrete, mixed, hybrid, full batch, trials, invariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from neurolatent import CEBRA
from neurolatent.datasets import place_cells
from neurolatent.losses import InfoNCE
from neurolatent.objectives import ContrastiveObjective


def class_population(num_samples=3000, num_neurons=30, num_classes=5, seed=0):
    """Trials of 20 samples, each with one class; each class has its own rate pattern."""
    rng = np.random.default_rng(seed)
    trial_class = rng.integers(0, num_classes, size=num_samples // 20)
    labels = np.repeat(trial_class, 20)
    patterns = rng.uniform(0.2, 3.0, size=(num_classes, num_neurons))
    neural = rng.poisson(patterns[labels]).astype(np.float32)
    return neural, labels


FAST = {"model_architecture": "offset1-model", "batch_size": 256, "max_iterations": 400,
        "learning_rate": 3e-3, "device": "cpu", "random_state": 0}


def test_discrete_labels_decode_held_out():
    X, labels = class_population()
    labels = labels * 7 - 10  # arbitrary, negative, non-contiguous values
    train = np.arange(len(labels)) < 2400
    model = CEBRA(**FAST, output_dimension=4).fit(X[train], labels[train])
    assert model.label_kind_ == "discrete"
    z = model.transform(X)
    accuracy = KNeighborsClassifier(10).fit(z[train], labels[train]).score(z[~train],
                                                                            labels[~train])
    assert accuracy >= 0.9


def test_mixed_labels_make_both_variables_decodable():
    data = place_cells(3000, 40, seed=2)
    position = data.labels[:, 0]
    direction = data.labels[:, 1].astype(np.int64)
    train = np.arange(3000) < 2400
    model = CEBRA(**{**FAST, "model_architecture": "offset10-model", "max_iterations": 500},
                  output_dimension=8, time_offsets=5).fit(
        data.neural[train], position[train], direction[train])
    assert model.label_kind_ == "mixed"
    z = model.transform(data.neural)
    r2 = KNeighborsRegressor(10).fit(z[train], position[train]).score(z[~train],
                                                                      position[~train])
    accuracy = KNeighborsClassifier(10).fit(z[train], direction[train]).score(
        z[~train], direction[~train])
    assert r2 >= 0.8
    assert accuracy >= 0.9


def test_hybrid_behaviour_loss_only_touches_first_dims():
    g = torch.Generator().manual_seed(0)
    parts = {k: torch.nn.functional.normalize(torch.randn(32, 6, generator=g), dim=1)
             .requires_grad_(True) for k in ("reference", "positive", "positive_time", "negative")}
    objective = ContrastiveObjective(InfoNCE(), hybrid_behavior_dims=2)
    loss, _ = objective(parts)
    loss.backward()
    # the behaviour positive enters only through the behaviour loss: gradient on dims < 2
    grad = parts["positive"].grad
    assert grad[:, :2].abs().sum() > 0
    assert torch.count_nonzero(grad[:, 2:]) == 0
    assert torch.count_nonzero(parts["positive_time"].grad[:, 2:]) > 0
    # the sum of the two InfoNCE terms, no more
    crit = InfoNCE()
    r, p, pt, n = (parts[k].detach() for k in ("reference", "positive", "positive_time",
                                                "negative"))
    expected = crit(r[:, :2], p[:, :2], n[:, :2]).loss + crit(r, pt, n).loss
    torch.testing.assert_close(loss.detach(), expected)


@pytest.mark.parametrize("labels", ["continuous", "discrete", "mixed"])
def test_hybrid_fits_with_every_label_kind(labels):
    data = place_cells(600, 12, seed=3)
    y = {"continuous": (data.labels[:, 0],),
         "discrete": (data.labels[:, 1].astype(np.int64),),
         "mixed": (data.labels[:, 0], data.labels[:, 1].astype(np.int64))}[labels]
    model = CEBRA(**{**FAST, "max_iterations": 20}, hybrid=True, hybrid_behavior_dims=2,
                  output_dimension=4).fit(data.neural, *y)
    assert model.transform(data.neural).shape == (600, 4)
    assert np.isfinite(model.history_["loss"]).all()


@pytest.mark.parametrize("labels", ["none", "continuous", "discrete"])
def test_full_batch_fits_and_learns(labels):
    data = place_cells(800, 20, seed=4)
    y = {"none": (), "continuous": (data.labels[:, 0],),
         "discrete": (data.labels[:, 1].astype(np.int64),)}[labels]
    model = CEBRA("offset5-model", batch_size=None, max_iterations=60, learning_rate=3e-3,
                  device="cpu", random_state=0, output_dimension=3).fit(data.neural, *y)
    loss = model.history_["loss"]
    assert loss[-10:].mean() < loss[:10].mean()
    # full batch: the uniformity term is over all ~800 samples, so the loss starts near log T
    assert abs(loss[0] - np.log(800 - 4)) < 0.5


def test_trials_fit_and_transform():
    data = place_cells(1200, 16, seed=5)
    trials = np.repeat(np.arange(12), 100)
    model = CEBRA("offset10-model", batch_size=64, max_iterations=10, device="cpu",
                  random_state=0, time_offsets=3).fit(data.neural, data.labels[:, 0],
                                                      trial_ids=trials)
    emb = model.transform(data.neural, trial_ids=trials)
    assert emb.shape == (1200, 8)
    # trial 3 embedded alone equals its rows of the trial-aware transform
    np.testing.assert_allclose(emb[300:400], model.transform(data.neural[300:400]), rtol=1e-6)


def test_invariance_removes_nuisance_variable():
    """k (three session parts) adds an offset to the neural activity and shifts the recorded
    behaviour by a per-part calibration offset, so plain CEBRA-Behavior pairs samples within
    a part and encodes k; sampled uniformly across k, the embedding keeps position, loses k."""
    T = 3000
    data = place_cells(T, 60, seed=1)
    k = np.repeat([0, 1, 2], T // 3)
    rng = np.random.default_rng(0)
    X = data.neural + rng.poisson(rng.uniform(0, 0.5, size=(3, 60))[k]).astype(np.float32)
    y = np.c_[data.labels[:, 0], 0.5 * k].astype(np.float32)
    train = np.arange(T) % 5 != 0
    scores = {}
    for name, invariant in (("plain", None), ("invariant", k[train])):
        model = CEBRA("offset10-model", batch_size=512, max_iterations=600, learning_rate=3e-3,
                      output_dimension=3, time_offsets=10, device="cpu", random_state=0)
        model.fit(X[train], y[train], invariant_to=invariant)
        z = model.transform(X)
        scores[name] = (
            KNeighborsClassifier(15).fit(z[train], k[train]).score(z[~train], k[~train]),
            KNeighborsRegressor(15).fit(z[train], y[train, 0]).score(z[~train], y[~train, 0]),
        )
    chance = 1 / 3
    assert scores["plain"][0] > 0.9, scores  # without invariance k is decodable
    assert abs(scores["invariant"][0] - chance) < 0.06, scores  # with it: chance level
    assert scores["invariant"][1] > 0.9, scores  # and position is still decodable


@pytest.mark.parametrize("scheme", [
    {"labels": "discrete", "discrete_prior": "uniform"}, {"labels": "mixed"},
    {"labels": "continuous", "hybrid": True}, {"labels": "continuous", "batch_size": None},
    {"labels": "continuous", "conditional": "delta", "delta": 0.1},
    {"labels": "continuous", "invariant": True}, {"labels": "continuous", "num_negatives": 50},
])
def test_every_scheme_is_reproducible(scheme):
    scheme = dict(scheme)
    data = place_cells(500, 10, seed=6)
    labels = scheme.pop("labels")
    invariant = np.arange(500) // 250 if scheme.pop("invariant", False) else None
    y = {"discrete": (data.labels[:, 1].astype(np.int64),),
         "mixed": (data.labels[:, 0], data.labels[:, 1].astype(np.int64)),
         "continuous": (data.labels[:, :1],)}[labels]
    params = {**FAST, "max_iterations": 15, "batch_size": 32, **scheme}
    a = CEBRA(**params).fit(data.neural, *y, invariant_to=invariant).transform(data.neural)
    b = CEBRA(**params).fit(data.neural, *y, invariant_to=invariant).transform(data.neural)
    assert np.array_equal(a, b)


def test_num_negatives_is_independent_of_batch_size():
    from neurolatent.models import ReceptiveField
    from neurolatent.recording import Recording
    from neurolatent.sampling import SamplingConfig, build_sampler

    rec = Recording.from_arrays(np.zeros((100, 2)), [np.linspace(0, 1, 100)])
    sampler = build_sampler(rec, ReceptiveField(0, 1), SamplingConfig())
    batch = sampler.sample(16, 80, torch.Generator().manual_seed(0))
    assert batch["reference"].shape == (16,) and batch["negative"].shape == (80,)
