"""Rank adaptivity, truncation, parallel BUG's indicator, structure preservation."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowrank_la.dlra import (
    Factors,
    LinearMatrixODE,
    damped_source_problem,
    integrate,
    parallel_bug_step,
    truncate_core,
)


def test_ra_bug_follows_numerical_rank(dl):
    # rank-3 source on for t < 1 makes the rank grow; decay afterwards makes it shrink.  Start
    # from rank 4 (rank-1 data padded with zero-weight random directions): from rank 1 the
    # first step can only see 2 directions and misses part of the rank-3 source.
    tp = damped_source_problem(100, rng=0)
    tol = 1e-5
    res = integrate(tp.problem, tp.Y0, (0.0, 3.0), 0.05, method="ra_bug", tol=tol, rank=4,
                    rng=0, reference=tp.exact)
    t = np.array(res.history["t"])
    ranks = np.array(res.history["rank"])
    for ti, ri in zip(t, ranks):
        if ti >= 0.25:
            A = tp.exact(ti)
            assert dl.numerical_rank(A, 10 * tol) <= ri <= dl.numerical_rank(A, tol / 10), ti
    assert max(res.history["error"]) < 10 * tol
    peak = int(np.argmax(ranks))
    assert ranks[peak] >= 9 and t[peak] > 0.5          # grows while the source is on
    assert ranks[-1] <= ranks[peak] - 2                 # shrinks after it is switched off
    # a fixed rank-4 BUG run is much worse: the adaptivity matters
    fixed = integrate(tp.problem, tp.Y0, (0.0, 3.0), 0.05, method="bug", rank=4, rng=0,
                      reference=tp.exact)
    assert fixed.history["error"][-1] > 10 * res.history["error"][-1]


def test_ra_bug_max_rank():
    tp = damped_source_problem(60, rng=1)
    res = integrate(tp.problem, tp.Y0, (0.0, 1.0), 0.1, method="ra_bug", tol=1e-12, max_rank=5)
    assert max(res.history["rank"]) == 5


@given(st.lists(st.floats(1e-6, 10.0), min_size=1, max_size=8),
       st.floats(1e-7, 1.0))
def test_truncate_core_keeps_smallest_rank(values, tol):
    s = np.sort(np.array(values))[::-1]
    k = len(s)
    rng = np.random.default_rng(0)
    U = np.linalg.qr(rng.standard_normal((12, k)))[0]
    V = np.linalg.qr(rng.standard_normal((10, k)))[0]
    P = np.linalg.qr(rng.standard_normal((k, k)))[0]
    Q = np.linalg.qr(rng.standard_normal((k, k)))[0]
    S = P @ np.diag(s) @ Q.T
    Y = truncate_core(U, S, V, tol=tol)
    r = Y.S.shape[0]
    tail = np.sqrt(np.sum(s[r:] ** 2))
    assert tail <= tol * (1 + 1e-12) or r == k
    if r > 1:
        assert np.sqrt(np.sum(s[r - 1:] ** 2)) > tol * (1 - 1e-12)  # one fewer would violate
    A = U @ S @ V.T
    assert abs(np.linalg.norm(A - Y.to_dense()) - tail) <= 1e-10 * max(1.0, s[0])


def test_parallel_bug_indicator_matches_dense():
    rng = np.random.default_rng(4)
    m, n, r = 15, 12, 3
    L1 = rng.standard_normal((m, m)) / 4
    L2 = rng.standard_normal((n, n)) / 4
    prob = LinearMatrixODE([(L1, None), (None, L2)], source=(rng.standard_normal((m, 2)),
                                                             rng.standard_normal((n, 2))))
    U0 = np.linalg.qr(rng.standard_normal((m, r)))[0]
    V0 = np.linalg.qr(rng.standard_normal((n, r)))[0]
    S0 = np.diag([1.0, 0.5, 0.1])
    h = 0.1
    Y1, eta = parallel_bug_step(prob, Factors(U0, S0, V0), 0.0, h, rank=r, solver="expm")
    F0 = prob.dense_rhs(0.0, U0 @ S0 @ V0.T)
    # new directions: orth((I - U0 U0^T) K1), K1 the exact K-step (dense, vectorized)
    import scipy.linalg

    K1 = _kstep_dense(L1, L2, prob, U0, S0, V0, h)
    Ut = scipy.linalg.orth(K1 - U0 @ (U0.T @ K1))
    L1_ = _kstep_dense(L2, L1, prob, V0, S0.T, U0, h, left=True)
    Vt = scipy.linalg.orth(L1_ - V0 @ (V0.T @ L1_))
    assert np.isclose(eta, h * np.linalg.norm(Ut.T @ F0 @ Vt), rtol=1e-8)
    assert Y1.S.shape == (r, r)


def _kstep_dense(L1, L2, prob, U0, S0, V0, h, left=False):
    # vectorized exact solution of K' = L1 K + K M + C (column-major vec)
    import scipy.linalg

    P, Q = prob.source
    if left:
        P, Q = Q, P
    M = V0.T @ L2.T @ V0
    C = P @ (Q.T @ V0)
    m, r = U0.shape[0], V0.shape[1]
    G = np.kron(np.eye(r), L1) + np.kron(M.T, np.eye(m))
    big = np.zeros((m * r + 1, m * r + 1))
    big[:-1, :-1] = G
    big[:-1, -1] = C.ravel(order="F")
    x = np.concatenate([(U0 @ S0).ravel(order="F"), [1.0]])
    return (scipy.linalg.expm(h * big) @ x)[:-1].reshape(m, r, order="F")


def test_bug_preserves_symmetry():
    # BUG keeps A symmetric when F does (K- and L-steps coincide); KSL does not in general
    rng = np.random.default_rng(2)
    n = 20
    L = rng.standard_normal((n, n)) / 5
    B = rng.standard_normal((n, 2))
    prob = LinearMatrixODE([(L, None), (None, L)], source=(B, B))
    W = rng.standard_normal((n, 3))
    Y0 = (W, np.eye(3), W)
    res = integrate(prob, Y0, (0.0, 1.0), 0.1, method="bug")
    A = res.U @ res.S @ res.V.T
    assert np.linalg.norm(A - A.T) <= 1e-12 * np.linalg.norm(A)
    ksl = integrate(prob, Y0, (0.0, 1.0), 0.1, method="ksl")
    A = ksl.U @ ksl.S @ ksl.V.T
    assert np.linalg.norm(A - A.T) > 1e-8 * np.linalg.norm(A)


@pytest.mark.parametrize("h", [0.1, 0.05])
def test_parallel_bug_adaptive_tracks_rank(h):
    tp = damped_source_problem(60, rng=0)
    res = integrate(tp.problem, tp.Y0, (0.0, 1.0), h, method="parallel_bug", tol=h**2 * 1e-2,
                    rank=4, rng=0, reference=tp.exact)
    assert max(res.history["rank"]) > 4
    assert all(e >= 0 for e in res.history["eta"][1:])


def test_parallel_bug_rejection_enlarges_bases():
    # from rank 1 the parallel BUG misses most of the rank-3 source; rejecting steps whose
    # indicator exceeds theta repeats them from doubled bases and cuts the error 10x or more
    tp = damped_source_problem(100, rng=0)
    kw = dict(method="parallel_bug", tol=0.05**2 * 1e-2, reference=tp.exact)
    plain = integrate(tp.problem, tp.Y0, (0.0, 1.0), 0.05, **kw)
    rej = integrate(tp.problem, tp.Y0, (0.0, 1.0), 0.05, reject=1.0, **kw)
    assert sum(plain.history["rejected"][1:]) == 0
    assert sum(rej.history["rejected"][1:]) >= 1
    assert max(rej.history["error"]) < 0.1 * max(plain.history["error"])
    with pytest.raises(ValueError, match="`reject`"):
        integrate(tp.problem, tp.Y0, (0.0, 1.0), 0.05, method="bug", reject=1.0)
