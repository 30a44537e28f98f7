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


def write_results(name: str, rows: list[dict], env: dict, notes: str = "",
                  group_by: str | None = None) -> Path:
    """Write ``results/<name>.json`` and ``results/<name>.md``; return the markdown path.

    With ``group_by``, the markdown holds one table per value of that column (in order of first
    appearance), each with only the columns its rows use.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"env": env, "rows": rows}, indent=2,
                                                     default=_json_default))
    groups = {None: rows} if group_by is None else {}
    if group_by is not None:
        for r in rows:
            groups.setdefault(r.get(group_by), []).append(r)
    lines = [f"# {name}", "", notes, "" if notes else ""]
    for key, grp in groups.items():
        cols = list(dict.fromkeys(k for r in grp for k in r))
        if group_by is not None:
            cols = [c for c in cols if c != group_by]
            lines += [f"## {key}", ""]
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in grp:
            lines.append("| " + " | ".join(_fmt(r.get(c)).replace("|", "/") for c in cols) + " |")
        lines.append("")
    lines += ["Environment: " + json.dumps(env, default=_json_default)]
    md = RESULTS / f"{name}.md"
    md.write_text("\n".join(lines) + "\n")
    return md


def _json_default(v):
    """numpy scalars and anything else json cannot encode: as a Python number, else str."""
    try:
        return v.item()
    except Exception:  # noqa: BLE001
        return str(v)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.3g}"
    return "" if v is None else str(v)


def print_rows(rows, group_by=None):
    groups = {None: rows} if group_by is None else {}
    if group_by is not None:
        for r in rows:
            groups.setdefault(r.get(group_by), []).append(r)
    for key, grp in groups.items():
        if group_by is not None:
            print(f"[{key}]")
        cols = list(dict.fromkeys(k for r in grp for k in r))
        widths = [max(len(c), *(len(_fmt(r.get(c))) for r in grp)) for c in cols]
        print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
        for r in grp:
            print("  ".join(_fmt(r.get(c)).ljust(w) for c, w in zip(cols, widths)))
