"""The training loop and the checkpoint format (one of each)."""

from neurolatent.training.trainer import Trainer, TrainerConfig, learning_rate_factor

__all__ = ["Trainer", "TrainerConfig", "learning_rate_factor"]
