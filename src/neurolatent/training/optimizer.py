"""The trainer's optimiser: PyTorch's Adam, without the import of ``torch._dynamo``.

``torch.optim.Optimizer`` marks its methods as not compilable through decorators that
import ``torch._dynamo`` on their first call (and ``step`` imports it on every call). That
import holds ~65 MiB of resident modules (sympy among them) and takes ~1 s: on a small fit
(T = 10k, N = 120) about half of what training adds above the libraries' own import, and
most of a short fit's start-up. We never compile the optimiser, so the undecorated methods
do the same work: the class below calls them, and the arithmetic is torch's own (the same
fused kernel, bit for bit; tested against ``torch.optim.Adam``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["Adam"]


def _undecorated(method: Callable) -> Callable:
    # ``functools.wraps`` records the wrapped function: follow the chain to torch's own
    # body. A torch release without ``__wrapped__`` leaves the method as it is, which
    # brings the import back but changes no result.
    return inspect.unwrap(method)


class Adam(torch.optim.Adam):
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

    add_param_group = _undecorated(torch.optim.Optimizer.add_param_group)
    zero_grad = _undecorated(torch.optim.Optimizer.zero_grad)
    state_dict = _undecorated(torch.optim.Optimizer.state_dict)
    load_state_dict = _undecorated(torch.optim.Optimizer.load_state_dict)
    _step = _undecorated(torch.optim.Adam.step)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adam update of every parameter with a gradient (``closure`` as in PyTorch)."""
        # What the removed decorator does besides its compiler graph breaks: the update
        # is recorded by autograd only for a ``differentiable`` optimiser.
        with torch.set_grad_enabled(self.defaults["differentiable"]):
            return self._step(closure)
