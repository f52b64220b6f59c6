"""The training loop and the checkpoint format (one of each)."""

from neurolatent.training.trainer import Trainer, TrainerConfig

__all__ = ["Trainer", "TrainerConfig"]
