"""The trainer's Adam: PyTorch's own update, without importing torch._dynamo."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from neurolatent import CEBRA
from neurolatent.training.optimizer import Adam


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


def test_a_fit_does_not_import_torch_dynamo():
    # ~65 MiB and ~1 s for nothing: a regression here shows in every small fit's memory
    code = ("import sys, numpy as np; from neurolatent import CEBRA; "
            "CEBRA(batch_size=32, max_iterations=3).fit("
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
