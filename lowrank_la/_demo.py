"""``python -m lowrank_la demo``: a short tour that checks its own answers."""

from __future__ import annotations

import importlib
import time

import numpy as np


def configure(parser):
    parser.add_argument("--size", type=int, default=2000, help="matrix side (default 2000)")
    parser.add_argument("--rank", type=int, default=10, help="rank (default 10)")
    parser.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    from .linalg import randomized_svd

    rng = np.random.default_rng(args.seed)
    n, k = args.size, args.rank
    sv = np.concatenate([np.linspace(10, 1, k), 1e-6 * np.ones(n - k)])
    U = np.linalg.qr(rng.standard_normal((n, k + 5)))[0]
    V = np.linalg.qr(rng.standard_normal((n, k + 5)))[0]
    A = (U * sv[: k + 5]) @ V.T
    t0 = time.perf_counter()
    Uk, s, Vh = randomized_svd(A, k, rng=args.seed)
    dt = time.perf_counter() - t0
    err = np.max(np.abs(s - sv[:k]) / sv[:k])
    print(f"randomized_svd: {n}x{n} matrix, rank {k}: {dt * 1e3:.1f} ms, "
          f"max relative singular-value error {err:.1e}")
    ok = run_area_demos(args) and err < 1e-6
    print("demo " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


def run_area_demos(args) -> bool:
    """Each area's demo line; an area behind a missing optional extra is skipped, not failed."""
    ok = True
    for path in _EXTRA_DEMOS:
        module, _, attr = path.partition(":")
        try:
            fn = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if exc.name not in _OPTIONAL:
                raise
            # lowrank_la.torch imports torch on import: a plain install skips its line
            print(f"{module.split('.')[1]}: skipped (needs {exc.name})")
            continue
        ok = bool(fn(args)) and ok
    return ok


_OPTIONAL = {"torch", "sklearn", "dask", "distributed"}
# "module:function" of solver demos: each takes the parsed args, prints one line and returns
# whether its answer checked out.  Solver modules add their entry here.
_EXTRA_DEMOS: list[str] = [
    "lowrank_la.completion._driver:demo",
    "lowrank_la.sensing._demo:demo",
    "lowrank_la.dlra._reproduce:demo",
    "lowrank_la.sampling._demo:demo",
    "lowrank_la.tensor._demo:demo",
    "lowrank_la.distributed._demo:demo",
    "lowrank_la.torch._demo:demo",
]
