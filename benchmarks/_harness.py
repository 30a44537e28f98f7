"""Shared benchmark machinery: timing, environment capture, result tables.

Every benchmark compares lowrank_la with a baseline, a peer library or a physical floor *in the
same process*, and reports the ratio: these machines are shared and noisy, so absolute times
mean little, ratios measured side by side mean a lot.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def best_time(fn, *, repeat=5, min_time=0.2, warmup=1):
    """Best wall time of ``fn()`` over ``repeat`` runs (each run loops until ``min_time``)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= min_time or n >= 1000:
                break
        best = min(best, elapsed / n)
    return best


def environment() -> dict:
    import importlib

    versions = {}
    for mod in ("lowrank_la", "numpy", "scipy", "numba", "sklearn", "torch", "cupy"):
        try:
            versions[mod] = importlib.import_module(mod).__version__
        except Exception:  # noqa: BLE001
            versions[mod] = None
    blas = None
    try:
        from threadpoolctl import threadpool_info

        blas = [(i.get("internal_api"), i.get("num_threads")) for i in threadpool_info()]
    except Exception:  # noqa: BLE001
        pass
    return {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "versions": versions,
        "threadpools": blas,
        "env": {k: os.environ.get(k) for k in (
            "OMP_WAIT_POLICY", "NUMBA_THREADING_LAYER", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def write_results(name: str, rows: list[dict], env: dict, notes: str = "") -> Path:
    """Write ``results/<name>.json`` and ``results/<name>.md``; return the markdown path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"env": env, "rows": rows}, indent=2))
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = [f"# {name}", "", notes, "" if notes else "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |")
    lines += ["", "Environment: " + json.dumps(env)]
    md = RESULTS / f"{name}.md"
    md.write_text("\n".join(lines) + "\n")
    return md


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.3g}"
    return "" if v is None else str(v)


def print_rows(rows):
    cols = list(dict.fromkeys(k for r in rows for k in r))
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in cols]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(w) for c, w in zip(cols, widths)))
