import numpy as np
import pytest
from scipy.optimize import linprog, minimize

from lowrank_la import ConvergenceWarning
from lowrank_la._testing import assert_same_backend, to_numpy
from lowrank_la.sampling import lewis_weights, lp_regression, sample_rows


def _rare_feature_problem(seed=0, n=10000, d=10):
    """Two features present on 10 rows each, with large true coefficients (sampling notes)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    A[:, -2:] = 0.0
    A[:10, -2] = 1.0 + rng.random(10)
    A[10:20, -1] = 1.0 + rng.random(10)
    x_true = rng.standard_normal(d)
    x_true[-2:] = 200.0
    b = A @ x_true + rng.laplace(size=n)
    return A, b


def test_l1_lp_matches_primal_lp(rng):
    A = rng.standard_normal((300, 4))
    b = A @ np.arange(1.0, 5.0) + rng.standard_cauchy(300)
    res = lp_regression(A, b, 1.0)
    # primal LP: min sum e, -e <= A x - b <= e
    n, d = A.shape
    c = np.r_[np.zeros(d), np.ones(n)]
    A_ub = np.block([[A, -np.eye(n)], [-A, -np.eye(n)]])
    ref = linprog(c, A_ub=A_ub, b_ub=np.r_[b, -b], bounds=[(None, None)] * d + [(0, None)] * n)
    assert res.objective == pytest.approx(ref.fun, rel=1e-9)
    assert res.success and res.nit == 1


@pytest.mark.parametrize("p", [1.3, 1.5, 3.0, 4.0])
def test_irls_matches_direct_minimization(rng, p):
    A = rng.standard_normal((400, 5))
    b = A @ rng.standard_normal(5) + rng.standard_t(3, size=400)
    res = lp_regression(A, b, p)
    assert res.success

    def f(x):
        r = A @ x - b
        return np.sum(np.abs(r) ** p), p * A.T @ (np.sign(r) * np.abs(r) ** (p - 1))

    ref = minimize(f, np.zeros(5), jac=True, method="BFGS", options={"gtol": 1e-10})
    assert res.objective <= ref.fun * (1 + 1e-8)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-4)


def test_lewis_l1_regression_within_1_2(rng):
    # issue acceptance: Lewis-weight l1 regression from 40 d samples within 1.2x of the optimum
    A, b = _rare_feature_problem()
    full = lp_regression(A, b, 1.0).objective
    w = lewis_weights(A, 1.0).weights
    lewis, uniform = [], []
    for seed in range(3):
        for scores, out in ((w, lewis), (np.ones(A.shape[0]), uniform)):
            s = sample_rows(A, scores, 400, rng=seed)
            x = lp_regression(A, b, 1.0, sample=s).x
            out.append(np.sum(np.abs(A @ x - b)) / full)
    assert max(lewis) < 1.2
    assert min(uniform) > max(lewis)  # uniform misses the rare features


def test_weighted_sample_l2_equals_weighted_lstsq(rng):
    A = rng.standard_normal((200, 3))
    b = rng.standard_normal(200)
    s = sample_rows(A, np.ones(200), 50, rng=1)
    res = lp_regression(A, b, 2.0, sample=s)
    r = np.sqrt(s.weights)
    ref = np.linalg.lstsq(A[s.indices] * r[:, None], b[s.indices] * r, rcond=None)[0]
    np.testing.assert_allclose(res.x, ref, rtol=1e-10)


def test_backends(bc, rng):
    A0 = rng.standard_normal((150, 3))
    b0 = A0 @ np.ones(3) + rng.standard_t(2, size=150)
    A, b = bc.asarray(A0), bc.asarray(b0)
    for p in (1.0, 1.5, 3.0):
        res = lp_regression(A, b, p)
        assert_same_backend(res.x, A)
        np.testing.assert_allclose(to_numpy(res.x), lp_regression(A0, b0, p).x, rtol=1e-7)


def test_non_convergence_and_bad_input(rng):
    A = rng.standard_normal((100, 3))
    b = rng.standard_normal(100)
    with pytest.warns(ConvergenceWarning, match="maxiter=1"):
        res = lp_regression(A, b, 1.2, maxiter=1, tol=0.0)
    assert not res.success and res.status == 1
    with pytest.raises(ValueError, match="`p`"):
        lp_regression(A, b, 0.5)
    with pytest.raises(ValueError, match="`b`"):
        lp_regression(A, b[:-1], 1.0)
    with pytest.raises(ValueError, match="`method`='lp'"):
        lp_regression(A, b, 2.0, method="lp")
    with pytest.raises(ValueError, match="`sample` was drawn from 50"):
        lp_regression(A, b, 1.0, sample=sample_rows(None, np.ones(50), 5))


def test_demo_entry(capsys):
    from types import SimpleNamespace

    from lowrank_la.sampling._demo import demo

    assert demo(SimpleNamespace(seed=0)) is True
    out = capsys.readouterr().out
    assert out.startswith("sampling: l1 regression") and "Lewis" in out


def test_sparse_input_matches_dense(rng):
    import scipy.sparse

    A = scipy.sparse.random(500, 6, density=0.4, random_state=0, format="csr")
    b = A @ np.ones(6) + rng.standard_t(2, size=500)
    s = sample_rows(A, np.ones(500), 120, rng=0)
    for p in (1.0, 1.5, 2.0):
        for sample in (None, s):
            a = lp_regression(A, b, p, sample=sample)
            ref = lp_regression(A.toarray(), b, p, sample=sample)
            np.testing.assert_allclose(a.x, ref.x, rtol=1e-9, atol=1e-12)
