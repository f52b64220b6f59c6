"""What every objective provides to the one training loop.

An objective owns its extra modules (temperature, projectors, predictors, EMA targets) and
its loss. It receives a :class:`~neurolatent.training.Batch` -- the step's windows, gathered
and augmented once -- and the online encoder, and returns the loss plus a detached vector of
its :attr:`Objective.metrics`. It never touches data handling, devices, RNG or checkpoints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import torch
from torch import nn

if TYPE_CHECKING:  # pragma: no cover
    from neurolatent.training.batch import Batch

__all__ = ["Objective"]


class Objective(nn.Module):
    """Base class: the per-step loss on a batch, plus an optional after-step hook.

    Examples
    --------
    >>> class Zero(Objective):
    ...     metrics = ("loss",)
    ...     def batch_loss(self, batch, encoder):
    ...         loss = torch.zeros(())
    ...         return loss, loss[None]
    >>> Zero().metrics
    ('loss',)
    """

    #: names of the values in the metrics vector, in order; the first is the loss
    metrics: ClassVar[tuple[str, ...]] = ("loss",)

    def batch_loss(self, batch: Batch, encoder: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the scalar loss and a detached (len(metrics),) tensor."""
        raise NotImplementedError

    def after_step(self, step: int, total: int) -> None:
        """Called after each optimiser step (``step`` counts from 1); e.g. EMA updates."""
