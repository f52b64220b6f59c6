"""neurolatent: fast, reproducible CEBRA embeddings of neural recordings.

>>> import neurolatent as cebra
>>> cebra.CEBRA(model_architecture="offset10-model").model_architecture
'offset10-model'
"""

__version__ = "0.1.0"

from neurolatent.estimator import CEBRA
from neurolatent.evaluation.decoders import KNNDecoder

__all__ = ["CEBRA", "KNNDecoder", "__version__"]
