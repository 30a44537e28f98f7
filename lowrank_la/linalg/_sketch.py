"""Oblivious sketching operators and sketch-and-precondition least squares."""

from __future__ import annotations

import math

import numpy as np

from .._result import History, Result, warn_not_converged
from .._validation import (
    check_array,
    check_int,
    check_matrix,
    check_nonnegative,
    check_option,
    check_rng,
    check_same_backend,
)
from ._qr import qr

__all__ = ["sketch", "sketch_lstsq", "SKETCH_KINDS"]

SKETCH_KINDS = ("gaussian", "srht", "countsketch")


def _fwht(bk, X):
    """Unnormalized fast Walsh-Hadamard transform along axis 0 (length a power of two)."""
    xp = bk.xp
    n, d = X.shape
    h = 1
    while h < n:
        Y = xp.reshape(X, (n // (2 * h), 2, h, d))
        a, b = Y[:, 0, ...], Y[:, 1, ...]
        X = xp.reshape(xp.stack((a + b, a - b), axis=1), (n, d))
        h *= 2
    return X


def countsketch_host(A, d, rng):
    """CountSketch ``S A`` for a NumPy array or ``scipy.sparse`` matrix ``A``, in O(nnz(A)).

    ``S`` (d x n, one random ±1 per column) is built directly as CSC arrays: no COO conversion,
    and ``S @ A`` then walks the rows of ``A`` in order (0.10 s vs 0.63 s for a CSR ``S`` at
    10^6 x 50).  Returns a dense NumPy array in ``A``'s dtype.
    """
    import scipy.sparse

    n = A.shape[0]
    buckets = rng.integers(0, d, size=n)
    signs = rng.choice(np.array([-1.0, 1.0], dtype=A.dtype), size=n)
    S = scipy.sparse.csc_array((signs, buckets, np.arange(n + 1)), shape=(d, n))
    out = S @ A
    return out.toarray() if scipy.sparse.issparse(out) else np.asarray(out, dtype=A.dtype)


def _countsketch(bk, A, d, rng):
    if bk.name == "numpy":
        return countsketch_host(A, d, rng)
    n = A.shape[0]
    buckets = rng.integers(0, d, size=n)
    signs = rng.choice(np.array([-1.0, 1.0]), size=n)
    if bk.name == "torch":
        import torch

        out = torch.zeros((d, A.shape[1]), dtype=A.dtype, device=A.device)
        idx = torch.as_tensor(buckets, device=A.device)
        sg = torch.as_tensor(signs, dtype=A.dtype, device=A.device)
        return out.index_add_(0, idx, A * sg[:, None])
    # portable segment sum: sort rows by bucket, cumulative sums, differences at the boundaries
    xp = bk.xp
    order = np.argsort(buckets, kind="stable")
    ends = np.searchsorted(buckets[order], np.arange(d), side="right")
    signed = A * bk.from_host(signs, dtype=A.dtype)[:, None]
    sorted_rows = xp.take(signed, bk.from_host(order), axis=0)
    zero = xp.zeros((1, A.shape[1]), dtype=A.dtype, device=bk.device)
    csum = xp.concat((zero, xp.cumulative_sum(sorted_rows, axis=0)), axis=0)
    at_ends = xp.take(csum, bk.from_host(ends), axis=0)
    return xp.concat((at_ends[:1, :], at_ends[1:, :] - at_ends[:-1, :]), axis=0)


def _apply_sketch(bk, A, d, kind, rng):
    xp = bk.xp
    n = A.shape[0]
    if kind == "gaussian":
        G = bk.random_normal(rng, (d, n), dtype=A.dtype)
        return (G @ A) / math.sqrt(d)
    if kind == "srht":
        n2 = 1 << max(0, (n - 1).bit_length())
        signs = bk.from_host(rng.choice(np.array([-1.0, 1.0]), size=n), dtype=A.dtype)
        X = A * signs[:, None]
        if n2 > n:
            X = xp.concat((X, xp.zeros((n2 - n, A.shape[1]), dtype=A.dtype, device=bk.device)))
        rows = bk.from_host(rng.choice(n2, size=d, replace=False))
        return xp.take(_fwht(bk, X), rows, axis=0) / math.sqrt(d)
    return _countsketch(bk, A, d, rng)


def sketch(A, sketch_size, *, kind="gaussian", rng=None):
    """Apply an oblivious subspace embedding ``S`` (sketch_size x m) to ``A``: return ``S A``.

    All three sketches satisfy ``E ||S x||^2 = ||x||^2``.

    Parameters
    ----------
    A : array, shape (m, n) or (m,)
    sketch_size : int
        Rows of ``S`` (``<= m`` for ``"srht"`` after padding m to a power of two).
    kind : {"gaussian", "srht", "countsketch"}
        ``"gaussian"``: dense i.i.d. N(0, 1/d), O(d m n).  ``"srht"``: subsampled randomized
        Hadamard transform, O(m n log m).  ``"countsketch"``: one random ±1 per column of ``S``,
        O(nnz(A)) (Clarkson-Woodruff); needs a larger ``sketch_size`` (~ n^2) for an embedding.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    array, shape (sketch_size, n) or (sketch_size,)

    References
    ----------
    D. P. Woodruff, "Sketching as a tool for numerical linear algebra", Found. Trends Theor.
    Comput. Sci. 10, 2014.  K. L. Clarkson, D. P. Woodruff, "Low rank approximation and
    regression in input sparsity time", STOC 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import sketch
    >>> A = np.random.default_rng(0).standard_normal((1000, 3))
    >>> SA = sketch(A, 200, kind="srht", rng=0)
    >>> s_true = np.linalg.svd(A, compute_uv=False)
    >>> bool(np.all(np.abs(np.linalg.svd(SA, compute_uv=False) / s_true - 1) < 0.5))
    True
    """
    check_array(A, "A", ndim=(1, 2), dtype_kind="numeric")
    check_option(kind, "kind", set(SKETCH_KINDS))
    m = A.shape[0]
    limit = 1 << max(0, (m - 1).bit_length()) if kind == "srht" else None
    sketch_size = check_int(sketch_size, "sketch_size", minimum=1, maximum=limit)
    rng = check_rng(rng)
    bk = check_same_backend(("A", A))
    dtype = bk.float_dtype(A)
    X = bk.xp.astype(A, dtype)
    vector = X.ndim == 1
    if vector:
        X = X[:, None]
    out = _apply_sketch(bk, X, sketch_size, kind, rng)
    return out[:, 0] if vector else out


def sketch_lstsq(
    A, b, *, sketch_size=None, kind="srht", rtol=1e-10, maxiter=100, rng=None
):
    """Least squares ``min ||A x - b||_2`` for tall ``A`` by sketch-and-precondition.

    Sketch ``S A``, factor ``S A = Q R``, start from the sketch-and-solve solution and run CGLS
    (conjugate gradients on the normal equations, the iteration LSQR stabilizes) on the
    right-preconditioned problem ``min ||A R⁻¹ y - b||``.  With a subspace embedding the
    preconditioned matrix has condition number close to 1, so each iteration gains a constant
    number of digits whatever ``cond(A)`` is (Blendenpik, LSRN).

    Parameters
    ----------
    A : array, shape (m, n), m >= n, full column rank
    b : array, shape (m,) or (m, k)
    sketch_size : int, optional
        Default ``max(4 n, n + 20)`` (``min(m, ·)``).
    kind : {"srht", "gaussian", "countsketch"}
    rtol : float
        Stop when ``||(A R⁻¹)ᵀ r|| <= rtol ||r||`` (the preconditioned optimality residual).
    maxiter : int
    rng : None, int or numpy.random.Generator

    Returns
    -------
    Result
        ``x`` (solution), ``residual_norm`` (``||A x - b||`` per column), ``success``,
        ``status`` (0 converged, 1 maxiter reached, 2 rank deficient sketch), ``message``,
        ``nit``, ``history`` (``optimality`` per iteration).

    References
    ----------
    H. Avron, P. Maymounkov, S. Toledo, "Blendenpik: supercharging LAPACK's least-squares
    solver", SIAM J. Sci. Comput. 32(3), 2010.  X. Meng, M. A. Saunders, M. W. Mahoney, "LSRN: a
    parallel iterative solver for strongly over- or underdetermined systems", SIAM J. Sci.
    Comput. 36(2), 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import sketch_lstsq
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((2000, 20)) * np.logspace(0, 6, 20)  # cond ~ 1e6
    >>> b = rng.standard_normal(2000)
    >>> res = sketch_lstsq(A, b, rng=0)
    >>> x_ref = np.linalg.lstsq(A, b, rcond=None)[0]
    >>> bool(res.success), bool(np.allclose(res.x, x_ref, rtol=1e-6, atol=0))
    (True, True)
    """
    check_matrix(A, "A", dtype_kind="numeric")
    check_array(b, "b", ndim=(1, 2), dtype_kind="numeric")
    bk = check_same_backend(("A", A), ("b", b))
    m, n = A.shape
    if b.shape[0] != m:
        raise ValueError(f"`b` must have {m} rows to match `A` {tuple(A.shape)}, got {tuple(b.shape)}")
    if m < n:
        raise ValueError(f"`A` must be tall (m >= n), got shape {tuple(A.shape)}")
    check_option(kind, "kind", set(SKETCH_KINDS))
    if sketch_size is None:
        sketch_size = min(max(4 * n, n + 20), m)
    sketch_size = check_int(sketch_size, "sketch_size", minimum=n)
    rtol = check_nonnegative(rtol, "rtol")
    maxiter = check_int(maxiter, "maxiter", minimum=0)
    rng = check_rng(rng)
    xp = bk.xp
    dtype = bk.float_dtype(A, b)
    A = xp.astype(A, dtype)
    vector = b.ndim == 1
    B = xp.astype(b, dtype)
    if vector:
        B = B[:, None]

    SAb = _apply_sketch(bk, xp.concat((A, B), axis=1), sketch_size, kind, rng)
    _, R = qr(SAb[:, :n], check=False)
    diag = bk.to_host(xp.linalg.diagonal(R))
    history = History()
    if not np.all(np.abs(diag) > max(m, n) * np.finfo(diag.dtype).eps * np.max(np.abs(diag))):
        x = bk.linalg.lstsq(A, B)
        res = xp.linalg.vector_norm(A @ x - B, axis=0)
        return Result(
            x=x[:, 0] if vector else x, residual_norm=res[0] if vector else res, success=True,
            status=2, nit=0, history=history,
            message="sketch is rank deficient (A rank deficient?); solved by dense SVD lstsq",
        )

    def rinv(Y):  # R^{-1} Y
        return bk.linalg.solve_triangular(R, Y, lower=False)

    def rinv_t(Y):  # R^{-T} Y
        return bk.linalg.solve_triangular(R.T, Y, lower=True)

    # sketch-and-solve warm start: y0 = Q^T (S b), x0 = R^{-1} y0
    y = rinv_t(SAb[:, :n].T @ SAb[:, n:])  # = Q^T S b since S A = Q R
    x = rinv(y)
    r = B - A @ x
    s = rinv_t(A.T @ r)
    p = s
    gamma = xp.sum(s * s, axis=0)
    status, nit = 1, 0
    tiny = float(xp.finfo(dtype).smallest_normal)
    for it in range(maxiter + 1):
        rnorm = xp.linalg.vector_norm(r, axis=0)
        opt = float(xp.max(xp.sqrt(gamma) / xp.maximum(rnorm, tiny)))
        history.record(optimality=opt, residual_norm=float(xp.max(rnorm)))
        if opt <= rtol or float(xp.max(rnorm)) == 0.0:
            status = 0
            break
        if it == maxiter:
            break
        q = A @ rinv(p)
        qq = xp.sum(q * q, axis=0)
        alpha = gamma / xp.maximum(qq, tiny)
        y = y + alpha * p
        r = r - alpha * q
        s = rinv_t(A.T @ r)
        gamma_new = xp.sum(s * s, axis=0)
        p = s + (gamma_new / xp.maximum(gamma, tiny)) * p
        gamma = gamma_new
        nit = it + 1
    x = rinv(y)
    res = xp.linalg.vector_norm(A @ x - B, axis=0)
    success = status == 0
    message = (
        f"converged: optimality {opt:.2e} <= rtol {rtol:.1e} after {nit} iterations"
        if success else f"maxiter={maxiter} reached with optimality {opt:.2e} > rtol {rtol:.1e}"
    )
    if not success:
        warn_not_converged("sketch_lstsq: " + message)
    return Result(
        x=x[:, 0] if vector else x, residual_norm=res[0] if vector else res, success=success,
        status=status, message=message, nit=nit, history=history,
    )
