"""Sampling of reference, positive and negative indices: the heart of CEBRA.

Samplers see labels and indices, never the neural signal.
"""

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
from neurolatent.sampling.nearest import NearestIndex, brute_force_nearest
from neurolatent.sampling.schemes import (
    ContrastiveSampler,
    SamplingConfig,
    build_sampler,
    time_valid_pool,
)

__all__ = [
    "BalancedPrior",
    "ContrastiveSampler",
    "Groups",
    "NearestIndex",
    "NearestLabel",
    "SameLabel",
    "SamplingConfig",
    "StratifiedPrior",
    "TimeJitter",
    "TimeOffset",
    "UniformPrior",
    "brute_force_nearest",
    "build_sampler",
    "time_valid_pool",
]
