"""Array-API reference implementations of the sampled-entry kernels (the test oracle).

Every kernel takes the CSR pattern ``(rows, indptr, cols)`` of an entry set (``rows`` sorted,
row ``i`` owning positions ``indptr[i]:indptr[i+1]``) plus dense factors, and runs on any array-API
namespace.  The array API has no scatter-add, so per-row sums use a segmented inclusive scan
(Hillis-Steele, ``ceil(log2(max row count))`` vectorized passes) read at each row's last
position: exact pairwise-style summation, no atomics, ``O(nnz k log(max count))`` work.  The
compiled kernels in ``_cpu``/``_cuda`` do the same arithmetic in one pass.
"""

from __future__ import annotations

from ..._backend import get_backend

__all__ = ["sddmm", "sddmm_residual", "spmm", "rowwise_gram", "rowwise_lstsq", "rowwise_cg"]


def _segment_sum(bk, x, rows, indptr):
    """Per-row sums of ``x`` (nnz, ...) for CSR-sorted ``rows``; shape (m, ...)."""
    xp = bk.xp
    nrows = indptr.shape[0] - 1
    nnz = x.shape[0]
    tail = tuple(x.shape[1:])
    if nnz == 0:
        return xp.zeros((nrows, *tail), dtype=x.dtype, device=bk.device)
    counts = indptr[1:] - indptr[:-1]
    max_count = int(bk.to_host(xp.max(counts)))
    expand = (-1,) + (1,) * len(tail)
    S = x
    d = 1
    while d < max_count:
        shifted = xp.concat([xp.zeros((d, *tail), dtype=x.dtype, device=bk.device), S[:-d, ...]])
        same = xp.concat([xp.zeros(d, dtype=xp.bool, device=bk.device), rows[d:] == rows[:-d]])
        S = S + xp.where(xp.reshape(same, expand), shifted, xp.zeros_like(shifted))
        d *= 2
    last = xp.clip(indptr[1:] - 1, 0, nnz - 1)
    picked = xp.take(S, last, axis=0)
    nonempty = xp.reshape(counts > 0, expand)
    return xp.where(nonempty, picked, xp.zeros_like(picked))


def sddmm(rows, indptr, cols, U, V):
    """``(U V^T)[rows[p], cols[p]]`` for every entry ``p``."""
    bk = get_backend(U)
    xp = bk.xp
    return xp.sum(xp.take(U, rows, axis=0) * xp.take(V, cols, axis=0), axis=1)


def sddmm_residual(rows, indptr, cols, U, V, values):
    """Residual ``(U V^T)_Ω - values`` and its squared norm (a 0-d array)."""
    xp = get_backend(U).xp
    R = sddmm(rows, indptr, cols, U, V) - values
    return R, xp.sum(R * R)


def spmm(rows, indptr, cols, w, V, perm):
    """``S V`` with ``S[rows[p], cols[p]] = w[perm[p]]`` (``w[p]`` when ``perm`` is None)."""
    bk = get_backend(V)
    xp = bk.xp
    if perm is not None:
        w = xp.take(w, perm)
    return _segment_sum(bk, w[:, None] * xp.take(V, cols, axis=0), rows, indptr)


def _rhs(bk, rows, indptr, Vg, values):
    return _segment_sum(bk, values[:, None] * Vg, rows, indptr)


def _lam(bk, lam, m, dtype):
    """Per-row ridge parameters (a scalar is broadcast to all rows)."""
    xp = bk.xp
    if isinstance(lam, (int, float)):
        return xp.full((m,), float(lam), dtype=dtype, device=bk.device)
    return xp.astype(lam, dtype)


def rowwise_gram(rows, indptr, cols, V, values, lam):
    """Per-row normal equations ``G_i = sum v_j v_j^T + lam I``, ``b_i = sum M_ij v_j``."""
    bk = get_backend(V)
    xp = bk.xp
    k = V.shape[1]
    Vg = xp.take(V, cols, axis=0)
    G = _segment_sum(bk, Vg[:, :, None] * Vg[:, None, :], rows, indptr)
    G = G + _lam(bk, lam, G.shape[0], V.dtype)[:, None, None] * xp.eye(k, dtype=V.dtype,
                                                                     device=bk.device)
    b = _rhs(bk, rows, indptr, Vg, values) if values is not None else None
    return G, b


def rowwise_lstsq(rows, indptr, cols, V, values, lam):
    """Solve every row's normal equations; rows without entries get zeros."""
    bk = get_backend(V)
    xp = bk.xp
    k = V.shape[1]
    G, b = rowwise_gram(rows, indptr, cols, V, values, lam)
    empty = xp.reshape((indptr[1:] - indptr[:-1]) == 0, (-1, 1, 1))
    eye = xp.eye(k, dtype=V.dtype, device=bk.device)
    # an empty row has b = 0; an identity Gram there keeps the batch positive definite
    G = xp.where(empty, xp.broadcast_to(eye, G.shape), G)
    if G.shape[0] == 0:
        return xp.zeros((0, k), dtype=V.dtype, device=bk.device)
    return bk.linalg.spd_solve(G, b[:, :, None])[:, :, 0]


def rowwise_cg(rows, indptr, cols, V, values, lam, X0, maxiter, rtol):
    """Per-row conjugate gradient on the normal equations, all rows in lockstep.

    A row stops when its residual ``||b_i - G_i x_i||`` is at most ``rtol ||b_i||`` (rows with a
    zero residual always stop).  Returns ``(X, residual_norms, steps)``.
    """
    bk = get_backend(V)
    xp = bk.xp
    Vg = xp.take(V, cols, axis=0)
    zero_m = xp.zeros(indptr.shape[0] - 1, dtype=V.dtype, device=bk.device)

    lam_rows = _lam(bk, lam, indptr.shape[0] - 1, V.dtype)[:, None]

    def apply_gram(P):
        t = xp.sum(xp.take(P, rows, axis=0) * Vg, axis=1)
        out = _segment_sum(bk, t[:, None] * Vg, rows, indptr)
        return out + lam_rows * P

    b = _rhs(bk, rows, indptr, Vg, values)
    empty = (indptr[1:] - indptr[:-1]) == 0
    X = xp.where(empty[:, None], xp.zeros_like(X0), X0)
    R = b - apply_gram(X)
    P = R
    rr = xp.sum(R * R, axis=1)
    bb = xp.sum(b * b, axis=1)
    thresh = (rtol * rtol) * bb
    steps = xp.zeros(rr.shape[0], dtype=xp.int64, device=bk.device)
    for _ in range(maxiter):
        active = (rr > thresh) & ~empty
        if not bool(xp.any(active)):
            break
        Q = apply_gram(P)
        pq = xp.sum(P * Q, axis=1)
        ok = active & (pq > 0)
        alpha = xp.where(ok, rr / xp.where(ok, pq, zero_m + 1), zero_m)
        X = X + alpha[:, None] * P
        R = R - alpha[:, None] * Q
        rr_new = xp.sum(R * R, axis=1)
        beta = xp.where(ok, rr_new / xp.where(ok, rr, zero_m + 1), zero_m)
        P = R + beta[:, None] * P
        rr = xp.where(ok, rr_new, rr)
        steps = steps + xp.astype(ok, xp.int64)
    return X, xp.sqrt(rr), steps, xp.sqrt(bb)
