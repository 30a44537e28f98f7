"""Distributed (Dask) against in-memory on one machine: overhead and weak scaling.

1. Completion (``robust_altmin``, k = 8, |Ω| = 3 k (m + n)): median seconds per sweep of
   :func:`lowrank_la.completion.complete_matrix` in memory against
   :func:`lowrank_la.distributed.complete_matrix_distributed` on
   (a) one in-process worker (same cores, same Numba threads: the pure scheduling and
   transfer overhead), (b) two worker processes with one Numba thread each (the same two cores
   as the in-memory run), and (c) weak scaling: one worker process on half the entries against
   two on all of them (ideal: equal times).  Building the blocks (scatter) is reported apart.
2. Tall-and-skinny: randomized SVD (rank 10, 4 power iterations) and leverage scores of an
   ``m x 64`` matrix held by two worker processes, against the in-memory routines on the
   gathered matrix.

Everything runs on this shared 2-core machine: two workers cannot beat the in-memory run
(it already uses both cores); the ratios measure what the distributed path costs, which is what
a cluster must amortize.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings

from lowrank_la import ConvergenceWarning
from lowrank_la.completion import complete_matrix
from lowrank_la.datasets import synthetic_completion

K = 8
SWEEPS = 4


def _worker_env(threads):
    return {"NUMBA_NUM_THREADS": str(threads), "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "OMP_WAIT_POLICY": "passive",
            "NUMBA_THREADING_LAYER": "workqueue"}


def _cluster(processes, n_workers, threads=1):
    from distributed import Client, LocalCluster

    kw = {"env": _worker_env(threads)} if processes else {}
    cluster = LocalCluster(processes=processes, n_workers=n_workers, threads_per_worker=1,
                           dashboard_address=":0", **kw)
    return cluster, Client(cluster)


def _sweep_time(res):
    return float(statistics.median(res.history["sweep_time"][1:]))


def _in_memory(omega):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        complete_matrix(omega, K, maxiter=1, rng=0)  # compile
        return _sweep_time(complete_matrix(omega, K, maxiter=SWEEPS, tol=0, rtol=0, rng=0))


def _distributed(omega, processes, n_workers, threads=1):
    from lowrank_la.distributed import DaskObservedEntries, complete_matrix_distributed

    cluster, client = _cluster(processes, n_workers, threads)
    try:
        t0 = time.perf_counter()
        d = DaskObservedEntries.from_entries(omega, client=client)
        build = time.perf_counter() - t0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            complete_matrix_distributed(d, K, maxiter=1, rng=0)  # compile on the workers
            res = complete_matrix_distributed(d, K, maxiter=SWEEPS, tol=0, rtol=0, rng=0)
        return _sweep_time(res), build, len(d.row_blocks)
    finally:
        client.close()
        cluster.close()


def completion_rows(n):
    omega, _ = synthetic_completion(n, n, K, oversampling=3, rng=0)
    half, _ = synthetic_completion(n // 2, n // 2, K, oversampling=3, rng=0)
    t_mem = _in_memory(omega)
    rows = []
    for label, processes, workers, threads in (
            ("1 in-process worker (all Numba threads)", False, 1, os.cpu_count() or 1),
            ("2 worker processes x 1 thread", True, 2, 1)):
        t, build, blocks = _distributed(omega, processes, workers, threads)
        rows.append({"part": "completion overhead", "setup": label, "m=n": n, "k": K,
                     "nnz": omega.nnz, "blocks": blocks, "in_memory_sweep_s": t_mem,
                     "distributed_sweep_s": t, "ratio_dist/mem": t / t_mem, "build_s": build})
    t1, _, _ = _distributed(half, True, 1, 1)
    t2 = next(r["distributed_sweep_s"] for r in rows if r["setup"].startswith("2 worker"))
    rows.append({"part": "weak scaling", "setup": "1 process on nnz/2 vs 2 processes on nnz",
                 "m=n": n, "k": K, "nnz": omega.nnz, "t_1worker_half_s": t1,
                 "t_2workers_full_s": t2, "efficiency": t1 / t2})
    return rows


def tall_rows(m):
    import dask.array as da
    import distributed

    from lowrank_la import distributed as dist
    from lowrank_la.linalg import randomized_svd
    from lowrank_la.sampling import leverage_scores

    cluster, client = _cluster(True, 2)
    try:
        A = da.random.default_rng(0).standard_normal((m, 64), chunks=(m // 8, 64)).persist()
        distributed.wait(A)
        An = A.compute()
        rows = []
        for name, f_mem, f_dist in (
                ("randomized_svd rank 10", lambda: randomized_svd(An, 10, rng=0),
                 lambda: dist.randomized_svd(A, 10, rng=0)),
                ("leverage_scores", lambda: leverage_scores(An),
                 lambda: dist.leverage_scores(A).compute())):
            f_mem(), f_dist()
            t_mem = min(_timed(f_mem) for _ in range(3))
            t_dist = min(_timed(f_dist) for _ in range(3))
            rows.append({"part": "tall-and-skinny", "setup": "2 worker processes",
                         "routine": name, "m": m, "n": 64, "in_memory_s": t_mem,
                         "distributed_s": t_dist, "ratio_dist/mem": t_dist / t_mem})
        return rows
    finally:
        client.close()
        cluster.close()


def _timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def run(quick: bool):
    rows = completion_rows(2000 if quick else 200_000)
    rows += tall_rows(40_000 if quick else 400_000)
    notes = ("Median seconds per sweep (sweeps 2-4) with the Numba kernels compiled first; "
             "in-memory uses Numba's threads on both cores.  'ratio' > 1 is the cost of the "
             "distributed path on one machine: scheduling (a few round trips per half-step: "
             "block solves, TSQR, incoherence, finiteness checks), the workers fetching the "
             "other factor's blocks from each other, and per-block solver set-up.  Both factors "
             "stay on the workers.  Weak scaling on one 2-core machine is only indicative.  The "
             "committed run had the machine to itself: check the load average (`uptime`) "
             "before comparing runs.")
    return rows, notes
