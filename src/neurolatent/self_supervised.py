"""``BYOL`` and ``MYOW``: self-supervised embeddings of neural states with the CEBRA contract.

They are the :class:`~neurolatent.CEBRA` estimator with another row in the plan table: the
same recordings, sampler (the time-offset or jittered positive is the temporal view; the
uniform negatives are MYOW's candidate pool), encoders, trainer, checkpoints, ``transform``
and analysis; only the objective differs (:mod:`neurolatent.objectives.byol`).

Defaults and their source
-------------------------
The two public MYOW code bases disagree (the library's ``myow_factory`` defaults to one
nearest neighbour; the rodent training script uses five, a 16-D mined projection and a
mined-loss weight of 0.5). We follow the training script of ``nerdslab/myow`` for the
rodent sleep data: representation 32 (``output_dimension``), hidden width 64, identity
projector, predictor hidden width 256, mined projection 16, k = 5, mined weight 0.5 with a
linear warm-up, EMA base 0.98 rising to 1 on a cosine schedule, randomized neuron dropout
(p_max 0.8, applied with probability 0.9), temporal views up to 3 bins ahead, candidates
within 150 bins of the anchor excluded. Two deliberate departures: Adam by default instead
of SGD with momentum (``optimizer="lars"`` gives the LARS of the published recipes), and
augmentations applied to the values the user passes (see :mod:`neurolatent.augment`).
MYOW's BatchNorm MLP encoder is ``model_architecture="offset1-model-bn-mse"``. The published
learning-rate warm-up and cosine decay are available (``warmup_iterations``,
``learning_rate_schedule="cosine"``) but off by default: on the Chewie reaching sessions they
lowered the linear readout (``docs/ssl_neural_myow_variants.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, ClassVar

import torch

from neurolatent._params import Interval, OneOf, Predicate, validate_params
from neurolatent.augment import RandomizedNeuronDropout, split_augmentations
from neurolatent.estimator import (
    CEBRA,
    _is_augmentations,
    _is_kwargs,
    _is_offsets,
)
from neurolatent.models import MODELS
from neurolatent.objectives.byol import BYOLObjective, MYOWObjective
from neurolatent.recording import Recording
from neurolatent.sampling import SamplingConfig, build_sampler
from neurolatent.training.trainer import learning_rate_factor

__all__ = ["BYOL", "MYOW"]


def _byol(est: BYOL, encoder: torch.nn.Module, recording: Recording | None,
          generator: torch.Generator) -> BYOLObjective:
    return BYOLObjective(encoder, est.output_dimension, est.projection_dim, est.hidden_dim,
                         est.tau_base, generator, tau_schedule=est.tau_schedule)


def _myow(est: MYOW, encoder: torch.nn.Module, recording: Recording | None,
          generator: torch.Generator) -> MYOWObjective:
    return MYOWObjective(
        encoder, est.output_dimension, est.projection_dim, est.hidden_dim, est.tau_base,
        generator, tau_schedule=est.tau_schedule, mined_dim=est.mined_dim,
        mined_hidden_dim=est.mined_hidden_dim, num_neighbors=est.num_neighbors,
        exclude_window=est.exclude_window, exclude_trial=getattr(est, "_trials_given", False),
        mined_weight=est.mined_weight, warmup=est.mined_warmup,
        segments=None if recording is None else recording.segment_ids())


# Self-supervised: no labels, minibatches, one or several sessions (each session's views
# stay inside it; sessions need not be aligned in time).
BYOL_PLANS = {("none", False, "minibatch", sessions, False): (build_sampler, _byol)
              for sessions in ("single", "multi")}
MYOW_PLANS = {key: (build_sampler, _myow) for key in BYOL_PLANS}

_DEFAULT_AUGMENTATIONS = (RandomizedNeuronDropout(p_max=0.8, apply_p=0.9),)


class BYOL(CEBRA):
    """Bootstrap Your Own Latent on neural recordings (Grill et al. 2020; Dyer lab).

    An online encoder -> projector -> predictor learns to predict the target network's
    projection of another view of the same neural state: the state ``time_offsets`` bins
    later (or within a :class:`~neurolatent.augment.TemporalJitter`), each view with its own
    neuron-dropout mask. The target is an exponential moving average of the online network.

    Parameters
    ----------
    model_architecture, device, time_offsets, max_iterations, batch_size, learning_rate,
    optimizer, output_dimension, verbose, num_hidden_units, pad_before_transform,
    optimizer_kwargs, random_state, precision
        As in :class:`~neurolatent.CEBRA` (same meaning; some defaults differ, see the
        module docstring for their source).
    augmentations : sequence of augmentations
        Applied independently to every view; default randomized neuron dropout
        (p_max 0.8, apply_p 0.9).
    shared_augmentation : bool, default False
        One draw for both views of a sample (the same dropped neurons; the monkey-reach
        script's ``structured_transform``) instead of one per view.
    projection_dim : int or None
        Projector output; ``None`` = identity projector.
    hidden_dim : int
        Hidden width of the projector and predictor MLPs.
    tau_base : float in [0, 1]
        Initial EMA coefficient of the target network.
    tau_schedule : {"cosine", "constant"}
        ``"cosine"`` (default, BYOL's): tau rises from ``tau_base`` to 1 over the fit;
        ``"constant"``: tau stays ``tau_base`` (``nerdslab/myow-neuro``'s reaching script).
    learning_rate_schedule : {"constant", "cosine"}
        After the warm-up, keep ``learning_rate`` or decay it to 0 on a half cosine (the
        published BYOL/MYOW recipe). Default ``"constant"``.
    warmup_iterations : int
        Steps of linear learning-rate warm-up (0 = none).

    Attributes
    ----------
    model_ : the online encoder
    objective_ : :class:`~neurolatent.objectives.byol.BYOLObjective` (heads and targets)
    history_ : dict with ``loss``, ``augmented`` and ``tau`` per step

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).poisson(2.0, size=(400, 20)).astype(float)
    >>> model = BYOL(max_iterations=5, batch_size=64, device="cpu", random_state=0)
    >>> model.fit(X).transform(X).shape
    (400, 32)
    >>> sorted(model.history_)
    ['augmented', 'loss', 'tau']
    """

    _plans: ClassVar[dict] = BYOL_PLANS
    _objective_factory: ClassVar[Callable] = staticmethod(_byol)
    _align_sessions_in_time: ClassVar[bool] = False

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "model_architecture": [OneOf(tuple(MODELS))],
        "device": CEBRA._parameter_constraints["device"],
        "time_offsets": [Predicate(_is_offsets, "an int >= 1 or a non-empty sequence of "
                                                "ints >= 1")],
        "max_iterations": [Interval(int, 1)],
        "batch_size": [Interval(int, 2)],
        "learning_rate": [Interval(float, 0, open_low=True)],
        "optimizer": CEBRA._parameter_constraints["optimizer"],
        "output_dimension": [Interval(int, 1)],
        "verbose": [OneOf((True, False))],
        "num_hidden_units": [Interval(int, 2)],
        "pad_before_transform": [OneOf((True, False))],
        "optimizer_kwargs": [Predicate(_is_kwargs, "a dict or a tuple of (name, value) pairs")],
        "random_state": [Interval(int, 0, 2**63 - 1), None],
        "precision": [OneOf(("32", "bf16"))],
        "augmentations": [Predicate(_is_augmentations, "a list of callables "
                                                       "(windows, generator) -> windows"), None],
        "shared_augmentation": CEBRA._parameter_constraints["shared_augmentation"],
        "projection_dim": [Interval(int, 1), None],
        "hidden_dim": [Interval(int, 1)],
        "tau_base": [Interval(float, 0, 1)],
        "tau_schedule": [OneOf(("cosine", "constant"))],
        "learning_rate_schedule": [OneOf(("constant", "cosine"))],
        "warmup_iterations": [Interval(int, 0)],
    }

    def __init__(
        self,
        model_architecture: str = "offset1-model",
        device: str = "cuda_if_available",
        time_offsets: int | Sequence[int] = (1, 2, 3),
        max_iterations: int = 5000,
        batch_size: int = 512,
        learning_rate: float = 1e-3,
        optimizer: str = "adam",
        output_dimension: int = 32,
        verbose: bool = False,
        num_hidden_units: int = 64,
        pad_before_transform: bool = True,
        optimizer_kwargs: Any = (
            ("betas", (0.9, 0.999)), ("eps", 1e-8), ("weight_decay", 2e-5), ("amsgrad", False)
        ),
        random_state: int | None = None,
        precision: str = "32",
        augmentations: Sequence[Callable] | None = _DEFAULT_AUGMENTATIONS,
        shared_augmentation: bool = False,
        projection_dim: int | None = None,
        hidden_dim: int = 256,
        tau_base: float = 0.98,
        learning_rate_schedule: str = "constant",
        warmup_iterations: int = 0,
        tau_schedule: str = "cosine",
    ):
        self.model_architecture = model_architecture
        self.device = device
        self.time_offsets = time_offsets
        self.max_iterations = max_iterations
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.output_dimension = output_dimension
        self.verbose = verbose
        self.num_hidden_units = num_hidden_units
        self.pad_before_transform = pad_before_transform
        self.optimizer_kwargs = optimizer_kwargs
        self.random_state = random_state
        self.precision = precision
        self.augmentations = augmentations
        self.shared_augmentation = shared_augmentation
        self.projection_dim = projection_dim
        self.hidden_dim = hidden_dim
        self.tau_base = tau_base
        self.learning_rate_schedule = learning_rate_schedule
        self.warmup_iterations = warmup_iterations
        self.tau_schedule = tau_schedule

    def _validate_params(self) -> None:
        validate_params(type(self).__name__, self.get_params(deep=False),
                        self._parameter_constraints)

    def _sampling_config(self, label_kind: str) -> SamplingConfig:
        return SamplingConfig(conditional="time", time_offsets=self._offsets(),
                              jitter=split_augmentations(self.augmentations)[1])

    def _lr_schedule(self) -> Callable[[int, int], float] | None:
        if self.learning_rate_schedule == "constant" and self.warmup_iterations == 0:
            return None
        return partial(learning_rate_factor, warmup=self.warmup_iterations,
                       decay=self.learning_rate_schedule)

    def _num_negatives(self) -> int | None:
        return 1  # BYOL uses no negatives; the sampler's one index is never embedded

    def fit(self, X: Any, y: Any = None, *, trial_ids: Any = None,
            callback: Callable[[int, torch.nn.Module], None] | None = None,
            callback_frequency: int | None = None) -> BYOL:
        """Fit on ``X`` (time, neurons), or a list of sessions ``[X1, X2, ...]``.

        Self-supervised: ``y`` is accepted for scikit-learn pipelines and ignored. With
        ``trial_ids`` no view (and no MYOW candidate of the same trial) crosses a trial.
        Several sessions get one encoder each and shared heads; views stay inside a
        session, and sessions need not have equal lengths.

        Returns
        -------
        self
        """
        self._validate_params()
        self._trials_given = trial_ids is not None
        return self._fit(X, (), trial_ids=trial_ids, callback=callback,
                         callback_frequency=callback_frequency)


class MYOW(BYOL):
    """Mine Your Own vieW (Azabou et al. 2021): BYOL plus predictions of mined views.

    For each anchor, the ``num_neighbors`` nearest candidates (cosine, target
    representation) among ``num_candidates`` samples drawn uniformly from the recording --
    excluding those within ``exclude_window`` bins, or in the same trial when ``trial_ids``
    are given -- are found and one is picked at random; a second, cascaded
    projector/predictor predicts its target projection. Loss: (1 - w) L_aug + w L_mined,
    w rising linearly to ``mined_weight`` over ``mined_warmup`` steps.

    Parameters
    ----------
    (BYOL's parameters), plus
    mined_dim : int
        Output of the mined-view projector/predictor.
    mined_hidden_dim : int or None
        Their hidden width; ``None`` (default) takes ``hidden_dim``, the default of
        ``nerdslab/myow``'s MYOW trainer. Its monkey-reach script sets 64 (its
        ``projection_hidden_size_2``).
    num_neighbors : int
        k of the k-nearest candidates.
    num_candidates : int or None
        Candidate pool per step (default: ``batch_size``).
    exclude_window : int
        Candidates within this many bins of the anchor are never mined.
    mined_weight : float in [0, 1]
    mined_warmup : int
        Steps of the linear warm-up of the mined weight.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).poisson(2.0, size=(400, 20)).astype(float)
    >>> model = MYOW(max_iterations=5, batch_size=64, exclude_window=5, device="cpu",
    ...              random_state=0)
    >>> model.fit(X).transform(X).shape
    (400, 32)
    >>> list(model.history_)
    ['loss', 'augmented', 'mined', 'mined_weight', 'tau']
    """

    _plans: ClassVar[dict] = MYOW_PLANS
    _objective_factory: ClassVar[Callable] = staticmethod(_myow)
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **BYOL._parameter_constraints,
        "mined_dim": [Interval(int, 1)],
        "mined_hidden_dim": [Interval(int, 1), None],
        "num_neighbors": [Interval(int, 1)],
        "num_candidates": [Interval(int, 1), None],
        "exclude_window": [Interval(int, 0)],
        "mined_weight": [Interval(float, 0, 1)],
        "mined_warmup": [Interval(int, 0)],
    }

    def __init__(
        self,
        model_architecture: str = "offset1-model",
        device: str = "cuda_if_available",
        time_offsets: int | Sequence[int] = (1, 2, 3),
        max_iterations: int = 5000,
        batch_size: int = 512,
        learning_rate: float = 1e-3,
        optimizer: str = "adam",
        output_dimension: int = 32,
        verbose: bool = False,
        num_hidden_units: int = 64,
        pad_before_transform: bool = True,
        optimizer_kwargs: Any = (
            ("betas", (0.9, 0.999)), ("eps", 1e-8), ("weight_decay", 2e-5), ("amsgrad", False)
        ),
        random_state: int | None = None,
        precision: str = "32",
        augmentations: Sequence[Callable] | None = _DEFAULT_AUGMENTATIONS,
        shared_augmentation: bool = False,
        projection_dim: int | None = None,
        hidden_dim: int = 256,
        tau_base: float = 0.98,
        learning_rate_schedule: str = "constant",
        warmup_iterations: int = 0,
        mined_dim: int = 16,
        mined_hidden_dim: int | None = None,
        num_neighbors: int = 5,
        num_candidates: int | None = None,
        exclude_window: int = 150,
        mined_weight: float = 0.5,
        mined_warmup: int = 500,
        tau_schedule: str = "cosine",
    ):
        super().__init__(
            model_architecture=model_architecture, device=device, time_offsets=time_offsets,
            max_iterations=max_iterations, batch_size=batch_size,
            learning_rate=learning_rate, optimizer=optimizer,
            output_dimension=output_dimension, verbose=verbose,
            num_hidden_units=num_hidden_units, pad_before_transform=pad_before_transform,
            optimizer_kwargs=optimizer_kwargs, random_state=random_state,
            precision=precision, augmentations=augmentations,
            shared_augmentation=shared_augmentation, projection_dim=projection_dim,
            hidden_dim=hidden_dim, tau_base=tau_base,
            learning_rate_schedule=learning_rate_schedule, warmup_iterations=warmup_iterations,
            tau_schedule=tau_schedule)
        self.mined_dim = mined_dim
        self.mined_hidden_dim = mined_hidden_dim
        self.num_neighbors = num_neighbors
        self.num_candidates = num_candidates
        self.exclude_window = exclude_window
        self.mined_weight = mined_weight
        self.mined_warmup = mined_warmup

    def _num_negatives(self) -> int | None:
        return self.num_candidates or self.batch_size
