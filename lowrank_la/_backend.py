"""Backend inference: the array namespace, device and native linear algebra of the inputs.

The backend is always inferred from the arrays a routine receives (``get_backend(U, V)``); there
is no global switch and no environment variable.  Library code is written against the array-API
namespace ``bk.xp``; what the standard lacks goes through ``bk.linalg`` (economic QR, thin SVD,
triangular and batched SPD solves, least squares) and ``bk.kernel(op)`` (compiled loops over
sampled entries), each native per backend with a portable array-API fallback.

Design choices
--------------
* Mixed array libraries raise ``TypeError``, mixed devices ``ValueError``: a silent conversion
  would hide a device-to-host copy.
* Random numbers are drawn on the host with a :class:`numpy.random.Generator` and moved to the
  caller's device (:meth:`Backend.random_normal`), so one seed gives the same result on every
  backend and thread count (SPEC 7).  Only host-to-device copies happen, never the reverse.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import array_api_compat
import numpy as np

__all__ = ["Backend", "get_backend", "register_kernel", "available_kernels", "kernel_table"]

logger = logging.getLogger("lowrank_la")


def _backend_name(xp) -> str:
    if array_api_compat.is_numpy_namespace(xp):
        return "numpy"
    if array_api_compat.is_cupy_namespace(xp):
        return "cupy"
    if array_api_compat.is_torch_namespace(xp):
        return "torch"
    if array_api_compat.is_array_api_strict_namespace(xp):
        return "array_api_strict"
    if array_api_compat.is_dask_namespace(xp):
        return "dask"
    return getattr(xp, "__name__", "unknown")


def _is_array(x) -> bool:
    return array_api_compat.is_array_api_obj(x) and not isinstance(x, (int, float, complex, bool))


def get_backend(*arrays) -> Backend:
    """Return the :class:`Backend` (namespace, device, native linear algebra) of ``arrays``.

    ``None`` entries and Python scalars are ignored; with no array at all the NumPy backend is
    returned.

    Parameters
    ----------
    *arrays : array_like
        NumPy, CuPy, PyTorch, array-api-strict (or other array-API) arrays.

    Returns
    -------
    Backend

    Raises
    ------
    TypeError
        If the arrays come from different array libraries, or an argument is not an array.
    ValueError
        If the arrays live on different devices.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la import get_backend
    >>> bk = get_backend(np.ones((3, 2)), np.zeros(2))
    >>> bk.name, bk.device
    ('numpy', 'cpu')
    """
    found = []
    for i, a in enumerate(arrays):
        if a is None or isinstance(a, (int, float, bool, complex, np.generic)):
            continue
        if not _is_array(a):
            raise TypeError(
                f"argument {i} is not an array (got {type(a).__name__}); pass NumPy, CuPy, "
                "PyTorch or array-API arrays"
            )
        found.append(a)
    if not found:
        return _numpy_backend()
    xp = array_api_compat.array_namespace(*found)  # TypeError on mixed libraries
    devices = [array_api_compat.device(a) for a in found]
    first = devices[0]
    for i, d in enumerate(devices[1:], start=1):
        if d != first:
            raise ValueError(
                f"arrays live on different devices ({first!r} and {d!r}, argument {i}); move them "
                "to one device explicitly, lowrank_la never copies between devices silently"
            )
    return Backend(xp=xp, name=_backend_name(xp), device=first)


_NUMPY_BACKEND = None


def _numpy_backend() -> Backend:
    global _NUMPY_BACKEND
    if _NUMPY_BACKEND is None:
        import array_api_compat.numpy as xnp

        _NUMPY_BACKEND = Backend(xp=xnp, name="numpy", device="cpu")
    return _NUMPY_BACKEND


# --------------------------------------------------------------------------------------------
# Kernel registry
# --------------------------------------------------------------------------------------------

# op -> {"generic": "module:attr", "numpy": ..., "cupy": ..., "torch": ...}
_KERNELS: dict[str, dict[str, str]] = {}
_RESOLVED: dict[tuple[str, str], Callable] = {}


def register_kernel(op: str, *, generic: str, **native: str) -> None:
    """Register the implementations of kernel ``op``.

    Parameters
    ----------
    op : str
        Kernel name, e.g. ``"sddmm"``.
    generic : str
        ``"module:function"`` of the array-API reference implementation (the fallback and the
        test oracle).
    **native : str
        ``backend_name="module:function"`` for native implementations (``numpy`` for Numba CPU
        kernels, ``cupy`` for numba-cuda kernels, ``torch`` ...).  Modules are imported on first
        use only.
    """
    _KERNELS[op] = {"generic": generic, **native}
    for key in [k for k in _RESOLVED if k[0] == op]:
        del _RESOLVED[key]


def kernel_table() -> dict[str, dict[str, str]]:
    """Return a copy of the kernel registry (op -> backend -> ``"module:function"``)."""
    _ensure_kernels_registered()
    return {op: dict(impls) for op, impls in _KERNELS.items()}


def _ensure_kernels_registered() -> None:
    # The sampled-entry kernels register themselves when their package is imported.
    try:
        importlib.import_module("lowrank_la.sampled._kernels")
    except ModuleNotFoundError as exc:  # pragma: no cover - only before the sampled package exists
        if "lowrank_la.sampled" not in str(exc):
            raise


def _load(path: str) -> Callable:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def available_kernels(op: str) -> dict[str, bool]:
    """Which implementations of ``op`` can be imported here (e.g. numba missing -> False)."""
    _ensure_kernels_registered()
    if op not in _KERNELS:
        raise ValueError(f"unknown kernel `op`={op!r}; known: {sorted(_KERNELS)}")
    out = {}
    for impl, path in _KERNELS[op].items():
        try:
            _load(path)
            out[impl] = True
        except Exception:  # noqa: BLE001 - report any import failure as "not available"
            out[impl] = False
    return out


# --------------------------------------------------------------------------------------------
# Native linear algebra
# --------------------------------------------------------------------------------------------


class _GenericLinalg:
    """Portable implementations on top of ``xp.linalg`` (array-API ``linalg`` extension)."""

    def __init__(self, bk: Backend):
        self.bk = bk
        self.xp = bk.xp

    def qr(self, A):
        """Economic QR: ``A = Q R`` with Q (m, k), R (k, n), k = min(m, n); no sign fixing."""
        return self.xp.linalg.qr(A, mode="reduced")

    def svd(self, A):
        """Thin SVD ``A = U diag(s) Vh``."""
        return self.xp.linalg.svd(A, full_matrices=False)

    def eigh(self, A):
        return self.xp.linalg.eigh(A)

    def cheap_basis(self, A):
        """A well-conditioned basis of ``range(A)``, not necessarily orthonormal.

        Used between power iterations, where only the spanned subspace matters: the
        permuted-L factor of an LU decomposition costs about half a QR.  The generic fallback is
        the Q factor of QR.
        """
        return self.qr(A)[0]

    def cholesky(self, A):
        """Lower Cholesky factor (batched over leading axes)."""
        return self.xp.linalg.cholesky(A)

    def solve_triangular(self, A, B, *, lower: bool):
        return self.xp.linalg.solve(A, B)

    def spd_solve(self, A, B):
        """Solve ``A X = B`` for symmetric positive definite ``A`` (batched, B is (..., n, k))."""
        self.cholesky(A)  # raises on a matrix that is not positive definite
        return self.xp.linalg.solve(A, B)

    def lstsq(self, A, B, rcond=None):
        """Minimum-norm least squares via the thin SVD (B is (m, k))."""
        xp = self.xp
        U, s, Vh = self.svd(A)
        if rcond is None:
            rcond = max(A.shape) * float(xp.finfo(A.dtype).eps)
        cutoff = rcond * s[0] if s.shape[0] else 0.0
        inv = xp.where(s > cutoff, 1.0 / xp.where(s > cutoff, s, 1.0), 0.0)
        return Vh.T @ ((U.T @ B) * inv[:, None])


class _NumpyLinalg(_GenericLinalg):
    """SciPy LAPACK calls: faster than numpy.linalg for economic QR and SVD."""

    def qr(self, A):
        import scipy.linalg

        return scipy.linalg.qr(A, mode="economic", check_finite=False)

    def svd(self, A):
        import scipy.linalg

        try:
            return scipy.linalg.svd(A, full_matrices=False, check_finite=False)
        except np.linalg.LinAlgError:
            # gesdd occasionally fails to converge; the QR-iteration driver is slower but robust.
            return scipy.linalg.svd(
                A, full_matrices=False, check_finite=False, lapack_driver="gesvd"
            )

    def eigh(self, A):
        import scipy.linalg

        return scipy.linalg.eigh(A, check_finite=False)

    def cheap_basis(self, A):
        import scipy.linalg

        return scipy.linalg.lu(A, permute_l=True, check_finite=False)[0]

    def cholesky(self, A):
        return np.linalg.cholesky(A)

    def solve_triangular(self, A, B, *, lower: bool):
        import scipy.linalg

        return scipy.linalg.solve_triangular(A, B, lower=lower, check_finite=False)

    def spd_solve(self, A, B):
        if A.ndim == 2:
            import scipy.linalg

            c = scipy.linalg.cho_factor(A, lower=True, check_finite=False)
            return scipy.linalg.cho_solve(c, B, check_finite=False)
        L = np.linalg.cholesky(A)
        Y = np.linalg.solve(L, B)
        return np.linalg.solve(np.swapaxes(L, -1, -2), Y)

    def lstsq(self, A, B, rcond=None):
        import scipy.linalg

        return scipy.linalg.lstsq(A, B, cond=rcond, check_finite=False)[0]


class _TorchLinalg(_GenericLinalg):
    def cheap_basis(self, A):
        import torch

        P, L, _ = torch.linalg.lu(A)
        return P @ L

    def solve_triangular(self, A, B, *, lower: bool):
        import torch

        return torch.linalg.solve_triangular(A, B, upper=not lower)

    def spd_solve(self, A, B):
        import torch

        L = torch.linalg.cholesky(A)
        return torch.cholesky_solve(B, L)


class _CupyLinalg(_GenericLinalg):
    def solve_triangular(self, A, B, *, lower: bool):  # pragma: no cover - needs a GPU
        import cupyx.scipy.linalg

        return cupyx.scipy.linalg.solve_triangular(A, B, lower=lower)

    def spd_solve(self, A, B):  # pragma: no cover - needs a GPU
        import cupyx
        from cupyx import lapack

        if A.ndim == 2:
            # one system: cuSOLVER's status (a scalar) is checked, as LAPACK's is on the CPU
            with cupyx.errstate(linalg="raise"):
                return lapack.posv(A.copy(), B.copy())  # posv overwrites its inputs
        if A.ndim > 2:
            # batched potrf/potrs; reading back one status per system would copy the batch's
            # size to the host every call: a failed factorization shows up as non-finite values
            # instead, checked with one scalar
            X = lapack.posv(A.copy(), B.copy())
            if not bool(self.xp.all(self.xp.isfinite(X))):
                raise np.linalg.LinAlgError("spd_solve: a matrix of the batch is not positive "
                                            "definite (non-finite solution)")
            return X
        return super().spd_solve(A, B)


_LINALG_CLASSES = {"numpy": _NumpyLinalg, "torch": _TorchLinalg, "cupy": _CupyLinalg}


# --------------------------------------------------------------------------------------------
# Backend
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """Array namespace, backend name and device of a routine's inputs.

    Attributes
    ----------
    xp : module
        The array-API compatible namespace (``array_api_compat.numpy``, ``.cupy``, ``.torch``,
        ``array_api_strict``, ...).
    name : str
        ``"numpy"``, ``"cupy"``, ``"torch"``, ``"array_api_strict"``, ``"dask"`` or the module name.
    device : object
        The device every array of this call lives on.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la import get_backend
    >>> bk = get_backend(np.eye(3))
    >>> Q, R = bk.linalg.qr(np.eye(3))
    >>> bk.asarray([1.0, 2.0]).dtype
    dtype('float64')
    """

    xp: Any
    name: str
    device: Any
    _cache: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def linalg(self) -> _GenericLinalg:
        """Native linear algebra for this backend (economic QR, SVD, solves, lstsq)."""
        la = self._cache.get("linalg")
        if la is None:
            la = _LINALG_CLASSES.get(self.name, _GenericLinalg)(self)
            self._cache["linalg"] = la
        return la

    @property
    def is_gpu(self) -> bool:
        """True for arrays on a CUDA device."""
        if self.name == "cupy":
            return True
        return self.name == "torch" and getattr(self.device, "type", "cpu") == "cuda"

    def kernel(self, op: str, impl: str | None = None) -> Callable:
        """Return the best implementation of kernel ``op`` for this backend.

        Parameters
        ----------
        op : str
            Kernel name (see :func:`lowrank_la._backend.kernel_table`).
        impl : {None, "generic", "numpy", "cupy", "torch"}
            Force an implementation (tests use ``"generic"`` as the oracle).  ``None`` picks the
            native one for this backend and falls back to ``"generic"`` when there is none or it
            cannot be imported (logged at DEBUG level).
        """
        _ensure_kernels_registered()
        impls = _KERNELS.get(op)
        if impls is None:
            raise ValueError(f"unknown kernel `op`={op!r}; known: {sorted(_KERNELS)}")
        if impl is not None:
            if impl not in impls:
                raise ValueError(f"kernel {op!r} has no implementation `impl`={impl!r}")
            key = (op, impl)
            if key not in _RESOLVED:
                _RESOLVED[key] = _load(impls[impl])
            return _RESOLVED[key]
        key = (op, self.name if not self.is_gpu or self.name == "cupy" else "torch-cuda")
        fn = _RESOLVED.get(key)
        if fn is None:
            fn = None
            if self.name in impls and not (self.name == "torch" and self.is_gpu):
                try:
                    fn = _load(impls[self.name])
                except ImportError as exc:
                    logger.debug("kernel %s[%s] unavailable (%s); using generic", op, self.name, exc)
            if fn is None:
                fn = _load(impls["generic"])
            _RESOLVED[key] = fn
        return fn

    # -- array creation on this backend's device ------------------------------------------

    def asarray(self, x, dtype=None, copy=None):
        """``xp.asarray`` on this backend's device."""
        return self.xp.asarray(x, dtype=dtype, device=self.device, copy=copy)

    def float_dtype(self, *arrays):
        """The floating dtype results should have: float32 stays float32, else float64."""
        xp = self.xp
        dtypes = [a.dtype for a in arrays if a is not None and hasattr(a, "dtype")]
        floats = [d for d in dtypes if xp.isdtype(d, "real floating")]
        if floats and all(d == xp.float32 for d in floats):
            return xp.float32
        return xp.float64

    def random_normal(self, rng: np.random.Generator, shape, dtype=None):
        """Standard normal samples drawn on the host from ``rng`` and placed on this device."""
        dtype = self.xp.float64 if dtype is None else dtype
        host = rng.standard_normal(size=shape)
        return self.xp.asarray(
            self.xp.asarray(host, device=self.device), dtype=dtype
        )

    def from_host(self, host_array, dtype=None):
        """Move a NumPy array to this backend and device (host-to-device only)."""
        if self.name == "numpy":
            return np.asarray(host_array, dtype=dtype)
        return self.xp.asarray(np.ascontiguousarray(host_array), dtype=dtype, device=self.device)

    def to_host(self, x):
        """Copy ``x`` to a NumPy array, explicitly.

        Library code calls this only on small results that decide control flow (a few singular
        values, a residual norm), never on per-entry data inside an iteration.
        """
        if self.name == "numpy":
            return np.asarray(x)
        if self.name == "cupy":  # pragma: no cover - needs a GPU
            return x.get()
        if self.name == "torch":
            return x.detach().cpu().numpy()
        if self.name == "array_api_strict":
            import array_api_strict

            return np.asarray(x.to_device(array_api_strict.Device("CPU_DEVICE")))
        return np.asarray(x)

    def __repr__(self):
        return f"Backend(name={self.name!r}, device={self.device!r})"
