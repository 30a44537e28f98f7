import numpy as np
import pytest
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st

from lowrank_la._testing import assert_same_backend, to_numpy
from lowrank_la.sampling import leverage_scores, ridge_leverage_scores, root_leverage_scores

from ._problems import basis_leverage, heavy_rows, ill_conditioned


@pytest.mark.parametrize("method", ["exact", "qr", "gram", "cholqr"])
def test_exact_leverage_all_backends(bc, method):
    A0 = ill_conditioned(heavy_rows(400, 6, scale=30.0), cond=1e3)
    t_ref, r = basis_leverage(A0)
    A = bc.asarray(A0)
    t = leverage_scores(A, method=method, rng=0)
    assert_same_backend(t, A)
    rtol = 1e-6 if method == "gram" else 1e-10  # Gram squares cond (1e3 -> 1e6)
    np.testing.assert_allclose(to_numpy(t), t_ref, rtol=rtol, atol=1e-13)
    assert float(to_numpy(t).sum()) == pytest.approx(r, rel=1e-10)


def test_float32_in_float32_out(bc):
    A0 = heavy_rows(300, 5, scale=10.0)
    A = bc.asarray(A0, dtype=np.float32)
    t_ref, _ = basis_leverage(A0)
    for method in ("exact", "cholqr", "sketch"):
        t = leverage_scores(A, method=method, rng=0)
        assert_same_backend(t, A)
        if method != "sketch":
            np.testing.assert_allclose(to_numpy(t), t_ref, rtol=2e-4, atol=1e-6)


@pytest.mark.parametrize("method", ["exact", "gram", "cholqr", "sketch"])
def test_sparse_input_matches_dense(rng, method):
    A0 = scipy.sparse.random(3000, 12, density=0.05, random_state=3, format="csr").toarray()
    A0[:, 0] += 1.0  # no empty rows in column 0 alone: keeps full rank
    t_ref, r = basis_leverage(A0)
    t = leverage_scores(scipy.sparse.csr_array(A0), method=method, rng=0)
    assert isinstance(t, np.ndarray) and t.shape == (3000,)
    if method == "sketch":
        assert np.sum(np.abs(t - t_ref)) / np.sum(t_ref) < 0.5
    else:
        np.testing.assert_allclose(t, t_ref, rtol=1e-8, atol=1e-13)


def test_rank_deficient_gives_scores_of_column_space(rng):
    B = rng.standard_normal((500, 4))
    A0 = B @ rng.standard_normal((4, 10))  # rank 4, 10 columns
    t_ref, r = basis_leverage(A0)
    assert r == 4
    for method in ("qr", "gram", "cholqr"):
        t = leverage_scores(A0, method=method, rng=0)
        assert t.sum() == pytest.approx(4.0, rel=1e-6)
        np.testing.assert_allclose(t, t_ref, rtol=1e-6, atol=1e-10)
    t = leverage_scores(scipy.sparse.csr_array(A0), rng=0)
    assert t.sum() == pytest.approx(4.0, rel=1e-8)


def test_invariant_under_right_multiplication(rng):
    A0 = heavy_rows(600, 8)
    t1 = leverage_scores(A0)
    t2 = leverage_scores(ill_conditioned(A0, cond=1e4, seed=5))
    np.testing.assert_allclose(t1, t2, rtol=1e-8, atol=1e-12)
    # row norms are told apart: they are not the leverage of an ill-conditioned A R
    AR = ill_conditioned(A0, cond=1e3)
    norms = np.sum(AR**2, axis=1) / np.sum(AR**2) * 8
    assert np.max(np.abs(norms - t1)) > 0.1


@pytest.mark.parametrize("kind", ["countsketch", "srht", "gaussian"])
def test_sketched_within_stated_factors(kind):
    A0 = ill_conditioned(heavy_rows(20000, 20), cond=1e3)
    t, _ = basis_leverage(A0)
    # no JL projection (jl_dim >= rank): rows of A R^{-1} exactly, error from the sketch only
    t_fast = leverage_scores(A0, method="sketch", sketch_kind=kind, rng=0)
    assert np.sum(np.abs(t_fast - t)) / np.sum(t) < 0.15
    ratio = t_fast / t
    assert 0.5 < ratio.min() and ratio.max() < 2.0
    # with the DMMW JL projection (k = 30 columns): the chi-square spread, sum error ~ 0.2
    t_jl = leverage_scores(A0, method="sketch", sketch_kind=kind, jl_dim=30, rng=0)
    assert np.sum(np.abs(t_jl - t)) / np.sum(t) < 0.5
    assert np.median(np.abs(t_jl / t - 1)) < 0.4


def test_sketch_deterministic_given_seed():
    A0 = heavy_rows(2000, 5)
    a = leverage_scores(A0, method="sketch", jl_dim=3, rng=7)
    b = leverage_scores(A0, method="sketch", jl_dim=3, rng=7)
    np.testing.assert_array_equal(a, b)


def test_ridge_leverage_matches_formula(bc, rng):
    A0 = ill_conditioned(rng.standard_normal((300, 6)), cond=100)
    lam = 3.0
    ref = np.einsum("ij,ji->i", A0, np.linalg.solve(A0.T @ A0 + lam * np.eye(6), A0.T))
    A = bc.asarray(A0)
    t = ridge_leverage_scores(A, lam)
    assert_same_backend(t, A)
    np.testing.assert_allclose(to_numpy(t), ref, rtol=1e-10)
    s = np.linalg.svd(A0, compute_uv=False)
    assert float(to_numpy(t).sum()) == pytest.approx(np.sum(s**2 / (s**2 + lam)), rel=1e-10)
    ts = ridge_leverage_scores(scipy.sparse.csr_array(A0), lam, rng=0)
    np.testing.assert_allclose(ts, ref, rtol=1e-9)
    np.testing.assert_allclose(ridge_leverage_scores(A0, 0.0), leverage_scores(A0), rtol=1e-10)


def test_root_leverage(bc):
    A0 = heavy_rows(200, 4, scale=10.0)
    t, _ = basis_leverage(A0)
    A = bc.asarray(A0)
    np.testing.assert_allclose(to_numpy(root_leverage_scores(A, 1.0)), np.sqrt(t), rtol=1e-10)
    np.testing.assert_allclose(to_numpy(root_leverage_scores(A, 1.5)), t**0.75, rtol=1e-10)
    with pytest.raises(ValueError, match="`p`"):
        root_leverage_scores(A, 3.0)


def test_equal_rows_in_a_coordinate():
    # k equal rows alone in a coordinate: leverage 1/k each
    A = np.zeros((7, 2))
    A[:3, 0] = 2.0
    A[3:, 1] = -1.0
    np.testing.assert_allclose(leverage_scores(A), [1 / 3] * 3 + [1 / 4] * 4, rtol=1e-12)


def test_bad_input_and_no_modification(rng):
    A0 = rng.standard_normal((50, 3))
    A = A0.copy()
    leverage_scores(A, method="sketch", rng=0)
    ridge_leverage_scores(A, 1.0)
    np.testing.assert_array_equal(A, A0)
    bad = A0.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="`A`.*NaN"):
        leverage_scores(bad)
    sp = scipy.sparse.csr_array(bad)
    with pytest.raises(ValueError, match="`A`.*NaN"):
        leverage_scores(sp)
    with pytest.raises(ValueError, match="`method`"):
        leverage_scores(A0, method="fast")
    with pytest.raises(ValueError, match="`method`='qr' needs a dense"):
        leverage_scores(scipy.sparse.csr_array(A0), method="qr")
    with pytest.raises(ValueError, match="`lam`"):
        ridge_leverage_scores(A0, -1.0)
    with pytest.raises(ValueError, match="`A` must be a 2-d"):
        leverage_scores(np.ones(4))
    with pytest.raises(TypeError, match="`A`"):
        leverage_scores([[1.0, 2.0]])
    with pytest.raises(ValueError, match="`sketch_kind`"):
        leverage_scores(A0, method="sketch", sketch_kind="fft")


@given(n=st.integers(3, 40), d=st.integers(1, 6), r=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_sum_is_rank_property(n, d, r, seed):
    rng = np.random.default_rng(seed)
    r = min(r, d, n)
    A = rng.standard_normal((n, r)) @ rng.standard_normal((r, d))
    t = leverage_scores(A)
    assert t.sum() == pytest.approx(np.linalg.matrix_rank(A), abs=1e-8)
    assert np.all(t <= 1 + 1e-10) and np.all(t >= -1e-12)


@pytest.mark.parametrize("sparse", [False, True])
def test_blockwise_host_products_match(monkeypatch, sparse):
    import lowrank_la.sampling._factor as factor_mod

    A0 = heavy_rows(1000, 5, scale=20.0)
    A = scipy.sparse.csr_array(A0) if sparse else A0
    ref = {m: leverage_scores(A, method=m, rng=0) for m in ("gram", "cholqr", "sketch")}
    monkeypatch.setattr(factor_mod, "_BLOCK", 64)  # 16 blocks, the last one partial
    for m, t in ref.items():
        np.testing.assert_allclose(leverage_scores(A, method=m, rng=0), t, rtol=1e-12)
