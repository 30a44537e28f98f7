"""Statistical leverage scores: exact, sketched (DMMW), ridge and root leverage."""

from __future__ import annotations

import math

from .._validation import check_int, check_nonnegative, check_option, check_rng
from ..linalg import SKETCH_KINDS
from ._factor import (
    EXACT_METHODS,
    default_jl_dim,
    factor,
    leverage_transform,
    preconditioner,
    product_row_sq_norms,
    row_sq_norms,
)
from ._input import check_p, prepare_matrix

__all__ = ["leverage_scores", "ridge_leverage_scores", "root_leverage_scores"]

LEVERAGE_METHODS = ("exact", "sketch", *EXACT_METHODS)


def _resolve_exact(method: str, sparse: bool) -> str:
    if method == "exact":
        return "cholqr" if sparse else "qr"
    return method


def _check_sketch_args(sketch_size, sketch_kind, jl_dim):
    if sketch_size is not None:
        sketch_size = check_int(sketch_size, "sketch_size", minimum=1)
    check_option(sketch_kind, "sketch_kind", set(SKETCH_KINDS))
    if jl_dim is not None and jl_dim != "auto":
        jl_dim = check_int(jl_dim, "jl_dim", minimum=1)
    return sketch_size, jl_dim


def _leverage(bk, A, sparse, method, *, rng, sketch_size, sketch_kind, jl_dim):
    """Leverage scores of validated input; shared by the public routines and Lewis weights."""
    n, d = A.shape
    method = _resolve_exact(method, sparse)
    if method == "qr":
        Q, _ = factor(bk, A, sparse, "qr")
        return row_sq_norms(bk, Q)
    if method != "sketch":
        T = leverage_transform(bk, A, sparse, method, rng=rng, sketch_size=sketch_size,
                               sketch_kind=sketch_kind)
        return product_row_sq_norms(bk, A, T, sparse)
    P, _, _, r = preconditioner(
        bk, A, sparse, sketch_size=20 * d if sketch_size is None else sketch_size,
        sketch_kind=sketch_kind, rng=rng,
    )
    k = default_jl_dim(n) if jl_dim == "auto" else jl_dim
    if k is not None and k < r:
        # DMMW's second step: a Gaussian r x k JL map, formed with R^{-1} first so the big
        # product is one n x d x k GEMM.  Skipped when k >= r: the exact rows are then cheaper.
        G = bk.random_normal(rng, (r, k), dtype=P.dtype) / math.sqrt(k)
        P = P @ G
    return product_row_sq_norms(bk, A, P, sparse, low_precision=True)


def leverage_scores(A, *, method="exact", rng=None, sketch_size=None, sketch_kind="countsketch",
                    jl_dim="auto"):
    """Statistical leverage scores ``t_i = a_i^T (A^T A)^+ a_i`` of the rows of ``A``.

    ``t_i`` is the squared norm of row i of any orthonormal basis of range(A); the scores sum to
    ``rank(A)`` and do not change when ``A`` is replaced by ``A R`` with ``R`` invertible.  A
    rank-deficient ``A`` is handled: the scores are those of its column space (numerical rank
    with the cut ``s > max(n, d) eps s_1``).

    Parameters
    ----------
    A : array or scipy.sparse matrix, shape (n, d)
        Dense input of any backend (NumPy, CuPy, torch, array API) or a scipy.sparse matrix.
    method : {"exact", "qr", "cholqr", "gram", "sketch"}
        ``"qr"``: Householder QR (dense; ``"exact"`` means this for dense input).
        ``"cholqr"``: sketch-preconditioned Cholesky QR, exact to working precision and 3-8x
        faster than QR for tall matrices (``"exact"`` means this for sparse input).
        ``"gram"``: eigendecomposition of ``A^T A``; squares the condition number.
        ``"sketch"``: the fast approximation of Drineas, Magdon-Ismail, Mahoney and Woodruff:
        ``R`` from a sketch ``S A``, then the squared row norms of ``A R^{-1} G`` with a
        Gaussian JL matrix ``G`` (r x ``jl_dim``), cost O(nnz(A) + sketch_size d^2 + n d jl_dim).
    rng : None, int or numpy.random.Generator
        Randomness of the sketch (``"sketch"`` and ``"cholqr"``).
    sketch_size : int, optional
        Rows of the sketch ``S A``; default ``20 d``.
    sketch_kind : {"countsketch", "srht", "gaussian"}
        The oblivious sketch (``"countsketch"`` is the only one for scipy.sparse input).
    jl_dim : int, "auto" or None
        Columns of the JL matrix for ``"sketch"``.  ``"auto"``: ``ceil(8 ln n)``; the projection
        is skipped (exact rows of ``A R^{-1}``, more accurate) whenever ``jl_dim >= rank``.

    Returns
    -------
    t : array, shape (n,)
        In the namespace, device and floating dtype of ``A`` (NumPy for scipy.sparse input).

    Raises
    ------
    ValueError
        On NaN/inf, empty input or an unknown ``method``/``sketch_kind``.
    TypeError
        On a non-array ``A`` or a non-numeric dtype.

    References
    ----------
    P. Drineas, M. Magdon-Ismail, M. W. Mahoney, D. P. Woodruff, "Fast approximation of matrix
    coherence and statistical leverage", JMLR 13, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampling import leverage_scores
    >>> A = np.random.default_rng(0).standard_normal((1000, 5))
    >>> t = leverage_scores(A)
    >>> round(float(t.sum()), 10)
    5.0
    >>> t_fast = leverage_scores(A, method="sketch", rng=0)
    >>> bool(np.sum(np.abs(t_fast - t)) / np.sum(t) < 0.5)
    True
    """
    check_option(method, "method", set(LEVERAGE_METHODS))
    sketch_size, jl_dim = _check_sketch_args(sketch_size, sketch_kind, jl_dim)
    bk, A, sparse = prepare_matrix(A)
    rng = check_rng(rng)
    return _leverage(bk, A, sparse, method, rng=rng, sketch_size=sketch_size,
                     sketch_kind=sketch_kind, jl_dim=jl_dim)


def ridge_leverage_scores(A, lam, *, method="exact", rng=None, sketch_size=None,
                          sketch_kind="countsketch"):
    """Ridge leverage scores ``a_i^T (A^T A + lam I)^{-1} a_i``.

    Computed as ``sum_j U_ij^2 s_j^2 / (s_j^2 + lam)`` from an exact orthonormal factor
    ``A = Q R`` and the SVD of the small ``R``; the scores sum to the effective dimension
    ``sum_j s_j^2 / (s_j^2 + lam)`` and equal the leverage scores at ``lam = 0``.

    Parameters
    ----------
    A : array or scipy.sparse matrix, shape (n, d)
    lam : float
        Ridge parameter, ``>= 0``.
    method : {"exact", "qr", "cholqr", "gram"}
        How the orthonormal factor is computed (see :func:`leverage_scores`).
    rng : None, int or numpy.random.Generator
        Randomness of the ``"cholqr"`` preconditioner.
    sketch_size : int, optional
        Rows of the ``"cholqr"`` sketch; default ``20 d``.
    sketch_kind : {"countsketch", "srht", "gaussian"}

    Returns
    -------
    t : array, shape (n,)

    Raises
    ------
    ValueError
        On ``lam < 0``, NaN/inf in ``A`` or an unknown ``method``.

    References
    ----------
    A. El Alaoui, M. W. Mahoney, "Fast randomized kernel ridge regression with statistical
    guarantees", NeurIPS 2015.  M. B. Cohen, C. Musco, C. Musco, "Input sparsity time low-rank
    approximation via ridge leverage score sampling", SODA 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampling import ridge_leverage_scores
    >>> A = np.random.default_rng(0).standard_normal((200, 4))
    >>> t = ridge_leverage_scores(A, 10.0)
    >>> ref = np.einsum("ij,ji->i", A, np.linalg.solve(A.T @ A + 10 * np.eye(4), A.T))
    >>> bool(np.allclose(t, ref))
    True
    """
    lam = check_nonnegative(lam, "lam")
    check_option(method, "method", {"exact", *EXACT_METHODS})
    sketch_size, _ = _check_sketch_args(sketch_size, sketch_kind, None)
    bk, A, sparse = prepare_matrix(A)
    rng = check_rng(rng)
    xp = bk.xp
    Q, R = factor(bk, A, sparse, _resolve_exact(method, sparse), rng=rng,
                  sketch_size=sketch_size, sketch_kind=sketch_kind)
    U, s, _ = bk.linalg.svd(R)
    shrink = s * s / (s * s + lam)
    QU = Q @ U
    return xp.sum(QU * QU * shrink[None, :], axis=1)


def root_leverage_scores(A, p=1.0, **kwargs):
    """Root leverage scores ``t_i^{p/2}`` (square roots at ``p = 1``).

    For ``1 <= p < 2`` they upper-bound the l_p sensitivities (Hoelder) and their total is at
    most ``r^{p/2} n^{1-p/2}``; Woodruff and Yasuda show that sampling by them gives an l_p
    subspace embedding with about ``d`` (up to log factors and ``eps``) rows for ``1 <= p < 2``.

    Parameters
    ----------
    A : array or scipy.sparse matrix, shape (n, d)
    p : float
        ``0 < p <= 2`` (``p = 2`` returns the leverage scores).
    **kwargs
        Passed to :func:`leverage_scores` (``method``, ``rng``, ...).

    Returns
    -------
    scores : array, shape (n,)

    Raises
    ------
    ValueError
        On ``p`` outside ``(0, 2]`` and on the errors of :func:`leverage_scores`.

    References
    ----------
    D. P. Woodruff, T. Yasuda, "Sharper bounds for l_p sensitivity sampling", ICML 2023,
    arXiv:2306.00732.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampling import leverage_scores, root_leverage_scores
    >>> A = np.random.default_rng(0).standard_normal((50, 3))
    >>> bool(np.allclose(root_leverage_scores(A, 1.0) ** 2, leverage_scores(A)))
    True
    """
    p = check_p(p)
    if p > 2:
        raise ValueError(f"`p` must lie in (0, 2] for root leverage scores, got {p}")
    t = leverage_scores(A, **kwargs)
    xp = _namespace_of(t)
    return xp.maximum(t, xp.zeros_like(t)) ** (p / 2)


def _namespace_of(x):
    from .._backend import get_backend

    return get_backend(x).xp
