"""``python -m lowrank_la demo`` entry: distributed completion equals the in-memory run."""

from __future__ import annotations

import time
import warnings
from importlib.util import find_spec


def demo(args) -> bool:
    """Complete a 1000 x 800 rank-5 matrix on a 2-worker in-process cluster and in memory."""
    if find_spec("dask") is None or find_spec("distributed") is None:
        print('distributed: skipped (pip install "lowrank_la[dask]" to run it)')
        return True
    import numpy as np
    from distributed import Client, LocalCluster

    from ..completion import complete_matrix
    from ..datasets import synthetic_completion
    from ._completion import complete_matrix_distributed
    from ._entries import DaskObservedEntries

    seed = getattr(args, "seed", 0)
    omega, M = synthetic_completion(1000, 800, 5, oversampling=4, rng=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = complete_matrix(omega, 5, reference=M, rng=seed)
        with LocalCluster(processes=False, n_workers=2, threads_per_worker=1,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            t0 = time.perf_counter()
            d = DaskObservedEntries.from_entries(omega, client=client)
            res = complete_matrix_distributed(d, 5, reference=M, rng=seed)
            elapsed = time.perf_counter() - t0
    diff = float(np.max(np.abs(res.U @ res.V.T - ref.U @ ref.V.T)))
    print(f"distributed: complete_matrix_distributed on 2 Dask workers ({len(d.row_blocks)} row "
          f"blocks): {res.nit} sweeps, {elapsed:.2f} s, relative error "
          f"{res.history['error'][-1]:.1e}, max difference to the in-memory run {diff:.1e}")
    return bool(res.success and res.history["error"][-1] < 1e-6 and diff < 1e-10)
