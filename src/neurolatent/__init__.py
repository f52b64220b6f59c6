"""neurolatent: fast, reproducible CEBRA embeddings of neural recordings.

>>> import neurolatent as cebra
>>> cebra.CEBRA(model_architecture="offset10-model").model_architecture
'offset10-model'

The analysis names (decoders, alignment, attribution) and the analysis modules load on
first use: a fit needs none of scikit-learn and scipy, which together hold ~100 MiB of
resident modules.

>>> cebra.KNNDecoder.__module__
'neurolatent.evaluation.decoders'
>>> cebra.metrics.consistency_score.__name__
'consistency_score'
"""

__version__ = "0.1.0"

import importlib
from typing import Any

from neurolatent.estimator import CEBRA
from neurolatent.self_supervised import BYOL, MYOW

_EVALUATION = ("KNNDecoder", "L1LinearRegressor", "align_embeddings", "decode", "decode_linear",
               "decode_linear_by_trial", "ensemble_embeddings", "jacobian_attribution",
               "procrustes")

# submodules that import scikit-learn, scipy or matplotlib: attributes of the package once
# used, as ``neurolatent.evaluation`` was when the package imported it
_LAZY_MODULES = ("datasets", "evaluation", "io", "metrics", "plotting", "topology")

__all__ = ["BYOL", "CEBRA", "MYOW", "__version__", *_EVALUATION]


def __getattr__(name: str) -> Any:
    if name in _EVALUATION:
        value = getattr(importlib.import_module("neurolatent.evaluation"), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f"neurolatent.{name}")
    else:
        raise AttributeError(f"module 'neurolatent' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_LAZY_MODULES})
