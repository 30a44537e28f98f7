"""lowrank_la: low-rank numerical linear algebra on NumPy, CuPy and PyTorch arrays.

The backend is inferred from the input arrays (see :func:`get_backend`); there is no global
switch.  Importing the package is cheap: subpackages and everything heavy (scipy, numba, cupy,
torch, dask) load on first use, through module ``__getattr__`` (PEP 562).
"""

from __future__ import annotations

import importlib
import logging

from ._version import __version__

logging.getLogger("lowrank_la").addHandler(logging.NullHandler())

# public name -> module that defines it; resolved lazily on first attribute access.
_LAZY_ATTRS = {
    "get_backend": "._backend",
    "Backend": "._backend",
    "Result": "._result",
    "History": "._result",
    "ConvergenceWarning": "._result",
    "LowRankMatrix": ".linalg",
}
_SUBMODULES = {
    "linalg",
    "sampled",
    "completion",
    "sensing",
    "dlra",
    "tensor",
    "sampling",
    "nn",
    "experiments",
    "distributed",
    "datasets",
}

__all__ = ["__version__", *sorted(_LAZY_ATTRS), *sorted(_SUBMODULES)]


def __getattr__(name: str):
    if name in _LAZY_ATTRS:
        value = getattr(importlib.import_module(_LAZY_ATTRS[name], __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'lowrank_la' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
