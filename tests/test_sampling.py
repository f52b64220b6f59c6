"""Samplers against brute force and against their definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from neurolatent.models import ReceptiveField
from neurolatent.recording import Recording
from neurolatent.sampling import (
    Groups,
    NearestIndex,
    SamplingConfig,
    brute_force_nearest,
    build_sampler,
)


def _labels(kind: str, dims: int, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if kind == "random":
        return torch.rand(n, dims, generator=g)
    # duplicate-heavy: few distinct values on a lattice, so exact ties are everywhere
    return torch.randint(0, 4, (n, dims), generator=g).float() * 0.5


@pytest.mark.parametrize("kind", ["random", "duplicates"])
@pytest.mark.parametrize("dims", [1, 3])
@pytest.mark.parametrize("method", ["auto", "chunked", "kdtree"])
@pytest.mark.parametrize("grouped", [False, True])
def test_nearest_index_equals_brute_force(kind, dims, method, grouped):
    n = 3000
    labels = _labels(kind, dims, n, seed=dims)
    g = torch.Generator().manual_seed(7)
    candidates = torch.sort(torch.randperm(n, generator=g)[: n - 400]).values
    groups = torch.randint(0, 3, (candidates.shape[0],), generator=g) if grouped else None
    index = NearestIndex(labels, candidates, groups, method=method)
    if method == "auto":
        assert index.method == ("sorted" if dims == 1 else "kdtree")
    # queries: perturbations of labels (exact ties with duplicates), far-away points, exact hits
    base = labels[torch.randint(0, n, (2000,), generator=g)]
    step = (torch.randint(-2, 3, base.shape, generator=g).float() * 0.25 if kind == "duplicates"
            else torch.randn(base.shape, generator=g) * 0.05)
    queries = torch.cat([base + step, base, torch.full((5, dims), 9.0), -base])
    qgroups = torch.randint(0, 3, (queries.shape[0],), generator=g) if grouped else None
    got = index.query(queries, qgroups)
    want = brute_force_nearest(labels, candidates, queries, groups, qgroups)
    assert torch.equal(got, want)
    if kind == "duplicates":  # the test really exercised ties
        assert len(torch.unique(labels[candidates], dim=0)) < 70


def _recording(n=400, neurons=3, labels=(), trial_ids=None):
    X = np.random.default_rng(0).normal(size=(n, neurons))
    return Recording.from_arrays(X, labels, trial_ids=trial_ids)


@pytest.mark.parametrize("offsets", [(1,), (3,), (2, 5, 9)])
def test_time_positives_exactly_delta_away_and_valid(offsets):
    rec = _recording()
    rf = ReceptiveField(5, 5)
    sampler = build_sampler(rec, rf, SamplingConfig(conditional="time", time_offsets=offsets))
    batch = sampler.sample(4000, 4000, torch.Generator().manual_seed(0))
    delta = batch["positive"] - batch["reference"]
    assert set(delta.unique().tolist()) == set(offsets)
    for part in batch.values():
        assert part.min() >= rf.left and part.max() <= rec.num_samples - rf.right
    # uniform over valid references: no over-sampled edges
    counts = torch.bincount(batch["reference"], minlength=rec.num_samples)
    valid = counts[rf.left : rec.num_samples - rf.right - max(offsets) + 1]
    assert (counts > 0).sum() == valid.numel()
    assert chisquare(valid.numpy()).pvalue > 1e-3


def test_time_delta_positive_equals_brute_force_query():
    y = np.cumsum(np.random.default_rng(1).normal(size=500)).astype(np.float32)
    rec = _recording(500, labels=[y])
    rf = ReceptiveField(2, 3)
    sampler = build_sampler(rec, rf, SamplingConfig("time_delta", (2,)))
    positive = sampler.conditionals["positive"]
    reference = sampler.reference_prior.sample(300, torch.Generator().manual_seed(3))
    queries = positive.queries(reference, torch.Generator().manual_seed(4))
    got = positive.index.query(queries)
    valid = torch.nonzero(rec.valid_mask(rf)).reshape(-1)
    assert torch.equal(got, brute_force_nearest(rec.continuous, valid, queries))
    # the perturbation is a real label change over 2 steps
    changes = rec.continuous[2:] - rec.continuous[:-2]
    diff = queries - rec.continuous[reference]
    assert all(torch.isclose(changes, d).any() for d in diff[:20])


def test_delta_normal_perturbation_has_requested_std():
    y = np.linspace(0, 1, 2000, dtype=np.float32)
    rec = _recording(2000, labels=[y])
    sampler = build_sampler(rec, ReceptiveField(0, 1), SamplingConfig("delta_normal", delta=0.1))
    positive = sampler.conditionals["positive"]
    ref = sampler.reference_prior.sample(20000, torch.Generator().manual_seed(0))
    noise = positive.queries(ref, torch.Generator().manual_seed(1)) - rec.continuous[ref]
    assert float(noise.std()) == pytest.approx(0.1, rel=0.03)


def test_discrete_positives_share_label_and_priors():
    labels = np.repeat(np.array([-5, 2, 7, 100]), [100, 300, 500, 1100])
    rec = _recording(len(labels), labels=[labels])
    rf = ReceptiveField(0, 1)
    g = torch.Generator().manual_seed(0)
    for prior in ("empirical", "uniform"):
        sampler = build_sampler(rec, rf, SamplingConfig("discrete", discrete_prior=prior))
        batch = sampler.sample(100_000, 16, g)
        assert torch.equal(rec.discrete[batch["positive"]], rec.discrete[batch["reference"]])
        freq = torch.bincount(rec.discrete[batch["reference"]], minlength=4).numpy()
        expected = (np.full(4, 0.25) if prior == "uniform"
                    else np.array([100, 300, 500, 1100]) / len(labels)) * 100_000
        assert chisquare(freq, expected).pvalue > 1e-3
    assert rec.classes.tolist() == [-5, 2, 7, 100]


def test_mixed_positives_share_label_and_equal_restricted_brute_force():
    rng = np.random.default_rng(2)
    y = rng.uniform(size=(1500, 2)).astype(np.float32)
    k = rng.integers(0, 4, size=1500)
    rec = _recording(1500, labels=[y, k])
    rf = ReceptiveField(1, 1)
    sampler = build_sampler(rec, rf, SamplingConfig("time_delta"))
    positive = sampler.conditionals["positive"]
    g = torch.Generator().manual_seed(5)
    reference = sampler.reference_prior.sample(3000, g)
    queries = positive.queries(reference, torch.Generator().manual_seed(6))
    got = positive.index.query(queries, rec.discrete[reference])
    valid = torch.nonzero(rec.valid_mask(rf)).reshape(-1)
    want = brute_force_nearest(rec.continuous, valid, queries, rec.discrete[valid],
                               rec.discrete[reference])
    assert torch.equal(got, want)
    batch = sampler.sample(3000, 10, g)
    assert torch.equal(rec.discrete[batch["positive"]], rec.discrete[batch["reference"]])
    freq = torch.bincount(rec.discrete[batch["reference"]], minlength=4).numpy()
    assert chisquare(freq).pvalue > 1e-3  # class-balanced prior


def test_trials_windows_never_mix_and_time_positives_stay_in_trial():
    lengths = [7, 30, 12, 3, 50]
    trial_ids = np.repeat(np.arange(len(lengths)), lengths)
    y = np.random.default_rng(3).normal(size=len(trial_ids)).astype(np.float32)
    rec = _recording(len(trial_ids), labels=[y], trial_ids=trial_ids)
    rf = ReceptiveField(2, 3)
    g = torch.Generator().manual_seed(0)
    for config in (SamplingConfig("time", (2,)), SamplingConfig("time_delta", (1,)),
                   SamplingConfig("time_delta", (1,), hybrid=True)):
        sampler = build_sampler(rec, rf, config)
        batch = sampler.sample(2000, 2000, g)
        for part in batch.values():
            windows = part[:, None] + torch.arange(-rf.left, rf.right)
            assert windows.min() >= 0 and windows.max() < rec.num_samples
            trials = torch.from_numpy(trial_ids)[windows]
            assert bool((trials == trials[:, :1]).all()), "a window mixes trials"
        time_pos = batch.get("positive_time", batch["positive"] if config.conditional == "time"
                             else None)
        if time_pos is not None:
            assert torch.equal(torch.from_numpy(trial_ids)[time_pos],
                               torch.from_numpy(trial_ids)[batch["reference"]])
    # the gather itself returns exactly those samples
    idx = torch.tensor([2, 10, 40])
    w = rec.windows(idx, rf)
    torch.testing.assert_close(w[1], rec.neural[8:13].T)


def test_invariance_balances_references_and_positive_groups():
    rng = np.random.default_rng(4)
    y = rng.uniform(size=2000).astype(np.float32)
    nuisance = np.repeat([0, 1, 2], [200, 600, 1200])
    rec = _recording(2000, labels=[y])
    sampler = build_sampler(rec, ReceptiveField(0, 1), SamplingConfig("time_delta"),
                            invariant=torch.from_numpy(nuisance))
    batch = sampler.sample(60_000, 60_000, torch.Generator().manual_seed(1))
    for part in ("reference", "positive", "negative"):
        freq = np.bincount(nuisance[batch[part].numpy()], minlength=3)
        assert chisquare(freq).pvalue > 1e-3, part
    # positives are independent of the reference's nuisance value
    same = (nuisance[batch["positive"].numpy()] == nuisance[batch["reference"].numpy()]).mean()
    assert same == pytest.approx(1 / 3, abs=0.01)


def test_groups_draw_is_uniform_within_group():
    groups = Groups(torch.tensor([0, 1, 1, 1, 0]), torch.arange(5), 2)
    draws = groups.draw(torch.ones(30000, dtype=torch.long), torch.Generator().manual_seed(0))
    assert chisquare(torch.bincount(draws, minlength=5)[[1, 2, 3]].numpy()).pvalue > 1e-3


def test_samplers_are_reproducible():
    y = np.random.default_rng(5).normal(size=(300, 2)).astype(np.float32)
    rec = _recording(300, labels=[y])
    sampler = build_sampler(rec, ReceptiveField(1, 1), SamplingConfig("time_delta"))
    a = sampler.sample(64, 64, torch.Generator().manual_seed(9))
    b = sampler.sample(64, 64, torch.Generator().manual_seed(9))
    assert all(torch.equal(a[k], b[k]) for k in a)
