"""Loaders for the real recordings the paper (and the MYOW benchmarks) use.

Nothing is downloaded and nothing is bundled: the files live under one folder named by the
environment variable ``NEUROLATENT_DATA`` (or the ``root`` argument), laid out as

    $NEUROLATENT_DATA/rat_hippocampus/buddy.npz
    $NEUROLATENT_DATA/mihi_chewie/chewie_20131003_bin100ms_vel5.npz
    $NEUROLATENT_DATA/mouse_sleep_states/mouse_ca1_4s.npz

Every loader returns a scikit-learn ``Bunch`` (a dict with attribute access) of numpy
arrays, ready for ``CEBRA.fit``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.model_selection import KFold
from sklearn.utils import Bunch

__all__ = ["DATA_ENV", "data_path", "monkey_reaching", "rat_hippocampus", "rat_trials",
           "sleep_states"]

DATA_ENV = "NEUROLATENT_DATA"
RAT_NAMES = ("achilles", "buddy", "cicero", "gatsby")


def data_path(*parts: str, root: str | os.PathLike | None = None) -> Path:
    """Path of a data file under ``root`` or ``$NEUROLATENT_DATA``; a clear error if absent.

    Examples
    --------
    >>> data_path("rat_hippocampus", "buddy.npz", root="/nonexistent")
    Traceback (most recent call last):
    ...
    FileNotFoundError: rat_hippocampus/buddy.npz not found under /nonexistent ...
    """
    base = root if root is not None else os.environ.get(DATA_ENV)
    if base is None:
        raise FileNotFoundError(
            f"{'/'.join(parts)}: the data folder is not set. Set the environment variable "
            f"{DATA_ENV} to the folder holding rat_hippocampus/, mihi_chewie/, "
            "mouse_sleep_states/ (or pass root=...).")
    path = Path(base).joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(
            f"{'/'.join(parts)} not found under {base} ({DATA_ENV}="
            f"{os.environ.get(DATA_ENV, '<unset>')}); point {DATA_ENV} (or root=) at the "
            "folder that holds it.")
    return path


def _load_npz(path: Path, required: tuple[str, ...]) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        missing = [key for key in required if key not in archive.files]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing}; found {sorted(archive.files)}.")
        return {key: archive[key] for key in archive.files}


def _choice(value: str, allowed, name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}; got {value!r}.")
    return value


def rat_trials(direction: np.ndarray) -> np.ndarray:
    """Trial id per sample: a trial is a round trip on the track.

    Boundaries are at every second change of the running direction, starting with the
    first change: with cᵢ the i-th change, the trials are [0, c₀), [c₀, c₂), [c₂, c₄), …

    Examples
    --------
    >>> rat_trials(np.array([1, 1, 0, 0, 1, 1, 0, 1])).tolist()
    [0, 0, 1, 1, 1, 1, 2, 2]
    """
    direction = np.asarray(direction)
    changes = np.flatnonzero(direction[1:] != direction[:-1]) + 1
    boundaries = changes[::2]
    trial = np.zeros(len(direction), dtype=np.int64)
    trial[boundaries] = 1
    return np.cumsum(trial)


def _rat_split(trial: np.ndarray, split_no: int) -> dict[str, np.ndarray]:
    """Trial ids of train / valid / test for the paper's nested 3-fold trial split."""
    trials = np.unique(trial)
    out: dict[str, list] = {"train": [], "valid": [], "test": []}
    for block in np.array_split(trials, 3):  # three equal consecutive outer blocks
        train_idx, rest_idx = list(KFold(3).split(block))[split_no]
        test_part, valid_part = np.array_split(block[rest_idx], 2)
        out["train"].append(block[train_idx])
        out["test"].append(test_part)
        out["valid"].append(valid_part)
    return {name: np.concatenate(parts) for name, parts in out.items()}


def rat_hippocampus(name: str = "buddy", split_no: int | None = None,
                    root: str | os.PathLike | None = None) -> Bunch:
    """The CEBRA rat hippocampus recording (25 ms bins, CA1 pyramidal cells, 1.6 m track).

    Without ``split_no``: ``neural`` (T, N) float32 spike counts, ``label`` (T, 3) float32
    [position (m), right, left], ``trial`` (T,) round-trip ids. With ``split_no`` in
    {0, 1, 2}, the paper's nested 3-fold split by trials: the trials are cut into three
    consecutive blocks; in each block scikit-learn's ``KFold(3)`` (no shuffling) gives fold
    ``split_no``'s train trials and a remainder whose first half (by trials) is test and
    second half valid. Then ``train``, ``valid`` and ``test`` each hold ``neural``,
    ``label``, ``trial`` and ``index`` (rows of the full recording).

    Examples
    --------
    >>> rat_hippocampus(root="/nonexistent")
    Traceback (most recent call last):
    ...
    FileNotFoundError: rat_hippocampus/buddy.npz not found under /nonexistent ...
    """
    _choice(name, RAT_NAMES, "name")
    if split_no is not None and split_no not in (0, 1, 2):
        raise ValueError(f"split_no must be None or one of 0, 1, 2; got {split_no!r}.")
    arrays = _load_npz(data_path("rat_hippocampus", f"{name}.npz", root=root),
                       ("spikes", "position"))
    neural = arrays["spikes"].astype(np.float32)
    label = arrays["position"].astype(np.float32)
    trial = rat_trials(label[:, 1])
    data = Bunch(neural=neural, label=label, trial=trial, name=name, bin_size_s=0.025)
    if split_no is None:
        return data
    for part, ids in _rat_split(trial, split_no).items():
        index = np.flatnonzero(np.isin(trial, ids))
        data[part] = Bunch(neural=neural[index], label=label[index], trial=trial[index],
                           index=index, trials=ids)
    data.split_no = split_no
    return data


MONKEY_SESSIONS = ("chewie_20131003", "chewie_20131219")
MONKEY_BINS = ("100ms_vel5", "50ms_vel5", "100ms_allbins")


def monkey_reaching(session: str = "chewie_20131003", bin: str = "100ms_vel5",
                    root: str | os.PathLike | None = None) -> Bunch:
    """Macaque M1 centre-out reaching (MYOW's Mihi/Chewie sessions) with its trial split.

    Returns every array of the file — ``rates`` (T, N) Hz, ``counts``, ``direction``
    (T,) target 0–7, ``trial``, ``bin_in_trial``, ``time_in_trial``, ``velocity``,
    ``force``, ``position``, ``acceleration``, ``train_mask`` / ``val_mask`` /
    ``test_mask`` (MYOW's split by trial order), ``trial_direction`` — plus ``neural``
    (float32 rates) and ``angle`` (the physical reach angle 90° − 45°·k, radians).

    Examples
    --------
    >>> monkey_reaching(bin="1s")
    Traceback (most recent call last):
    ...
    ValueError: bin must be one of ['100ms_allbins', '100ms_vel5', '50ms_vel5']; got '1s'.
    """
    _choice(session, MONKEY_SESSIONS, "session")
    _choice(bin, MONKEY_BINS, "bin")
    arrays = _load_npz(data_path("mihi_chewie", f"{session}_bin{bin}.npz", root=root),
                       ("rates", "direction", "trial", "train_mask", "val_mask", "test_mask"))
    data = Bunch(**arrays, session=session, bin=bin)
    data.neural = arrays["rates"].astype(np.float32)
    data.direction = arrays["direction"].astype(np.int64)
    data.angle = np.deg2rad(90.0 - 45.0 * data.direction) % (2 * np.pi)
    return data


SLEEP_RECORDINGS = {"mouse_ca1": "mouse_ca1_4s.npz"}


def sleep_states(name: str = "mouse_ca1", root: str | os.PathLike | None = None) -> Bunch:
    """Chronic unit recording with a sleep/wake state per 4 s bin (MYOW's rodent data).

    Returns ``neural`` (T, N) float32 rates, ``counts``, ``state`` (T,) int64 — inferred
    0 = wake, 1 = NREM, 2 = REM — ``time`` and MYOW's contiguous ``train_mask`` /
    ``val_mask`` / ``test_mask``.

    Examples
    --------
    >>> sleep_states("rat_v1")
    Traceback (most recent call last):
    ...
    ValueError: name must be one of ['mouse_ca1']; got 'rat_v1'.
    """
    _choice(name, SLEEP_RECORDINGS, "name")
    arrays = _load_npz(data_path("mouse_sleep_states", SLEEP_RECORDINGS[name], root=root),
                       ("rates", "state", "train_mask", "val_mask", "test_mask"))
    data = Bunch(**arrays, name=name, state_names=("wake", "NREM", "REM"))
    data.neural = arrays["rates"].astype(np.float32)
    data.state = arrays["state"].astype(np.int64)
    return data
