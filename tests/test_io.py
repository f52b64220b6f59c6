"""Every file format load_data reads, built on the fly; DeepLabCut cleaning."""

from __future__ import annotations

import datetime

import h5py
import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from neurolatent.datasets import load_data, load_deeplabcut

RNG = np.random.default_rng(0)
NEURAL = RNG.poisson(2.0, size=(40, 6)).astype(np.float64)


def test_numpy_files(tmp_path):
    np.save(tmp_path / "x.npy", NEURAL)
    np.testing.assert_array_equal(load_data(tmp_path / "x.npy"), NEURAL)
    np.savez(tmp_path / "x.npz", neural=NEURAL, label=np.arange(40.0))
    np.testing.assert_array_equal(load_data(tmp_path / "x.npz", key="label"), np.arange(40.0))
    np.testing.assert_array_equal(load_data(str(tmp_path / "x.npz"), "neural", columns=[1, -1]),
                                  NEURAL[:, [1, -1]])
    with pytest.raises(ValueError, match="several arrays"):
        load_data(tmp_path / "x.npz")
    with pytest.raises(ValueError, match=r"'spikes' is not in x\.npz"):
        load_data(tmp_path / "x.npz", key="spikes")
    with pytest.raises(ValueError, match="one array"):
        load_data(tmp_path / "x.npy", key="neural")
    with pytest.raises(ValueError, match="out of range"):
        load_data(tmp_path / "x.npy", columns=[6])


def test_hdf5_csv_and_errors(tmp_path):
    with h5py.File(tmp_path / "x.h5", "w") as handle:
        handle.create_dataset("session/neural", data=NEURAL)
        handle.create_dataset("session/speed", data=np.ones(40))
    np.testing.assert_array_equal(load_data(tmp_path / "x.h5", key="session/neural"), NEURAL)
    with pytest.raises(ValueError, match="available: \\['session/neural', 'session/speed'\\]"):
        load_data(tmp_path / "x.h5", key="neural")
    frame = pd.DataFrame(NEURAL, columns=[f"n{i}" for i in range(6)])
    frame.to_csv(tmp_path / "x.csv", index=False)
    np.testing.assert_array_equal(load_data(tmp_path / "x.csv"), NEURAL)
    np.testing.assert_array_equal(load_data(tmp_path / "x.csv", columns=["n2", "n0"]),
                                  NEURAL[:, [2, 0]])
    with pytest.raises(ValueError, match=r"\['n9'\] not in x.csv"):
        load_data(tmp_path / "x.csv", columns=["n9"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_data(tmp_path / "absent.npy")
    with pytest.raises(ValueError, match=r"unsupported file type '\.txt'"):
        load_data(tmp_path / "x.txt")
    with pytest.raises(TypeError, match="file path or a pynapple object"):
        load_data(NEURAL)


def test_matlab_v5_and_v73(tmp_path):
    savemat(tmp_path / "v5.mat", {"spikes": NEURAL, "position": np.arange(40.0)[:, None]})
    np.testing.assert_array_equal(load_data(tmp_path / "v5.mat", key="spikes"), NEURAL)
    with pytest.raises(ValueError, match="several arrays"):
        load_data(tmp_path / "v5.mat")
    # A v7.3 file: HDF5 behind MATLAB's 512-byte header, arrays stored column-major.
    path = tmp_path / "v73.mat"
    with h5py.File(path, "w", userblock_size=512) as handle:
        handle.create_dataset("spikes", data=NEURAL.T)
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 ."
    with open(path, "r+b") as handle:
        handle.write(header.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02" + b"IM")
    np.testing.assert_array_equal(load_data(path, key="spikes"), NEURAL)


def test_nwb_units_are_binned_and_behaviour_interpolated(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    nwbfile = pynwb.NWBFile("test", "id", datetime.datetime.now(datetime.timezone.utc))
    nwbfile.add_unit(spike_times=[0.01, 0.02, 0.03, 0.26])
    nwbfile.add_unit(spike_times=[0.11, 0.30])
    stamps = np.linspace(0.0, 0.4, 41)
    nwbfile.add_acquisition(pynwb.TimeSeries(name="position", data=2 * stamps, unit="m",
                                             timestamps=stamps))
    with pynwb.NWBHDF5IO(str(tmp_path / "x.nwb"), "w") as io:
        io.write(nwbfile)
    counts = load_data(tmp_path / "x.nwb", bin_width=0.1)
    # bins from the first spike (0.01 s): [0.01, 0.11), [0.11, 0.21), [0.21, 0.31)
    np.testing.assert_array_equal(counts, [[3, 0], [0, 1], [1, 1]])
    position = load_data(tmp_path / "x.nwb", key="position", bin_width=0.1)
    np.testing.assert_allclose(position[:, 0], 2 * np.array([0.06, 0.16, 0.26]))
    with pytest.raises(ValueError, match=r"'speed' is not in x\.nwb"):
        load_data(tmp_path / "x.nwb", key="speed")


def test_pynapple_objects():
    nap = pytest.importorskip("pynapple")
    frame = nap.TsdFrame(t=np.arange(40) * 0.1, d=NEURAL)
    np.testing.assert_array_equal(load_data(frame), NEURAL)
    support = nap.IntervalSet(0, 0.3)
    group = nap.TsGroup({0: nap.Ts(t=[0.05, 0.15, 0.16], time_support=support),
                         1: nap.Ts(t=[0.25], time_support=support)}, time_support=support)
    np.testing.assert_array_equal(load_data(group, bin_width=0.1), [[1, 0], [2, 0], [0, 1]])
    with pytest.raises(ValueError, match="bin_width"):
        load_data(group)


def _dlc_table(likelihood: np.ndarray) -> pd.DataFrame:
    columns = pd.MultiIndex.from_product([["DLC_net"], ["nose", "tail"],
                                          ["x", "y", "likelihood"]],
                                         names=["scorer", "bodyparts", "coords"])
    frames = np.arange(6.0)
    values = np.c_[frames, 2 * frames, likelihood, -frames, frames, np.ones(6)]
    values[likelihood < 0.6, 0] = 100.0  # a bad detection the cutoff must remove
    return pd.DataFrame(values, columns=columns)


@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_deeplabcut_drops_and_interpolates_low_likelihood(tmp_path, suffix):
    likelihood = np.array([0.9, 0.2, 0.3, 0.95, 0.99, 0.1])
    table = _dlc_table(likelihood)
    path = tmp_path / f"videoDLC{suffix}"
    if suffix == ".h5":
        table.to_hdf(path, key="df_with_missing")
    else:
        table.to_csv(path)
    xy = load_deeplabcut(path, keypoints=["nose"], pcutoff=0.6)
    # frames 1, 2 interpolated between 0 and 3; the last frame held at frame 4's value
    np.testing.assert_allclose(xy[:, 0], [0, 1, 2, 3, 4, 4])
    np.testing.assert_allclose(xy[:, 1], [0, 2, 4, 6, 8, 8])
    assert load_deeplabcut(path).shape == (6, 4)
    with pytest.raises(ValueError, match=r"\['ear'\] not in"):
        load_deeplabcut(path, keypoints=["ear"])
    if suffix == ".h5":  # load_data reads the same table through pandas
        assert load_data(path).shape == (6, 6)
