"""Test matrices with known answers, shared by the sampling tests."""

import numpy as np


def heavy_rows(n, d, n_heavy=5, scale=300.0, seed=0):
    """Gaussian rows with a few rows scaled up: those have leverage close to 1."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    A[:n_heavy] *= scale
    return A


def ill_conditioned(A, cond=1e3, seed=1):
    """``A R`` for a random R with condition number ``cond`` (scores must not change)."""
    rng = np.random.default_rng(seed)
    d = A.shape[1]
    U = np.linalg.qr(rng.standard_normal((d, d)))[0]
    V = np.linalg.qr(rng.standard_normal((d, d)))[0]
    return A @ (U * np.logspace(0, np.log10(cond), d)) @ V.T


def basis_leverage(A):
    """Reference leverage scores: squared row norms of an orthonormal basis from the SVD."""
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    r = int(np.sum(s > max(A.shape) * np.finfo(float).eps * s[0]))
    return np.sum(U[:, :r] ** 2, axis=1), r


def lewis_reference(A, p):
    """Lewis weights from the convex characterization, independent of the fixed point.

    ``M* = argmax (1/2) log det M - (1/p) sum_i (a_i^T M a_i)^{p/2}`` over M = L L^T (BFGS on the
    lower triangle of L); then ``w_i = (a_i^T M* a_i)^{p/2}``.  Stationarity gives
    ``M^{-1} = A^T W^{1-2/p} A``, the Lewis condition.
    """
    from scipy.optimize import minimize

    n, d = A.shape
    tril = np.tril_indices(d)

    def unpack(theta):
        L = np.zeros((d, d))
        L[tril] = theta
        return L

    def f(theta):
        L = unpack(theta)
        B = A @ L  # a_i^T M a_i = ||L^T a_i||^2
        q = np.sum(B * B, axis=1)
        val = -np.log(np.abs(np.prod(np.diag(L)))) + np.sum(q ** (p / 2)) / p
        # gradient: d/dL [-log|det L|] = -L^{-T}; d/dL q^{p/2}/p = A^T diag(q^{p/2-1}) B
        G = -np.linalg.inv(L).T + A.T @ (B * (q ** (p / 2 - 1))[:, None])
        return val, G[tril]

    res = minimize(f, np.eye(d)[tril] / np.sqrt(np.mean(np.sum(A * A, axis=1))), jac=True,
                   method="BFGS", options={"gtol": 1e-12, "maxiter": 5000})
    B = A @ unpack(res.x)
    return np.sum(B * B, axis=1) ** (p / 2)
