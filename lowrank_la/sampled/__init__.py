"""Observed-entry sets and the loops over them: SDDMM, SpMM and per-row least-squares solves.

Every completion and sensing solver spends its time in these loops.  :class:`ObservedEntries`
holds Ω (rows, cols, values) in CSR order on the caller's backend; the functions below run a
Numba kernel on NumPy arrays and torch CPU tensors, a numba-cuda kernel on CuPy arrays, and the
array-API reference elsewhere (see ``lowrank_la.sampled._kernels``).

Nothing heavy is imported here: numba loads with the first CPU kernel call.
"""

from __future__ import annotations

from ._entries import ObservedEntries
from ._ops import (
    rowwise_cg,
    rowwise_gram,
    rowwise_lstsq,
    sampled_residual,
    sddmm,
    spmm,
    spmm_t,
)

__all__ = [
    "ObservedEntries",
    "sddmm",
    "sampled_residual",
    "spmm",
    "spmm_t",
    "rowwise_gram",
    "rowwise_lstsq",
    "rowwise_cg",
]
