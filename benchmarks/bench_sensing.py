"""Matrix sensing: solver iterations against the two-pass floor, batching, dtypes, ScaledGD vs GD.

Sections (``section`` column):

* ``per-iteration``: seconds per iteration of ``gd``, ``scaled_gd`` (damping > 0) and
  ``subgradient`` (symmetric, packed Gaussian operator; asymmetric, full operator) against the
  **floor**: one GEMV each way over the stored ``(m, d)`` operator array (``A @ u`` and
  ``z @ A``), timed in the same run.  ``x_floor`` = solver / floor (target <= 1.5).
* ``batched``: one pass each way over the operator for ``b`` trajectories at once (GEMM) vs ``b``
  separate GEMV passes; ``speedup`` = separate / batched.
* ``dtype``: float32 vs float64 per-iteration time of ``scaled_gd``; ``speedup`` = f64 / f32.
* ``kappa``: iterations and seconds to relative error 1e-8 for ScaledGD and GD (spectral
  initialization, asymmetric, exact rank) at several condition numbers; ``ratio`` = GD / ScaledGD.

BLAS is pinned to one thread (threadpoolctl) so that the shared 2-core machine gives stable
ratios.  Solver times are the fastest iteration of short runs, floors the fastest of 15 GEMV
pairs (the same statistic), measured alternately (three rounds) so that load from other jobs hits both sides.
"""

from __future__ import annotations

import time
import warnings

import numpy as np


def _floor(op, b=1, reps=15):
    """Fastest of ``reps`` pairs of passes (``A u`` then ``z A``): the same statistic as the
    solvers' fastest iteration, so the ratio compares like with like."""
    A = op.matrix
    d = A.shape[1]
    u = np.random.default_rng(0).standard_normal((d,) if b == 1 else (b, d)).astype(A.dtype)
    z = np.random.default_rng(1).standard_normal((op.m,) if b == 1 else (b, op.m))
    z = z.astype(A.dtype)
    fwd = (lambda: A @ u) if b == 1 else (lambda: u @ A.T)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fwd()
        z @ A
        best = min(best, time.perf_counter() - t0)
    return best


def _per_iteration(fn, op, y, rank, iters, **kw):
    """Fastest iteration of a short run (iteration 1 carries the setup and is skipped)."""
    from lowrank_la import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = fn(op, y, rank, maxiter=iters, rtol=0.0, rng=0, **kw)
    return float(np.min(np.diff(res.history["time"])[1:]))


def _interleaved(fn, op, y, rank, iters, rounds=3, **kw):
    """Best solver iteration and best floor, measured alternately: on a shared machine a load
    spike then hits both sides instead of biasing the ratio."""
    t_sol, t_floor = float("inf"), float("inf")
    for _ in range(rounds):
        t_floor = min(t_floor, _floor(op))
        t_sol = min(t_sol, _per_iteration(fn, op, y, rank, iters, **kw))
    return t_sol, t_floor


def _section_iterations(rows, sizes, iters):
    from lowrank_la.sensing import gd, make_sensing_problem, scaled_gd, subgradient

    for n, m in sizes:
        for sym in (True, False):
            P = make_sensing_problem(n, 5, m, symmetric=sym, rng=0)
            op = P.operator
            for name, fn, kw in (("gd", gd, {"step": 0.5}),
                                 ("scaled_gd", scaled_gd, {"damping": 0.1}),
                                 ("subgradient", subgradient, {})):
                t, floor = _interleaved(fn, op, P.y, 5, iters, **kw)
                rows.append({"section": "per-iteration", "solver": name, "n": n, "m": m,
                             "operator": "symmetric packed" if sym else "full",
                             "stored_MB": round(op.nbytes / 2**20, 1), "dtype": "float64",
                             "rank": 5, "seconds": t, "floor_s": floor, "x_floor": t / floor})
            del P, op


def _section_batched(rows, n, m):
    from lowrank_la.sensing import GaussianMeasurements

    op = GaussianMeasurements((n, n), m, rng=0)
    one = _floor(op, 1)
    for b in (4, 16):
        t = _floor(op, b)
        rows.append({"section": "batched", "n": n, "m": m, "operator": "full", "batch": b,
                     "seconds": t, "separate_s": b * one, "speedup": b * one / t,
                     "dtype": "float64"})


def _section_dtype(rows, n, m, iters):
    from lowrank_la.sensing import make_sensing_problem, scaled_gd

    P64 = make_sensing_problem(n, 5, m, rng=0)
    P32 = make_sensing_problem(n, 5, m, rng=0, dtype="float32")
    t64 = t32 = float("inf")
    for _ in range(3):
        t64 = min(t64, _per_iteration(scaled_gd, P64.operator, P64.y, 5, iters, damping=0.1))
        t32 = min(t32, _per_iteration(scaled_gd, P32.operator, P32.y, 5, iters, damping=0.1))
    rows.append({"section": "dtype", "solver": "scaled_gd", "n": n, "m": m,
                 "operator": "symmetric packed", "f64_s": t64, "f32_s": t32,
                 "speedup": t64 / t32})


def _section_kappa(rows, n, r, m, kappas):
    from lowrank_la import ConvergenceWarning
    from lowrank_la.sensing import gd, make_sensing_problem, scaled_gd

    for kappa in kappas:
        P = make_sensing_problem(n, r, m, kappa=kappa, symmetric=False, rng=0)
        out = {}
        for name, fn in (("scaled_gd", scaled_gd), ("gd", gd)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t0 = time.perf_counter()
                res = fn(P.operator, P.y, r, init="spectral", step=0.5, M_true=P.M_true,
                         etol=1e-8, maxiter=5000)
                out[name] = (res.nit if res.success else None, time.perf_counter() - t0)
        its_s, t_s = out["scaled_gd"]
        its_g, t_g = out["gd"]
        rows.append({"section": "kappa", "n": n, "m": m, "rank": r, "kappa": kappa,
                     "scaled_gd_its": its_s, "gd_its": its_g if its_g is not None else ">5000",
                     "scaled_gd_s": t_s, "gd_s": t_g,
                     "ratio": (its_g / its_s) if its_g and its_s else None,
                     "time_ratio": t_g / t_s})


def run(quick: bool):
    from threadpoolctl import threadpool_limits

    rows: list[dict] = []
    with threadpool_limits(1):
        if quick:
            _section_iterations(rows, [(100, 5000)], iters=15)
            _section_batched(rows, 100, 5000)
            _section_dtype(rows, 100, 5000, 15)
            _section_kappa(rows, 30, 3, 900, (1.0, 10.0, 50.0))
        else:
            _section_iterations(rows, [(100, 5000), (200, 10000)], iters=15)
            _section_batched(rows, 100, 5000)
            _section_dtype(rows, 200, 10000, 10)
            _section_kappa(rows, 40, 3, 1500, (1.0, 5.0, 10.0, 20.0, 50.0))
    notes = (
        "Per-iteration time of each solver vs the floor of two GEMV passes over the stored "
        "operator (timed in the same run; x_floor = solver / floor, target <= 1.5); batched "
        "operator passes (speedup = b separate passes / one batched pass); float32 vs float64; "
        "iterations and time to relative error 1e-8 of ScaledGD vs GD over kappa (ratio = GD / "
        "ScaledGD).  BLAS pinned to 1 thread.  Command: python -m benchmarks sensing"
        + (" --quick" if quick else "")
    )
    return rows, notes
