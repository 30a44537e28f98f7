"""The few operations an alternating sweep performs on its tall factors, for arrays in memory.

:func:`~lowrank_la.completion._loop.alternate`, :func:`~lowrank_la.completion._altmin.balance`
and :func:`~lowrank_la.completion._loop.run_sweeps` touch the ``m x k`` factors only through
these methods, so the Dask driver runs the very same code on factors that stay on its workers
(:class:`lowrank_la.distributed._factors.BlockFactorOps` implements the same names blockwise;
everything ``k x k`` is computed on the client in both cases).
"""

from __future__ import annotations

import math

from .._backend import get_backend
from ..linalg import qr, subspace_distance

__all__ = ["ArrayFactors", "ARRAY_FACTORS"]


class ArrayFactors:
    """Factor operations on backend arrays (NumPy, CuPy, torch)."""

    @staticmethod
    def gram(F, G=None):
        """``Fᵀ G`` (``Fᵀ F`` without ``G``): ``k x k``."""
        return F.T @ (F if G is None else G)

    @staticmethod
    def times(F, T):
        """``F T`` for a small ``k x k'`` matrix ``T``."""
        return F @ T

    @staticmethod
    def scale_columns(F, d):
        return F * d[None, :]

    @staticmethod
    def qr(F):
        """Sign-fixed thin QR (``diag(R) >= 0``)."""
        return qr(F, check=False)

    @staticmethod
    def svd(F):
        """Thin SVD ``F = W diag(s) Zh`` (``W`` tall like ``F``; ``s``, ``Zh`` small)."""
        return get_backend(F).linalg.svd(F)

    @staticmethod
    def max_row_norm(F) -> float:
        xp = get_backend(F).xp
        return float(xp.max(xp.linalg.vector_norm(F, axis=1)))

    @staticmethod
    def all_finite(F) -> bool:
        xp = get_backend(F).xp
        return bool(xp.all(xp.isfinite(F)))

    @staticmethod
    def subspace_change(F_prev, F, orthonormal) -> float:
        """``sin`` of the largest principal angle (cosines only: a history metric)."""
        return subspace_distance(F_prev, F, orthonormal=orthonormal, accurate=False)

    @staticmethod
    def materialize(F):
        """The factor as an array of its backend (here: itself)."""
        return F

    @staticmethod
    def validation_rmse(result, U, V, validation) -> float:
        """RMSE of the model with factors ``U``, ``V`` on held-out entries (``result`` updated)."""
        result.update(U=U, V=V)
        return result.rmse(validation)

    def incoherence(self, Q) -> float:
        """``μ(Q) = sqrt(m / k) · max_i ||Q_i||`` for orthonormal ``Q`` (1 ≤ μ ≤ sqrt(m / k))."""
        m, k = Q.shape
        return self.max_row_norm(Q) * math.sqrt(m / k)


ARRAY_FACTORS = ArrayFactors()
