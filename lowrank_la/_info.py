"""``python -m lowrank_la info``: what this installation can do."""

from __future__ import annotations

import importlib
import importlib.util
import json
import platform


def configure(parser):
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _version(mod):
    if importlib.util.find_spec(mod) is None:
        return None
    try:
        return getattr(importlib.import_module(mod), "__version__", "unknown")
    except Exception as exc:  # noqa: BLE001 - report a broken install instead of crashing
        return f"broken ({type(exc).__name__}: {exc})"


def gpu_status() -> str:
    """Human-readable GPU availability (never raises)."""
    if importlib.util.find_spec("cupy") is None:
        return "no (CuPy not installed; pip install 'lowrank_la[gpu]')"
    try:
        import cupy

        n = cupy.cuda.runtime.getDeviceCount()
        if n == 0:
            return "no (CuPy installed, no CUDA device)"
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        return f"yes ({n} device(s), {name})"
    except Exception as exc:  # noqa: BLE001
        return f"no ({type(exc).__name__}: {exc})"


def collect() -> dict:
    from ._backend import available_kernels, kernel_table
    from ._version import __version__

    info = {
        "lowrank_la": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {m: _version(m) for m in (
            "numpy", "scipy", "array_api_compat", "numba", "cupy", "torch", "dask", "distributed",
            "matplotlib", "tqdm", "sklearn")},
        "gpu": gpu_status(),
        "kernels": {op: available_kernels(op) for op in kernel_table()},
    }
    return info


def run(args) -> int:
    info = collect()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"lowrank_la {info['lowrank_la']} on Python {info['python']} ({info['platform']})")
    print("packages:")
    for name, ver in info["packages"].items():
        print(f"  {name:17s} {ver or '-- not installed'}")
    print(f"GPU usable: {info['gpu']}")
    print("kernels (implementation: importable):")
    if not info["kernels"]:
        print("  (none registered)")
    for op, impls in info["kernels"].items():
        text = ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in impls.items())
        print(f"  {op:22s} {text}")
    return 0
