"""The paper's artificial spiking benchmark (Methods, "Artificial spiking dataset"; pi-VAE's).

A label c ~ U[0, 2π) sets a 2-D latent z ~ N(μ(c), Σ(c)) with μ(c) = (c, 2 sin c) and
Σ(c) = diag(0.6 − 0.3|sin c|, 0.3|sin c|); a fixed, randomly initialised invertible network
(a lift to the neuron dimension followed by four RealNVP affine-coupling blocks, then a
softplus) maps z to firing rates; a noise model turns rates into observations. Written
from that description: everything is drawn from one ``numpy.random.Generator`` seeded by
``seed``, with the network drawn from its own stream so every noise model of one seed
sees the same rates.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import truncnorm

__all__ = ["NOISE_MODELS", "synthetic_pivae"]

NOISE_MODELS = ("poisson", "gaussian", "uniform", "refractory")
_HIDDEN = 64  # width of the coupling networks
_REFRACTORY_S = 0.010  # refractory period of the "refractory" noise model
_REFRACTORY_RATE_HZ = 110.0  # mean intensity of the "refractory" noise model
_REFRACTORY_BIN_S = 0.1  # bin over which the refractory spike train is counted


def _mlp(rng: np.random.Generator, d_in: int, d_out: int, scale: float = 1.0):
    """A random two-layer tanh network (Glorot-normal weights)."""
    w1 = rng.normal(0, np.sqrt(2 / (d_in + _HIDDEN)), (d_in, _HIDDEN))
    w2 = rng.normal(0, scale * np.sqrt(2 / (_HIDDEN + d_out)), (_HIDDEN, d_out))
    b1 = rng.normal(0, 0.1, _HIDDEN)
    return lambda x: np.tanh(x @ w1 + b1) @ w2


def _rates(latent: np.ndarray, n_neurons: int, rng: np.random.Generator) -> np.ndarray:
    """Map (T, 2) latents to (T, n_neurons) positive rates by a random invertible network."""
    # Lift: keep z and append a nonlinear function of it, so the map stays injective.
    lift = _mlp(rng, 2, n_neurons - 2, scale=2.0)
    h = np.concatenate([latent, lift(latent)], axis=1)
    half = n_neurons // 2
    for _ in range(4):  # four RealNVP affine-coupling blocks, each after a fixed permutation
        h = h[:, rng.permutation(n_neurons)]
        scale_net = _mlp(rng, half, n_neurons - half, scale=0.5)
        shift_net = _mlp(rng, half, n_neurons - half)
        first, second = h[:, :half], h[:, half:]
        # tanh-bounded log-scale keeps the flow well conditioned (as in RealNVP)
        second = second * np.exp(np.tanh(scale_net(first))) + shift_net(first)
        h = np.concatenate([first, second], axis=1)
    return np.logaddexp(0.0, h)  # softplus: positive rates


def _refractory_counts(rates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Spike counts of a dead-time Poisson process (intervals τ + Exp(1/λ)) in one bin."""
    intensity = rates * (_REFRACTORY_RATE_HZ / rates.mean())  # mean intensity 110 Hz
    max_spikes = int(np.ceil(_REFRACTORY_BIN_S / _REFRACTORY_S)) + 1  # bound by dead time
    counts = np.zeros(rates.shape, dtype=np.int64)
    clock = rng.exponential(1.0, rates.shape) / intensity  # first spike: no dead time before
    for _ in range(max_spikes):
        fired = clock < _REFRACTORY_BIN_S
        counts += fired
        clock = clock + _REFRACTORY_S + rng.exponential(1.0, rates.shape) / intensity
    return counts


def synthetic_pivae(n_samples: int = 15000, n_neurons: int = 100, noise: str = "poisson",
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate the pi-VAE / CEBRA synthetic benchmark.

    Parameters
    ----------
    n_samples : number of independent samples (time points)
    n_neurons : number of neurons (even, ≥ 4)
    noise : "poisson" (spike counts ~ Poisson(rate)); "gaussian" (rate + N(0, 1) noise truncated
        to [0, 1000]); "uniform" (rate + U[0, 2]); "refractory" (counts in a 100 ms bin of a spike
        train with a 10 ms refractory period, intensity scaled to a mean of 110 Hz)
    seed : everything is deterministic in ``seed``; the rate network depends on ``seed`` and
        ``n_neurons`` only, so the noise models of one seed share their rates

    Returns
    -------
    X : (n_samples, n_neurons) float32 observations
    label : (n_samples,) float32, c in [0, 2π)
    latent : (n_samples, 2) float32, the true z

    Examples
    --------
    >>> X, label, latent = synthetic_pivae(1000, 20, seed=1)
    >>> X.shape, label.shape, latent.shape, X.dtype.name
    ((1000, 20), (1000,), (1000, 2), 'float32')
    >>> bool((X == synthetic_pivae(1000, 20, seed=1)[0]).all())
    True
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < 1:
        raise ValueError(f"n_samples must be an int >= 1; got {n_samples!r}.")
    if isinstance(n_neurons, bool) or not isinstance(n_neurons, (int, np.integer)) \
            or n_neurons < 4 or n_neurons % 2:
        raise ValueError(f"n_neurons must be an even int >= 4 (RealNVP splits it in halves); "
                         f"got {n_neurons!r}.")
    if noise not in NOISE_MODELS:
        raise ValueError(f"noise must be one of {NOISE_MODELS}; got {noise!r}.")
    latent_rng, net_rng, noise_rng = (np.random.default_rng(s) for s in
                                      np.random.SeedSequence(seed).spawn(3))
    label = latent_rng.uniform(0, 2 * np.pi, n_samples)
    mean = np.c_[label, 2 * np.sin(label)]
    variance = np.c_[0.6 - 0.3 * np.abs(np.sin(label)), 0.3 * np.abs(np.sin(label))]
    latent = mean + np.sqrt(variance) * latent_rng.standard_normal((n_samples, 2))
    rates = _rates(latent, int(n_neurons), net_rng)
    if noise == "poisson":
        X = noise_rng.poisson(rates)
    elif noise == "gaussian":
        # the paper's "additive truncated ([0, 1000]) Gaussian noise with s.d. 1": the noise
        # is a N(0, 1) truncated to [0, 1000], i.e. half-normal, drawn by inverse CDF
        X = rates + truncnorm.rvs(0.0, 1000.0, size=rates.shape, random_state=noise_rng)
    elif noise == "uniform":
        X = rates + noise_rng.uniform(0.0, 2.0, rates.shape)
    else:
        X = _refractory_counts(rates, noise_rng)
    return X.astype(np.float32), label.astype(np.float32), latent.astype(np.float32)
