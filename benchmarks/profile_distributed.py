"""Where a distributed completion sweep spends its time: ``python -m benchmarks.profile_distributed``.

One process runs ``robust_altmin`` (k = 8, |Ω| = 3 k (m + n)) in memory, timing the per-row
solves, then on two single-threaded Dask worker processes with a task stream.  It prints, per
sweep: the in-memory solve time, the workers' compute time by task kind, and how many times the
client waited on the cluster (blocking gathers).  The ratio worker-solve / in-memory-solve is
the cost of running the same kernels (per-row solves and the residual) in separate processes
on the same cores.  Not part of
``python -m benchmarks``: a diagnosis for ``bench_distributed``'s two-process row.
"""

from __future__ import annotations

import collections
import os
import sys
import time
import warnings

K, SWEEPS = 8, 4


def _in_memory_kernels_per_sweep(omega):
    """Seconds per sweep in the per-row solves plus the residual (what a block task runs)."""
    from lowrank_la import ConvergenceWarning
    from lowrank_la.completion import _altmin, _driver, complete_matrix

    spent = [0.0]

    def timed(fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - t0
        return wrapper

    patches = [(_altmin.HalfStepSolver, "solve"), (_driver, "sampled_residual")]
    originals = [getattr(owner, name) for owner, name in patches]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        complete_matrix(omega, K, maxiter=1, init="random", rng=0)  # compile
        for (owner, name), fn in zip(patches, originals):
            setattr(owner, name, timed(fn))
        try:
            res = complete_matrix(omega, K, maxiter=SWEEPS, tol=0, rtol=0, init="random",
                                  rng=0)
        finally:
            for (owner, name), fn in zip(patches, originals):
                setattr(owner, name, fn)
    return spent[0] / SWEEPS, sum(res.history["sweep_time"]) / SWEEPS


def _distributed_profile(omega):
    from distributed import Client, LocalCluster, get_task_stream

    from lowrank_la import ConvergenceWarning
    from lowrank_la.distributed import DaskObservedEntries, complete_matrix_distributed

    env = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "OMP_WAIT_POLICY": "passive", "NUMBA_THREADING_LAYER": "workqueue"}
    with LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0",
                      env=env) as cluster, Client(cluster) as client:
        d = DaskObservedEntries.from_entries(omega, client=client)
        waits = [0]
        original = client.gather

        def counted(*args, **kwargs):
            waits[0] += 1
            return original(*args, **kwargs)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            complete_matrix_distributed(d, K, maxiter=1, init="random", rng=0)  # compile
            client.gather = counted
            with get_task_stream(client) as stream:
                res = complete_matrix_distributed(d, K, maxiter=SWEEPS, tol=0, rtol=0,
                                                  init="random", rng=0)
            client.gather = original
        compute = collections.Counter()
        for task in stream.data:
            key = task["key"] if isinstance(task["key"], str) else str(task["key"][0])
            name = key.split("-")[0]
            compute[name] += sum(s["stop"] - s["start"] for s in task["startstops"]
                                 if s["action"] == "compute")
    sweep = sum(res.history["sweep_time"]) / SWEEPS
    return {k: v / SWEEPS for k, v in compute.items()}, waits[0] / SWEEPS, sweep


def main(n=200_000):
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")
    from lowrank_la.datasets import synthetic_completion

    omega, _ = synthetic_completion(n, n, K, oversampling=3, rng=0)
    mem_solve, mem_sweep = _in_memory_kernels_per_sweep(omega)
    compute, waits, sweep = _distributed_profile(omega)
    print(f"m = n = {n}, |Ω| = {omega.nnz}, k = {K}, {SWEEPS} sweeps (spectral start excluded)")
    print(f"in memory: {mem_sweep:.3f} s per sweep, of which per-row solves and residual "
          f"{mem_solve:.3f} s")
    print(f"2 worker processes: {sweep:.3f} s per sweep ({sweep / mem_sweep:.2f}x), "
          f"{waits:.1f} blocking gathers per sweep")
    print("worker compute per sweep (summed over both workers), by task:")
    for name, t in sorted(compute.items(), key=lambda kv: -kv[1]):
        print(f"  {name:20s} {t:.3f} s")
    solve = compute.get("_solve_block", 0.0) / 2  # two workers in parallel
    print(f"block solves (with residual) per worker / in-memory solves and residual: "
          f"{solve / mem_solve:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
