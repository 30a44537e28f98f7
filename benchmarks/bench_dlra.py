"""Dynamical low-rank integration vs full (dense) integration of the same matrix ODE.

Problem: ``A' = L A + A Lᵀ + P Qᵀ`` with ``L = tridiag(1, -2, 1)`` (sparse, N x N), a rank-20
source with singular values ``2^-j`` and a rank-10 initial value, over ``[0, T]``, ``T = 1``.

* Full integrator (baseline): ``scipy.sparse.linalg.expm_multiply`` on the N² (+1 for the
  source) vectorized system, one call over ``[0, T]``: the exact solution to SciPy's tolerance,
  so it is also the reference.
* lowrank_la: fixed-rank BUG (r = 10, h = 0.05) and rank-adaptive BUG (tol 1e-3, max rank 20),
  both with exact exponential sub-steps (``solver="expm"``).

Reported: wall-time ratio full / low-rank (> 1: low-rank faster), the low-rank error at T
against the error of the best rank-r approximation of the full solution (1.0 is optimal), and
the cost per BUG step.  Both run in the same process, one after the other.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse
import scipy.sparse.linalg as spla


def source_and_start(N, rng):
    """The heat equation's low-rank source ``P Qᵀ`` (rank 20, decaying) and a rank-10 start."""
    k = 20
    P = np.linalg.qr(rng.standard_normal((N, k)))[0] * 2.0 ** -np.arange(k)
    Q = np.linalg.qr(rng.standard_normal((N, k)))[0]
    U0 = np.linalg.qr(rng.standard_normal((N, 10)))[0]
    V0 = np.linalg.qr(rng.standard_normal((N, 10)))[0]
    S0 = np.diag(2.0 ** -np.arange(10))
    return P, Q, (U0, S0, V0)


def _problem(N, rng):
    from lowrank_la.dlra import LinearMatrixODE

    L = scipy.sparse.diags([np.ones(N - 1), -2 * np.ones(N), np.ones(N - 1)], [-1, 0, 1],
                           format="csr")
    P, Q, Y0 = source_and_start(N, rng)
    return LinearMatrixODE([(L, None), (None, L)], source=(P, Q)), L, P, Q, Y0


def _full(L, P, Q, Y0, T):
    """Exact full solution: expm_multiply on [vec(A); 1]."""
    N = L.shape[0]
    # source column scaled by gamma, extra unknown by 1/gamma: same solution, and the operator's
    # 1-norm (which sets expm_multiply's work) stays that of L X + X Lᵀ
    B = P @ Q.T
    gamma = 1.0 / max(1.0, float(np.abs(B).sum()))
    B = gamma * B
    LT = L.T.tocsr()

    def mv(v):
        v = np.asarray(v).reshape(-1)
        X = v[:-1].reshape(N, N)
        out = np.empty_like(v)
        out[:-1] = (L @ X + (LT.T @ X.T).T + v[-1] * B).ravel()  # L X + X Lᵀ + s B
        out[-1] = 0.0
        return out

    def rmv(w):
        w = np.asarray(w).reshape(-1)
        W = w[:-1].reshape(N, N)
        out = np.empty_like(w)
        out[:-1] = (LT @ W + (L.T @ W.T).T).ravel()
        out[-1] = float(np.sum(B * W))
        return out

    op = spla.LinearOperator((N * N + 1, N * N + 1), matvec=mv, rmatvec=rmv, dtype=float)
    U0, S0, V0 = Y0
    x0 = np.concatenate([(U0 @ S0 @ V0.T).ravel(), [1.0 / gamma]])
    trace = 2 * N * float(L.diagonal().sum())
    x = spla.expm_multiply(T * op, x0, traceA=T * trace)
    return x[:-1].reshape(N, N)


def run(quick: bool = False):
    from lowrank_la.dlra import integrate

    T, h, r = 1.0, 0.05, 10
    sizes = [300, 600] if quick else [500, 1000, 2000, 4000]
    rows = []
    for N in sizes:
        rng = np.random.default_rng(N)
        prob, L, P, Q, Y0 = _problem(N, rng)
        t0 = time.perf_counter()
        A_T = _full(L, P, Q, Y0, T)
        t_full = time.perf_counter() - t0
        s = np.linalg.svd(A_T, compute_uv=False)
        best = float(np.sqrt(np.sum(s[r:] ** 2)))
        for method, kw in (("bug", {}), ("ra_bug", {"tol": 1e-3, "max_rank": 2 * r})):
            # warm-up on a short span (imports, first-call overheads), then one timed run
            integrate(prob, Y0, (0.0, h), h, method=method, solver="expm", **kw)
            t0 = time.perf_counter()
            res = integrate(prob, Y0, (0.0, T), h, method=method, solver="expm", **kw)
            t_lr = time.perf_counter() - t0
            err = float(np.linalg.norm(res.U @ res.S @ res.V.T - A_T))
            rank = res.rank
            best_r = float(np.sqrt(np.sum(s[rank:] ** 2)))
            rows.append({
                "N": N, "method": method, "rank": rank, "dtype": "float64", "steps": res.nit,
                "full_s": t_full, "lowrank_s": t_lr, "speedup_vs_full": t_full / t_lr,
                "ms_per_step": 1e3 * t_lr / res.nit,
                "err": err, "best_rank_r_err": best_r, "err/best": err / best_r,
                "best_rank10_err": best,
            })
    notes = ("A' = L A + A L^T + P Q^T, L = tridiag(1,-2,1) sparse, rank-20 source (singular "
             "values 2^-j), rank-10 A(0), T = 1, h = 0.05, exact exponential sub-steps. "
             "full_s: expm_multiply on the vectorized N^2 system over [0, T] (the reference). "
             "speedup_vs_full = full_s / lowrank_s (> 1: low-rank faster); err = ||Y(T) - "
             "A(T)||_F; err/best = err over the best rank-r error of A(T) with r the final rank "
             "(1.0 is optimal). ra_bug: tol 1e-3, max_rank 20. One timed run each (the full "
             "integration takes seconds to minutes); OPENBLAS_NUM_THREADS as in env below.")
    return rows, notes
