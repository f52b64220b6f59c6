"""Dataset generators and loaders: determinism, latent statistics, the rat trial split."""

from __future__ import annotations

import numpy as np
import pytest

from neurolatent import datasets

from .conftest import data_dir


def test_synthetic_pivae_is_deterministic_and_noise_models_share_rates():
    a = datasets.synthetic_pivae(2000, 20, seed=3)
    b = datasets.synthetic_pivae(2000, 20, seed=3)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], datasets.synthetic_pivae(2000, 20, seed=4)[0])
    uniform = datasets.synthetic_pivae(2000, 20, noise="uniform", seed=3)
    gaussian = datasets.synthetic_pivae(2000, 20, noise="gaussian", seed=3)
    np.testing.assert_array_equal(uniform[2], a[2])  # same latent for every noise model
    # the additive noises are non-negative with means 1 (U[0, 2]) and √(2/π) (half-normal)
    assert np.all(uniform[0] - gaussian[0] < 2.0)
    difference = (uniform[0] - gaussian[0]).mean()
    assert difference == pytest.approx(1.0 - np.sqrt(2 / np.pi), abs=0.02)
    poisson = a[0]
    assert np.all(poisson == np.round(poisson)) and poisson.min() >= 0
    refractory = datasets.synthetic_pivae(2000, 20, noise="refractory", seed=3)[0]
    # a 10 ms dead time allows at most 10 + 1 spikes in a 100 ms bin
    assert refractory.max() <= 11 and refractory.mean() > 1


def test_synthetic_pivae_latent_matches_its_description():
    _, label, latent = datasets.synthetic_pivae(60000, 10, seed=0)
    assert label.min() >= 0 and label.max() < 2 * np.pi
    residual = latent - np.c_[label, 2 * np.sin(label)]
    variance = np.c_[0.6 - 0.3 * np.abs(np.sin(label)), 0.3 * np.abs(np.sin(label))]
    bins = np.digitize(label, np.linspace(0, 2 * np.pi, 21)[1:-1])
    for b in range(20):
        rows = bins == b
        # E[z | c] = μ(c): the bin mean of z − μ(c) is 0 within 4 standard errors
        standard_error = np.sqrt(variance[rows].mean(0) / rows.sum())
        assert np.all(np.abs(residual[rows].mean(0)) < 4 * standard_error)
        # Var[z | c] = Σ(c): the standardised residual has unit variance
        standardised = residual[rows] / np.sqrt(variance[rows])
        np.testing.assert_allclose(standardised.var(0), 1.0, atol=0.1)
    with pytest.raises(ValueError, match="noise must be one of"):
        datasets.synthetic_pivae(noise="laplace")
    with pytest.raises(ValueError, match="even int"):
        datasets.synthetic_pivae(n_neurons=7)


def test_rat_trial_split_partitions_the_trials():
    root = data_dir("rat_hippocampus").parent
    full = datasets.rat_hippocampus(root=root)
    trials = np.unique(full.trial)
    assert len(trials) == 29  # 56 direction changes → 28 boundaries → 29 round trips
    held_out = []
    for split_no in range(3):
        split = datasets.rat_hippocampus(split_no=split_no, root=root)
        parts = [split.train, split.valid, split.test]
        index = np.concatenate([p.index for p in parts])
        assert len(index) == len(full.neural) and len(np.unique(index)) == len(index)
        assert set(split.train.trials).isdisjoint(split.valid.trials)
        assert set(split.train.trials).isdisjoint(split.test.trials)
        assert set(split.valid.trials).isdisjoint(split.test.trials)
        for part in parts:
            np.testing.assert_array_equal(part.neural, full.neural[part.index])
            assert set(np.unique(part.trial)) == set(part.trials)
        # blocks of 10, 10, 9 trials; KFold(3) holds out 4|3|3, 4|3|3 and 3|3|3 trials of
        # them, and the first (larger) half of each held-out part is test
        sizes = {name: len(p.trials) for name, p in zip(("train", "valid", "test"), parts,
                                                         strict=True)}
        print(f"fold {split_no}: trials {sizes}, samples "
              f"{[len(p.index) for p in parts]}")
        assert sizes["train"] + sizes["valid"] + sizes["test"] == 29
        assert sizes["test"] == 6  # ceil(half) of each block's 3–4 held-out trials
        held_out.extend(np.concatenate([split.valid.trials, split.test.trials]).tolist())
    # over the three folds every trial is held out (valid or test) exactly once
    assert sorted(held_out) == trials.tolist()


def test_real_loaders_report_missing_data_and_bad_arguments(tmp_path, monkeypatch):
    monkeypatch.delenv("NEUROLATENT_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="NEUROLATENT_DATA"):
        datasets.rat_hippocampus()
    monkeypatch.setenv("NEUROLATENT_DATA", str(tmp_path))
    for loader in (datasets.rat_hippocampus, datasets.monkey_reaching, datasets.sleep_states):
        with pytest.raises(FileNotFoundError, match="NEUROLATENT_DATA"):
            loader()
    (tmp_path / "rat_hippocampus").mkdir()
    np.savez(tmp_path / "rat_hippocampus" / "buddy.npz", spikes=np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"missing arrays \['position'\]"):
        datasets.rat_hippocampus()
    with pytest.raises(ValueError, match="name must be one of"):
        datasets.rat_hippocampus("rocky")
    with pytest.raises(ValueError, match="split_no"):
        datasets.rat_hippocampus(split_no=3)
    with pytest.raises(ValueError, match="session must be one of"):
        datasets.monkey_reaching(session="mihi_20140303")


def test_monkey_and_sleep_loaders():
    root = data_dir("mihi_chewie").parent
    monkey = datasets.monkey_reaching(root=root)
    assert monkey.neural.shape == (895, 174) and monkey.neural.dtype == np.float32
    assert monkey.test_mask.sum() == 79  # the SOURCE.md test bins
    # the physical angle: label k points at 90° − 45°·k (measured from the velocities)
    velocity_angle = np.arctan2(monkey.velocity[:, 1], monkey.velocity[:, 0])
    mean_offset = np.angle(np.mean(np.exp(1j * (velocity_angle - monkey.angle))))
    assert abs(mean_offset) < np.deg2rad(10)
    sleep = datasets.sleep_states(root=data_dir("mouse_sleep_states").parent)
    assert sleep.neural.shape == (10800, 42)
    assert np.bincount(sleep.state).tolist() == [3832, 6206, 762]
