"""neurolatent: fast, reproducible CEBRA embeddings of neural recordings.

>>> import neurolatent as cebra
>>> cebra.CEBRA(model_architecture="offset10-model").model_architecture
'offset10-model'
"""

__version__ = "0.1.0"

from neurolatent.estimator import CEBRA
from neurolatent.evaluation import (
    KNNDecoder,
    L1LinearRegressor,
    align_embeddings,
    decode,
    decode_linear,
    decode_linear_by_trial,
    ensemble_embeddings,
    jacobian_attribution,
    procrustes,
)
from neurolatent.self_supervised import BYOL, MYOW

__all__ = ["BYOL", "CEBRA", "MYOW", "KNNDecoder", "L1LinearRegressor", "__version__",
           "align_embeddings", "decode", "decode_linear", "decode_linear_by_trial",
           "ensemble_embeddings",
           "jacobian_attribution", "procrustes"]
