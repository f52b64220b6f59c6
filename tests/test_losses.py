"""InfoNCE against a float64 reference formula: values, gradients, chunking, temperature."""

from __future__ import annotations

import math

import pytest
import torch

from neurolatent.losses import InfoNCE, infonce


def reference_loss(ref, pos, neg, distance, inverse_temperature):
    """Direct float64 formula: mean(-s(r_i, p_i)) + mean_i log sum_j exp s(r_i, n_j)."""
    if distance == "cosine":
        s_pos = (ref * pos).sum(1) * inverse_temperature
        s_neg = ref @ neg.T * inverse_temperature
    else:
        s_pos = -((ref - pos) ** 2).sum(1) * inverse_temperature
        s_neg = -((ref[:, None, :] - neg[None, :, :]) ** 2).sum(2) * inverse_temperature
    return (-s_pos).mean() + torch.log(torch.exp(s_neg).sum(1)).mean()


def _batch(seed, n=40, m=50, d=5, normalise=True):
    g = torch.Generator().manual_seed(seed)
    parts = [torch.randn(k, d, generator=g, dtype=torch.float64) for k in (n, n, m)]
    if normalise:
        parts = [torch.nn.functional.normalize(p, dim=1) for p in parts]
    return parts


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
@pytest.mark.parametrize("mode", ["constant", "auto"])
def test_value_and_gradient_match_float64_formula(distance, mode):
    ref64, pos64, neg64 = _batch(0, normalise=distance == "cosine")
    crit = InfoNCE(distance, temperature=0.4, temperature_mode=mode, min_temperature=0.05)
    inputs32 = [p.float().requires_grad_(True) for p in (ref64, pos64, neg64)]
    loss = crit(*inputs32).loss
    loss.backward()
    inputs64 = [p.clone().requires_grad_(True) for p in (ref64, pos64, neg64)]
    log_inv = torch.tensor(math.log(1 / 0.4), dtype=torch.float64, requires_grad=True)
    expected = reference_loss(*inputs64, distance, log_inv.exp())
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-5)
    for got, want in zip(inputs32, inputs64, strict=True):
        torch.testing.assert_close(got.grad.double(), want.grad, rtol=1e-4, atol=1e-5)
    if mode == "auto":
        assert crit.log_inverse_temperature.grad.item() == pytest.approx(log_inv.grad.item(),
                                                                         rel=1e-4)


def test_loss_is_log_batch_size_for_random_embeddings():
    g = torch.Generator().manual_seed(1)
    for batch in (64, 512):
        z = [torch.nn.functional.normalize(torch.randn(batch, 256, generator=g), dim=1)
             for _ in range(3)]
        loss = infonce(*z).loss
        assert float(loss) == pytest.approx(math.log(batch), abs=0.02)


def test_learned_temperature_respects_clamp():
    crit = InfoNCE("cosine", temperature=1.0, temperature_mode="auto", min_temperature=0.2)
    with torch.no_grad():
        crit.log_inverse_temperature.fill_(math.log(100.0))  # would be tau = 0.01
    assert float(crit.temperature) == pytest.approx(0.2)
    ref, pos, neg = (p.float() for p in _batch(2))
    crit(ref, pos, neg).loss.backward()
    assert crit.log_inverse_temperature.grad.item() == 0.0  # clamped: no gradient


def test_constant_temperature_is_not_a_parameter():
    assert list(InfoNCE(temperature_mode="constant").parameters()) == []
    assert len(list(InfoNCE(temperature_mode="auto").parameters())) == 1


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_chunked_loss_and_gradient_equal_dense(distance):
    ref64, pos64, neg64 = _batch(3, n=97, m=89)
    dense_in = [p.float().requires_grad_(True) for p in (ref64, pos64, neg64)]
    dense_in.append(torch.tensor(2.0, requires_grad=True))  # learned inverse temperature
    chunk_in = [p.detach().clone().requires_grad_(True) for p in dense_in]
    dense = infonce(*dense_in[:3], distance=distance, inverse_temperature=dense_in[3])
    chunked = infonce(*chunk_in[:3], distance=distance, inverse_temperature=chunk_in[3],
                      chunk_size=10)
    dense.loss.backward()
    chunked.loss.backward()
    torch.testing.assert_close(chunked.loss, dense.loss)
    for a, b in zip(chunk_in, dense_in, strict=True):
        torch.testing.assert_close(a.grad, b.grad)


def test_stable_for_large_inverse_temperature():
    ref, pos, neg = (p.float() for p in _batch(4))
    loss = infonce(ref, pos, neg, inverse_temperature=1e4).loss
    assert torch.isfinite(loss)


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
@pytest.mark.parametrize("needs", [(True, True, True), (True, False, False), (False, True, True)])
@pytest.mark.parametrize("rows", [5, 13])
def test_chunked_logsumexp_gradcheck(distance, needs, rows):
    # float64 finite differences through the hand-written backward, across chunk borders
    # (13 rows in chunks of 5), from the forward's kept matrix (one chunk of 13), and with
    # only some inputs needing a gradient
    from neurolatent.losses import _LogSumExp

    g = torch.Generator().manual_seed(5)
    ref = torch.randn(13, 4, generator=g, dtype=torch.float64, requires_grad=needs[0])
    neg = torch.randn(11, 4, generator=g, dtype=torch.float64, requires_grad=needs[1])
    inv = torch.tensor(0.7, dtype=torch.float64, requires_grad=needs[2])
    weights = torch.rand(13, generator=g, dtype=torch.float64)  # a non-uniform upstream grad

    def f(r, n, t):
        return (_LogSumExp.apply(r, n, t, distance, rows) * weights).sum()

    assert torch.autograd.gradcheck(f, (ref, neg, inv))
    expected = torch.logsumexp(
        torch.as_tensor(0.7, dtype=torch.float64) * (
            ref @ neg.T if distance == "cosine" else -torch.cdist(ref, neg) ** 2), 1)
    torch.testing.assert_close(_LogSumExp.apply(ref, neg, inv, distance, 5), expected)
