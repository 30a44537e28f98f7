"""``python -m lowrank_la demo`` entry for the sampling package (registered by the lead)."""

from __future__ import annotations

import time

import numpy as np


def demo(args) -> bool:
    """l_1 regression from 40 d Lewis-weight samples vs uniform samples; True if Lewis is within
    1.2x of the full optimum and beats uniform.
    """
    from . import lewis_weights, lp_regression, sample_rows

    seed = getattr(args, "seed", 0)
    rng = np.random.default_rng(seed)
    n, d = 10000, 10
    A = rng.standard_normal((n, d))
    A[:, -2:] = 0.0
    A[:10, -2] = 1.0  # two features present on 10 rows each: uniform samples miss them
    A[10:20, -1] = 1.0
    x_true = rng.standard_normal(d)
    x_true[-2:] = 200.0
    b = A @ x_true + rng.laplace(size=n)
    t0 = time.perf_counter()
    full = lp_regression(A, b, 1.0).objective
    w = lewis_weights(A, 1.0).weights
    ratios = {}
    for name, scores in (("lewis", w), ("uniform", np.ones(n))):
        s = sample_rows(A, scores, 40 * d, rng=seed)
        x = lp_regression(A, b, 1.0, sample=s).x
        ratios[name] = float(np.sum(np.abs(A @ x - b)) / full)
    print(f"sampling: l1 regression {n}x{d} from {40 * d} rows: objective / optimum "
          f"Lewis {ratios['lewis']:.3f}, uniform {ratios['uniform']:.3f} "
          f"({time.perf_counter() - t0:.2f} s)")
    return ratios["lewis"] < 1.2 and ratios["lewis"] < ratios["uniform"]
