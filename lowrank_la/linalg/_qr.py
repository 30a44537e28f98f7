"""Orthonormalization: economic QR with a deterministic sign convention."""

from __future__ import annotations

from .._validation import check_matrix

__all__ = ["qr", "orthonormalize"]


def _fix_signs(bk, Q, R):
    # Make diag(R) real and >= 0 (the sign, or for complex data the phase, moves into Q) so that
    # the factorization is unique for full-rank A and every backend (LAPACK, cuSOLVER, torch)
    # returns the same Q.
    xp = bk.xp
    k = min(R.shape[0], R.shape[1])
    d = xp.linalg.diagonal(R[:k, :k])
    ad = xp.abs(d)
    nonzero = ad > 0
    phase = xp.where(nonzero, d / xp.where(nonzero, ad, xp.ones_like(ad)), xp.ones_like(d))
    conj_phase = xp.conj(phase) if xp.isdtype(phase.dtype, "complex floating") else phase
    return Q * phase[None, :], conj_phase[:, None] * R


def _check_qr_input(A):
    check_matrix(A, "A", dtype_kind="any")
    from .._backend import get_backend

    if not get_backend(A).xp.isdtype(A.dtype, ("real floating", "complex floating")):
        raise TypeError(f"`A` must have a real or complex floating dtype, got {A.dtype}")


def qr(A, *, check: bool = True):
    """Economic QR decomposition ``A = Q R`` with ``diag(R)`` real and ``>= 0``.

    Parameters
    ----------
    A : array, shape (m, n)
        Real or complex matrix to factor (NumPy, CuPy, torch or array-API array).
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
        _check_qr_input(A)
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
        _check_qr_input(A)
        if A.shape[1] > A.shape[0]:
            raise ValueError(
                f"`A` must have at least as many rows as columns to orthonormalize, "
                f"got shape {tuple(A.shape)}"
            )
    return qr(A, check=False)[0]
