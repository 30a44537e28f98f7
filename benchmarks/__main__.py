"""Run every benchmark (or those named): ``python -m benchmarks [--quick] [--full] [name ...]``.

Each ``benchmarks/bench_<name>.py`` defines ``run(quick: bool) -> (rows, notes)`` where rows are
dicts with the sizes, the library time, the baseline/peer time and their ratio.  Results go to
``benchmarks/results/<name>.md`` and ``.json`` (or to ``result_name(quick)`` when the module
defines it).  Modules with ``REQUIRES_GPU = True`` run only when named, and a module's
``unavailable()`` (a reason, or None) skips it with that message instead of failing.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from pathlib import Path

# Numba on 2-core machines: the default OpenMP spin-wait makes every parallel region cost ~16 ms.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

from ._harness import environment, print_rows, write_results  # noqa: E402


def discover():
    here = Path(__file__).resolve().parent
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(here)])
                  if m.name.startswith("bench_"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {discover()})")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--full", action="store_true",
                        help="the largest sizes where a benchmark has them (sets BENCH_FULL=1)")
    args = parser.parse_args(argv)
    if args.full:
        os.environ["BENCH_FULL"] = "1"
    names = args.names or [n for n in discover() if not getattr(
        importlib.import_module(f"benchmarks.bench_{n}"), "REQUIRES_GPU", False)]
    unknown = sorted(set(names) - set(discover()))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {discover()}")
    env = environment()
    status = 0
    for name in names:
        mod = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"== {name} ==", flush=True)
        reason = mod.unavailable() if hasattr(mod, "unavailable") else None
        if reason:
            print(f"skipped: {reason}\n", file=sys.stderr, flush=True)
            status = 2
            continue
        rows, notes = mod.run(quick=args.quick)
        print_rows(rows, group_by=getattr(mod, "GROUP_BY", None))
        suffix = "-quick" if args.quick else ""
        out = mod.result_name(args.quick) if hasattr(mod, "result_name") else name + suffix
        path = write_results(out, rows, env, notes, group_by=getattr(mod, "GROUP_BY", None))
        print(f"-> {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
