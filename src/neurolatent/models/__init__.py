"""Encoder registry: official model names -> encoder parameters (one class, many names)."""

from __future__ import annotations

import fnmatch

import torch

from neurolatent.models.encoders import ConvEncoder, init_parameters
from neurolatent.models.receptive_field import ReceptiveField

__all__ = ["MODELS", "ConvEncoder", "ReceptiveField", "init_parameters", "make_encoder",
           "supported_models"]

# name -> keyword arguments of ConvEncoder; "-mse" models are unnormalised (Euclidean).
MODELS: dict[str, dict] = {
    "offset1-model": {"receptive_field": 1},
    "offset1-model-v2": {"receptive_field": 1, "variant": "v2"},
    "offset1-model-mse": {"receptive_field": 1, "normalize": False},
    # MYOW's BatchNorm MLP; "-mse" unnormalised, as MYOW's own representation
    "offset1-model-bn": {"receptive_field": 1, "variant": "bn"},
    "offset1-model-bn-mse": {"receptive_field": 1, "variant": "bn", "normalize": False},
    "offset3-model-bn-mse": {"receptive_field": 3, "variant": "bn", "normalize": False},
    "offset5-model": {"receptive_field": 5},
    "offset10-model": {"receptive_field": 10},
    "offset10-model-mse": {"receptive_field": 10, "normalize": False},
    "offset15-model": {"receptive_field": 15},
    "offset20-model": {"receptive_field": 20},
    "offset36-model": {"receptive_field": 36},
    "offset40-model": {"receptive_field": 40},
    "offset40-model-mse": {"receptive_field": 40, "normalize": False},
    "offset50-model": {"receptive_field": 50},
    "offset40-model-4x-subsample": {"receptive_field": 40, "subsample": 4},
}


def supported_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell-style ``pattern``.

    Examples
    --------
    >>> supported_models("offset1-model-*")
    ['offset1-model-bn', 'offset1-model-bn-mse', 'offset1-model-mse', 'offset1-model-v2']
    """
    return sorted(fnmatch.filter(MODELS, pattern))


def make_encoder(
    name: str,
    num_neurons: int,
    num_units: int,
    num_output: int,
    generator: torch.Generator | None = None,
) -> ConvEncoder:
    """Build the registered encoder ``name``, initialised from ``generator``.

    Examples
    --------
    >>> enc = make_encoder("offset10-model", 30, 32, 8, torch.Generator().manual_seed(1))
    >>> enc.receptive_field.size, enc.normalize
    (10, True)
    """
    if name not in MODELS:
        raise ValueError(
            f"model_architecture must be one of {supported_models()}; got {name!r}."
        )
    encoder = ConvEncoder(num_neurons, num_units, num_output, **MODELS[name])
    if generator is not None:
        init_parameters(encoder, generator)
    return encoder
