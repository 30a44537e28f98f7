"""``python -m lowrank_la demo`` entry for the tensor area."""

from __future__ import annotations

import time
import warnings


def demo(args) -> bool:
    """Core-shape selection on a tensor whose modes decay at different rates.

    Prints one line; returns whether packing beat the uniform shape by the expected margin.
    """
    from .._result import ConvergenceWarning
    from ._data import uneven_tensor
    from ._decomp import hooi
    from ._selection import select_core_shape

    X = uneven_tensor((60, 60, 60), (2.0, 6.0, 20.0), noise=0.01, rng=getattr(args, "seed", 0))
    budget = int(0.02 * X.size)
    t0 = time.perf_counter()
    pk = select_core_shape(X, budget)
    dt = time.perf_counter() - t0
    un = select_core_shape(X, budget, method="uniform")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        e_pk = hooi(X, pk.shape, maxiter=5).error
        e_un = hooi(X, un.shape, maxiter=5).error
    print(f"select_core_shape(packing): 60^3 tensor, budget {budget} (2%): core {pk.shape} in "
          f"{dt * 1e3:.0f} ms, HOOI error {e_pk:.3f} vs uniform {un.shape} {e_un:.3f} "
          f"({e_pk / e_un:.2f}x)")
    return bool(pk.size <= budget and e_pk < 0.8 * e_un)
