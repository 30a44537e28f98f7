"""Shared low-rank linear algebra primitives, backend-agnostic (NumPy, CuPy, torch, array API).

Everything here takes arrays of any supported backend and returns results in the same
namespace, on the same device, in the same floating dtype.
"""

from ._lowrank import LowRankMatrix
from ._operator import MatrixOperator, as_operator
from ._qr import orthonormalize, qr
from ._ranks import effective_rank, stable_rank
from ._sketch import SKETCH_KINDS, sketch, sketch_lstsq
from ._subspace import principal_angles, subspace_distance
from ._svd import randomized_range_finder, randomized_svd, truncated_svd
from ._tensor_ops import fold, mode_product, multi_mode_product, unfold
from ._truncation import select_rank

__all__ = [
    "LowRankMatrix",
    "MatrixOperator",
    "as_operator",
    "qr",
    "orthonormalize",
    "truncated_svd",
    "randomized_svd",
    "randomized_range_finder",
    "select_rank",
    "stable_rank",
    "effective_rank",
    "principal_angles",
    "subspace_distance",
    "sketch",
    "sketch_lstsq",
    "SKETCH_KINDS",
    "unfold",
    "fold",
    "mode_product",
    "multi_mode_product",
]
