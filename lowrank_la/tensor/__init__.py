"""Tucker decompositions and approximately optimal core-shape selection.

Decompositions (:func:`hosvd`, :func:`st_hosvd`, :func:`hooi`) work on any array-API backend and
take the core shape explicitly, from a relative error tolerance, or from a parameter budget;
:func:`select_core_shape` chooses the shape that minimizes the error bound under a budget with the
Tucker packing program of Ghadiri, Fahrbach, Fu and Mirrokni (ICML 2023), next to the greedy,
uniform and exhaustive baselines.  Errors are the unsquared ``||X - X^||_F / ||X||_F`` throughout
(the paper's RRE is its square).
"""

from ..linalg._tensor_ops import fold, mode_product, multi_mode_product, unfold
from ._data import REAL_TENSORS, load_tensor, lowrank_tensor, smooth_tensor, uneven_tensor
from ._decomp import hooi, hosvd, st_hosvd
from ._selection import SHAPE_METHODS, select_core_shape
from ._spectra import mode_spectra, tucker_size
from ._tree import select_tree_ranks, tree_size
from ._tucker import TuckerTensor

__all__ = [
    "unfold",
    "fold",
    "mode_product",
    "multi_mode_product",
    "TuckerTensor",
    "tucker_size",
    "mode_spectra",
    "hosvd",
    "st_hosvd",
    "hooi",
    "select_core_shape",
    "SHAPE_METHODS",
    "select_tree_ranks",
    "tree_size",
    "uneven_tensor",
    "lowrank_tensor",
    "smooth_tensor",
    "load_tensor",
    "REAL_TENSORS",
]
