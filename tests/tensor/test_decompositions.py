import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowrank_la import ConvergenceWarning
from lowrank_la._testing import assert_close, assert_same_backend, to_numpy
from lowrank_la.tensor import (
    TuckerTensor,
    hooi,
    hosvd,
    lowrank_tensor,
    st_hosvd,
    tucker_size,
    uneven_tensor,
)

DECOMPS = [hosvd, st_hosvd, lambda X, r, **kw: hooi(X, r, **kw).tucker]


def _dense_err(X, T):
    D = to_numpy(T.to_dense())
    return np.linalg.norm(X - D) / np.linalg.norm(X)


@pytest.mark.parametrize("dims", [(8, 7, 6), (40, 3, 4)], ids=["wide", "tall"])
def test_hosvd_matches_dense_svd_reference(bc, rng, ref, dims):
    # "tall": the mode-0 unfolding (40 x 12) goes through the thin-SVD branch
    X0 = uneven_tensor(dims, (1.0, 2.0, 3.0), noise=0.05, rng=rng)
    ranks = (3, 2, 2)
    T = hosvd(bc.asarray(X0), ranks)
    assert_same_backend(T.core, bc.asarray(X0))
    G_ref, U_ref = ref.svd_hosvd(X0, ranks)
    for U, Ur in zip(T.factors, U_ref):
        # the subspaces agree (signs are a convention)
        assert_close(ref.projector(to_numpy(U)), ref.projector(Ur), atol=1e-10)
        assert_close(to_numpy(U).T @ to_numpy(U), np.eye(U.shape[1]), atol=1e-12)
    assert_close(T.to_dense(), ref.einsum_expand(G_ref, U_ref), atol=1e-10)
    # the core is the projection of X
    assert_close(T.core, ref.einsum_project(X0, [to_numpy(U) for U in T.factors]), atol=1e-12)


def test_st_hosvd_matches_sequential_reference(bc, rng, ref):
    X0 = uneven_tensor((8, 7, 6), (1.0, 2.0, 3.0), noise=0.05, rng=rng)
    ranks, order = (3, 4, 2), (2, 0, 1)
    T = st_hosvd(bc.asarray(X0), ranks, order=order)
    Y, Us = X0, [None] * 3
    for n in order:  # reference: SVD of the current core's unfolding, truncate at once
        Us[n] = np.linalg.svd(ref.np_unfold(Y, n), full_matrices=False)[0][:, : ranks[n]]
        assert_close(ref.projector(to_numpy(T.factors[n])), ref.projector(Us[n]), atol=1e-10)
        Y = np.moveaxis(np.tensordot(Us[n].T, Y, axes=(1, n)), 0, n)
    assert_close(T.to_dense(), ref.einsum_expand(Y, Us), atol=1e-10)
    assert T.relative_error(bc.asarray(X0)) == pytest.approx(_dense_err(X0, T), rel=1e-10)


def test_hooi_matches_dense_reference(rng, ref):
    # reference HOOI with full SVDs and einsum, same start and number of sweeps
    X = uneven_tensor((9, 8, 7), (1.5, 2.0, 3.0), noise=0.05, rng=rng)
    ranks = (3, 3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = hooi(X, ranks, init="hosvd", maxiter=10, tol=0.0)
    _, U = ref.svd_hosvd(X, ranks)
    order = [0, 1, 2]  # equal reductions: our sweep order is the natural one
    for _ in range(10):
        for n in order:
            others = [np.eye(d) if m == n else U[m] for m, d in enumerate(X.shape)]
            Y = ref.einsum_project(X, others)
            U[n] = np.linalg.svd(ref.np_unfold(Y, n), full_matrices=False)[0][:, : ranks[n]]
    for Ut, Ur in zip(res.tucker.factors, U):
        assert_close(ref.projector(Ut), ref.projector(Ur), atol=1e-8)
    assert res.error == pytest.approx(_dense_err(X, res.tucker), rel=1e-9)


@pytest.mark.parametrize("decomp", DECOMPS, ids=["hosvd", "st_hosvd", "hooi"])
def test_exact_recovery_of_exact_multilinear_rank(bc, decomp):
    X0 = lowrank_tensor((12, 10, 8), (3, 4, 2), rng=1)
    X = bc.asarray(X0)
    T = decomp(X, (3, 4, 2))
    assert T.rank == (3, 4, 2)
    # formed difference, not ||X||^2 - ||G||^2 (which cancels at this level)
    assert _dense_err(X0, T) < 1e-13
    assert T.relative_error(X) < 1e-13


@pytest.mark.parametrize("decomp", DECOMPS, ids=["hosvd", "st_hosvd", "hooi"])
def test_float32_in_float32_out(bc, decomp):
    X0 = uneven_tensor((8, 7, 6), (1.0, 2.0, 3.0), noise=0.01, rng=2)
    X = bc.asarray(X0.astype(np.float32))
    T = decomp(X, (3, 3, 3))
    assert_same_backend(T.core, X)
    for U in T.factors:
        assert_same_backend(U, X)
    ref64 = decomp(X0, (3, 3, 3))
    assert T.relative_error(X) == pytest.approx(ref64.relative_error(X0), rel=1e-4)


def test_factors_have_requested_columns_when_unfolding_is_short():
    # (2, 1, 1) on a rank-1 tensor: the mode-0 unfolding of the truncated core has one column
    X = lowrank_tensor((5, 4, 3), (1, 1, 1), rng=0)
    for T in (hosvd(X, (2, 1, 1)), st_hosvd(X, (2, 1, 1), order=(1, 2, 0)),
              hooi(X, (2, 1, 1)).tucker,
              st_hosvd(X, (2, 1, 1), order=(1, 2, 0), randomized=True, rng=0)):
        U = to_numpy(T.factors[0])
        assert U.shape == (5, 2)
        np.testing.assert_allclose(U.T @ U, np.eye(2), atol=1e-12)
        assert T.relative_error(X) < 1e-13


def test_hooi_monotone_and_improves_on_start(rng):
    X = uneven_tensor((15, 14, 13), (2.0, 3.0, 4.0), noise=0.1, rng=rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = hooi(X, (3, 4, 5), init="hosvd", tol=0.0, maxiter=15)
    errs = np.asarray(res.history["error"])
    assert np.all(np.diff(errs) <= 1e-13)
    assert errs[-1] <= hosvd(X, (3, 4, 5)).relative_error(X) + 1e-14
    assert res.error == pytest.approx(res.tucker.relative_error(X), rel=1e-9)


def test_hooi_result_fields_warm_start_and_warning(rng):
    X = uneven_tensor((12, 11, 10), (2.0, 3.0, 4.0), noise=0.1, rng=rng)
    with pytest.warns(ConvergenceWarning, match="maxiter=1"):
        first = hooi(X, (3, 3, 3), tol=0.0, maxiter=1)
    assert not first.success and first.status == 1 and first.nit == 1
    assert len(first.history) == 2 and "time" in first.history
    warm = hooi(X, init=first.tucker, tol=1e-10, maxiter=200)
    assert warm.success and warm.status == 0
    assert warm.history["error"][0] == pytest.approx(first.error, rel=1e-10)
    assert warm.error <= first.error + 1e-14

    seen = []

    def cb(state):
        seen.append(state.error)
        raise StopIteration

    stopped = hooi(X, (3, 3, 3), callback=cb)
    assert stopped.status == 2 and stopped.nit == 1 and seen == [stopped.error]


def test_rtol_guarantee_and_budget(bc, rng):
    X0 = uneven_tensor((14, 12, 10), (1.0, 3.0, 6.0), noise=0.01, rng=rng)
    X = bc.asarray(X0)
    for decomp in (hosvd, st_hosvd):
        T = decomp(X, rtol=0.05)
        assert _dense_err(X0, T) <= 0.05
        assert T.rank[0] < T.rank[2]
    for decomp in (hosvd, st_hosvd, lambda X, **kw: hooi(X, **kw).tucker):
        T = decomp(X, budget=400)
        assert T.size <= 400
    res = hooi(X, budget=400)
    assert res.tucker.rank == hosvd(X, budget=400).rank


def test_randomized_variants_close_to_deterministic(bc):
    X0 = uneven_tensor((30, 25, 20), (2.0, 4.0, 8.0), noise=0.01, rng=3)
    X = bc.asarray(X0)
    ranks = (5, 8, 12)
    exact = st_hosvd(X0, ranks).relative_error(X0)
    for decomp in (hosvd, st_hosvd):
        T = decomp(X, ranks, randomized=True, rng=0, n_power_iter=2)
        assert_same_backend(T.core, X)
        assert T.relative_error(X) <= 1.02 * exact
        again = decomp(X, ranks, randomized=True, rng=0, n_power_iter=2)
        assert_close(again.core, T.core, rtol=0)


@given(dims=st.lists(st.integers(2, 6), min_size=3, max_size=4),
       data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_error_bound_holds(dims, data, seed, ref):
    X = np.random.default_rng(seed).standard_normal(dims)
    ranks = tuple(data.draw(st.integers(1, d)) for d in dims)
    tails = ref.tails(X)
    bound = sum(t[r] for t, r in zip(tails, ranks))
    lower = max(t[r] for t, r in zip(tails, ranks))
    nx2 = np.linalg.norm(X) ** 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        found = [hosvd(X, ranks), st_hosvd(X, ranks), hooi(X, ranks, maxiter=3).tucker]
    for T in found:
        err2 = _dense_err(X, T) ** 2 * nx2
        assert err2 <= bound * (1 + 1e-10) + 1e-12
        # no rank-(r_n) approximation beats the best single-mode truncation
        assert err2 >= lower * (1 - 1e-10) - 1e-12


def test_inputs_not_modified(rng):
    X = uneven_tensor((8, 7, 6), (1.0, 2.0, 3.0), noise=0.05, rng=rng)
    X0 = X.copy()
    hosvd(X, (2, 2, 2))
    st_hosvd(X, rtol=0.1)
    start = hosvd(X, (2, 2, 2))
    factors0 = [U.copy() for U in start.factors]
    hooi(X, init=start)
    np.testing.assert_array_equal(X, X0)
    for U, U0 in zip(start.factors, factors0):
        np.testing.assert_array_equal(U, U0)


def test_bad_input():
    X = np.ones((4, 3, 2))
    with pytest.raises(ValueError, match="order >= 2"):
        hosvd(np.ones(5), 1)
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        st_hosvd(bad, 1)
    with pytest.raises(ValueError, match=r"rank\[1\]` must be <= the mode size 3"):
        hosvd(X, (2, 4, 1))
    with pytest.raises(ValueError, match="exactly one of"):
        hosvd(X, (1, 1, 1), rtol=0.1)
    with pytest.raises(ValueError, match="exactly one of"):
        hooi(X)
    with pytest.raises(ValueError, match="budget"):
        hosvd(X, budget=tucker_size(X.shape, (1, 1, 1)) - 1)
    with pytest.raises(ValueError, match="rtol"):
        st_hosvd(X, rtol=1.5)
    with pytest.raises(ValueError, match="randomized=True"):
        hosvd(X, rtol=0.1, randomized=True)
    with pytest.raises(ValueError, match="order"):
        st_hosvd(X, 1, order=(0, 0, 1))
    with pytest.raises(ValueError, match="warm start's ranks"):
        hooi(X, (2, 2, 2), init=TuckerTensor(np.ones((1, 1, 1)), [np.ones((d, 1)) for d in X.shape]))
    with pytest.raises(ValueError, match="init"):
        hooi(X, 1, init="random")
    with pytest.raises(ValueError, match="zero"):
        hooi(np.zeros((3, 3, 3)), 1)
