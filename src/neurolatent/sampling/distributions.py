"""Priors (where references and negatives come from) and conditionals (the positive of a
reference). They see labels and indices, never the neural signal; all draws come from the
generator passed in, on the device of the index tensors.
"""

from __future__ import annotations

import torch

from neurolatent.sampling.groups import Groups, draw_below
from neurolatent.sampling.nearest import NearestIndex

__all__ = [
    "BalancedPrior",
    "NearestLabel",
    "SameLabel",
    "StratifiedPrior",
    "TimeJitter",
    "TimeOffset",
    "UniformPrior",
]


class UniformPrior:
    """Uniform over a pool of sample indices.

    Examples
    --------
    >>> prior = UniformPrior(torch.arange(5, 10))
    >>> x = prior.sample(1000, torch.Generator().manual_seed(0))
    >>> int(x.min()), int(x.max())
    (5, 9)
    """

    def __init__(self, pool: torch.Tensor):
        self.pool = pool

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        counts = self.pool.new_full((n,), self.pool.shape[0])
        return self.pool.index_select(0, draw_below(counts, generator))


class BalancedPrior:
    """Uniform over groups (classes or nuisance values), then uniform within the group.

    Examples
    --------
    >>> groups = Groups(torch.tensor([0, 0, 0, 1]), torch.arange(4), 2)
    >>> x = BalancedPrior(groups).sample(4000, torch.Generator().manual_seed(0))
    >>> 0.45 < float((x == 3).float().mean()) < 0.55
    True
    """

    def __init__(self, groups: Groups):
        self.groups = groups

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.groups.draw_balanced(n, generator)


class StratifiedPrior:
    """``n`` draws from *every* stratum, in stratum order (multi-session: the same number of
    references from each session, irrespective of session length).

    Without ``strata`` every non-empty group is a stratum. With ``strata`` (a
    :class:`Groups` whose codes are strata and whose members are group codes), each
    stratum's ``n`` draws are balanced over its groups: a uniform group, then a uniform
    member.

    Examples
    --------
    >>> groups = Groups(torch.tensor([0, 0, 0, 1]), torch.arange(4), 2)
    >>> StratifiedPrior(groups).sample(3, torch.Generator().manual_seed(0))[3:].tolist()
    [3, 3, 3]
    """

    def __init__(self, groups: Groups, strata: Groups | None = None):
        self.groups = groups
        self.strata = strata

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        if self.strata is None:
            group = self.groups.nonempty.repeat_interleave(n)
        else:
            group = self.strata.draw(self.strata.nonempty.repeat_interleave(n), generator)
        return self.groups.draw(group, generator)


class TimeOffset:
    """Positive at ``t + delta``, delta drawn per sample from ``offsets``.

    The reference pool must only contain samples whose shifted window stays in the
    same trial for every offset (see :func:`time_valid_pool`).

    Examples
    --------
    >>> cond = TimeOffset(torch.tensor([2, 4]))
    >>> ref = torch.arange(100)
    >>> delta = cond.sample(ref, torch.Generator().manual_seed(0)) - ref
    >>> sorted(set(delta.tolist()))
    [2, 4]
    """

    def __init__(self, offsets: torch.Tensor):
        self.offsets = offsets

    def draw_offsets(self, n: int, generator: torch.Generator) -> torch.Tensor:
        counts = self.offsets.new_full((n,), self.offsets.shape[0])
        return self.offsets.index_select(0, draw_below(counts, generator))

    def sample(self, reference: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return reference + self.draw_offsets(reference.shape[0], generator)


class TimeJitter:
    """Positive drawn uniformly from ``[t - k, t + k]`` inside the reference's trial.

    The symmetric temporal view of the Dyer-lab methods: a nearby state on either side,
    ``t`` itself included (so ``k = 0`` leaves only the augmentation of the same sample).
    Near a trial edge the range is cut at the trial's first/last valid sample, so every
    valid sample can be a reference and no positive ever crosses a trial.

    Parameters
    ----------
    valid : torch.Tensor of shape (time,), bool
        Samples with a complete window (contiguous inside each segment).
    segments : torch.Tensor of shape (time,), int64
    k : int

    Examples
    --------
    >>> valid = torch.tensor([True] * 5 + [True] * 5)
    >>> segments = torch.tensor([0] * 5 + [1] * 5)
    >>> cond = TimeJitter(valid, segments, 2)
    >>> ref = torch.full((200,), 4)  # last sample of trial 0
    >>> sorted(set(cond.sample(ref, torch.Generator().manual_seed(0)).tolist()))
    [2, 3, 4]
    """

    def __init__(self, valid: torch.Tensor, segments: torch.Tensor, k: int):
        self.k = int(k)
        index = torch.arange(segments.shape[0], device=segments.device)
        num = int(segments.max()) + 1 if segments.numel() else 0
        big = segments.shape[0]
        # first/last valid sample of every segment (valid windows are contiguous in a trial)
        first = torch.full((num,), big, device=segments.device, dtype=torch.long)
        last = torch.full((num,), -1, device=segments.device, dtype=torch.long)
        first.scatter_reduce_(0, segments[valid], index[valid], reduce="amin")
        last.scatter_reduce_(0, segments[valid], index[valid], reduce="amax")
        self.first, self.last, self.segments = first, last, segments

    def sample(self, reference: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        seg = self.segments[reference]
        low = torch.maximum(reference - self.k, self.first[seg])
        high = torch.minimum(reference + self.k, self.last[seg])
        return low + draw_below(high - low + 1, generator)


class SameLabel:
    """Discrete positive: a uniform sample with the reference's label.

    With ``within`` (pairs of (label, nuisance value) as groups, and for each label the
    list of its non-empty pairs), the positive comes from a nuisance value drawn uniformly
    among those where the label occurs — the invariance recipe of the paper.

    Examples
    --------
    >>> codes = torch.tensor([0, 1, 0, 1])
    >>> cond = SameLabel(Groups(codes, torch.arange(4), 2), codes)
    >>> cond.sample(torch.tensor([0, 1, 2]), torch.Generator().manual_seed(0)).remainder(2).tolist()
    [0, 1, 0]
    """

    def __init__(
        self,
        by_group: Groups,
        group_of: torch.Tensor,
        pairs_of_label: Groups | None = None,
        label_of: torch.Tensor | None = None,
    ):
        self.by_group = by_group
        self.group_of = group_of  # per-sample group code: the label, or a (label, value) pair
        self.pairs_of_label = pairs_of_label
        self.label_of = label_of

    def sample(self, reference: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.pairs_of_label is None:
            group = self.group_of[reference]
        else:
            group = self.pairs_of_label.draw(self.label_of[reference], generator)
        return self.by_group.draw(group, generator)


class NearestLabel:
    """Continuous positive: the sample whose label is nearest to a perturbed reference label.

    ``mode="time_delta"``: query = c_t + (c_k - c_{k-delta}), k uniform over the pool of
    valid k (the empirical distribution of label changes over ``delta`` steps).
    ``mode="delta_normal"``: query = c_t + N(0, std^2 I).

    ``search_group`` maps a reference to the group the search is restricted to (same
    discrete label, a nuisance value drawn uniformly, ...) or is ``None``.

    Examples
    --------
    >>> labels = torch.linspace(0, 1, 11)[:, None]
    >>> cond = NearestLabel(labels, NearestIndex(labels, torch.arange(11)), "delta_normal",
    ...                     std=0.0)
    >>> cond.sample(torch.tensor([3, 7]), torch.Generator().manual_seed(0)).tolist()
    [3, 7]
    """

    def __init__(
        self,
        labels: torch.Tensor,
        index: NearestIndex,
        mode: str,
        time_offset: TimeOffset | None = None,
        delta_pool: torch.Tensor | None = None,
        std: float = 0.0,
        search_group=None,
    ):
        self.labels = labels
        self.index = index
        self.mode = mode
        self.time_offset = time_offset
        self.delta_pool = delta_pool  # indices k with k - max(offsets) valid
        self.std = std
        self.search_group = search_group

    def queries(self, reference: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        # index_select, not advanced indexing: the same rows, without the latter's
        # per-call overhead (~10 us per gather at T = 1M, a dozen gathers per step)
        base = self.labels.index_select(0, reference)
        n = reference.shape[0]
        if self.mode == "delta_normal":
            noise = torch.randn(base.shape, generator=generator, device=base.device)
            return base + self.std * noise
        counts = self.delta_pool.new_full((n,), self.delta_pool.shape[0])
        k = self.delta_pool.index_select(0, draw_below(counts, generator))
        delta = self.time_offset.draw_offsets(n, generator)
        return base + (self.labels.index_select(0, k) - self.labels.index_select(0, k - delta))

    def sample(self, reference: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        query = self.queries(reference, generator)
        group = None if self.search_group is None else self.search_group(reference, generator)
        return self.index.query(query, group)
