"""The receptive field shared by encoders and the window gather, so the two never disagree."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ReceptiveField"]


@dataclass(frozen=True)
class ReceptiveField:
    """Window of input samples that produces the embedding of one time point.

    The embedding of time ``t`` reads samples ``[t - left, t + right)``.

    Examples
    --------
    >>> rf = ReceptiveField(5, 5)
    >>> rf.size
    10
    >>> ReceptiveField.centred(5)
    ReceptiveField(left=2, right=3)
    """

    left: int
    right: int

    @property
    def size(self) -> int:
        return self.left + self.right

    @classmethod
    def centred(cls, size: int) -> ReceptiveField:
        """The convention of the official package: ``left = size // 2``."""
        return cls(size // 2, size - size // 2)
