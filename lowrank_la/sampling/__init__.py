"""Importance sampling of rows: leverage scores, Lewis weights, l_p sensitivities, sampling.

Scores (``leverage_scores``, ``ridge_leverage_scores``, ``root_leverage_scores``,
``lewis_weights``, ``lp_sensitivities``) accept dense arrays of any backend and scipy.sparse
matrices.  ``sample_rows`` draws rows with unbiased reweighting; ``lp_regression`` and
``subspace_embedding_distortion`` use a sample; ``clustered_sample`` is the clustering-based
sensitivity sampling of Axiotis et al. for data selection.
"""

from ._clustering import clustered_sample
from ._leverage import leverage_scores, ridge_leverage_scores, root_leverage_scores
from ._lewis import lewis_weights
from ._regression import lp_regression, subspace_embedding_distortion
from ._sample import RowSample, combine_scores, sample_rows, sample_size
from ._sensitivity import lp_sensitivities

__all__ = [
    "clustered_sample",
    "lp_regression",
    "subspace_embedding_distortion",
    "RowSample",
    "sample_rows",
    "sample_size",
    "combine_scores",
    "lp_sensitivities",
    "lewis_weights",
    "leverage_scores",
    "ridge_leverage_scores",
    "root_leverage_scores",
]
