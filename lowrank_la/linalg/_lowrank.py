"""A factored low-rank matrix ``U · core · Vᵀ`` shared by every solver module."""

from __future__ import annotations

import numbers

from .._validation import check_array, check_matrix, check_same_backend
from ._qr import qr
from ._svd import _svd_sign_fix, truncated_svd
from ._truncation import select_rank

__all__ = ["LowRankMatrix"]


class LowRankMatrix:
    """Matrix ``A = U · core · Vᵀ`` stored by its factors.

    ``core`` is a vector ``s`` (``A = U diag(s) Vᵀ``, the SVD form when ``U`` and ``V`` have
    orthonormal columns) or a general ``(r1, r2)`` matrix ``S`` (the ``U S Vᵀ`` form of
    dynamical low-rank integrators); ``None`` means the identity (``A = U Vᵀ``, ``r1 = r2``).

    Parameters
    ----------
    U : array, shape (m, r1)
    core : array, shape (r,) or (r1, r2), or None
    V : array, shape (n, r2)
    orthonormal : bool
        Declare that ``U`` and ``V`` have orthonormal columns (not checked); enables cheap norms.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la import LowRankMatrix
    >>> rng = np.random.default_rng(0)
    >>> A = LowRankMatrix(rng.standard_normal((6, 2)), None, rng.standard_normal((5, 2)))
    >>> A.shape, A.rank
    ((6, 5), 2)
    >>> B = (A + A).truncate(rtol=1e-12)      # exact sum, recompressed to rank 2
    >>> B.rank, bool(np.allclose(B.to_dense(), 2 * A.to_dense()))
    (2, True)
    """

    __array_priority__ = 1000  # make ``ndarray @ LowRankMatrix`` defer to __rmatmul__

    def __init__(self, U, core, V, *, orthonormal: bool = False):
        check_matrix(U, "U", dtype_kind="numeric")
        check_matrix(V, "V", dtype_kind="numeric")
        if core is not None:
            check_array(core, "core", ndim=(1, 2), dtype_kind="numeric")
        bk = check_same_backend(("U", U), ("core", core), ("V", V))
        r1, r2 = U.shape[1], V.shape[1]
        if core is None:
            if r1 != r2:
                raise ValueError(
                    f"`U` and `V` must have the same number of columns when `core` is None, "
                    f"got {r1} and {r2}"
                )
        elif core.ndim == 1:
            if not (core.shape[0] == r1 == r2):
                raise ValueError(
                    f"vector `core` of length {core.shape[0]} does not match `U` ({r1} columns) "
                    f"and `V` ({r2} columns)"
                )
        elif tuple(core.shape) != (r1, r2):
            raise ValueError(
                f"`core` must have shape ({r1}, {r2}) to match `U` and `V`, got "
                f"{tuple(core.shape)}"
            )
        xp = bk.xp
        dtype = bk.float_dtype(U, core, V)
        self.U = xp.astype(U, dtype)
        self.V = xp.astype(V, dtype)
        self.core = None if core is None else xp.astype(core, dtype)
        self.orthonormal = bool(orthonormal)
        self._bk = bk

    # -- constructors ---------------------------------------------------------------------

    @classmethod
    def from_dense(cls, A, rank=None, *, rtol=None, atol=None, energy=None):
        """Truncated SVD of a dense matrix (see :func:`~lowrank_la.linalg.truncated_svd`).

        Examples
        --------
        >>> import numpy as np
        >>> from lowrank_la import LowRankMatrix
        >>> LowRankMatrix.from_dense(np.diag([3.0, 2.0, 1.0]), rank=2).singular_values()
        array([3., 2.])
        """
        U, s, Vh = truncated_svd(A, rank, rtol=rtol, atol=atol, energy=energy)
        return cls(U, s, Vh.T, orthonormal=True)

    # -- basic properties -----------------------------------------------------------------

    @property
    def backend(self):
        """The :class:`~lowrank_la.Backend` of the factors."""
        return self._bk

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.U.shape[0]), int(self.V.shape[0]))

    @property
    def rank(self) -> int:
        """Number of stored terms (an upper bound of the mathematical rank)."""
        if self.core is not None and self.core.ndim == 2:
            return int(min(self.core.shape))
        return int(self.U.shape[1])

    @property
    def dtype(self):
        return self.U.dtype

    @property
    def ndim(self) -> int:
        return 2

    @property
    def T(self) -> LowRankMatrix:
        """The transpose ``V · coreᵀ · Uᵀ`` (no copy)."""
        core = self.core
        if core is not None and core.ndim == 2:
            core = core.T
        return LowRankMatrix(self.V, core, self.U, orthonormal=self.orthonormal)

    def __repr__(self):
        form = "svd" if self.core is not None and self.core.ndim == 1 else (
            "UVt" if self.core is None else "USVt")
        return (f"LowRankMatrix(shape={self.shape}, rank={self.rank}, form={form!r}, "
                f"dtype={self.dtype}, backend={self._bk.name!r})")

    # -- products -------------------------------------------------------------------------

    def _core_times(self, X):  # core @ X
        if self.core is None:
            return X
        if self.core.ndim == 1:
            return self.core[:, None] * X if X.ndim == 2 else self.core * X
        return self.core @ X

    def _core_t_times(self, X):  # coreᵀ @ X
        if self.core is None:
            return X
        if self.core.ndim == 1:
            return self.core[:, None] * X if X.ndim == 2 else self.core * X
        return self.core.T @ X

    def left_factor(self):
        """``U · core`` as one (m, r2) array, so that ``A = left_factor() @ Vᵀ``."""
        if self.core is None:
            return self.U
        if self.core.ndim == 1:
            return self.U * self.core[None, :]
        return self.U @ self.core

    def to_dense(self):
        """The full (m, n) array (memory O(m n): for small matrices and tests)."""
        return self.left_factor() @ self.V.T

    def matmat(self, X):
        """``A @ X`` for a dense (n, k) or (n,) array, in O((m + n) r k)."""
        self._check_operand(X, self.shape[1], "X")
        return self.U @ self._core_times(self.V.T @ X)

    def rmatmat(self, Y):
        """``Aᵀ @ Y`` for a dense (m, k) or (m,) array."""
        self._check_operand(Y, self.shape[0], "Y")
        return self.V @ self._core_t_times(self.U.T @ Y)

    matvec = matmat
    rmatvec = rmatmat

    def _check_operand(self, X, rows, name):
        check_array(X, name, ndim=(1, 2), dtype_kind="numeric", allow_empty=True)
        check_same_backend(("U", self.U), (name, X))
        if X.shape[0] != rows:
            raise ValueError(
                f"`{name}` must have {rows} rows to multiply a {self.shape} LowRankMatrix, got "
                f"shape {tuple(X.shape)}"
            )

    def __matmul__(self, X):
        if isinstance(X, LowRankMatrix):
            if X.shape[0] != self.shape[1]:
                raise ValueError(f"shapes {self.shape} and {X.shape} do not align")
            inner = self._core_times(self.V.T @ X.left_factor())
            return LowRankMatrix(self.U, inner, X.V)
        return self.matmat(X)

    def __rmatmul__(self, Y):
        # Y @ A = (Aᵀ Yᵀ)ᵀ
        return self.rmatmat(Y.T).T

    def entries(self, rows, cols):
        """Values ``A[rows[t], cols[t]]`` at index pairs, in O(len(rows) · r).

        Examples
        --------
        >>> import numpy as np
        >>> from lowrank_la import LowRankMatrix
        >>> A = LowRankMatrix(np.eye(3)[:, :2], np.array([2.0, 1.0]), np.eye(3)[:, :2])
        >>> A.entries(np.array([0, 1, 2]), np.array([0, 1, 0]))
        array([2., 1., 0.])
        """
        check_array(rows, "rows", ndim=1, dtype_kind="integral", allow_empty=True)
        check_array(cols, "cols", ndim=1, dtype_kind="integral", allow_empty=True)
        if rows.shape != cols.shape:
            raise ValueError(f"`rows` and `cols` must have equal lengths, got {rows.shape[0]} and "
                             f"{cols.shape[0]}")
        xp = self._bk.xp
        L = xp.take(self.left_factor(), rows, axis=0)
        R = xp.take(self.V, cols, axis=0)
        return xp.sum(L * R, axis=1)

    # -- arithmetic -----------------------------------------------------------------------

    def __mul__(self, alpha):
        if not isinstance(alpha, numbers.Real):
            return NotImplemented
        if self.core is None:
            return LowRankMatrix(self.U * alpha, None, self.V)
        return LowRankMatrix(self.U, self.core * alpha, self.V, orthonormal=self.orthonormal)

    __rmul__ = __mul__

    def __truediv__(self, alpha):
        if not isinstance(alpha, numbers.Real):
            return NotImplemented
        return self * (1.0 / alpha)

    def __neg__(self):
        return self * -1.0

    def _dense_core(self):
        xp = self._bk.xp
        eye = xp.eye(self.U.shape[1], dtype=self.dtype, device=self._bk.device)
        if self.core is None:
            return eye
        if self.core.ndim == 1:
            return eye * self.core[None, :]
        return self.core

    def add(self, other, *, rank=None, rtol=None, atol=None, energy=None):
        """``self + other`` recompressed by a truncated SVD of the stacked factors.

        Without a truncation argument, terms below round-off (``s <= eps · max(m, n) · s_0``)
        are dropped, so the result equals the exact sum to working precision.
        """
        if not isinstance(other, LowRankMatrix):
            raise TypeError(f"`other` must be a LowRankMatrix, got {type(other).__name__}")
        if other.shape != self.shape:
            raise ValueError(f"cannot add LowRankMatrix of shape {other.shape} to {self.shape}")
        check_same_backend(("self", self.U), ("other", other.U))
        xp = self._bk.xp
        U = xp.concat((self.U, xp.astype(other.U, self.dtype)), axis=1)
        V = xp.concat((self.V, xp.astype(other.V, self.dtype)), axis=1)
        C1, C2 = self._dense_core(), xp.astype(other._dense_core(), self.dtype)
        z12 = xp.zeros((C1.shape[0], C2.shape[1]), dtype=self.dtype, device=self._bk.device)
        z21 = xp.zeros((C2.shape[0], C1.shape[1]), dtype=self.dtype, device=self._bk.device)
        core = xp.concat((xp.concat((C1, z12), axis=1), xp.concat((z21, C2), axis=1)), axis=0)
        out = LowRankMatrix(U, core, V)
        if rank is None and rtol is None and atol is None and energy is None:
            rtol = float(xp.finfo(self.dtype).eps) * max(self.shape)
        return out.truncate(rank, rtol=rtol, atol=atol, energy=energy)

    def __add__(self, other):
        if not isinstance(other, LowRankMatrix):
            return NotImplemented
        return self.add(other)

    def __sub__(self, other):
        if not isinstance(other, LowRankMatrix):
            return NotImplemented
        return self.add(-other)

    # -- SVD form, truncation, norms ------------------------------------------------------

    def svd(self):
        """Return ``(U, s, V)`` with orthonormal columns and ``A = U diag(s) Vᵀ``.

        Costs two thin QRs of the factors and one SVD of an r x r matrix.
        """
        if self.orthonormal and self.core is not None and self.core.ndim == 1:
            return self.U, self.core, self.V
        bk = self._bk
        Qu, Ru = qr(self.U, check=False)
        Qv, Rv = qr(self.V, check=False)
        small = self._core_times(Rv.T) if self.core is not None else Rv.T
        small = Ru @ small
        W, s, Zh = bk.linalg.svd(small)
        U = Qu @ W
        V = Qv @ Zh.T
        U, Vh = _svd_sign_fix(bk, U, V.T)
        return U, s, Vh.T

    def singular_values(self):
        """The ``rank`` singular values in non-increasing order (zeros included)."""
        return self.svd()[1]

    def truncate(self, rank=None, *, rtol=None, atol=None, energy=None) -> LowRankMatrix:
        """Best approximation of lower rank, in SVD form.

        Parameters
        ----------
        rank : int, optional
            Maximum rank.
        rtol, atol : float, optional
            Drop singular values ``<= rtol * s_0`` or ``<= atol``.
        energy : float in (0, 1], optional
            Keep the leading terms holding this fraction of ``||A||_F^2``.

        Returns
        -------
        LowRankMatrix
            SVD form (orthonormal ``U``, ``V``, vector core); at least one term is kept.
        """
        U, s, V = self.svd()
        k = max(1, select_rank(s, rank, rtol=rtol, atol=atol, energy=energy))
        return LowRankMatrix(U[:, :k], s[:k], V[:, :k], orthonormal=True)

    def norm(self, ord="fro") -> float:
        """Frobenius (``"fro"``), spectral (``2``) or nuclear (``"nuc"``) norm."""
        xp = self._bk.xp
        s = self.singular_values()
        if ord == "fro":
            return float(xp.sqrt(xp.sum(s * s)))
        if ord == 2:
            return float(xp.max(s))
        if ord == "nuc":
            return float(xp.sum(s))
        raise ValueError(f"`ord` must be 'fro', 2 or 'nuc', got {ord!r}")
