"""Bad input, untouched inputs, the stepping object, callbacks and results."""

import logging

import numpy as np
import pytest

from lowrank_la import LowRankMatrix
from lowrank_la.dlra import (
    DLRAIntegrator,
    Factors,
    LinearMatrixODE,
    MatrixODE,
    bug,
    integrate,
    k_step,
    ksl,
    l_step,
    parallel_bug,
    polynomial_problem,
    ra_bug,
    s_step,
)


@pytest.fixture
def setup():
    tp = polynomial_problem(10, 8, 2, rng=0)
    return tp.problem, tp.Y0


def test_bad_input(setup):
    prob, Y0 = setup
    with pytest.raises(ValueError, match="`h` must be positive"):
        integrate(prob, Y0, (0, 1), 0.0)
    with pytest.raises(ValueError, match="`h` must be positive"):
        integrate(prob, Y0, (0, 1), -0.1)
    with pytest.raises(ValueError, match="`h` must be finite"):
        integrate(prob, Y0, (0, 1), np.inf)
    with pytest.raises(ValueError, match="`rank` must be at most"):
        integrate(prob, Y0, (0, 1), 0.1, rank=9)
    with pytest.raises(ValueError, match="`max_rank` must be at most"):
        integrate(prob, Y0, (0, 1), 0.1, method="ra_bug", tol=1e-3, max_rank=11)
    with pytest.raises(ValueError, match="mismatched shapes"):
        integrate(MatrixODE.from_dense(lambda t, A: A, (9, 8)), Y0, (0, 1), 0.1)
    with pytest.raises(ValueError, match="factors do not fit"):
        integrate(prob, (Y0.U, Y0.S[:1], Y0.V), (0, 1), 0.1)
    with pytest.raises(ValueError, match="NaN or inf"):
        integrate(prob, (Y0.U * np.nan, Y0.S, Y0.V), (0, 1), 0.1)
    with pytest.raises(TypeError, match="`Y0` must be a LowRankMatrix"):
        integrate(prob, np.ones((10, 8)), (0, 1), 0.1)
    with pytest.raises(TypeError, match="`problem` must be a MatrixODE"):
        integrate(lambda t, A: A, Y0, (0, 1), 0.1)
    with pytest.raises(ValueError, match="`method`"):
        integrate(prob, Y0, (0, 1), 0.1, method="euler")
    with pytest.raises(ValueError, match="`solver`"):
        integrate(prob, Y0, (0, 1), 0.1, solver="rk45")
    with pytest.raises(ValueError, match="needs a LinearMatrixODE"):
        integrate(prob, Y0, (0, 1), 0.1, solver="expm")
    with pytest.raises(ValueError, match="tolerance"):
        integrate(prob, Y0, (0, 1), 0.1, method="ra_bug")
    with pytest.raises(ValueError, match="adaptive"):
        integrate(prob, Y0, (0, 1), 0.1, method="bug", tol=1e-3)
    with pytest.raises(ValueError, match="t_span"):
        integrate(prob, Y0, (1, 0), 0.1)
    with pytest.raises(ValueError, match="`nsub`"):
        integrate(prob, Y0, (0, 1), 0.1, nsub=0)
    with pytest.raises(ValueError, match="`order`"):
        ksl(prob, Y0, (0, 1), 0.1, order=3)


def test_non_finite_F_rejected(setup):
    _, Y0 = setup
    bad = MatrixODE.from_dense(lambda t, A: A * np.nan, (10, 8))
    with pytest.raises(ValueError, match="NaN or inf"):
        integrate(bad, Y0, (0, 1), 0.1, solver="rk4")


def test_scipy_solver_needs_numpy(bc):
    L = bc.asarray(np.eye(4))
    prob = LinearMatrixODE([(L, None)], shape=(4, 4))
    Y0 = LowRankMatrix(bc.asarray(np.ones((4, 1))), None, bc.asarray(np.ones((4, 1))))
    if bc.name == "numpy":
        res = integrate(prob, Y0, (0, 1), 0.5, solver="expm")
        assert abs(float(res.Y.to_dense()[0, 0]) - np.e) < 1e-12
    else:
        with pytest.raises(ValueError, match="needs NumPy arrays"):
            integrate(prob, Y0, (0, 1), 0.5, solver="expm")
    # auto picks RK4 there and works
    res = integrate(prob, Y0, (0, 1), 0.5, nsub=8)
    assert abs(float(res.Y.to_dense()[0, 0]) - np.e) < 1e-4


def test_inputs_not_modified(setup):
    prob, Y0 = setup
    copies = [np.array(X) for X in Y0]
    for method in ("ksl", "ksl2", "bug", "ra_bug", "parallel_bug"):
        kw = {"tol": 1e-8} if method == "ra_bug" else {}
        integrate(prob, Y0, (0, 0.3), 0.1, method=method, **kw)
        for X, C in zip(Y0, copies):
            np.testing.assert_array_equal(X, C)
    U0, S0, V0 = Y0
    for fn in (k_step, l_step, s_step):
        fn(prob, U0, S0, V0, 0.0, 0.1)
        for X, C in zip(Y0, copies):
            np.testing.assert_array_equal(X, C)


def test_stepping_object_and_history(setup):
    prob, Y0 = setup
    tp = polynomial_problem(10, 8, 2, rng=0)
    it = DLRAIntegrator(prob, Y0, method="bug", h=0.1, reference=tp.exact, solver="rk4")
    it.step()
    it.advance(0.35)  # last step shortened to land on 0.35
    assert it.nit == 4 and abs(it.t - 0.35) < 1e-15
    H = it.history
    assert len(H) == 5 and H["t"][0] == 0.0
    assert np.allclose(np.diff(H["t"]), [0.1, 0.1, 0.1, 0.05])
    assert all(e < 1e-10 for e in H["error"])  # exact problem
    assert all(w >= 0 for w in H["wall"][1:])
    np.testing.assert_allclose(H["norm"][-1], np.linalg.norm(tp.exact(0.35)), rtol=1e-10)
    np.testing.assert_allclose(H["sv"][-1], np.linalg.svd(tp.exact(0.35),
                                                          compute_uv=False)[:2], rtol=1e-10)
    res = it.result()
    assert res.success and res.status == 0 and res.nit == 4 and res.rank == 2


def test_callback_stops_early(setup):
    prob, Y0 = setup

    def cb(it):
        if it.nit == 2:
            raise StopIteration

    res = bug(prob, Y0, (0, 1), 0.1, callback=cb)
    assert res.nit == 2 and res.status == 1 and "callback" in res.message


def test_verbose_logs(setup, caplog):
    prob, Y0 = setup
    with caplog.at_level(logging.INFO, logger="lowrank_la"):
        integrate(prob, Y0, (0, 0.2), 0.1, verbose=True)
    assert "step 2/2" in caplog.text


def test_lowrankmatrix_input_and_output(setup):
    prob, Y0 = setup
    A0 = LowRankMatrix(Y0.U @ Y0.S, None, Y0.V)
    res = ra_bug(prob, A0, (0, 0.2), 0.1, tol=1e-10)
    assert isinstance(res.Y, LowRankMatrix) and res.Y.shape == (10, 8)
    # the same run started from Factors gives the same matrix: the conversion loses nothing
    ref = ra_bug(prob, Y0, (0, 0.2), 0.1, tol=1e-10)
    np.testing.assert_allclose(res.Y.to_dense(), ref.U @ ref.S @ ref.V.conj().T, atol=1e-12)
    tp = polynomial_problem(10, 8, 2, complex=True, rng=0)
    res = parallel_bug(tp.problem, tp.Y0, (0, 0.2), 0.1)
    assert isinstance(res.Y, Factors) and np.iscomplexobj(res.S)


def test_rank_padding_and_truncation(setup):
    prob, Y0 = setup
    tp = polynomial_problem(10, 8, 2, rng=0)
    res = bug(prob, Y0, (0, 0.5), 0.1, rank=4, rng=1, solver="rk4")
    assert res.rank == 4
    # padding with zero-weight directions keeps exactness for the rank-2 solution
    A1 = tp.exact(0.5)
    assert np.linalg.norm(res.U @ res.S @ res.V.T - A1) < 1e-10 * np.linalg.norm(A1)
    res = bug(prob, Y0, (0, 0.5), 0.1, rank=1)
    assert res.rank == 1
