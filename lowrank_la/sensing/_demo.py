"""Demo entry for ``python -m lowrank_la demo``: ScaledGD vs GD on an ill-conditioned problem."""

from __future__ import annotations

import time
import warnings


def demo(args) -> bool:
    """Print one line comparing ScaledGD and GD at kappa = 20; return whether it checked out."""
    from .._result import ConvergenceWarning
    from . import gd, make_sensing_problem, scaled_gd

    P = make_sensing_problem(20, 2, 400, kappa=20.0, symmetric=False, rng=getattr(args, "seed", 0))
    t0 = time.perf_counter()
    fast = scaled_gd(P.operator, P.y, 2, M_true=P.M_true, etol=1e-8, maxiter=500)
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        slow = gd(P.operator, P.y, 2, init="spectral", step=0.5, M_true=P.M_true, etol=1e-8,
                  maxiter=5000)
    t2 = time.perf_counter()
    print(f"matrix sensing (n=20, rank 2, m=400, kappa=20): ScaledGD {fast.nit} iterations "
          f"({(t1 - t0) * 1e3:.0f} ms), GD {slow.nit} iterations ({(t2 - t1) * 1e3:.0f} ms) to "
          f"relative error 1e-8")
    return bool(fast.success and fast.nit * 3 < slow.nit)
