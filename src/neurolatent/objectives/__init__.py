"""Objectives: what is optimised on top of the shared sampler -> encoder -> trainer path."""

from neurolatent.objectives.contrastive import ContrastiveObjective

__all__ = ["ContrastiveObjective"]
