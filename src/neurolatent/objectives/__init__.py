"""Objectives: what is optimised on top of the shared sampler -> encoder -> trainer path."""

from neurolatent.objectives.base import Objective
from neurolatent.objectives.byol import BYOLObjective, MYOWObjective
from neurolatent.objectives.contrastive import ContrastiveObjective

__all__ = ["BYOLObjective", "ContrastiveObjective", "MYOWObjective", "Objective"]
