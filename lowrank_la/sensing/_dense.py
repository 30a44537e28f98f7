"""Operators stored as one ``(m, n1 * n2)`` array: Gaussian designs and user sensing matrices.

Storing the ``m`` sensing matrices as the rows of one array makes ``A(X)`` one matrix-vector
product (or one matrix-matrix product for a batch of ``X``) and ``A*(z)`` another: the whole
cost of a sensing iteration is two passes over that array, which is memory-bandwidth bound.
Symmetric sensing matrices are stored as packed upper triangles (``n (n + 1) / 2`` numbers per
row), which halves the traffic; the off-diagonal weight 2 of the packed inner product is folded
into the (cheap, ``O(n^2)``) gather of ``X``, not into the stored array.
"""

from __future__ import annotations

import numpy as np

from .._backend import get_backend
from .._validation import check_array, check_int, check_rng
from ._base import MeasurementOperator, _resolve_dtype

__all__ = ["DenseMeasurements", "GaussianMeasurements", "MatrixMeasurements"]

_CHUNK = 1 << 22  # host numbers drawn per chunk: bounds the float64 scratch at 32 MB


class DenseMeasurements(MeasurementOperator):
    """Measurement operator held as one dense ``(m, d)`` array (``d = n1 n2`` or packed).

    Not built directly: use :class:`GaussianMeasurements` or :class:`MatrixMeasurements`.
    """

    def _setup(self, matrix, shape, *, packed: bool, bk):
        self.backend = bk
        self.shape = (int(shape[0]), int(shape[1]))
        self.m = int(matrix.shape[0])
        self.matrix = matrix
        self.dtype = matrix.dtype
        self.packed = bool(packed)
        self.symmetric = self.symmetric or self.packed
        if self.packed:
            n = self.shape[0]
            iu, ju = np.triu_indices(n)
            xp, dev = bk.xp, bk.device
            # forward: u_p = (X[j,k] + X[k,j]) * (1/2 on the diagonal) equals the weighted
            # packed inner product <A_i, X> = sum_p a_ip u_p for symmetric A_i.
            self._upper = xp.asarray(iu * n + ju, device=dev)
            self._lower = xp.asarray(ju * n + iu, device=dev)
            self._half = xp.asarray(np.where(iu == ju, 0.5, 1.0), dtype=self.dtype, device=dev)
            # adjoint: entry (j, k) of A*(z) is packed entry p(min(j,k), max(j,k)).
            slot = np.empty((n, n), dtype=np.int64)
            slot[iu, ju] = np.arange(iu.shape[0])
            slot[ju, iu] = np.arange(iu.shape[0])
            self._slot = xp.asarray(np.reshape(slot, (-1,)), device=dev)

    @property
    def nbytes(self) -> int:
        """Bytes of the stored array (what one pass over the operator reads)."""
        return int(np.prod(self.matrix.shape)) * (4 if self.dtype == self.xp.float32 else 8)

    def astype(self, dtype):
        """A copy of the operator in floating ``dtype`` ("float32" or "float64")."""
        dtype = _resolve_dtype(self.xp, dtype, None)
        if dtype == self.dtype:
            return self
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._setup(self.xp.astype(self.matrix, dtype), self.shape, packed=self.packed,
                   bk=self.backend)
        return new

    def _vec(self, X):
        xp = self.xp
        n1, n2 = self.shape
        Xf = xp.reshape(X, (*X.shape[:-2], n1 * n2))
        if not self.packed:
            return Xf
        u = xp.take(Xf, self._upper, axis=-1) + xp.take(Xf, self._lower, axis=-1)
        return u * self._half

    def _forward(self, X):
        # one GEMV (one GEMM for a batch)
        u = self._vec(X)
        if u.ndim == 1:
            return self.matrix @ u
        return u @ self.xp.matrix_transpose(self.matrix)

    def _adjoint(self, z):
        xp = self.xp
        v = z @ self.matrix
        if self.packed:
            v = xp.take(v, self._slot, axis=-1)
        return xp.reshape(v, (*z.shape[:-1], *self.shape))


class GaussianMeasurements(DenseMeasurements):
    """Gaussian design: ``A_i`` with iid ``N(0, 1/m)`` entries.

    Normalization: ``E ||A(X)||^2 = ||X||_F^2`` for every ``X`` (symmetric ``X`` in the
    symmetric case), so the losses ``1/2 ||A(L R^T) - y||^2`` (asymmetric) and
    ``1/4 ||A(X X^T) - y||^2`` (symmetric) are near ``1/2 ||L R^T - M||_F^2`` and
    ``1/4 ||X X^T - M||_F^2``, and step sizes mean the same as for the ``N(0, 1)`` design
    with the loss divided by ``m``.

    With ``symmetric=True`` the matrices are ``A_i = (G_i + G_i^T) / 2`` with ``G_i`` iid
    ``N(0, 1/m)`` (not divided by ``sqrt(2)``): diagonal entries ``N(0, 1/m)``, off-diagonal
    ``N(0, 1/(2m))``.  They are drawn and stored directly as packed upper triangles.

    Parameters
    ----------
    shape : tuple of int
        ``(n1, n2)``, the shape of the sensed matrices (``n1 == n2`` when symmetric).
    m : int
        Number of measurements.
    symmetric : bool
        Symmetric sensing matrices, stored packed.
    dtype : {None, "float32", "float64"}
        Floating dtype (default: that of ``like``, else float64).
    rng : None, int or numpy.random.Generator
        Randomness (drawn on the host: the same operator on every backend).
    like : array, optional
        An array of the backend and device the operator should live on (default NumPy).

    Raises
    ------
    ValueError
        If ``shape`` or ``m`` are not positive, or ``symmetric`` with ``n1 != n2``.

    References
    ----------
    .. [1] T. Tong, C. Ma, Y. Chi, "Accelerating ill-conditioned low-rank matrix estimation via
       scaled gradient descent", JMLR 22 (2021).
    .. [2] X. Xu, Y. Shen, Y. Chi, C. Ma, "The power of preconditioning in overparameterized
       low-rank matrix sensing", ICML 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sensing import GaussianMeasurements
    >>> A = GaussianMeasurements((5, 5), 200, symmetric=True, rng=0)
    >>> A.matrix.shape                      # packed: 5 * 6 / 2 numbers per measurement
    (200, 15)
    >>> X = np.eye(5)
    >>> bool(np.isclose(np.sum(A(X) ** 2), 5.0, rtol=0.3))   # E||A(X)||^2 = ||X||_F^2
    True
    """

    def __init__(self, shape, m, *, symmetric=False, dtype=None, rng=None, like=None):
        shape = _check_shape(shape)
        m = check_int(m, "m", minimum=1)
        if symmetric and shape[0] != shape[1]:
            raise ValueError(f"`symmetric=True` needs a square `shape`, got {shape}")
        rng = check_rng(rng)
        bk = get_backend(like)
        dt = _resolve_dtype(bk.xp, dtype, like)
        host_dt = np.float32 if dt == bk.xp.float32 else np.float64
        n1, n2 = shape
        if symmetric:
            iu, ju = np.triu_indices(n1)
            std = np.where(iu == ju, 1.0, np.sqrt(0.5)) / np.sqrt(m)
            d = iu.shape[0]
        else:
            std = np.full(n1 * n2, 1.0 / np.sqrt(m))
            d = n1 * n2
        host = np.empty((m, d), dtype=host_dt)
        step = max(1, _CHUNK // d)
        for i in range(0, m, step):  # chunked: float64 scratch stays small for float32 output
            j = min(m, i + step)
            host[i:j] = rng.standard_normal((j - i, d)) * std
        self.symmetric = bool(symmetric)
        self._setup(bk.from_host(host), shape, packed=bool(symmetric), bk=bk)


class MatrixMeasurements(DenseMeasurements):
    """Measurement operator from user-supplied sensing matrices ``A_i``.

    ``y_i = <A_i, X> = sum_jk A_i[j, k] X[j, k]``; no normalization is applied (scale the
    matrices yourself so that ``E ||A(X)||^2 ~ ||X||_F^2`` if you want the default step sizes of
    the solvers to mean what they mean for :class:`GaussianMeasurements`).

    Parameters
    ----------
    matrices : array, shape (m, n1, n2)
        The sensing matrices (any backend; the operator lives on their backend and device).
    symmetric : bool or None
        Declare whether every ``A_i`` is symmetric; ``None`` checks (to ``1e-12`` relative).
        Symmetric matrices are stored packed.

    Raises
    ------
    ValueError
        On NaN/inf, a wrong number of dimensions, or ``symmetric=True`` for matrices that are
        not symmetric.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sensing import MatrixMeasurements
    >>> A = MatrixMeasurements(np.stack([np.eye(2), np.array([[0.0, 1.0], [0.0, 0.0]])]))
    >>> A(np.array([[1.0, 2.0], [3.0, 4.0]]))           # trace and the (0, 1) entry
    array([5., 2.])
    >>> A.symmetric
    False
    """

    def __init__(self, matrices, *, symmetric=None):
        check_array(matrices, "matrices", ndim=3, dtype_kind="numeric")
        bk = get_backend(matrices)
        xp = bk.xp
        dt = bk.float_dtype(matrices)
        M = xp.astype(matrices, dt)
        m, n1, n2 = (int(s) for s in M.shape)
        is_sym = False
        if n1 == n2:
            diff = xp.max(xp.abs(M - xp.permute_dims(M, (0, 2, 1))))
            is_sym = bool(diff <= 1e-12 * xp.max(xp.abs(M)))
        if symmetric is None:
            symmetric = is_sym
        elif symmetric and not is_sym:
            raise ValueError("`symmetric=True` but the `matrices` are not symmetric")
        self.symmetric = bool(symmetric)
        flat = xp.reshape(M, (m, n1 * n2))
        if symmetric:
            iu, ju = np.triu_indices(n1)
            flat = xp.take(flat, xp.asarray(iu * n1 + ju, device=bk.device), axis=1)
        self._setup(flat, (n1, n2), packed=bool(symmetric), bk=bk)


def _check_shape(shape):
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise ValueError(f"`shape` must be a pair (n1, n2), got {shape!r}")
    return tuple(check_int(s, "shape", minimum=1) for s in shape)
