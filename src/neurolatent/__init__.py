"""neurolatent: fast, reproducible CEBRA embeddings of neural recordings.

>>> import neurolatent as cebra
>>> cebra.CEBRA(model_architecture="offset10-model").model_architecture
'offset10-model'
"""

__version__ = "0.1.0"

from neurolatent.estimator import CEBRA  # noqa: E402
from neurolatent.evaluation.decoders import KNNDecoder  # noqa: E402

__all__ = ["CEBRA", "KNNDecoder", "__version__"]
