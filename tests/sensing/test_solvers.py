"""Sensing solvers: exact recovery, the papers' qualitative claims, backends, API contract."""

from __future__ import annotations

import numpy as np
import pytest

from lowrank_la import ConvergenceWarning
from lowrank_la._testing import assert_same_backend, to_numpy
from lowrank_la.sensing import (
    EntrySampling,
    GaussianMeasurements,
    RankOneMeasurements,
    gd,
    make_sensing_problem,
    scaled_gd,
    subgradient,
)


@pytest.fixture(scope="module")
def sym_problem():
    return make_sensing_problem(12, 2, 200, kappa=2.0, rng=0)


@pytest.fixture(scope="module")
def asym_problem():
    return make_sensing_problem((12, 10), 2, 250, kappa=2.0, symmetric=False, rng=0)


# -- exact recovery, exact rank, well conditioned -------------------------------------------

@pytest.mark.parametrize("method", ["gd", "scaled_gd", "scaled_gd_lambda", "subgradient",
                                    "subgradient_polyak"])
@pytest.mark.parametrize("sym", [True, False])
def test_exact_recovery_every_method(method, sym, sym_problem, asym_problem):
    P = sym_problem if sym else asym_problem
    kw = dict(M_true=P.M_true, etol=1e-8, maxiter=2000, rng=0)
    if method == "gd":
        res = gd(P.operator, P.y, 2, **kw)
    elif method == "scaled_gd":
        res = scaled_gd(P.operator, P.y, 2, **kw)
    elif method == "scaled_gd_lambda":
        res = scaled_gd(P.operator, P.y, 2, damping=0.5, **kw)
    elif method == "subgradient":
        res = subgradient(P.operator, P.y, 2, **kw)
    else:
        res = subgradient(P.operator, P.y, 2, steps="polyak", init="spectral", **kw)
    assert res.success and res.status == 0
    # the estimate really is the ground truth (recomputed, not read from the history)
    est = to_numpy(res.estimate.to_dense())
    assert np.linalg.norm(est - P.M_true) <= 1e-8 * np.linalg.norm(P.M_true) * 1.0001
    assert ("X" in res) == sym and ("L" in res) == (not sym)
    assert len(res.history["loss"]) == res.nit + 1


# -- Tong, Ma, Chi: ScaledGD's iteration count does not grow with kappa, GD's does ----------

def test_scaled_gd_rate_independent_of_kappa_gd_slows_down():
    its_sgd, its_gd = [], []
    for kappa in (1.5, 20.0):
        P = make_sensing_problem(12, 2, 200, kappa=kappa, rng=0)
        its_sgd.append(scaled_gd(P.operator, P.y, 2, M_true=P.M_true, etol=1e-8).nit)
        its_gd.append(gd(P.operator, P.y, 2, init="spectral", M_true=P.M_true, etol=1e-8,
                         maxiter=3000).nit)
    assert its_sgd[1] <= 1.25 * its_sgd[0]          # measured: 47 -> 50
    assert its_gd[1] >= 5 * its_gd[0]               # measured: 61 -> 788
    assert its_sgd[1] * 5 < its_gd[1]


def test_scaled_gd_linear_rate_does_not_depend_on_kappa():
    """Tong et al.: contraction (1 - 0.6 eta) per step under RIP, whatever kappa."""
    rates = []
    for kappa in (1.5, 50.0):
        P = make_sensing_problem(12, 2, 400, kappa=kappa, rng=1)
        res = scaled_gd(P.operator, P.y, 2, step=0.5, M_true=P.M_true, etol=1e-10)
        e = np.array(res.history["error"])
        rates.append(np.median(e[-10:] / e[-11:-1]))
    assert max(rates) < 1 - 0.6 * 0.5
    assert abs(rates[0] - rates[1]) < 0.03


# -- Xu, Shen, Chi, Ma: ScaledGD(lambda) over-parameterized and ill-conditioned ----------

def test_scaled_gd_lambda_overparameterized_beats_gd():
    P = make_sensing_problem(12, 2, 200, kappa=20.0, rng=0)
    res = scaled_gd(P.operator, P.y, 4, damping=P.sigma[-1], M_true=P.M_true, etol=1e-7,
                    maxiter=300, rng=0)
    assert res.success and res.nit < 200
    with pytest.warns(ConvergenceWarning):
        ref = gd(P.operator, P.y, 4, alpha=1e-3, M_true=P.M_true, etol=1e-7, maxiter=300, rng=0)
    assert ref.history["error"][-1] > 1e-4


def test_scaled_gd_invariance_under_factor_reparameterization(asym_problem, rng):
    P = asym_problem
    L0, R0 = rng.standard_normal((12, 2)), rng.standard_normal((10, 2))
    Q = np.array([[2.0, 1.0], [0.5, 1.5]])
    kw = dict(maxiter=15, rtol=0.0)
    with pytest.warns(ConvergenceWarning):
        a = scaled_gd(P.operator, P.y, 2, init=(L0, R0), step=0.3, **kw)
        b = scaled_gd(P.operator, P.y, 2, init=(L0 @ Q, R0 @ np.linalg.inv(Q).T), step=0.3, **kw)
        c = gd(P.operator, P.y, 2, init=(L0, R0), step=0.05, **kw)
        d = gd(P.operator, P.y, 2, init=(L0 @ Q, R0 @ np.linalg.inv(Q).T), step=0.05, **kw)
    np.testing.assert_allclose(a.L @ a.R.T, b.L @ b.R.T, rtol=1e-9, atol=1e-11)
    assert np.linalg.norm(c.L @ c.R.T - d.L @ d.R.T) > 1e-3  # GD is not invariant


# -- Ma & Fattahi: SubGM with outliers and over-parameterization -------------------------

def test_subgradient_robust_to_outliers_where_gd_is_not():
    P = make_sensing_problem(10, 2, 300, outlier_fraction=0.1, rng=0)
    res = subgradient(P.operator, P.y, 4, M_true=P.M_true, etol=1e-6, maxiter=600, rng=0)
    assert res.success
    with pytest.warns(ConvergenceWarning):
        ref = gd(P.operator, P.y, 4, M_true=P.M_true, etol=1e-6, maxiter=600, rng=0)
    assert ref.history["error"][-1] > 1e-2


def test_subgradient_large_initialization_hurts_when_overparameterized():
    P = make_sensing_problem(10, 2, 300, rng=0)
    small = subgradient(P.operator, P.y, 6, alpha=1e-6, M_true=P.M_true, etol=1e-6,
                        maxiter=600, rng=0)
    assert small.success
    with pytest.warns(ConvergenceWarning):
        large = subgradient(P.operator, P.y, 6, alpha=1.0, M_true=P.M_true, etol=1e-6,
                            maxiter=600, rng=0)
    assert large.history["error"][-1] > 100 * 1e-6


# -- Jin et al.: incremental learning, largest singular value first ----------------------

def test_gd_small_init_learns_singular_values_one_at_a_time():
    P = make_sensing_problem(12, 3, 250, kappa=4.0, rng=2)   # sigma = 1, 0.625, 0.25
    res = gd(P.operator, P.y, 3, alpha=1e-6, step=0.2, M_true=P.M_true,
             track_singular_values=True, etol=1e-4, maxiter=3000, rng=0)
    sv = np.array(res.history["sv"])
    learned = [int(np.argmax(sv[:, i] >= 0.5 * P.sigma[i])) for i in range(3)]
    assert learned[0] < learned[1] < learned[2]
    # in between, the iterate passes near the best rank-1 approximation
    t = (learned[0] + learned[1]) // 2
    assert sv[t, 1] < 0.1 * P.sigma[1]
    assert sv[t, 0] == pytest.approx(P.sigma[0], rel=0.15)


# -- Xiong, Ding, Du: curses of symmetry and initialization ------------------------------

def test_symmetric_overparameterized_gd_is_sublinear_exact_rank_is_linear(sym_problem):
    P = sym_problem
    exact = gd(P.operator, P.y, 2, alpha=1e-2, M_true=P.M_true, etol=1e-8, maxiter=1500, rng=0)
    assert exact.success
    with pytest.warns(ConvergenceWarning):
        over = gd(P.operator, P.y, 3, alpha=1e-2, M_true=P.M_true, etol=1e-8, maxiter=1500,
                  rng=0)
    e = np.array(over.history["error"])
    assert e[-1] > 1e-5
    # sublinear: doubling the iterations gains far less than squaring the error would
    assert e[1400] > e[700] ** 1.5 and e[1400] < e[700]


def test_asymmetric_overparameterized_one_step_modification(asym_problem):
    P = asym_problem
    kw = dict(alpha=0.1, alpha_right=0.1 / 3, M_true=P.M_true, etol=1e-8, maxiter=400, rng=0)
    fixed = gd(P.operator, P.y, 3, rebalance_tol=1e-2, **kw)
    assert fixed.success and fixed.nit < 250
    with pytest.warns(ConvergenceWarning):
        plain = gd(P.operator, P.y, 3, **kw)
    assert plain.history["error"][-1] > 1e-6
    Ps = make_sensing_problem(5, 1, 30, rng=0)
    with pytest.raises(ValueError, match="asymmetric"):
        gd(Ps.operator, Ps.y, 2, rebalance_at=3)


# -- other operators ---------------------------------------------------------------------

def test_matrix_completion_through_entry_sampling():
    P = make_sensing_problem((20, 16), 2, 200, operator="entries", symmetric=False, rng=0)
    assert isinstance(P.operator, EntrySampling)
    res = scaled_gd(P.operator, P.y, 2, M_true=P.M_true, etol=1e-8, maxiter=500)
    est = to_numpy(res.estimate.to_dense())  # recovered, checked independently of the solver
    assert res.success and np.linalg.norm(est - P.M_true) <= 1e-7 * np.linalg.norm(P.M_true)


def test_rank_one_measurements_recovery():
    P = make_sensing_problem((10, 8), 2, 250, operator="rank_one", symmetric=False, rng=0)
    assert isinstance(P.operator, RankOneMeasurements)
    res = scaled_gd(P.operator, P.y, 2, M_true=P.M_true, etol=1e-8, maxiter=500)
    est = to_numpy(res.estimate.to_dense())
    assert res.success and np.linalg.norm(est - P.M_true) <= 1e-7 * np.linalg.norm(P.M_true)


# -- backends and dtypes -----------------------------------------------------------------

@pytest.mark.parametrize("case", ["strict-device1", "torch", "float32"])
def test_backends_and_float32(case):
    import array_api_strict as xs
    import torch

    if case == "strict-device1":
        like = xs.asarray([0.0], device=xs.Device("device1"))
    elif case == "torch":
        like = torch.zeros(1, dtype=torch.float64)
    else:
        like = np.zeros(1, dtype=np.float32)
    P = make_sensing_problem(10, 2, 150, rng=0, like=like)
    ref = make_sensing_problem(10, 2, 150, rng=0)
    tol = 1e-4 if case == "float32" else 1e-8
    for fn, kw in ((scaled_gd, {"damping": 0.5}), (gd, {}), (subgradient, {})):
        rank = 3 if fn is scaled_gd else 2
        res = fn(P.operator, P.y, rank, M_true=P.M_true, etol=tol,
                 maxiter=1000, rng=0, **kw)
        assert res.success, (fn.__name__, res.message)
        assert_same_backend(res.X, P.y)
        assert np.linalg.norm(to_numpy(res.estimate.to_dense()) - ref.M_true) < 2 * tol * \
            np.linalg.norm(ref.M_true)
        if case != "float32":  # same seed, same trajectory on every backend
            again = fn(ref.operator, ref.y, rank, M_true=ref.M_true,
                       etol=tol, maxiter=1000, rng=0, **kw)
            assert res.nit == again.nit


# -- API contract --------------------------------------------------------------------------

def test_callback_can_stop_and_sees_state(sym_problem):
    P = sym_problem
    seen = []

    def cb(state):
        seen.append((state.nit, state.loss, state.X.shape))
        if state.nit == 5:
            raise StopIteration

    res = gd(P.operator, P.y, 2, callback=cb, rng=0)
    assert res.status == 3 and not res.success and res.nit == 5
    assert [s[0] for s in seen] == [1, 2, 3, 4, 5] and seen[0][2] == (12, 2)
    assert len(res.history["loss"]) == 6


def test_divergence_is_detected(sym_problem):
    P = sym_problem
    with pytest.warns(ConvergenceWarning, match="diverged"):
        res = gd(P.operator, P.y, 2, init="spectral", step=50.0, maxiter=200)
    assert res.status == 2 and not res.success and res.nit < 200


def test_history_records_time_step_and_singular_values(sym_problem):
    P = sym_problem
    res = scaled_gd(P.operator, P.y, 3, damping=0.5, track_singular_values=True,
                    M_true=P.M_true, etol=1e-6, rng=0)
    h = res.history
    assert all(len(h[k]) == res.nit + 1 for k in ("loss", "residual", "step", "time", "sv",
                                                  "error"))
    assert np.all(np.diff(h["time"]) >= 0) and h["step"][1] == 0.5
    # singular values of X X^T are the squared singular values of X
    np.testing.assert_allclose(h["sv"][-1], np.linalg.svd(res.X, compute_uv=False) ** 2,
                               rtol=1e-10)
    np.testing.assert_allclose(sorted(h["sv"][-1])[-2:], sorted(P.sigma), rtol=1e-5)


def test_deterministic_for_a_seed(sym_problem):
    P = sym_problem
    with pytest.warns(ConvergenceWarning):
        a = subgradient(P.operator, P.y, 3, maxiter=50, M_true=P.M_true, rng=5)
        b = subgradient(P.operator, P.y, 3, maxiter=50, M_true=P.M_true, rng=5)
    np.testing.assert_array_equal(a.X, b.X)
    assert a.history["loss"] == b.history["loss"]


def test_inputs_not_modified(sym_problem, rng):
    P = sym_problem
    y0 = P.y.copy()
    X0 = 0.1 * rng.standard_normal((12, 2))
    X0c = X0.copy()
    gd(P.operator, P.y, 2, init=X0, maxiter=100, M_true=P.M_true, etol=1e-2)
    np.testing.assert_array_equal(P.y, y0)
    np.testing.assert_array_equal(X0, X0c)


def test_bad_inputs(sym_problem):
    P = sym_problem
    op, y = P.operator, P.y
    with pytest.raises(ValueError, match="`y` must have length m=200"):
        gd(op, y[:10], 2)
    with pytest.raises(ValueError, match="`rank` must be a positive integer, got 0"):
        scaled_gd(op, y, 0)
    with pytest.raises(ValueError, match="`step` must be positive"):
        gd(op, y, 2, step=-0.1)
    with pytest.raises(ValueError, match="`step0` must be positive"):
        subgradient(op, y, 2, step0=-1.0)
    with pytest.raises(ValueError, match="`damping` must be non-negative"):
        scaled_gd(op, y, 2, damping=-1.0)
    bad = y.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="`y` must not contain NaN"):
        gd(op, bad, 2)
    with pytest.raises(ValueError, match="shape \\(12, 2\\)"):
        gd(op, y, 2, init=np.ones((12, 3)))
    with pytest.raises(ValueError, match="`etol` needs `M_true`"):
        gd(op, y, 2, etol=1e-3)
    with pytest.raises(ValueError, match="`init`"):
        gd(op, y, 2, init="random")
    with pytest.raises(ValueError, match="`steps`"):
        subgradient(op, y, 2, steps="armijo")
    with pytest.raises(TypeError, match="MeasurementOperator"):
        gd(np.ones((200, 144)), y, 2)
    with pytest.raises(ValueError, match="square"):
        gd(GaussianMeasurements((4, 3), 20, rng=0), np.ones(20), 2, factorization="symmetric")


def test_singular_preconditioner_is_reported_not_raised(rng):
    """ScaledGD with damping 0 from rank-deficient factors cannot form (X^T X)^{-1}."""
    P = make_sensing_problem(10, 2, 150, rng=0)
    X0 = np.zeros((10, 3))
    X0[:, :2] = 0.1 * rng.standard_normal((10, 2))
    with pytest.warns(ConvergenceWarning, match="not positive definite"):
        res = scaled_gd(P.operator, P.y, 3, init=X0, damping=0.0)
    assert res.status == 2 and res.nit == 0
    res = scaled_gd(P.operator, P.y, 3, init=X0, damping=0.1, M_true=P.M_true, etol=1e-6)
    assert res.success  # the damping is what makes rank-deficient factors workable


def test_demo_entry_checks_its_answer(capsys):
    import argparse

    from lowrank_la.sensing._demo import demo

    assert demo(argparse.Namespace(seed=0))
    assert "ScaledGD" in capsys.readouterr().out
