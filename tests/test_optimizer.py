"""The trainer's optimisers: PyTorch's own Adam and our LARS, without importing torch._dynamo."""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest
import torch

from neurolatent import CEBRA
from neurolatent.training.optimizer import LARS, Adam


def _run(optimizer_cls, kwargs, steps=6):
    g = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.GELU(), torch.nn.Linear(5, 3))
    for p in model.parameters():
        p.data = torch.randn(p.shape, generator=g)
    x = torch.randn(32, 7, generator=g)
    opt = optimizer_cls(model.parameters(), lr=0.01, **kwargs)
    calls = []
    opt.register_step_post_hook(lambda *_: calls.append(1))
    for _ in range(steps):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
    return model, opt, calls


@pytest.mark.parametrize("kwargs", [
    {}, {"fused": True}, {"foreach": True},
    {"foreach": False, "amsgrad": True, "weight_decay": 0.01},
    {"fused": True, "maximize": True, "betas": (0.8, 0.95), "eps": 1e-6},
    {"decoupled_weight_decay": True, "weight_decay": 0.1},
])
def test_adam_is_bit_identical_to_torch_adam(kwargs):
    ours, ours_opt, ours_calls = _run(Adam, kwargs)
    ref, ref_opt, ref_calls = _run(torch.optim.Adam, kwargs)
    for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
        assert torch.equal(a, b)
    assert ours_calls == ref_calls == [1] * 6  # step hooks still run
    ours_state, ref_state = ours_opt.state_dict(), ref_opt.state_dict()
    assert ours_state["param_groups"] == ref_state["param_groups"]
    for key, value in ref_state["state"].items():
        for name, tensor in value.items():
            assert torch.equal(ours_state["state"][key][name], tensor)
    # the state moves between the two classes and training continues identically
    ref_opt.load_state_dict(ours_state)


def test_step_records_no_graph_and_zero_grad_clears():
    w = torch.nn.Parameter(torch.ones(3))
    opt = Adam([w], lr=0.1)
    (w * 2).sum().backward()
    opt.step()
    assert w.grad_fn is None and not w.grad.requires_grad
    opt.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize("optimizer", ["adam", "lars"])
def test_a_fit_does_not_import_torch_dynamo(optimizer):
    # ~65 MiB and ~1 s for nothing: a regression here shows in every small fit's memory
    code = ("import sys, numpy as np; from neurolatent import CEBRA; "
            f"CEBRA(batch_size=32, max_iterations=3, optimizer={optimizer!r}).fit("
            "np.random.default_rng(0).normal(size=(300, 6)).astype('float32')); "
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("kwargs, error, text", [
    ({"betas": (2.0, 0.9)}, ValueError, "beta"),
    ({"eps": -1.0}, ValueError, "epsilon"),
    ({"bogus": 1}, TypeError, "bogus"),
])
def test_bad_optimizer_kwargs_name_the_argument(kwargs, error, text):
    X = np.random.default_rng(0).normal(size=(200, 5)).astype(np.float32)
    with pytest.raises(error, match="optimizer_kwargs") as info:
        CEBRA(batch_size=16, max_iterations=2, optimizer_kwargs=kwargs).fit(X)
    assert text in str(info.value)


# ----------------------------------------------------------------------------- LARS
def _lars_params(dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(4, 3, generator=g, dtype=dtype)
    bias = torch.randn(4, generator=g, dtype=dtype)
    zero = torch.zeros(2, 2, dtype=dtype)  # |w| = 0: the trust ratio is undefined
    return [weight, bias, zero], g


@pytest.mark.parametrize("exclude", [True, False])
def test_lars_steps_follow_the_formula(exclude):
    start, g = _lars_params()
    params = [p.clone().requires_grad_() for p in start]
    lr, momentum, decay, eta = 0.5, 0.9, 0.01, 0.002
    opt = LARS(params, lr=lr, momentum=momentum, weight_decay=decay, eta=eta,
               exclude_bias_and_norm=exclude)
    ref, buffers = [p.clone() for p in start], [None] * len(start)
    for _ in range(3):
        grads = [torch.randn(p.shape, generator=g, dtype=p.dtype) for p in params]
        for p, grad in zip(params, grads, strict=True):
            p.grad = grad.clone()
        opt.step()
        for i, (w, grad) in enumerate(zip(ref, grads, strict=True)):
            if exclude and w.ndim <= 1:  # bias: plain SGD with momentum, no decay
                update = lr * grad
            elif w.norm() == 0:
                update = lr * (grad + decay * w)
            else:
                ratio = eta * w.norm() / (grad.norm() + decay * w.norm())
                update = lr * ratio * (grad + decay * w)
            buffers[i] = update if buffers[i] is None else momentum * buffers[i] + update
            w -= buffers[i]
        for p, w in zip(params, ref, strict=True):
            torch.testing.assert_close(p.detach(), w, rtol=1e-12, atol=1e-15)


def test_lars_state_round_trip_continues_identically():
    start, g = _lars_params(torch.float32)
    a = [p.clone().requires_grad_() for p in start]
    opt_a = LARS(a, lr=0.3, weight_decay=1e-4)
    grads = [[torch.randn(p.shape, generator=g) for p in start] for _ in range(4)]
    for step in grads[:2]:
        for p, grad in zip(a, step, strict=True):
            p.grad = grad.clone()
        opt_a.step()
    b = [p.detach().clone().requires_grad_() for p in a]
    opt_b = LARS(b, lr=0.3, weight_decay=1e-4)
    # a copy, as from a file: state_dict() hands out the live momentum buffers
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))
    for step in grads[2:]:
        for pa, pb, grad in zip(a, b, step, strict=True):
            pa.grad, pb.grad = grad.clone(), grad.clone()
        opt_a.step()
        opt_b.step()
    assert all(torch.equal(pa, pb) for pa, pb in zip(a, b, strict=True))


def test_estimator_trains_with_lars_reproducibly():
    X = np.random.default_rng(0).normal(size=(400, 6)).astype(np.float32)
    kwargs = dict(optimizer="lars", learning_rate=0.5, batch_size=32, max_iterations=20,
                  output_dimension=3, device="cpu", random_state=3)
    a, b = CEBRA(**kwargs).fit(X), CEBRA(**kwargs).fit(X)
    assert np.array_equal(a.transform(X), b.transform(X))
    # the Adam-only entries of the default optimizer_kwargs are not passed on
    trainer_kwargs = a._optimizer_kwargs()
    assert trainer_kwargs == {"weight_decay": 0}
    assert a.history_["loss"][-5:].mean() < a.history_["loss"][:5].mean()


@pytest.mark.parametrize("kwargs, error, text", [
    ({"betas": (0.8, 0.9)}, TypeError, "betas"),
    ({"eta": 0.0}, ValueError, "eta"),
    ({"momentum": 1.0}, ValueError, "momentum"),
    ({"exclude_bias_and_norm": 1}, TypeError, "exclude_bias_and_norm"),
])
def test_bad_lars_kwargs_name_the_argument(kwargs, error, text):
    X = np.random.default_rng(0).normal(size=(200, 5)).astype(np.float32)
    with pytest.raises(error, match="optimizer_kwargs") as info:
        CEBRA(optimizer="lars", batch_size=16, max_iterations=2, optimizer_kwargs=kwargs).fit(X)
    assert text in str(info.value) and "LARS" in str(info.value)


def test_unknown_optimizer_is_refused_by_name():
    with pytest.raises(ValueError, match="optimizer"):
        CEBRA(optimizer="sgd", max_iterations=2).fit(np.zeros((50, 3), np.float32))
