"""The one training loop: sample indices -> gather windows -> objective -> optimiser -> hook.

No host synchronisation per step: metrics are written into a device buffer and read
only every ``log_every`` steps (progress bar) and at the end (``history``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from neurolatent.objectives.base import Objective
from neurolatent.recording import Recording
from neurolatent.training.batch import Batch, split_parts
from neurolatent.training.optimizer import OPTIMIZERS
from neurolatent.training.precision import warn_if_bf16_is_emulated

__all__ = ["Trainer", "TrainerConfig", "learning_rate_factor"]


def learning_rate_factor(step: int, total: int, warmup: int = 0, decay: str = "constant") -> float:
    """Multiplier of the learning rate at (0-based) ``step`` of ``total``.

    A linear warm-up over the first ``warmup`` steps (from ``1 / warmup`` to 1), then
    ``decay``: ``"constant"`` keeps 1, ``"cosine"`` falls to 0 at ``total`` on a half
    cosine (the schedule BYOL and MYOW train with).

    Examples
    --------
    >>> [learning_rate_factor(s, 10, warmup=4) for s in (0, 3, 4, 9)]
    [0.25, 1.0, 1.0, 1.0]
    >>> [round(learning_rate_factor(s, 10, warmup=2, decay="cosine"), 3) for s in (0, 1, 2, 6)]
    [0.5, 1.0, 1.0, 0.5]
    """
    if step < warmup:
        return (step + 1) / warmup
    if decay == "constant":
        return 1.0
    if decay == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(total - warmup, 1)))
    raise ValueError(f"decay must be 'constant' or 'cosine'; got {decay!r}.")


@dataclass
class TrainerConfig:
    """Loop settings; ``batch_size=None`` means full-batch training.

    >>> TrainerConfig(max_iterations=10).batch_size
    512
    """

    max_iterations: int = 1000
    batch_size: int | None = 512
    num_negatives: int | None = None
    learning_rate: float = 3e-4
    optimizer: str = "adam"  # a key of neurolatent.training.optimizer.OPTIMIZERS
    optimizer_kwargs: dict = field(default_factory=dict)
    log_every: int = 50
    verbose: bool = False
    callback: Callable | None = None
    callback_frequency: int | None = None
    precision: str = "32"
    # (windows, generator) -> windows, applied to training windows only (never in evaluate)
    augment: Callable | None = None
    # one augmentation draw for each sample's reference and positive (Batch.shared_views)
    shared_augmentation: bool = False
    # (step, max_iterations) -> learning-rate multiplier; None = constant learning rate
    lr_schedule: Callable[[int, int], float] | None = None


class Trainer:
    """Optimise ``encoder`` (+ the objective's parameters) on batches from ``sampler``.

    Single session: ``encoder`` is a :class:`ConvEncoder` and ``recording`` a
    :class:`Recording`. Multi-session: ``encoder`` is an ``nn.ModuleList`` with one encoder
    per session and ``recording`` a list of recordings; the sampler then works on indices
    into the sessions laid end to end, and each session's windows go through its own
    encoder in one batched forward per step.

    Only parameters with ``requires_grad`` are optimised, so adaptation freezes layers by
    switching that flag off before building the trainer.

    Examples
    --------
    >>> from neurolatent.losses import InfoNCE
    >>> from neurolatent.models import make_encoder
    >>> from neurolatent.objectives import ContrastiveObjective
    >>> from neurolatent.sampling import SamplingConfig, build_sampler
    >>> g = torch.Generator().manual_seed(0)
    >>> rec = Recording.from_arrays(torch.randn(200, 6, generator=g))
    >>> encoder = make_encoder("offset5-model", 6, 16, 3, g)
    >>> sampler = build_sampler(rec, encoder.receptive_field, SamplingConfig("time"))
    >>> trainer = Trainer(encoder, ContrastiveObjective(InfoNCE()), sampler, rec, g,
    ...                   TrainerConfig(max_iterations=4, batch_size=32))
    >>> trainer.fit()["loss"].shape
    (4,)
    """

    def __init__(self, encoder: nn.Module, objective: Objective, sampler,
                 recording: Recording | list[Recording], generator: torch.Generator,
                 config: TrainerConfig):
        self.encoder, self.objective = encoder, objective
        self.sampler, self.generator, self.config = sampler, generator, config
        self.sessions = recording if isinstance(recording, list) else [recording]
        self.recording = self.sessions[0]
        warn_if_bf16_is_emulated(config.precision, self.recording.device)
        lengths = torch.tensor([0] + [r.num_samples for r in self.sessions])
        self.starts = torch.cumsum(lengths, 0).to(self.recording.device)
        params = [p for m in (encoder, objective) for p in m.parameters() if p.requires_grad]
        self._gather_buffers: dict = {}  # see Trainer.batch
        kwargs = dict(config.optimizer_kwargs)
        optimizer = OPTIMIZERS[config.optimizer]
        if config.optimizer == "adam" and not {"fused", "foreach"} & kwargs.keys() and (
                self.recording.device.type in ("cpu", "cuda")):
            # One fused kernel over all parameters: on the CPU the default per-tensor Adam
            # ran ~10 small ops per parameter tensor, 1.5 of a 30 ms step for the 18k
            # parameters of offset10-model; fused: 0.8 ms (isolated: 0.87 -> 0.25 ms).
            kwargs["fused"] = True
        try:  # the keywords alone, on a stand-in parameter: torch's message names no argument
            optimizer([torch.zeros(1, device=self.recording.device, requires_grad=True)],
                      lr=config.learning_rate, **kwargs)
        except (TypeError, ValueError) as error:
            raise type(error)(f"optimizer_kwargs: {dict(config.optimizer_kwargs)!r} is not a "
                              f"valid set of {optimizer.__name__} keywords for optimizer="
                              f"{config.optimizer!r} ({error}).") from None
        self.optimizer = optimizer(params, lr=config.learning_rate, **kwargs)

    def batch(self, parts: dict[str, torch.Tensor], augment: bool = False) -> Batch:
        """The windows of ``parts`` (training augmentation applied when ``augment``).

        Training batches (``augment=True``) gather into buffers reused by the next
        training batch: a step's windows are dead once its backward has run.
        """
        cfg = self.config
        rfs = [e.receptive_field for e in
               (self.encoder if len(self.sessions) > 1 else [self.encoder])]
        return Batch(parts, self.sessions, self.starts, rfs,
                     cfg.augment if augment else None, self.generator, cfg.precision,
                     full_batch=cfg.batch_size is None,
                     buffers=self._gather_buffers if augment else None,
                     deduplicate=bool(getattr(self.encoder, "takes_rows", False)),
                     shared_views=cfg.shared_augmentation)

    def step(self) -> torch.Tensor:
        """One optimisation step; returns the detached metrics on the device."""
        cfg = self.config
        if cfg.batch_size is None:
            parts = self.sampler.sample_full(self.generator)
        else:
            parts = self.sampler.sample(cfg.batch_size, cfg.num_negatives or cfg.batch_size,
                                        self.generator)
        loss, metrics = self.objective.batch_loss(self.batch(parts, augment=True), self.encoder)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return metrics

    @torch.no_grad()
    def evaluate(self, num_batches: int) -> np.ndarray:
        """Objective on ``num_batches`` freshly sampled batches, without training.

        All batches' windows go through the encoder together (in memory-bounded chunks);
        returns the (num_batches,) loss values.
        """
        cfg = self.config
        self.encoder.eval()
        if cfg.batch_size is None:
            batches = [self.sampler.sample_full(self.generator) for _ in range(num_batches)]
            return np.array([float(self.objective(self.batch(parts).embed(self.encoder))[0])
                             for parts in batches])
        batches = [self.sampler.sample(cfg.batch_size, cfg.num_negatives or cfg.batch_size,
                                       self.generator) for _ in range(num_batches)]
        index = torch.cat([idx for parts in batches for idx in parts.values()])
        chunk = 1 << 16
        embedded = torch.cat([self.batch({"rows": index[i : i + chunk]}).embed(self.encoder)["rows"]
                              for i in range(0, index.shape[0], chunk)])
        sizes = [sum(idx.shape[0] for idx in parts.values()) for parts in batches]
        losses = [self.objective(split_parts(parts, rows))[0]
                  for parts, rows in zip(batches, embedded.split(sizes), strict=True)]
        return torch.stack(losses).cpu().numpy()

    def fit(self) -> dict[str, np.ndarray]:
        """Run ``max_iterations`` steps and return the history of the objective's metrics.

        An interrupt (Ctrl-C, or ``KeyboardInterrupt`` from a callback) ends training early
        with a warning instead of discarding it: the encoder keeps its weights and the
        history covers the completed steps.
        """
        cfg = self.config
        self.encoder.train()
        names = self.objective.metrics
        log = torch.zeros(cfg.max_iterations, len(names), device=self.recording.device)
        bar = tqdm(total=cfg.max_iterations, disable=not cfg.verbose, desc="neurolatent")
        done = 0
        try:
            for step in range(cfg.max_iterations):
                if cfg.lr_schedule is not None:
                    factor = cfg.lr_schedule(step, cfg.max_iterations)
                    for group in self.optimizer.param_groups:
                        group["lr"] = cfg.learning_rate * factor
                log[step] = self.step()
                done = step + 1
                self.objective.after_step(done, cfg.max_iterations)
                if cfg.verbose and (done % cfg.log_every == 0 or done == cfg.max_iterations):
                    bar.update(done - bar.n)
                    bar.set_postfix(loss=f"{float(log[step, 0]):.4f}")
                if cfg.callback is not None and done % (cfg.callback_frequency or 1) == 0:
                    cfg.callback(done, self.encoder)
        except KeyboardInterrupt:
            warnings.warn(f"training interrupted after {done} of {cfg.max_iterations} steps; "
                          "keeping the model as trained so far.", RuntimeWarning, stacklevel=3)
        finally:
            bar.close()
        self.encoder.eval()
        values = log[:done].cpu().numpy()
        return {name: values[:, i].copy() for i, name in enumerate(names)}
