"""Problem descriptions: the products the integrators use agree with the dense right-hand side."""

import numpy as np
import pytest
import scipy.sparse

from lowrank_la.dlra import (
    Factors,
    LinearMatrixODE,
    MatrixODE,
    cubic_problem,
    polynomial_problem,
)
from lowrank_la.dlra._substep import solve_flow


def _rand_factors(rng, m, n, r, cplx):
    def draw(*s):
        X = rng.standard_normal(s)
        return X + 1j * rng.standard_normal(s) if cplx else X
    return Factors(np.linalg.qr(draw(m, r))[0], draw(r, r), np.linalg.qr(draw(n, r))[0]), draw


def _linear_problem(rng, m, n, cplx, sparse):
    def op(k):
        A = rng.standard_normal((k, k)) + (1j * rng.standard_normal((k, k)) if cplx else 0)
        A = A / np.sqrt(k)
        return scipy.sparse.csr_matrix(A) if sparse else A
    P = rng.standard_normal((m, 2))
    Q = rng.standard_normal((n, 2)) + (1j * rng.standard_normal((n, 2)) if cplx else 0)
    return LinearMatrixODE([(op(m), None), (None, op(n)), (op(m), op(n))], source=(P, Q),
                           phi=lambda t: np.cos(t))


def _dense_F(problem, t, A, terms_dense):
    return problem.dense_rhs(t, A)


@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_linear_products_match_dense(rng, cplx, sparse):
    m, n, r = 9, 7, 3
    prob = _linear_problem(rng, m, n, cplx, sparse)
    Y, draw = _rand_factors(rng, m, n, r, cplx)
    # dense F built independently from the operators
    A = Y.to_dense()
    F = np.cos(0.3) * prob.source[0] @ prob.source[1].conj().T
    for Aop, Bop in prob.terms:
        Ad = Aop.dense_host()
        Bd = Bop.dense_host()
        F = F + Ad @ A @ Bd.T
    np.testing.assert_allclose(prob.dense_rhs(0.3, A), F, atol=1e-13)
    W = draw(n, 2)
    Z = draw(m, 2)
    np.testing.assert_allclose(prob.apply_right(0.3, Y, W), F @ W, atol=1e-12)
    np.testing.assert_allclose(prob.apply_left(0.3, Y, Z), F.conj().T @ Z, atol=1e-12)
    np.testing.assert_allclose(prob.galerkin(0.3, Y, Y.U, Y.V), Y.U.conj().T @ F @ Y.V,
                               atol=1e-12)
    # the three sub-flows' right-hand sides
    U0, S0, V0 = Y
    K = draw(m, r)
    np.testing.assert_allclose(prob.k_flow(V0).rhs(0.3, K),
                               prob.dense_rhs(0.3, K @ V0.conj().T) @ V0, atol=1e-12)
    L = draw(n, r)
    np.testing.assert_allclose(prob.l_flow(U0).rhs(0.3, L),
                               prob.dense_rhs(0.3, U0 @ L.conj().T).conj().T @ U0, atol=1e-12)
    np.testing.assert_allclose(
        prob.s_flow(U0, V0).rhs(0.3, S0),
        U0.conj().T @ prob.dense_rhs(0.3, U0 @ S0 @ V0.conj().T) @ V0, atol=1e-12)
    np.testing.assert_allclose(prob.s_flow(U0, V0).negated().rhs(0.3, S0),
                               -prob.s_flow(U0, V0).rhs(0.3, S0), atol=0)


@pytest.mark.parametrize("make", [polynomial_problem, cubic_problem])
@pytest.mark.parametrize("cplx", [False, True])
def test_test_problem_products(rng, make, cplx):
    tp = make(12, 10, 3, complex=cplx, rng=1)
    Y, draw = _rand_factors(rng, 12, 10, 3, cplx)
    F = tp.problem.dense_rhs(0.4, Y.to_dense())
    W, Z = draw(10, 2), draw(12, 2)
    np.testing.assert_allclose(tp.problem.apply_right(0.4, Y, W), F @ W, atol=1e-12)
    np.testing.assert_allclose(tp.problem.apply_left(0.4, Y, Z), F.conj().T @ Z, atol=1e-12)
    # A(t) solves the equation: finite difference of the exact solution equals F(t, A(t))
    eps = 1e-5
    dA = (tp.exact(0.4 + eps) - tp.exact(0.4 - eps)) / (2 * eps)
    np.testing.assert_allclose(tp.problem.dense_rhs(0.4, tp.exact(0.4)), dA, atol=1e-8)


@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("p", [4, 30])  # dense expm path and expm_multiply path
def test_expm_solver_matches_fine_rk4(rng, cplx, p):
    prob = _linear_problem(rng, p, 6, cplx, sparse=True)
    Y, draw = _rand_factors(rng, p, 6, 3, cplx)
    phi_free = LinearMatrixODE([(t[0].A, t[1].A) for t in prob.terms], source=prob.source)
    flow = phi_free.k_flow(Y.V)
    X0 = draw(p, 3)
    exact = solve_flow(flow, X0, 0.1, 0.6, solver="expm")
    fine = solve_flow(flow, X0, 0.1, 0.6, solver="rk4", nsub=200)
    ivp = solve_flow(flow, X0, 0.1, 0.6, solver="solve_ivp")
    np.testing.assert_allclose(exact, fine, atol=1e-10)
    np.testing.assert_allclose(exact, ivp, atol=1e-8)
    back = solve_flow(flow.negated(), X0, 0.1, 0.6, solver="expm")
    np.testing.assert_allclose(back, solve_flow(flow.negated(), X0, 0.1, 0.6, solver="rk4",
                                                nsub=200), atol=1e-10)


def test_matrix_ode_validation():
    with pytest.raises(ValueError, match="shape"):
        MatrixODE((3,), lambda *a: None, lambda *a: None)
    with pytest.raises(TypeError, match="apply_left"):
        MatrixODE((3, 3), lambda *a: None, 5)
    with pytest.raises(TypeError, match="fun"):
        MatrixODE.from_dense(3, (3, 3))
    with pytest.raises(ValueError, match="mismatched"):
        LinearMatrixODE([(np.eye(3), None), (np.eye(4), None)])
    with pytest.raises(ValueError, match="square"):
        LinearMatrixODE([(np.ones((3, 2)), None)])
    with pytest.raises(ValueError, match="source"):
        LinearMatrixODE([(np.eye(3), np.eye(3))], source=(np.ones((3, 1)), np.ones((4, 1))))
    with pytest.raises(ValueError, match="terms"):
        LinearMatrixODE([])
    with pytest.raises(TypeError, match="phi"):
        LinearMatrixODE([(np.eye(3), None)], shape=(3, 3), phi=2.0)
