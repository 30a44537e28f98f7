"""Convergence orders against the DLRA solution, and norm conservation (matrix Schrödinger)."""

import numpy as np
import pytest

from lowrank_la.dlra import dlra_factor_reference, integrate, schrodinger_problem

EXPECTED = {"ksl": 1.0, "ksl2": 2.0, "bug": 1.0, "parallel_bug": 1.0}


def _orders(dl, N, T, hs):
    tp = schrodinger_problem(N, 5)
    # independent reference: the factor ODEs (S is well conditioned here) with DOP853, 1e-12
    ref = dlra_factor_reference(tp.problem, tp.Y0, (0.0, T))[-1].to_dense()
    out = {}
    for method in EXPECTED:
        errs = []
        for h in hs:
            res = integrate(tp.problem, tp.Y0, (0.0, T), h, method=method, solver="expm")
            errs.append(np.linalg.norm(dl.dense(res) - ref))
        out[method] = (dl.slope(hs, errs), errs)
    return out


def _check(out):
    for method, p in EXPECTED.items():
        slope, errs = out[method]
        assert abs(slope - p) < 0.15, (method, slope, errs)
        assert np.all(np.diff(errs) < 0), (method, errs)


def test_orders_schrodinger_small(dl):
    # N = 40 keeps this fast; the slow test below is the N = 100 version of the issue
    _check(_orders(dl, 40, 0.5, [0.5 / 4, 0.5 / 8, 0.5 / 16, 0.5 / 32]))


@pytest.mark.slow
def test_orders_schrodinger_n100(dl):
    _check(_orders(dl, 100, 1.0, [1 / 8, 1 / 16, 1 / 32, 1 / 64]))


@pytest.mark.parametrize("method,kw", [("ksl", {}), ("ksl2", {}), ("ra_bug", {"tol": 1e-8})])
def test_norm_conserved(method, kw):
    # skew-Hermitian F with unitary (expm) sub-steps: KSL conserves ||Y||, RA-BUG up to the
    # truncation (steps * tol^2 / 2 ~ 1e-16 here)
    tp = schrodinger_problem(40, 5)
    res = integrate(tp.problem, tp.Y0, (0.0, 0.5), 0.05, method=method, **kw)
    norms = np.array(res.history["norm"])
    assert np.max(np.abs(norms - 1.0)) < 1e-12
    # and the state is not trivially constant
    assert np.linalg.norm(res.S) > 0 and res.nit == 10


@pytest.mark.parametrize("method", ["bug", "parallel_bug"])
def test_norm_drifts_first_order(method):
    # fixed-rank BUG and parallel BUG do not conserve the norm: the drift is O(h)
    tp = schrodinger_problem(40, 5)
    drift = []
    for h in (0.1, 0.05, 0.025):
        res = integrate(tp.problem, tp.Y0, (0.0, 0.5), h, method=method)
        drift.append(abs(res.history["norm"][-1] - 1.0))
    assert drift[0] > 1e-7
    assert 1.4 < drift[0] / drift[1] < 3.0 and 1.4 < drift[1] / drift[2] < 3.0
