"""Load neural and behavioural arrays from the files scientists have, in one call.

``load_data`` dispatches on the file suffix (or on a pynapple object) and returns a numpy
array ready for ``CEBRA.fit``. Formats that need heavy packages import them only when
used, and say which extra installs them: ``pip install 'neurolatent[io]'`` (h5py, pandas
with PyTables, pynwb, pynapple).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurolatent._optional import require

__all__ = ["SUFFIXES", "load_data", "load_deeplabcut"]

SUFFIXES = (".npy", ".npz", ".h5", ".hdf5", ".csv", ".mat", ".nwb")


def _require(module: str, what: str):
    return require(module, what, "io")


def _pick_key(keys: Sequence[str], key: str | None, path: Path) -> str:
    keys = list(keys)
    if key is None:
        if len(keys) == 1:
            return keys[0]
        raise ValueError(f"key: {path.name} holds several arrays {keys}; pass key=<name>.")
    if key not in keys:
        raise ValueError(f"key: {key!r} is not in {path.name}; available: {keys}.")
    return key


def _select_columns(array: np.ndarray, columns: Sequence[int] | None, path: Path) -> np.ndarray:
    if columns is None:
        return array
    if array.ndim != 2:
        raise ValueError(f"columns: {path.name} holds a {array.ndim}-D array; columns need a "
                         "2-D (time, features) array.")
    columns = list(columns)
    bad = [c for c in columns
           if not isinstance(c, (int, np.integer)) or not -array.shape[1] <= c < array.shape[1]]
    if bad:
        raise ValueError(f"columns: indices {bad} are out of range for {array.shape[1]} "
                         f"columns in {path.name}.")
    return array[:, columns]


def _frame_columns(frame, columns: Sequence | None, path: Path) -> np.ndarray:
    if columns is None:
        return frame.to_numpy()
    if all(isinstance(c, (int, np.integer)) for c in columns):
        return _select_columns(frame.to_numpy(), columns, path)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"columns: {missing} not in {path.name}; available: "
                         f"{list(frame.columns)[:20]}.")
    return frame[list(columns)].to_numpy()


def _h5_datasets(group, prefix: str = "") -> list[str]:
    names = []
    for name, item in group.items():
        full = f"{prefix}/{name}" if prefix else name
        if hasattr(item, "shape"):
            names.append(full)
        else:
            names.extend(_h5_datasets(item, full))
    return names


def _is_pandas_h5(path: Path) -> bool:
    h5py = _require("h5py", "Reading .h5 files")
    with h5py.File(path, "r") as handle:
        return any("pandas_type" in item.attrs for item in handle.values())


def _load_h5(path: Path, key: str | None, columns) -> np.ndarray:
    if _is_pandas_h5(path):  # a pandas HDFStore, e.g. a DeepLabCut table
        pandas = _require("pandas", "Reading pandas .h5 tables")
        _require("tables", "Reading pandas .h5 tables")
        with pandas.HDFStore(path, "r") as store:
            name = _pick_key([k.lstrip("/") for k in store.keys()], key, path)  # noqa: SIM118
            return _frame_columns(store[name], columns, path)
    h5py = _require("h5py", "Reading .h5 files")
    with h5py.File(path, "r") as handle:
        name = _pick_key(_h5_datasets(handle), key, path)
        return _select_columns(np.asarray(handle[name]), columns, path)


def _load_mat(path: Path, key: str | None, columns) -> np.ndarray:
    from scipy.io import loadmat

    try:
        content = loadmat(path)
    except NotImplementedError:  # MATLAB v7.3 files are HDF5
        h5py = _require("h5py", "Reading MATLAB v7.3 files")
        with h5py.File(path, "r") as handle:
            names = [n for n in _h5_datasets(handle) if not n.startswith("#")]
            name = _pick_key(names, key, path)
            # MATLAB stores column-major: transpose back to the shape MATLAB shows
            return _select_columns(np.asarray(handle[name]).T, columns, path)
    names = [n for n in content if not n.startswith("__")]
    return _select_columns(np.asarray(content[_pick_key(names, key, path)]), columns, path)


def _load_nwb(path: Path, key: str | None, bin_width: float) -> np.ndarray:
    """Units → spike counts per bin; a named time series → interpolated onto the same bins."""
    pynwb = _require("pynwb", "Reading .nwb files")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        units = nwbfile.units
        if units is None or len(units) == 0:
            raise ValueError(f"{path.name}: no units table; load_data bins units into counts "
                             "and aligns behaviour to those bins.")
        spikes = [np.asarray(units["spike_times"][i]) for i in range(len(units))]
        start = min(s.min() for s in spikes if len(s))
        stop = max(s.max() for s in spikes if len(s))
        edges = np.arange(start, stop + bin_width, bin_width)
        if key is None:
            return np.stack([np.histogram(s, edges)[0] for s in spikes], axis=1).astype(
                np.float32)
        series = {obj.name: obj for obj in nwbfile.objects.values()
                  if isinstance(obj, pynwb.base.TimeSeries)}
        name = _pick_key(sorted(series), key, path)
        data = np.asarray(series[name].data[:], dtype=float)
        timestamps = np.asarray(series[name].get_timestamps(), dtype=float)
    centres = (edges[:-1] + edges[1:]) / 2
    data = data.reshape(len(data), -1)
    return np.stack([np.interp(centres, timestamps, column) for column in data.T], axis=1)


def _load_pynapple(obj: Any, bin_width: float | None) -> np.ndarray:
    if type(obj).__name__ == "TsGroup":
        if bin_width is None:
            raise ValueError("bin_width: a pynapple TsGroup holds spike times; pass "
                             "bin_width=<seconds> to bin them into counts.")
        return np.asarray(obj.count(bin_width).values, dtype=np.float32)
    return np.asarray(obj.values)


def load_data(path: str | os.PathLike | Any, key: str | None = None,
              columns: Sequence | None = None, bin_width: float | None = None) -> np.ndarray:
    """Load one (time, features) array from a file or a pynapple object.

    Formats: .npy; .npz (``key`` = array name); .h5/.hdf5 (``key`` = dataset path, or the
    table of a pandas/DeepLabCut store); .csv (header row; ``columns`` by name or index);
    .mat (``key`` = variable; v7.3 files via h5py); .nwb (no ``key``: the units' spike
    counts in bins of ``bin_width`` s, default 0.025; ``key`` = a TimeSeries name:
    interpolated onto the same bins); a pynapple Tsd/TsdFrame (its values) or TsGroup
    (counts in bins of ``bin_width``). ``columns`` selects columns of the result.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "rec.npz")
    >>> np.savez(path, neural=np.ones((5, 3)), position=np.zeros(5))
    >>> load_data(path, key="neural", columns=[0, 2]).shape
    (5, 2)
    >>> load_data(path, key="speed")
    Traceback (most recent call last):
    ...
    ValueError: key: 'speed' is not in rec.npz; available: ['neural', 'position'].
    """
    if type(path).__module__.startswith("pynapple"):
        return _select_columns(_load_pynapple(path, bin_width), columns, Path("<pynapple>"))
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path or a pynapple object; got "
                        f"{type(path).__name__}.")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"path: unsupported file type {suffix!r} ({path.name}); supported: "
                         f"{', '.join(SUFFIXES)}.")
    if not path.is_file():
        raise FileNotFoundError(f"path: {path} does not exist.")
    if suffix == ".npy":
        if key is not None:
            raise ValueError(f"key: a .npy file holds one array; got key={key!r}.")
        return _select_columns(np.load(path, allow_pickle=False), columns, path)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            return _select_columns(archive[_pick_key(archive.files, key, path)], columns, path)
    if suffix in (".h5", ".hdf5"):
        return _load_h5(path, key, columns)
    if suffix == ".csv":
        pandas = _require("pandas", "Reading .csv files")
        return _frame_columns(pandas.read_csv(path), columns, path)
    if suffix == ".mat":
        return _load_mat(path, key, columns)
    width = 0.025 if bin_width is None else bin_width
    if not width > 0:
        raise ValueError(f"bin_width must be > 0 seconds; got {bin_width!r}.")
    return _select_columns(_load_nwb(path, key, width), columns, path)


def load_deeplabcut(path: str | os.PathLike, keypoints: Sequence[str] | None = None,
                    pcutoff: float = 0.6) -> np.ndarray:
    """(time, 2·keypoints) x/y of a DeepLabCut output (.h5 or .csv), low-confidence points
    interpolated.

    Points whose likelihood is below ``pcutoff`` are dropped and linearly interpolated in
    time from the neighbouring confident frames (held constant at the ends). ``keypoints``
    selects body parts by name (default: all, in file order). Multi-animal files use the
    first individual's columns unless ``keypoints`` names others.

    Examples
    --------
    >>> import tempfile, os, pandas as pd
    >>> columns = pd.MultiIndex.from_product([["net"], ["nose"], ["x", "y", "likelihood"]],
    ...                                      names=["scorer", "bodyparts", "coords"])
    >>> table = pd.DataFrame([[0.0, 0.0, 0.9], [5.0, 5.0, 0.1], [2.0, 4.0, 0.95]],
    ...                      columns=columns)
    >>> path = os.path.join(tempfile.mkdtemp(), "videoDLC.csv")
    >>> table.to_csv(path)
    >>> load_deeplabcut(path).tolist()
    [[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]
    """
    pandas = _require("pandas", "Reading DeepLabCut files")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: {path} does not exist.")
    if not 0 <= pcutoff <= 1:
        raise ValueError(f"pcutoff must be in [0, 1]; got {pcutoff!r}.")
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5"):
        _require("tables", "Reading DeepLabCut .h5 files")
        table = pandas.read_hdf(path)
    elif suffix == ".csv":
        header = [0, 1, 2]
        with open(path) as handle:
            if handle.readlines()[1].split(",")[0].strip().lower() == "individuals":
                header = [0, 1, 2, 3]
        table = pandas.read_csv(path, header=header, index_col=0)
    else:
        raise ValueError(f"path: DeepLabCut output is .h5 or .csv; got {suffix!r}.")
    levels = list(table.columns.names)
    if "bodyparts" not in levels or "coords" not in levels:
        # CSV headers read back without level names: name them by position
        levels = ["scorer", "individuals", "bodyparts", "coords"][-table.columns.nlevels:]
        table.columns = table.columns.set_names(levels)
    table = table.droplevel("scorer", axis=1)
    if "individuals" in table.columns.names:
        first = table.columns.get_level_values("individuals")[0]
        table = table.xs(first, axis=1, level="individuals")
    parts = list(dict.fromkeys(table.columns.get_level_values("bodyparts")))
    chosen = parts if keypoints is None else list(keypoints)
    missing = [k for k in chosen if k not in parts]
    if missing:
        raise ValueError(f"keypoints: {missing} not in {path.name}; available: {parts}.")
    out = []
    for part in chosen:
        xy = table[part][["x", "y"]].to_numpy(dtype=float, copy=True)
        confident = table[part]["likelihood"].to_numpy(dtype=float) >= pcutoff
        if not confident.any():
            raise ValueError(f"keypoints: {part!r} never reaches likelihood {pcutoff}; lower "
                             "pcutoff or drop it.")
        frames = np.arange(len(xy))
        for column in range(2):
            xy[:, column] = np.interp(frames, frames[confident], xy[confident, column])
        out.append(xy)
    return np.concatenate(out, axis=1)
