"""Input handling shared by the score routines: dense arrays of any backend or scipy.sparse.

A ``scipy.sparse`` matrix is NumPy-backend data: scores come back as NumPy arrays.  Dense input
keeps its namespace, device and floating dtype (float32 in, float32 out).
"""

from __future__ import annotations

import numbers

import numpy as np

from .._backend import get_backend
from .._validation import check_matrix, check_positive

__all__ = ["prepare_matrix", "is_scipy_sparse", "check_p"]


def is_scipy_sparse(A) -> bool:
    try:
        import scipy.sparse
    except ImportError:  # pragma: no cover - scipy is a dependency
        return False
    return scipy.sparse.issparse(A)


def prepare_matrix(A, name: str = "A"):
    """Validate ``A`` and return ``(bk, A, sparse)`` with ``A`` cast to its floating dtype.

    Dense input is checked (2-d, numeric, finite, non-empty) and cast to float32/float64 on its
    own backend; scipy.sparse input is converted to CSR with a float dtype (a copy only when the
    format or dtype differs; the caller's matrix is never modified).
    """
    if is_scipy_sparse(A):
        import scipy.sparse

        if A.ndim != 2:
            raise ValueError(f"`{name}` must be a 2-d matrix, got a sparse array of shape {A.shape}")
        if min(A.shape) == 0:
            raise ValueError(f"`{name}` must not be empty, got shape {A.shape}")
        if not (np.issubdtype(A.dtype, np.floating) or np.issubdtype(A.dtype, np.integer)):
            raise TypeError(f"`{name}` must have a numeric dtype, got {A.dtype}")
        dtype = np.float32 if A.dtype == np.float32 else np.float64
        A = scipy.sparse.csr_array(A, dtype=dtype)
        if not np.all(np.isfinite(A.data)):
            raise ValueError(f"`{name}` must not contain NaN or inf")
        return get_backend(), A, True
    check_matrix(A, name, dtype_kind="numeric")
    bk = get_backend(A)
    A = bk.xp.astype(A, bk.float_dtype(A), copy=False)
    return bk, A, False


def check_p(p, name: str = "p", *, minimum_inclusive: float | None = None) -> float:
    """``p`` as a positive finite float; ``minimum_inclusive`` tightens the lower bound."""
    if isinstance(p, bool) or not isinstance(p, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"`{name}` must be a real number, got {type(p).__name__}")
    p = check_positive(p, name)
    if minimum_inclusive is not None and p < minimum_inclusive:
        raise ValueError(f"`{name}` must be >= {minimum_inclusive} here, got {p}")
    return p
