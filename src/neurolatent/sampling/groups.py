"""Uniform draws within groups of samples (classes, trials, nuisance values, sessions).

Vectorised torch on the fit device; every random number comes from the caller's generator.
"""

from __future__ import annotations

import torch

__all__ = ["Groups", "uniform"]


def uniform(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """``n`` uniform numbers in [0, 1) from ``generator`` (float64 where supported, so that
    ``floor(u * count)`` stays uniform for counts in the millions).

    >>> uniform(3, torch.Generator().manual_seed(0), torch.device("cpu")).dtype
    torch.float64
    """
    dtype = torch.float32 if device.type == "mps" else torch.float64
    return torch.rand(n, generator=generator, device=device, dtype=dtype)


def draw_below(counts: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One uniform integer in ``[0, counts[i])`` per entry (counts must be positive).

    >>> draw_below(torch.tensor([1, 1, 1]), torch.Generator().manual_seed(0)).tolist()
    [0, 0, 0]
    """
    u = uniform(counts.shape[0], generator, counts.device)
    return (u * counts).long().clamp_max(counts - 1)


class Groups:
    """Sample indices grouped by an integer code, for uniform draws within a group.

    Parameters
    ----------
    codes : torch.Tensor of shape (n,), int64 in [0, num_groups)
    members : torch.Tensor of shape (n,), the sample index of each entry
    num_groups : int

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> groups = Groups(torch.tensor([1, 0, 1, 1]), torch.tensor([10, 11, 12, 13]), 2)
    >>> groups.counts.tolist()
    [1, 3]
    >>> sorted(set(groups.draw(torch.tensor([1] * 50), g).tolist()))
    [10, 12, 13]
    """

    def __init__(self, codes: torch.Tensor, members: torch.Tensor, num_groups: int):
        order = torch.argsort(codes, stable=True)
        self.members = members[order]
        self.counts = torch.bincount(codes, minlength=num_groups)
        self.starts = torch.cumsum(self.counts, 0) - self.counts
        self.nonempty = torch.nonzero(self.counts).reshape(-1)

    @property
    def num_groups(self) -> int:
        return int(self.counts.shape[0])

    def draw(self, group: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A uniformly drawn member of ``group[i]`` for every i (groups must be non-empty)."""
        return self.members[self.starts[group] + draw_below(self.counts[group], generator)]

    def draw_group(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` groups drawn uniformly among the non-empty ones."""
        pick = draw_below(self.nonempty.new_full((n,), self.nonempty.shape[0]), generator)
        return self.nonempty[pick]

    def draw_balanced(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Ancestral sampling: a uniform group, then a uniform member of it."""
        return self.draw(self.draw_group(n, generator), generator)
