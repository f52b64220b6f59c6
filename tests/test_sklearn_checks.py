"""scikit-learn's own estimator checks on CEBRA (fit/transform contract, errors, cloning),
which implements that contract without importing scikit-learn."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator

from neurolatent import CEBRA


def test_passes_scikit_learn_estimator_checks():
    estimator = CEBRA(max_iterations=5, batch_size=16, device="cpu", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    failed = {r["check_name"]: str(r["exception"]) for r in results if r["status"] == "failed"}
    assert not failed, failed
    assert len(results) > 40


def test_a_fit_imports_neither_scikit_learn_nor_scipy():
    """``sklearn.base`` alone loads scipy.stats (and pandas where installed): ~70-100 MiB of
    a small fit's peak memory. Fitting, transforming, saving and loading need none of it;
    the analysis names and modules load it on first use."""
    code = """
import sys, tempfile, os, numpy as np
from neurolatent import CEBRA, MYOW
rng = np.random.default_rng(0)
X = rng.normal(size=(400, 6)).astype('float32')
params = dict(batch_size=32, max_iterations=3, device='cpu', random_state=0)
CEBRA('offset10-model', **params).fit(X).transform(X)
CEBRA('offset10-model', **params).fit(X, np.arange(400) % 3).transform(X)
model = CEBRA('offset5-model', **params).fit(X, rng.normal(size=400).astype('float32'))
MYOW(**params).fit(X).transform(X)
path = os.path.join(tempfile.mkdtemp(), 'm.safetensors')
model.save(path)
CEBRA.load(path).transform(X)
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'pandas'})
import neurolatent
neurolatent.KNNDecoder, neurolatent.evaluation.decode, neurolatent.metrics.consistency_score
print(heavy, 'sklearn' in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[] True"


def test_scikit_learn_tools_take_the_estimator_without_its_base_class():
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = CEBRA("offset10-model", batch_size=16, max_iterations=3, device="cpu",
                  random_state=0)
    assert repr(model) == ("CEBRA(batch_size=16, device='cpu', max_iterations=3, "
                           "model_architecture='offset10-model', random_state=0)")
    twin = clone(model)
    assert twin is not model and twin.get_params() == model.get_params()
    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.transform(np.zeros((20, 3)))
    X = np.random.default_rng(0).normal(size=(200, 5))
    pipeline = make_pipeline(StandardScaler(), model)
    pipeline.set_params(cebra__output_dimension=2)
    assert pipeline.fit_transform(X).shape == (200, 2)
    assert pipeline.get_params()["cebra__output_dimension"] == 2
    with pytest.raises(ValueError, match="Invalid parameter 'bogus' for estimator CEBRA"):
        model.set_params(bogus=1)
