"""Scores of fitted models and embeddings, under the names of the official package.

>>> from neurolatent import metrics
>>> sorted(metrics.__all__)[:2]
['consistency_score', 'goodness_of_fit_history']
"""

from neurolatent.evaluation.consistency import consistency_score
from neurolatent.evaluation.goodness_of_fit import (
    goodness_of_fit_history,
    goodness_of_fit_score,
    infonce_loss,
)

__all__ = ["consistency_score", "goodness_of_fit_history", "goodness_of_fit_score",
           "infonce_loss"]
