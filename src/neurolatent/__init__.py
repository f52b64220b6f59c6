"""neurolatent: fast, reproducible CEBRA embeddings of neural recordings.

>>> import neurolatent as cebra
>>> cebra.CEBRA(model_architecture="offset10-model").model_architecture
'offset10-model'

The analysis names (decoders, alignment, attribution) load on first use: a fit needs none
of scikit-learn and scipy, which together hold ~100 MiB of resident modules.

>>> cebra.KNNDecoder.__module__
'neurolatent.evaluation.decoders'
"""

__version__ = "0.1.0"

from typing import Any

from neurolatent.estimator import CEBRA
from neurolatent.self_supervised import BYOL, MYOW

_EVALUATION = ("KNNDecoder", "L1LinearRegressor", "align_embeddings", "decode", "decode_linear",
               "decode_linear_by_trial", "ensemble_embeddings", "jacobian_attribution",
               "procrustes")

__all__ = ["BYOL", "CEBRA", "MYOW", "__version__", *_EVALUATION]


def __getattr__(name: str) -> Any:
    if name in _EVALUATION:
        from neurolatent import evaluation

        value = getattr(evaluation, name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'neurolatent' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
