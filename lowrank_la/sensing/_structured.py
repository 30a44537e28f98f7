"""Structured operators: rank-one measurements and entry sampling (matrix completion).

Both avoid the ``m n1 n2`` storage of a dense design and act on factored iterates directly:
``A(L R^T)`` costs ``O(m (n1 + n2) k)`` for rank-one measurements and ``O(m k)`` for sampled
entries, instead of forming ``L R^T``.
"""

from __future__ import annotations

import numpy as np

from .._backend import get_backend
from .._validation import check_array, check_int, check_rng, check_same_backend
from ._base import MeasurementOperator, _resolve_dtype
from ._dense import _check_shape

__all__ = ["RankOneMeasurements", "EntrySampling"]


class RankOneMeasurements(MeasurementOperator):
    """Rank-one measurements ``y_i = a_i^T X b_i / sqrt(m)`` (``A_i = a_i b_i^T / sqrt(m)``).

    With ``a_i, b_i`` iid ``N(0, I)`` (independent), ``E ||A(X)||^2 = ||X||_F^2``.  With
    ``symmetric=True``, ``b_i = a_i`` (``A_i = a_i a_i^T / sqrt(m)``, PSD); then
    ``E ||A(X)||^2 = 2 ||X||_F^2 + tr(X)^2`` for symmetric ``X``: the design is not isotropic
    (the trace direction is over-weighted), a known property of rank-one PSD measurements.

    Parameters
    ----------
    shape : tuple of int
        ``(n1, n2)``.
    m : int
        Number of measurements.
    symmetric : bool
        Use ``a_i a_i^T`` (needs ``n1 == n2``).
    dtype : {None, "float32", "float64"}
    rng : None, int or numpy.random.Generator
    like : array, optional
        An array of the backend and device to use (default NumPy).

    Raises
    ------
    ValueError
        If sizes are not positive, or ``symmetric`` with ``n1 != n2``.

    References
    ----------
    .. [1] Y. Chen, Y. Chi, A. Goldsmith, "Exact and stable covariance estimation from
       quadratic sampling via convex programming", IEEE Trans. Inf. Theory 61 (2015).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sensing import RankOneMeasurements
    >>> A = RankOneMeasurements((6, 4), 30, rng=0)
    >>> L, R = np.ones((6, 2)), np.ones((4, 2))
    >>> bool(np.allclose(A.forward_factored(L, R), A(L @ R.T)))
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
        a = rng.standard_normal((m, shape[0]))
        b = a if symmetric else rng.standard_normal((m, shape[1]))
        self._setup(bk.from_host(a), bk.from_host(b), dt, bool(symmetric), bk)

    @classmethod
    def from_vectors(cls, a, b=None):
        """Build from given vectors: ``A_i = a_i b_i^T / sqrt(m)`` (``b=None``: ``b = a``).

        Parameters
        ----------
        a : array, shape (m, n1)
        b : array, shape (m, n2), optional

        Returns
        -------
        RankOneMeasurements
        """
        check_array(a, "a", ndim=2)
        if b is not None:
            check_array(b, "b", ndim=2)
            if b.shape[0] != a.shape[0]:
                raise ValueError(f"`a` and `b` must have as many rows, got {a.shape[0]} and "
                                 f"{b.shape[0]}")
        bk = check_same_backend(("a", a), ("b", b))
        dt = bk.float_dtype(a, b)
        self = object.__new__(cls)
        self._setup(a, a if b is None else b, dt, b is None, bk)
        return self

    def _setup(self, a, b, dtype, symmetric, bk):
        xp = bk.xp
        self.backend = bk
        self.dtype = dtype
        self.a = xp.astype(a, dtype)
        self.b = self.a if symmetric else xp.astype(b, dtype)
        self.m = int(a.shape[0])
        self.shape = (int(a.shape[1]), int(self.b.shape[1]))
        self.symmetric = bool(symmetric)
        self._scale = 1.0 / float(np.sqrt(self.m))

    def _forward(self, X):
        xp = self.xp
        XB = X @ xp.matrix_transpose(self.b)  # (..., n1, m)
        return xp.sum(xp.matrix_transpose(self.a) * XB, axis=-2) * self._scale

    def _adjoint(self, z):
        xp = self.xp
        return (xp.matrix_transpose(self.a) @ (z[..., :, None] * self.b)) * self._scale

    def forward_factored(self, L, R):
        """``A(L R^T)`` in ``O(m (n1 + n2) k)`` without forming ``L R^T``."""
        xp = self.xp
        return xp.sum((self.a @ L) * (self.b @ R), axis=-1) * self._scale

    def adjoint_times(self, z, right=None, left=None):
        """``A*(z) @ right`` and ``A*(z)^T @ left`` in ``O(m (n1 + n2) k)``."""
        xp = self.xp
        zs = z[..., :, None] * self._scale
        out_r = None if right is None else xp.matrix_transpose(self.a) @ (zs * (self.b @ right))
        out_l = None if left is None else xp.matrix_transpose(self.b) @ (zs * (self.a @ left))
        return out_r, out_l


class EntrySampling(MeasurementOperator):
    """Matrix completion as sensing: ``y_i = sqrt(n1 n2 / m) X[rows_i, cols_i]``.

    The scale makes ``E ||A(X)||^2 = ||X||_F^2`` for uniformly sampled positions, so
    ``A*(A(M)) = P_Omega(M) / p`` (``p = m / (n1 n2)``) is the usual unbiased estimate and the
    solvers' step sizes mean the same as for Gaussian designs.  Positions are distinct.

    The factored products the solvers use run on the sampled-entry kernels of
    :mod:`lowrank_la.sampled` (Numba on the CPU, numba-cuda on CuPy): ``A(L R^T)`` is an SDDMM
    and ``A*(z) R``, ``A*(z)^T L`` are SpMMs, all ``O(m k)``.  The dense adjoint ``A*(z)`` (and
    batched factors) use a portable gather: positions are kept sorted, and each of the
    ``n1 n2`` output entries looks up its slot (found once by ``searchsorted``), which needs no
    scatter-add (absent from the array API).

    Parameters
    ----------
    shape : tuple of int
        ``(n1, n2)``.
    m : int, optional
        Number of positions sampled uniformly without replacement (with ``rng``).
    rows, cols : arrays of int, optional
        Given positions instead of ``m`` (distinct pairs).
    dtype : {None, "float32", "float64"}
    rng : None, int or numpy.random.Generator
    like : array, optional
        An array of the backend and device to use (default: that of ``rows``, else NumPy).

    Raises
    ------
    ValueError
        If neither or both of ``m`` and ``rows``/``cols`` are given, positions are out of range
        or repeated, or ``m > n1 n2``.

    References
    ----------
    .. [1] E. Candes, B. Recht, "Exact matrix completion via convex optimization",
       Found. Comput. Math. 9 (2009).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sensing import EntrySampling
    >>> A = EntrySampling((2, 2), rows=np.array([0, 1]), cols=np.array([1, 0]))
    >>> A(np.array([[1.0, 2.0], [3.0, 4.0]]))          # sqrt(4 / 2) * [2, 3]
    array([2.82842712, 4.24264069])
    """

    def __init__(self, shape, m=None, *, rows=None, cols=None, dtype=None, rng=None, like=None):
        shape = _check_shape(shape)
        n1, n2 = shape
        if (m is None) == (rows is None and cols is None):
            raise ValueError("give either `m` or both `rows` and `cols`")
        if m is not None:
            m = check_int(m, "m", minimum=1, maximum=n1 * n2)
            bk = get_backend(like)
            flat = np.sort(check_rng(rng).choice(n1 * n2, size=m, replace=False))
            pos = bk.xp.asarray(flat, device=bk.device)
        else:
            if rows is None or cols is None:
                raise ValueError("give both `rows` and `cols`")
            check_array(rows, "rows", ndim=1, dtype_kind="integral")
            check_array(cols, "cols", ndim=1, dtype_kind="integral")
            if rows.shape != cols.shape:
                raise ValueError(f"`rows` and `cols` must have one shape, got {tuple(rows.shape)}"
                                 f" and {tuple(cols.shape)}")
            bk = check_same_backend(("rows", rows), ("cols", cols), ("like", like))
            xp = bk.xp
            if bool(xp.any(rows < 0)) or bool(xp.any(rows >= n1)):
                raise ValueError(f"`rows` must lie in [0, {n1})")
            if bool(xp.any(cols < 0)) or bool(xp.any(cols >= n2)):
                raise ValueError(f"`cols` must lie in [0, {n2})")
            pos = xp.sort(xp.astype(rows, xp.int64) * n2 + xp.astype(cols, xp.int64))
            if pos.shape[0] > 1 and bool(xp.any(pos[1:] == pos[:-1])):
                raise ValueError("`rows`/`cols` must not repeat a position")
        xp = bk.xp
        self.backend = bk
        self.dtype = _resolve_dtype(xp, dtype, like)
        self.shape = (n1, n2)
        self.m = int(pos.shape[0])
        self.positions = pos
        self.rows = pos // n2
        self.cols = pos % n2
        self.symmetric = False
        self._scale = float(np.sqrt(n1 * n2 / self.m))
        every = xp.arange(n1 * n2, dtype=xp.int64, device=bk.device)
        slot = xp.searchsorted(pos, every)
        slot = xp.where(slot < self.m, slot, self.m - 1)
        self._slot = slot
        self._observed = xp.astype(xp.take(pos, slot) == every, self.dtype) * self._scale
        from ..sampled import ObservedEntries

        # row-major positions are already the CSR order ObservedEntries keeps
        self.entries = ObservedEntries(self.rows, self.cols, None, self.shape)

    def _forward(self, X):
        xp = self.xp
        Xf = xp.reshape(X, (*X.shape[:-2], self.shape[0] * self.shape[1]))
        return xp.take(Xf, self.positions, axis=-1) * self._scale

    def _adjoint(self, z):
        xp = self.xp
        full = xp.take(z, self._slot, axis=-1) * self._observed
        return xp.reshape(full, (*z.shape[:-1], *self.shape))

    def forward_factored(self, L, R):
        """``A(L R^T)``: an SDDMM, ``O(m k)`` (a gather for batched factors)."""
        if L.ndim == 2 and R.ndim == 2:
            from ..sampled import sddmm

            return sddmm(self.entries, L, R) * self._scale
        xp = self.xp
        Lr = xp.take(L, self.rows, axis=-2)
        Rc = xp.take(R, self.cols, axis=-2)
        return xp.sum(Lr * Rc, axis=-1) * self._scale

    def adjoint_times(self, z, right=None, left=None):
        """``A*(z) @ right`` and ``A*(z)^T @ left`` as SpMMs, ``O(m k)``."""
        if z.ndim != 1 or any(f is not None and f.ndim != 2 for f in (right, left)):
            return super().adjoint_times(z, right, left)
        from ..sampled import spmm, spmm_t

        w = z * self._scale
        out_r = None if right is None else spmm(self.entries, right, w)
        out_l = None if left is None else spmm_t(self.entries, left, w)
        return out_r, out_l
