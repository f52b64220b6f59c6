"""CEBRA's contrastive objective: InfoNCE on behaviour/time positives, or hybrid.

Owns the criterion (and its learned temperature); does not own data, devices or the loop.
"""

from __future__ import annotations

import torch

from neurolatent.losses import InfoNCE
from neurolatent.objectives.base import Objective

__all__ = ["METRICS", "ContrastiveObjective"]

METRICS = ("loss", "alignment", "uniformity", "temperature")


class ContrastiveObjective(Objective):
    """InfoNCE over the embeddings of a sampled batch.

    With a ``positive_time`` part (hybrid), the loss is InfoNCE with time positives on the
    whole embedding plus InfoNCE with behaviour positives on the first
    ``hybrid_behavior_dims`` dimensions.

    Examples
    --------
    >>> obj = ContrastiveObjective(InfoNCE())
    >>> z = torch.nn.functional.normalize(torch.ones(4, 3), dim=1)
    >>> loss, metrics = obj({"reference": z, "positive": z, "negative": z})
    >>> round(float(loss), 4)  # all similarities equal: log(4)
    1.3863
    """

    metrics = METRICS

    def __init__(self, criterion: InfoNCE, hybrid_behavior_dims: int = 3,
                 chunk_size: int | None = None):
        super().__init__()
        self.criterion = criterion
        self.hybrid_behavior_dims = hybrid_behavior_dims
        self.chunk_size = chunk_size

    def batch_loss(self, batch, encoder) -> tuple[torch.Tensor, torch.Tensor]:
        """InfoNCE on the embeddings of every part of ``batch``."""
        return self(batch.embed(encoder))

    def forward(self, embeddings: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the loss and a detached (4,) tensor of :data:`METRICS`."""
        ref, pos, neg = embeddings["reference"], embeddings["positive"], embeddings["negative"]
        if "positive_time" in embeddings:
            k = self.hybrid_behavior_dims
            behaviour = self.criterion(ref[:, :k], pos[:, :k], neg[:, :k], self.chunk_size)
            time = self.criterion(ref, embeddings["positive_time"], neg, self.chunk_size)
            terms = [b + t for b, t in zip(behaviour, time, strict=True)]
        else:
            terms = list(self.criterion(ref, pos, neg, self.chunk_size))
        metrics = torch.stack([*(t.detach() for t in terms), self.criterion.temperature])
        return terms[0], metrics
