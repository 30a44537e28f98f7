"""A minimal matrix-operator adapter so randomized methods never densify their input.

Accepted inputs: a dense 2-d array of any supported backend, a ``scipy.sparse`` array/matrix, a
``scipy.sparse.linalg.LinearOperator``, a ``cupyx.scipy.sparse`` matrix, or any object with
``shape``, ``dtype``, ``matmat(X)`` and ``rmatmat(Y)`` (and optionally a ``backend`` attribute
holding a :class:`~lowrank_la.Backend`; NumPy is assumed otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat

from .._backend import Backend, get_backend
from .._validation import check_finite, check_matrix

__all__ = ["MatrixOperator", "as_operator"]


@dataclass(frozen=True)
class MatrixOperator:
    """``A`` seen only through ``A @ X`` and ``A.T @ Y`` on one backend."""

    shape: tuple[int, int]
    dtype: Any
    backend: Backend
    matmat: Callable
    rmatmat: Callable
    dense: Any = None  # the array itself when A is dense


def _is_scipy_sparse(A) -> bool:
    mod = type(A).__module__
    return mod.startswith("scipy.sparse") and hasattr(A, "tocsr")


def _is_cupyx_sparse(A) -> bool:  # pragma: no cover - needs a GPU
    return type(A).__module__.startswith("cupyx.scipy.sparse")


def as_operator(A, name: str = "A") -> MatrixOperator:
    """Wrap ``A`` as a :class:`MatrixOperator`, validating it first."""
    if hasattr(A, "__array_namespace__") or array_api_compat.is_array_api_obj(A):
        check_matrix(A, name, dtype_kind="numeric")
        bk = get_backend(A)
        dtype = bk.float_dtype(A)
        if A.dtype != dtype:
            A = bk.xp.astype(A, dtype)
        if bk.name == "numpy":
            # Same flops, faster GEMM shapes with OpenBLAS: a (k x m) @ (m x n) product with the
            # big operand untransposed beat (n x m) @ (m x k) by 1.2-2x (benchmarks/
            # bench_randomized_svd.py); for float64 the same holds for A @ X.
            def rmatmat(Y):
                return (Y.T @ A).T

            def matmat(X):
                return (X.T @ A.T).T if str(A.dtype) == "float64" else A @ X
        else:
            def matmat(X):
                return A @ X

            def rmatmat(Y):
                return A.T @ Y
        return MatrixOperator(
            (int(A.shape[0]), int(A.shape[1])), A.dtype, bk, matmat, rmatmat, dense=A,
        )
    if _is_scipy_sparse(A):
        import numpy as np

        if A.ndim != 2 or 0 in A.shape:
            raise ValueError(f"`{name}` must be a non-empty 2-d sparse matrix, got shape {A.shape}")
        A = A.tocsr()
        if not np.all(np.isfinite(A.data)):
            raise ValueError(f"`{name}` must not contain NaN or inf")
        if not np.issubdtype(A.dtype, np.floating):
            A = A.astype(np.float64)
        At = A.T.tocsr()
        return MatrixOperator(A.shape, A.dtype, get_backend(), lambda X: A @ X, lambda Y: At @ Y)
    if _is_cupyx_sparse(A):  # pragma: no cover - needs a GPU
        import cupy

        A = A.tocsr()
        At = A.T.tocsr()
        bk = get_backend(cupy.empty(0, dtype=A.dtype))
        return MatrixOperator(A.shape, A.dtype, bk, lambda X: A @ X, lambda Y: At @ Y)
    if hasattr(A, "shape") and hasattr(A, "matmat") and hasattr(A, "rmatmat"):
        shape = tuple(int(s) for s in A.shape)
        if len(shape) != 2 or 0 in shape:
            raise ValueError(f"`{name}` must be a non-empty 2-d operator, got shape {shape}")
        bk = getattr(A, "backend", None) or get_backend()
        dtype = getattr(A, "dtype", None) or bk.xp.float64
        return MatrixOperator(shape, dtype, bk, A.matmat, A.rmatmat)
    raise TypeError(
        f"`{name}` must be a 2-d array, a sparse matrix or a linear operator, "
        f"got {type(A).__name__}"
    )


def check_operator_output(Y, name: str) -> None:
    """Reject NaN/inf coming out of a user operator (cheap on-device reduction)."""
    check_finite(Y, name)
