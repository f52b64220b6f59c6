"""Analysis of fitted embeddings: decoders and scores."""

from neurolatent.evaluation.decoders import KNNDecoder, linear_r2

__all__ = ["KNNDecoder", "linear_r2"]
