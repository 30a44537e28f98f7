"""A small in-process Dask cluster shared by the distributed tests."""

import pytest


@pytest.fixture(scope="session")
def client():
    distributed = pytest.importorskip(
        "distributed", reason="dask/distributed not installed (pip install '.[dask]')")
    cluster = distributed.LocalCluster(processes=False, n_workers=2, threads_per_worker=1,
                                       dashboard_address=":0")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # Dask runs many small QRs (TSQR blocks) from its own threads; a multithreaded BLAS on
    # these shared 2-core machines makes each one 30x slower (what Dask's worker processes
    # avoid by setting OMP_NUM_THREADS=1).  Limited only inside these tests.
    try:
        import threadpoolctl
    except ImportError:  # slower without it, not wrong
        yield
        return
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        yield
