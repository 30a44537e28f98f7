"""Kernel registry entries for the sampled-entry loops.

Importing this package registers every op with :func:`lowrank_la._backend.register_kernel`;
nothing heavy is imported until ``Backend.kernel(op)`` resolves an implementation (Numba for
NumPy arrays and torch CPU tensors, numba-cuda for CuPy arrays, the array-API reference
otherwise).
"""

from __future__ import annotations

from ..._backend import register_kernel

OPS = ("sddmm", "sddmm_residual", "spmm", "rowwise_gram", "rowwise_lstsq", "rowwise_cg")

_PKG = "lowrank_la.sampled._kernels"

for _op in OPS:
    register_kernel(
        _op,
        generic=f"{_PKG}._generic:{_op}",
        numpy=f"{_PKG}._cpu:{_op}",
        torch=f"{_PKG}._torch:{_op}",
        cupy=f"{_PKG}._cuda:{_op}",
    )
