"""Low-rank methods for neural-network weights, on plain arrays (NumPy, torch, CuPy, array API).

Rank rules and factorization of weight matrices, convolution-kernel reshapes, the Trained Rank
Pruning projection, the DLRT basis augmentation (K-, L-steps; the truncation is
:func:`lowrank_la.dlra.truncate_core`), the CondLR core clamp and the GaLore projector.
The PyTorch layers and training controllers built on these live in :mod:`lowrank_la.torch`.
"""

from ._budget import allocate_ranks
from ._conv import conv_to_matrix, matrix_to_conv
from ._dlrt import clamp_core, dlrt_augment
from ._galore import galore_back_project, galore_project, galore_projector
from ._rules import break_even_rank, factored_params, factorize, select_weight_rank
from ._trp import nuclear_subgradient, trp_project
from ._tucker_dlrt import tucker_dlrt_augment, tucker_truncate

__all__ = [
    "select_weight_rank", "factorize", "break_even_rank", "factored_params", "allocate_ranks",
    "conv_to_matrix", "matrix_to_conv",
    "trp_project", "nuclear_subgradient",
    "dlrt_augment", "clamp_core", "tucker_dlrt_augment", "tucker_truncate",
    "galore_projector", "galore_project", "galore_back_project",
]
