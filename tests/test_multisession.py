"""Multi-session training across synthetic animals, and adaptation to a new animal."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsRegressor

from neurolatent import CEBRA
from neurolatent.datasets import place_cells
from neurolatent.evaluation import consistency_score
from neurolatent.models import ReceptiveField
from neurolatent.recording import Recording
from neurolatent.sampling import SamplingConfig, brute_force_nearest, build_sampler

PARAMS = {"model_architecture": "offset10-model", "batch_size": 256, "output_dimension": 3,
          "learning_rate": 3e-3, "time_offsets": 5, "device": "cpu", "random_state": 0}


@pytest.fixture(scope="module")
def animals():
    """One latent generator (a rat on a linear track); three animals with their own
    trajectories, random numbers of neurons (30-150) and random tuning."""
    rng = np.random.default_rng(42)
    return [place_cells(num_samples=int(rng.integers(1800, 2600)),
                        num_neurons=int(rng.integers(30, 151)), seed=seed)
            for seed in range(3)]


@pytest.fixture(scope="module")
def multisession_model(animals):
    model = CEBRA(**PARAMS, max_iterations=700)
    return model.fit([a.neural for a in animals], [a.labels for a in animals])


def _embeddings(model, animals, multi=True):
    return [model.transform(a.neural, session_id=i if multi else None)
            for i, a in enumerate(animals)]


def test_multisession_is_consistent_across_animals(animals, multisession_model):
    positions = [a.labels[:, 0] for a in animals]
    multi, _, _ = consistency_score(_embeddings(multisession_model, animals), "datasets",
                                    labels=positions)
    singles = [CEBRA(**PARAMS, max_iterations=700).fit(a.neural, a.labels) for a in animals]
    single, pairs, _ = consistency_score(
        [m.transform(a.neural) for m, a in zip(singles, animals, strict=True)], "datasets",
        labels=positions)
    assert len(pairs) == 6
    assert multi.mean() >= 0.9
    assert multi.mean() > single.mean()


def test_decoder_transfers_between_animals(animals, multisession_model):
    z = _embeddings(multisession_model, animals)
    decoder = KNeighborsRegressor(24).fit(z[0], animals[0].labels[:, 0])
    for other in (1, 2):
        assert decoder.score(z[other], animals[other].labels[:, 0]) >= 0.8


def test_adapt_to_new_animal_beats_fresh_model(animals):
    pretrained = CEBRA(**PARAMS, max_iterations=600, max_adapt_iterations=100)
    pretrained.fit([a.neural for a in animals[:2]], [a.labels for a in animals[:2]])
    new = animals[2]
    half = len(new.labels) // 2
    errors = {}
    for name, model in (("adapted", pretrained), ("fresh", CEBRA(**PARAMS, max_iterations=100))):
        model.fit(new.neural[:half], new.labels[:half], adapt=name == "adapted")
        z_train, z_test = model.transform(new.neural[:half]), model.transform(new.neural[half:])
        prediction = KNeighborsRegressor(24).fit(z_train, new.labels[:half, 0]).predict(z_test)
        errors[name] = np.median(np.abs(prediction - new.labels[half:, 0]))
    assert errors["adapted"] < errors["fresh"], errors
    assert pretrained.num_sessions_ == 1 and pretrained.n_features_in_ == new.neural.shape[1]


def test_adapt_single_session_model_freezes_trunk():
    a, b = place_cells(600, 20, seed=1), place_cells(600, 35, seed=2)
    model = CEBRA(**{**PARAMS, "max_iterations": 5, "max_adapt_iterations": 7})
    model.fit(a.neural, a.labels)
    trunk = {k: v.clone() for k, v in model.model_.trunk.state_dict().items()}
    model.fit(b.neural, b.labels, adapt=True)
    assert len(model.history_["loss"]) == 7
    for k, v in model.model_.trunk.state_dict().items():
        assert torch.equal(v, trunk[k]), k
    assert model.transform(b.neural).shape == (600, 3)
    with pytest.raises(ValueError, match="columns"):
        model.fit(b.neural, b.labels[:, :2], adapt=True)


@pytest.mark.parametrize("kind", ["continuous", "discrete", "mixed", "time"])
def test_every_label_kind_fits_and_transforms(kind):
    sessions = [place_cells(500, n, seed=s) for s, n in enumerate((12, 20, 16))]
    if kind == "time":
        sessions = [place_cells(500, n, seed=0) for n in (12, 20, 16)]  # aligned in time
    labels = {
        "continuous": [[s.labels[:, 0] for s in sessions]],
        "discrete": [[s.labels[:, 1].astype(np.int64) for s in sessions]],
        "mixed": [[s.labels[:, 0] for s in sessions],
                  [s.labels[:, 1].astype(np.int64) for s in sessions]],
        "time": [],
    }[kind]
    model = CEBRA(**{**PARAMS, "batch_size": 32, "max_iterations": 10})
    model.fit([s.neural for s in sessions], *labels)
    assert model.num_sessions_ == 3
    for i, s in enumerate(sessions):
        assert model.transform(s.neural, session_id=i).shape == (500, 3)
    with pytest.raises(ValueError, match="session_id"):
        model.transform(sessions[0].neural)
    with pytest.raises(ValueError, match="neurons"):
        model.transform(sessions[0].neural, session_id=1)


def test_hybrid_multisession_and_trials():
    sessions = [place_cells(400, n, seed=s) for s, n in enumerate((10, 14))]
    trials = [np.repeat(np.arange(4), 100)] * 2
    model = CEBRA(**{**PARAMS, "batch_size": 32, "max_iterations": 10}, hybrid=True)
    model.fit([s.neural for s in sessions], [s.labels for s in sessions], trial_ids=trials)
    assert np.isfinite(model.history_["loss"]).all()


def test_sampler_equal_counts_and_positives_from_drawn_session():
    rng = np.random.default_rng(0)
    lengths = [300, 1000, 120]
    labels = np.concatenate([rng.uniform(size=n) for n in lengths]).astype(np.float32)
    rec = Recording.from_arrays(np.zeros((sum(lengths), 1)), [labels],
                                trial_ids=np.repeat(np.arange(3), lengths))
    session = torch.from_numpy(np.repeat(np.arange(3), lengths))
    sampler = build_sampler(rec, ReceptiveField(0, 1), SamplingConfig("time_delta"),
                            invariant=session, strata=session)
    batch = sampler.sample(2000, 100, torch.Generator().manual_seed(0))
    ref_sessions = session[batch["reference"]]
    assert torch.equal(ref_sessions, torch.arange(3).repeat_interleave(2000))
    assert torch.equal(torch.bincount(session[batch["negative"]]), torch.tensor([100] * 3))
    pos_sessions = session[batch["positive"]]
    counts = torch.bincount(pos_sessions, minlength=3).float() / len(pos_sessions)
    assert torch.allclose(counts, torch.full((3,), 1 / 3), atol=0.02)  # uniform sessions
    # each positive is the label-nearest sample *within* its session
    for s in range(3):
        members = torch.nonzero(session == s).reshape(-1)
        mine = batch["positive"][pos_sessions == s]
        assert bool(torch.isin(mine, members).all())
    # reproducible
    again = sampler.sample(2000, 100, torch.Generator().manual_seed(0))
    assert all(torch.equal(batch[k], again[k]) for k in batch)


def test_multisession_errors():
    a, b = place_cells(300, 10, seed=0), place_cells(400, 12, seed=1)
    model = CEBRA(**{**PARAMS, "batch_size": 32, "max_iterations": 2})
    with pytest.raises(ValueError, match="equal length"):
        model.fit([a.neural, b.neural])
    with pytest.raises(ValueError, match="same number of columns"):
        model.fit([a.neural, b.neural], [a.labels, b.labels[:, :2]])
    with pytest.raises(ValueError, match=r"y\[0\].*2 arrays"):
        model.fit([a.neural, b.neural], a.labels)
    with pytest.raises(ValueError, match="same kind"):
        model.fit([a.neural, b.neural], [a.labels, b.labels[:, 1].astype(int)])


def test_multisession_reproducible_and_round_trip(tmp_path):
    sessions = [place_cells(400, n, seed=s) for s, n in enumerate((10, 14))]
    fit = [CEBRA(**{**PARAMS, "batch_size": 32, "max_iterations": 8}).fit(
        [s.neural for s in sessions], [s.labels for s in sessions]) for _ in range(2)]
    z = [[m.transform(s.neural, session_id=i) for i, s in enumerate(sessions)] for m in fit]
    assert all(np.array_equal(x, y) for x, y in zip(*z, strict=True))
    fit[0].save(tmp_path / "multi.safetensors")
    loaded = CEBRA.load(tmp_path / "multi.safetensors")
    assert np.array_equal(loaded.transform(sessions[1].neural, session_id=1), z[0][1])


def test_invariance_per_session():
    rng = np.random.default_rng(1)
    lengths = [600, 300]
    labels = np.concatenate([rng.uniform(size=n) for n in lengths]).astype(np.float32)
    session = torch.from_numpy(np.repeat([0, 1], lengths))
    nuisance = np.concatenate([np.repeat([0, 1], [500, 100]), np.repeat([0, 1, 2], 100)])
    pair = session * 3 + torch.from_numpy(nuisance)
    rec = Recording.from_arrays(np.zeros((900, 1)), [labels],
                                trial_ids=session.numpy())
    sampler = build_sampler(rec, ReceptiveField(0, 1), SamplingConfig("time_delta"),
                            invariant=pair, strata=session)
    batch = sampler.sample(30_000, 10, torch.Generator().manual_seed(0))
    ref = batch["reference"]
    assert torch.equal(session[ref], torch.tensor([0, 1]).repeat_interleave(30_000))
    # within a session, references are balanced over the nuisance values present there
    freq0 = np.bincount(nuisance[ref[:30_000].numpy()], minlength=2) / 30_000
    freq1 = np.bincount(nuisance[ref[30_000:].numpy()], minlength=3) / 30_000
    np.testing.assert_allclose(freq0, [0.5, 0.5], atol=0.01)
    np.testing.assert_allclose(freq1, [1 / 3] * 3, atol=0.01)
    # positives are uniform over the five (session, value) pairs
    pos_pairs = np.bincount(pair[batch["positive"]].numpy(), minlength=6)[[0, 1, 3, 4, 5]]
    np.testing.assert_allclose(pos_pairs / pos_pairs.sum(), [0.2] * 5, atol=0.01)
    # and the estimator accepts per-session nuisance arrays
    sessions = [place_cells(400, n, seed=s) for s, n in enumerate((10, 14))]
    model = CEBRA(**{**PARAMS, "batch_size": 32, "max_iterations": 5})
    model.fit([s.neural for s in sessions], [s.labels for s in sessions],
              invariant_to=[np.arange(400) // 200, np.arange(400) // 100])
    assert model.transform(sessions[1].neural, session_id=1).shape == (400, 3)


def test_positive_is_label_nearest_in_the_drawn_session():
    rng = np.random.default_rng(3)
    lengths = [200, 500, 350]
    labels = np.concatenate([rng.uniform(size=(n, 2)) for n in lengths]).astype(np.float32)
    session = torch.from_numpy(np.repeat(np.arange(3), lengths))
    rec = Recording.from_arrays(np.zeros((sum(lengths), 1)), [labels],
                                trial_ids=session.numpy())
    sampler = build_sampler(rec, ReceptiveField(0, 1), SamplingConfig("time_delta"),
                            invariant=session, strata=session)
    positive = sampler.conditionals["positive"]
    reference = sampler.reference_prior.sample(300, torch.Generator().manual_seed(1))
    # replay the conditional's draws: first the query, then the session to search in
    g = torch.Generator().manual_seed(2)
    queries = positive.queries(reference, g)
    drawn = positive.search_group(reference, g)
    got = positive.sample(reference, torch.Generator().manual_seed(2))
    valid = torch.nonzero(rec.valid_mask(ReceptiveField(0, 1))).reshape(-1)
    want = brute_force_nearest(rec.continuous, valid, queries, session[valid], drawn)
    assert torch.equal(got, want)
    assert torch.equal(session[got], drawn)
    assert len(set(drawn.tolist())) == 3


def test_gather_buffers_keep_their_storage_when_session_counts_vary():
    # positives come from any session, so a session's window count changes from step to
    # step: counts are padded to a multiple of 32 windows (repeats of the last one) and the
    # buffers hold a prefix, reallocated only when outgrown (a fresh size every step
    # fragmented the heap)
    from neurolatent.training.batch import Batch

    g = torch.Generator().manual_seed(0)
    sessions = [Recording.from_arrays(torch.randn(200, 3, generator=g)),
                Recording.from_arrays(torch.randn(150, 5, generator=g))]
    starts, rfs = torch.tensor([0, 200, 350]), [ReceptiveField(1, 2)] * 2
    buffers: dict = {}

    def gather(first_session_rows):
        # `first_session_rows` windows of session 0, the rest (of 80) of session 1
        index = torch.cat([torch.arange(1, 1 + first_session_rows),
                           200 + torch.arange(1, 81 - first_session_rows)])
        batch = Batch({"rows": index}, sessions, starts, rfs, None, g, buffers=buffers)
        groups = batch._windows(("rows",))
        for s, where, windows in groups:
            local = index[torch.bucketize(index, starts, right=True) - 1 == s] - starts[s]
            n = local.shape[0]
            assert windows.shape[0] == -(-n // 32) * 32 and where.shape[0] == n
            torch.testing.assert_close(windows[:n], sessions[s].windows(local, rfs[s]))
            torch.testing.assert_close(windows[n:], windows[n - 1 : n].expand_as(windows[n:]))
        return [w.data_ptr() for _, _, w in groups]

    first = gather(30)          # session 0: 30 -> 32 windows, session 1: 50 -> 64
    assert gather(20) == first  # fewer in session 0, more in session 1: same storage
    assert gather(32) == first
    assert gather(33)[0] != first[0]  # session 0 now needs 64 > 32: reallocated larger


@pytest.mark.parametrize("augmentations", [None, "dropout"])
def test_window_padding_changes_no_result(monkeypatch, augmentations):
    # the padded windows' embeddings are dropped and augmentations draw for the real
    # windows only: the fit equals the unpadded one up to float summation order in the
    # weight gradients
    import neurolatent.training.batch as batch_module
    from neurolatent.augment import RandomizedNeuronDropout

    rng = np.random.default_rng(0)
    X = [rng.normal(size=(300 + 37 * i, 6 + i)).astype(np.float32) for i in range(3)]
    y = [np.cumsum(rng.normal(size=(x.shape[0], 1)), 0).astype(np.float32) for x in X]
    params = {**PARAMS, "batch_size": 50, "max_iterations": 30,
              "augmentations": None if augmentations is None else [RandomizedNeuronDropout()]}
    padded = CEBRA(**params).fit(X, y)
    monkeypatch.setattr(batch_module, "_WINDOW_QUANTUM", 1)
    exact = CEBRA(**params).fit(X, y)
    np.testing.assert_allclose(padded.history_["loss"], exact.history_["loss"], rtol=1e-5)
    for i, x in enumerate(X):
        np.testing.assert_allclose(padded.transform(x, session_id=i),
                                   exact.transform(x, session_id=i), rtol=1e-4, atol=1e-5)
