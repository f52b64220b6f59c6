"""Datasets: synthetic generators with known latents (real-data loaders come later)."""

from neurolatent.datasets.synthetic import latent_population, place_cells

__all__ = ["latent_population", "place_cells"]
