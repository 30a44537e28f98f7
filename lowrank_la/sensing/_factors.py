"""Factorized models ``X X^T`` (symmetric) and ``L R^T`` (asymmetric): residuals, gradients,
losses, initializations and the per-iteration diagnostics the solvers record.

Factors travel as tuples, ``(X,)`` or ``(L, R)``, so one driver serves both factorizations.
"""

from __future__ import annotations

import math

from .._validation import check_array, check_same_backend


class FactorModel:
    """The loss ``phi(A(L R^T) - y)`` of a factorization, seen by the solvers.

    ``loss`` is ``"l2"`` (``1/4 ||r||^2`` symmetric, ``1/2 ||r||^2`` asymmetric) or ``"l1"``
    (``||r||_1 / (2 sqrt(m))`` symmetric, ``||r||_1 / sqrt(m)`` asymmetric: the ``1/sqrt(m)``
    turns our ``N(0, 1/m)`` design into the ``N(0, 1)``-design loss ``(1/m) ||r||_1`` of Ma and
    Fattahi, and the halving makes the symmetric subgradient ``sym(A*(s)) X`` as for l2).
    """

    def __init__(self, op, y, *, symmetric: bool, loss: str = "l2"):
        self.op = op
        self.y = y
        self.symmetric = symmetric
        self.loss_kind = loss
        self.bk = op.backend
        self.xp = op.backend.xp
        self._half = 0.5 if symmetric else 1.0
        self._ynorm = float(self.xp.sqrt(self.xp.sum(y * y)))

    # -- products -------------------------------------------------------------------------

    def right(self, F):
        return F[0] if self.symmetric else F[1]

    def residual(self, F):
        """``r = A(L R^T) - y``."""
        return self.op.forward_factored(F[0], self.right(F)) - self.y

    def product(self, F):
        """The dense iterate ``L R^T``."""
        return F[0] @ self.xp.matrix_transpose(self.right(F))

    def weights(self, r):
        """The loss's derivative with respect to the residual (``r`` or ``sign(r)/sqrt(m)``)."""
        if self.loss_kind == "l2":
            return r
        return self.xp.sign(r) / math.sqrt(self.op.m)

    def gradient(self, F, r):
        """Gradient (l2) or subgradient (l1) with respect to the factors, as a tuple."""
        z = self.weights(r)
        if self.symmetric:
            X = F[0]
            if self.op.symmetric:
                g, _ = self.op.adjoint_times(z, right=X)
            else:  # sym(A*(z)) X: A*(z) need not be symmetric
                a, b = self.op.adjoint_times(z, right=X, left=X)
                g = 0.5 * (a + b)
            return (g,)
        gl, gr = self.op.adjoint_times(z, right=F[1], left=F[0])
        return gl, gr

    def loss(self, r) -> float:
        xp = self.xp
        if self.loss_kind == "l2":
            return 0.5 * self._half * float(xp.sum(r * r))
        return self._half * float(xp.sum(xp.abs(r))) / math.sqrt(self.op.m)

    def relative_residual(self, r) -> float:
        xp = self.xp
        return float(xp.sqrt(xp.sum(r * r))) / max(self._ynorm, 1e-300)

    # -- diagnostics ----------------------------------------------------------------------

    def singular_values(self, F):
        """Singular values of the iterate ``L R^T`` (``k`` of them, descending), on the host."""
        la = self.bk.linalg
        if self.symmetric:
            s = la.svd(F[0])[1]
            s = s * s
        else:
            R1 = la.qr(F[0])[1]
            R2 = la.qr(F[1])[1]
            s = la.svd(R1 @ self.xp.matrix_transpose(R2))[1]
        return [float(v) for v in self.bk.to_host(s)]

    def relative_error(self, F, M_true, M_norm) -> float:
        xp = self.xp
        D = self.product(F) - M_true
        return float(xp.sqrt(xp.sum(D * D))) / M_norm


def initial_factors(model: FactorModel, init, rank: int, alpha: float, alpha_right: float,
                    rng, dtype):
    """Small random (``alpha G``, ``G`` iid ``N(0, 1/n)``), spectral, or given factors."""
    op, bk, xp = model.op, model.bk, model.xp
    n1, n2 = op.shape
    if isinstance(init, str) and init == "small":
        L = bk.random_normal(rng, (n1, rank), dtype) * (alpha / math.sqrt(n1))
        if model.symmetric:
            return (L,)
        R = bk.random_normal(rng, (n2, rank), dtype) * (alpha_right / math.sqrt(n2))
        return L, R
    if isinstance(init, str) and init == "spectral":
        # top-k part of A*(y), an unbiased estimate of M under an isotropic design
        G = op.adjoint(model.y)
        if model.symmetric:
            S = 0.5 * (G + xp.matrix_transpose(G))
            w, V = bk.linalg.eigh(S)
            idx = xp.arange(n1 - 1, n1 - 1 - rank, -1, device=bk.device)
            w = xp.take(w, idx)
            V = xp.take(V, idx, axis=1)
            return (V * xp.sqrt(xp.clip(w, 0.0, None)),)
        U, s, Vh = bk.linalg.svd(G)
        root = xp.sqrt(s[:rank])
        return U[:, :rank] * root, xp.matrix_transpose(Vh[:rank, :]) * root
    # given factors
    given = (init,) if model.symmetric and not isinstance(init, (tuple, list)) else tuple(init)
    want = 1 if model.symmetric else 2
    if len(given) != want:
        kind = "X0 (an array)" if model.symmetric else "(L0, R0) (a pair of arrays)"
        raise ValueError(f"`init` must be 'small', 'spectral' or {kind}, got {len(given)} arrays")
    names = ("init",) if model.symmetric else ("init[0]", "init[1]")
    sides = (n1,) if model.symmetric else (n1, n2)
    out = []
    for a, name, n in zip(given, names, sides):
        check_array(a, name, ndim=2)
        if tuple(a.shape) != (n, rank):
            raise ValueError(f"`{name}` must have shape ({n}, {rank}), got {tuple(a.shape)}")
        check_same_backend((name, a), ("y", model.y))
        out.append(xp.astype(a, dtype, copy=True))
    return tuple(out)


def rebalance(model: FactorModel, F):
    """The one-step modification: ``L <- c L (L^T L)^{-1/2}``, ``R <- R (L^T L)^{1/2} / c``.

    The product ``L R^T`` is unchanged; afterwards every singular value of ``L`` equals
    ``c = sqrt(||L R^T||_2)``, so the excess directions of ``R`` (the ones a small
    initialization leaves to converge at a rate ``~ alpha^2``) contract at the rate of the
    exact-rank problem.
    """
    xp, la = model.xp, model.bk.linalg
    L, R = F
    w, W = la.eigh(xp.matrix_transpose(L) @ L)
    w = xp.clip(w, float(xp.max(w)) * 1e-30, None)
    c = math.sqrt(max(model.singular_values(F)[0], 1e-300))
    Wt = xp.matrix_transpose(W)
    root = (W * xp.sqrt(w)) @ Wt
    inv_root = (W / xp.sqrt(w)) @ Wt
    return (L @ inv_root) * c, (R @ root) / c
