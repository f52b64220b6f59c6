"""Analysis of fitted embeddings: decoders, consistency and goodness of fit."""

from neurolatent.evaluation.consistency import (
    binned_means,
    consistency_score,
    pairwise_linear_r2,
)
from neurolatent.evaluation.decoders import KNNDecoder
from neurolatent.evaluation.goodness_of_fit import (
    goodness_of_fit_history,
    goodness_of_fit_score,
    infonce_loss,
)

__all__ = ["KNNDecoder", "binned_means", "consistency_score", "goodness_of_fit_history",
           "goodness_of_fit_score", "infonce_loss", "pairwise_linear_r2"]
