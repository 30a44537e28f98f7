"""Orthonormalization: economic QR with a deterministic sign convention."""

from __future__ import annotations

from .._validation import check_matrix

__all__ = ["qr", "orthonormalize"]


def _fix_signs(bk, Q, R):
    # Make diag(R) >= 0 so that the factorization is unique for full-rank A and every backend
    # (LAPACK, cuSOLVER, torch) returns the same Q.
    xp = bk.xp
    k = min(R.shape[0], R.shape[1])
    d = xp.linalg.diagonal(R[:k, :k])
    signs = xp.where(d < 0, xp.asarray(-1.0, dtype=Q.dtype, device=bk.device),
                     xp.asarray(1.0, dtype=Q.dtype, device=bk.device))
    return Q * signs[None, :], R * signs[:, None]


def qr(A, *, check: bool = True):
    """Economic QR decomposition ``A = Q R`` with ``diag(R) >= 0``.

    Parameters
    ----------
    A : array, shape (m, n)
        Matrix to factor (NumPy, CuPy, torch or array-API array).
    check : bool
        Validate ``A`` (shape, finiteness).  Internal callers that already validated pass False.

    Returns
    -------
    Q : array, shape (m, k)
        Orthonormal columns, k = min(m, n).
    R : array, shape (k, n)
        Upper triangular with non-negative diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import qr
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> Q, R = qr(A)
    >>> bool(np.allclose(Q @ R, A)), bool(np.all(np.diag(R) >= 0))
    (True, True)
    """
    if check:
        check_matrix(A, "A", dtype_kind="real floating")
    from .._backend import get_backend

    bk = get_backend(A)
    Q, R = bk.linalg.qr(A)
    return _fix_signs(bk, Q, R)


def orthonormalize(A, *, check: bool = True):
    """Orthonormal basis of the range of ``A`` (the Q factor of :func:`qr`).

    Parameters
    ----------
    A : array, shape (m, n) with m >= n
    check : bool
        Validate ``A``.

    Returns
    -------
    Q : array, shape (m, n)

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import orthonormalize
    >>> Q = orthonormalize(np.random.default_rng(0).standard_normal((5, 2)))
    >>> bool(np.allclose(Q.T @ Q, np.eye(2)))
    True
    """
    if check:
        check_matrix(A, "A", dtype_kind="real floating")
        if A.shape[1] > A.shape[0]:
            raise ValueError(
                f"`A` must have at least as many rows as columns to orthonormalize, "
                f"got shape {tuple(A.shape)}"
            )
    return qr(A, check=False)[0]
