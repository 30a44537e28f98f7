"""softImpute-ALS (Hastie, Mazumder, Lee, Zadeh 2015, Algorithm 3.1): the O(|Ω| r) baseline.

The current estimate is kept as "sparse + low rank", ``X* = P_Ω(M - A Bᵀ) + A Bᵀ``, so products
with ``X*`` cost ``|Ω| r + (m + n) r^2``; each half-step is one shared ``r x r`` ridge system
followed by a small SVD, not one system per row.
"""

from __future__ import annotations

from ..sampled import sampled_residual, spmm, spmm_t

__all__ = ["SoftImputeState"]


class SoftImputeState:
    """Factors ``U`` (m, r), ``D`` (r,), ``V`` (n, r) with ``A = U D``, ``B = V D``."""

    def __init__(self, omega, omega_t, U, V, D, lam):
        self.omega, self.omega_t = omega, omega_t
        self.U, self.V, self.D = U, V, D
        self.lam = lam
        self.xp = omega.backend.xp
        self.bk = omega.backend

    def _residual_operator(self):
        # S = P_Ω(M - A Bᵀ): values M_ij - (A Bᵀ)_ij at Ω
        A, B = self.U * self.D[None, :], self.V * self.D[None, :]
        r, sq = sampled_residual(self.omega, A, B)
        return self.omega.with_values(-r), sq

    def half_step_B(self):
        xp = self.xp
        S, _ = self._residual_operator()
        D2 = self.D * self.D
        # B̃ = (Sᵀ U + B D) D (D² + λ)^{-1},  with B D = V D²
        StU = spmm_t(S, self.U)
        Bt = (StU + self.V * D2[None, :]) * (self.D / (D2 + self.lam))[None, :]
        W, s, Zh = self.bk.linalg.svd(Bt * self.D[None, :])  # B̃ D = Ṽ D̃² Rᵀ
        self.V = W
        self.D = xp.sqrt(s)
        self.U = self.U @ Zh.T

    def half_step_A(self):
        xp = self.xp
        S, _ = self._residual_operator()
        D2 = self.D * self.D
        SV = spmm(S, self.V)
        At = (SV + self.U * D2[None, :]) * (self.D / (D2 + self.lam))[None, :]
        W, s, Zh = self.bk.linalg.svd(At * self.D[None, :])
        self.U = W
        self.D = xp.sqrt(s)
        self.V = self.V @ Zh.T

    def product_norm2(self):
        d2 = self.D * self.D
        return float(self.xp.sum(d2 * d2))

    def change_ratio(self, old):
        """``||A Bᵀ - A₀ B₀ᵀ||_F^2 / ||A₀ B₀ᵀ||_F^2`` from r x r products only."""
        xp = self.xp
        Uo, Do, Vo = old
        d2, do2 = self.D * self.D, Do * Do
        new2 = float(xp.sum(d2 * d2))
        old2 = float(xp.sum(do2 * do2))
        # <U D² Vᵀ, Uo Do² Voᵀ> = tr(D² (Uᵀ Uo) Do² (Voᵀ V))
        cross = float(xp.sum((self.U.T @ Uo) * d2[:, None] * do2[None, :] * (self.V.T @ Vo)))
        return max(new2 + old2 - 2 * cross, 0.0) / max(old2, 1e-300)

    def snapshot(self):
        return (self.U, self.D, self.V)

    def final_factors(self):
        """Step 5: ``X* V = U_σ D_σ Rᵀ``, soft-threshold ``D_σ`` by λ; return (L, R) with L Rᵀ."""
        xp = self.xp
        S, _ = self._residual_operator()
        D2 = self.D * self.D
        M = spmm(S, self.V) + self.U * D2[None, :]  # X* V (V orthonormal)
        Us, sig, Zh = self.bk.linalg.svd(M)
        shrunk = xp.maximum(sig - self.lam, xp.zeros_like(sig))
        return Us * shrunk[None, :], self.V @ Zh.T
