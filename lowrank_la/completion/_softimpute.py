"""softImpute-ALS (Hastie, Mazumder, Lee, Zadeh 2015, Algorithm 3.1): the O(|Ω| r) baseline.

The current estimate is kept as "sparse + low rank", ``X* = P_Ω(M - A Bᵀ) + A Bᵀ``, so products
with ``X*`` cost ``|Ω| r + (m + n) r^2``; each half-step is one shared ``r x r`` ridge system
followed by a small SVD, not one system per row.

Every product with ``X*`` is :func:`filled_product` on the rows of Ω (or of Ωᵀ), and every other
operation on the tall factors goes through a factor-operations object (see
:mod:`._factor_ops`): the in-memory driver applies them to whole arrays, the Dask driver to the
blocks its workers hold, with this one :class:`SoftImputeState`.
"""

from __future__ import annotations

import math

from .._backend import get_backend
from ..sampled import sampled_residual, spmm
from ._factor_ops import ARRAY_FACTORS

__all__ = ["SoftImputeState", "filled_product", "in_memory_products"]


def filled_product(omega, F_own, F_other, D, scale):
    """Rows of ``(X* F_other) * scale`` with ``X* = P_Ω(M - F_own D (F_other D)ᵀ) + F_own D² F_otherᵀ``.

    ``omega``'s rows index ``F_own`` (pass Ωᵀ for the column side); ``F_other`` is orthonormal,
    so the low-rank part contributes ``F_own D²``.
    """
    r, _ = sampled_residual(omega, F_own * D[None, :], F_other * D[None, :])
    S = omega.with_values(-r)  # M_ij - (A Bᵀ)_ij at Ω
    return (spmm(S, F_other) + F_own * (D * D)[None, :]) * scale[None, :]


def in_memory_products(omega, omega_t):
    """``(rows, cols)`` callables of :class:`SoftImputeState` for an in-memory Ω."""
    return ((lambda U, V, D, scale: filled_product(omega, U, V, D, scale)),
            (lambda V, U, D, scale: filled_product(omega_t, V, U, D, scale)))


class SoftImputeState:
    """Factors ``U`` (m, r), ``D`` (r,), ``V`` (n, r) with ``A = U D``, ``B = V D``.

    ``rows(U, V, D, scale)`` and ``cols(V, U, D, scale)`` compute :func:`filled_product` over
    the rows and the columns of Ω; ``ops`` the tall-factor operations.
    """

    def __init__(self, rows, cols, U, V, D, lam, ops=ARRAY_FACTORS):
        self.rows, self.cols, self.ops = rows, cols, ops
        self.U, self.V, self.D = U, V, D
        self.lam = lam

    def _ridge_scale(self):
        # B̃ D = (Sᵀ U + B D) D (D² + λ)^{-1} D  (and likewise for Ã D)
        D2 = self.D * self.D
        return D2 / (D2 + self.lam)

    def half_step_B(self):
        Bt_D = self.cols(self.V, self.U, self.D, self._ridge_scale())
        W, s, Zh = self.ops.svd(Bt_D)  # B̃ D = Ṽ D̃² Rᵀ
        self.V, self.D = W, get_backend(s).xp.sqrt(s)
        self.U = self.ops.times(self.U, Zh.T)

    def half_step_A(self):
        At_D = self.rows(self.U, self.V, self.D, self._ridge_scale())
        W, s, Zh = self.ops.svd(At_D)
        self.U, self.D = W, get_backend(s).xp.sqrt(s)
        self.V = self.ops.times(self.V, Zh.T)

    def product_norm2(self):
        d2 = self.D * self.D
        return float(get_backend(d2).xp.sum(d2 * d2))

    def change_ratio(self, old):
        """``||A Bᵀ - A₀ B₀ᵀ||_F^2 / ||A₀ B₀ᵀ||_F^2`` from r x r products only."""
        Uo, Do, Vo = old
        xp = get_backend(self.D).xp
        d2, do2 = self.D * self.D, Do * Do
        new2 = float(xp.sum(d2 * d2))
        old2 = float(xp.sum(do2 * do2))
        # <U D² Vᵀ, Uo Do² Voᵀ> = tr(D² (Uᵀ Uo) Do² (Voᵀ V))
        cross = float(xp.sum(self.ops.gram(self.U, Uo) * d2[:, None] * do2[None, :]
                             * self.ops.gram(self.V, Vo)))
        return max(new2 + old2 - 2 * cross, 0.0) / max(old2, 1e-300)

    def snapshot(self):
        return (self.U, self.D, self.V)

    def sweep(self, it, U, V):
        """One run_sweeps step: both half-steps; returns ``(A, V D², info)``."""
        old = self.snapshot()
        self.half_step_B()
        self.half_step_A()
        change = math.sqrt(self.change_ratio(old))
        return self.U, self.ops.scale_columns(self.V, self.D * self.D), {"change": change}

    def finalize(self, A, B):
        """Step 5 on the iterate ``(A, B) = (U, V D²)`` that a sweep returned (e.g. the best by
        validation, not necessarily the current state): ``D² = ||B_j||`` as ``V`` is orthonormal."""
        xp = get_backend(self.D).xp
        d2 = xp.sqrt(xp.linalg.diagonal(self.ops.gram(B)))  # diag(D² Vᵀ V D²) = D⁴
        inv = xp.where(d2 > 0, 1.0 / xp.where(d2 > 0, d2, xp.ones_like(d2)), xp.zeros_like(d2))
        self.U, self.V, self.D = A, self.ops.scale_columns(B, inv), xp.sqrt(d2)
        return self.final_factors()

    def final_factors(self):
        """Step 5: ``X* V = U_σ D_σ Rᵀ``, soft-threshold ``D_σ`` by λ; return (L, R) with L Rᵀ."""
        xp = get_backend(self.D).xp
        M = self.rows(self.U, self.V, self.D, xp.ones_like(self.D))  # X* V (V orthonormal)
        Us, sig, Zh = self.ops.svd(M)
        shrunk = xp.maximum(sig - self.lam, xp.zeros_like(sig))
        return self.ops.scale_columns(Us, shrunk), self.ops.times(self.V, Zh.T)
