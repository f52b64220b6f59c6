"""End-to-end behaviour of the CEBRA estimator: recovery, determinism, persistence, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from neurolatent import CEBRA
from neurolatent.datasets import latent_population


@pytest.fixture(scope="module")
def population():
    return latent_population(4000, 50, 2, seed=0)


def _heldout_linear_r2(model, data, split=3200):
    z_train = model.transform(data.neural[:split])
    z_test = model.transform(data.neural[split:])
    fit = LinearRegression().fit(z_train, data.latent[:split])
    return r2_score(data.latent[split:], fit.predict(z_test))


def _small(**kwargs):
    params = {"model_architecture": "offset1-model-mse", "distance": "euclidean",
              "batch_size": 512, "max_iterations": 800, "output_dimension": 4,
              "learning_rate": 3e-3, "device": "cpu", "random_state": 0}
    params.update(kwargs)
    return CEBRA(**params)


def test_behavior_embedding_recovers_latent(population):
    model = _small(time_offsets=10).fit(population.neural[:3200], population.latent[:3200])
    assert _heldout_linear_r2(model, population) >= 0.9
    assert model.history_["loss"][-50:].mean() < model.history_["loss"][:50].mean()


def test_time_embedding_recovers_smooth_latent(population):
    model = _small(time_offsets=10).fit(population.neural[:3200])
    assert _heldout_linear_r2(model, population) >= 0.8


def test_same_seed_identical_different_seed_different():
    X = np.random.default_rng(0).normal(size=(500, 12)).astype(np.float32)
    y = np.random.default_rng(1).uniform(size=500).astype(np.float32)
    params = {"model_architecture": "offset5-model", "batch_size": 64, "max_iterations": 30,
              "device": "cpu"}
    a = CEBRA(**params, random_state=3).fit(X, y).transform(X)
    b = CEBRA(**params, random_state=3).fit(X, y).transform(X)
    c = CEBRA(**params, random_state=4).fit(X, y).transform(X)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_history_and_verbose_and_callback(capsys):
    X = np.random.default_rng(0).normal(size=(200, 5))
    seen = []
    model = CEBRA(batch_size=32, max_iterations=20, device="cpu", random_state=0,
                  temperature_mode="auto", verbose=True)
    model.fit(X, callback=lambda step, enc: seen.append((step, type(enc).__name__)),
              callback_frequency=5)
    assert seen == [(5, "ConvEncoder"), (10, "ConvEncoder"), (15, "ConvEncoder"),
                    (20, "ConvEncoder")]
    assert set(model.history_) == {"loss", "alignment", "uniformity", "temperature"}
    assert all(v.shape == (20,) for v in model.history_.values())
    np.testing.assert_allclose(model.history_["loss"],
                               model.history_["alignment"] + model.history_["uniformity"],
                               rtol=1e-5)
    assert "neurolatent" in capsys.readouterr().err  # the tqdm bar


def test_accepts_lists_tensors_and_pandas():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4)).astype(np.float32)
    y = rng.uniform(size=100).astype(np.float32)
    params = {"batch_size": 16, "max_iterations": 3, "device": "cpu", "random_state": 0}
    ref = CEBRA(**params).fit(X, y).transform(X)
    for X_in, y_in in [(X.tolist(), y.tolist()), (torch.from_numpy(X), torch.from_numpy(y)),
                       (pd.DataFrame(X), pd.Series(y))]:
        np.testing.assert_array_equal(CEBRA(**params).fit(X_in, y_in).transform(X), ref)


def test_read_only_arrays_fit_and_transform_without_warnings(tmp_path):
    # np.load(mmap_mode="r") and joblib's memory-mapped worker arguments are read-only
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4)).astype(np.float32)
    y = rng.uniform(size=100).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    params = {"batch_size": 16, "max_iterations": 3, "device": "cpu", "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = CEBRA(**params).fit(mapped, y).transform(mapped)
    np.testing.assert_array_equal(out, CEBRA(**params).fit(X, y).transform(X))
    assert not mapped.flags.writeable and np.array_equal(mapped, X)


def test_sklearn_compatibility():
    model = CEBRA(batch_size=64, output_dimension=3, random_state=1)
    cloned = clone(model)
    assert cloned.get_params() == model.get_params()
    cloned.set_params(output_dimension=5)
    assert cloned.output_dimension == 5 and model.output_dimension == 3
    defaults = CEBRA().get_params()
    assert defaults["model_architecture"] == "offset1-model"
    assert defaults["batch_size"] is None and defaults["max_iterations"] == 10000
    assert defaults["device"] == "cuda_if_available" and defaults["learning_rate"] == 3e-4


def test_save_load_round_trip_is_bit_identical(tmp_path):
    X = np.random.default_rng(0).normal(size=(300, 6))
    y = np.random.default_rng(1).integers(0, 3, size=300)
    model = CEBRA("offset10-model", batch_size=32, max_iterations=10, device="cpu",
                  random_state=0, temperature_mode="auto", time_offsets=(1, 2)).fit(X, y)
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = CEBRA.load(path, device="cpu")
    assert np.array_equal(loaded.transform(X), model.transform(X))
    assert loaded.get_params() == {**model.get_params(), "device": "cpu"}
    assert loaded.classes_.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(loaded.history_["loss"], model.history_["loss"])
    assert float(loaded.objective_.criterion.temperature) == pytest.approx(
        float(model.objective_.criterion.temperature))


def test_load_rejects_truncated_and_tampered_files(tmp_path):
    X = np.random.default_rng(0).normal(size=(100, 4))
    path = tmp_path / "m.safetensors"
    CEBRA(batch_size=16, max_iterations=2, device="cpu", random_state=0).fit(X).save(path)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="path"):
        CEBRA.load(truncated)
    header = tmp_path / "header.safetensors"
    header.write_bytes(b"\xff" * 8 + data[8:])
    with pytest.raises(ValueError, match="path"):
        CEBRA.load(header)
    tampered = tmp_path / "tampered.safetensors"
    flipped = bytearray(data)
    flipped[-3] ^= 0xFF  # a weight byte
    tampered.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="checksum"):
        CEBRA.load(tampered)
    with pytest.raises(FileNotFoundError, match="path"):
        CEBRA.load(tmp_path / "missing.safetensors")


def test_transform_before_fit_raises():
    with pytest.raises(ValueError, match="not fitted"):
        CEBRA().transform(np.zeros((10, 2)))


GOOD_X = np.random.default_rng(0).normal(size=(60, 3))
GOOD_Y = np.linspace(0, 1, 60)


@pytest.mark.parametrize(
    ("params", "args", "kwargs", "error", "names"),
    [
        ({}, (np.zeros(60),), {}, ValueError, ["X", "2-D", "(60,)"]),
        ({}, (np.zeros((60, 3, 2)),), {}, ValueError, ["X", "2-D"]),
        ({}, (np.array([["a", "b"], ["c", "d"]]),), {}, TypeError, ["X", "numeric"]),
        ({}, (np.full((60, 3), np.nan),), {}, ValueError, ["X", "NaN"]),
        ({}, (np.zeros((0, 3)),), {}, ValueError, ["X", "at least one"]),
        ({}, ("not an array",), {}, TypeError, ["X", "str"]),
        ({}, (GOOD_X, GOOD_Y[:50]), {}, ValueError, ["y", "60 rows", "50 rows"]),
        ({}, (GOOD_X, np.full(60, np.inf)), {}, ValueError, ["y", "Inf"]),
        ({}, (GOOD_X, np.zeros((60, 2), dtype=int)), {}, ValueError, ["y", "discrete", "1-D"]),
        ({}, (GOOD_X, np.ones(60, dtype=bool)), {}, TypeError, ["y", "bool"]),
        ({}, (GOOD_X, np.arange(60), np.arange(60)), {}, ValueError, ["discrete", "one"]),
        ({}, (GOOD_X, np.zeros((60, 2, 2))), {}, ValueError, ["y", "1-D", "2-D"]),
        ({"batch_size": -3}, (GOOD_X,), {}, ValueError, ["'batch_size'", "-3"]),
        ({"batch_size": 2.5}, (GOOD_X,), {}, TypeError, ["'batch_size'", "2.5"]),
        ({"temperature": 0}, (GOOD_X,), {}, ValueError, ["'temperature'", "0"]),
        ({"distance": "manhattan"}, (GOOD_X,), {}, ValueError, ["'distance'", "manhattan"]),
        ({"model_architecture": "offset11-model"}, (GOOD_X,), {}, ValueError,
         ["'model_architecture'", "offset11-model"]),
        ({"time_offsets": [1, 0]}, (GOOD_X,), {}, ValueError, ["'time_offsets'", "[1, 0]"]),
        ({"conditional": "delta"}, (GOOD_X, GOOD_Y), {}, ValueError, ["delta", "None"]),
        ({"device": "cuda:0"}, (GOOD_X,), {}, ValueError, ["device", "cuda:0"]),
        ({"device": "tpu"}, (GOOD_X,), {}, ValueError, ["'device'", "tpu"]),
        ({"model_architecture": "offset50-model"}, (GOOD_X[:30],), {}, ValueError,
         ["X", "30 time bins", "receptive field of 50"]),
        ({"time_offsets": 100}, (GOOD_X,), {}, ValueError, ["time_offsets", "100"]),
        ({}, (GOOD_X,), {"trial_ids": np.zeros(59, dtype=int)}, ValueError,
         ["trial_ids", "60", "59"]),
        ({}, (GOOD_X,), {"trial_ids": np.zeros(60)}, TypeError, ["trial_ids", "integer"]),
        ({}, (GOOD_X,), {"invariant_to": np.zeros(60, dtype=int)}, ValueError,
         ["invariant_to", "labels"]),
        ({}, (GOOD_X, GOOD_Y), {"invariant_to": np.zeros(60)}, TypeError, ["invariant_to"]),
        ({"batch_size": None}, (GOOD_X, GOOD_Y), {"invariant_to": np.zeros(60, dtype=int)},
         ValueError, ["Supported combinations", "invariant_to"]),
        ({}, (GOOD_X,), {"callback": 3}, TypeError, ["callback"]),
        ({"hybrid": True, "output_dimension": 2}, (GOOD_X, GOOD_Y), {}, ValueError,
         ["hybrid_behavior_dims", "output_dimension"]),
        ({"discrete_prior": "balanced"}, (GOOD_X,), {}, ValueError, ["'discrete_prior'"]),
    ],
)
def test_bad_input_raises_clear_error(params, args, kwargs, error, names):
    model = CEBRA(**{"batch_size": 16, "max_iterations": 2, "device": "cpu", **params})
    with pytest.raises(error) as info:
        model.fit(*args, **kwargs)
    for name in names:
        assert name in str(info.value), (name, str(info.value))


def test_transform_input_errors():
    model = CEBRA(batch_size=16, max_iterations=2, device="cpu", random_state=0).fit(GOOD_X)
    with pytest.raises(ValueError, match="X has 4 features"):
        model.transform(np.zeros((10, 4)))
    with pytest.raises(ValueError, match="session_id"):
        model.transform(GOOD_X, session_id=2)
    with pytest.raises(ValueError, match="X must contain only finite"):
        model.transform(np.full((10, 3), np.nan))


def test_integer_labels_are_discrete_float_labels_continuous():
    X = np.random.default_rng(0).normal(size=(200, 5))
    params = {"batch_size": 16, "max_iterations": 2, "device": "cpu", "random_state": 0}
    assert CEBRA(**params).fit(X, np.arange(200) % 3).label_kind_ == "discrete"
    assert CEBRA(**params).fit(X, np.arange(200) / 3.0).label_kind_ == "continuous"
    assert CEBRA(**params).fit(X, np.ones(200), np.zeros((200, 2))).label_dims_ == 3
    assert CEBRA(**params).fit(X, np.ones(200), np.arange(200) % 2).label_kind_ == "mixed"


@pytest.mark.filterwarnings("ignore:precision='bf16' on 'cpu'")  # emulated on some CPUs
def test_bf16_precision_fits_and_returns_float32():
    X = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    model = CEBRA("offset10-model", batch_size=32, max_iterations=5, device="cpu",
                  random_state=0, precision="bf16").fit(X, np.linspace(0, 1, 300))
    assert np.isfinite(model.history_["loss"]).all()
    emb = model.transform(X)
    assert emb.dtype == np.float32 and emb.shape == (300, 8)


def test_bf16_warns_on_a_cpu_without_bf16_arithmetic(monkeypatch):
    """Emulated bf16 runs a fit several times slower than fp32: say so, naming the way out;
    where the hardware has bf16 (or it is unknown), fit stays silent."""
    import warnings

    from neurolatent.training import precision

    X = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32)
    params = dict(batch_size=16, max_iterations=2, device="cpu", random_state=0)
    monkeypatch.setattr(precision, "native_bf16", lambda device: False)
    with pytest.warns(UserWarning, match=r"precision='bf16' on 'cpu'.*Use precision='32'"):
        CEBRA(**params, precision="bf16").fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CEBRA(**params, precision="32").fit(X)  # fp32 never warns
        for answer in (True, None):
            monkeypatch.setattr(precision, "native_bf16", lambda device, a=answer: a)
            CEBRA(**params, precision="bf16").fit(X)


def test_native_bf16_agrees_with_the_cpu_flags():
    from pathlib import Path

    from neurolatent.training.precision import native_bf16

    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("reads the CPU flags of Linux's /proc/cpuinfo")
    flags = next(line.split(":", 1)[1].split() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("flags"))
    assert native_bf16("cpu") == bool({"avx512_bf16", "amx_tile"} & set(flags))
    assert native_bf16(torch.device("meta")) is None


def test_device_argument_accepts_torch_device_and_resolves():
    X = np.random.default_rng(0).normal(size=(100, 4))
    model = CEBRA(batch_size=16, max_iterations=2, device=torch.device("cpu"), random_state=0)
    assert model.fit(X).device_ == torch.device("cpu")
    auto = CEBRA(batch_size=16, max_iterations=2, random_state=0).fit(X)
    assert auto.device_.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_interrupt_keeps_the_work_done_so_far():
    X = np.random.default_rng(0).normal(size=(200, 5))

    def stop_at_six(step, encoder):
        if step == 6:
            raise KeyboardInterrupt

    model = CEBRA(batch_size=32, max_iterations=50, device="cpu", random_state=0)
    with pytest.warns(RuntimeWarning, match="interrupted after 6 of 50 steps"):
        model.fit(X, callback=stop_at_six)
    assert model.history_["loss"].shape == (6,)
    assert model.transform(X).shape == (200, 8)
