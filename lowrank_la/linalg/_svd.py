"""Truncated and randomized singular value decompositions."""

from __future__ import annotations

from .._validation import check_int, check_matrix, check_rank, check_rng
from ._operator import as_operator
from ._qr import qr
from ._truncation import select_rank

__all__ = ["truncated_svd", "randomized_range_finder", "randomized_svd"]


def column_signs(bk, U):
    """±1 per column making the largest-magnitude entry of each column of ``U`` positive.

    Singular and eigenvectors are defined up to sign; fixing it this way makes every backend's
    LAPACK/cuSOLVER/torch result identical.
    """
    xp = bk.xp
    idx = xp.argmax(xp.abs(U), axis=0)
    picked = xp.take_along_axis(U, idx[None, :], axis=0)[0, :]
    one = xp.asarray(1.0, dtype=U.dtype, device=bk.device)
    return xp.where(picked < 0, -one, one)


def _svd_sign_fix(bk, U, Vh):
    signs = column_signs(bk, U)
    return U * signs[None, :], Vh * signs[:, None]


def truncated_svd(A, rank=None, *, rtol=None, atol=None, energy=None):
    """Best rank-k approximation factors of a dense matrix, by a full thin SVD.

    The rank is the smallest of ``rank`` and the ranks implied by ``rtol``, ``atol`` and
    ``energy`` (see :func:`select_rank`); with none given, the full thin SVD is returned.

    Parameters
    ----------
    A : array, shape (m, n)
    rank : int, optional
    rtol, atol : float, optional
        Drop singular values ``<= rtol * s[0]`` or ``<= atol``.
    energy : float in (0, 1], optional
        Keep the leading singular values holding this fraction of ``||A||_F^2``.

    Returns
    -------
    U : array, shape (m, k)
    s : array, shape (k,)
        Non-increasing.
    Vh : array, shape (k, n)

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import truncated_svd
    >>> A = np.outer([1.0, 2.0, 3.0], [1.0, 0.0]) + 1e-12
    >>> U, s, Vh = truncated_svd(A, rtol=1e-8)
    >>> s.shape
    (1,)
    """
    check_matrix(A, "A", dtype_kind="numeric")
    from .._backend import get_backend

    bk = get_backend(A)
    if rank is not None:
        check_rank(rank, "rank", maximum=min(A.shape))
    dtype = bk.float_dtype(A)
    if A.dtype != dtype:
        A = bk.xp.astype(A, dtype)
    U, s, Vh = bk.linalg.svd(A)
    k = select_rank(s, rank, rtol=rtol, atol=atol, energy=energy)
    U, Vh = _svd_sign_fix(bk, U[:, :k], Vh[:k, :])
    return U, s[:k], Vh


def _range_finder(op, size, n_power_iter, rng):
    bk = op.backend
    Omega = bk.random_normal(rng, (op.shape[1], size), dtype=op.dtype)
    Y = op.matmat(Omega)
    for _ in range(n_power_iter):
        # re-normalize after every product: without it the columns align with the top singular
        # vector in floating point and the smaller directions are lost (HMT Alg. 4.4).  Only the
        # span matters in between, so a cheap LU basis does (as in scikit-learn); the last basis
        # is orthonormalized by QR.
        Z = bk.linalg.cheap_basis(op.rmatmat(bk.linalg.cheap_basis(Y)))
        Y = op.matmat(Z)
    return qr(Y, check=False)[0]


def randomized_range_finder(A, size, *, n_power_iter=2, rng=None):
    """Orthonormal basis ``Q`` with ``A ≈ Q Qᵀ A`` (Halko-Martinsson-Tropp Algorithm 4.4).

    Parameters
    ----------
    A : array, sparse matrix or linear operator, shape (m, n)
        Only products ``A @ X`` and ``A.T @ Y`` are used; sparse input is never densified.
    size : int
        Number of columns of ``Q`` (target rank plus oversampling), at most ``min(m, n)``.
    n_power_iter : int
        Subspace (power) iterations; each costs two passes over ``A`` and sharpens the basis
        when the singular values decay slowly.
    rng : None, int or numpy.random.Generator
        Seed for the Gaussian test matrix.

    Returns
    -------
    Q : array, shape (m, size)

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness: probabilistic
    algorithms for constructing approximate matrix decompositions", SIAM Review 53(2), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import randomized_range_finder
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((50, 3)) @ rng.standard_normal((3, 40))
    >>> Q = randomized_range_finder(A, 5, rng=0)
    >>> bool(np.allclose(Q @ (Q.T @ A), A))
    True
    """
    op = as_operator(A)
    size = check_rank(size, "size", maximum=min(op.shape))
    n_power_iter = check_int(n_power_iter, "n_power_iter", minimum=0)
    return _range_finder(op, size, n_power_iter, check_rng(rng))


def randomized_svd(A, rank, *, oversample=10, n_power_iter=4, rng=None):
    """Approximate top-``rank`` singular triplets by randomized subspace iteration.

    Computes an orthonormal basis ``Q`` of ``A``'s dominant range
    (:func:`randomized_range_finder`), then the exact SVD of the small matrix ``Qᵀ A``.

    Parameters
    ----------
    A : array, sparse matrix or linear operator, shape (m, n)
        Dense arrays of any backend, ``scipy.sparse`` matrices, ``LinearOperator`` objects, or any
        object with ``shape``, ``matmat`` and ``rmatmat``; never densified.
    rank : int
        Number of singular triplets, ``1 <= rank <= min(m, n)``.
    oversample : int
        Extra basis columns (``rank + oversample`` in total, capped at ``min(m, n)``); 5-10 is
        enough for most matrices (HMT §4.2).
    n_power_iter : int
        Subspace iterations (two passes over ``A`` each).  4 matches scikit-learn's accuracy on
        slowly decaying spectra; 1-2 suffice when the spectrum decays fast.
    rng : None, int or numpy.random.Generator
        Seed (results are identical for the same seed on every backend).

    Returns
    -------
    U : array, shape (m, rank)
    s : array, shape (rank,)
    Vh : array, shape (rank, n)

    Raises
    ------
    ValueError
        For a rank outside ``[1, min(m, n)]``, negative ``oversample``/``n_power_iter``, or
        NaN/inf in ``A``.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, SIAM Review 53(2), 2011, Algorithms 4.4 and 5.1.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import randomized_svd
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((100, 5)) @ rng.standard_normal((5, 80))
    >>> U, s, Vh = randomized_svd(A, 5, rng=0)
    >>> bool(np.allclose(s, np.linalg.svd(A, compute_uv=False)[:5]))
    True
    """
    op = as_operator(A)
    rank = check_rank(rank, "rank", maximum=min(op.shape))
    oversample = check_int(oversample, "oversample", minimum=0)
    n_power_iter = check_int(n_power_iter, "n_power_iter", minimum=0)
    rng = check_rng(rng)
    bk = op.backend
    size = min(rank + oversample, min(op.shape))
    Q = _range_finder(op, size, n_power_iter, rng)
    B_t = op.rmatmat(Q)  # (n, size) = (Qᵀ A)ᵀ, one more pass over A
    # SVD of the tall (n, size) matrix: B_t = W diag(s) Zᵀ  =>  Qᵀ A = Z diag(s) Wᵀ
    W, s, Zh = bk.linalg.svd(B_t)
    U = Q @ Zh.T[:, :rank]
    Vh = W[:, :rank].T
    U, Vh = _svd_sign_fix(bk, U, Vh)
    return U, s[:rank], Vh
