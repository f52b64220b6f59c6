"""Topology of embeddings (public facade of `neurolatent.evaluation.topology`).

>>> from neurolatent import topology
>>> sorted(topology.__all__)[:3]
['betti_numbers', 'circular_coordinates', 'circular_correlation']
"""

from neurolatent.evaluation.topology import (
    betti_numbers,
    circular_coordinates,
    circular_correlation,
    lifespans,
    persistence,
    shuffle_null,
)

__all__ = ["betti_numbers", "circular_coordinates", "circular_correlation", "lifespans",
           "persistence", "shuffle_null"]
