"""scikit-learn's own estimator checks on CEBRA (fit/transform contract, errors, cloning)."""

from __future__ import annotations

import warnings

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
