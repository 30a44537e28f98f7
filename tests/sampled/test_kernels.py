"""Sampled-entry kernels: every implementation against dense NumPy and the generic oracle."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowrank_la import ConvergenceWarning
from lowrank_la._testing import assert_same_backend, to_numpy
from lowrank_la.sampled import (
    ObservedEntries,
    rowwise_cg,
    rowwise_gram,
    rowwise_lstsq,
    sampled_residual,
    sddmm,
    spmm,
    spmm_t,
)

from ._problems import entries, make_problem, ridge_reference

# the native CPU kernel (numba), the torch wrapper of it and the array-API oracle
IMPLS = ["numpy", "generic"]


def _tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_products_all_backends(bc, rng, dtype):
    mask, M, U, V = make_problem(rng, dtype=dtype)
    om = entries(mask, M, bc.asarray)
    Ub, Vb = bc.asarray(U), bc.asarray(V)
    D = (U.astype(float) @ V.T.astype(float))
    S = np.where(mask, M, 0).astype(float)
    out = sddmm(om, Ub, Vb)
    assert_same_backend(out, Ub)
    np.testing.assert_allclose(to_numpy(out), D[mask], **_tol(dtype))
    R, sq = sampled_residual(om, Ub, Vb)
    assert_same_backend(R, Ub)
    np.testing.assert_allclose(to_numpy(R), (D - M)[mask], **_tol(dtype))
    np.testing.assert_allclose(float(to_numpy(sq)), np.sum((D - M)[mask] ** 2), **_tol(dtype))
    SV = spmm(om, Vb)
    assert_same_backend(SV, Vb)
    np.testing.assert_allclose(to_numpy(SV), S @ V, **_tol(dtype))
    np.testing.assert_allclose(to_numpy(spmm_t(om, Ub)), S.T @ U, **_tol(dtype))
    # custom weights (the residual), in both orientations
    RS = np.where(mask, D - M, 0)
    np.testing.assert_allclose(to_numpy(spmm(om, Vb, R)), RS @ V, **_tol(dtype))
    np.testing.assert_allclose(to_numpy(spmm_t(om, Ub, R)), RS.T @ U, **_tol(dtype))
    np.testing.assert_array_equal(to_numpy(Ub), U)  # inputs untouched


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rowwise_all_backends(bc, rng, dtype):
    mask, M, U, V = make_problem(rng, m=8, n=12, k=3, density=0.6, dtype=dtype)
    om = entries(mask, M, bc.asarray)
    Vb = bc.asarray(V)
    lam = 0.3
    ref = ridge_reference(mask, M, V, lam)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    X = rowwise_lstsq(om, Vb, lam=lam)
    assert_same_backend(X, Vb)
    np.testing.assert_allclose(to_numpy(X), ref, **tol)
    G, b = rowwise_gram(om, Vb, lam=lam)
    Vd = V.astype(float)
    for i in (0, 2, 5):
        Vi = Vd[mask[i]]
        np.testing.assert_allclose(to_numpy(G)[i], Vi.T @ Vi + lam * np.eye(3), **tol)
        np.testing.assert_allclose(to_numpy(b)[i], Vi.T @ M[i, mask[i]], **tol)
    # CG in exact arithmetic finishes in k steps; ask for a tight tolerance with spare steps
    res = rowwise_cg(om, Vb, lam=lam, maxiter=20, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert res.success and res.nit <= 20
    np.testing.assert_allclose(to_numpy(res.X), ref, **tol)
    assert_same_backend(res.X, Vb)
    assert float(to_numpy(res.residual_norms)[2]) == 0.0 and to_numpy(res.steps)[2] == 0


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_impls_match_oracle(rng, impl, dtype):
    mask, M, U, V = make_problem(rng, m=30, n=20, k=5, density=0.3, dtype=dtype,
                                 empty_rows=(0, 29), empty_cols=(19,))
    om = entries(mask, M)
    tol = _tol(dtype)
    for fn, args in [(sddmm, (U, V)), (spmm, (V,)), (spmm_t, (U,))]:
        np.testing.assert_allclose(fn(om, *args, impl=impl), fn(om, *args, impl="generic"),
                                   **tol)
    R1, s1 = sampled_residual(om, U, V, impl=impl)
    R2, s2 = sampled_residual(om, U, V, impl="generic")
    np.testing.assert_allclose(R1, R2, **tol)
    np.testing.assert_allclose(s1, s2, **tol)
    assert R1.dtype == dtype and s1.dtype == dtype
    X0 = rng.standard_normal((30, 5)).astype(dtype)
    a = rowwise_cg(om, V, X0, lam=0.1, maxiter=2, impl=impl)
    b = rowwise_cg(om, V, X0, lam=0.1, maxiter=2, impl="generic")
    ctol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.X, b.X, **ctol)
    np.testing.assert_allclose(a.residual_norms, b.residual_norms, **ctol)
    np.testing.assert_array_equal(a.steps, b.steps)
    assert a.X.dtype == dtype and a.nit == 2
    # ||b_i|| from the CG pass equals the row norms of the SpMM P_Ω(M) V computed separately
    for res in (a, b):
        np.testing.assert_allclose(res.rhs_norms, np.linalg.norm(spmm(om, V, impl="generic"),
                                                                 axis=1), **ctol)
    np.testing.assert_allclose(rowwise_lstsq(om, V, lam=0.1, impl=impl),
                               rowwise_lstsq(om, V, lam=0.1, impl="generic"), **ctol)


def test_cg_two_steps_matches_dense_cg(rng):
    """Two warm-started CG steps per row equal textbook CG on each row's dense system."""
    mask, M, U, V = make_problem(rng, m=6, n=15, k=4, density=0.7)
    om = entries(mask, M)
    X0 = rng.standard_normal((6, 4))
    res = rowwise_cg(om, V, X0, lam=0.2, maxiter=2)
    for i in range(6):
        if not mask[i].any():
            np.testing.assert_array_equal(res.X[i], 0)
            continue
        Vi = V[mask[i]]
        G, b = Vi.T @ Vi + 0.2 * np.eye(4), Vi.T @ M[i, mask[i]]
        x = X0[i].copy()
        r = b - G @ x
        p = r.copy()
        for _ in range(2):
            alpha = (r @ r) / (p @ G @ p)
            x += alpha * p
            r_new = r - alpha * (G @ p)
            p = r_new + (r_new @ r_new) / (r @ r) * p
            r = r_new
        np.testing.assert_allclose(res.X[i], x, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(res.residual_norms[i], np.linalg.norm(b - G @ x), rtol=1e-6)


def test_cg_warns_when_tolerance_not_met(rng):
    mask, M, U, V = make_problem(rng, m=5, n=30, k=6, density=0.9)
    om = entries(mask, M)
    with pytest.warns(ConvergenceWarning, match="did not reach rtol"):
        res = rowwise_cg(om, V, maxiter=1, rtol=1e-12)
    assert not res.success and res.status == 1


def test_lstsq_rank_deficient_row_raises(rng):
    om = ObservedEntries(np.array([0]), np.array([0]), np.array([1.0]), (1, 3))
    V = rng.standard_normal((3, 2))
    with pytest.raises(np.linalg.LinAlgError, match="row 0"):
        rowwise_lstsq(om, V)
    with pytest.raises(np.linalg.LinAlgError):
        rowwise_lstsq(om, V, impl="generic")
    x = rowwise_lstsq(om, V, lam=1.0)  # ridge makes it well posed
    v = V[0]
    np.testing.assert_allclose(x[0], np.linalg.solve(np.outer(v, v) + np.eye(2), v), rtol=1e-12)


@pytest.mark.parametrize("impl", IMPLS)
def test_single_entry_rank_one_noncontiguous(rng, impl):
    # single entry
    om = ObservedEntries(np.array([3]), np.array([1]), np.array([2.0]), (4, 2))
    U, V = rng.standard_normal((4, 1)), rng.standard_normal((2, 1))
    np.testing.assert_allclose(sddmm(om, U, V, impl=impl), [U[3, 0] * V[1, 0]], rtol=1e-14)
    np.testing.assert_allclose(spmm(om, V, impl=impl), [[0], [0], [0], [2 * V[1, 0]]],
                               rtol=1e-14)
    np.testing.assert_allclose(rowwise_lstsq(om, V, impl=impl)[3], [2 / V[1, 0]], rtol=1e-12)
    # non-contiguous (strided) rank-1 factors
    mask, M, _, _ = make_problem(rng, m=10, n=8, k=1)
    om = entries(mask, M)
    big_U = rng.standard_normal((20, 3))
    big_V = rng.standard_normal((8, 4))
    U, V = big_U[::2, 1:2], big_V[:, 2:3]
    assert not U.flags.c_contiguous and not V.flags.c_contiguous
    D = np.where(mask, U @ V.T, 0)
    np.testing.assert_allclose(sddmm(om, U, V, impl=impl), D[mask], rtol=1e-13)
    np.testing.assert_allclose(spmm(om, V, impl=impl), np.where(mask, M, 0) @ V, atol=1e-13)
    np.testing.assert_allclose(spmm_t(om, U, impl=impl), np.where(mask, M, 0).T @ U, atol=1e-13)
    w = rng.standard_normal(2 * om.nnz)[::2]
    np.testing.assert_allclose(spmm_t(om, U, w, impl=impl),
                               om.with_values(np.ascontiguousarray(w)).to_dense().T @ U,
                               atol=1e-13)


def test_mixed_precision_promotes_to_float64(rng):
    mask, M, U, V = make_problem(rng)
    om = entries(mask, M)
    out = sddmm(om, U.astype(np.float32), V)
    assert out.dtype == np.float64
    assert spmm(om.with_values(om.values.astype(np.float32)), V.astype(np.float32)).dtype \
        == np.float32
    assert sddmm(om, U.astype(np.int64), V.astype(np.int64)).dtype == np.float64


def test_torch_requires_grad_uses_differentiable_path(rng):
    import torch

    mask, M, U, V = make_problem(rng)
    om = entries(mask, M, lambda a: torch.from_numpy(np.asarray(a)))
    Ut = torch.from_numpy(U).requires_grad_(True)
    R, sq = sampled_residual(om, Ut, torch.from_numpy(V))
    sq.backward()
    # d/dU 0.5 * ||P(UV^T - M)||^2 * 2 = 2 P(UV^T - M) V
    np.testing.assert_allclose(Ut.grad.numpy(), 2 * np.where(mask, U @ V.T - M, 0) @ V,
                               rtol=1e-12, atol=1e-12)


def test_operator_randomized_svd(bc, rng):
    """randomized_svd sees an ObservedEntries as the sparse matrix, without densifying."""
    from lowrank_la.linalg import randomized_svd

    m, n, k = 40, 30, 3
    M = rng.standard_normal((m, k)) @ rng.standard_normal((k, n))
    mask = rng.random((m, n)) < 0.6
    om = entries(mask, M, bc.asarray)
    scaled = om.with_values(om.values / 0.6)
    U, s, Vh = randomized_svd(scaled, k, rng=0)
    assert_same_backend(U, om.values)
    ref = np.linalg.svd(np.where(mask, M, 0) / 0.6, compute_uv=False)[:k]
    np.testing.assert_allclose(to_numpy(s), ref, rtol=1e-6)


@given(st.data())
def test_hypothesis_index_sets(data):
    m = data.draw(st.integers(1, 8), label="m")
    n = data.draw(st.integers(1, 8), label="n")
    k = data.draw(st.integers(1, 4), label="k")
    flat = data.draw(st.sets(st.integers(0, m * n - 1), max_size=m * n), label="entries")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    rng = np.random.default_rng(seed)
    flat = np.array(sorted(flat), dtype=np.int64)
    mask = np.zeros(m * n, dtype=bool)
    mask[flat] = True
    mask = mask.reshape(m, n)
    M = rng.standard_normal((m, n))
    om = ObservedEntries(flat // n, flat % n, M[mask], (m, n))
    U, V = rng.standard_normal((m, k)), rng.standard_normal((n, k))
    S = np.where(mask, M, 0)
    for impl in IMPLS:
        np.testing.assert_allclose(sddmm(om, U, V, impl=impl), (U @ V.T)[mask], atol=1e-12)
        np.testing.assert_allclose(spmm(om, V, impl=impl), S @ V, atol=1e-12)
        np.testing.assert_allclose(spmm_t(om, U, impl=impl), S.T @ U, atol=1e-12)
        np.testing.assert_allclose(rowwise_lstsq(om, V, lam=0.5, impl=impl),
                                   ridge_reference(mask, M, V, 0.5), rtol=1e-9, atol=1e-10)


# -- bad input ------------------------------------------------------------------------------


def test_bad_inputs(rng):
    mask, M, U, V = make_problem(rng)
    om = entries(mask, M)
    with pytest.raises(TypeError, match="`omega` must be an ObservedEntries"):
        sddmm(np.eye(2), U, V)
    with pytest.raises(ValueError, match="`U` must have 9 rows"):
        sddmm(om, U[:5], V)
    with pytest.raises(ValueError, match="`U` has 3, `V` has 2"):
        sddmm(om, U, V[:, :2])
    with pytest.raises(ValueError, match="`V` must be a 2-d array"):
        spmm(om, V[:, 0])
    with pytest.raises(ValueError, match="`U` must not contain NaN"):
        sddmm(om, np.where(U > 1, np.nan, U), V)
    with pytest.raises(TypeError, match="`V` must have a numeric dtype"):
        spmm(om, V > 0)
    with pytest.raises(ValueError, match="`weights` must have shape"):
        spmm(om, V, np.ones(3))
    with pytest.raises(ValueError, match="`lam` must be non-negative"):
        rowwise_lstsq(om, V, lam=-1.0)
    with pytest.raises(TypeError, match="`maxiter` must be an integer"):
        rowwise_cg(om, V, maxiter=2.0)
    with pytest.raises(ValueError, match="`x0` must have shape"):
        rowwise_cg(om, V, np.zeros((9, 2)))
    bare = ObservedEntries(om.rows, om.cols, None, om.shape)
    with pytest.raises(ValueError, match="`weights` must be given"):
        spmm(bare, V)
    with pytest.raises(ValueError, match="must carry values"):
        rowwise_lstsq(bare, V)
    with pytest.raises(ValueError, match="must carry values"):
        sampled_residual(bare, U, V)
    import torch

    with pytest.raises(TypeError, match="`omega`, `U`"):
        sddmm(om, torch.from_numpy(U), V)
    with pytest.raises(ValueError, match="has no implementation `impl`='metal'"):
        sddmm(om, U, V, impl="metal")


@pytest.mark.parametrize("impl", IMPLS)
def test_empty_entry_set(impl):
    e = np.zeros(0, dtype=np.int64)
    om = ObservedEntries(e, e, np.zeros(0), (3, 2))
    U, V = np.ones((3, 2)), np.ones((2, 2))
    assert sddmm(om, U, V, impl=impl).shape == (0,)
    R, sq = sampled_residual(om, U, V, impl=impl)
    assert R.shape == (0,) and float(sq) == 0.0
    np.testing.assert_array_equal(spmm(om, V, impl=impl), np.zeros((3, 2)))
    np.testing.assert_array_equal(spmm_t(om, U, impl=impl), np.zeros((2, 2)))
    np.testing.assert_array_equal(rowwise_lstsq(om, V, impl=impl), np.zeros((3, 2)))
    res = rowwise_cg(om, V, np.ones((3, 2)), impl=impl)
    np.testing.assert_array_equal(res.X, np.zeros((3, 2)))
    assert res.nit == 0 and res.success


def test_registry_lists_native_kernels():
    from lowrank_la._backend import available_kernels, kernel_table

    table = kernel_table()
    for op in ("sddmm", "sddmm_residual", "spmm", "rowwise_gram", "rowwise_lstsq", "rowwise_cg"):
        assert set(table[op]) == {"generic", "numpy", "torch", "cupy"}
        avail = available_kernels(op)
        assert avail["generic"] and avail["numpy"] and avail["torch"]


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, lowrank_la, lowrank_la.sampled; "
            "print(any(m.split('.')[0] == 'numba' for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("impl", ["generic", "numpy"])
@pytest.mark.parametrize("op", ["rowwise_lstsq", "rowwise_cg", "rowwise_gram"])
def test_per_row_ridge_matches_dense(op, impl):
    """lam given per row (ALS-WR) equals solving each row's ridge problem densely."""
    import lowrank_la.sampled as S

    rng = np.random.default_rng(5)
    m, n, k = 7, 9, 3
    mask = rng.random((m, n)) < 0.6
    mask[2] = False  # an empty row
    rows, cols = np.nonzero(mask)
    vals = rng.standard_normal(rows.size)
    om = S.ObservedEntries(rows, cols, vals, (m, n))
    V = rng.standard_normal((n, k))
    lam = 0.3 * np.bincount(rows, minlength=m) + 0.01
    ref = np.zeros((m, k))
    for i in range(m):
        Vi = V[cols[rows == i]]
        G = Vi.T @ Vi + lam[i] * np.eye(k)
        if op == "rowwise_gram":
            ref_G = G
            continue
        ref[i] = np.linalg.solve(G, Vi.T @ vals[rows == i]) if Vi.shape[0] else 0.0
    if op == "rowwise_gram":
        G, b = S.rowwise_gram(om, V, lam=lam, impl=impl)
        np.testing.assert_allclose(G[m - 1], ref_G, rtol=1e-12)
        return
    if op == "rowwise_lstsq":
        X = S.rowwise_lstsq(om, V, lam=lam, impl=impl)
    else:
        X = S.rowwise_cg(om, V, lam=lam, maxiter=k, impl=impl).X
    np.testing.assert_allclose(X, ref, rtol=1e-8, atol=1e-10)


def test_per_row_ridge_bad_input():
    import lowrank_la.sampled as S

    om = S.ObservedEntries(np.array([0, 1]), np.array([0, 1]), np.array([1.0, 2.0]), (2, 2))
    V = np.ones((2, 1))
    with pytest.raises(ValueError, match="`lam` must be non-negative in every row"):
        S.rowwise_lstsq(om, V, lam=np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="`lam` must have shape"):
        S.rowwise_lstsq(om, V, lam=np.ones(3))


@pytest.mark.parametrize("impl", IMPLS)
def test_per_row_ridge(rng, impl):
    """An array `lam` (ALS-WR: reg * |Omega_i|) gives each row its own ridge parameter."""
    mask, M, U, V = make_problem(rng, m=8, n=10, k=3, density=0.6)
    om = entries(mask, M)
    lam = 0.1 * mask.sum(1) + 0.05
    ref = np.zeros((8, 3))
    for i in range(8):
        if mask[i].any():
            Vi = V[mask[i]]
            ref[i] = np.linalg.solve(Vi.T @ Vi + lam[i] * np.eye(3), Vi.T @ M[i, mask[i]])
    np.testing.assert_allclose(rowwise_lstsq(om, V, lam=lam, impl=impl), ref, rtol=1e-10,
                               atol=1e-12)
    res = rowwise_cg(om, V, lam=lam, maxiter=10, rtol=1e-13, impl=impl)
    np.testing.assert_allclose(res.X, ref, rtol=1e-9, atol=1e-11)
    G, _ = rowwise_gram(om, V, lam=lam, impl=impl)
    np.testing.assert_allclose(G[1] - (V[mask[1]].T @ V[mask[1]]), lam[1] * np.eye(3),
                               atol=1e-12)
    with pytest.raises(ValueError, match="`lam` must be non-negative in every row"):
        rowwise_lstsq(om, V, lam=-lam, impl=impl)
    with pytest.raises(ValueError, match="`lam` must have shape"):
        rowwise_lstsq(om, V, lam=lam[:3], impl=impl)
