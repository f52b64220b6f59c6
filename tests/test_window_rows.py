"""Deduplicated windows: the distinct samples of overlapping windows gathered once and the
first convolution run along them (``window_rows``, ``ConvEncoder.embed_rows``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neurolatent.models.encoders as encoders
import neurolatent.training.batch as batch_module
from neurolatent import CEBRA
from neurolatent.augment import NeuronDropout
from neurolatent.models import MODELS, make_encoder
from neurolatent.models.receptive_field import ReceptiveField
from neurolatent.recording import Recording, window_rows
from neurolatent.training.batch import Batch, WindowRows


@pytest.mark.parametrize("rf", [ReceptiveField(0, 1), ReceptiveField(1, 2), ReceptiveField(5, 5),
                                ReceptiveField(20, 20)])
@pytest.mark.parametrize("multiple", [1, 64])
def test_window_rows_hold_every_window_once_per_sample(rf, multiple):
    g = torch.Generator().manual_seed(rf.size)
    T = 300
    # dense and sparse draws, with repeated indices
    for n in (5, 40, 400):
        index = torch.randint(rf.left, T - rf.right + 1, (n,), generator=g)
        times, first = window_rows(index, rf, multiple=multiple)
        offsets = torch.arange(-rf.left, rf.right)
        for b in range(n):
            window = times[first[b] : first[b] + rf.size]
            assert torch.equal(window, index[b] + offsets)
        distinct = torch.unique((index[:, None] + offsets).reshape(-1))
        count = distinct.shape[0]
        assert torch.equal(times[:count], distinct)  # sorted, each sample once
        assert times.shape[0] == -(-count // multiple) * multiple
        assert bool((times[count:] == times[count - 1]).all())  # padding repeats the last
        # max_rows: the same run up to its padded length, None past it
        padded = times.shape[0]
        kept = window_rows(index, rf, multiple=multiple, max_rows=padded)
        assert torch.equal(kept[0], times) and torch.equal(kept[1], first)
        assert window_rows(index, rf, multiple=multiple, max_rows=padded - 1) is None
    empty = window_rows(torch.zeros(0, dtype=torch.long), rf)
    assert [e.shape[0] for e in empty] == [0, 0]


@pytest.mark.parametrize("name", sorted(n for n in MODELS
                                        if make_encoder(n, 2, 4, 2).takes_rows))
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("overlap", ["dense", "sparse"])
def test_embed_rows_equals_embed_windows_values_and_gradients(name, training, overlap,
                                                              tap_gemms):
    # dense: every layer but the last runs along the run; sparse (4 windows, 20 receptive
    # fields): only the first does, the rest per window
    g = torch.Generator().manual_seed(3)
    encoder = make_encoder(name, 6, 8, 3, g).double().train(training)
    rf = encoder.receptive_field
    length, count = (rf.size + 40, 30) if overlap == "dense" else (20 * rf.size, 4)
    neural = torch.randn(length, 6, generator=g, dtype=torch.float64)
    index = torch.randint(rf.left, neural.shape[0] - rf.right + 1, (count,), generator=g)
    times, first = window_rows(index, rf, multiple=16)
    out = encoder.embed_rows(neural[times], first)
    windows = neural[index[:, None] + torch.arange(-rf.left, rf.right)].transpose(1, 2)
    expected = encoder.embed_windows(windows)
    torch.testing.assert_close(out, expected)
    upstream = torch.randn(out.shape, generator=g, dtype=torch.float64)
    params = list(encoder.parameters())
    for a, b in zip(torch.autograd.grad(out, params, upstream),
                    torch.autograd.grad(expected, params, upstream), strict=True):
        torch.testing.assert_close(a, b)


def test_embed_rows_refuses_encoders_without_a_sequence_form():
    for name in ("offset1-model", "offset40-model-4x-subsample", "offset3-model-bn-mse"):
        encoder = make_encoder(name, 6, 8, 3)
        assert not encoder.takes_rows
        with pytest.raises(ValueError, match="embed_rows needs a stride-1 convolutional"):
            encoder.embed_rows(torch.zeros(50, 6), torch.zeros(2, dtype=torch.long))


def _batch(index, recording, rf, **kwargs):
    g = torch.Generator().manual_seed(0)
    return Batch({"reference": index}, [recording], torch.tensor([0, recording.num_samples]),
                 [rf], kwargs.pop("augment", None), g, deduplicate=True, **kwargs)


def test_batch_deduplicates_only_windows_that_share_enough_samples():
    g = torch.Generator().manual_seed(0)
    rf = ReceptiveField(5, 5)
    recording = Recording.from_arrays(torch.randn(2000, 4, generator=g))
    dense = torch.randint(5, 200, (100,), generator=g)   # ~2/3 of the samples shared
    sparse = torch.arange(5, 1990, 20)                     # disjoint windows
    (_, _, rows), = _batch(dense, recording, rf)._windows(("reference",))
    assert isinstance(rows, WindowRows)
    (_, _, windows), = _batch(sparse, recording, rf)._windows(("reference",))
    assert isinstance(windows, torch.Tensor) and windows.shape == (sparse.shape[0], 4, 10)
    # wide recordings: deduplicated whatever the overlap
    wide = Recording.from_arrays(torch.randn(2000, 512, generator=g))
    (_, _, rows), = _batch(sparse, wide, rf)._windows(("reference",))
    assert isinstance(rows, WindowRows) and rows.rows.shape[0] == 1024  # 1,000 padded
    # augmented windows differ per window: never deduplicated
    (_, _, windows), = _batch(dense, recording, rf, augment=NeuronDropout(0.1))._windows(
        ("reference",))
    assert isinstance(windows, torch.Tensor)
    # the rows land in a reused training buffer, grown only when outgrown
    buffers: dict = {}
    first = _batch(dense, recording, rf, buffers=buffers)._windows(("reference",))[0][2]
    again = _batch(dense[:90], recording, rf, buffers=buffers)._windows(("reference",))[0][2]
    assert first.rows.data_ptr() == again.rows.data_ptr()


@pytest.mark.parametrize("deduplicated", [True, False])
def test_bf16_training_batches_cast_into_a_reused_buffer(deduplicated):
    """bf16 training gathers cast their rows to bf16 into a buffer kept between steps, with
    the values the layer stack's own cast gives; evaluation batches stay float32."""
    g = torch.Generator().manual_seed(0)
    rf = ReceptiveField(5, 5)
    recording = Recording.from_arrays(torch.randn(2000, 4, generator=g))
    index = (torch.randint(5, 200, (100,), generator=g) if deduplicated
             else torch.arange(5, 1990, 20))
    buffers: dict = {}
    kinds, pointers = set(), set()
    for size in (100, 90):
        (_, _, got), = _batch(index[:size], recording, rf, buffers=buffers,
                              precision="bf16")._windows(("reference",))
        (_, _, plain), = _batch(index[:size], recording, rf)._windows(("reference",))
        kinds.add(type(got))
        got, plain = (got.rows, plain.rows) if deduplicated else (got, plain)
        assert got.dtype == torch.bfloat16 and plain.dtype == torch.float32
        assert torch.equal(got, plain.to(torch.bfloat16))
        pointers.add(got.data_ptr())
    assert kinds == {WindowRows if deduplicated else torch.Tensor}
    assert len(pointers) == 1  # the second step reused the first one's buffer
    if not deduplicated:  # windows keep their view of time-major memory
        assert got.permute(2, 0, 1).is_contiguous()
    # evaluation batches (no buffers) leave the cast to the encoder
    (_, _, evaluated), = _batch(index, recording, rf, precision="bf16")._windows(("reference",))
    assert (evaluated.rows if deduplicated else evaluated).dtype == torch.float32


@pytest.mark.parametrize("labels", ["none", "continuous"])
def test_fit_with_deduplicated_windows_equals_the_window_fit(monkeypatch, labels):
    # only the float summation order of the first layer's weight gradient differs
    rng = np.random.default_rng(0)
    X = rng.poisson(1.0, size=(1500, 30)).astype(np.float32)
    y = (np.cumsum(rng.normal(size=(1500, 1)), 0).astype(np.float32),) \
        if labels == "continuous" else ()
    params = dict(model_architecture="offset10-model", batch_size=256, max_iterations=40,
                  output_dimension=4, num_hidden_units=16, device="cpu", random_state=0,
                  time_offsets=10)
    taken = []
    original = encoders.ConvEncoder.embed_rows

    def counting(self, rows, first):
        taken.append(rows.shape[0])
        return original(self, rows, first)

    monkeypatch.setattr(encoders.ConvEncoder, "embed_rows", counting)
    deduplicated = CEBRA(**params).fit(X, *y)
    assert len(taken) == 40 and max(taken) < 0.75 * 3 * 256 * 10
    monkeypatch.setattr(batch_module, "_ROWS_MAX_SHARE", 0.0)
    plain = CEBRA(**params).fit(X, *y)
    assert len(taken) == 40  # no step deduplicated
    np.testing.assert_allclose(deduplicated.history_["loss"], plain.history_["loss"],
                               rtol=1e-5)
    np.testing.assert_allclose(deduplicated.transform(X), plain.transform(X), atol=1e-4)
