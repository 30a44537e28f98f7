"""Run every benchmark (or those named): ``python -m benchmarks [--quick] [name ...]``.

Each ``benchmarks/bench_<name>.py`` defines ``run(quick: bool) -> (rows, notes)`` where rows are
dicts with the sizes, the library time, the baseline/peer time and their ratio.  Results go to
``benchmarks/results/<name>.md`` and ``.json``.
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
    args = parser.parse_args(argv)
    names = args.names or discover()
    unknown = sorted(set(names) - set(discover()))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {discover()}")
    env = environment()
    for name in names:
        mod = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"== {name} ==", flush=True)
        rows, notes = mod.run(quick=args.quick)
        print_rows(rows)
        suffix = "-quick" if args.quick else ""
        path = write_results(name + suffix, rows, env, notes)
        print(f"-> {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
