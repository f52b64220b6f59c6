"""Augmented views of neural population activity (Dyer lab: neuron dropout, noise, pepper).

An augmentation maps a batch of input windows (batch, neurons, window) to a batch of the same
shape, drawing its randomness from the fit's ``torch.Generator``. Masks are drawn once per
sample and neuron and held over the whole window, so a dropped neuron is silent for the entire
window, as a neuron the recording missed would be.

The augmentations act on the values the encoder receives (we do not normalise for you). A
dropped neuron reads 0 by default: silence for raw counts, but its *mean rate* for z-scored
data. Both are used in practice -- the rodent script of ``nerdslab/myow`` drops after
z-scoring, its monkey-reach script drops raw rates and z-scores afterwards -- so the dropout
augmentations take ``silence``: the value a silent neuron has in the data you pass (a number,
or one per neuron; for z-scored data ``-mean / std``, see :func:`silence_of`). The default
stays 0 because it is right for raw counts and it is what a mask means without further
knowledge of the user's normalisation.

``CEBRA(augmentations=[...])`` (and ``BYOL``/``MYOW``) applies them to every training window
(references, positives and negatives, each with its own masks); ``transform`` never augments.
:class:`TemporalJitter` in the same list replaces the time-offset positive by a symmetric
in-trial jitter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = ["Augmentation", "Compose", "GaussianNoise", "NeuronDropout", "Pepper",
           "RandomizedNeuronDropout", "TemporalJitter", "from_spec", "silence_of",
           "split_augmentations", "to_spec", "two_views"]


def _check_probability(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a probability in [0, 1]; got {value!r}.")
    return float(value)


def _check_windows(windows: torch.Tensor) -> None:
    if not isinstance(windows, torch.Tensor) or windows.ndim != 3:
        raise ValueError("windows must be a tensor (batch, neurons, window); got "
                         f"{getattr(windows, 'shape', type(windows).__name__)}.")


class Augmentation:
    """Base class: subclasses implement ``__call__(windows, generator) -> windows``."""

    def __call__(self, windows: torch.Tensor,
                 generator: torch.Generator) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


def _uniform(shape: tuple[int, ...], like: torch.Tensor,
             generator: torch.Generator) -> torch.Tensor:
    return torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)


def _applied(windows: torch.Tensor, apply_p: float,
             generator: torch.Generator) -> torch.Tensor | None:
    """Per-sample (batch, 1, 1) mask of the samples the transform applies to (None: all).

    With ``apply_p`` = 1 nothing is drawn, so the generator's stream is the one an
    augmentation without ``apply_p`` would leave.
    """
    if apply_p >= 1:
        return None
    return (_uniform((windows.shape[0], 1, 1), windows, generator) < apply_p).to(windows.dtype)


def _per_neuron(value, name: str, minimum: float | None = None) -> float | list[float]:
    """A number or one per neuron, as a float or a list of floats (JSON-ready for
    checkpoints); ``minimum`` bounds every value from below."""
    if hasattr(value, "tolist") and not isinstance(value, (int, float)):
        value = value.tolist()  # numpy array or tensor

    def ok(v) -> bool:
        return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                and (minimum is None or v >= minimum))

    if isinstance(value, (list, tuple)):
        if len(value) > 0 and all(ok(v) for v in value):
            return [float(v) for v in value]
    elif ok(value):
        return float(value)
    bound = "" if minimum is None else f" >= {minimum:g}"
    raise ValueError(f"{name} must be a finite number{bound} or a non-empty 1-D sequence of "
                     f"such numbers (one per neuron); got {value!r}.")


def _neuron_values(value: float | list[float], windows: torch.Tensor,
                   name: str) -> torch.Tensor | float:
    """A per-neuron list as a (neurons, 1) tensor that broadcasts over windows (a number
    stays a number)."""
    if isinstance(value, float):
        return value
    if len(value) != windows.shape[1]:
        raise ValueError(f"{name} has {len(value)} values, one per neuron, but the windows "
                         f"have {windows.shape[1]} neurons.")
    return torch.tensor(value, dtype=windows.dtype, device=windows.device)[:, None]


def silence_of(mean, std) -> list[float]:
    """The z-score of zero activity, ``-mean / std`` per neuron: the ``silence`` of the
    dropout augmentations for data standardised with this ``mean`` and ``std``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 2.0], [4.0, 6.0]])
    >>> silence_of(X.mean(0), X.std(0))
    [-1.0, -2.0]
    """
    mean = torch.as_tensor(mean, dtype=torch.float64).reshape(-1)
    std = torch.as_tensor(std, dtype=torch.float64).reshape(-1)
    if mean.shape != std.shape or not bool((std > 0).all()):
        raise ValueError("silence_of: mean and std must be 1-D of equal length with std > 0; "
                         f"got shapes {tuple(mean.shape)} and {tuple(std.shape)}.")
    return (-mean / std).tolist()


def _drop_neurons(windows: torch.Tensor, rate: torch.Tensor | float,
                  generator: torch.Generator,
                  silence: float | list[float] = 0.0) -> torch.Tensor:
    """Silence each (sample, neuron) with probability ``rate``, for the whole window."""
    keep = (_uniform(windows.shape[:2], windows, generator) >= rate).unsqueeze(-1)
    if isinstance(silence, float) and silence == 0:
        return windows * keep
    return torch.where(keep, windows, _neuron_values(silence, windows, "silence"))


class RandomizedNeuronDropout(Augmentation):
    """Per sample, draw a rate r ~ U(0, ``p_max``) and silence each neuron with probability r;
    the whole transform is skipped for a sample with probability 1 − ``apply_p``. A dropped
    neuron reads ``silence`` (a number, or one per neuron; see the module docstring).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> out = RandomizedNeuronDropout(p_max=0.5)(torch.ones(4, 10, 3), g)
    >>> bool(((out == 0).all(-1) | (out == 1).all(-1)).all())  # one mask per window
    True
    >>> out = RandomizedNeuronDropout(1.0, silence=[-1.0, -2.0])(torch.ones(1000, 2, 1), g)
    >>> sorted(out.unique().tolist())
    [-2.0, -1.0, 1.0]
    """

    def __init__(self, p_max: float = 0.5, apply_p: float = 1.0,
                 silence: float | Sequence[float] = 0.0):
        self.p_max = _check_probability(p_max, "p_max")
        self.apply_p = _check_probability(apply_p, "apply_p")
        self.silence = _per_neuron(silence, "silence")

    def __call__(self, windows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        _check_windows(windows)
        batch = windows.shape[0]
        rate = self.p_max * _uniform((batch, 1), windows, generator)
        rate = rate * (_uniform((batch, 1), windows, generator) < self.apply_p)
        return _drop_neurons(windows, rate, generator, self.silence)


class NeuronDropout(Augmentation):
    """Silence each neuron with a fixed probability ``p`` (held over the window); a dropped
    neuron reads ``silence`` (a number, or one per neuron; see the module docstring).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> out = NeuronDropout(0.3)(torch.ones(2000, 50, 1), g)
    >>> round(float((out == 0).float().mean()), 2)
    0.3
    """

    def __init__(self, p: float = 0.2, silence: float | Sequence[float] = 0.0):
        self.p = _check_probability(p, "p")
        self.silence = _per_neuron(silence, "silence")

    def __call__(self, windows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        _check_windows(windows)
        return _drop_neurons(windows, self.p, generator, self.silence)


class GaussianNoise(Augmentation):
    """Add independent N(0, ``sigma``²) noise to every value; a sample is left as it is with
    probability 1 − ``apply_p``. ``sigma`` is a number or one per neuron: noise of a fixed
    size in the recording's units (say 1.5 Hz) is ``1.5 / std`` per neuron on z-scored data.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> out = GaussianNoise(0.5)(torch.zeros(1000, 20, 2), g)
    >>> round(float(out.std()), 1)
    0.5
    >>> out = GaussianNoise([0.1, 2.0])(torch.zeros(4000, 2, 1), g)
    >>> [round(v, 1) for v in out.std((0, 2)).tolist()]
    [0.1, 2.0]
    """

    def __init__(self, sigma: float | Sequence[float] = 0.1, apply_p: float = 1.0):
        self.sigma = _per_neuron(sigma, "sigma", minimum=0)
        self.apply_p = _check_probability(apply_p, "apply_p")

    def __call__(self, windows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        _check_windows(windows)
        sigma = _neuron_values(self.sigma, windows, "sigma")
        noise = torch.randn(windows.shape, generator=generator, device=windows.device,
                            dtype=windows.dtype)
        applied = _applied(windows, self.apply_p, generator)
        return windows + sigma * (noise if applied is None else noise * applied)


class Pepper(Augmentation):
    """Add ``c`` to each neuron with probability ``p`` (spurious activity, held over the window);
    a sample is left as it is with probability 1 − ``apply_p``. ``c`` is a number or one per
    neuron (as :class:`GaussianNoise`'s ``sigma``).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> out = Pepper(p=0.25, c=2.0)(torch.zeros(4000, 10, 3), g)
    >>> sorted(out.unique().tolist()), round(float((out > 0).float().mean()), 2)
    ([0.0, 2.0], 0.25)
    >>> out = Pepper(p=1.0, c=[0.5, 3.0])(torch.zeros(2, 2, 1), g)
    >>> out[:, :, 0].tolist()
    [[0.5, 3.0], [0.5, 3.0]]
    """

    def __init__(self, p: float = 0.1, c: float | Sequence[float] = 1.0, apply_p: float = 1.0):
        self.p = _check_probability(p, "p")
        self.c = _per_neuron(c, "c")
        self.apply_p = _check_probability(apply_p, "apply_p")

    def __call__(self, windows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        _check_windows(windows)
        c = _neuron_values(self.c, windows, "c")
        hit = (_uniform(windows.shape[:2], windows, generator) < self.p).unsqueeze(-1)
        applied = _applied(windows, self.apply_p, generator)
        hit = hit.to(windows.dtype) if applied is None else hit * applied
        return windows + c * hit


class TemporalJitter(Augmentation):
    """Temporal view: the positive is drawn uniformly from ``[t - k, t + k]`` in t's trial.

    Unlike the other augmentations this one acts on *which* sample is the view, not on its
    values, so the estimator hands it to the sampler (:class:`~neurolatent.sampling.TimeJitter`)
    instead of applying it to windows; it replaces the time-offset positive ``t + delta``.
    ``k = 0`` keeps only the value augmentations of the same sample.

    Examples
    --------
    >>> TemporalJitter(3)
    TemporalJitter(k=3)
    >>> split_augmentations([TemporalJitter(2), NeuronDropout(0.1)])
    ([NeuronDropout(p=0.1, silence=0.0)], 2)
    """

    def __init__(self, k: int = 2):
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"k must be an int >= 0 (bins on either side); got {k!r}.")
        self.k = k

    def __call__(self, windows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        raise TypeError("TemporalJitter chooses the positive sample and is applied by the "
                        "sampler; pass it in an estimator's augmentations list, not to windows.")


def split_augmentations(augmentations: Sequence | None) -> tuple[list | None, int | None]:
    """Separate the window augmentations from a :class:`TemporalJitter` (at most one).

    Returns the window augmentations (``None`` if there are none) and the jitter ``k``
    (``None`` without jitter).
    """
    if augmentations is None:
        return None, None
    jitters = [a for a in augmentations if isinstance(a, TemporalJitter)]
    if len(jitters) > 1:
        raise ValueError(f"augmentations: at most one TemporalJitter; got {len(jitters)}.")
    windows = [a for a in augmentations if not isinstance(a, TemporalJitter)]
    return windows or None, jitters[0].k if jitters else None


class Compose(Augmentation):
    """Apply several augmentations in order.

    Examples
    --------
    >>> Compose([NeuronDropout(0.1), GaussianNoise(0.1)])  # doctest: +NORMALIZE_WHITESPACE
    Compose(augmentations=[NeuronDropout(p=0.1, silence=0.0),
                           GaussianNoise(sigma=0.1, apply_p=1.0)])
    """

    def __init__(self, augmentations: Sequence[Augmentation]):
        augmentations = list(augmentations)
        bad = [a for a in augmentations if not callable(a)]
        if bad:
            raise TypeError(f"augmentations must be callables (windows, generator) -> "
                            f"windows; got {bad!r}.")
        self.augmentations = augmentations

    def __call__(self, windows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for augmentation in self.augmentations:
            windows = augmentation(windows, generator)
        return windows


def two_views(first: torch.Tensor, second: torch.Tensor, augmentation: Augmentation,
              generator: torch.Generator, shared: bool = False
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment two views of the same samples, with one draw for both (``shared``) or two.

    A shared draw reuses the generator state, so both views see identical masks and noise.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> a, b = two_views(torch.ones(5, 8, 2), torch.ones(5, 8, 2), NeuronDropout(0.5), g,
    ...                  shared=True)
    >>> bool(torch.equal(a, b))
    True
    """
    if not shared:
        return augmentation(first, generator), augmentation(second, generator)
    state = generator.get_state()
    out_first = augmentation(first, generator)
    after = generator.get_state()
    generator.set_state(state)
    out_second = augmentation(second, generator)
    generator.set_state(after)
    return out_first, out_second


def to_spec(augmentations: Sequence | None) -> list | None:
    """JSON form of a list of this module's augmentations (``None`` for anything else).

    >>> to_spec([NeuronDropout(0.1), Compose([GaussianNoise(0.2)])])[1]
    ['Compose', {'augmentations': [['GaussianNoise', {'sigma': 0.2, 'apply_p': 1.0}]]}]
    """
    if augmentations is None:
        return None
    spec = []
    for item in augmentations:
        if type(item).__name__ not in __all__ or type(item).__module__ != __name__:
            return None
        fields = dict(vars(item))
        if isinstance(item, Compose):
            fields["augmentations"] = to_spec(item.augmentations)
            if fields["augmentations"] is None:
                return None
        spec.append([type(item).__name__, fields])
    return spec


def from_spec(spec: list | None) -> list | None:
    """Inverse of :func:`to_spec`.

    >>> from_spec([["Pepper", {"p": 0.1, "c": 1.0}]])  # apply_p: saved before it existed
    [Pepper(p=0.1, c=1.0, apply_p=1.0)]
    """
    if spec is None:
        return None
    out = []
    for name, fields in spec:
        if name not in __all__ or not isinstance(globals()[name], type) or name == "Augmentation":
            raise ValueError(f"augmentations: unknown augmentation {name!r} in checkpoint.")
        fields = dict(fields)
        if name == "Compose":
            fields["augmentations"] = from_spec(fields["augmentations"])
        out.append(globals()[name](**fields))
    return out
