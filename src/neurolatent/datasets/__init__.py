"""Datasets: synthetic generators with known latents, loaders for the paper's recordings, and
file readers.

>>> from neurolatent import datasets
>>> "synthetic_pivae" in datasets.__all__ and "load_data" in datasets.__all__
True
"""

from neurolatent.datasets.pivae import NOISE_MODELS, synthetic_pivae
from neurolatent.datasets.real import (
    DATA_ENV,
    data_path,
    monkey_reaching,
    rat_hippocampus,
    rat_trials,
    sleep_states,
)
from neurolatent.datasets.synthetic import SyntheticData, latent_population, place_cells
from neurolatent.io import load_data, load_deeplabcut

__all__ = ["DATA_ENV", "NOISE_MODELS", "SyntheticData", "data_path", "latent_population",
           "load_data", "load_deeplabcut", "monkey_reaching", "place_cells", "rat_hippocampus",
           "rat_trials", "sleep_states", "synthetic_pivae"]
