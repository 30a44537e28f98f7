"""Helpers for tests: explicit host copies and cross-backend comparisons."""

from __future__ import annotations

import numpy as np

from ._backend import get_backend

__all__ = ["to_numpy", "assert_close", "assert_same_backend"]


def to_numpy(x):
    """Copy any supported array (or LowRankMatrix) to a NumPy array, explicitly."""
    from .linalg import LowRankMatrix

    if isinstance(x, LowRankMatrix):
        x = x.to_dense()
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np.asarray(x)
    return get_backend(x).to_host(x)


def assert_close(actual, desired, *, rtol=1e-7, atol=0.0, err_msg=""):
    """``numpy.testing.assert_allclose`` after copying both sides to the host."""
    np.testing.assert_allclose(to_numpy(actual), to_numpy(desired), rtol=rtol, atol=atol,
                               err_msg=err_msg)


def assert_same_backend(result, reference, *, dtype=True):
    """Assert ``result`` has the namespace and device (and dtype) of ``reference``."""
    a, b = get_backend(result), get_backend(reference)
    assert a.name == b.name, f"result backend {a.name} != input backend {b.name}"
    assert a.device == b.device, f"result device {a.device!r} != input device {b.device!r}"
    if dtype:
        assert result.dtype == reference.dtype, f"dtype {result.dtype} != {reference.dtype}"
