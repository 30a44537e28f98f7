"""DaskObservedEntries and distributed alternating minimization vs the single-machine run."""

import warnings

import numpy as np
import pytest

pytest.importorskip("dask.array", reason="dask not installed (pip install '.[dask]')")
pytest.importorskip("distributed", reason="distributed not installed (pip install '.[dask]')")

from lowrank_la import ConvergenceWarning  # noqa: E402
from lowrank_la.completion import complete_matrix  # noqa: E402
from lowrank_la.datasets import synthetic_completion  # noqa: E402
from lowrank_la.distributed import (  # noqa: E402
    DaskObservedEntries,
    complete_matrix_distributed,
)
from lowrank_la.sampled import ObservedEntries  # noqa: E402


@pytest.fixture(scope="module")
def problem():
    return synthetic_completion(240, 160, 3, oversampling=4, rng=0)


@pytest.fixture(scope="module")
def dist(client, problem):
    return DaskObservedEntries.from_entries(problem[0], n_row_blocks=3, n_col_blocks=2,
                                            client=client)


def _dense(omega):
    return omega.to_dense(np.nan)


def test_blocks_hold_omega_both_ways(client, problem, dist):
    omega = problem[0]
    assert dist.nnz == omega.nnz and dist.shape == omega.shape
    np.testing.assert_array_equal(_dense(dist.to_entries()), _dense(omega))
    assert dist.row_edges[0] == 0 and dist.row_edges[-1] == 240 and len(dist.row_blocks) == 3
    # column blocks are the transposed entries of consecutive column ranges
    cols = client.gather(dist.col_blocks)
    T = omega.T.to_dense(np.nan)
    for b, c0, c1 in zip(cols, dist.col_edges[:-1], dist.col_edges[1:]):
        np.testing.assert_array_equal(b.entries.to_dense(np.nan), T[c0:c1])
    # the scheduler must see a block's real size (else it ships Ω to where a task landed)
    from dask.sizeof import sizeof

    assert sizeof(cols[0]) >= cols[0].rows.nbytes + cols[0].cols.nbytes + cols[0].values.nbytes


def test_from_dataframe_and_csv(client, problem, tmp_path):
    dd = pytest.importorskip("dask.dataframe", reason="dask[dataframe] not installed")
    pd = pytest.importorskip("pandas")
    omega = problem[0]
    order = np.random.default_rng(1).permutation(omega.nnz)  # records in any order
    frame = pd.DataFrame({"row": omega.rows[order], "col": omega.cols[order],
                          "value": omega.values[order]})
    d = DaskObservedEntries.from_dataframe(dd.from_pandas(frame, npartitions=3),
                                           omega.shape, n_row_blocks=2, n_col_blocks=3,
                                           client=client)
    np.testing.assert_array_equal(_dense(d.to_entries()), _dense(omega))
    path = tmp_path / "ratings.csv"
    frame.rename(columns={"row": "user", "col": "item"}).to_csv(path, index=False)
    d2 = DaskObservedEntries.from_csv(str(path), row="user", col="item", client=client,
                                      n_row_blocks=2, n_col_blocks=2)
    assert d2.shape[0] <= omega.shape[0] and d2.shape[1] <= omega.shape[1]
    np.testing.assert_array_equal(_dense(d2.to_entries()),
                                  _dense(omega)[: d2.shape[0], : d2.shape[1]])
    dup = pd.concat([frame, frame.iloc[:1]])
    with pytest.raises(ValueError, match="duplicate entry"):
        DaskObservedEntries.from_dataframe(dd.from_pandas(dup, npartitions=2), omega.shape,
                                           client=client)
    with pytest.raises(ValueError, match="lacks the column"):
        DaskObservedEntries.from_dataframe(dd.from_pandas(frame, npartitions=1), client=client,
                                           value="rating")


@pytest.mark.parametrize("method", ["altmin", "robust_altmin"])
def test_equals_single_machine(problem, dist, method):
    omega, M = problem
    ref = complete_matrix(omega, 3, method=method, reference=M, rng=5)
    res = complete_matrix_distributed(dist, 3, method=method, reference=M, rng=5)
    assert ref.success and res.success and res.nit == ref.nit and res.status == ref.status
    np.testing.assert_allclose(res.U, ref.U, atol=1e-10)
    np.testing.assert_allclose(res.V, ref.V, atol=1e-10)
    # the factors are renormalized by TSQR on the cluster and Householder QR in memory: the
    # relative residuals agree to rounding (a few eps absolute once they approach 1e-9)
    np.testing.assert_allclose(res.history["residual"], ref.history["residual"], rtol=1e-8,
                               atol=1e-15)
    assert res.history["error"][-1] < 1e-6


def test_equals_single_machine_options(client, rng):
    # ridge, a random start, few samples (rows with < k entries get the ridge floor), validation
    omega, M = synthetic_completion(150, 120, 4, oversampling=2, rng=3)
    train, val = omega.split(0.1, rng=0)
    d = DaskObservedEntries.from_entries(train, n_row_blocks=2, n_col_blocks=4, client=client)
    for reg, scaling in ((0.0, "none"), (1e-3, "none"), (1e-2, "count")):
        kw = dict(method="altmin", init="random", reg=reg, reg_scaling=scaling, validation=val,
                  maxiter=8, rng=11)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # either may stop unconverged
            ref = complete_matrix(train, 4, **kw)
            res = complete_matrix_distributed(d, 4, **kw)
        assert res.ridge_floor == ref.ridge_floor and res.status == ref.status
        assert res.nit == ref.nit
        np.testing.assert_allclose(res.U @ res.V.T, ref.U @ ref.V.T, atol=1e-10)
        np.testing.assert_allclose(res.history["validation_rmse"],
                                   ref.history["validation_rmse"], rtol=1e-8)


def test_robust_with_ridge_and_given_start(client, problem, dist):
    omega, M = problem
    rng = np.random.default_rng(2)
    init = (rng.standard_normal((240, 3)), rng.standard_normal((160, 3)))
    kw = dict(method="robust_altmin", init=init, reg=1e-2, inner_steps=2, maxiter=15, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = complete_matrix(omega, 3, **kw)
        res = complete_matrix_distributed(dist, 3, **kw)
    assert res.status == ref.status and res.nit == ref.nit
    np.testing.assert_allclose(res.U @ res.V.T, ref.U @ ref.V.T, atol=1e-10)
    np.testing.assert_allclose(res.history["inner_residual"], ref.history["inner_residual"],
                               rtol=1e-6)


def test_inputs_unchanged_and_callback(problem, dist):
    omega = problem[0]
    before = omega.values.copy()
    seen = []

    def cb(r):
        seen.append(r.nit)
        if r.nit == 2:
            raise StopIteration

    res = complete_matrix_distributed(dist, 3, callback=cb, rng=0)
    assert res.status == 5 and seen == [1, 2] and res.success
    np.testing.assert_array_equal(dist.to_entries().values, before)
    np.testing.assert_array_equal(omega.values, before)


def test_bad_input(problem, dist):
    omega = problem[0]
    with pytest.raises(TypeError, match="DaskObservedEntries"):
        complete_matrix_distributed(omega, 3)
    with pytest.raises(ValueError, match="rank"):
        complete_matrix_distributed(dist, 161)
    with pytest.raises(ValueError, match="method"):
        complete_matrix_distributed(dist, 3, method="svd")
    with pytest.raises(ValueError, match="split_samples"):
        complete_matrix_distributed(dist, 3, split_samples=True)
    torch = pytest.importorskip("torch")
    on_torch = ObservedEntries(torch.as_tensor(omega.rows), torch.as_tensor(omega.cols),
                               torch.as_tensor(omega.values), omega.shape)
    with pytest.raises(TypeError, match="validation"):
        complete_matrix_distributed(dist, 3, validation=on_torch)
    with pytest.raises(ValueError, match="maxiter"):
        complete_matrix_distributed(dist, 3, maxiter=0)
    with pytest.raises(TypeError, match="ObservedEntries"):
        DaskObservedEntries.from_entries(omega.to_dense())
    with pytest.raises(ValueError, match="values"):
        DaskObservedEntries.from_entries(ObservedEntries(omega.rows, omega.cols, None,
                                                         omega.shape), client=dist.client)
    with pytest.raises(ValueError, match="n_row_blocks"):
        DaskObservedEntries.from_entries(omega, n_row_blocks=0, client=dist.client)
    with pytest.raises(TypeError, match="client"):
        DaskObservedEntries.from_entries(omega, client=3)


@pytest.mark.parametrize("source", ["memory", "dataframe"])
def test_worker_lost_mid_run(problem, source):
    """Losing a worker either recomputes (blocks from a data frame) or fails clearly."""
    distributed = pytest.importorskip("distributed")
    dd = pytest.importorskip("dask.dataframe", reason="dask[dataframe] not installed")
    pd = pytest.importorskip("pandas")
    omega = problem[0]
    ref = complete_matrix(omega, 3, method="altmin", rng=5)
    with distributed.LocalCluster(processes=False, n_workers=2, threads_per_worker=1,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        if source == "memory":
            d = DaskObservedEntries.from_entries(omega, n_row_blocks=4, n_col_blocks=4,
                                                 client=c)
        else:
            frame = pd.DataFrame({"row": omega.rows, "col": omega.cols, "value": omega.values})
            d = DaskObservedEntries.from_dataframe(dd.from_pandas(frame, npartitions=2),
                                                   omega.shape, n_row_blocks=4,
                                                   n_col_blocks=4, client=c)

        def kill_a_worker(r):
            if r.nit == 2:
                c.sync(next(iter(cluster.workers.values())).close)

        if source == "memory":
            with pytest.raises(RuntimeError, match="worker holding blocks of Ω or of the factors was lost"):
                complete_matrix_distributed(d, 3, method="altmin", callback=kill_a_worker,
                                            rng=5)
        else:
            res = complete_matrix_distributed(d, 3, method="altmin", callback=kill_a_worker,
                                              rng=5)
            assert res.success and res.nit == ref.nit
            np.testing.assert_allclose(res.U, ref.U, atol=1e-10)


def test_float32_equals_single_machine(client, problem):
    omega, M = problem
    om32 = omega.with_values(omega.values.astype(np.float32))
    d = DaskObservedEntries.from_entries(om32, n_row_blocks=3, client=client)
    ref = complete_matrix(om32, 3, reference=M, rng=0)
    res = complete_matrix_distributed(d, 3, reference=M, rng=0)
    assert d.dtype == np.float32 and res.U.dtype == np.float32 and res.V.dtype == np.float32
    assert res.success and res.nit == ref.nit
    np.testing.assert_allclose(res.U, ref.U, atol=1e-5)
    assert res.history["error"][-1] < 1e-5


def test_complete_matrix_dispatches_dask_entries():
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from lowrank_la.completion import complete_matrix
    from lowrank_la.datasets import synthetic_completion
    from lowrank_la.distributed import DaskObservedEntries

    omega, M = synthetic_completion(120, 90, 2, oversampling=5, rng=3)
    ref = complete_matrix(omega, 2, rng=0)
    with LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        d = DaskObservedEntries.from_entries(omega, n_row_blocks=2, client=client)
        got = complete_matrix(d, 2, rng=0)
    np.testing.assert_allclose(got.U @ got.V.T, ref.U @ ref.V.T, rtol=1e-10, atol=1e-12)


def test_biases_equal_single_machine(client, rng):
    # ratings-like data: a global offset and row/column effects on top of a low-rank part
    omega, M = synthetic_completion(130, 110, 3, oversampling=4, rng=4)
    shifted = omega.with_values(omega.values + 3.0 + 0.5 * np.sin(omega.rows)
                                - 0.2 * np.cos(omega.cols))
    train, val = shifted.split(0.1, rng=1)
    d = DaskObservedEntries.from_entries(train, n_row_blocks=3, n_col_blocks=2, client=client)
    kw = dict(method="altmin", biases=True, bias_reg=5.0, reg=1e-3, validation=val,
              maxiter=10, rng=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = complete_matrix(train, 3, **kw)
        res = complete_matrix_distributed(d, 3, **kw)
    assert res.mean == pytest.approx(ref.mean, rel=1e-13)
    np.testing.assert_allclose(res.row_bias, ref.row_bias, atol=1e-12)
    np.testing.assert_allclose(res.col_bias, ref.col_bias, atol=1e-12)
    assert res.status == ref.status and res.nit == ref.nit
    np.testing.assert_allclose(res.U @ res.V.T, ref.U @ ref.V.T, atol=1e-10)
    np.testing.assert_allclose(res.history["validation_rmse"], ref.history["validation_rmse"],
                               rtol=1e-8)
    assert res.rmse(val) == pytest.approx(ref.rmse(val), rel=1e-8)
    with pytest.raises(ValueError, match="bias_reg"):
        complete_matrix_distributed(d, 3, biases=True, bias_reg=-1.0)


def test_softimpute_equals_single_machine(client):
    omega, M = synthetic_completion(140, 100, 4, oversampling=3, rng=6)
    train, val = omega.split(0.1, rng=0)
    d = DaskObservedEntries.from_entries(train, n_row_blocks=3, n_col_blocks=2, client=client)
    kw = dict(method="softimpute_als", reg=0.02, maxiter=40, rtol=1e-7, validation=val, rng=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = complete_matrix(train, 4, **kw)
        res = complete_matrix_distributed(d, 4, **kw)
    assert res.status == ref.status and res.nit == ref.nit
    # the factors' singular vectors may differ in sign (TSQR + small SVD on the cluster): the
    # estimate U Vᵀ is what both must agree on
    np.testing.assert_allclose(res.U @ res.V.T, ref.U @ ref.V.T, atol=1e-10)
    np.testing.assert_allclose(res.history["residual"], ref.history["residual"], rtol=1e-9)
    np.testing.assert_allclose(res.history["validation_rmse"], ref.history["validation_rmse"],
                               rtol=1e-9)
    # and it is a completion, not just an agreement: far better than predicting zero
    assert res.rmse(val) < 0.5 * float(np.sqrt(np.mean(val.values ** 2)))
