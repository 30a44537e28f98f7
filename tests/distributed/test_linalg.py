"""Randomized SVD and range finder on dask arrays against NumPy on the gathered matrix."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="dask not installed (pip install '.[dask]')")
pytest.importorskip("distributed", reason="distributed not installed (pip install '.[dask]')")

from lowrank_la.distributed import randomized_range_finder, randomized_svd  # noqa: E402


def _low_rank(rng, m, n, k, decay=None):
    U = np.linalg.qr(rng.standard_normal((m, k)))[0]
    V = np.linalg.qr(rng.standard_normal((n, k)))[0]
    s = np.geomspace(10.0, 1.0, k) if decay is None else decay
    return (U * s) @ V.T


def test_exact_rank_matches_numpy(client, rng):
    A = _low_rank(rng, 3000, 40, 5)
    U, s, Vh = randomized_svd(da.from_array(A, chunks=(700, 40)), 5, rng=1)
    Ur, sr, Vhr = np.linalg.svd(A, full_matrices=False)
    np.testing.assert_allclose(s, sr[:5], rtol=1e-12)
    Un = U.compute()
    np.testing.assert_allclose(Un.T @ Un, np.eye(5), atol=1e-12)
    np.testing.assert_allclose((Un * s) @ Vh, A, atol=1e-12 * sr[0])
    # same singular vectors up to sign (the values are well separated)
    np.testing.assert_allclose(np.abs(np.sum(Un * Ur[:, :5], axis=0)), 1.0, atol=1e-10)


def test_error_near_optimal_for_decaying_spectrum(client, rng):
    A = _low_rank(rng, 2000, 60, 60, decay=0.7 ** np.arange(60))
    k = 8
    U, s, Vh = randomized_svd(da.from_array(A, chunks=(500, 60)), k, n_power_iter=3, rng=0)
    err = np.linalg.norm(A - (U.compute() * s) @ Vh, 2)
    sr = np.linalg.svd(A, compute_uv=False)
    assert err <= 1.01 * sr[k]  # spectral-norm optimum is sigma_{k+1}
    np.testing.assert_allclose(s, sr[:k], rtol=1e-8)


def test_reproducible_and_input_unchanged(client, rng):
    A = rng.standard_normal((800, 30))
    A0 = A.copy()
    X = da.from_array(A, chunks=(200, 30))
    r1, r2 = randomized_svd(X, 4, rng=3), randomized_svd(X, 4, rng=3)
    np.testing.assert_array_equal(r1[1], r2[1])
    np.testing.assert_array_equal(r1[0].compute(), r2[0].compute())
    np.testing.assert_array_equal(A, A0)


def test_float32_in_float32_out(rng):
    A = _low_rank(rng, 600, 20, 3).astype(np.float32)
    import dask

    with dask.config.set(scheduler="synchronous"):
        U, s, Vh = randomized_svd(da.from_array(A, chunks=(150, 20)), 3, rng=0)
        assert U.dtype == np.float32 and s.dtype == np.float32 and Vh.dtype == np.float32
        np.testing.assert_allclose(s, np.linalg.svd(A.astype(np.float64),
                                                    compute_uv=False)[:3], rtol=1e-4)


def test_range_finder_spans_range(client, rng):
    A = _low_rank(rng, 1500, 25, 4)
    Q = randomized_range_finder(da.from_array(A, chunks=(400, 25)), 4, rng=0).compute()
    assert Q.shape == (1500, 4)
    np.testing.assert_allclose(Q.T @ Q, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(Q @ (Q.T @ A), A, atol=1e-11)


def test_bad_input(rng):
    A = da.from_array(rng.standard_normal((100, 10)), chunks=(50, 10))
    with pytest.raises(TypeError, match="`A` must be a dask.array"):
        randomized_svd(np.ones((10, 3)), 1)
    with pytest.raises(ValueError, match="rank"):
        randomized_svd(A, 0)
    with pytest.raises(ValueError, match="rank"):
        randomized_svd(A, 11)
    with pytest.raises(ValueError, match="n_power_iter"):
        randomized_svd(A, 2, n_power_iter=-1)
    with pytest.raises(ValueError, match="size"):
        randomized_range_finder(A, 20)
    B = rng.standard_normal((100, 10))
    B[3, 4] = np.nan
    import dask

    with dask.config.set(scheduler="synchronous"), pytest.raises(ValueError, match="NaN"):
        randomized_svd(da.from_array(B, chunks=(50, 10)), 2, rng=0)
    with pytest.raises(ValueError, match="unknown chunk"):
        randomized_svd(A[A[:, 0] > 0], 2)
