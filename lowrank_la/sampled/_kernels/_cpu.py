"""Numba CPU kernels: ``njit(parallel=True, cache=True, nogil=True)``, ``prange`` over rows.

Same signatures and results as :mod:`._generic` (the oracle).  Each row is independent, so rows
are distributed over threads with no atomics.  Dot products and Grams accumulate in float64;
SpMM rows accumulate in the output's dtype directly (as SciPy and torch do).  The wrappers make
the factor matrices C-contiguous (one signature per dtype to compile, no strided gathers) and
cast everything to one float dtype.  Only this module imports numba, and only when a
NumPy-backend kernel is first requested.

``fastmath`` is on for the dot-product loops: inputs are checked finite before any kernel runs,
and it lets LLVM vectorize the reductions.  Tiny dense algebra (the k x k Cholesky factorization
and triangular solves) is written inline: calling ``np.linalg`` inside ``njit`` compiles slowly and
costs a LAPACK call per row.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["sddmm", "sddmm_residual", "spmm", "rowwise_gram", "rowwise_lstsq", "rowwise_cg"]

_JIT = dict(parallel=True, cache=True, nogil=True, fastmath=True)


def _c(a, dtype=None):
    return np.ascontiguousarray(a, dtype=dtype)


# ----------------------------------------------------------------------------------------------
# SDDMM
# ----------------------------------------------------------------------------------------------


@nb.njit(**_JIT)
def _sddmm(indptr, cols, U, V, values, out, rowsq):
    m = indptr.shape[0] - 1
    k = U.shape[1]
    with_res = values.shape[0] > 0
    # accumulate in the data's dtype: float32 data with a float64 accumulator costs a conversion
    # per product and halves the SIMD width (measured 2-3x slower at k = 64)
    zero = np.zeros(1, dtype=U.dtype)[0]
    for i in nb.prange(m):
        u = U[i]
        acc_sq = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            v = V[cols[p]]
            acc = zero
            for a in range(k):
                acc += u[a] * v[a]
            if with_res:
                acc -= values[p]
                acc_sq += acc * acc
            out[p] = acc
        rowsq[i] = acc_sq


def sddmm(rows, indptr, cols, U, V):
    dtype = U.dtype
    out = np.empty(cols.shape[0], dtype=dtype)
    rowsq = np.empty(indptr.shape[0] - 1, dtype=np.float64)
    _sddmm(indptr, cols, _c(U), _c(V, dtype), np.empty(0, dtype), out, rowsq)
    return out


def sddmm_residual(rows, indptr, cols, U, V, values):
    dtype = U.dtype
    out = np.empty(cols.shape[0], dtype=dtype)
    rowsq = np.empty(indptr.shape[0] - 1, dtype=np.float64)
    _sddmm(indptr, cols, _c(U), _c(V, dtype), _c(values, dtype), out, rowsq)
    return out, np.asarray(rowsq.sum(), dtype=dtype)


# ----------------------------------------------------------------------------------------------
# SpMM (S V; with a permutation of the weights it is S^T U over the column-major ordering)
# ----------------------------------------------------------------------------------------------


@nb.njit(**_JIT)
def _spmm(indptr, cols, w, V, perm, out):
    m = indptr.shape[0] - 1
    k = V.shape[1]
    use_perm = perm.shape[0] > 0
    for i in nb.prange(m):
        # accumulate straight into the output row (an axpy per entry, vectorized over k): no
        # per-row scratch allocation, which costs more than the arithmetic on short rows
        for a in range(k):
            out[i, a] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            c = cols[p]
            wp = w[perm[p]] if use_perm else w[p]
            for a in range(k):
                out[i, a] += wp * V[c, a]


def spmm(rows, indptr, cols, w, V, perm):
    dtype = V.dtype
    out = np.empty((indptr.shape[0] - 1, V.shape[1]), dtype=dtype)
    perm = np.empty(0, np.int64) if perm is None else _c(perm, np.int64)
    _spmm(indptr, cols, _c(w, dtype), _c(V), perm, out)
    return out


# ----------------------------------------------------------------------------------------------
# Per-row normal equations, exact solves
# ----------------------------------------------------------------------------------------------


@nb.njit(inline="always")
def _accumulate_gram(G, b, indptr_lo, indptr_hi, cols, V, values, lam, with_b):
    k = V.shape[1]
    for a in range(k):
        b[a] = 0.0
        for c in range(k):
            G[a, c] = 0.0
        G[a, a] = lam
    for p in range(indptr_lo, indptr_hi):
        j = cols[p]
        if with_b:
            mv = values[p]
            for a in range(k):
                b[a] += mv * V[j, a]
        for a in range(k):
            va = V[j, a]
            for c in range(a + 1):
                G[a, c] += va * V[j, c]
    for a in range(k):  # mirror the lower triangle
        for c in range(a):
            G[c, a] = G[a, c]


# Row-wise solvers need k-sized scratch: threads take chunks of rows and reuse one scratch set per
# chunk instead of allocating per row.  The per-row bodies are inlined at the Numba IR level: as
# real calls, every array argument is reference-counted atomically per row, and both threads
# hammering the same counters cost ~0.4 us per row (measured: a 0-step CG took 3x an SDDMM pass).
_CHUNK = 64


@nb.njit(**_JIT)
def _gram(indptr, cols, V, values, lam, Gout, bout):
    m = indptr.shape[0] - 1
    k = V.shape[1]
    with_b = values.shape[0] > 0
    for ch in nb.prange((m + _CHUNK - 1) // _CHUNK):
        G = np.empty((k, k), dtype=np.float64)
        b = np.empty(k, dtype=np.float64)
        for i in range(ch * _CHUNK, min(m, (ch + 1) * _CHUNK)):
            _accumulate_gram(G, b, indptr[i], indptr[i + 1], cols, V, values, lam[i], with_b)
            for a in range(k):
                bout[i, a] = b[a]
                for c in range(k):
                    Gout[i, a, c] = G[a, c]


def _lam(lam, m):
    """Per-row ridge parameters as a contiguous float64 array (a scalar is broadcast)."""
    if np.ndim(lam) == 0:
        return np.full(m, float(lam))
    return np.ascontiguousarray(lam, dtype=np.float64)


def rowwise_gram(rows, indptr, cols, V, values, lam):
    dtype = V.dtype
    m, k = indptr.shape[0] - 1, V.shape[1]
    G = np.empty((m, k, k), dtype=dtype)
    b = np.empty((m, k), dtype=dtype)
    vals = np.empty(0, dtype) if values is None else _c(values, dtype)
    _gram(indptr, cols, _c(V), vals, _lam(lam, m), G, b)
    return G, (b if values is not None else None)


@nb.njit(inline="always")
def _lstsq_row(lo, hi, cols, V, values, lam, G, b, X, i):
    """Cholesky-solve row i's ridge normal equations into X[i]; False if not positive definite."""
    k = V.shape[1]
    _accumulate_gram(G, b, lo, hi, cols, V, values, lam, True)
    # in-place lower Cholesky factor G = L L^T
    ok = True
    for c in range(k):
        d = G[c, c]
        for t in range(c):
            d -= G[c, t] * G[c, t]
        if not d > 0.0:
            ok = False
            break
        d = np.sqrt(d)
        G[c, c] = d
        for r in range(c + 1, k):
            s = G[r, c]
            for t in range(c):
                s -= G[r, t] * G[c, t]
            G[r, c] = s / d
    if not ok:
        for a in range(k):
            X[i, a] = np.nan
        return False
    for r in range(k):  # forward: L y = b
        s = b[r]
        for t in range(r):
            s -= G[r, t] * b[t]
        b[r] = s / G[r, r]
    for r in range(k - 1, -1, -1):  # backward: L^T x = y
        s = b[r]
        for t in range(r + 1, k):
            s -= G[t, r] * b[t]
        b[r] = s / G[r, r]
    for a in range(k):
        X[i, a] = b[a]
    return True


@nb.njit(**_JIT)
def _lstsq(indptr, cols, V, values, lam, X, failed):
    m = indptr.shape[0] - 1
    k = V.shape[1]
    for ch in nb.prange((m + _CHUNK - 1) // _CHUNK):
        G = np.empty((k, k), dtype=np.float64)
        b = np.empty(k, dtype=np.float64)
        for i in range(ch * _CHUNK, min(m, (ch + 1) * _CHUNK)):
            failed[i] = False
            if indptr[i + 1] == indptr[i]:
                for a in range(k):
                    X[i, a] = 0.0
                continue
            failed[i] = not _lstsq_row(indptr[i], indptr[i + 1], cols, V, values, lam[i], G, b,
                                       X, i)


def rowwise_lstsq(rows, indptr, cols, V, values, lam):
    dtype = V.dtype
    m, k = indptr.shape[0] - 1, V.shape[1]
    X = np.empty((m, k), dtype=dtype)
    failed = np.empty(m, dtype=np.bool_)
    _lstsq(indptr, cols, _c(V), _c(values, dtype), _lam(lam, m), X, failed)
    if failed.any():
        i = int(np.flatnonzero(failed)[0])
        raise np.linalg.LinAlgError(
            f"the normal equations of row {i} are not positive definite (it has "
            f"{int(indptr[i + 1] - indptr[i])} entries for rank {k}); use `lam` > 0"
        )
    return X


# ----------------------------------------------------------------------------------------------
# Per-row matrix-free conjugate gradient
# ----------------------------------------------------------------------------------------------


@nb.njit(inline="always")
def _apply_gram(lo, hi, cols, V, lam, P, Q, zero):
    """Q = (sum_j v_j v_j^T + lam I) P, one pass over the row's entries."""
    k = V.shape[1]
    for a in range(k):
        Q[a] = lam * P[a]
    for p in range(lo, hi):
        j = cols[p]
        t = zero
        for a in range(k):
            t += V[j, a] * P[a]
        for a in range(k):
            Q[a] += t * V[j, a]


@nb.njit(inline="always")
def _cg_row(lo, hi, cols, V, values, lam, X0, maxiter, rtol, X, resnorm, steps, bnorm, i, x, r,
            P, Q):
    """Warm-started CG on row i's ridge normal equations (scratch vectors x, r, P, Q)."""
    k = V.shape[1]
    steps[i] = 0
    for a in range(k):
        x[a] = X0[i, a]
    zero = x[0] - x[0]  # a zero of the data's dtype (x0 is finite)
    # r = b - G x in one pass: sum_j (M_ij - v_j.x) v_j - lam x
    for a in range(k):
        r[a] = -lam * x[a]
    bb = 0.0
    for a in range(k):
        P[a] = 0.0  # P accumulates b, for ||b||
    for p in range(lo, hi):
        j = cols[p]
        t = zero
        for a in range(k):
            t += V[j, a] * x[a]
        mv = values[p]
        for a in range(k):
            r[a] += (mv - t) * V[j, a]
            P[a] += mv * V[j, a]
    for a in range(k):
        bb += P[a] * P[a]
    bnorm[i] = np.sqrt(bb)
    thresh = rtol * rtol * bb
    rr = 0.0
    for a in range(k):
        P[a] = r[a]
        rr += r[a] * r[a]
    for _ in range(maxiter):
        if not rr > thresh:
            break
        _apply_gram(lo, hi, cols, V, lam, P, Q, zero)
        pq = 0.0
        for a in range(k):
            pq += P[a] * Q[a]
        if not pq > 0.0:
            break
        alpha = rr / pq
        rr_new = 0.0
        for a in range(k):
            x[a] += alpha * P[a]
            r[a] -= alpha * Q[a]
            rr_new += r[a] * r[a]
        beta = rr_new / rr
        for a in range(k):
            P[a] = r[a] + beta * P[a]
        rr = rr_new
        steps[i] += 1
    for a in range(k):
        X[i, a] = x[a]
    resnorm[i] = np.sqrt(rr)


@nb.njit(**_JIT)
def _cg(indptr, cols, V, values, lam, X0, maxiter, rtol, X, resnorm, steps, bnorm):
    m = indptr.shape[0] - 1
    k = V.shape[1]
    for ch in nb.prange((m + _CHUNK - 1) // _CHUNK):
        x = np.empty(k, dtype=V.dtype)
        r = np.empty(k, dtype=V.dtype)
        P = np.empty(k, dtype=V.dtype)
        Q = np.empty(k, dtype=V.dtype)
        for i in range(ch * _CHUNK, min(m, (ch + 1) * _CHUNK)):
            lo, hi = indptr[i], indptr[i + 1]
            if hi == lo:
                steps[i] = 0
                for a in range(k):
                    X[i, a] = 0.0
                resnorm[i] = 0.0
                bnorm[i] = 0.0
                continue
            _cg_row(lo, hi, cols, V, values, lam[i], X0, maxiter, rtol, X, resnorm, steps,
                    bnorm, i, x, r, P, Q)


def rowwise_cg(rows, indptr, cols, V, values, lam, X0, maxiter, rtol):
    dtype = V.dtype
    m, k = indptr.shape[0] - 1, V.shape[1]
    X = np.empty((m, k), dtype=dtype)
    resnorm = np.empty(m, dtype=dtype)
    steps = np.empty(m, dtype=np.int64)
    bnorm = np.empty(m, dtype=dtype)
    _cg(indptr, cols, _c(V), _c(values, dtype), _lam(lam, m), _c(X0, dtype), int(maxiter),
        float(rtol), X, resnorm, steps, bnorm)
    return X, resnorm, steps, bnorm
