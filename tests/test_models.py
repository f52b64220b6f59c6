"""Encoders: receptive fields, dense transform == per-window evaluation, padding, BatchNorm."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurolatent import CEBRA
from neurolatent.models import MODELS, make_encoder

REQUIRED = ["offset1-model", "offset1-model-v2", "offset1-model-mse", "offset5-model",
            "offset10-model", "offset10-model-mse", "offset15-model", "offset20-model",
            "offset36-model", "offset40-model", "offset50-model", "offset40-model-4x-subsample"]


def test_registry_has_official_names():
    assert set(REQUIRED) <= set(MODELS)
    assert CEBRA.supported_model_architectures("offset1-*") == [
        "offset1-model", "offset1-model-bn", "offset1-model-bn-mse", "offset1-model-mse",
        "offset1-model-v2"]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_receptive_field_window_gives_one_output(name):
    expected_size = int(name.split("-")[0].removeprefix("offset"))
    enc = make_encoder(name, 7, 16, 5, torch.Generator().manual_seed(0))
    rf = enc.receptive_field
    assert rf.size == expected_size
    assert enc(torch.randn(3, 7, rf.size)).shape == (3, 5, 1)
    out = enc.embed_windows(torch.randn(3, 7, rf.size))
    assert out.shape == (3, 5)
    if enc.normalize:
        torch.testing.assert_close(out.norm(dim=1), torch.ones(3))
    else:
        assert "mse" in name
    # one sample less than the receptive field cannot produce an output
    if rf.size > 1:
        with pytest.raises(RuntimeError):
            enc(torch.randn(1, 7, rf.size - 1 - 3 * (enc.stride > 1)))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_dense_sequence_equals_per_window_evaluation(name):
    enc = make_encoder(name, 6, 12, 4, torch.Generator().manual_seed(1)).eval()
    rf = enc.receptive_field
    neural = torch.randn(rf.size + 37, 6, generator=torch.Generator().manual_seed(2))
    dense = enc.embed_sequence(neural, chunk_size=8)
    starts = torch.arange(neural.shape[0] - rf.size + 1)
    windows = neural[starts[:, None] + torch.arange(rf.size)].transpose(1, 2)
    torch.testing.assert_close(dense, enc.embed_windows(windows), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("length", [1, 3, 50, 117])
def test_padded_sequence_equals_edge_repeated_windows(name, length):
    # embed_sequence(pad=True) embeds the edges from short padded segments and the
    # interior in place; every row must equal the window of the edge-repeated sequence
    enc = make_encoder(name, 5, 8, 3, torch.Generator().manual_seed(3)).eval()
    rf = enc.receptive_field
    neural = torch.randn(length, 5, generator=torch.Generator().manual_seed(4))
    padded = torch.cat([neural[:1].expand(rf.left, -1), neural,
                        neural[-1:].expand(rf.right - 1, -1)])
    windows = padded[torch.arange(length)[:, None] + torch.arange(rf.size)].transpose(1, 2)
    with torch.no_grad():
        torch.testing.assert_close(enc.embed_sequence(neural, chunk_size=16, pad=True),
                                   enc.embed_windows(windows), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pad", [True, False])
def test_transform_padding_and_windowed_equivalence(pad):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5)).astype(np.float32)
    model = CEBRA("offset10-model", max_iterations=3, batch_size=32, output_dimension=3,
                  device="cpu", random_state=0, pad_before_transform=pad).fit(X)
    emb = model.transform(X, batch_size=7)
    rf = model.model_.receptive_field
    assert emb.shape == ((120 if pad else 120 - rf.size + 1), 3)
    # row for time t is the encoder applied to the window [t - left, t + right)
    t = 50
    window = torch.from_numpy(X[t - rf.left : t + rf.right].T[None])
    expected = model.model_.embed_windows(window).detach().numpy()[0]
    row = t if pad else t - rf.left
    np.testing.assert_allclose(emb[row], expected, rtol=1e-5, atol=1e-6)
    if pad:  # edges repeat the first/last sample
        padded = np.concatenate([np.repeat(X[:1], rf.left, 0), X[: rf.right]])
        first = model.model_.embed_windows(torch.from_numpy(padded.T[None].copy()))
        np.testing.assert_allclose(emb[0], first.detach().numpy()[0], rtol=1e-5, atol=1e-6)


def test_transform_with_trials_pads_each_trial_separately():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    trials = np.repeat([0, 1, 2], [20, 25, 15])
    model = CEBRA("offset5-model", max_iterations=2, batch_size=16, device="cpu",
                  random_state=0).fit(X, trial_ids=trials)
    emb = model.transform(X, trial_ids=trials)
    assert emb.shape == (60, 8)
    np.testing.assert_allclose(emb[20:45], model.transform(X[20:45]), rtol=1e-6)


def _direct_forward(encoder, x):
    """The encoder as PyTorch's own modules compute it: direct convolutions, the residual
    blocks' ``x[crop] + GELU(conv(x))``, then the normalisation -- the reference."""
    out = encoder.trunk(encoder.input_layer(x))
    if encoder.normalize:
        out = out / (out.norm(dim=1, keepdim=True) + 1e-8)
    return out


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("layout", ["contiguous", "gathered"])
@pytest.mark.parametrize("training", [True, False])
def test_encoder_equals_direct_convolution_forward_and_backward(name, layout, training,
                                                                tap_gemms):
    # training runs the hand-written backward (one autograd node), evaluation autograd's
    # graph of the same arithmetic; both must be the modules' direct convolutions, values
    # and gradients (input and every parameter), whatever the input's memory layout
    g = torch.Generator().manual_seed(7)
    encoder = make_encoder(name, 6, 8, 3, g).double().train(training)
    size = encoder.receptive_field.size + 3 * encoder.stride  # several outputs per window
    if layout == "contiguous":
        x = torch.randn(5, 6, size, generator=g, dtype=torch.float64)
    else:  # the window gather's view of time-major (lag, batch, neurons) memory
        x = torch.randn(size, 5, 6, generator=g, dtype=torch.float64).permute(1, 2, 0)
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out, expected = encoder(x1), _direct_forward(encoder, x2)
    assert out.shape == expected.shape == (5, 3, 4)
    torch.testing.assert_close(out, expected)
    upstream = torch.randn(out.shape, generator=g, dtype=torch.float64)
    params = list(encoder.parameters())
    for a, b in zip(torch.autograd.grad(out, [x1, *params], upstream),
                    torch.autograd.grad(expected, [x2, *params], upstream), strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("kinds", [("gelu", "residual", "linear"), ("residual", "linear"),
                                   ("gelu", "gelu", "linear")])
@pytest.mark.parametrize("kernel", [1, 2, 3])
def test_layer_stack_backward_passes_gradcheck(kinds, kernel, tap_gemms):
    from neurolatent.models.encoders import _Layers

    g = torch.Generator().manual_seed(kernel)
    width = 4
    # kernel-1 residual blocks are allowed by the arithmetic; the encoders use kernel 3
    shapes = [(width, width, kernel if kind != "residual" else 3) for kind in kinds]
    params = []
    for shape in shapes:
        params += [torch.randn(shape, generator=g, dtype=torch.float64, requires_grad=True),
                   torch.randn(shape[0], generator=g, dtype=torch.float64, requires_grad=True)]
    length = 1 + sum(shape[2] - 1 for shape in shapes) + 2
    rows = torch.randn(length, 3, width, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda r, *p: _Layers.apply(kinds, r, *p),
                                    (rows, *params))


def test_layer_stack_skips_gradients_nobody_needs():
    # adaptation freezes the trunk: its weight GEMMs are skipped, and with only the last
    # layer trainable nothing below it is computed; the trainable layers' gradients are
    # those of the fully trainable encoder
    from torch.utils.flop_counter import FlopCounterMode

    g = torch.Generator().manual_seed(0)
    encoder = make_encoder("offset10-model", 6, 8, 3, g).train()
    x = torch.randn(4, 6, 10, generator=g)
    convolutions = encoder._convolutions()
    first, last = convolutions[0].weight, convolutions[-1].weight

    def backward_flops():
        out = encoder(x).sum()
        counter = FlopCounterMode(display=False)
        with counter:
            out.backward()
        return counter.get_total_flops()

    full_flops = backward_flops()
    full = {name: p.grad.clone() for name, p in encoder.named_parameters()}
    frozen_flops = []
    for trainable in (first, last):
        for p in encoder.parameters():
            p.grad = None
            p.requires_grad_(p is trainable)
        frozen_flops.append(backward_flops())
        for name, p in encoder.named_parameters():
            if p is trainable:
                torch.testing.assert_close(p.grad, full[name])
            else:
                assert p.grad is None
    assert full_flops > frozen_flops[0] > frozen_flops[1] > 0, (full_flops, frozen_flops)


def _relative_error(a: torch.Tensor, truth: torch.Tensor) -> float:
    return float((a.detach().double() - truth.detach()).norm() / truth.detach().norm())


@pytest.mark.parametrize("name", ["offset10-model", "offset5-model", "offset36-model",
                                  "offset40-model-4x-subsample"])
def test_bf16_training_runs_the_layer_stack_in_bf16(name, tap_gemms, monkeypatch):
    """precision="bf16" trains through the hand-written node with bf16 rows, GEMMs and
    activations (autocast's arithmetic, without its per-op casts): its values and every
    gradient are as close to the float64 truth as autograd's own graph under autocast."""
    import neurolatent.models.encoders as encoders

    dtypes = []
    apply = encoders._Layers.apply

    def spy(kinds, rows, *params):
        dtypes.append(rows.dtype)
        return apply(kinds, rows, *params)

    monkeypatch.setattr(encoders._Layers, "apply", spy)
    g = torch.Generator().manual_seed(3)
    encoder = make_encoder(name, 40, 32, 8, g)
    size = encoder.receptive_field.size
    x = torch.randn(size, 64, 40, generator=g).permute(1, 2, 0)  # the gather's layout
    upstream = torch.randn(64, 8, generator=g)
    params = list(encoder.parameters())

    def run(module, dtype=None, training=True):
        module.train(training)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype is None):
            out = module.embed_windows(x.to(dtype or torch.float32)).float()
        grads = torch.autograd.grad(out, list(module.parameters()), upstream.to(out.dtype))
        return [out, *grads]

    ours = run(encoder)
    assert dtypes and set(dtypes) == {torch.bfloat16}
    calls = len(dtypes)
    graph = run(encoder, training=False)  # evaluation mode: autograd's graph, same layers
    assert len(dtypes) == calls  # ... which does not go through the node
    reference = make_encoder(name, 40, 32, 8, torch.Generator()).double()
    reference.load_state_dict(encoder.state_dict())
    truth = run(reference, torch.float64)
    assert len(ours) == len(graph) == len(truth) == len(params) + 1
    for a, b, t in zip(ours, graph, truth, strict=True):
        assert a.dtype == torch.float32
        error, graph_error = _relative_error(a, t), _relative_error(b, t)
        # a few bf16 roundings (unit 2**-8) per layer; autograd's graph keeps some sums in
        # fp32 by type promotion (a stacked GEMM's fp32 bias add), the node keeps them bf16
        assert error < 0.02, (error, graph_error)
        assert error < 2.5 * graph_error + 2e-3, (error, graph_error)


@pytest.mark.filterwarnings("ignore:precision='bf16' on 'cpu'")  # emulated on some CPUs
def test_bf16_fit_decodes_as_well_as_fp32():
    """A fixed-seed bf16 fit (offset10-model, continuous labels) decodes the synthetic
    position within noise of the fp32 fit of the same seed."""
    from sklearn.linear_model import LinearRegression

    from neurolatent.datasets import place_cells

    data = place_cells(num_samples=4000, num_neurons=40, seed=1)
    X, y = data.neural, data.labels[:, 0]
    scores = {}
    for precision in ("32", "bf16"):
        model = CEBRA(model_architecture="offset10-model", batch_size=256, max_iterations=300,
                      output_dimension=3, device="cpu", random_state=0, learning_rate=3e-3,
                      precision=precision).fit(X[:3200], y[:3200])
        Z = model.transform(X)
        assert Z.dtype == np.float32 and np.isfinite(Z).all()
        fit = LinearRegression().fit(Z[:3200], y[:3200])
        scores[precision] = fit.score(Z[3200:], y[3200:])
    assert scores["32"] > 0.8, scores
    assert abs(scores["bf16"] - scores["32"]) < 0.03, scores


def test_encoder_fit_matches_direct_convolution_fit(monkeypatch):
    """The optimised layers change only the float summation order: a fixed-seed fit with
    them matches the fit with PyTorch's direct convolution, and decodes the same."""
    from sklearn.linear_model import LinearRegression

    from neurolatent.datasets import place_cells
    from neurolatent.models.encoders import ConvEncoder

    data = place_cells(num_samples=3000, num_neurons=30, seed=0)
    X, y = data.neural, data.labels[:, 0]
    params = dict(model_architecture="offset10-model", batch_size=256, max_iterations=60,
                  output_dimension=3, device="cpu", random_state=0, learning_rate=3e-3)

    def fit_and_score():
        Z = CEBRA(**params).fit(X[:2400], y[:2400]).transform(X)
        fit = LinearRegression().fit(Z[:2400], y[:2400])
        return Z, fit.score(Z[2400:], y[2400:])

    fast, fast_r2 = fit_and_score()
    with monkeypatch.context() as patch:
        patch.setattr(ConvEncoder, "forward", _direct_forward)
        patch.setattr(ConvEncoder, "takes_rows", False)  # embed_rows bypasses forward
        direct, direct_r2 = fit_and_score()
    assert np.abs(fast - direct).max() < 1e-3
    assert abs(fast_r2 - direct_r2) < 1e-3


# ---------------------------------------------------------------- MYOW's BatchNorm MLP
def test_batchnorm_mlp_is_myows_encoder():
    enc = make_encoder("offset1-model-bn-mse", 6, 16, 4, torch.Generator().manual_seed(0))
    kinds = [type(m).__name__ for m in [enc.input_layer, *enc.trunk]]
    assert kinds == ["Conv1d", "BatchNorm1d", "ReLU"] * 3 + ["Conv1d"]
    widths = [(m.in_channels, m.out_channels) for m in [enc.input_layer, *enc.trunk]
              if isinstance(m, torch.nn.Conv1d)]
    assert widths == [(6, 16), (16, 16), (16, 16), (16, 4)]
    assert not enc.normalize and make_encoder("offset1-model-bn", 6, 16, 4).normalize


def test_batchnorm_mlp_trains_on_batch_statistics_and_evaluates_on_running_ones():
    g = torch.Generator().manual_seed(1)
    enc = make_encoder("offset1-model-bn-mse", 6, 16, 4, g)
    x = torch.randn(64, 6, 1, generator=g) * 3 + 2
    with torch.no_grad():
        full = enc.embed_windows(x)
        half = enc.embed_windows(x[:32])
    # training: a sample's embedding depends on the batch it comes in
    assert not torch.allclose(full[0], half[0])
    bn = enc.trunk[0]
    assert int(bn.num_batches_tracked) == 2
    assert bn.running_mean.abs().min() > 0 and not torch.allclose(bn.running_var,
                                                                  torch.ones(16))
    # evaluation: the running statistics, so each sample alone, as transform needs;
    # the first layer's output is the formula's
    enc.eval()
    with torch.no_grad():
        torch.testing.assert_close(enc.embed_windows(x)[:5], enc.embed_windows(x[:5]))
        first = enc.input_layer(x)
        expected = (first - bn.running_mean[:, None]) / torch.sqrt(
            bn.running_var[:, None] + bn.eps) * bn.weight[:, None] + bn.bias[:, None]
        torch.testing.assert_close(enc.trunk[0](first), expected)


@pytest.mark.parametrize("name", ["offset1-model-bn-mse", "offset3-model-bn-mse"])
def test_batchnorm_mlp_as_row_gemms_is_pytorchs_module_stack(name):
    # the encoder runs its convolutions as GEMMs on time-major rows; the same modules run
    # one after another (nn.Conv1d, BatchNorm1d on (batch, channels, time)) give the same
    # outputs, gradients and running statistics, in training and in evaluation
    g = torch.Generator().manual_seed(4)
    enc = make_encoder(name, 6, 16, 4, g)
    twin = make_encoder(name, 6, 16, 4, torch.Generator().manual_seed(4))
    x = torch.randn(64, 6, enc.receptive_field.size + 4, generator=g) * 2 + 1
    out = enc(x.clone().requires_grad_())
    reference = twin.trunk(twin.input_layer(x))
    torch.testing.assert_close(out, reference, rtol=1e-5, atol=1e-5)
    for a, b in zip(torch.autograd.grad(out.square().sum(), list(enc.parameters())),
                    torch.autograd.grad(reference.square().sum(), list(twin.parameters())),
                    strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    for a, b in zip(enc.buffers(), twin.buffers(), strict=True):
        torch.testing.assert_close(a, b)
    enc.eval(), twin.eval()
    with torch.no_grad():
        torch.testing.assert_close(enc(x), twin.trunk(twin.input_layer(x)), rtol=1e-5,
                                   atol=1e-5)


def test_variants_reject_unsupported_shapes():
    from neurolatent.models.encoders import ConvEncoder

    with pytest.raises(ValueError, match=r"variant.*'v2'.*receptive field 10"):
        ConvEncoder(6, 16, 4, receptive_field=10, variant="v2")
    with pytest.raises(ValueError, match=r"variant.*subsample 4"):
        ConvEncoder(6, 16, 4, receptive_field=40, subsample=4, variant="bn")
    with pytest.raises(ValueError, match="variant"):
        ConvEncoder(6, 16, 4, receptive_field=1, variant="batchnorm")


def test_batchnorm_mlp_over_several_bins_reads_the_window_in_its_input_layer():
    g = torch.Generator().manual_seed(3)
    enc = make_encoder("offset3-model-bn-mse", 6, 16, 4, g).eval()
    assert enc.receptive_field.size == 3 and not enc.takes_rows  # BatchNorm: no row path
    x = torch.randn(5, 6, 3, generator=g)
    with torch.no_grad():
        # the first layer is one linear map of the 3 bins, i.e. of the flattened window
        flat = x.reshape(5, 18) @ enc.input_layer.weight.reshape(16, 18).t()
        torch.testing.assert_close(enc.input_layer(x)[..., 0], flat + enc.input_layer.bias)
        # a sequence embeds each position as its own window
        seq = torch.randn(1, 6, 9, generator=g)
        per_window = torch.stack([enc.embed_windows(seq[..., t:t + 3])[0] for t in range(7)])
        torch.testing.assert_close(enc(seq)[0].t(), per_window)


def test_batchnorm_running_statistics_survive_save_and_load(tmp_path):
    rng = np.random.default_rng(2)
    X = (rng.normal(size=(600, 8)) * 4 + 1).astype(np.float32)
    model = CEBRA("offset1-model-bn", max_iterations=15, batch_size=64, output_dimension=3,
                  device="cpu", random_state=0).fit(X)
    again = CEBRA("offset1-model-bn", max_iterations=15, batch_size=64, output_dimension=3,
                  device="cpu", random_state=0).fit(X)
    assert np.array_equal(model.transform(X), again.transform(X))
    stats = model.model_.trunk[0].running_var
    assert not torch.allclose(stats, torch.ones_like(stats))  # learned from the data
    model.save(tmp_path / "bn.safetensors")
    loaded = CEBRA.load(tmp_path / "bn.safetensors")
    torch.testing.assert_close(loaded.model_.trunk[0].running_var, stats, rtol=0, atol=0)
    assert not loaded.model_.training
    assert np.array_equal(loaded.transform(X), model.transform(X))
