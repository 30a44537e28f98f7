"""numba-cuda kernels on CuPy arrays (zero copy through ``__cuda_array_interface__``).

Same signatures and results as :mod:`._generic`.  Launch layouts:

* ``sddmm``: one thread per entry (grid-stride), a length-k dot product each.
* ``spmm``: a 2-d block, ``threadIdx.x`` over the k columns (coalesced reads of each gathered
  row of ``V``), ``threadIdx.y`` over rows; no atomics.
* ``rowwise_gram``: one block per row, threads over the k x k Gram entries; the batched SPD solve
  then goes through the backend's ``spd_solve`` (cuSOLVER batched ``posv`` via ``cupyx``).
* ``rowwise_cg``: one thread per row with its CG vectors in global scratch (simple, correct; a
  warp-per-row layout would coalesce better and is future work).

The kernels allocate outputs with the namespace of their inputs, so under the CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``, where CuPy is absent) they accept NumPy arrays: that is how CI runs
them.  Under the simulator numba's bundled ``numba.cuda`` is enough; on a GPU install the
``numba-cuda`` package (the ``gpu`` extra).
"""

from __future__ import annotations

import math

import array_api_compat

from ._numba_cuda import import_cuda

cuda = import_cuda()

__all__ = ["sddmm", "sddmm_residual", "spmm", "rowwise_gram", "rowwise_lstsq", "rowwise_cg"]

_THREADS = 128


def _xp(a):
    return array_api_compat.array_namespace(a)


def _blocks(n, threads=_THREADS):
    return max(1, min(math.ceil(n / threads), 4096))


@cuda.jit
def _sddmm_kernel(rows, cols, U, V, values, with_res, out):
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    k = U.shape[1]
    for p in range(start, cols.shape[0], stride):
        i = rows[p]
        j = cols[p]
        acc = 0.0
        for a in range(k):
            acc += U[i, a] * V[j, a]
        if with_res:
            acc -= values[p]
        out[p] = acc


def _launch_sddmm(rows, cols, U, V, values, with_res):
    xp = _xp(U)
    out = xp.empty(cols.shape[0], dtype=U.dtype)
    if cols.shape[0]:
        _sddmm_kernel[_blocks(cols.shape[0]), _THREADS](rows, cols, U, V, values, with_res, out)
    return out


def sddmm(rows, indptr, cols, U, V):
    return _launch_sddmm(rows, cols, U, V, cols[:1], False)


def sddmm_residual(rows, indptr, cols, U, V, values):
    # the squared norm is one extra read of the residual vector (8 bytes per entry against the
    # 2k gathered values): a library reduction is simpler and as fast as an atomic per entry
    R = _launch_sddmm(rows, cols, U, V, values, True)
    xp = _xp(U)
    return R, xp.sum(R * R)


_SPMM_X, _SPMM_Y = 32, 4


@cuda.jit
def _spmm_kernel(indptr, cols, w, V, perm, use_perm, out):
    i = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
    if i >= out.shape[0]:
        return
    k = V.shape[1]
    for a in range(cuda.threadIdx.x, k, cuda.blockDim.x):
        acc = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            wp = w[perm[p]] if use_perm else w[p]
            acc += wp * V[cols[p], a]
        out[i, a] = acc


def spmm(rows, indptr, cols, w, V, perm):
    xp = _xp(V)
    m = indptr.shape[0] - 1
    out = xp.zeros((m, V.shape[1]), dtype=V.dtype)
    if m:
        use_perm = perm is not None
        _spmm_kernel[math.ceil(m / _SPMM_Y), (_SPMM_X, _SPMM_Y)](
            indptr, cols, w, V, perm if use_perm else cols[:1], use_perm, out)
    return out


@cuda.jit
def _gram_kernel(indptr, cols, V, values, with_b, lam, G, b):
    i = cuda.blockIdx.x
    k = V.shape[1]
    lo, hi = indptr[i], indptr[i + 1]
    for t in range(cuda.threadIdx.x, k * k, cuda.blockDim.x):
        a = t // k
        c = t - a * k
        acc = lam[i] if a == c else 0.0
        for p in range(lo, hi):
            j = cols[p]
            acc += V[j, a] * V[j, c]
        G[i, a, c] = acc
    if with_b:
        for a in range(cuda.threadIdx.x, k, cuda.blockDim.x):
            acc = 0.0
            for p in range(lo, hi):
                acc += values[p] * V[cols[p], a]
            b[i, a] = acc


def _lam(xp, lam, m, dtype):
    """Per-row ridge parameters on the device (a scalar is broadcast)."""
    if isinstance(lam, (int, float)):
        return xp.full((m,), float(lam), dtype=dtype)
    return xp.asarray(lam, dtype=dtype)


def _launch_gram(indptr, cols, V, values, lam):
    xp = _xp(V)
    m, k = indptr.shape[0] - 1, V.shape[1]
    G = xp.empty((m, k, k), dtype=V.dtype)
    b = xp.empty((m, k), dtype=V.dtype)
    if m:
        with_b = values is not None
        threads = min(_THREADS, 32 * math.ceil(k * k / 32))
        _gram_kernel[m, threads](indptr, cols, V, values if with_b else V[0, :1], with_b,
                                 _lam(xp, lam, m, V.dtype), G, b)
    return G, b


def rowwise_gram(rows, indptr, cols, V, values, lam):
    G, b = _launch_gram(indptr, cols, V, values, lam)
    return G, (b if values is not None else None)


def rowwise_lstsq(rows, indptr, cols, V, values, lam):
    from ..._backend import get_backend

    xp = _xp(V)
    k = V.shape[1]
    G, b = _launch_gram(indptr, cols, V, values, lam)
    if G.shape[0] == 0:
        return b
    empty = xp.reshape((indptr[1:] - indptr[:-1]) == 0, (-1, 1, 1))
    G = xp.where(empty, xp.eye(k, dtype=V.dtype)[None, :, :], G)
    return get_backend(G).linalg.spd_solve(G, b[:, :, None])[:, :, 0]


@cuda.jit
def _cg_kernel(indptr, cols, V, values, lam, maxiter, rtol, X, R, P, Q, resnorm, steps):
    i = cuda.grid(1)
    if i >= X.shape[0]:
        return
    k = V.shape[1]
    lo, hi = indptr[i], indptr[i + 1]
    steps[i] = 0
    if hi == lo:
        for a in range(k):
            X[i, a] = 0.0
        resnorm[i] = 0.0
        return
    for a in range(k):
        R[i, a] = -lam[i] * X[i, a]
        P[i, a] = 0.0
    for p in range(lo, hi):
        j = cols[p]
        t = 0.0
        for a in range(k):
            t += V[j, a] * X[i, a]
        mv = values[p]
        for a in range(k):
            R[i, a] += (mv - t) * V[j, a]
            P[i, a] += mv * V[j, a]
    bb = 0.0
    rr = 0.0
    for a in range(k):
        bb += P[i, a] * P[i, a]
        P[i, a] = R[i, a]
        rr += R[i, a] * R[i, a]
    thresh = rtol * rtol * bb
    for _ in range(maxiter):
        if not rr > thresh:
            break
        for a in range(k):
            Q[i, a] = lam[i] * P[i, a]
        for p in range(lo, hi):
            j = cols[p]
            t = 0.0
            for a in range(k):
                t += V[j, a] * P[i, a]
            for a in range(k):
                Q[i, a] += t * V[j, a]
        pq = 0.0
        for a in range(k):
            pq += P[i, a] * Q[i, a]
        if not pq > 0.0:
            break
        alpha = rr / pq
        rr_new = 0.0
        for a in range(k):
            X[i, a] += alpha * P[i, a]
            R[i, a] -= alpha * Q[i, a]
            rr_new += R[i, a] * R[i, a]
        beta = rr_new / rr
        for a in range(k):
            P[i, a] = R[i, a] + beta * P[i, a]
        rr = rr_new
        steps[i] += 1
    resnorm[i] = math.sqrt(rr)


def rowwise_cg(rows, indptr, cols, V, values, lam, X0, maxiter, rtol):
    xp = _xp(V)
    m, k = indptr.shape[0] - 1, V.shape[1]
    X = xp.asarray(X0, dtype=V.dtype, copy=True)
    R, P, Q = (xp.empty((m, k), dtype=V.dtype) for _ in range(3))
    resnorm = xp.empty(m, dtype=V.dtype)
    steps = xp.empty(m, dtype=xp.int64)
    if m:
        _cg_kernel[_blocks(m), _THREADS](indptr, cols, V, values, _lam(xp, lam, m, V.dtype),
                                         int(maxiter),
                                         float(rtol), X, R, P, Q, resnorm, steps)
    return X, resnorm, steps
