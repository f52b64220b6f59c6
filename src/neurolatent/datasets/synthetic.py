"""Synthetic neural populations driven by a known latent, for demos and recovery tests.

Generators take a ``seed`` and use their own ``numpy.random.Generator``: no global RNG.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SyntheticData", "latent_population", "place_cells"]


@dataclass
class SyntheticData:
    """Neural activity with the latent that generated it.

    >>> SyntheticData(np.zeros((2, 3)), np.zeros((2, 1)), np.zeros(2)).neural.shape
    (2, 3)
    """

    neural: np.ndarray  # (time, neurons) float32
    latent: np.ndarray  # (time, dims) float32
    labels: np.ndarray  # (time, ...) what a user would record as behaviour


def place_cells(num_samples: int = 8000, num_neurons: int = 80, track_length: float = 1.6,
                seed: int = 0, dt: float = 0.025) -> SyntheticData:
    """A rat running back and forth on a linear track, with Poisson place cells.

    Each neuron fires around its place field in one running direction (as CA1 cells do),
    so the latent is (position, direction). ``labels`` holds [position, right, left] like
    the rat hippocampus data of the paper.

    Examples
    --------
    >>> data = place_cells(500, 20)
    >>> data.neural.shape, data.labels.shape
    ((500, 20), (500, 3))
    """
    rng = np.random.default_rng(seed)
    speed = np.abs(rng.normal(0.5, 0.15, size=num_samples)) * dt  # ~0.5 m/s
    position = np.empty(num_samples)
    direction = np.empty(num_samples)
    x, d = rng.uniform(0, track_length), 1.0
    for t in range(num_samples):
        x += d * speed[t]
        if x >= track_length or x <= 0:
            x = float(np.clip(x, 0, track_length))
            d = -d
        position[t], direction[t] = x, d
    centres = rng.uniform(0, track_length, size=num_neurons)
    preferred = rng.choice([-1.0, 1.0], size=num_neurons)
    width = rng.uniform(0.08, 0.2, size=num_neurons)
    peak = rng.uniform(10, 30, size=num_neurons)  # Hz
    tuning = np.exp(-0.5 * ((position[:, None] - centres) / width) ** 2)
    selectivity = np.where(direction[:, None] == preferred, 1.0, 0.15)
    rate = peak * tuning * selectivity + 0.5
    spikes = rng.poisson(rate * dt).astype(np.float32)
    labels = np.stack([position, direction > 0, direction < 0], axis=1).astype(np.float32)
    latent = np.stack([position, direction], axis=1).astype(np.float32)
    return SyntheticData(spikes, latent, labels)


def latent_population(num_samples: int = 6000, num_neurons: int = 60, latent_dims: int = 2,
                      smoothness: float = 40.0, noise: float = 0.1,
                      seed: int = 0) -> SyntheticData:
    """Population whose rates are a random nonlinear function of a smooth latent.

    The latent is a smoothed random walk (so time-contrastive learning can find it),
    mapped through a random two-layer network with softplus output and Poisson-like noise.

    Examples
    --------
    >>> data = latent_population(300, 10, 2)
    >>> data.neural.shape, data.latent.shape
    ((300, 10), (300, 2))
    """
    rng = np.random.default_rng(seed)
    steps = rng.normal(size=(num_samples + 400, latent_dims))
    kernel = np.exp(-0.5 * (np.arange(-200, 201) / smoothness) ** 2)
    smooth = np.stack([np.convolve(steps[:, i], kernel, mode="same")
                       for i in range(latent_dims)], axis=1)[200:-200]
    latent = (smooth - smooth.mean(0)) / smooth.std(0)
    hidden = np.tanh(latent @ rng.normal(size=(latent_dims, 32)) + rng.normal(size=32) * 0.5)
    rate = np.log1p(np.exp(hidden @ rng.normal(size=(32, num_neurons)) * 1.5))
    neural = rate + noise * rng.normal(size=rate.shape) * np.sqrt(rate + 1e-3)
    return SyntheticData(neural.astype(np.float32), latent.astype(np.float32),
                         latent.astype(np.float32))
