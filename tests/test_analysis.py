"""Analysis toolkit against known truth: decoders, alignment, topology, attribution, plots."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from neurolatent import (
    CEBRA,
    KNNDecoder,
    L1LinearRegressor,
    align_embeddings,
    decode,
    ensemble_embeddings,
    jacobian_attribution,
    plotting,
    procrustes,
    topology,
)
from neurolatent.datasets import place_cells
from neurolatent.evaluation import goodness_of_fit_score, infonce_loss
from neurolatent.models import ReceptiveField


# ----------------------------------------------------------------------------- decoders
@pytest.fixture(scope="module")
def ring_data():
    """Embedding on a noisy ring; the angle is a known function of it."""
    rng = np.random.default_rng(0)
    angle = rng.uniform(0, 2 * np.pi, 1500)
    emb = np.c_[np.cos(angle), np.sin(angle), 0.3 * rng.normal(size=1500)]
    emb += 0.05 * rng.normal(size=emb.shape)
    return emb, angle


def test_knn_regression_and_classification_match_scikit_learn(ring_data):
    emb, angle = ring_data
    train, test = slice(0, 1000), slice(1000, None)
    ours = KNNDecoder(n_neighbors=5).fit(emb[train], angle[train])
    theirs = KNeighborsRegressor(5, metric="cosine").fit(emb[train], angle[train])
    np.testing.assert_allclose(ours.predict(emb[test]), theirs.predict(emb[test]))
    assert ours.score(emb[test], angle[test]) == pytest.approx(
        theirs.score(emb[test], angle[test]))
    sector = (angle // (np.pi / 2)).astype(int)  # four classes
    ours = KNNDecoder(n_neighbors=5).fit(emb[train], sector[train])
    theirs = KNeighborsClassifier(5, metric="cosine").fit(emb[train], sector[train])
    np.testing.assert_array_equal(ours.predict(emb[test]), theirs.predict(emb[test]))
    accuracy = np.mean(theirs.predict(emb[test]) == sector[test])
    assert ours.score(emb[test], sector[test]) == pytest.approx(accuracy)  # accuracy, not R²
    assert accuracy > 0.9


def test_l1_regressor_matches_lasso_and_classifies(ring_data):
    emb, _ = ring_data
    target = emb @ np.array([1.5, 0.0, -0.5]) + 2.0
    ours = L1LinearRegressor(alpha=0.01).fit(emb, target)
    theirs = Lasso(alpha=0.01, max_iter=10000).fit(emb, target)
    np.testing.assert_allclose(ours.predict(emb), theirs.predict(emb), rtol=1e-6)
    assert ours.score(emb, target) > 0.99
    side = (emb[:, 0] > 0).astype(int)
    classifier = L1LinearRegressor(alpha=0.01).fit(emb, side)
    assert classifier.score(emb, side) == pytest.approx(np.mean(classifier.predict(emb) == side))
    assert classifier.score(emb, side) > 0.95


def test_decode_chooses_k_on_validation_and_reports_label_figures(ring_data):
    emb, angle = ring_data
    position = np.c_[np.cos(angle), np.sin(angle)] * 50  # cm on a circular track
    out = decode(emb[:1000], position[:1000], emb[1200:], position[1200:],
                 valid=(emb[1000:1200], position[1000:1200]))
    assert out["n_neighbors"] == max(out["valid_scores"], key=out["valid_scores"].get)
    error = np.linalg.norm(
        KNNDecoder(out["n_neighbors"]).fit(emb[:1000], position[:1000]).predict(emb[1200:])
        - position[1200:], axis=1)
    assert out["median_absolute_error"] == pytest.approx(np.median(error))
    assert out["r2"] > 0.95
    sector = (angle // (np.pi / 2)).astype(int)
    out = decode(emb[:1000], sector[:1000], emb[1000:], sector[1000:])
    assert set(out) >= {"accuracy", "balanced_accuracy", "per_class_accuracy", "n_neighbors"}
    assert sorted(out["per_class_accuracy"]) == [0, 1, 2, 3]
    assert out["accuracy"] > 0.9


def test_linear_readouts_match_scikit_learn_and_measure_angles(ring_data):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from neurolatent.evaluation import angle_accuracy, decode_linear

    emb, angle = ring_data
    sector = (angle // (np.pi / 2)).astype(int)
    # rare class 3: the balanced readout trades overall accuracy for per-class accuracy
    keep = (sector != 3) | (np.arange(len(sector)) % 8 == 0)
    emb, angle, sector = emb[keep], angle[keep], sector[keep]
    train, valid, test = slice(0, 500), slice(500, 700), slice(700, None)
    out = decode_linear(emb[train], sector[train], emb[test], sector[test],
                        valid=(emb[valid], sector[valid]))
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=out["C"], max_iter=5000))
    reference.fit(emb[train], sector[train])
    assert out["accuracy"] == pytest.approx(reference.score(emb[test], sector[test]))
    assert out["C"] == max(out["valid_scores"], key=lambda c: (out["valid_scores"][c], -c))
    balanced = decode_linear(emb[train], sector[train], emb[test], sector[test],
                             valid=(emb[valid], sector[valid]), balanced=True)
    assert balanced["per_class_accuracy"][3] >= out["per_class_accuracy"][3]
    # angle readout: predicted (cos, sin) within π/8 (accuracy) and 3π/16 (δ-accuracy)
    result = angle_accuracy(emb[train], angle[train], emb[test], angle[test],
                            valid=(emb[valid], angle[valid]))
    assert 0.9 < result["accuracy"] <= result["delta_accuracy"] <= 1.0
    shuffled = angle_accuracy(emb[train], np.random.default_rng(0).permutation(angle[train]),
                              emb[test], angle[test])
    assert shuffled["accuracy"] < 0.3  # chance is 1/8 for a π/8 tolerance


def test_trial_folds_are_contiguous_blocks_with_the_usual_split_last():
    from neurolatent.evaluation import trial_folds

    for n in (57, 159, 180):
        block = trial_folds(np.repeat(np.arange(n), 2))[::2]
        assert np.all(np.diff(block) >= 0) and set(block) == set(range(10))
        # the last two blocks: validation int(0.8 n)..int(0.9 n) - 1, test the rest
        assert np.flatnonzero(block == 8)[0] == int(0.8 * n)
        assert np.flatnonzero(block == 9)[0] == int(0.9 * n)


def test_linear_readout_by_trial_rotates_the_fixed_split():
    from neurolatent.evaluation import decode_linear, decode_linear_by_trial

    rng = np.random.default_rng(1)
    # 57 trials of 3-9 bins, ids not sorted in time (the order of appearance counts)
    trial_ids = rng.permutation(57) * 3
    lengths = rng.integers(3, 10, size=57)
    trial = np.repeat(trial_ids, lengths)
    y = np.repeat(rng.integers(0, 4, size=57), lengths)
    emb = np.c_[np.cos(y * np.pi / 2), np.sin(y * np.pi / 2)] + 0.5 * rng.normal(size=(len(y), 2))
    out = decode_linear_by_trial(emb, y, trial)
    # every trial is tested exactly once, in contiguous blocks of the order of appearance
    tested = [t for fold in out["folds"] for t in fold["test_trials"]]
    assert tested == trial_ids.tolist()
    assert sum(f["n_test"] for f in out["folds"]) == len(y)
    # the last fold is the usual split: first int(0.8 n) trials train, next until int(0.9 n)
    # validation, the rest test
    appearance = {t: i for i, t in enumerate(trial_ids.tolist())}
    rank = np.array([appearance[t] for t in trial.tolist()])
    train, valid, test = rank < int(0.8 * 57), (rank >= int(0.8 * 57)) & (rank < int(0.9 * 57)), \
        rank >= int(0.9 * 57)
    fixed = decode_linear(emb[train], y[train], emb[test], y[test], valid=(emb[valid], y[valid]))
    assert out["folds"][-1]["accuracy"] == fixed["accuracy"]
    assert out["folds"][-1]["C"] == fixed["C"]
    # pooled accuracy: correct test bins over all bins
    correct = sum(f["accuracy"] * f["n_test"] for f in out["folds"])
    assert out["accuracy"] == pytest.approx(correct / len(y))
    assert 0.6 < out["accuracy"] < 0.98  # noisy classes (chance 0.25): informative, not perfect
    regression = decode_linear_by_trial(emb, np.cos(y * np.pi / 2).astype(float), trial,
                                        n_folds=5)
    assert len(regression["folds"]) == 5 and "r2" in regression and "accuracy" not in regression
    # one embedding per fold (encoders fitted without each fold's test trials): fold k is
    # decoded from its own array only
    per_fold = [emb if k != 3 else np.zeros_like(emb) for k in range(10)]
    split = decode_linear_by_trial(per_fold, y, trial)
    assert [f["accuracy"] for k, f in enumerate(split["folds"]) if k != 3] == \
        [f["accuracy"] for k, f in enumerate(out["folds"]) if k != 3]
    assert split["folds"][3]["accuracy"] < out["folds"][3]["accuracy"]
    with pytest.raises(ValueError, match=r"a list needs one array per fold \(10\); got 9"):
        decode_linear_by_trial(per_fold[:9], y, trial)
    with pytest.raises(ValueError, match=r"trial_ids must be a 1-D integer array"):
        decode_linear_by_trial(emb, y, trial.astype(float))
    with pytest.raises(ValueError, match=r"trial_ids must have one entry per sample"):
        decode_linear_by_trial(emb, y, trial[:-1])
    with pytest.raises(ValueError, match=r"n_folds must be an int from 3 .* \(57\); got 2"):
        decode_linear_by_trial(emb, y, trial, n_folds=2)


def test_decoder_input_errors(ring_data):
    emb, angle = ring_data
    with pytest.raises(ValueError, match="n_neighbors"):
        KNNDecoder(n_neighbors=0).fit(emb, angle)
    with pytest.raises(ValueError, match="alpha"):
        L1LinearRegressor(alpha=-1).fit(emb, angle)
    with pytest.raises(ValueError, match="not fitted"):
        KNNDecoder().predict(emb)
    with pytest.raises(ValueError, match=r"y must have shape \(1500,\)"):
        KNNDecoder().fit(emb, angle[:10])
    with pytest.raises(TypeError, match="dtype"):
        KNNDecoder().fit(emb, np.array(["a"] * 1500))
    with pytest.raises(TypeError, match="both be integer"):
        decode(emb[:100], angle[:100], emb[100:200], np.zeros(100, dtype=int))
    with pytest.raises(ValueError, match="dimensions"):
        decode(emb[:100], angle[:100], emb[100:200, :2], angle[100:200])
    with pytest.raises(TypeError, match="valid must be a pair"):
        decode(emb[:100], angle[:100], emb[100:200], angle[100:200], valid=emb)


# ------------------------------------------------------------------- alignment, ensembles
def test_procrustes_recovers_a_known_rotation():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(2000, 5))
    rotation = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    fitted, shift = procrustes(z, z @ rotation)
    np.testing.assert_allclose(fitted, rotation, atol=1e-5)
    np.testing.assert_allclose(shift, 0.0)
    # centred: a rotation plus a translation, fitted on a bounded subsample
    fitted, shift = procrustes(z, z @ rotation + 3.0, center=True, max_points=500)
    np.testing.assert_allclose(fitted, rotation, atol=1e-5)
    np.testing.assert_allclose(z @ fitted + shift, z @ rotation + 3.0, atol=1e-5)


def test_align_by_labels_and_ensemble_of_noisy_runs():
    rng = np.random.default_rng(4)
    labels = [rng.uniform(0, 1, n) for n in (900, 1300)]
    ring = [np.c_[np.cos(2 * np.pi * y), np.sin(2 * np.pi * y), np.zeros_like(y)]
            for y in labels]
    rotation = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    aligned = align_embeddings([ring[0], ring[1] @ rotation], labels=labels,
                               num_discretization_bins=40)
    np.testing.assert_allclose(aligned[1], ring[1], atol=0.02)
    # ensembles: noisy rotated copies average closer to the truth than any one run
    truth = rng.normal(size=(500, 3))
    truth /= np.linalg.norm(truth, axis=1, keepdims=True)
    runs = []
    for _ in range(5):
        noisy = truth + 0.1 * rng.normal(size=truth.shape)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        runs.append(noisy @ np.linalg.qr(rng.normal(size=(3, 3)))[0])
    ensemble = ensemble_embeddings(runs, reference=0)
    back = align_embeddings([truth, ensemble])[1]
    one_run = align_embeddings([truth, runs[0]])[1]
    assert np.allclose(np.linalg.norm(ensemble, axis=1), 1.0)
    assert np.mean((back - truth) ** 2) < 0.5 * np.mean((one_run - truth) ** 2)
    with pytest.raises(ValueError, match="through labels"):
        align_embeddings([truth, truth[:100]])
    with pytest.raises(ValueError, match="reference"):
        align_embeddings([truth, truth], reference=2)
    with pytest.raises(TypeError, match="list of 2-D arrays"):
        ensemble_embeddings(truth)


# ------------------------------------------------------------------------------ topology
def _shapes(n: int = 1000, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0, 2 * np.pi, n)
    sphere = rng.normal(size=(n, 3))
    u, v = rng.uniform(0, 2 * np.pi, (2, n))
    return {
        "circle": np.c_[np.cos(theta), np.sin(theta), np.zeros(n)]
        + 0.03 * rng.normal(size=(n, 3)),
        "sphere": sphere / np.linalg.norm(sphere, axis=1, keepdims=True),
        "torus": np.c_[np.cos(u), np.sin(u), np.cos(v), np.sin(v)],  # flat (Clifford) torus
    }


@pytest.mark.parametrize(("shape", "betti"), [("circle", (1, 1, 0)), ("sphere", (1, 0, 1)),
                                              ("torus", (1, 2, 1))])
def test_betti_numbers_of_known_shapes(shape, betti):
    diagrams = topology.persistence(_shapes()[shape], maxdim=2, n_points=600, n_perm=200)
    # unit-radius shapes: true classes live ≥ 0.8, sampling noise ≤ 0.5 (measured margins)
    assert topology.betti_numbers(diagrams, thresholds=(0.8, 0.6, 0.6)) == betti


def test_persistence_is_seeded_and_validates():
    circle = _shapes(seed=1)["circle"]
    a = topology.persistence(circle, maxdim=1, n_points=200, random_state=5)
    b = topology.persistence(circle, maxdim=1, n_points=200, random_state=5)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="2-D"):
        topology.persistence(np.zeros(10))
    with pytest.raises(ValueError, match="NaN"):
        topology.persistence(np.full((10, 2), np.nan))
    with pytest.raises(ValueError, match="thresholds"):
        topology.betti_numbers(a, thresholds=[0.1, 0.2, 0.3])


def test_circular_coordinates_follow_the_true_angle():
    rng = np.random.default_rng(2)
    angle = rng.uniform(0, 2 * np.pi, 1500)
    points = np.c_[np.cos(angle), np.sin(angle)] * [2.0, 1.0] + 0.1 * rng.normal(size=(1500, 2))
    theta = topology.circular_coordinates(points, n_landmarks=150)
    assert theta.shape == (1500,) and theta.min() >= 0 and theta.max() < 2 * np.pi
    assert abs(topology.circular_correlation(theta, angle)) > 0.95
    unrelated = rng.uniform(0, 2 * np.pi, 1500)
    assert abs(topology.circular_correlation(unrelated, angle)) < 0.1


def test_shuffle_null_fits_shuffled_models_in_parallel():
    data = place_cells(1200, 30, seed=0)
    model = CEBRA("offset1-model", batch_size=64, max_iterations=20, output_dimension=3,
                  device="cpu")
    spans = topology.shuffle_null(model, data.neural, data.labels[:, 0], n_shuffles=2,
                                  maxdim=1, n_points=150, n_jobs=2, return_all=True)
    assert spans.shape == (2, 2) and np.all(spans > 0)
    again = topology.shuffle_null(model, data.neural, data.labels[:, 0], n_shuffles=2,
                                  maxdim=1, n_points=150, n_jobs=1)
    np.testing.assert_allclose(again, spans.max(axis=0))  # same seeds, serial or parallel



def _threads_and_value(value):
    return torch.get_num_threads(), value


def test_run_calls_keeps_order_and_shares_the_threads():
    import os
    from functools import partial

    from neurolatent._parallel import run_calls

    calls = [partial(_threads_and_value, k) for k in range(3)]
    parallel = run_calls(calls, n_jobs=2)
    assert [value for _, value in parallel] == [0, 1, 2]
    # each of the two workers gets its half of the cores, never more
    assert {threads for threads, _ in parallel} == {max(1, (os.cpu_count() or 1) // 2)}
    # one job: in this process, with its threads untouched
    assert run_calls(calls, n_jobs=1) == [(torch.get_num_threads(), k) for k in range(3)]
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="n_jobs must be a non-zero int"):
            run_calls(calls, n_jobs=bad)

# --------------------------------------------------------------------------- attribution
class _LinearEncoder(torch.nn.Module):
    receptive_field = ReceptiveField(0, 1)

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.linear = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=True)
        with torch.no_grad():
            self.linear.weight.copy_(weight)

    def embed_windows(self, windows: torch.Tensor) -> torch.Tensor:
        return self.linear(windows[..., 0])


def test_attribution_of_a_linear_encoder_is_its_weight_matrix():
    weight = torch.randn(3, 7, generator=torch.Generator().manual_seed(0))
    X = np.random.default_rng(0).normal(size=(300, 7))
    encoder = _LinearEncoder(weight)
    np.testing.assert_allclose(jacobian_attribution(encoder, X), weight.numpy(), atol=1e-6)
    np.testing.assert_allclose(jacobian_attribution(encoder, X, method="inverse"),
                               np.linalg.pinv(weight.numpy()).T, atol=1e-5)
    np.testing.assert_allclose(jacobian_attribution(encoder, X, absolute=True),
                               np.abs(weight.numpy()), atol=1e-6)


def test_attribution_of_a_fitted_model_matches_finite_differences():
    X = np.random.default_rng(1).normal(size=(200, 5)).astype(np.float32)
    model = CEBRA("offset5-model", batch_size=32, max_iterations=5, output_dimension=3,
                  device="cpu", random_state=0).fit(X)
    attribution = jacobian_attribution(model, X, n_samples=None, batch_size=64)
    # finite differences of the mean embedding when one neuron is raised at every sample
    encoder, rf = model.model_, model.model_.receptive_field
    idx = torch.arange(rf.left, 200 - rf.right + 1)
    base = torch.from_numpy(X).double()
    encoder = encoder.double()
    expected = np.zeros((3, 5))
    for neuron in range(5):
        for sign in (1, -1):
            shifted = base.clone()
            shifted[:, neuron] += sign * 1e-4
            windows = (idx[:, None] + torch.arange(-rf.left, rf.right)).reshape(-1)
            windows = shifted[windows].view(len(idx), rf.size, 5).transpose(1, 2)
            with torch.no_grad():
                expected[:, neuron] += sign * encoder.embed_windows(windows).mean(0).numpy()
    np.testing.assert_allclose(attribution, expected / 2e-4, atol=1e-3)
    with pytest.raises(ValueError, match="method"):
        jacobian_attribution(model, X, method="saliency")


# ------------------------------------------------------------------ goodness of fit (more)
def test_goodness_of_fit_of_each_session_of_a_multisession_model():
    data = [place_cells(1500, n, seed=s) for s, n in ((0, 30), (1, 40))]
    rng = np.random.default_rng(0)
    for shuffle in (False, True):
        labels = [rng.permutation(d.labels[:, 0]) if shuffle else d.labels[:, 0] for d in data]
        model = CEBRA("offset10-model", batch_size=256, max_iterations=400, time_offsets=5,
                      output_dimension=3, learning_rate=3e-3, device="cpu", random_state=0)
        model.fit([d.neural for d in data], labels)
        for session, (d, label) in enumerate(zip(data, labels, strict=True)):
            score = goodness_of_fit_score(model, d.neural, label, session_id=session,
                                          num_batches=10)
            if shuffle:
                assert abs(score) < 0.1  # measured 0.05
            else:
                assert score > 0.5  # measured 1.10 and 1.11
    with pytest.raises(ValueError, match="session_id"):
        infonce_loss(model, data[0].neural, data[0].labels[:, 0])


# ---------------------------------------------------------------------------------- plots
def test_every_plot_renders_to_a_png(tmp_path):
    import matplotlib.pyplot as plt

    from neurolatent.metrics import consistency_score

    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 3))
    history = {"loss": np.linspace(6, 5, 50), "temperature": np.ones(50)}
    fig, axes = plt.subplots(2, 3, figsize=(9, 6))
    drawn = [
        plotting.plot_embedding(z, np.arange(200), ax=axes[0, 0], idx_order=(2, 0)),
        plotting.plot_loss(history, ax=axes[0, 1]),
        plotting.plot_temperature(history, ax=axes[0, 2]),
        plotting.plot_consistency(*consistency_score([z, 2 * z, z**2], "runs"), ax=axes[1, 0]),
        plotting.compare_models([history, {"loss": np.linspace(6, 4, 50)}], ["a", "b"],
                                ax=axes[1, 1]),
    ]
    assert drawn == [axes[0, 0], axes[0, 1], axes[0, 2], axes[1, 0], axes[1, 1]]
    path = tmp_path / "plots.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    three_d = plotting.plot_embedding(z)  # new 3-D figure coloured by time
    three_d.figure.savefig(tmp_path / "embedding.png")
    assert (tmp_path / "embedding.png").stat().st_size > 5_000
    html = tmp_path / "embedding.html"
    plotting.plot_embedding_interactive(z, color=z[:, 0]).write_html(html)
    assert "plotly" in html.read_text()[:5000].lower()
    with pytest.raises(ValueError, match="idx_order"):
        plotting.plot_embedding(z, idx_order=(0, 5))
    with pytest.raises(ValueError, match="color"):
        plotting.plot_embedding(z, color=np.arange(3))
    plt.close("all")
