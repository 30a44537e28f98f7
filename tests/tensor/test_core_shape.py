import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowrank_la import ConvergenceWarning
from lowrank_la.tensor import (
    SHAPE_METHODS,
    hooi,
    lowrank_tensor,
    select_core_shape,
    smooth_tensor,
    tucker_size,
    uneven_tensor,
)
from lowrank_la.tensor._selection import _clip_valid, _is_valid, _size_grid

SMALL = (12, 10, 8)
BUDGETS = list(range(100, 601, 50))


def _small_tensors():
    rng = np.random.default_rng(7)
    return {
        "uneven": uneven_tensor(SMALL, (1.0, 3.0, 8.0), noise=0.01, rng=rng),
        "lowrank": lowrank_tensor(SMALL, (4, 6, 3), noise=0.1, rng=rng),
        "gaussian": rng.standard_normal(SMALL),
        "smooth": smooth_tensor(SMALL),
    }


TENSORS = _small_tensors()


def _err(X, shape):
    """True relative error of HOOI at ``shape`` (5 sweeps, as the selection's evaluator)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return hooi(X, shape, maxiter=5, tol=1e-10).tucker.relative_error(X)


def _bound_sq(X, shape, ref):
    return sum(t[r] for t, r in zip(ref.tails(X), shape))


def _brute_force_bound(X, budget, ref, valid=True):
    """Independent oracle: every shape, bounds from full SVDs."""
    tails = ref.tails(X)
    best = math.inf
    for r1 in range(1, X.shape[0] + 1):
        for r2 in range(1, X.shape[1] + 1):
            for r3 in range(1, X.shape[2] + 1):
                shape = (r1, r2, r3)
                if tucker_size(X.shape, shape) > budget:
                    continue
                if valid and (r1 > r2 * r3 or r2 > r1 * r3 or r3 > r1 * r2):
                    continue
                best = min(best, sum(t[r] for t, r in zip(tails, shape)))
    return best


@pytest.mark.parametrize("name", sorted(TENSORS))
def test_packing_within_guarantee_of_bound_optimum(name, ref):
    X = TENSORS[name]
    eps = 0.1
    for budget in BUDGETS:
        res = select_core_shape(X, budget, eps=eps)
        assert res.success and res.size <= budget and _is_valid(res.shape)
        b = _bound_sq(X, res.shape, ref)
        assert res.bound_sq == pytest.approx(b, rel=1e-8, abs=1e-10 * np.sum(X**2))
        # feasible, so never below the optimum at B; at most the optimum at B / (1 + eps)
        assert b >= _brute_force_bound(X, budget, ref) * (1 - 1e-9)
        assert b <= _brute_force_bound(X, budget / (1 + eps), ref) * (1 + 1e-9) + 1e-12


@pytest.mark.parametrize("name", sorted(TENSORS))
def test_packing_true_error_close_to_exhaustive(name):
    X = TENSORS[name]
    for budget in (100, 200, 350, 600):
        ex = select_core_shape(X, budget, method="exhaustive")
        pk = select_core_shape(X, budget)
        err = _err(X, pk.shape)
        assert ex.size <= budget
        assert err >= ex.error * (1 - 1e-9)
        assert err <= 1.25 * ex.error


def test_greedy_true_loss_close_to_exhaustive():
    X = TENSORS["uneven"]
    for budget in (150, 400):
        ex = select_core_shape(X, budget, method="exhaustive")
        gr = select_core_shape(X, budget, method="greedy")
        assert gr.size <= budget and gr.nit == len(gr.history) > 0
        assert ex.error <= gr.error <= 1.1 * ex.error


def test_exhaustive_bound_method_matches_brute_force(ref):
    X = TENSORS["gaussian"]
    for budget in (150, 400):
        res = select_core_shape(X, budget, method="exhaustive-bound")
        assert res.bound_sq == pytest.approx(_brute_force_bound(X, budget, ref), rel=1e-9)
        plain = select_core_shape(X, budget, method="exhaustive-bound", valid=False)
        assert plain.bound_sq == pytest.approx(
            _brute_force_bound(X, budget, ref, valid=False), rel=1e-9)


@pytest.mark.parametrize("noise", [0.0, 1e-3])
def test_known_multilinear_rank_recovered(noise):
    true = (3, 5, 2)
    X = lowrank_tensor((14, 12, 10), true, noise=noise, rng=3)
    budget = tucker_size(X.shape, true)
    for method in ("packing", "greedy-bound", "exhaustive-bound"):
        assert select_core_shape(X, budget, method=method).shape == true
    # with a larger budget the chosen shape still captures all of the signal
    res = select_core_shape(X, 2 * budget)
    assert all(r >= t for r, t in zip(res.shape, true))
    assert _err(X, res.shape) <= 1.001 * noise + 1e-12


def test_packing_beats_uniform_on_uneven_decay():
    X = uneven_tensor((40, 40, 40), (2.0, 6.0, 20.0), noise=0.01, rng=0)
    # 40^3 is small: at 1% of its entries (640) no shape has room; 100^3 is the benchmark's
    for frac in (0.02, 0.05):
        budget = int(frac * X.size)
        pk = select_core_shape(X, budget)
        un = select_core_shape(X, budget, method="uniform")
        assert un.shape[0] == un.shape[1] == un.shape[2]
        e_pk = _err(X, pk.shape)
        e_un = _err(X, un.shape)
        assert e_pk <= 0.75 * e_un


def test_formulations_agree_and_solver_info():
    X = TENSORS["smooth"]
    for budget in (200, 500):
        one = select_core_shape(X, budget)
        loop = select_core_shape(X, budget, formulation="per-guess", eps=0.1)
        assert loop.bound_sq == pytest.approx(one.bound_sq, rel=1e-9)
        assert one.nit == 1 and loop.nit == loop.solver["grid_size"]
        assert one.solver["incumbent_bound"] >= one.bound_sq


def test_all_methods_fit_and_uniform_is_equal_ranks():
    X = TENSORS["uneven"]
    for method in SHAPE_METHODS:
        res = select_core_shape(X, 300, method=method)
        assert res.size <= 300 and res.method == method and res.time >= 0
        assert _is_valid(res.shape)
        assert (res.error is None) == (method not in ("greedy", "exhaustive"))
    assert select_core_shape(X, 300, method="uniform").shape == (5, 5, 5)


def test_selection_on_backends(bc):
    X = TENSORS["uneven"]
    want = select_core_shape(X, 300)
    got = select_core_shape(bc.asarray(X), 300)
    assert got.shape == want.shape
    assert got.bound == pytest.approx(want.bound, rel=1e-8)


def test_valid_rows_matter():
    # a tensor whose mode-0 spectrum is rich and the others poor: without the rows the bound
    # problem buys a degenerate shape r_0 > r_1 r_2 at a small budget
    rng = np.random.default_rng(0)
    X = uneven_tensor((20, 6, 6), (50.0, 0.3, 0.3), noise=0.0, rng=rng)
    budget = 70
    plain = select_core_shape(X, budget, valid=False)
    valid = select_core_shape(X, budget)
    assert not _is_valid(plain.shape)
    assert _is_valid(valid.shape)
    assert _clip_valid(plain.shape) != plain.shape


def test_size_grid_covers_every_core_size():
    for eps in (0.05, 0.1, 1.0):
        grid = np.asarray(_size_grid(3, 5000, eps))
        for p in range(3, 5001):
            cover = grid[np.searchsorted(grid, p)]
            assert p <= cover <= (1 + eps) * p


@given(dims=st.lists(st.integers(2, 7), min_size=3, max_size=3), seed=st.integers(0, 10**6),
       frac=st.floats(0.0, 1.0))
def test_packing_guarantee_property(dims, seed, frac, ref):
    X = np.random.default_rng(seed).standard_normal(dims) * np.exp(
        -np.arange(dims[0]))[:, None, None]
    lo, hi = tucker_size(dims, (1, 1, 1)), tucker_size(dims, dims)
    budget = int(lo + frac * (hi - lo))
    res = select_core_shape(X, budget, eps=0.2)
    assert res.size <= budget and _is_valid(res.shape)
    b = _bound_sq(X, res.shape, ref)
    assert b <= _brute_force_bound(X, budget / 1.2, ref) * (1 + 1e-9) + 1e-12


def test_input_not_modified_and_bad_input():
    X = TENSORS["uneven"].copy()
    X0 = X.copy()
    select_core_shape(X, 300)
    np.testing.assert_array_equal(X, X0)
    with pytest.raises(ValueError, match="budget"):
        select_core_shape(X, 1 + sum(X.shape) - 1)
    with pytest.raises(ValueError, match="order >= 2"):
        select_core_shape(np.ones(10), 100)
    bad = X.copy()
    bad[1, 2, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        select_core_shape(bad, 300)
    with pytest.raises(ValueError, match="method"):
        select_core_shape(X, 300, method="random")
    with pytest.raises(ValueError, match="eps"):
        select_core_shape(X, 300, eps=0.0)
    with pytest.raises(ValueError, match="max_shapes"):
        select_core_shape(np.ones((30, 30, 30)), 2000, method="exhaustive")
    with pytest.raises(TypeError, match="budget"):
        select_core_shape(X, 300.5)


def test_pruning_never_changes_the_bound():
    for name in ("uneven", "smooth", "gaussian"):
        X = TENSORS[name]
        for budget in (150, 450):
            pruned = select_core_shape(X, budget)
            plain = select_core_shape(X, budget, prune=False)
            assert pruned.bound_sq == pytest.approx(plain.bound_sq, rel=1e-9, abs=1e-300)
