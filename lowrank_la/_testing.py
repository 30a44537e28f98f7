"""Helpers for tests: explicit host copies and cross-backend comparisons."""

from __future__ import annotations

import contextlib
import math
import threading
import traceback

import numpy as np

from ._backend import get_backend

__all__ = ["to_numpy", "assert_close", "assert_same_backend", "HostCopyCounter",
           "count_host_copies"]


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


class HostCopyCounter:
    """Record of the device-to-host copies seen by :func:`count_host_copies`.

    Attributes
    ----------
    calls : list of tuple
        ``(method, n_elements, where)`` for every copy seen while :attr:`active`; ``where`` is the
        innermost caller outside this module (``file:line``).
    threshold : int
        Copies of more than this many elements count as *large* (control-flow scalars and a few
        singular values stay below it).
    active : bool
        Copies are recorded only while this is true (e.g. switched on by a solver's callback after
        its setup, so that only the iterations are checked).
    """

    def __init__(self, threshold: int = 16, active: bool = True):
        self.threshold = int(threshold)
        self.active = active
        self.calls: list[tuple[str, int, str]] = []

    @property
    def large(self):
        """The recorded copies of more than ``threshold`` elements."""
        return [c for c in self.calls if c[1] > self.threshold]

    @property
    def small(self):
        return [c for c in self.calls if c[1] <= self.threshold]

    def __repr__(self):
        return (f"HostCopyCounter(calls={len(self.calls)}, large={len(self.large)}, "
                f"threshold={self.threshold})")


def _n_elements(x) -> int:
    shape = getattr(x, "shape", None)
    if shape is None:
        return 1
    return int(math.prod(int(s) for s in shape))


def _caller() -> str:
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not frame.filename.endswith(("_testing.py", "contextlib.py")):
            return f"{frame.filename}:{frame.lineno}"
    return "?"


@contextlib.contextmanager
def count_host_copies(cls, methods=("get", "tolist", "item", "__array__"), *, threshold=16,
                      counter=None):
    """Count device-to-host copies made through ``methods`` of the array class ``cls``.

    Wraps each method that ``cls`` has (e.g. ``cupy.ndarray.get``, the path of
    ``cupy.asnumpy``, ``float()`` and ``Backend.to_host``) with a recorder and restores the
    originals on exit.  A call made from inside another recorded call (``tolist`` calling
    ``get``) is counted once.  Only calls made through Python attribute lookup are seen.

    Parameters
    ----------
    cls : type
        The device array class; its methods must be settable (``cupy.ndarray`` and
        ``torch.Tensor`` are Python classes).
    methods : sequence of str
        Method names to wrap (those ``cls`` lacks are skipped).
    threshold : int
        See :class:`HostCopyCounter`.
    counter : HostCopyCounter, optional
        Record into this one (e.g. created inactive).

    Yields
    ------
    HostCopyCounter

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la._testing import count_host_copies
    >>> class Dev:
    ...     def __init__(self, a): self.a, self.shape = a, a.shape
    ...     def get(self): return np.asarray(self.a)
    >>> with count_host_copies(Dev) as c:
    ...     _ = Dev(np.ones(100)).get(); _ = Dev(np.ones(1)).get()
    >>> len(c.calls), len(c.large)
    (2, 1)
    """
    rec = counter if counter is not None else HostCopyCounter(threshold)
    local = threading.local()
    saved = {}

    def wrap(name, orig):
        def wrapper(self, *args, **kwargs):
            depth = getattr(local, "depth", 0)
            if depth == 0 and rec.active:
                rec.calls.append((name, _n_elements(self), _caller()))
            local.depth = depth + 1
            try:
                return orig(self, *args, **kwargs)
            finally:
                local.depth = depth

        wrapper.__name__ = getattr(orig, "__name__", name)
        wrapper.__doc__ = getattr(orig, "__doc__", None)
        return wrapper

    try:
        for name in methods:
            orig = getattr(cls, name, None)
            if orig is None:
                continue
            saved[name] = cls.__dict__.get(name, _MISSING)
            setattr(cls, name, wrap(name, orig))
        yield rec
    finally:
        for name, old in saved.items():
            if old is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, old)


_MISSING = object()
