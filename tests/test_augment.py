"""Neural augmentations: mask statistics, determinism, shared views, and use inside CEBRA."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurolatent import CEBRA
from neurolatent.augment import (
    Compose,
    GaussianNoise,
    NeuronDropout,
    Pepper,
    RandomizedNeuronDropout,
    from_spec,
    silence_of,
    to_spec,
    two_views,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_randomized_dropout_statistics_and_window_constant_masks():
    windows = torch.rand(10_000, 40, 5) + 0.5  # strictly positive: zeros are dropped neurons
    out = RandomizedNeuronDropout(p_max=0.6, apply_p=1.0)(windows, _gen())
    dropped = out == 0
    # each neuron's mask is held over the whole window
    assert torch.equal(dropped.all(-1), dropped.any(-1))
    # r ~ U(0, p_max) per sample: the mean dropped fraction is p_max / 2
    assert float(dropped.float().mean()) == pytest.approx(0.3, abs=0.02)
    torch.testing.assert_close(out[~dropped], windows[~dropped])
    assert torch.equal(RandomizedNeuronDropout(p_max=0.0)(windows, _gen()), windows)
    # apply_p: about half the samples are untouched, the rest drop p_max / 2 on average
    half = RandomizedNeuronDropout(p_max=0.6, apply_p=0.5)(windows, _gen())
    untouched = (half == windows).all(-1).all(-1).float().mean()
    assert float(untouched) == pytest.approx(0.5, abs=0.03)
    assert torch.equal(RandomizedNeuronDropout(0.6, apply_p=0.0)(windows, _gen()), windows)


def test_same_seed_same_masks_and_shared_views():
    windows = torch.ones(500, 30, 3)
    augmentation = RandomizedNeuronDropout(p_max=0.5)
    assert torch.equal(augmentation(windows, _gen(3)), augmentation(windows, _gen(3)))
    assert not torch.equal(augmentation(windows, _gen(3)), augmentation(windows, _gen(4)))
    a, b = two_views(windows, windows, augmentation, _gen(1), shared=True)
    assert torch.equal(a, b)
    c, d = two_views(windows, windows, augmentation, _gen(1), shared=False)
    assert not torch.equal(c, d)
    # a shared draw consumes the generator once, exactly like a single augmentation
    g1, g2 = _gen(5), _gen(5)
    two_views(windows, windows, augmentation, g1, shared=True)
    augmentation(windows, g2)
    assert torch.equal(torch.rand(3, generator=g1), torch.rand(3, generator=g2))


def test_other_augmentations_and_errors():
    zeros = torch.zeros(4000, 20, 4)
    dropped = NeuronDropout(0.25)(zeros + 1, _gen())
    assert float((dropped == 0).float().mean()) == pytest.approx(0.25, abs=0.01)
    noisy = GaussianNoise(0.3)(zeros, _gen())
    assert float(noisy.std()) == pytest.approx(0.3, abs=0.01)
    pepper = Pepper(p=0.1, c=3.0)(zeros, _gen())
    assert set(pepper.unique().tolist()) == {0.0, 3.0}
    assert torch.equal(pepper.amax(-1), pepper.amin(-1))  # held over the window
    both = Compose([NeuronDropout(0.5), Pepper(1.0, 1.0)])(zeros + 1, _gen())
    assert set(both.unique().tolist()) == {1.0, 2.0}
    with pytest.raises(ValueError, match="p_max must be a probability"):
        RandomizedNeuronDropout(p_max=1.5)
    with pytest.raises(ValueError, match="sigma"):
        GaussianNoise(-1)
    with pytest.raises(ValueError, match=r"windows must be a tensor \(batch, neurons, window\)"):
        NeuronDropout(0.1)(torch.zeros(5, 3), _gen())
    with pytest.raises(TypeError, match="callables"):
        Compose([0.5])


def test_dropout_silence_equals_dropping_raw_counts_before_z_scoring():
    rng = np.random.default_rng(0)
    raw = torch.as_tensor(rng.poisson(3.0, size=(2000, 6, 4)).astype(np.float32) + 1)
    mean, std = raw.mean((0, 2)), raw.std((0, 2))
    z = (raw - mean[:, None]) / std[:, None]
    silence = silence_of(mean, std)
    for make in (lambda s: RandomizedNeuronDropout(0.8, 0.9, silence=s),
                 lambda s: NeuronDropout(0.4, silence=s)):
        # the same generator draws the same masks whatever the silence value
        dropped_raw = make(0.0)(raw, _gen(2))
        dropped_z = make(silence)(z, _gen(2))
        torch.testing.assert_close(dropped_z, (dropped_raw - mean[:, None]) / std[:, None])
        assert bool((dropped_raw == 0).any())  # something was dropped
    # a single number is one silence for every neuron
    out = NeuronDropout(1.0, silence=-3.5)(z, _gen())
    assert set(out.unique().tolist()) == {-3.5}
    # JSON round trip (checkpoints): a per-neuron silence is a list of floats
    spec = to_spec([RandomizedNeuronDropout(0.8, silence=np.array(silence))])
    assert spec[0][1]["silence"] == pytest.approx(silence)
    assert from_spec(spec)[0].silence == pytest.approx(silence)


def test_dropout_silence_errors_name_the_argument():
    for bad in (float("nan"), [], [1.0, "a"], True, "zero"):
        with pytest.raises(ValueError, match="silence must be a finite number"):
            NeuronDropout(0.1, silence=bad)
    with pytest.raises(ValueError, match="silence has 2 values, one per neuron, but the "
                                         "windows have 3 neurons"):
        RandomizedNeuronDropout(0.5, silence=[0.0, 1.0])(torch.ones(4, 3, 2), _gen())
    with pytest.raises(ValueError, match="std > 0"):
        silence_of([1.0, 2.0], [1.0, 0.0])


def test_noise_and_pepper_in_the_recordings_units_equal_raw_noise_then_z_scoring():
    # noise of sigma Hz and pepper of c Hz on raw rates, then z-scoring, equals per-neuron
    # sigma / std and c / std on the z-scored rates (the same draws from the same seed)
    rng = np.random.default_rng(1)
    raw = torch.as_tensor(rng.poisson(3.0, size=(3000, 5, 2)).astype(np.float32))
    mean, std = raw.mean((0, 2)), raw.std((0, 2))
    z = (raw - mean[:, None]) / std[:, None]
    for make in (lambda v: GaussianNoise(v, apply_p=0.5),
                 lambda v: Pepper(p=0.3, c=v, apply_p=0.5)):
        on_raw = make(1.5)(raw, _gen(4))
        on_z = make((1.5 / std).tolist())(z, _gen(4))
        torch.testing.assert_close(on_z, (on_raw - mean[:, None]) / std[:, None])
    # the per-neuron noise has each neuron's own spread
    out = GaussianNoise([0.1, 1.0, 3.0])(torch.zeros(20_000, 3, 1), _gen())
    assert out.std((0, 2)).tolist() == pytest.approx([0.1, 1.0, 3.0], rel=0.03)
    # JSON round trip (checkpoints)
    spec = to_spec([GaussianNoise(np.array([0.5, 2.0])), Pepper(0.1, c=[1.0, 4.0])])
    assert [a.sigma if i == 0 else a.c for i, a in enumerate(from_spec(spec))] == [
        [0.5, 2.0], [1.0, 4.0]]


def test_per_neuron_noise_and_pepper_errors_name_the_argument():
    for bad in ([0.1, -0.2], -1, [], float("inf"), "1.5 Hz"):
        with pytest.raises(ValueError, match=r"sigma must be a finite number >= 0 or a "
                                             r"non-empty 1-D sequence"):
            GaussianNoise(bad)
    with pytest.raises(ValueError, match="c must be a finite number or a non-empty"):
        Pepper(0.1, c=[1.0, None])
    with pytest.raises(ValueError, match="sigma has 2 values, one per neuron, but the "
                                         "windows have 3 neurons"):
        GaussianNoise([0.1, 0.2])(torch.ones(4, 3, 2), _gen())
    with pytest.raises(ValueError, match="c has 2 values, one per neuron, but the "
                                         "windows have 3 neurons"):
        Pepper(0.5, c=[0.1, 0.2])(torch.ones(4, 3, 2), _gen())


@pytest.mark.parametrize("augmentation", [GaussianNoise(0.3, apply_p=0.4),
                                          Pepper(p=0.5, c=2.0, apply_p=0.4)])
def test_noise_and_pepper_apply_to_a_fraction_of_the_samples(augmentation):
    zeros = torch.zeros(10_000, 20, 3)
    out = augmentation(zeros, _gen())
    touched = (out != 0).flatten(1).any(1)
    # each sample is transformed with probability apply_p (±2 % over 10^4 samples); the
    # samples left out are exactly unchanged
    assert float(touched.float().mean()) == pytest.approx(0.4, abs=0.02)
    assert torch.equal(out[~touched], zeros[~touched])
    # apply_p = 1 draws nothing extra: same output and generator state as before it existed
    full = type(augmentation)(**{**vars(augmentation), "apply_p": 1.0})
    g1, g2 = _gen(3), _gen(3)
    first = full(zeros[:50], g1)
    if isinstance(full, GaussianNoise):
        second = 0.3 * torch.randn(zeros[:50].shape, generator=g2)
    else:
        second = 2.0 * (torch.rand((50, 20), generator=g2) < 0.5).unsqueeze(-1).float()
    assert torch.equal(first, second + zeros[:50])
    assert torch.equal(torch.rand(3, generator=g1), torch.rand(3, generator=g2))
    with pytest.raises(ValueError, match="apply_p must be a probability"):
        type(augmentation)(**{**vars(augmentation), "apply_p": 2.0})


def test_cebra_time_with_dropout_is_seeded_saved_and_validated(tmp_path):
    X = np.random.default_rng(0).poisson(2.0, size=(600, 12)).astype(np.float32)
    params = dict(model_architecture="offset5-model", batch_size=64, max_iterations=20,
                  output_dimension=3, device="cpu", random_state=0)
    augmented = CEBRA(**params, augmentations=[RandomizedNeuronDropout(0.5)]).fit(X)
    again = CEBRA(**params, augmentations=[RandomizedNeuronDropout(0.5)]).fit(X)
    plain = CEBRA(**params).fit(X)
    np.testing.assert_array_equal(augmented.transform(X), again.transform(X))
    assert not np.array_equal(augmented.transform(X), plain.transform(X))
    augmented.save(tmp_path / "model.safetensors")
    loaded = CEBRA.load(tmp_path / "model.safetensors")
    assert repr(loaded.augmentations) == repr(augmented.augmentations)
    np.testing.assert_array_equal(loaded.transform(X), augmented.transform(X))
    custom = CEBRA(**params, augmentations=[lambda w, g: w]).fit(X)
    with pytest.warns(UserWarning, match="custom callables are not saved"):
        custom.save(tmp_path / "custom.safetensors")
    assert CEBRA.load(tmp_path / "custom.safetensors").augmentations is None
    with pytest.raises(ValueError, match="augmentations"):
        CEBRA(**params, augmentations=[1]).fit(X)
    with pytest.raises(ValueError, match="full-batch"):
        CEBRA(**{**params, "batch_size": None}, augmentations=[NeuronDropout(0.1)]).fit(X)


# ------------------------------------------------------- shared draws inside a training step
def _ones_batch(parts, sessions, shared, augmentation=None):
    from neurolatent.models.receptive_field import ReceptiveField
    from neurolatent.training.batch import Batch

    lengths = torch.tensor([0] + [s.num_samples for s in sessions])
    rf = ReceptiveField.centred(3)
    return Batch(parts, sessions, torch.cumsum(lengths, 0), [rf] * len(sessions),
                 augmentation or NeuronDropout(0.5), _gen(2), shared_views=shared)


def _masks(batch, names):
    """Per session: the dropped-neuron masks of its windows, in the order of the parts
    (without the padding windows of multi-session batches)."""
    return [(where, (windows[: where.shape[0]] == 0).all(-1))
            for _, where, windows in batch._windows(names)]


@pytest.mark.parametrize("shared", [True, False])
def test_shared_views_give_reference_and_positive_one_draw(shared):
    from neurolatent.recording import Recording

    rec = Recording.from_arrays(torch.ones(300, 40))  # zeros can only be dropped neurons
    g = _gen(0)
    parts = {"reference": torch.randint(5, 290, (64,), generator=g),
             "negative": torch.randint(5, 290, (64,), generator=g)}
    parts = {"reference": parts["reference"], "positive": parts["reference"] + 2,
             "negative": parts["negative"]}
    (_, masks), = _masks(_ones_batch(parts, [rec], shared), ("reference", "positive",
                                                             "negative"))
    reference, positive, negative = masks.split(64)
    assert reference.any() and negative.any()
    assert torch.equal(reference, positive) is shared
    assert not torch.equal(reference, negative)  # other parts draw their own
    # the noise of a composed augmentation is shared too
    noisy = _ones_batch(parts, [rec], shared, Compose([GaussianNoise(0.3)]))
    (_, _, windows), = noisy._windows(("reference", "positive"))
    assert torch.equal(windows[:64], windows[64:]) is shared


def test_shared_views_across_sessions_pair_within_each_session():
    from neurolatent.recording import Recording

    sessions = [Recording.from_arrays(torch.ones(200, 30)),
                Recording.from_arrays(torch.ones(250, 20))]
    g = _gen(1)
    reference = torch.cat([torch.randint(5, 190, (40,), generator=g),
                           200 + torch.randint(5, 240, (40,), generator=g)])
    reference = reference[torch.randperm(80, generator=g)]  # sessions interleaved
    parts = {"reference": reference, "positive": reference + 3}
    for where, masks in _masks(_ones_batch(parts, sessions, True), ("reference", "positive")):
        half = where.shape[0] // 2
        assert torch.equal(where[half:] - 80, where[:half])
        assert masks[:half].any() and torch.equal(masks[:half], masks[half:])
    # a positive in another session (other neurons) cannot share its reference's draw
    crossed = {"reference": reference, "positive": (reference + 200) % 450}
    with pytest.raises(ValueError, match="shared_augmentation"):
        _ones_batch(crossed, sessions, True)._windows(("reference", "positive"))


def test_estimators_take_shared_augmentation_and_refuse_it_where_it_cannot_apply(tmp_path):
    from neurolatent import MYOW

    X = np.random.default_rng(0).poisson(2.0, size=(600, 12)).astype(np.float32)
    params = dict(batch_size=64, max_iterations=10, output_dimension=3, device="cpu",
                  random_state=0)
    shared = MYOW(**params, exclude_window=5, shared_augmentation=True).fit(X)
    again = MYOW(**params, exclude_window=5, shared_augmentation=True).fit(X)
    independent = MYOW(**params, exclude_window=5).fit(X)
    np.testing.assert_array_equal(shared.transform(X), again.transform(X))
    assert not np.array_equal(shared.transform(X), independent.transform(X))
    shared.save(tmp_path / "m.safetensors")
    assert MYOW.load(tmp_path / "m.safetensors").shared_augmentation is True
    dropout = [NeuronDropout(0.2)]
    CEBRA("offset5-model", **params, augmentations=dropout, shared_augmentation=True).fit(X)
    with pytest.raises(ValueError, match="shared_augmentation"):
        CEBRA(**params, shared_augmentation="yes").fit(X)
    with pytest.raises(ValueError, match=r"shared_augmentation=True .* no window augmentation"):
        CEBRA(**params, shared_augmentation=True).fit(X)
    with pytest.raises(ValueError, match="multi-session CEBRA"):
        CEBRA(**params, augmentations=dropout, shared_augmentation=True).fit([X, X[:, :8]])
