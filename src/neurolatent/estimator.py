"""``CEBRA``: the scikit-learn facade. Parameters, validation, and a plan lookup.

The estimator holds no sampling or training logic: it validates its inputs, looks up the
(sampler, objective) pair for the data it received in :data:`PLANS`, and hands both to the
shared :class:`~neurolatent.training.Trainer`.
"""

from __future__ import annotations

import json
import os
import platform
import re
import secrets
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from neurolatent import __version__
from neurolatent._estimator_base import EstimatorBase, not_fitted
from neurolatent._params import Interval, OneOf, Predicate, validate_params
from neurolatent.augment import Compose, from_spec, split_augmentations, to_spec
from neurolatent.losses import InfoNCE
from neurolatent.models import MODELS, make_encoder, supported_models
from neurolatent.models.encoders import ConvEncoder, init_parameters
from neurolatent.objectives.contrastive import ContrastiveObjective
from neurolatent.recording import (
    Recording,
    as_labels,
    as_neural,
    as_trial_ids,
    trial_bounds,
)
from neurolatent.sampling import SamplingConfig, build_sampler
from neurolatent.training import Trainer, TrainerConfig
from neurolatent.training.checkpoint import load_checkpoint, save_checkpoint
from neurolatent.training.optimizer import OPTIMIZERS

__all__ = ["CEBRA", "PLANS"]

# torch.optim.Adam's defaults of the keywords LARS does not take (see _optimizer_kwargs)
_ADAM_DEFAULTS = {"betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False}


def _is_offsets(value: Any) -> bool:
    values = [value] if isinstance(value, (int, np.integer)) else list(value)
    return len(values) > 0 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in values
    )


def _is_augmentations(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) > 0
            and all(callable(a) for a in value))


def _is_kwargs(value: Any) -> bool:
    items = value.items() if isinstance(value, dict) else value
    return all(isinstance(k, str) for k, _ in items)


def _is_device(value: Any) -> bool:
    if isinstance(value, torch.device):
        value = str(value)
    return isinstance(value, str) and re.fullmatch(r"cpu|mps|cuda(:\d+)?|cuda_if_available",
                                                   value) is not None


def _infonce(est: CEBRA, encoder: torch.nn.Module | None = None,
             recording: Recording | None = None,
             generator: torch.Generator | None = None) -> ContrastiveObjective:
    """InfoNCE objective; it becomes the hybrid sum when the sampler adds time positives.

    Objective factories get the estimator, the freshly initialised encoder, the (joint)
    recording and the fit's generator, so objectives with target networks, index-based rules
    or their own layers can be built (``recording`` is ``None`` when loading a checkpoint).
    """
    criterion = InfoNCE(est.distance, float(est.temperature), est.temperature_mode,
                        est.min_temperature)
    return ContrastiveObjective(criterion, est.hybrid_behavior_dims)


# (label kinds, hybrid, batch mode, sessions, invariance) -> (sampler factory, objective factory)
# Every CEBRA scheme is assembled by build_sampler from the data and the InfoNCE objective (the
# hybrid sum appears when the sampler adds time positives); the table says which combinations
# are supported and is where other objectives (BYOL, MYOW, ...) plug in.
# Multi-session training is the invariance scheme with the session as nuisance variable and
# equal reference counts per session; "none" there means time-aligned sessions whose shared
# time index serves as the label.
PLANS: dict[tuple[str, bool, str, str, bool], tuple[Callable, Callable]] = {}
for _labels in ("none", "continuous", "discrete", "mixed"):
    for _batch in ("minibatch", "full"):
        PLANS[(_labels, False, _batch, "single", False)] = (build_sampler, _infonce)
        if _labels != "none":
            PLANS[(_labels, True, _batch, "single", False)] = (build_sampler, _infonce)
    PLANS[(_labels, False, "minibatch", "multi", False)] = (build_sampler, _infonce)
    if _labels != "none":
        # Invariance balances references over the nuisance variable: mini-batches only.
        for _sessions in ("single", "multi"):
            PLANS[(_labels, False, "minibatch", _sessions, True)] = (build_sampler, _infonce)
            PLANS[(_labels, True, "minibatch", _sessions, True)] = (build_sampler, _infonce)
        PLANS[(_labels, True, "minibatch", "multi", False)] = (build_sampler, _infonce)


class CEBRA(EstimatorBase):
    """Consistent EmBeddings of high-dimensional Recordings using Auxiliary variables.

    Drop-in for ``cebra.CEBRA``: same parameter names, defaults and meaning, plus
    ``random_state``, ``discrete_prior``, ``num_negatives``, ``precision``,
    ``hybrid_behavior_dims`` and ``adapt_from_session``.

    Parameters
    ----------
    model_architecture : str, default "offset1-model"
        Encoder name, see :meth:`supported_model_architectures`.
    device : str, default "cuda_if_available"
        "cpu", "cuda", "cuda:N", "mps" or "cuda_if_available".
    criterion : {"infonce"}
    distance : {"cosine", "euclidean"}
    conditional : {None, "time", "time_delta", "delta", "delta_normal"}
        Positive sampling; ``None`` picks "time_delta" with continuous labels, else "time".
    temperature, temperature_mode, min_temperature
        Fixed temperature, or learned ("auto") with 1/tau clamped at 1/min_temperature.
    time_offsets : int or sequence of int, default 1
        Delta for time positives and for the label changes of "time_delta"; a sequence
        draws one per sample.
    delta : float or None
        Standard deviation of the "delta" (normal) conditional.
    max_iterations, max_adapt_iterations : int
    batch_size : int or None
        ``None`` trains full-batch: every valid sample is a reference in every step.
    learning_rate : float
    optimizer : {"adam", "lars"}
        ``"lars"``: SGD with momentum and layer-wise trust ratios
        (:class:`~neurolatent.training.optimizer.LARS`, the optimiser of BYOL's and MYOW's
        published recipes), usually with ``learning_rate`` near 1, a warm-up and a cosine
        decay.
    output_dimension, num_hidden_units : int
    verbose : bool
        Show a progress bar with the loss.
    pad_before_transform : bool
        Pad the input so that ``transform`` returns one row per input sample.
    hybrid : bool
        Sum of a time-contrastive loss and a behaviour-contrastive loss on the first
        ``hybrid_behavior_dims`` dimensions.
    optimizer_kwargs : dict or tuple of (name, value) pairs
        Passed to ``torch.optim.Adam``, or to ``LARS`` (``momentum``, ``weight_decay``,
        ``eta``, ``exclude_bias_and_norm``). The default holds Adam's keywords; with
        ``optimizer="lars"`` its Adam-only entries are dropped while they keep their default
        values (``betas=(0.9, 0.999)``, ``eps=1e-8``, ``amsgrad=False``), and any other Adam
        value is refused.
    random_state : int or None
        Seed of the fit's single ``torch.Generator``; ``None`` draws a fresh seed.
    discrete_prior : {"empirical", "uniform"}
        Reference prior for discrete labels: label frequencies, or class-balanced.
    num_negatives : int or None
        Negatives per step (default: ``batch_size``).
    precision : {"32", "bf16"}
        "bf16" trains the encoder in bfloat16 under autocast (the loss and the optimiser
        stay float32; embeddings are float32). It pays on GPUs and on CPUs with AMX; with
        avx512_bf16 alone the default 32-unit models train only ~1.1x faster than in "32"
        (their narrow GEMMs and elementwise ops gain little); elsewhere PyTorch emulates it,
        several times slower than "32" (7x measured on an AVX2 CPU), and ``fit`` warns.
    hybrid_behavior_dims : int, default 3
    adapt_from_session : int, default 0
        For multi-session models, whose encoder ``fit(..., adapt=True)`` starts from.
    augmentations : list of callables or None
        Augmentations from :mod:`neurolatent.augment` (or any ``(windows, generator) ->
        windows`` callable) applied to every training window, each with its own draw —
        e.g. CEBRA-Time with neuron dropout. Minibatch training only; ``transform`` never
        augments.
    shared_augmentation : bool, default False
        Give each sample's reference and positive windows one augmentation draw (the same
        dropped neurons, the same noise; MYOW's "structured" transform) instead of one
        each. Needs ``augmentations``; not for multi-session CEBRA, whose positives come
        from other sessions.

    Attributes
    ----------
    model_ : torch.nn.Module
        The fitted encoder.
    history_ : dict of numpy arrays
        ``loss``, ``alignment``, ``uniformity``, ``temperature`` per step.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(300, 10)), rng.uniform(size=300)
    >>> model = CEBRA(max_iterations=5, batch_size=64, output_dimension=3, device="cpu",
    ...               random_state=0)
    >>> model.fit(X, y).transform(X).shape
    (300, 3)
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "model_architecture": [OneOf(tuple(MODELS))],
        "device": [Predicate(_is_device, "'cpu', 'cuda', 'cuda:N', 'mps' or "
                                         "'cuda_if_available'")],
        "criterion": [OneOf(("infonce",))],
        "distance": [OneOf(("cosine", "euclidean"))],
        "conditional": [OneOf(("time", "time_delta", "delta", "delta_normal")), None],
        "temperature": [Interval(float, 0, open_low=True)],
        "temperature_mode": [OneOf(("constant", "auto"))],
        "min_temperature": [Interval(float, 0, open_low=True), None],
        "time_offsets": [Predicate(_is_offsets, "an int >= 1 or a non-empty sequence of "
                                                "ints >= 1")],
        "delta": [Interval(float, 0, open_low=True), None],
        "max_iterations": [Interval(int, 1)],
        "max_adapt_iterations": [Interval(int, 1)],
        "batch_size": [Interval(int, 2), None],
        "learning_rate": [Interval(float, 0, open_low=True)],
        "optimizer": [OneOf(tuple(OPTIMIZERS))],
        "output_dimension": [Interval(int, 1)],
        "verbose": [OneOf((True, False))],
        "num_hidden_units": [Interval(int, 2)],
        "pad_before_transform": [OneOf((True, False))],
        "hybrid": [OneOf((True, False))],
        "optimizer_kwargs": [Predicate(_is_kwargs, "a dict or a tuple of (name, value) pairs")],
        "random_state": [Interval(int, 0, 2**63 - 1), None],
        "discrete_prior": [OneOf(("empirical", "uniform"))],
        "num_negatives": [Interval(int, 1), None],
        "precision": [OneOf(("32", "bf16"))],
        "hybrid_behavior_dims": [Interval(int, 1)],
        "adapt_from_session": [Interval(int, 0)],
        "augmentations": [Predicate(_is_augmentations, "a list of callables "
                                                       "(windows, generator) -> windows"), None],
        "shared_augmentation": [OneOf((True, False))],
    }

    def __init__(
        self,
        model_architecture: str = "offset1-model",
        device: str = "cuda_if_available",
        criterion: str = "infonce",
        distance: str = "cosine",
        conditional: str | None = None,
        temperature: float = 1.0,
        temperature_mode: str = "constant",
        min_temperature: float | None = 0.1,
        time_offsets: int | Sequence[int] = 1,
        delta: float | None = None,
        max_iterations: int = 10000,
        max_adapt_iterations: int = 500,
        batch_size: int | None = None,
        learning_rate: float = 3e-4,
        optimizer: str = "adam",
        output_dimension: int = 8,
        verbose: bool = False,
        num_hidden_units: int = 32,
        pad_before_transform: bool = True,
        hybrid: bool = False,
        optimizer_kwargs: Any = (
            ("betas", (0.9, 0.999)), ("eps", 1e-8), ("weight_decay", 0), ("amsgrad", False)
        ),
        random_state: int | None = None,
        discrete_prior: str = "empirical",
        num_negatives: int | None = None,
        precision: str = "32",
        hybrid_behavior_dims: int = 3,
        adapt_from_session: int = 0,
        augmentations: Sequence[Callable] | None = None,
        shared_augmentation: bool = False,
    ):
        self.model_architecture = model_architecture
        self.device = device
        self.criterion = criterion
        self.distance = distance
        self.conditional = conditional
        self.temperature = temperature
        self.temperature_mode = temperature_mode
        self.min_temperature = min_temperature
        self.time_offsets = time_offsets
        self.delta = delta
        self.max_iterations = max_iterations
        self.max_adapt_iterations = max_adapt_iterations
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.output_dimension = output_dimension
        self.verbose = verbose
        self.num_hidden_units = num_hidden_units
        self.pad_before_transform = pad_before_transform
        self.hybrid = hybrid
        self.optimizer_kwargs = optimizer_kwargs
        self.random_state = random_state
        self.discrete_prior = discrete_prior
        self.num_negatives = num_negatives
        self.precision = precision
        self.hybrid_behavior_dims = hybrid_behavior_dims
        self.adapt_from_session = adapt_from_session
        self.augmentations = augmentations
        self.shared_augmentation = shared_augmentation

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def supported_model_architectures(pattern: str = "*") -> list[str]:
        """Names of the registered encoders matching ``pattern`` (shell-style).

        Examples
        --------
        >>> CEBRA.supported_model_architectures("offset10*")
        ['offset10-model', 'offset10-model-mse']
        """
        return supported_models(pattern)

    def _resolve_device(self) -> torch.device:
        if self.device == "cuda_if_available":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        device = torch.device(self.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={self.device!r} was requested but CUDA is not available; "
                             "use device='cpu' or 'cuda_if_available'.")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"device={self.device!r} was requested but MPS is not available; "
                             "use device='cpu'.")
        return device

    def _offsets(self) -> tuple[int, ...]:
        if isinstance(self.time_offsets, (int, np.integer)):
            return (int(self.time_offsets),)
        return tuple(int(v) for v in self.time_offsets)

    def _optimizer_kwargs(self) -> dict:
        kwargs = dict(self.optimizer_kwargs)
        if "betas" in kwargs:
            kwargs["betas"] = tuple(kwargs["betas"])
        if self.optimizer == "lars":
            # the constructor's default optimizer_kwargs are Adam's: entries at their
            # defaults carry no choice, so LARS may use them; a changed one is refused
            kwargs = {k: v for k, v in kwargs.items()
                      if k not in _ADAM_DEFAULTS or v != _ADAM_DEFAULTS[k]}
        return kwargs

    def _validate_params(self) -> None:
        validate_params(type(self).__name__, self.get_params(deep=False),
                        self._parameter_constraints)
        if self.conditional in ("delta", "delta_normal") and self.delta is None:
            raise ValueError(f"conditional={self.conditional!r} needs the standard deviation "
                             "'delta' (a float > 0); got delta=None.")
        if self.hybrid and self.hybrid_behavior_dims > self.output_dimension:
            raise ValueError(
                f"hybrid_behavior_dims ({self.hybrid_behavior_dims}) must not exceed "
                f"output_dimension ({self.output_dimension}).")

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise not_fitted(self, "transform")

    @staticmethod
    def _is_multisession(X: Any) -> bool:
        return isinstance(X, (list, tuple)) and len(X) > 0 and all(
            hasattr(x, "shape") and len(x.shape) == 2 for x in X)

    def _sampling_config(self, label_kind: str) -> SamplingConfig:
        conditional = self.conditional
        if conditional is None:
            conditional = "time_delta" if label_kind in ("continuous", "mixed") else "time"
        if conditional == "delta":
            conditional = "delta_normal"
        if label_kind == "discrete":
            conditional = "time" if self.conditional == "time" else "discrete"
        _, jitter = split_augmentations(self.augmentations)
        if jitter is not None and not (label_kind == "none" or conditional == "time"
                                       or self.hybrid):
            raise ValueError("augmentations: TemporalJitter replaces time positives, but this "
                             f"fit draws behaviour positives (labels={label_kind}, "
                             f"conditional={self.conditional!r}); use it for CEBRA-Time, "
                             "conditional='time' or hybrid=True.")
        return SamplingConfig(conditional=conditional, time_offsets=self._offsets(),
                              delta=self.delta, discrete_prior=self.discrete_prior,
                              hybrid=self.hybrid, jitter=jitter)

    def _num_negatives(self) -> int | None:
        """Negatives drawn per step (``None``: as many as references)."""
        return self.num_negatives

    def _lr_schedule(self) -> Callable[[int, int], float] | None:
        """(step, total) -> learning-rate multiplier; ``None``: constant (CEBRA's recipe)."""
        return None

    #: (labels, hybrid, batch, sessions, invariance) -> (sampler factory, objective factory)
    _plans: ClassVar[dict] = PLANS
    #: multi-session fits without labels treat the sessions' time index as a shared label
    _align_sessions_in_time: ClassVar[bool] = True
    #: builds the objective of a loaded checkpoint (the one of its plans)
    _objective_factory: ClassVar[Callable] = staticmethod(_infonce)

    def _plan(self, label_kind: str, invariant: bool,
              sessions: str = "single") -> tuple[Callable, Callable]:
        key = (label_kind, bool(getattr(self, "hybrid", False)),
               "full" if self.batch_size is None else "minibatch", sessions, invariant)
        if key not in self._plans:
            supported = "\n  ".join(
                f"labels={k[0]}, hybrid={k[1]}, batch={k[2]}, sessions={k[3]}, "
                f"invariant_to={'given' if k[4] else 'None'}" for k in self._plans)
            raise ValueError(
                f"Unsupported combination labels={key[0]}, hybrid={key[1]}, batch={key[2]}, "
                f"sessions={key[3]}, invariant_to={'given' if invariant else 'None'}. "
                f"Supported combinations:\n  {supported}")
        return self._plans[key]

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: Any,
        y: Any = None,
        *labels: Any,
        adapt: bool = False,
        trial_ids: Any = None,
        invariant_to: Any = None,
        callback: Callable[[int, torch.nn.Module], None] | None = None,
        callback_frequency: int | None = None,
    ) -> CEBRA:
        """Fit the encoder on ``X`` (time, neurons) with optional labels ``y``.

        Float label arrays are continuous (several are concatenated column-wise), one
        integer array is discrete; continuous + discrete gives mixed sampling.

        Multi-session: ``X`` is a list of per-session arrays (their numbers of neurons and
        lengths may differ) and every label argument a list with one array per session,
        e.g. ``fit([X1, X2], [y1, y2])``. One encoder per session is trained into a shared
        space: each step draws ``batch_size`` references from every session, and the
        positive of a reference is the label-nearest (or same-label) sample of a session
        drawn uniformly. Without labels, sessions of equal length are treated as aligned in
        time (e.g. repeated movie presentations) and the shared time index is the label.

        Parameters
        ----------
        X : array-like of shape (time, neurons), or a list of them
        y, *labels : array-like of shape (time,) or (time, dims), or lists of them
            Behaviour labels; ``fit(X)`` and ``fit(X, y=None)`` (as scikit-learn pipelines
            call it) train time-contrastive.
        adapt : bool
            Keep the fitted trunk, give the encoder a new input layer for ``X``'s number of
            neurons and train only that layer for ``max_adapt_iterations`` steps (a
            multi-session model adapts the encoder of session ``adapt_from_session``).
        trial_ids : array-like of shape (time,) (a list per session), optional
            No window and no time positive ever crosses a change of trial id.
        invariant_to : array-like of shape (time,), optional
            Integer nuisance variable the embedding should be invariant to.
        callback : callable(step, encoder), optional
            Called every ``callback_frequency`` steps (default every step).

        Returns
        -------
        self
        """
        self._validate_params()
        if y is None and labels:
            raise ValueError("y: the first label array is None but more labels were given.")
        y = () if y is None else (y, *labels)
        return self._fit(X, y, adapt=adapt, trial_ids=trial_ids, invariant_to=invariant_to,
                         callback=callback, callback_frequency=callback_frequency)

    def _fit(self, X: Any, y: tuple, *, adapt: bool = False, trial_ids: Any = None,
             invariant_to: Any = None, callback: Callable | None = None,
             callback_frequency: int | None = None) -> CEBRA:
        """The one fit path of every estimator: validate, plan, build, train, store."""
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable(step, encoder); "
                            f"got {type(callback).__name__}.")
        if callback_frequency is not None and (
            isinstance(callback_frequency, bool) or not isinstance(callback_frequency, int)
            or callback_frequency < 1
        ):
            raise ValueError(f"callback_frequency must be an int >= 1 or None; "
                             f"got {callback_frequency!r}.")
        multisession = self._is_multisession(X)
        if adapt:
            self._check_fitted()
            if multisession:
                raise ValueError("X: adapt=True adapts the model to one new session; pass a "
                                 "single (time, neurons) array, not a list.")
        device = self._resolve_device()
        seed = self.random_state if self.random_state is not None else secrets.randbits(62)
        generator = torch.Generator(device=device).manual_seed(seed)

        strata = None
        if multisession:
            sessions, labels, strata, user_kind = self._session_recordings(
                X, y, trial_ids, device, align_time=self._align_sessions_in_time)
            invariant = self._session_invariant_codes(invariant_to, sessions, labels, strata)
        else:
            labels = Recording.from_arrays(X, y, trial_ids=trial_ids, device=device)
            sessions, user_kind = [labels], labels.label_kind
            invariant = self._invariant_codes(invariant_to, labels, device)
        if adapt:
            self._check_adapt_labels(labels)
        sampler_factory, objective_factory = self._plan(
            user_kind, invariant_to is not None, "multi" if multisession else "single")
        window_augmentations, _ = split_augmentations(self.augmentations)
        if self.augmentations is not None and self.batch_size is None:
            raise ValueError("augmentations: full-batch training (batch_size=None) embeds the "
                             "sequence as one convolution and cannot augment windows; set "
                             "batch_size.")
        if self.shared_augmentation and window_augmentations is None:
            raise ValueError("shared_augmentation=True shares the augmentation draw of a "
                             "sample's two views, but augmentations holds no window "
                             f"augmentation (augmentations={self.augmentations!r}).")
        if self.shared_augmentation and multisession and self._align_sessions_in_time:
            raise ValueError("shared_augmentation=True: multi-session CEBRA draws positives "
                             "from other sessions (other neurons), whose windows cannot share "
                             "a draw with their reference; use it with single-session data.")

        if adapt:
            encoder = self._adapted_encoder(sessions[0].num_neurons, generator, device)
            objective = self.objective_
            for p in objective.parameters():
                p.requires_grad_(False)
            iterations = self.max_adapt_iterations
        else:
            encoders = []
            for rec in sessions:
                encoders.append(make_encoder(self.model_architecture, rec.num_neurons,
                                             self.num_hidden_units,
                                             self.output_dimension).to(device))
                init_parameters(encoders[-1], generator)
            encoder = torch.nn.ModuleList(encoders) if multisession else encoders[0]
            objective = objective_factory(self, encoder, labels, generator).to(device)
            iterations = self.max_iterations
        rf = (encoder[0] if multisession else encoder).receptive_field
        for i, rec in enumerate(sessions):
            rec.check_length(rf, f"X[{i}]" if multisession else "X")
        sampler = sampler_factory(labels, rf, self._sampling_config(labels.label_kind),
                                  invariant, strata=strata)
        config = TrainerConfig(
            max_iterations=iterations,
            batch_size=self.batch_size,
            num_negatives=self._num_negatives(),
            learning_rate=self.learning_rate,
            optimizer=self.optimizer,
            optimizer_kwargs=self._optimizer_kwargs(),
            verbose=self.verbose,
            callback=callback,
            callback_frequency=callback_frequency,
            precision=self.precision,
            augment=None if window_augmentations is None else Compose(window_augmentations),
            shared_augmentation=self.shared_augmentation,
            lr_schedule=self._lr_schedule(),
        )
        trainer = Trainer(encoder, objective, sampler, sessions if multisession else labels,
                          generator, config)
        history = trainer.fit()
        per_stratum = self._num_negatives() or self.batch_size
        self.num_negatives_ = (int(sampler.pool.shape[0]) if self.batch_size is None
                               else per_stratum * (len(sessions) if multisession else 1))
        if adapt:  # unfreeze what adaptation froze (never an objective's EMA target)
            for p in [*encoder.parameters(), *objective.parameters()]:
                p.requires_grad_(True)

        self.model_ = encoder
        self.objective_ = objective
        self.history_ = history
        self.num_sessions_ = len(sessions) if multisession else 1
        self.session_features_ = [rec.num_neurons for rec in sessions]
        self.n_features_in_ = (self.session_features_ if multisession
                               else self.session_features_[0])
        self.device_ = device
        self.seed_ = seed
        if not adapt:
            self.label_kind_ = user_kind
            self.label_dims_ = (0 if labels.continuous is None or user_kind == "none"
                                else int(labels.continuous.shape[1]))
            self.classes_ = labels.classes
        return self

    @staticmethod
    def _invariant_codes(invariant_to: Any, recording: Recording,
                         device: torch.device) -> torch.Tensor | None:
        if invariant_to is None:
            return None
        kind, codes = as_labels(invariant_to, recording.num_samples, "invariant_to")
        if kind != "discrete":
            raise TypeError("invariant_to must be a 1-D integer array (a discrete nuisance "
                            f"variable); got float values of shape {codes.shape}.")
        if recording.label_kind == "none":
            raise ValueError("invariant_to needs behaviour labels y: invariance is imposed "
                             "on behaviour positives.")
        return torch.from_numpy(codes).to(device)

    @classmethod
    def _session_invariant_codes(cls, invariant_to: Any, sessions: list[Recording],
                                 joint: Recording, session_ids: torch.Tensor) -> torch.Tensor:
        """Nuisance codes of a multi-session fit: the session, or the (session, value) pair
        when ``invariant_to`` gives per-session nuisance values."""
        if invariant_to is None:
            return session_ids
        if not isinstance(invariant_to, (list, tuple)) or len(invariant_to) != len(sessions):
            raise ValueError(f"invariant_to: multi-session fit needs a list of {len(sessions)} "
                             "per-session integer arrays.")
        codes = torch.cat([cls._invariant_codes(values, rec, joint.device)
                           for values, rec in zip(invariant_to, sessions, strict=True)])
        values, codes = torch.unique(codes, return_inverse=True)
        return session_ids * len(values) + codes

    @staticmethod
    def _session_recordings(
        X: Sequence[Any], y: Sequence[Any], trial_ids: Any, device: torch.device,
        align_time: bool = True,
    ) -> tuple[list[Recording], Recording, torch.Tensor, str]:
        """Validate every session; lay their labels end to end in one label-only recording.

        Returns the per-session recordings, the joint label recording (no neural columns),
        the session id of every joint index, and the user's label kind. Without labels and
        with ``align_time``, the sessions' shared time index becomes the label.
        """
        num = len(X)
        for j, labels in enumerate(y):
            if not isinstance(labels, (list, tuple)) or len(labels) != num:
                got = f"a list of {len(labels)}" if isinstance(labels, (list, tuple)) else (
                    type(labels).__name__)
                raise ValueError(f"y[{j}]: multi-session fit needs one label array per session "
                                 f"(a list of {num} arrays); got {got}.")
        if trial_ids is not None and (not isinstance(trial_ids, (list, tuple))
                                      or len(trial_ids) != num):
            raise ValueError(f"trial_ids: multi-session fit needs a list of {num} per-session "
                             "trial id arrays.")
        sessions = [
            Recording.from_arrays(
                X[s], [labels[s] for labels in y],
                trial_ids=None if trial_ids is None else trial_ids[s], device=device,
                x_name=f"X[{s}]",
                label_names=[f"y[{j}][{s}]" if len(y) > 1 else f"y[{s}]" for j in range(len(y))],
            )
            for s in range(num)
        ]
        kinds = [rec.label_kind for rec in sessions]
        if len(set(kinds)) > 1:
            raise ValueError(f"y: all sessions need the same kind of labels; got {kinds}.")
        kind = kinds[0]
        if kind == "none" and not align_time:
            continuous = [None] * num
        elif kind == "none":
            lengths = [rec.num_samples for rec in sessions]
            if len(set(lengths)) > 1:
                raise ValueError(
                    f"X: multi-session fit without labels needs sessions of equal length that "
                    f"are aligned in time (their shared time index is used as the label); got "
                    f"lengths {lengths}. Pass behaviour labels, e.g. fit([X1, X2], [y1, y2]).")
            time_index = torch.arange(lengths[0], device=device, dtype=torch.float32)[:, None]
            continuous = [time_index] * num
        else:
            continuous = [rec.continuous for rec in sessions]
        joint = Recording(neural=torch.empty(sum(r.num_samples for r in sessions), 0,
                                             device=device))
        if continuous[0] is not None:
            dims = [int(c.shape[1]) for c in continuous]
            if len(set(dims)) > 1:
                raise ValueError(f"y: continuous labels must have the same number of columns in "
                                 f"every session (the shared label space); got {dims}.")
            joint.continuous = torch.cat(continuous)
        if sessions[0].discrete is not None:
            values = [rec.classes[rec.discrete.cpu().numpy()] for rec in sessions]
            joint.classes = np.unique(np.concatenate(values))
            joint.discrete = torch.from_numpy(
                np.searchsorted(joint.classes, np.concatenate(values))).to(device)
        segments, offset = [], 0
        for rec in sessions:  # a session boundary is also a segment boundary
            ids = rec.segment_ids()
            segments.append(ids + offset)
            offset += int(ids.max()) + 1
        joint.segments = torch.cat(segments)
        session_ids = torch.repeat_interleave(
            torch.arange(num, device=device),
            torch.tensor([rec.num_samples for rec in sessions], device=device))
        return sessions, joint, session_ids, kind

    def _check_adapt_labels(self, recording: Recording) -> None:
        if recording.label_kind != self.label_kind_:
            raise ValueError(f"adapt=True: the model was fitted with {self.label_kind_} labels; "
                             f"got {recording.label_kind} labels for the new session.")
        dims = 0 if recording.continuous is None else int(recording.continuous.shape[1])
        if dims != self.label_dims_:
            raise ValueError(f"adapt=True: continuous labels must have {self.label_dims_} "
                             f"columns as in the fitted model; got {dims}.")

    def _adapted_encoder(self, num_neurons: int, generator: torch.Generator,
                         device: torch.device) -> ConvEncoder:
        source = self.model_
        if isinstance(source, torch.nn.ModuleList):
            if self.adapt_from_session >= len(source):
                raise ValueError(f"adapt_from_session={self.adapt_from_session} but the model "
                                 f"has {len(source)} sessions.")
            source = source[self.adapt_from_session]
        encoder = make_encoder(self.model_architecture, num_neurons, self.num_hidden_units,
                               self.output_dimension).to(device)
        init_parameters(encoder, generator)
        encoder.trunk.load_state_dict(source.trunk.state_dict())
        for p in encoder.trunk.parameters():
            p.requires_grad_(False)
        return encoder

    # ------------------------------------------------------------------ transform
    def transform(self, X: Any, session_id: int | None = None, trial_ids: Any = None,
                  batch_size: int | None = None) -> np.ndarray:
        """Embed ``X`` (time, neurons) -> numpy array (time, output_dimension).

        The encoder runs as a convolution over the whole sequence in memory-bounded chunks.
        With ``pad_before_transform`` each trial (or the whole recording) is padded by
        repeating its edge samples, so every input sample gets an embedding; otherwise the
        output has ``time - receptive_field + 1`` rows per trial.

        Parameters
        ----------
        X : array-like of shape (time, neurons)
        session_id : int or None
            Only for multi-session models.
        trial_ids : array-like of shape (time,), optional
            Windows never cross a change of trial id.
        batch_size : int or None
            Outputs per chunk (default: bounded by memory).
        """
        self._check_fitted()
        encoder = self._session_encoder(session_id)
        neural = as_neural(X, "X")
        expected = self.session_features_[session_id or 0]
        if neural.shape[1] != expected:
            raise ValueError(f"X has {neural.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {expected} features as input (neurons"
                             + (f" of session {session_id})." if self.num_sessions_ > 1
                                else " of the fitted recording)."))
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be an int >= 1 or None; got {batch_size!r}.")
        rf = encoder.receptive_field
        if trial_ids is None:
            bounds = [(0, neural.shape[0])]
        else:
            bounds = trial_bounds(as_trial_ids(trial_ids, neural.shape[0]))
        if not self.pad_before_transform and all(b - a < rf.size for a, b in bounds):
            raise ValueError(f"X: every trial is shorter than the receptive field ({rf.size}); "
                             "use pad_before_transform=True.")
        # 8,192 outputs per chunk keeps every layer's activations cache-sized: measured
        # 1.7x the throughput of one 100k-sample chunk (benchmarks/compare_official.py)
        chunk = batch_size or 8192
        data = torch.from_numpy(neural).to(self.device_)
        out = []
        encoder.eval()
        with torch.inference_mode():
            for start, stop in bounds:
                piece = data[start:stop]
                if not self.pad_before_transform and piece.shape[0] < rf.size:
                    continue
                out.append(encoder.embed_sequence(piece, chunk, pad=self.pad_before_transform)
                           .float())
        return torch.cat(out).cpu().numpy()

    def _session_encoder(self, session_id: int | None) -> ConvEncoder:
        if self.num_sessions_ == 1:
            if session_id not in (None, 0):
                raise ValueError(f"session_id: this model was fitted on a single session; "
                                 f"got session_id={session_id!r}. Pass session_id=None.")
            return self.model_
        if session_id is None:
            raise ValueError(f"session_id: this model was fitted on {self.num_sessions_} "
                             "sessions; pass session_id=i to say whose encoder embeds X.")
        if (isinstance(session_id, bool) or not isinstance(session_id, (int, np.integer))
                or not 0 <= session_id < self.num_sessions_):
            raise ValueError(f"session_id must be an int in [0, {self.num_sessions_ - 1}]; "
                             f"got {session_id!r}.")
        return self.model_[int(session_id)]

    def fit_transform(self, X: Any, y: Any = None, *labels: Any, **fit_params: Any) -> np.ndarray:
        """``fit(X, y, *labels, **fit_params)`` then ``transform(X)``.

        Examples
        --------
        >>> X = np.random.default_rng(0).normal(size=(80, 4))
        >>> CEBRA(max_iterations=2, batch_size=16, device="cpu").fit_transform(X).shape
        (80, 8)
        """
        trial_ids = fit_params.get("trial_ids")
        return self.fit(X, y, *labels, **fit_params).transform(X, trial_ids=trial_ids)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # embeddings are float32 whatever the input precision, as in the official package
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.non_deterministic = self.random_state is None
        return tags

    # ------------------------------------------------------------------ persistence
    def _json_params(self) -> dict:
        params = self.get_params(deep=False)
        params["optimizer_kwargs"] = [[k, list(v) if isinstance(v, tuple) else v]
                                      for k, v in dict(self.optimizer_kwargs).items()]
        if not isinstance(params["time_offsets"], (int, np.integer)):
            params["time_offsets"] = [int(v) for v in params["time_offsets"]]
        params["augmentations"] = to_spec(self.augmentations)
        if self.augmentations is not None and params["augmentations"] is None:
            warnings.warn("augmentations: custom callables are not saved (only those of "
                          "neurolatent.augment); the loaded model has augmentations=None.",
                          UserWarning, stacklevel=3)
        return params

    def save(self, path: str | os.PathLike) -> None:
        """Write weights (safetensors) and parameters/fitted state (JSON) to ``path``.

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> X = np.random.default_rng(0).normal(size=(100, 5))
        >>> m = CEBRA(max_iterations=2, batch_size=16, device="cpu", random_state=0).fit(X)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> m.save(path)
        >>> loaded = CEBRA.load(path)
        >>> bool(np.array_equal(loaded.transform(X), m.transform(X)))
        True
        """
        self._check_fitted()
        tensors = {f"model.{k}": v for k, v in self.model_.state_dict().items()}
        tensors.update({f"objective.{k}": v for k, v in self.objective_.state_dict().items()})
        tensors.update({f"history.{k}": torch.from_numpy(v) for k, v in self.history_.items()})
        if self.classes_ is not None:
            tensors["classes"] = torch.from_numpy(np.asarray(self.classes_, dtype=np.int64))
        metadata = {
            "estimator": type(self).__name__,
            "params": self._json_params(),
            "fitted": {"session_features_": self.session_features_,
                       "label_kind_": self.label_kind_,
                       "label_dims_": self.label_dims_, "seed_": self.seed_,
                       "trained_on": str(self.device_)},
            "versions": {"neurolatent": __version__, "torch": torch.__version__,
                         "numpy": np.__version__, "python": platform.python_version()},
        }
        save_checkpoint(path, tensors, json.loads(json.dumps(metadata)))

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "cpu") -> CEBRA:
        """Load a model saved with :meth:`save` onto ``device`` (never unpickles)."""
        tensors, metadata = load_checkpoint(path)
        if metadata.get("estimator") != cls.__name__:
            raise ValueError(f"path: checkpoint holds a {metadata.get('estimator')!r}, "
                             f"not a {cls.__name__}.")
        params = dict(metadata["params"])
        params["optimizer_kwargs"] = tuple(
            (k, tuple(v) if isinstance(v, list) else v) for k, v in params["optimizer_kwargs"])
        if isinstance(params["time_offsets"], list):
            params["time_offsets"] = tuple(params["time_offsets"])
        params["augmentations"] = from_spec(params.get("augmentations"))
        params["device"] = device
        model = cls(**params)
        model._validate_params()
        target = model._resolve_device()
        fitted = metadata["fitted"]
        encoders = [make_encoder(model.model_architecture, n, model.num_hidden_units,
                                 model.output_dimension) for n in fitted["session_features_"]]
        multisession = len(encoders) > 1
        encoder = torch.nn.ModuleList(encoders) if multisession else encoders[0]
        # the generator only initialises layers whose weights the checkpoint then replaces
        objective = cls._objective_factory(model, encoder, None, torch.Generator())

        def part(prefix: str) -> dict:
            return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

        try:
            encoder.load_state_dict(part("model."))
            objective.load_state_dict(part("objective."))
        except RuntimeError as error:
            raise ValueError(f"path: checkpoint weights do not match the stored parameters: "
                             f"{error}") from None
        model.model_ = encoder.to(target).eval()
        model.objective_ = objective.to(target)
        model.history_ = {k: part("history.")[k].numpy() for k in objective.metrics}
        model.classes_ = tensors["classes"].numpy() if "classes" in tensors else None
        model.num_sessions_ = len(encoders)
        model.session_features_ = list(fitted["session_features_"])
        model.n_features_in_ = (model.session_features_ if multisession
                                else model.session_features_[0])
        model.label_kind_ = fitted["label_kind_"]
        model.label_dims_ = fitted["label_dims_"]
        model.seed_ = fitted["seed_"]
        model.device_ = target
        return model
