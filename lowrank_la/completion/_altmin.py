"""Alternating minimization: spectral start, incoherence clipping and the two half-step solvers.

``altmin`` solves every per-row least-squares problem exactly (normal equations + Cholesky,
``|Ω| k^2`` per sweep).  ``robust_altmin`` solves them approximately (Gu, Song, Yin, Zhang):
warm-started matrix-free CG for ordinary rows (``|Ω_i| k`` per step) and sketch-and-precondition
for rows with so many observations that a ``k x k`` sketch QR is negligible next to their data.
After each half-step the updated factor is orthonormalized and its triangular factor moved into
the other one, so ``U Vᵀ`` is unchanged and the next warm start stays consistent.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._result import ConvergenceWarning
from ..linalg import qr, randomized_svd, sketch_lstsq
from ..sampled import rowwise_cg, rowwise_lstsq
from ._factor_ops import ARRAY_FACTORS

__all__ = ["spectral_init", "clip_rows", "orthonormalize_transfer", "balance", "HalfStepSolver"]


def spectral_init(omega, rank, rng):
    """Top-``rank`` SVD of ``P_Ω(M) / p`` on the sparse operator (never densified).

    Returns ``U0`` (orthonormal) and ``V0 = V diag(s) / p`` so that ``U0 V0ᵀ`` approximates M.
    """
    m, n = omega.shape
    p = omega.nnz / (m * n)
    U, s, Vh = randomized_svd(omega, rank, n_power_iter=4, rng=rng)
    return U, Vh.T * (s / p)[None, :]


def incoherence(Q) -> float:
    """``μ(Q) = sqrt(m / k) · max_i ||Q_i||`` for orthonormal ``Q`` (1 ≤ μ ≤ sqrt(m / k))."""
    return ARRAY_FACTORS.incoherence(Q)


def clip_rows(U, mu):
    """Zero the rows of orthonormal ``U`` longer than ``2 μ sqrt(k/m)``, then re-orthonormalize.

    JNS13 Algorithm 2 step 3: keeps the start incoherent when a few rows carry many samples.
    """
    from .._backend import get_backend

    xp = get_backend(U).xp
    m, k = U.shape
    limit = 2.0 * mu * math.sqrt(k / m)
    norms = xp.linalg.vector_norm(U, axis=1)
    keep = xp.astype(norms <= limit, U.dtype)
    if int(xp.sum(xp.astype(norms <= limit, xp.int64))) < k:
        return U  # clipping would leave fewer than k rows: keep the spectral start as is
    return qr(U * keep[:, None], check=False)[0]


def orthonormalize_transfer(F, G, ops=ARRAY_FACTORS):
    """``F = Q R`` -> return ``(Q, G Rᵀ)``: orthonormal ``F`` and unchanged product ``F Gᵀ``.

    ``ops`` supplies the tall-factor operations (:class:`._factor_ops.ArrayFactors` in memory,
    the blockwise ones of the Dask driver on a cluster).
    """
    Q, R = ops.qr(F)
    return Q, ops.times(G, R.T)


def balance(U, V, ops=ARRAY_FACTORS):
    """Rewrite ``U Vᵀ`` as ``(Q_u W √S)(Q_v Z √S)ᵀ``: equal column scales on both sides.

    Ridge regularization ``λ (||U||² + ||V||²)`` is only meaningful for balanced factors (its
    minimizers are balanced); with one orthonormal factor, ``λ`` would shrink the other one
    to zero.  Returns the balanced pair and the incoherence of each orthonormal part.

    The triangular factors come from Cholesky of the ``k x k`` Gram matrices (Cholesky QR):
    two GEMMs instead of two Householder QRs of the tall factors.  Squaring the condition
    number is harmless here (ridge-regularized factors are well conditioned); when a Gram is
    numerically singular the Householder QR takes over.  Only ``k x k`` matrices are formed
    outside ``ops`` (see :func:`orthonormalize_transfer`).
    """
    from .._backend import get_backend

    Gu, Gv = ops.gram(U), ops.gram(V)
    bk = get_backend(Gu, Gv)
    xp = bk.xp
    try:
        Lu = bk.linalg.cholesky(Gu)  # U = Q_u Ru with Ru = Luᵀ
        Lv = bk.linalg.cholesky(Gv)
        ok = bool(xp.all(xp.isfinite(Lu))) and bool(xp.all(xp.isfinite(Lv)))
    except Exception:  # noqa: BLE001 - LinAlgError differs per backend
        ok = False
    if ok:
        W, s, Zh = bk.linalg.svd(Lu.T @ Lv)  # Ru Rvᵀ
        # Q_u W = U Ru⁻¹ W: solve with the triangular factor instead of forming Q_u
        Tu = bk.linalg.solve_triangular(Lu.T, W, lower=False)
        Tv = bk.linalg.solve_triangular(Lv.T, Zh.T, lower=False)
        Bu, Bv = ops.times(U, Tu), ops.times(V, Tv)
    else:
        Qu, Ru = ops.qr(U)
        Qv, Rv = ops.qr(V)
        W, s, Zh = bk.linalg.svd(Ru @ Rv.T)
        Bu, Bv = ops.times(Qu, W), ops.times(Qv, Zh.T)
    root = xp.sqrt(s)
    mu_u, mu_v = ops.incoherence(Bu), ops.incoherence(Bv)
    return ops.scale_columns(Bu, root), ops.scale_columns(Bv, root), mu_u, mu_v


class HalfStepSolver:
    """Solves ``X = argmin ||P_Ω(X Fᵀ - M)||^2 + lam ||X||^2`` row by row.

    Parameters
    ----------
    omega : ObservedEntries
        Rows of the problem are the rows of ``omega``.
    method : {"altmin", "robust_altmin"}
    lam : float or array (m,)
        Ridge parameter, per row when an array (already including the floor for
        under-determined rows).
    inner_steps : int
        CG steps per row per half-step (robust).
    inner_rtol : float or None
        CG stops a row early at this relative residual (robust).
    heavy_threshold : int
        Rows with at least this many entries use sketch-and-precondition (robust).
    rng : numpy.random.Generator
        For the sketches.
    """

    def __init__(self, omega, method, lam, inner_steps, inner_rtol, heavy_threshold, rng):
        self.omega = omega
        self.method = method
        self.lam = lam
        self.inner_steps = inner_steps
        self.inner_rtol = inner_rtol
        self.rng = rng
        bk = omega.backend
        counts = bk.to_host(omega.row_counts())  # once per problem, not per iteration
        self.heavy_rows = np.flatnonzero(counts >= heavy_threshold) if method == "robust_altmin" \
            else np.empty(0, dtype=np.int64)
        self._indptr = bk.to_host(omega.indptr) if self.heavy_rows.size else None
        # host copies for the heavy-row loop, made once per problem instead of every half-step
        self._lam_host = bk.to_host(lam) if self.heavy_rows.size and hasattr(lam, "shape") \
            else None
        if self.heavy_rows.size:
            mask = np.zeros(omega.shape[0], dtype=bool)
            mask[self.heavy_rows] = True
            self._heavy_mask = bk.from_host(mask)

    def solve(self, F, X0):
        """Return ``(X, info)`` with ``info = {"inner_steps": int, "inner_residual": float}``."""
        if self.method == "altmin":
            return rowwise_lstsq(self.omega, F, lam=self.lam), {"inner_steps": None,
                                                                  "inner_residual": None}
        bk = self.omega.backend
        xp = bk.xp
        with warnings.catch_warnings():
            # an unconverged inner solve is expected (fixed step budget); it is recorded in
            # the history as the worst relative residual instead
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = rowwise_cg(self.omega, F, X0, lam=self.lam, maxiter=self.inner_steps,
                             rtol=self.inner_rtol)
        X = res.X
        bnorm = res.rhs_norms  # computed by the CG pass: no extra product with Ω
        tiny = float(xp.finfo(X.dtype).smallest_normal)
        rel = res.residual_norms / xp.maximum(bnorm, tiny)
        if self.heavy_rows.size:
            X, heavy_rel = self._solve_heavy(F, X)
            rel = xp.where(self._heavy_mask, heavy_rel, rel)
        worst = float(xp.max(rel)) if rel.shape[0] else 0.0
        return X, {"inner_steps": res.nit, "inner_residual": worst}

    def _solve_heavy(self, F, X):
        """Sketch-and-precondition for rows with many entries (Gu et al.; Blendenpik)."""
        bk = self.omega.backend
        xp = bk.xp
        k = F.shape[1]
        rel_host = np.zeros(X.shape[0])
        rtol = self.inner_rtol if self.inner_rtol is not None else 1e-6
        for i in self.heavy_rows:
            lam_i = float(self._lam_host[i]) if self._lam_host is not None else self.lam
            eye = math.sqrt(lam_i) * xp.eye(k, dtype=F.dtype, device=bk.device) if lam_i \
                else None
            lo, hi = int(self._indptr[i]), int(self._indptr[i + 1])
            cols = self.omega.cols[lo:hi]
            A = xp.take(F, cols, axis=0)
            b = xp.astype(self.omega.values[lo:hi], F.dtype)
            if eye is not None:  # ridge as extra rows: [A; sqrt(lam) I] x ≈ [b; 0]
                A = xp.concat((A, eye), axis=0)
                b = xp.concat((b, xp.zeros(k, dtype=F.dtype, device=bk.device)))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                sol = sketch_lstsq(A, b, kind="countsketch", sketch_size=min(A.shape[0], 8 * k * k),
                                   rtol=rtol, maxiter=20, rng=self.rng)
            X[int(i), :] = sol.x
            if sol.history.get("optimality"):
                rel_host[i] = sol.history["optimality"][-1]
        return X, bk.from_host(rel_host, dtype=X.dtype)
