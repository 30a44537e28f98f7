"""Import ``numba.cuda`` on NumPy >= 2.5 (where numba-cuda <= 0.30 fails at import).

numba-cuda 0.30 registers an overload for ``numpy.row_stack`` at import time; NumPy 2.5 removed
that alias of ``numpy.vstack``, so ``from numba import cuda`` raises ``AttributeError`` (seen
on an H200 machine with numpy 2.5.2 + numba-cuda 0.30.4, benchmarks/results/gpu-nvidia-h200.md).
Restoring the alias, which NumPy itself defined as ``vstack`` until 2.4, is the smallest fix that
keeps the GPU kernels usable until numba-cuda drops the overload.
"""

from __future__ import annotations

import numpy as np


def import_cuda():
    """``numba.cuda``, importable with any NumPy."""
    if not hasattr(np, "row_stack"):
        setattr(np, "row_stack", np.vstack)  # noqa: B010 - attribute name NumPy removed
    from numba import cuda

    return cuda
