"""The trainer's optimisers: PyTorch's Adam and LARS, without the import of ``torch._dynamo``.

``torch.optim.Optimizer`` marks its methods as not compilable through decorators that
import ``torch._dynamo`` on their first call (and ``step`` imports it on every call). That
import holds ~65 MiB of resident modules (sympy among them) and takes ~1 s: on a small fit
(T = 10k, N = 120) about half of what training adds above the libraries' own import, and
most of a short fit's start-up. We never compile the optimiser, so the undecorated methods
do the same work: the classes below call them. Adam's arithmetic is torch's own (the same
fused kernel, bit for bit; tested against ``torch.optim.Adam``); LARS (You et al. 2017, the
optimiser of BYOL's and MYOW's published recipes) is written here, as torch has none.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["LARS", "OPTIMIZERS", "Adam"]


def _undecorated(method: Callable) -> Callable:
    # ``functools.wraps`` records the wrapped function: follow the chain to torch's own
    # body. A torch release without ``__wrapped__`` leaves the method as it is, which
    # brings the import back but changes no result.
    return inspect.unwrap(method)


class _Undecorated(torch.optim.Optimizer):
    # the optimiser methods every step or fit calls, without their dynamo decorators
    add_param_group = _undecorated(torch.optim.Optimizer.add_param_group)
    zero_grad = _undecorated(torch.optim.Optimizer.zero_grad)
    state_dict = _undecorated(torch.optim.Optimizer.state_dict)
    load_state_dict = _undecorated(torch.optim.Optimizer.load_state_dict)


class Adam(_Undecorated, torch.optim.Adam):
    """``torch.optim.Adam`` with the same arguments and results, minus ``torch._dynamo``.

    Step hooks, ``param_groups``, ``state_dict`` and every keyword (``betas``, ``eps``,
    ``weight_decay``, ``amsgrad``, ``fused``, ``foreach``, ...) behave as in PyTorch.

    Examples
    --------
    >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    >>> opt = Adam([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> w.detach()
    tensor([ 0.9000, -1.9000])
    >>> opt.zero_grad()
    >>> w.grad is None
    True
    """

    _step = _undecorated(torch.optim.Adam.step)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adam update of every parameter with a gradient (``closure`` as in PyTorch)."""
        # What the removed decorator does besides its compiler graph breaks: the update
        # is recorded by autograd only for a ``differentiable`` optimiser.
        with torch.set_grad_enabled(self.defaults["differentiable"]):
            return self._step(closure)


class LARS(_Undecorated):
    """SGD with momentum and a layer-wise trust ratio (LARS; You, Gitman & Ginsburg 2017).

    Each weight tensor ``w`` with gradient ``g`` moves by the momentum of
    ``lr * r * (g + weight_decay * w)``, where the trust ratio
    ``r = eta * |w| / (|g| + weight_decay * |w|)`` makes the step a fixed fraction of the
    tensor's own norm, whatever the scale of its gradient. That is what lets BYOL and MYOW
    train with batch-size-scaled rates near 1. Biases and normalisation parameters -- every
    tensor of at most one dimension -- are updated by plain SGD with momentum, without
    weight decay, when ``exclude_bias_and_norm`` (BYOL's recipe); so is a tensor whose norm
    or gradient norm is zero, for which the ratio is undefined. The momentum buffer starts
    at the first step's update (dampening 0).

    Parameters
    ----------
    params : iterable of tensors or parameter groups
    lr : float
        Learning rate (the trainer's schedule scales it per step).
    momentum : float in [0, 1)
    weight_decay : float >= 0
    eta : float > 0
        Trust coefficient.
    exclude_bias_and_norm : bool

    Examples
    --------
    >>> w = torch.nn.Parameter(torch.tensor([[3.0, 4.0]]))  # |w| = 5
    >>> opt = LARS([w], lr=1.0, momentum=0.9, eta=0.01)
    >>> w.grad = torch.tensor([[0.0, 100.0]])  # |g| = 100: r = 0.01 * 5 / 100
    >>> opt.step()
    >>> w.detach()  # moved by lr * r * g = (0, 0.05): 1 % of |w|, as eta says
    tensor([[3.0000, 3.9500]])
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
                 eta: float = 1e-3, exclude_bias_and_norm: bool = True):
        for name, value, low, high in (("lr", lr, 0.0, math.inf),
                                       ("momentum", momentum, 0.0, 1.0),
                                       ("weight_decay", weight_decay, 0.0, math.inf)):
            if not isinstance(value, (int, float)) or not low <= value < high:
                raise ValueError(f"LARS {name} must be a number in [{low}, {high}); got "
                                 f"{value!r}.")
        if not isinstance(eta, (int, float)) or not eta > 0:
            raise ValueError(f"LARS eta (trust coefficient) must be a number > 0; got {eta!r}.")
        if not isinstance(exclude_bias_and_norm, bool):
            raise TypeError("LARS exclude_bias_and_norm must be True or False; got "
                            f"{exclude_bias_and_norm!r}.")
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                                  "eta": eta, "exclude_bias_and_norm": exclude_bias_and_norm})

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One LARS update of every parameter with a gradient (``closure`` as in PyTorch)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            adapted = [not (group["exclude_bias_and_norm"] and p.ndim <= 1) for p in params]
            decay = group["weight_decay"]
            # all norms in two kernels, and no host sync: the ratio stays a tensor
            w_norms = torch._foreach_norm(params)
            g_norms = torch._foreach_norm(grads)
            for p, g, w_norm, g_norm, adapt in zip(params, grads, w_norms, g_norms, adapted,
                                                   strict=True):
                if adapt:
                    ratio = torch.where((w_norm > 0) & (g_norm > 0),
                                        group["eta"] * w_norm / (g_norm + decay * w_norm),
                                        torch.ones_like(w_norm))
                    update = g.add(p, alpha=decay).mul_(ratio * group["lr"])
                else:
                    update = g.mul(group["lr"])
                state = self.state[p]
                if group["momentum"] > 0:
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = update.clone()
                    else:
                        state["momentum_buffer"].mul_(group["momentum"]).add_(update)
                    update = state["momentum_buffer"]
                p.sub_(update)
        return loss


# the trainer's optimiser names (the estimators' ``optimizer``) -> classes
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {"adam": Adam, "lars": LARS}
