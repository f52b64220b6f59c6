"""Assemble a sampling scheme (prior + conditionals) from a recording's labels.

A scheme returns, for each step, index tensors named ``reference``, ``positive``
(behaviour or time), optionally ``positive_time`` (hybrid), and ``negative``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from neurolatent.models.receptive_field import ReceptiveField
from neurolatent.recording import Recording
from neurolatent.sampling.distributions import (
    BalancedPrior,
    NearestLabel,
    SameLabel,
    StratifiedPrior,
    TimeJitter,
    TimeOffset,
    UniformPrior,
)
from neurolatent.sampling.groups import Groups
from neurolatent.sampling.nearest import NearestIndex

__all__ = ["ContrastiveSampler", "SamplingConfig", "build_sampler", "time_valid_pool"]


@dataclass(frozen=True)
class SamplingConfig:
    """What the estimator's parameters mean for sampling.

    ``conditional``: "time", "time_delta" or "delta_normal" (for continuous labels);
    ``discrete_prior``: "empirical" or "uniform"; ``hybrid`` adds time positives;
    ``jitter`` = k replaces the time-offset positive ``t + delta`` by one drawn uniformly
    from ``[t - k, t + k]`` inside the trial (:class:`TimeJitter`).

    >>> SamplingConfig(conditional="time", time_offsets=(1, 5)).time_offsets
    (1, 5)
    """

    conditional: str = "time_delta"
    time_offsets: tuple[int, ...] = (1,)
    delta: float | None = None
    discrete_prior: str = "empirical"
    hybrid: bool = False
    jitter: int | None = None


class ContrastiveSampler:
    """Draws reference, positive(s) and negatives as sample indices.

    Examples
    --------
    >>> rec = Recording.from_arrays(torch.randn(50, 3))
    >>> sampler = build_sampler(rec, ReceptiveField(1, 1), SamplingConfig(conditional="time"))
    >>> batch = sampler.sample(8, 16, torch.Generator().manual_seed(0))
    >>> {k: tuple(v.shape) for k, v in batch.items()}
    {'reference': (8,), 'positive': (8,), 'negative': (16,)}
    >>> bool(((batch['positive'] - batch['reference']) == 1).all())
    True
    """

    def __init__(self, reference_prior, negative_prior, conditionals: dict, pool: torch.Tensor,
                 negative_pool: torch.Tensor):
        self.reference_prior = reference_prior
        self.negative_prior = negative_prior
        self.conditionals = conditionals
        self.pool = pool
        self.negative_pool = negative_pool

    def _positives(self, reference, generator) -> dict[str, torch.Tensor]:
        parts = {"reference": reference}
        for name, conditional in self.conditionals.items():
            parts[name] = conditional.sample(reference, generator)
        return parts

    def sample(self, batch_size: int, num_negatives: int,
               generator: torch.Generator) -> dict[str, torch.Tensor]:
        parts = self._positives(self.reference_prior.sample(batch_size, generator), generator)
        parts["negative"] = self.negative_prior.sample(num_negatives, generator)
        return parts

    def sample_full(self, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Full-batch step: every pool sample is a reference; negatives are a permutation."""
        parts = self._positives(self.pool, generator)
        perm = torch.randperm(self.pool.shape[0], generator=generator, device=self.pool.device)
        parts["negative"] = self.pool[perm]
        return parts


def time_valid_pool(valid: torch.Tensor, segments: torch.Tensor,
                    offsets: tuple[int, ...]) -> torch.Tensor:
    """Indices t whose window and every shifted window t + delta are valid in t's trial.

    >>> valid = torch.tensor([False, True, True, True, True, False])
    >>> segments = torch.tensor([0, 0, 0, 1, 1, 1])
    >>> time_valid_pool(valid, segments, (1,)).tolist()  # 2 -> 3 crosses a trial boundary
    [1, 3]
    """
    keep = valid.clone()
    for delta in offsets:
        keep &= _ahead_in_trial(segments, delta, valid)
    return torch.nonzero(keep).reshape(-1)


def _ahead_in_trial(segments: torch.Tensor, delta: int,
                    valid: torch.Tensor | None = None) -> torch.Tensor:
    """Mask of t such that t + delta exists, lies in t's trial (and is ``valid``)."""
    num = segments.shape[0]
    ahead = torch.zeros(num, dtype=torch.bool, device=segments.device)
    if delta < num:
        ahead[: num - delta] = segments[delta:] == segments[: num - delta]
        if valid is not None:
            ahead[: num - delta] &= valid[delta:]
    return ahead


def _delta_pool(segments: torch.Tensor, offsets: tuple[int, ...]) -> torch.Tensor:
    """Indices k such that k - delta exists in k's trial for every delta (labels only)."""
    keep = torch.ones_like(segments, dtype=torch.bool)
    for delta in offsets:
        behind = torch.zeros_like(keep)
        behind[delta:] = _ahead_in_trial(segments, delta)[: max(len(keep) - delta, 0)]
        keep &= behind
    return torch.nonzero(keep).reshape(-1)


def _codes(values: torch.Tensor) -> tuple[torch.Tensor, int]:
    unique, codes = torch.unique(values, return_inverse=True)
    return codes, int(unique.shape[0])


def build_sampler(
    recording: Recording,
    rf: ReceptiveField,
    config: SamplingConfig,
    invariant: torch.Tensor | None = None,
    strata: torch.Tensor | None = None,
) -> ContrastiveSampler:
    """Build the sampler for ``recording``'s label kind.

    ``invariant`` (per-sample integer codes of a nuisance variable) makes references and
    negatives uniform over its values and draws each positive from a uniformly chosen
    value, so the embedding cannot encode it. Multi-session training is the same scheme
    with the session as the nuisance variable (or the (session, value) pair) and the
    session as ``strata`` (per-sample codes): every step then draws the requested number of
    references and negatives from *each* stratum, balanced over the nuisance within it.

    Examples
    --------
    >>> rec = Recording.from_arrays(torch.zeros(100, 2), [torch.arange(100) % 4])
    >>> sampler = build_sampler(rec, ReceptiveField(0, 1), SamplingConfig("discrete"))
    >>> batch = sampler.sample(5, 5, torch.Generator().manual_seed(0))
    >>> bool((batch["positive"] % 4 == batch["reference"] % 4).all())
    True
    """
    valid_mask = recording.valid_mask(rf)
    valid = torch.nonzero(valid_mask).reshape(-1)
    segments = recording.segment_ids()
    offsets = torch.tensor(config.time_offsets, device=recording.device)
    kind = recording.label_kind
    if config.jitter is not None:
        # every valid sample has an in-trial positive within +-k (at least itself)
        time_pool, time_offset = valid, TimeJitter(valid_mask, segments, config.jitter)
    else:
        time_pool = time_valid_pool(valid_mask, segments, config.time_offsets)
        time_offset = TimeOffset(offsets)
    uses_time = kind == "none" or config.hybrid or config.conditional == "time"
    if uses_time and time_pool.shape[0] == 0:
        raise ValueError(
            f"time_offsets={config.time_offsets} leave no reference whose positive lies in the "
            "same trial/recording; use smaller time_offsets or longer trials."
        )
    if kind == "none" or (config.conditional == "time" and not config.hybrid):
        return ContrastiveSampler(UniformPrior(time_pool), UniformPrior(valid),
                                  {"positive": time_offset}, time_pool, valid)

    pool = time_pool if config.hybrid else valid
    inv_codes = num_inv = None
    if invariant is not None:
        inv_codes, num_inv = _codes(invariant)
    label = recording.discrete  # codes 0..K-1 or None
    num_labels = len(recording.classes) if recording.classes is not None else 0

    def prior_over(indices: torch.Tensor):
        if inv_codes is not None:
            groups = Groups(inv_codes[indices], indices, num_inv)
            if strata is None:
                return BalancedPrior(groups)
            present = torch.unique(inv_codes[indices])
            sample_of = torch.zeros(num_inv, dtype=torch.long, device=indices.device)
            sample_of[inv_codes[indices]] = indices  # any sample: a code lies in one stratum
            stratum_of = strata[sample_of[present]]
            return StratifiedPrior(groups, Groups(stratum_of, present, int(strata.max()) + 1))
        if kind == "mixed" or (kind == "discrete" and config.discrete_prior == "uniform"):
            return BalancedPrior(Groups(label[indices], indices, num_labels))
        return UniformPrior(indices)

    # Restriction of the positive search: by label, by a drawn nuisance value, or by a
    # (label, nuisance value) pair drawn among the pairs where the label occurs.
    pairs_of_label = None
    if inv_codes is not None and label is not None:
        pair = label * num_inv + inv_codes
        present = torch.unique(pair[valid])
        pairs_of_label = Groups(present // num_inv, present, num_labels)
        restrict, num_restrict = pair, num_labels * num_inv
    elif inv_codes is not None:
        restrict, num_restrict = inv_codes, num_inv
    elif label is not None:
        restrict, num_restrict = label, num_labels
    else:
        restrict, num_restrict = None, 0

    if kind == "discrete":
        positive = SameLabel(Groups(restrict[valid], valid, num_restrict), restrict,
                             pairs_of_label, label)
    else:
        index = NearestIndex(recording.continuous, valid,
                             None if restrict is None else restrict[valid])
        search_group = None
        if pairs_of_label is not None:
            def search_group(reference, generator):
                return pairs_of_label.draw(label[reference], generator)
        elif inv_codes is not None:
            inv_groups = Groups(inv_codes[valid], valid, num_inv)

            def search_group(reference, generator):
                return inv_groups.draw_group(reference.shape[0], generator)
        elif label is not None:
            def search_group(reference, generator):
                return label[reference]
        mode = "delta_normal" if config.conditional == "delta_normal" else "time_delta"
        delta_pool = _delta_pool(segments, config.time_offsets)
        if mode == "time_delta" and delta_pool.shape[0] == 0:
            raise ValueError(f"time_offsets={config.time_offsets} exceed every trial's length.")
        positive = NearestLabel(recording.continuous, index, mode, TimeOffset(offsets), delta_pool,
                                std=config.delta or 0.0, search_group=search_group)
    conditionals = {"positive": positive}
    if config.hybrid:
        conditionals["positive_time"] = time_offset
    return ContrastiveSampler(prior_over(pool), prior_over(valid), conditionals, pool, valid)
