"""Analysis of fitted embeddings: decoders and consistency scores."""

from neurolatent.evaluation.consistency import binned_means, consistency_score
from neurolatent.evaluation.decoders import KNNDecoder, linear_r2

__all__ = ["KNNDecoder", "binned_means", "consistency_score", "linear_r2"]
