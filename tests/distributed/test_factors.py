"""Block factors on the workers: each blockwise operation against the in-memory one."""

import numpy as np
import pytest

pytest.importorskip("distributed", reason="distributed not installed (pip install '.[dask]')")

from lowrank_la.completion._factor_ops import ARRAY_FACTORS  # noqa: E402
from lowrank_la.distributed._factors import BLOCK_FACTOR_OPS, BlockFactor  # noqa: E402


@pytest.fixture
def factors(client, rng):
    # uneven blocks, one with fewer rows than k (its local QR is wide)
    edges = np.array([0, 2, 40, 41, 90])
    F = rng.standard_normal((90, 4))
    G = rng.standard_normal((90, 4))
    return F, G, BlockFactor.scatter(client, F, edges), BlockFactor.scatter(client, G, edges)


def test_operations_match_in_memory(factors, rng):
    F, G, bF, bG = factors
    mem, blk = ARRAY_FACTORS, BLOCK_FACTOR_OPS
    np.testing.assert_allclose(blk.gram(bF, bG), mem.gram(F, G), rtol=1e-12)
    T = rng.standard_normal((4, 3))
    np.testing.assert_allclose(blk.times(bF, T).gather(), mem.times(F, T), rtol=1e-12)
    d = rng.standard_normal(4)
    np.testing.assert_allclose(blk.scale_columns(bF, d).gather(), F * d, rtol=1e-15)
    Q, R = blk.qr(bF)
    Qm, Rm = mem.qr(F)  # TSQR with the sign convention equals Householder's QR
    np.testing.assert_allclose(R, Rm, atol=1e-12)
    np.testing.assert_allclose(Q.gather(), Qm, atol=1e-12)
    assert blk.incoherence(Q) == pytest.approx(mem.incoherence(Qm), rel=1e-12)
    assert blk.subspace_change(Q, blk.qr(bG)[0], True) == pytest.approx(
        mem.subspace_change(Qm, mem.qr(G)[0], True), abs=1e-12)
    assert blk.subspace_change(bF, bG, False) == pytest.approx(
        mem.subspace_change(F, G, False), abs=1e-10)
    assert blk.all_finite(bF)
    bad = F.copy()
    bad[41, 2] = np.nan
    assert not blk.all_finite(BlockFactor.scatter(bF.client, bad, bF.edges))
    np.testing.assert_array_equal(bF.to_dask_array().compute(), F)


def test_gather_false_returns_dask_arrays(client):
    da = pytest.importorskip("dask.array")
    from lowrank_la.datasets import synthetic_completion
    from lowrank_la.distributed import DaskObservedEntries, complete_matrix_distributed

    omega, M = synthetic_completion(120, 90, 2, oversampling=4, rng=1)
    d = DaskObservedEntries.from_entries(omega, n_row_blocks=3, n_col_blocks=2, client=client)
    on_client = complete_matrix_distributed(d, 2, rng=3)
    kept = complete_matrix_distributed(d, 2, rng=3, gather=False)
    assert isinstance(kept.U, da.Array) and isinstance(kept.V, da.Array)
    np.testing.assert_array_equal(kept.U.compute(), on_client.U)
    np.testing.assert_array_equal(kept.V.compute(), on_client.V)
    # the model predicts from dask factors, computing only the rows it needs
    train, val = omega.split(0.2, rng=0)
    assert kept.rmse(val) == pytest.approx(on_client.rmse(val), rel=1e-12)
    rows, cols = np.array([5, 5, 119, 0]), np.array([3, 89, 0, 3])
    np.testing.assert_allclose(kept.predict(rows, cols), on_client.predict(rows, cols),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="rows"):
        kept.predict(np.array([120]), np.array([0]))
    assert isinstance(complete_matrix_distributed(d, 2, rng=3, gather=np.True_).U, np.ndarray)
    with pytest.raises(TypeError, match="gather"):
        complete_matrix_distributed(d, 2, gather="yes")


@pytest.mark.parametrize("seed", range(4))
def test_tsqr_equals_householder_for_any_blocking(client, seed):
    # random cut points, including blocks of a single row and blocks shorter than k
    rng = np.random.default_rng(seed)
    m, k = 37, 5
    cuts = np.sort(rng.choice(np.arange(1, m), size=rng.integers(1, 8), replace=False))
    edges = np.concatenate([[0], cuts, [m]])
    F = rng.standard_normal((m, k)) * np.logspace(0, -6, k)  # ill-conditioned columns
    Q, R = BLOCK_FACTOR_OPS.qr(BlockFactor.scatter(client, F, edges))
    Qm, Rm = ARRAY_FACTORS.qr(F)
    np.testing.assert_allclose(R, Rm, atol=1e-12 * np.abs(Rm).max())
    np.testing.assert_allclose(Q.gather(), Qm, atol=1e-9)
    np.testing.assert_allclose(Q.gather().T @ Q.gather(), np.eye(k), atol=1e-12)
    W, s, Zh = BLOCK_FACTOR_OPS.svd(BlockFactor.scatter(client, F, edges))
    np.testing.assert_allclose(s, np.linalg.svd(F, compute_uv=False), rtol=1e-9)
    np.testing.assert_allclose((W.gather() * s) @ Zh, F, atol=1e-12)
