"""Factored iterates ``Y = U S Vᴴ`` and the small dense helpers every integrator shares.

The integrators keep ``Y`` as orthonormal ``U`` (m x r), ``V`` (n x r) and a general (not
diagonal) core ``S`` (r x r), with the *conjugate* transpose on ``V`` so that complex problems
(Schrödinger) work.  :class:`~lowrank_la.LowRankMatrix` stores ``U core Vᵀ`` and casts to a real
dtype, so it is used at the boundaries for real data only; complex data travel as
:class:`Factors`.

Orthonormalization is always Householder QR (never Cholesky-QR or normal equations) and no
inverse of ``S`` appears anywhere: that is what makes the integrators robust to small singular
values (Kieri, Lubich, Walach 2016).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .._backend import get_backend
from ..linalg import qr

__all__ = ["Factors"]


class Factors(NamedTuple):
    """A matrix ``Y = U S Vᴴ`` given by its factors (``S = None`` means the identity).

    Attributes
    ----------
    U : array, shape (m, r)
    S : array, shape (r, k), or None
    V : array, shape (n, k)

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import Factors
    >>> Y = Factors(np.eye(3)[:, :2], np.array([[2.0, 1.0], [0.0, 1.0]]), np.eye(3)[:, :2])
    >>> Y.to_dense()[:2, :2]
    array([[2., 1.],
           [0., 1.]])
    """

    U: Any
    S: Any
    V: Any

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.U.shape[0]), int(self.V.shape[0]))

    def left(self):
        """``U S`` (so that ``Y = left() Vᴴ``)."""
        return self.U if self.S is None else self.U @ self.S

    def to_dense(self):
        """The full ``(m, n)`` matrix (for small problems and tests)."""
        return self.left() @ ct(self.V)

    def matmat(self, W):
        """``Y @ W`` in O((m + n) r k)."""
        inner = ct(self.V) @ W
        if self.S is not None:
            inner = self.S @ inner
        return self.U @ inner

    def rmatmat(self, W):
        """``Yᴴ @ W``."""
        inner = ct(self.U) @ W
        if self.S is not None:
            inner = ct(self.S) @ inner
        return self.V @ inner


def is_complex(x) -> bool:
    return get_backend(x).xp.isdtype(x.dtype, "complex floating")


def conj(x):
    """Complex conjugate; the identity for real arrays (``xp.conj`` is complex-only in places)."""
    if is_complex(x):
        return get_backend(x).xp.conj(x)
    return x


def ct(x):
    """Conjugate transpose of a matrix."""
    return conj(x).T


def orth(A):
    """Householder QR ``A = Q R`` with ``diag(R)`` real and non-negative (real or complex)."""
    return qr(A, check=False)


def svd_small(S):
    """Thin SVD of a small core: ``S = P diag(s) Qᴴ`` returned as ``(P, s, Q)``."""
    bk = get_backend(S)
    P, s, Qh = bk.linalg.svd(S)
    return P, s, ct(Qh)


def fro(x) -> float:
    """Frobenius norm as a Python float (one scalar to the host)."""
    xp = get_backend(x).xp
    return float(xp.sqrt(xp.sum(xp.abs(x) ** 2)))


def host_singular_values(S):
    bk = get_backend(S)
    s = bk.xp.linalg.svdvals(S) if hasattr(bk.xp.linalg, "svdvals") else bk.linalg.svd(S)[1]
    return [float(v) for v in bk.to_host(s)]
