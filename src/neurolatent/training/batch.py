"""One step's windows: gathered (and augmented) once, embedded by any encoder.

Objectives with a second network (BYOL's EMA target) embed the very same augmented views
when they ask for the same tuple of parts, so the windows must be materialised once per
step, not per encoder. A different tuple is a gather and an augmentation draw of its own
(MYOW's target asks for one on purpose).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import nn

from neurolatent.augment import two_views
from neurolatent.recording import Recording, window_rows

__all__ = ["Batch", "WindowRows", "split_parts"]


class WindowRows(NamedTuple):
    """Windows as one time-ordered run of distinct samples (see
    :func:`~neurolatent.recording.window_rows`): window ``b`` is
    ``rows[first[b] : first[b] + size]``."""

    rows: torch.Tensor
    first: torch.Tensor


# Overlapping windows share samples. When the distinct samples of a step number at most this
# share of its windows' samples, the windows are gathered deduplicated and the encoder's first
# layer runs along them once (ConvEncoder.embed_rows). Below it the saved convolution work
# outweighs the extra index arithmetic (the sort, the first layer's output gathered per
# window, its gradient scattered back). Measured, offset10-model, N = 120, 1,536 windows:
# T = 10k (share ~0.5) +15 % steps/s, T = 20k (~0.7) even, T = 100k (~0.93) -8 %.
_ROWS_MAX_SHARE = 0.75
# From this many neurons on, the first layer's GEMMs are bound by reading their input rows
# and the deduplicated run is never slower: N = 1,000, 26 -> 41 steps/s at T = 10k,
# 26 -> 33 at 20k, 25 -> 27 at 100k, even at 1M.
_ROWS_ALWAYS_NEURONS = 512
# distinct-sample counts are padded to a multiple of this, so that the first layer's sizes
# repeat from step to step (see _WINDOW_QUANTUM)
_ROW_QUANTUM = 256


class Batch:
    """The windows of a step's named index parts, possibly spread over sessions.

    Parameters
    ----------
    parts : dict of name -> (n,) index tensor
        Indices into the sessions laid end to end.
    sessions : list of Recording
    starts : (num_sessions + 1,) tensor of the sessions' first joint index
    receptive_fields : one per session
    augment : callable (windows, generator) -> windows, or None
    generator : torch.Generator
    precision : "32" or "bf16" (autocast of the encoder forward)
    full_batch : bool
        Embed the whole (single-session) sequence as one convolution and index it, instead
        of gathering windows (no augmentation possible).
    buffers : dict or None
        Gather destinations kept from one training step to the next (the trainer's).
        A fresh multi-megabyte tensor per step costs a page fault per 4 KiB on first
        touch: at N = 1,000 neurons that was two thirds of the gather's time. Only for
        batches whose windows are dead once the step's backward has run.
    deduplicate : bool
        The encoders take deduplicated windows (:class:`WindowRows`, ``embed_rows``):
        single-session, unaugmented CPU batches whose windows share many samples (or with
        wide recordings, any) are then gathered that way.
    shared_views : bool
        Sample i's "reference" and "positive" windows get one augmentation draw (the same
        neuron mask, the same noise) instead of one each; other parts draw their own.

    Examples
    --------
    >>> from neurolatent.models import make_encoder
    >>> g = torch.Generator().manual_seed(0)
    >>> rec = Recording.from_arrays(torch.randn(50, 4))
    >>> enc = make_encoder("offset5-model", 4, 8, 3, g)
    >>> parts = {"reference": torch.tensor([5, 6]), "positive": torch.tensor([7, 8])}
    >>> batch = Batch(parts, [rec], torch.tensor([0, 50]), [enc.receptive_field], None, g)
    >>> {k: tuple(v.shape) for k, v in batch.embed(enc).items()}
    {'reference': (2, 3), 'positive': (2, 3)}
    """

    def __init__(self, parts: dict[str, torch.Tensor], sessions: Sequence[Recording],
                 starts: torch.Tensor, receptive_fields: Sequence, augment: Callable | None,
                 generator: torch.Generator, precision: str = "32", full_batch: bool = False,
                 buffers: dict | None = None, deduplicate: bool = False,
                 shared_views: bool = False):
        self.parts, self.sessions, self.starts = parts, list(sessions), starts
        self.receptive_fields = list(receptive_fields)
        self.augment, self.generator = augment, generator
        self.shared_views = shared_views
        self.precision, self.full_batch = precision, full_batch
        self.buffers = buffers
        # the sort of window_rows reads its count back to the host: free on the CPU, a
        # synchronisation per step on an accelerator
        self.deduplicate = (deduplicate and len(self.sessions) == 1 and augment is None
                            and self.receptive_fields[0].size > 1
                            and self.device.type == "cpu")
        # bf16 training of a layer-stack encoder (``deduplicate``: it takes rows) casts its
        # input before the first GEMM anyway (_run_stack); done here, into a buffer reused
        # from step to step, the cast's 1.9 MB (T = 10k, N = 120) is not a fresh allocation
        # at every step (profiled at 0.6 ms of a 9.5 ms step; alternated in one process, the
        # median bf16 step fell from 10.3 to 10.0 ms)
        self.cast_to = (torch.bfloat16 if precision == "bf16" and deduplicate
                        and buffers is not None else None)
        self._cache: dict[tuple[str, ...], list] = {}

    @property
    def device(self) -> torch.device:
        return self.sessions[0].device

    def _autocast(self):
        if self.precision != "bf16":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def _windows(self, names: tuple[str, ...]) -> list[tuple]:
        """Per session: (session, positions in the concatenated parts, windows), the windows
        a (batch, neurons, window) tensor or :class:`WindowRows`."""
        if names not in self._cache:
            index = torch.cat([self.parts[n] for n in names])
            self._cache[names] = ((self.deduplicate and self._deduplicated(names, index))
                                  or self._gathered(names, index))
        return self._cache[names]

    def _deduplicated(self, names: tuple[str, ...], index: torch.Tensor) -> list[tuple] | None:
        """The windows as :class:`WindowRows` if they share enough samples, else None."""
        rf, session = self.receptive_fields[0], self.sessions[0]
        limit = (None if session.num_neurons >= _ROWS_ALWAYS_NEURONS
                 else int(_ROWS_MAX_SHARE * index.shape[0] * rf.size))
        run = window_rows(index, rf, multiple=_ROW_QUANTUM, max_rows=limit)
        if run is None:
            return None
        times, first = run
        rows = session.rows(times, out=self._buffer((names, "rows"), 0, times.shape[0]))
        rows = self._cast(rows, (names, "rows"), 0)
        return [(0, torch.arange(index.shape[0], device=index.device), WindowRows(rows, first))]

    def _gathered(self, names: tuple[str, ...], index: torch.Tensor) -> list[tuple]:
        """The windows gathered (and augmented) per session."""
        groups = []
        if len(self.sessions) == 1:
            groups.append((0, torch.arange(index.shape[0], device=index.device), index))
        else:
            session = torch.bucketize(index, self.starts, right=True) - 1
            for s in range(len(self.sessions)):
                where = torch.nonzero(session == s).reshape(-1)
                groups.append((s, where, index[where] - self.starts[s]))
        out = []
        for s, where, local in groups:
            n = local.shape[0]
            if len(groups) > 1 and n:
                local = _pad_to_quantum(local)
            rows = local.shape[0] * self.receptive_fields[s].size
            windows = self.sessions[s].windows(local, self.receptive_fields[s],
                                               out=self._buffer((names, s), s, rows))
            if self.augment is not None:
                # random draws for the real windows only, as without padding; the
                # augmented views go back into the gather's own storage
                augmented = self._augmented(windows[:n], where, names)
                if windows.shape[0] == n:
                    windows = augmented
                else:
                    windows[:n] = augmented
            out.append((s, where, self._cast(windows, (names, s), s)))
        return out

    def _cast(self, gathered: torch.Tensor, key: tuple, s: int) -> torch.Tensor:
        """``gathered`` (session ``s``'s rows, or windows viewing time-major rows) in the
        compute dtype (:attr:`cast_to`), in a reused gather buffer; as it is without a cast.
        Windows keep their (batch, neurons, window) view of time-major memory."""
        if self.cast_to is None or gathered.dtype == self.cast_to:
            return gathered
        # (batch, neurons, window) windows are (window, batch, neurons) rows underneath
        rows = gathered.permute(2, 0, 1) if gathered.dim() == 3 else gathered
        out = self._buffer((*key, self.cast_to), s, gathered.numel() // gathered.shape[1],
                           self.cast_to).view(rows.shape).copy_(rows)
        return out.permute(1, 2, 0) if gathered.dim() == 3 else out

    def _augmented(self, windows: torch.Tensor, where: torch.Tensor,
                   names: tuple[str, ...]) -> torch.Tensor:
        """One session's windows augmented; with ``shared_views`` the reference and positive
        windows of each sample get one draw."""
        if not self.shared_views or names[:2] != ("reference", "positive"):
            return self.augment(windows, self.generator)
        size = self.parts["reference"].shape[0]
        # a session's windows are in the order of the concatenated parts: its references,
        # then its positives, then the rest
        pairs = size if len(self.sessions) == 1 else int((where < size).sum())
        if len(self.sessions) > 1 and not torch.equal(where[pairs : 2 * pairs] - size,
                                                      where[:pairs]):
            raise ValueError("shared_augmentation: a sample's reference and positive lie in "
                             "different sessions (different neurons), so they cannot share "
                             "one augmentation draw.")
        views = two_views(windows[:pairs], windows[pairs : 2 * pairs], self.augment,
                          self.generator, shared=True)
        rest = windows[2 * pairs :]
        return torch.cat([*views, self.augment(rest, self.generator)] if rest.shape[0]
                         else views)

    def _buffer(self, key: tuple, s: int, rows: int,
                dtype: torch.dtype | None = None) -> torch.Tensor | None:
        # one destination per (parts, session or form, dtype): two gathers of the same step
        # never share one
        if self.buffers is None:
            return None
        session = self.sessions[s]
        buffer = self.buffers.get(key)
        if buffer is None or buffer.shape[0] < rows:
            # grown only, never shrunk: a multi-session step's padded window count takes a
            # few values (_pad_to_quantum), and each step uses a prefix of the largest yet
            buffer = self.buffers[key] = session.neural.new_empty(
                (rows, session.num_neurons), dtype=dtype)
        return buffer[:rows]

    def embed(self, encoder: nn.Module,
              names: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """Embeddings (float32) of the parts ``names`` (default: all) through ``encoder``
        (an ``nn.ModuleList`` with one encoder per session for multi-session data)."""
        names = tuple(self.parts if names is None else names)
        with self._autocast():
            if self.full_batch:
                rf = self.receptive_fields[0]
                # One convolution over the whole sequence, then index the outputs:
                # O(T * hidden) memory instead of O(T * hidden * receptive field).
                dense = encoder.embed_sequence(self.sessions[0].neural)
                return {n: dense[self.parts[n] - rf.left].float() for n in names}
            groups = self._windows(names)
            if len(groups) == 1:
                embedded = _embed(encoder, groups[0][2])
            else:
                # a session's windows may end in padding (see _pad_to_quantum): dropped here
                outputs = [_embed(encoder[s], w)[: where.shape[0]] for s, where, w in groups]
                order = torch.argsort(torch.cat([where for _, where, _ in groups]))
                embedded = torch.cat(outputs)[order]
        return split_parts({n: self.parts[n] for n in names}, embedded.float())


# Multi-session steps draw a varying number of windows per session (positives come from
# any session). Every gather buffer and activation of the session's encoder then had a new
# size at each step, and glibc's heap, serving those from ever-different free blocks, grew
# by ~120 MiB over 100 steps (4 sessions, T = 10k). Rounded up to a multiple of this many
# windows, the sizes repeat within a few values and the freed blocks are reused exactly.
_WINDOW_QUANTUM = 32


def _pad_to_quantum(index: torch.Tensor) -> torch.Tensor:
    """``index`` extended by repeats of its last entry to a multiple of _WINDOW_QUANTUM.

    The repeated windows are real windows (finite values) whose embeddings are dropped, so
    they add nothing to the loss or to any gradient.
    """
    pad = -index.shape[0] % _WINDOW_QUANTUM
    return torch.cat([index, index[-1:].expand(pad)]) if pad else index


def _embed(encoder: nn.Module, windows: torch.Tensor | WindowRows) -> torch.Tensor:
    if isinstance(windows, WindowRows):
        return encoder.embed_rows(windows.rows, windows.first)
    return encoder.embed_windows(windows)


def split_parts(parts: dict[str, torch.Tensor],
                embedded: torch.Tensor) -> dict[str, torch.Tensor]:
    """Cut the embeddings of concatenated index parts back into named parts.

    >>> split_parts({"a": torch.zeros(2), "b": torch.zeros(1)}, torch.arange(3.0))
    {'a': tensor([0., 1.]), 'b': tensor([2.])}
    """
    sizes = [idx.shape[0] for idx in parts.values()]
    return dict(zip(parts, embedded.split(sizes), strict=True))
