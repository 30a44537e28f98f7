import numpy as np
import pytest
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st

from lowrank_la._testing import assert_same_backend, to_numpy
from lowrank_la.linalg import (
    orthonormalize,
    qr,
    randomized_range_finder,
    randomized_svd,
    select_rank,
    truncated_svd,
)


def _tol(dtype):
    return 1e-4 if dtype == np.float32 else 1e-11


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_qr_properties(bc, rng, dtype):
    A0 = rng.standard_normal((9, 4)).astype(dtype)
    A = bc.asarray(A0)
    Q, R = qr(A)
    assert_same_backend(Q, A)
    Qn, Rn = to_numpy(Q), to_numpy(R)
    np.testing.assert_allclose(Qn.T @ Qn, np.eye(4), atol=_tol(dtype))
    np.testing.assert_allclose(Qn @ Rn, A0, atol=_tol(dtype) * 10)
    assert np.all(np.diag(Rn) >= 0) and np.allclose(np.tril(Rn, -1), 0)
    # deterministic: equal to NumPy's QR after the same sign convention
    Qr, Rr = np.linalg.qr(A0.astype(np.float64))
    sg = np.sign(np.diag(Rr))
    np.testing.assert_allclose(Qn, Qr * sg, atol=_tol(dtype) * 10)
    np.testing.assert_array_equal(to_numpy(A), A0)  # input untouched


@given(m=st.integers(1, 12), n=st.integers(1, 12), seed=st.integers(0, 2**31))
def test_orthonormalize_hypothesis(m, n, seed):
    if n > m:
        m, n = n, m
    A = np.random.default_rng(seed).standard_normal((m, n))
    Q = orthonormalize(A)
    np.testing.assert_allclose(Q.T @ Q, np.eye(n), atol=1e-10)
    # range(A) is contained in range(Q)
    np.testing.assert_allclose(Q @ (Q.T @ A), A, atol=1e-9 * max(1, np.abs(A).max()))


def test_orthonormalize_wide_rejected():
    with pytest.raises(ValueError, match="at least as many rows"):
        orthonormalize(np.ones((2, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_truncated_svd_is_best_approximation(bc, rng, dtype):
    A0 = (rng.standard_normal((12, 8)) * np.logspace(0, -3, 8)).astype(dtype)
    U, s, Vh = truncated_svd(bc.asarray(A0), 3)
    assert_same_backend(s, bc.asarray(A0))
    s_all = np.linalg.svd(A0.astype(np.float64), compute_uv=False)
    err = np.linalg.norm(A0 - to_numpy(U) * to_numpy(s) @ to_numpy(Vh))
    # Eckart-Young: the error equals the norm of the discarded singular values
    np.testing.assert_allclose(err, np.sqrt(np.sum(s_all[3:] ** 2)), rtol=1e-3)


@given(s=st.lists(st.floats(1e-6, 1e3), min_size=1, max_size=8), energy=st.floats(0.05, 1.0))
def test_select_rank_energy_property(s, energy):
    s = np.sort(np.array(s))[::-1]
    k = select_rank(s, energy=energy)
    total = np.sum(s**2)
    assert np.sum(s[:k] ** 2) >= energy * total * (1 - 1e-9)
    if k > 1:  # minimal
        assert np.sum(s[: k - 1] ** 2) < energy * total


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_randomized_svd_matches_exact(bc, rng, dtype):
    m, n, k = 60, 40, 5
    sv = np.concatenate([np.linspace(10, 5, k), 1e-3 * np.ones(n - k)])
    Uq = np.linalg.qr(rng.standard_normal((m, n)))[0]
    Vq = np.linalg.qr(rng.standard_normal((n, n)))[0]
    A0 = ((Uq * sv) @ Vq.T).astype(dtype)
    U, s, Vh = randomized_svd(bc.asarray(A0), k, rng=0)
    assert_same_backend(U, bc.asarray(A0))
    np.testing.assert_allclose(to_numpy(s), sv[:k], rtol=1e-4 if dtype == np.float32 else 1e-8)
    Un = to_numpy(U)
    np.testing.assert_allclose(Un.T @ Un, np.eye(k), atol=1e-5 if dtype == np.float32 else 1e-10)
    # same seed => same result on every backend (host-drawn test matrix)
    U_ref, s_ref, _ = randomized_svd(A0, k, rng=0)
    np.testing.assert_allclose(to_numpy(U), U_ref, atol=1e-3 if dtype == np.float32 else 1e-8)


def test_randomized_svd_sparse_is_not_densified(rng, monkeypatch):
    # sparse with a decaying spectrum: scaled diagonal stacked on small sparse noise
    A = scipy.sparse.vstack([
        scipy.sparse.diags(10 * 0.8 ** np.arange(200)),
        0.01 * scipy.sparse.random(100, 200, density=0.05, random_state=1),
    ]).tocsr()
    ref = scipy.sparse.linalg.svds(A.astype(np.float64), k=4, return_singular_vectors=False)

    def boom(*a, **k):
        raise AssertionError("densified")

    monkeypatch.setattr(type(A), "toarray", boom)
    monkeypatch.setattr(type(A), "todense", boom)
    U, s, Vh = randomized_svd(A, 4, n_power_iter=6, rng=1)
    np.testing.assert_allclose(s, np.sort(ref)[::-1], rtol=1e-8)


def test_randomized_svd_linear_operator(rng):
    A0 = rng.standard_normal((50, 6)) @ rng.standard_normal((6, 30))
    op = scipy.sparse.linalg.aslinearoperator(A0)
    U, s, Vh = randomized_svd(op, 6, rng=0)
    np.testing.assert_allclose((U * s) @ Vh, A0, atol=1e-9)


def test_range_finder_captures_range(rng):
    A = rng.standard_normal((40, 3)) @ rng.standard_normal((3, 25))
    Q = randomized_range_finder(A, 4, n_power_iter=0, rng=2)
    np.testing.assert_allclose(Q @ (Q.T @ A), A, atol=1e-9)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"rank": 0}, ValueError, "`rank` must be a positive integer, got 0"),
        ({"rank": 11}, ValueError, "at most 10"),
        ({"rank": 2.5}, TypeError, "`rank`"),
        ({"rank": 2, "oversample": -1}, ValueError, "`oversample` must be >= 0"),
        ({"rank": 2, "n_power_iter": -1}, ValueError, "`n_power_iter` must be >= 0"),
        ({"rank": 2, "rng": "x"}, TypeError, "`rng`"),
    ],
)
def test_randomized_svd_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        randomized_svd(np.ones((10, 12)), **kwargs)


def test_bad_matrices_rejected():
    A = np.ones((4, 3))
    A[1, 1] = np.nan
    for fn in (qr, truncated_svd, lambda a: randomized_svd(a, 1)):
        with pytest.raises(ValueError, match="NaN or inf"):
            fn(A)
        with pytest.raises(ValueError, match="2-d"):
            fn(np.ones(3))
    with pytest.raises(TypeError, match="sparse matrix or a linear operator"):
        randomized_svd("matrix", 1)


def test_qr_complex_phase_convention(rng):
    A = rng.standard_normal((6, 3)) + 1j * rng.standard_normal((6, 3))
    Q, R = qr(A)
    np.testing.assert_allclose(Q @ R, A, atol=1e-12)
    np.testing.assert_allclose(Q.conj().T @ Q, np.eye(3), atol=1e-12)
    d = np.diag(R)
    assert np.all(np.abs(d.imag) < 1e-12) and np.all(d.real >= 0)
    # unique: equal to NumPy's QR after the same phase normalization
    Qn, Rn = np.linalg.qr(A)
    ph = np.diag(Rn) / np.abs(np.diag(Rn))
    np.testing.assert_allclose(Q, Qn * ph, atol=1e-12)


def test_qr_rejects_integer_input():
    with pytest.raises(TypeError, match="real or complex floating"):
        qr(np.ones((3, 2), dtype=int))
