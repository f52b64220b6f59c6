"""Which input neurons drive each embedding dimension: Jacobian-based attribution.

For every sampled time point t the encoder's Jacobian J_t = ∂f(x_t)/∂x_t has shape
(output_dimension, neurons, receptive field); summing over the window's lags gives the
influence of each neuron on each output at t, and the attribution is its average over time.
The "inverse" method averages the Moore–Penrose pseudo-inverse of each (D × N) Jacobian
instead (transposed to D × N): the direction in neuron space that moves each embedding
dimension, which separates neurons better when outputs are correlated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import func as torch_func

from neurolatent.recording import Recording

__all__ = ["jacobian_attribution"]

_METHODS = ("jacobian", "inverse")


def _encoder_of(model: Any, session_id: int | None):
    if hasattr(model, "embed_windows") and hasattr(model, "receptive_field"):
        return model  # a bare encoder module
    if hasattr(model, "_session_encoder"):
        model._check_fitted()
        return model._session_encoder(session_id)
    raise TypeError("model must be a fitted neurolatent estimator or an encoder module with "
                    f"embed_windows and receptive_field; got {type(model).__name__}.")


def jacobian_attribution(model: Any, X: Any, session_id: int | None = None,
                         method: str = "jacobian", absolute: bool = False,
                         n_samples: int | None = 2000, batch_size: int = 256,
                         random_state: int = 0) -> np.ndarray:
    """(output_dimension, neurons) attribution of the embedding to the input neurons.

    Parameters
    ----------
    model : fitted `CEBRA` (or `BYOL`/`MYOW`), or an encoder module
    X : array-like (time, neurons)
    session_id : which session's encoder, for multi-session models
    method : "jacobian" (mean Jacobian) or "inverse" (mean pseudo-inverse Jacobian)
    absolute : average |J| instead of J, so effects of opposite sign do not cancel
    n_samples : time points sampled (uniformly, seeded by ``random_state``); None for all
    batch_size : time points per vectorised Jacobian (memory B·D·N·window floats)

    Examples
    --------
    >>> from neurolatent import CEBRA
    >>> X = np.random.default_rng(0).normal(size=(200, 6))
    >>> model = CEBRA(model_architecture="offset5-model", max_iterations=2, batch_size=32,
    ...               output_dimension=3, device="cpu").fit(X)
    >>> jacobian_attribution(model, X, n_samples=50).shape
    (3, 6)
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}; got {method!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1; got {batch_size!r}.")
    encoder = _encoder_of(model, session_id)
    parameter = next(encoder.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    recording = Recording.from_arrays(X, device=device)
    rf = encoder.receptive_field
    recording.check_length(rf)
    valid = torch.nonzero(recording.valid_mask(rf)).reshape(-1)
    if n_samples is not None:
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
            raise ValueError(f"n_samples must be an int >= 1 or None; got {n_samples!r}.")
        if n_samples < len(valid):
            generator = torch.Generator(device=device).manual_seed(random_state)
            pick = torch.randperm(len(valid), generator=generator, device=device)[:n_samples]
            valid = valid[torch.sort(pick).values]

    def embed_one(window: torch.Tensor) -> torch.Tensor:
        return encoder.embed_windows(window[None])[0]

    jacobian = torch_func.vmap(torch_func.jacrev(embed_one))
    was_training = encoder.training
    encoder.eval()
    total = None
    try:
        for start in range(0, len(valid), batch_size):
            windows = recording.windows(valid[start:start + batch_size], rf)
            per_neuron = jacobian(windows).sum(dim=-1)  # (B, D, N): sum over the lags
            if method == "inverse":
                per_neuron = torch.linalg.pinv(per_neuron).transpose(1, 2)
            if absolute:
                per_neuron = per_neuron.abs()
            part = per_neuron.detach().sum(dim=0)
            total = part if total is None else total + part
    finally:
        encoder.train(was_training)
    return (total / len(valid)).cpu().numpy()
