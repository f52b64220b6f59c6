"""Validated neural data and labels for one fit, and the window gathers.

Everything user-supplied passes through :func:`as_neural`, :func:`as_labels` or
:func:`as_trial_ids` exactly once; code behind this boundary trusts its inputs.
Nothing here samples or trains.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from neurolatent.models.receptive_field import ReceptiveField

__all__ = ["Recording", "as_labels", "as_neural", "as_trial_ids", "describe", "trial_bounds",
           "window_rows"]


def describe(value: Any) -> str:
    """Short human description of ``value`` for error messages.

    Examples
    --------
    >>> describe(np.zeros((3, 2), dtype=np.float32))
    'numpy array of shape (3, 2) and dtype float32'
    >>> describe("abc")
    'str'
    """
    if isinstance(value, torch.Tensor):
        return f"torch tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"numpy array of shape {value.shape} and dtype {value.dtype}"
    return type(value).__name__


def _to_numpy(value: Any, name: str) -> np.ndarray:
    """Convert array-likes (numpy, torch, lists, pandas) to numpy without changing dtype."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    # a sparse matrix exists only once scipy.sparse is imported: a fit that got none need
    # not import scipy (~10 MiB) to tell
    sparse = sys.modules.get("scipy.sparse")
    if sparse is not None and sparse.issparse(value):
        raise TypeError(f"{name}: sparse input is not supported; got a {type(value).__name__}. "
                        f"Convert it with {name}.toarray().")
    if hasattr(value, "to_numpy") and callable(value.to_numpy):  # pandas DataFrame / Series
        value = value.to_numpy()
    if isinstance(value, (str, bytes, dict, set)) or value is None:
        raise TypeError(
            f"{name} must be an array-like (numpy array, torch tensor, list of lists or pandas "
            f"frame); got {describe(value)}."
        )
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:  # ragged lists
        raise ValueError(
            f"{name} must be a rectangular array-like; could not convert {describe(value)}: {error}"
        ) from None
    return array


def _kind(array: np.ndarray) -> str:
    if array.dtype == np.bool_:
        return "bool"
    if np.issubdtype(array.dtype, np.integer):
        return "integer"
    if np.issubdtype(array.dtype, np.floating):
        return "float"
    return "other"


def _check_finite(array: np.ndarray, name: str) -> None:
    if _kind(array) == "float" and not np.isfinite(array).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ValueError(
            f"{name} must contain only finite values; found NaN or Inf at index {bad} "
            f"({np.count_nonzero(~np.isfinite(array))} non-finite entries in total)."
        )


def as_neural(value: Any, name: str = "X") -> np.ndarray:
    """Validate a neural recording and return it as a C-contiguous float32 array.

    Parameters
    ----------
    value : array-like of shape (time, neurons)
        Spike counts, rates or calcium traces (numeric, finite).
    name : str
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray of shape (time, neurons), float32, writable (a read-only input is copied)

    Examples
    --------
    >>> as_neural([[0, 1], [2, 3], [4, 5]]).dtype
    dtype('float32')
    >>> as_neural(np.zeros(4))
    Traceback (most recent call last):
    ...
    ValueError: X must be 2-D with shape (time, neurons); got numpy array of shape (4,) ...
    """
    array = _to_numpy(value, name)
    if np.iscomplexobj(array):
        raise ValueError(f"{name}: Complex data not supported; got {describe(array)}.")
    if array.dtype == object:  # e.g. pandas object columns holding numbers
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be numeric (float, integer or bool); got an object "
                            f"array with non-numeric entries ({error}).") from None
    if _kind(array) not in ("float", "integer", "bool"):
        raise TypeError(
            f"{name} must be numeric (float, integer or bool); got {describe(array)}."
        )
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (time, neurons); got {describe(array)}."
            + (f" Reshape your data: for a single neuron use {name}[:, None]."
               if array.ndim == 1 else "")
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        which = "sample(s)" if array.shape[0] == 0 else "feature(s)"
        count = array.shape[0] if array.shape[0] == 0 else array.shape[1]
        raise ValueError(
            f"{name} must have at least one time bin and one neuron: found {count} {which} "
            f"(shape={array.shape}) while a minimum of 1 is required."
        )
    _check_finite(array, name)
    array = np.ascontiguousarray(array, dtype=np.float32)
    # a read-only input (np.load(mmap_mode="r"), joblib's memory maps) is copied: torch
    # tensors share the buffer and must be writable
    return array if array.flags.writeable else array.copy()


def as_labels(value: Any, num_samples: int, name: str = "y") -> tuple[str, np.ndarray]:
    """Validate one label array; its dtype decides whether it is continuous or discrete.

    Float arrays (1-D or 2-D) are continuous, integer arrays (1-D) are discrete, as in
    the official package.

    Returns
    -------
    (kind, array)
        ``kind`` is ``"continuous"`` (array float32 of shape (time, dims)) or
        ``"discrete"`` (array int64 of shape (time,)).

    Examples
    --------
    >>> as_labels([0.5, 1.0, 1.5], 3)[0]
    'continuous'
    >>> as_labels(np.array([3, -1, 3]), 3)
    ('discrete', array([ 3, -1,  3]))
    >>> as_labels([0.5, 1.0], 3)
    Traceback (most recent call last):
    ...
    ValueError: y must have one row per time bin of X (3 rows); got 2 rows ...
    """
    array = _to_numpy(value, name)
    kind = _kind(array)
    if kind not in ("float", "integer"):
        raise TypeError(
            f"{name}: Unknown label type: labels must hold float values (continuous labels) or "
            f"integer values (discrete labels); got {describe(array)}."
            + (" Convert booleans with .astype(int)." if kind == "bool" else "")
        )
    if array.ndim == 0 or array.shape[0] != num_samples:
        rows = "a scalar" if array.ndim == 0 else f"{array.shape[0]} rows"
        raise ValueError(
            f"{name} must have one row per time bin of X ({num_samples} rows); got {rows} "
            f"({describe(array)})."
        )
    if kind == "integer":
        if array.ndim != 1:
            raise ValueError(
                f"{name} holds integers, so it is a discrete label and must be 1-D with shape "
                f"(time,); got {describe(array)}. Pass float values for continuous labels."
            )
        return "discrete", array.astype(np.int64)
    if array.ndim not in (1, 2):
        raise ValueError(
            f"{name} (continuous label) must be 1-D (time,) or 2-D (time, dims); "
            f"got {describe(array)}."
        )
    _check_finite(array, name)
    array = array.reshape(num_samples, -1)
    if array.shape[1] == 0:
        raise ValueError(f"{name} (continuous label) has zero columns; got {describe(array)}.")
    return "continuous", np.ascontiguousarray(array, dtype=np.float32)


def as_trial_ids(value: Any, num_samples: int, name: str = "trial_ids") -> np.ndarray:
    """Validate per-sample trial ids (1-D integers, one per time bin).

    Examples
    --------
    >>> as_trial_ids([0, 0, 1, 1], 4)
    array([0, 0, 1, 1])
    """
    array = _to_numpy(value, name)
    if _kind(array) != "integer" or array.ndim != 1:
        raise TypeError(
            f"{name} must be a 1-D integer array with one id per time bin; got {describe(array)}."
        )
    if array.shape[0] != num_samples:
        raise ValueError(
            f"{name} must have one id per time bin ({num_samples}); got {array.shape[0]}."
        )
    return array.astype(np.int64)


def trial_bounds(ids: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each contiguous run of equal trial id: the segments windows never
    cross (a trial id that reappears later starts a new segment).

    >>> trial_bounds(np.array([4, 4, 1, 1, 1, 4]))
    [(0, 2), (2, 5), (5, 6)]
    """
    edges = [0, *(np.flatnonzero(np.diff(ids)) + 1).tolist(), len(ids)]
    return list(itertools.pairwise(edges))


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map arbitrary integer values to contiguous codes 0..K-1 (sorted by value)."""
    classes, codes = np.unique(values, return_inverse=True)
    return classes, codes.reshape(-1).astype(np.int64)


@dataclass
class Recording:
    """One session's validated data on the fit device.

    Parameters
    ----------
    neural : torch.Tensor of shape (time, neurons), float32, contiguous
    continuous : torch.Tensor of shape (time, dims), float32, or None
    discrete : torch.Tensor of shape (time,), int64 codes 0..K-1, or None
    classes : numpy array mapping codes back to the user's integer values, or None
    segments : torch.Tensor of shape (time,), int64
        Contiguous-run id: a new segment starts wherever the trial id changes. Windows
        never cross a segment boundary.

    Examples
    --------
    >>> rec = Recording.from_arrays(np.arange(12.0).reshape(6, 2), [np.arange(6.0)])
    >>> rec.num_samples, rec.num_neurons, rec.label_kind
    (6, 2, 'continuous')
    >>> rf = ReceptiveField(1, 2)
    >>> windows = rec.windows(torch.tensor([1, 4]), rf)
    >>> windows.shape
    torch.Size([2, 2, 3])
    >>> windows.permute(2, 0, 1).is_contiguous()  # memory laid out (lag, batch, neurons)
    True
    """

    neural: torch.Tensor
    continuous: torch.Tensor | None = None
    discrete: torch.Tensor | None = None
    classes: np.ndarray | None = None
    segments: torch.Tensor | None = None
    _offsets: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_arrays(
        cls,
        X: Any,
        labels: Sequence[Any] = (),
        trial_ids: Any = None,
        device: torch.device | str = "cpu",
        x_name: str = "X",
        label_names: Sequence[str] | None = None,
    ) -> Recording:
        """Validate user arrays and put them on ``device`` once.

        Several float label arrays are concatenated column-wise (continuous); at most one
        integer array is allowed (discrete), as in the official package.
        """
        neural = as_neural(X, x_name)
        num_samples = neural.shape[0]
        continuous, discrete = [], []
        names = label_names or [f"y[{i}]" if len(labels) > 1 else "y" for i in range(len(labels))]
        for value, name in zip(labels, names, strict=True):
            kind, array = as_labels(value, num_samples, name)
            (continuous if kind == "continuous" else discrete).append(array)
        if len(discrete) > 1:
            raise ValueError(
                f"At most one discrete (integer) label array can be passed; got {len(discrete)}. "
                "Combine them into one integer code, e.g. y1 * K2 + y2."
            )
        device = torch.device(device)
        rec = cls(neural=torch.from_numpy(neural).to(device).contiguous())
        if continuous:
            rec.continuous = torch.from_numpy(np.concatenate(continuous, axis=1)).to(device)
        if discrete:
            rec.classes, codes = _codes(discrete[0])
            rec.discrete = torch.from_numpy(codes).to(device)
        if trial_ids is not None:
            ids = as_trial_ids(trial_ids, num_samples)
            lengths = [stop - start for start, stop in trial_bounds(ids)]
            segments = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
            rec.segments = torch.from_numpy(segments).to(device)
        return rec

    @property
    def device(self) -> torch.device:
        return self.neural.device

    @property
    def num_samples(self) -> int:
        return int(self.neural.shape[0])

    @property
    def num_neurons(self) -> int:
        return int(self.neural.shape[1])

    @property
    def label_kind(self) -> str:
        """``"none"``, ``"continuous"``, ``"discrete"`` or ``"mixed"``."""
        has_c, has_d = self.continuous is not None, self.discrete is not None
        return {(False, False): "none", (True, False): "continuous",
                (False, True): "discrete", (True, True): "mixed"}[(has_c, has_d)]

    def segment_ids(self) -> torch.Tensor:
        """Segment id per sample (all zeros without trial ids)."""
        if self.segments is None:
            return torch.zeros(self.num_samples, dtype=torch.long, device=self.device)
        return self.segments

    def valid_mask(self, rf: ReceptiveField) -> torch.Tensor:
        """Boolean mask of the samples whose full window lies inside one segment.

        Windows at trial edges are handled by *restricting references*: a sample whose
        window would reach into a neighbouring trial (or past the recording) is never a
        reference, positive or negative during training. ``transform`` instead pads each
        trial on its own, so every sample still gets an embedding.
        """
        seg = self.segment_ids()
        t = torch.arange(self.num_samples, device=self.device)
        # first index of each segment, broadcast back to its samples
        boundaries = torch.ones(self.num_samples, dtype=torch.bool, device=self.device)
        boundaries[1:] = seg[1:] != seg[:-1]
        starts = t[boundaries]
        counts = torch.diff(torch.cat([starts, t.new_tensor([self.num_samples])]))
        start_of = torch.repeat_interleave(starts, counts)
        end_of = torch.repeat_interleave(starts + counts, counts)
        return (t - rf.left >= start_of) & (t + rf.right <= end_of)

    def check_length(self, rf: ReceptiveField, name: str = "X") -> None:
        """Raise if no sample has a complete window of the model's receptive field."""
        if self.num_samples < rf.size:
            raise ValueError(
                f"{name} has {self.num_samples} time bins, fewer than the model's receptive "
                f"field of {rf.size} samples; pass a longer recording or choose a model with "
                "a smaller receptive field (e.g. 'offset1-model')."
            )
        if not bool(self.valid_mask(rf).any()):
            raise ValueError(
                f"No trial in trial_ids is at least {rf.size} samples long (the model's receptive"
                " field); use longer trials or a model with a smaller receptive field."
            )

    def windows(self, index: torch.Tensor, rf: ReceptiveField,
                out: torch.Tensor | None = None) -> torch.Tensor:
        """Gather the windows centred on ``index``: shape (batch, neurons, rf.size).

        The window gather of the library: index arithmetic on the contiguous
        (time, neurons) tensor, no copies of the full recording (:func:`window_rows` and
        :meth:`rows` gather the same windows with their common samples once). ``out``, a
        (batch * rf.size, neurons) tensor, receives the rows instead of a new allocation.
        The result is a view of time-major memory (lag, batch, neurons): the encoders'
        convolutions read each lag's rows of the whole batch as one contiguous block.
        """
        key = (rf.left, rf.right)
        if key not in self._offsets:
            self._offsets[key] = torch.arange(-rf.left, rf.right, device=self.device)
        times = (self._offsets[key][:, None] + index).reshape(-1)
        gathered = self.rows(times, out)
        return gathered.view(rf.size, index.shape[0], self.num_neurons).permute(1, 2, 0)

    def rows(self, times: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """The samples ``times`` as rows (len(times), neurons), into ``out`` if given: the
        gather under :meth:`windows` and of :func:`window_rows`' deduplicated windows."""
        if out is None:
            return self.neural.index_select(0, times)
        return torch.index_select(self.neural, 0, times, out=out)


def window_rows(index: torch.Tensor, rf: ReceptiveField, multiple: int = 1,
                max_rows: int | None = None) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The windows centred on ``index`` as one time-ordered run of distinct samples.

    Returns ``times`` (u,) and ``first`` (len(index),): window ``b`` is the samples
    ``times[first[b] : first[b] + rf.size]``, which are consecutive in time. Windows that
    overlap share their common samples, so a batch of 1,536 windows of 10 samples drawn
    from 10,000 needs ~7,800 rows instead of 15,360. ``times`` is padded to a multiple of
    ``multiple`` by repeating its last sample (so sizes repeat from step to step); padded
    rows belong to no window. With ``max_rows``, returns None instead when the padded run
    would be longer: the count is known before the run is built, which is most of the
    work (at T = 1M, where windows rarely share samples, 0.1 of 0.5 ms per gather).

    Sorting the window starts is all it takes: equal-length windows, taken in order of
    their start, each add the samples past the previous one's end (at most ``rf.size``).

    Examples
    --------
    >>> rf = ReceptiveField(left=1, right=2)  # 3 samples: [t - 1, t + 1]
    >>> times, first = window_rows(torch.tensor([5, 2, 6, 20]), rf)
    >>> times.tolist()
    [1, 2, 3, 4, 5, 6, 7, 19, 20, 21]
    >>> first.tolist()  # index 5 -> times[3:6] = [4, 5, 6]
    [3, 0, 4, 7]
    >>> window_rows(torch.tensor([5, 2, 6, 20]), rf, max_rows=9) is None  # 10 rows needed
    True
    """
    size = rf.size
    if index.numel() == 0:
        return index.new_empty(0), index.new_empty(0)
    start, order = torch.sort(index - rf.left)
    # samples each window adds past the previous (sorted) window's end: all of its own for
    # the first window and after a gap, none for a repeated start
    new = torch.diff(start, prepend=start[:1] - size).clamp_(max=size)
    end = torch.cumsum(new, 0)
    count = int(end[-1])  # the one host read; this path is for CPU batches
    pad = -count % multiple
    if max_rows is not None and count + pad > max_rows:
        return None
    first = torch.empty_like(start)
    first[order] = end - size
    # unique row r of window i (its last new[i] rows) is the time start[i] + size - end[i] + r
    times = torch.repeat_interleave(start + size - end, new, output_size=count)
    times += torch.arange(count, device=index.device)
    if pad:
        times = torch.cat([times, times[-1:].expand(pad)])
    return times, first
