"""The measurement-operator interface shared by every sensing operator.

An operator maps an ``(n1, n2)`` matrix ``X`` to the ``m`` measurements ``A(X)_i = <A_i, X>``.
Besides the forward map and its adjoint ``A*(z) = sum_i z_i A_i``, every operator offers the two
factored products the factorized solvers need, so that structured operators (rank-one
measurements, sampled entries) never form an ``n1 x n2`` matrix:

* ``forward_factored(L, R) = A(L R^T)``;
* ``adjoint_times(z, right, left) = (A*(z) @ right, A*(z)^T @ left)``.

The dense defaults below are correct for any operator; subclasses override them where the
structure gives a cheaper route.  Every method accepts a leading batch axis (``X`` of shape
``(b, n1, n2)``, ``z`` of shape ``(b, m)``) so several trajectories share one pass over the
operator.
"""

from __future__ import annotations

import numpy as np

from .._backend import get_backend
from .._validation import check_array, check_option

__all__ = ["MeasurementOperator"]


def _resolve_dtype(xp, dtype, like):
    """``dtype`` as an ``xp`` floating dtype (None: that of ``like``, else float64)."""
    if dtype is None:
        if like is not None and xp.isdtype(like.dtype, "real floating"):
            return like.dtype
        return xp.float64
    try:
        name = np.dtype(dtype).name
    except TypeError:  # torch / array-api-strict dtypes print as "<module>.float32"
        name = str(dtype).rsplit(".", 1)[-1]
    check_option(name, "dtype", {"float32", "float64"})
    return getattr(xp, name)


class MeasurementOperator:
    """Base class of the linear measurement operators ``A: R^{n1 x n2} -> R^m``.

    Subclasses set ``shape``, ``m``, ``dtype``, ``backend`` and ``symmetric`` (True when every
    ``A_i`` is symmetric, so that ``A*(z)`` is symmetric and ``A`` only sees the symmetric part
    of its argument) and implement ``_forward`` and ``_adjoint`` (unchecked; the public
    :meth:`forward` and :meth:`adjoint` validate first, the solvers call the unchecked ones on
    their own iterates so that small problems do not pay for validation every iteration).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sensing import GaussianMeasurements
    >>> A = GaussianMeasurements((4, 3), 20, rng=0)
    >>> X, z = np.ones((4, 3)), np.ones(20)
    >>> bool(np.isclose(A(X) @ z, np.sum(X * A.adjoint(z))))
    True
    """

    shape: tuple[int, int]
    m: int
    symmetric: bool = False

    # -- to be provided by subclasses -----------------------------------------------------

    def _forward(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _adjoint(self, z):  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, X):
        """``A(X)``: ``(..., n1, n2) -> (..., m)`` (a leading batch axis is allowed)."""
        return self._forward(self._check_input(X))

    def adjoint(self, z):
        """``A*(z) = sum_i z_i A_i``: ``(..., m) -> (..., n1, n2)``."""
        return self._adjoint(self._check_measurements(z))

    # -- shared ---------------------------------------------------------------------------

    def __call__(self, X):
        return self.forward(X)

    @property
    def xp(self):
        """The array namespace the operator lives in."""
        return self.backend.xp

    def __repr__(self):
        return (f"{type(self).__name__}(shape={self.shape}, m={self.m}, "
                f"symmetric={self.symmetric}, dtype={self.dtype}, backend={self.backend.name})")

    def forward_factored(self, L, R):
        """``A(L R^T)`` for factors ``L (..., n1, k)``, ``R (..., n2, k)`` (unchecked: solver use)."""
        return self._forward(L @ self.xp.matrix_transpose(R))

    def adjoint_times(self, z, right=None, left=None):
        """``(A*(z) @ right, A*(z)^T @ left)`` (None where the factor is None; unchecked)."""
        G = self._adjoint(z)
        a = None if right is None else G @ right
        b = None if left is None else self.xp.matrix_transpose(G) @ left
        return a, b

    def _check_input(self, X, name="X"):
        check_array(X, name, ndim=(2, 3), dtype_kind="numeric")
        if tuple(X.shape[-2:]) != tuple(self.shape):
            raise ValueError(
                f"`{name}` must have shape (..., {self.shape[0]}, {self.shape[1]}) to match the "
                f"operator, got shape {tuple(X.shape)}"
            )
        self._check_backend(X, name)
        return self._as_dtype(X)

    def _check_measurements(self, z, name="z"):
        check_array(z, name, ndim=(1, 2), dtype_kind="numeric")
        if z.shape[-1] != self.m:
            raise ValueError(
                f"`{name}` must have shape (..., {self.m}) to match the operator's m={self.m}, "
                f"got shape {tuple(z.shape)}"
            )
        self._check_backend(z, name)
        return self._as_dtype(z)

    def _check_backend(self, x, name):
        bk = get_backend(x)
        if bk.name != self.backend.name or bk.device != self.backend.device:
            raise TypeError(
                f"`{name}` lives in {bk.name} on {bk.device!r} but the operator in "
                f"{self.backend.name} on {self.backend.device!r}; build the operator with "
                "`like=` an array of the backend you use"
            )

    def _as_dtype(self, x):
        return x if x.dtype == self.dtype else self.xp.astype(x, self.dtype)

    def to_dense(self):
        """The ``(m, n1 * n2)`` matrix of the operator (row ``i`` is ``vec(A_i)``, row-major).

        Built by applying the adjoint to the identity: meant for tests and small sizes.
        """
        xp = self.xp
        eye = xp.eye(self.m, dtype=self.dtype, device=self.backend.device)
        G = self._adjoint(eye)
        return xp.reshape(G, (self.m, self.shape[0] * self.shape[1]))

    def aslinearoperator(self):
        """A :class:`scipy.sparse.linalg.LinearOperator` on ``vec(X)`` (row-major), NumPy only.

        ``matvec`` maps ``vec(X)`` (length ``n1 * n2``) to ``A(X)`` and ``rmatvec`` maps ``z``
        to ``vec(A*(z))``.

        Raises
        ------
        TypeError
            If the operator does not hold NumPy arrays (SciPy works on the host only, and
            lowrank_la never copies device data to the host silently).
        """
        if self.backend.name != "numpy":
            raise TypeError(
                f"aslinearoperator() needs a NumPy operator, this one is {self.backend.name}"
            )
        from scipy.sparse.linalg import LinearOperator

        n1, n2 = self.shape
        d = n1 * n2

        def matmat(V):
            V = np.asarray(V)
            return np.asarray(self.forward(np.reshape(V.T, (-1, n1, n2)))).T

        def rmatmat(Z):
            Z = np.asarray(Z)
            return np.reshape(np.asarray(self.adjoint(Z.T)), (-1, d)).T

        return LinearOperator(
            (self.m, d), dtype=np.dtype(self.dtype),
            matvec=lambda v: matmat(np.reshape(v, (d, 1)))[:, 0],
            rmatvec=lambda z: rmatmat(np.reshape(z, (self.m, 1)))[:, 0],
            matmat=matmat, rmatmat=rmatmat,
        )
