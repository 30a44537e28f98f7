"""Exactness (rank-r solutions with F = dA/dt) and robustness to small singular values."""

import numpy as np
import pytest
import scipy.linalg

from lowrank_la import LowRankMatrix
from lowrank_la._testing import assert_same_backend, to_numpy
from lowrank_la.dlra import (
    LinearMatrixODE,
    dlra_factor_reference,
    integrate,
    polynomial_problem,
    small_singular_values_problem,
)

EXACT = [("ksl", {}), ("ksl2", {}), ("bug", {}), ("ra_bug", {"tol": 1e-10})]


@pytest.mark.parametrize("method,kw", EXACT)
@pytest.mark.parametrize("cplx", [False, True])
def test_exact_for_rank_r_solution(dl, method, kw, cplx):
    # A(t) polynomial of rank 4: the sub-flows are polynomials of degree 2 so RK4 is exact, and
    # the integrators are exact; a wrong sign, frozen basis or time window breaks this.
    tp = polynomial_problem(60, 50, 4, complex=cplx, scale=0.5, rng=3)
    res = integrate(tp.problem, tp.Y0, (0.0, 1.0), 0.05, method=method, solver="rk4", **kw)
    A1 = tp.exact(1.0)
    assert np.linalg.norm(dl.dense(res) - A1) <= 1e-10 * np.linalg.norm(A1)
    assert res.rank == 4 and res.nit == 20 and res.success
    # not trivially exact: the solution moved a lot
    assert np.linalg.norm(A1 - tp.exact(0.0)) > 0.3 * np.linalg.norm(A1)


def test_parallel_bug_is_not_exact(dl):
    # documented property: parallel BUG's augmented core leaves the cross block zero
    tp = polynomial_problem(60, 50, 4, scale=0.5, rng=3)
    res = integrate(tp.problem, tp.Y0, (0.0, 1.0), 0.05, method="parallel_bug", solver="rk4")
    err = np.linalg.norm(dl.dense(res) - tp.exact(1.0)) / np.linalg.norm(tp.exact(1.0))
    assert 1e-6 < err < 1e-2


@pytest.mark.parametrize("method", ["ksl", "bug"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128"])
def test_backends_lyapunov(bc, method, dtype):
    # Linear Lyapunov problem keeps rank: the KSL solution is e^{tL1} A0 e^{tL2}^T exactly
    # (BUG up to its O(h) error); run on every backend with RK4 sub-steps.
    rng = np.random.default_rng(0)
    m, n, r = 12, 9, 2
    cplx = dtype == "complex128"

    def draw(*shape):
        X = rng.standard_normal(shape)
        return X + 1j * rng.standard_normal(shape) if cplx else X

    L1 = draw(m, m) / np.sqrt(m)
    L2 = draw(n, n) / np.sqrt(n)
    U0, S0, V0 = draw(m, r), draw(r, r), draw(n, r)
    prob = LinearMatrixODE([(bc.asarray(L1, dtype), None), (None, bc.asarray(L2, dtype))])
    if cplx:
        Y0 = tuple(bc.asarray(X) for X in (U0, S0, V0))
    else:
        Y0 = LowRankMatrix(bc.asarray(U0, dtype), bc.asarray(S0, dtype), bc.asarray(V0, dtype))
    res = integrate(prob, Y0, (0.0, 0.5), 0.1, method=method, solver="rk4", nsub=10)
    exact = (scipy.linalg.expm(0.5 * L1) @ U0 @ S0 @ V0.conj().T
             @ scipy.linalg.expm(0.5 * L2).T)
    assert_same_backend(res.U, bc.asarray(U0, dtype))
    assert_same_backend(res.S, bc.asarray(S0, dtype))
    if cplx:
        got = to_numpy(res.U) @ to_numpy(res.S) @ to_numpy(res.V).conj().T
    else:
        assert isinstance(res.Y, LowRankMatrix)
        got = to_numpy(res.Y)
    tol = {"ksl": 1e-8, "bug": 5e-2}[method]
    if dtype == "float32":
        tol = max(tol, 1e-5)
    assert np.linalg.norm(got - exact) <= tol * np.linalg.norm(exact)
    if method == "bug":  # not trivially exact: BUG's O(h) error is visible
        assert np.linalg.norm(got - exact) > 1e-6 * np.linalg.norm(exact)


@pytest.mark.parametrize("method", ["ksl", "bug", "ra_bug"])
def test_float32_stays_float32(dl, method):
    tp = polynomial_problem(20, 15, 3, scale=0.3, rng=2)
    Y0 = tuple(np.asarray(X, dtype=np.float32) for X in tp.Y0)
    kw = {"tol": 1e-5} if method == "ra_bug" else {}
    res = integrate(tp.problem.__class__(tp.problem.shape,
                                         lambda t, Y, W: tp.problem.apply_right(t, Y, W)
                                         .astype(np.float32),
                                         lambda t, Y, W: tp.problem.apply_left(t, Y, W)
                                         .astype(np.float32)),
                    Y0, (0.0, 0.5), 0.1, method=method, solver="rk4", **kw)
    assert res.U.dtype == np.float32 and res.S.dtype == np.float32
    A1 = tp.exact(0.5)
    assert np.linalg.norm(dl.dense(res) - A1) <= 1e-5 * np.linalg.norm(A1)


def test_small_singular_values_robust(dl):
    # Error ~ best rank-r error + O(h), the same for s_min = 1e-8 and 1e-12; integrating the
    # factor ODEs (S^-1) instead loses all accuracy at s_min = 1e-12.
    errs, best = {}, {}
    for s_min in (1e-4, 1e-8, 1e-12):
        tp = small_singular_values_problem(100, 10, s_min, rng=0)
        for method in ("ksl", "bug"):
            res = integrate(tp.problem, tp.Y0, (0.0, 0.5), 0.05, method=method, solver="rk4")
            errs[method, s_min] = np.linalg.norm(dl.dense(res) - tp.exact(0.5))
        best[s_min] = tp.best_error(0.5)
    for method in ("ksl", "bug"):
        # s_min = 1e-4: the best-approximation error dominates, within 2x
        assert errs[method, 1e-4] <= 2 * best[1e-4]
        # the O(h) part does not depend on s_min (no S^-1 anywhere)
        assert errs[method, 1e-12] <= 1.05 * errs[method, 1e-8]
        assert errs[method, 1e-12] < 1e-5
    # the O(h) part halves with h
    tp = small_singular_values_problem(100, 10, 1e-12, rng=0)
    res = integrate(tp.problem, tp.Y0, (0.0, 0.5), 0.025, method="bug", solver="rk4")
    assert np.linalg.norm(dl.dense(res) - tp.exact(0.5)) < 0.6 * errs["bug", 1e-12]


def test_factor_ode_breaks_down_with_small_singular_values(dl):
    # control for the robustness test: the non-robust approach fails on the same problem
    tp = small_singular_values_problem(40, 6, 1e-12, rng=0)
    try:
        Y = dlra_factor_reference(tp.problem, tp.Y0, (0.0, 0.5), rtol=1e-6, atol=1e-9)[-1]
        err = np.linalg.norm(dl.dense(Y) - tp.exact(0.5))
    except (RuntimeError, np.linalg.LinAlgError):
        err = np.inf
    bug = integrate(tp.problem, tp.Y0, (0.0, 0.5), 0.05, method="bug", solver="rk4")
    assert np.linalg.norm(dl.dense(bug) - tp.exact(0.5)) < 1e-5
    assert not err < 1e-3
