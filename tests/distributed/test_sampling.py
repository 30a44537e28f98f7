"""Leverage scores, Lewis weights and row sampling on dask arrays against the in-memory ones."""

import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="dask not installed (pip install '.[dask]')")
pytest.importorskip("distributed", reason="distributed not installed (pip install '.[dask]')")

from lowrank_la import sampling  # noqa: E402
from lowrank_la.distributed import leverage_scores, lewis_weights, sample_rows  # noqa: E402


def _heavy_tailed(rng, n, d):
    A = rng.standard_normal((n, d))
    A[: n // 50] *= 30.0  # a few high-leverage rows
    return A


@pytest.mark.parametrize("chunks", [(250, 6), ((100, 500, 300, 100), 6)])
def test_leverage_matches_qr(client, rng, chunks):
    A = _heavy_tailed(rng, 1000, 6)
    t = leverage_scores(da.from_array(A, chunks=chunks)).compute()
    Q = np.linalg.qr(A)[0]
    np.testing.assert_allclose(t, np.sum(Q**2, axis=1), rtol=1e-10, atol=1e-14)
    assert abs(t.sum() - 6) < 1e-10


def test_leverage_rank_deficient_matches_in_memory(client, rng):
    B = rng.standard_normal((600, 3))
    A = np.hstack([B, B @ rng.standard_normal((3, 2))])  # rank 3, 5 columns
    t = leverage_scores(da.from_array(A, chunks=(150, 5))).compute()
    np.testing.assert_allclose(t, sampling.leverage_scores(A), rtol=1e-8, atol=1e-12)
    assert abs(t.sum() - 3) < 1e-8


@pytest.mark.parametrize("p, scheduler", [(1.0, "synchronous"), (3.0, "client")])
def test_lewis_weights_match_in_memory(client, rng, p, scheduler):
    import dask

    A = _heavy_tailed(rng, 800, 4)
    with dask.config.set(scheduler=client if scheduler == "client" else scheduler):
        res = lewis_weights(da.from_array(A, chunks=(400, 4)), p, tol=1e-6)
        w = res.weights.compute()
    ref = sampling.lewis_weights(A, p, tol=1e-6)  # the same iterates, to rounding
    assert res.success and res.nit == ref.nit
    np.testing.assert_allclose(w, ref.weights, rtol=1e-8)


def test_lewis_p2_is_leverage_and_maxiter_warns(client, rng):
    A = rng.standard_normal((400, 3))
    X = da.from_array(A, chunks=(100, 3))
    res = lewis_weights(X, 2.0)
    np.testing.assert_allclose(res.weights.compute(), leverage_scores(X).compute())
    from lowrank_la import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="maxiter"):
        bad = lewis_weights(X, 1.0, maxiter=2)
    assert not bad.success and bad.status == 1


def test_sample_rows_matches_in_memory_draws(client, rng):
    A = _heavy_tailed(rng, 2000, 5)
    X = da.from_array(A, chunks=(400, 5))
    t = leverage_scores(X)
    s = sample_rows(X, t, 300, rng=7)
    ref = sampling.sample_rows(A, t.compute(), 300, rng=7)
    np.testing.assert_array_equal(s.indices, ref.indices)
    np.testing.assert_allclose(s.weights, ref.weights, rtol=1e-10)
    np.testing.assert_allclose(s.rows, np.sqrt(s.weights)[:, None] * A[s.indices], rtol=1e-12)
    # unbiasedness in aggregate: the sampled Gram approximates AᵀA (subspace embedding)
    G = s.rows.T @ s.rows
    L = np.linalg.cholesky(A.T @ A)
    eig = np.linalg.eigvalsh(np.linalg.solve(L, np.linalg.solve(L, G).T))
    assert 0.5 < eig.min() and eig.max() < 1.5


def test_sample_rows_bad_input(rng):
    A = da.from_array(rng.standard_normal((100, 3)), chunks=(50, 3))
    t = da.from_array(np.ones(100), chunks=50)
    with pytest.raises(ValueError, match="`m`"):
        sample_rows(A, t, 0)
    with pytest.raises(TypeError, match="`scores`"):
        sample_rows(A, np.ones(100), 5)
    with pytest.raises(ValueError, match="chunks"):
        sample_rows(A, da.from_array(np.ones(100), chunks=25), 5)
    import dask

    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(ValueError, match="non-negative"):
            sample_rows(A, t - 2.0, 5)
        with pytest.raises(ValueError, match="positive sum"):
            sample_rows(A, t * 0.0, 5)
    with pytest.raises(ValueError, match="single chunk along the columns"):
        leverage_scores(da.from_array(rng.standard_normal((100, 4)), chunks=(50, 2)))
    with pytest.raises(ValueError, match="`p`"):
        lewis_weights(A, -1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        B = rng.standard_normal((100, 3))
        B[5, 1] = np.inf
        with dask.config.set(scheduler="synchronous"), pytest.raises(ValueError, match="NaN"):
            leverage_scores(da.from_array(B, chunks=(50, 3)))


def test_leverage_any_row_chunking_property():
    """Property: the scores do not depend on how the rows are chunked."""
    hypothesis = pytest.importorskip("hypothesis")
    import dask
    from hypothesis import given, settings
    from hypothesis import strategies as st

    A = np.random.default_rng(3).standard_normal((60, 3))
    Q = np.linalg.qr(A)[0]
    expected = np.sum(Q**2, axis=1)

    @settings(max_examples=15, deadline=None)
    @given(st.lists(st.integers(3, 30), min_size=1, max_size=6))
    def check(sizes):
        cuts, total = [], 0
        for s in sizes:  # chunks of at least d = 3 rows (TSQR's requirement), summing to 60
            if total + s > 57:
                break
            cuts.append(s)
            total += s
        cuts.append(60 - total)
        with dask.config.set(scheduler="synchronous"):
            t = leverage_scores(da.from_array(A, chunks=(tuple(cuts), 3))).compute()
        np.testing.assert_allclose(t, expected, rtol=1e-10, atol=1e-14)

    assert hypothesis is not None
    check()
