"""numba-cuda kernels on CuPy arrays (zero copy through ``__cuda_array_interface__``).

Same signatures and results as :mod:`._generic`.  Launch layouts:

* ``sddmm``: one thread per entry (grid-stride), a length-k dot product each.
* ``spmm``: a 2-d block, ``threadIdx.x`` over the k columns (coalesced reads of each gathered
  row of ``V``), ``threadIdx.y`` over rows; no atomics.
* ``rowwise_gram``: one block per row, threads over the k x k Gram entries; the batched SPD solve
  then goes through the backend's ``spd_solve`` (cuSOLVER batched ``posv`` via ``cupyx``).
* ``rowwise_cg``: one 32-thread block per row (``k <= 256``).  Each CG step walks the row's
  entries in tiles of 32: thread ``e`` computes the dot product ``F_j · p`` of tile entry ``e``
  (``p`` in shared memory), then the threads, now over the ``k`` columns, accumulate
  ``q += t_e F_j`` with coalesced reads of the (just cached) rows; two barriers per tile instead
  of one reduction per entry.  The CG vectors live in shared memory.  The first version, one
  thread per row with the vectors in global memory, ran at 1.5 % of the copy bandwidth on an H200
  (``benchmarks/results/gpu-nvidia-h200.md``); it remains for ``k > 256``.

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
from numba import float64 as numba_float64  # noqa: E402 - after numba-cuda's import fix

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
def _cg_kernel(indptr, cols, V, values, lam, maxiter, rtol, X, R, P, Q, resnorm, steps, bnorm):
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
        bnorm[i] = 0.0
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
    bnorm[i] = math.sqrt(bb)
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


_CG_TILE = 32  # threads per row block (one warp), also the entries per tile
_CG_KMAX = 256  # shared-memory CG vectors: 4 x 256 float64 = 8 KiB per block


@cuda.jit(device=True)
def _block_sum(buf, value):
    """Sum of ``value`` over the block's threads (all get it), through ``buf[:_CG_TILE]``."""
    tid = cuda.threadIdx.x
    cuda.syncthreads()  # earlier readers of buf are done
    buf[tid] = value
    cuda.syncthreads()
    width = _CG_TILE // 2
    while width > 0:
        if tid < width:
            buf[tid] += buf[tid + width]
        cuda.syncthreads()
        width //= 2
    return buf[0]


@cuda.jit(device=True)
def _apply_normal(indptr, cols, V, lo, hi, vec, out, t_buf, k, tid):
    """``out += Σ_p (F_p · vec) F_p`` over the row's entries ``lo:hi`` (``out`` pre-filled)."""
    for start in range(lo, hi, _CG_TILE):
        e = start + tid
        t = 0.0
        if e < hi:
            j = cols[e]
            for a in range(k):
                t += V[j, a] * vec[a]
        t_buf[tid] = t
        cuda.syncthreads()
        n_tile = min(_CG_TILE, hi - start)
        for a in range(tid, k, _CG_TILE):
            acc = 0.0
            for q in range(n_tile):
                acc += t_buf[q] * V[cols[start + q], a]
            out[a] += acc
        cuda.syncthreads()


@cuda.jit
def _cg_tiled_kernel(indptr, cols, V, values, lam, maxiter, rtol, X, resnorm, steps, bnorm):
    i = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    k = V.shape[1]
    x = cuda.shared.array(_CG_KMAX, dtype=numba_float64)
    r = cuda.shared.array(_CG_KMAX, dtype=numba_float64)
    p = cuda.shared.array(_CG_KMAX, dtype=numba_float64)
    q = cuda.shared.array(_CG_KMAX, dtype=numba_float64)
    t_buf = cuda.shared.array(_CG_TILE, dtype=numba_float64)
    red = cuda.shared.array(_CG_TILE, dtype=numba_float64)
    lo, hi = indptr[i], indptr[i + 1]
    lam_i = lam[i]
    if hi == lo:  # block-uniform branch: no barrier is skipped by part of the block
        for a in range(tid, k, _CG_TILE):
            X[i, a] = 0.0
        if tid == 0:
            resnorm[i] = 0.0
            steps[i] = 0
            bnorm[i] = 0.0
        return
    for a in range(tid, k, _CG_TILE):
        x[a] = X[i, a]
        r[a] = -lam_i * x[a]  # r = b - (A + lam) x, assembled below
        p[a] = 0.0  # b = Σ v_p F_p, for the stopping threshold
    cuda.syncthreads()
    # r += Σ_p (v_p - F_p · x) F_p  and  b = Σ_p v_p F_p, one tile at a time
    for start in range(lo, hi, _CG_TILE):
        e = start + tid
        t = 0.0
        if e < hi:
            j = cols[e]
            for a in range(k):
                t += V[j, a] * x[a]
            t_buf[tid] = values[e] - t
            red[tid] = values[e]
        else:
            t_buf[tid] = 0.0
            red[tid] = 0.0
        cuda.syncthreads()
        n_tile = min(_CG_TILE, hi - start)
        for a in range(tid, k, _CG_TILE):
            acc_r = 0.0
            acc_b = 0.0
            for s in range(n_tile):
                f = V[cols[start + s], a]
                acc_r += t_buf[s] * f
                acc_b += red[s] * f
            r[a] += acc_r
            p[a] += acc_b
        cuda.syncthreads()
    part_bb = 0.0
    part_rr = 0.0
    for a in range(tid, k, _CG_TILE):
        part_bb += p[a] * p[a]
        part_rr += r[a] * r[a]
    bb = _block_sum(red, part_bb)
    rr = _block_sum(red, part_rr)
    for a in range(tid, k, _CG_TILE):
        p[a] = r[a]
    cuda.syncthreads()
    thresh = rtol * rtol * bb
    nit = 0
    for _ in range(maxiter):
        if not rr > thresh:  # rr is the same in every thread: a uniform exit
            break
        for a in range(tid, k, _CG_TILE):
            q[a] = lam_i * p[a]
        cuda.syncthreads()
        _apply_normal(indptr, cols, V, lo, hi, p, q, t_buf, k, tid)
        part = 0.0
        for a in range(tid, k, _CG_TILE):
            part += p[a] * q[a]
        pq = _block_sum(red, part)
        if not pq > 0.0:
            break
        alpha = rr / pq
        part = 0.0
        for a in range(tid, k, _CG_TILE):
            x[a] += alpha * p[a]
            r[a] -= alpha * q[a]
            part += r[a] * r[a]
        rr_new = _block_sum(red, part)
        beta = rr_new / rr
        for a in range(tid, k, _CG_TILE):
            p[a] = r[a] + beta * p[a]
        cuda.syncthreads()
        rr = rr_new
        nit += 1
    for a in range(tid, k, _CG_TILE):
        X[i, a] = x[a]
    if tid == 0:
        resnorm[i] = math.sqrt(rr)
        steps[i] = nit
        bnorm[i] = math.sqrt(bb)


def rowwise_cg(rows, indptr, cols, V, values, lam, X0, maxiter, rtol):
    xp = _xp(V)
    m, k = indptr.shape[0] - 1, V.shape[1]
    X = xp.asarray(X0, dtype=V.dtype, copy=True)
    bnorm = xp.empty(m, dtype=V.dtype)
    if k <= _CG_KMAX:
        resnorm = xp.empty(m, dtype=V.dtype)
        steps = xp.empty(m, dtype=xp.int64)
        if m:
            _cg_tiled_kernel[m, _CG_TILE](indptr, cols, V, values, _lam(xp, lam, m, V.dtype),
                                          int(maxiter), float(rtol), X, resnorm, steps, bnorm)
        return X, resnorm, steps, bnorm
    R, P, Q = (xp.empty((m, k), dtype=V.dtype) for _ in range(3))
    resnorm = xp.empty(m, dtype=V.dtype)
    steps = xp.empty(m, dtype=xp.int64)
    if m:
        _cg_kernel[_blocks(m), _THREADS](indptr, cols, V, values, _lam(xp, lam, m, V.dtype),
                                         int(maxiter),
                                         float(rtol), X, R, P, Q, resnorm, steps, bnorm)
    return X, resnorm, steps, bnorm
