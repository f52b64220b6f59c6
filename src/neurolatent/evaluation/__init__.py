"""Analysis of fitted embeddings: decoders, consistency, goodness of fit, alignment,
topology and attribution."""

from neurolatent.evaluation.alignment import align_embeddings, ensemble_embeddings, procrustes
from neurolatent.evaluation.attribution import jacobian_attribution
from neurolatent.evaluation.consistency import (
    binned_means,
    consistency_score,
    pairwise_linear_r2,
    shared_label_bins,
)
from neurolatent.evaluation.decoders import (
    KNNDecoder,
    L1LinearRegressor,
    angle_accuracy,
    decode,
    decode_linear,
    decode_linear_by_trial,
    trial_folds,
)
from neurolatent.evaluation.goodness_of_fit import (
    goodness_of_fit_history,
    goodness_of_fit_score,
    infonce_loss,
)

__all__ = ["KNNDecoder", "L1LinearRegressor", "align_embeddings", "angle_accuracy", "binned_means",
           "consistency_score", "decode", "decode_linear", "decode_linear_by_trial",
           "ensemble_embeddings",
           "goodness_of_fit_history", "goodness_of_fit_score", "infonce_loss",
           "jacobian_attribution", "pairwise_linear_r2", "procrustes", "shared_label_bins",
           "trial_folds"]
