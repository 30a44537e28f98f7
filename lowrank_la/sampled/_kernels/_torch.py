"""PyTorch CPU tensors on the Numba kernels through zero-copy ``.numpy()`` views.

Tensors that require grad take the array-API path instead (it is differentiable through
``take``/``sum``); the Numba kernels would silently cut the graph.  CUDA tensors never reach this
module (the registry sends them to the generic kernels).
"""

from __future__ import annotations

import numpy as np

from . import _cpu, _generic

__all__ = ["sddmm", "sddmm_residual", "spmm", "rowwise_gram", "rowwise_lstsq", "rowwise_cg"]


def _wrap(name):
    cpu_fn, generic_fn = getattr(_cpu, name), getattr(_generic, name)

    def fn(*args):
        import torch

        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        if any(t.requires_grad for t in tensors) or any(t.device.type != "cpu" for t in tensors):
            return generic_fn(*args)
        out = cpu_fn(*(a.numpy() if isinstance(a, torch.Tensor) else a for a in args))

        def back(x):
            if isinstance(x, np.ndarray):
                return torch.from_numpy(x)
            return x

        return tuple(back(x) for x in out) if isinstance(out, tuple) else back(out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Torch CPU wrapper of the Numba ``{name}`` kernel."
    return fn


sddmm = _wrap("sddmm")
sddmm_residual = _wrap("sddmm_residual")
spmm = _wrap("spmm")
rowwise_gram = _wrap("rowwise_gram")
rowwise_lstsq = _wrap("rowwise_lstsq")
rowwise_cg = _wrap("rowwise_cg")
