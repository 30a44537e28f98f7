"""Global, row and column biases for rating data (the "baseline predictors" of Koren 2008)."""

from __future__ import annotations

from ..sampled import spmm, spmm_t

__all__ = ["fit_biases"]


def fit_biases(omega, reg, sweeps=10):
    """Ridge-regularized biases ``M_ij ≈ mean + b_i + c_j`` by alternating shrunken means.

    Each update is ``b_i = sum_j (M_ij - mean - c_j) / (|Ω_i| + reg)`` (and likewise for
    ``c_j``); the row sums are sparse products with a ones vector.

    Returns
    -------
    mean : float
    row_bias : array (m,)
    col_bias : array (n,)
    residual : ObservedEntries
        ``omega`` with values ``M_ij - mean - b_i - c_j``.
    """
    bk = omega.backend
    xp = bk.xp
    m, n = omega.shape
    dtype = omega.values.dtype
    mean = float(xp.mean(omega.values))
    ones_n = xp.ones((n, 1), dtype=dtype, device=bk.device)
    ones_m = xp.ones((m, 1), dtype=dtype, device=bk.device)
    row_cnt = xp.astype(omega.row_counts(), dtype)
    col_cnt = xp.astype(omega.col_counts(), dtype)
    b = xp.zeros(m, dtype=dtype, device=bk.device)
    c = xp.zeros(n, dtype=dtype, device=bk.device)
    centered = omega.values - mean
    for _ in range(sweeps):
        r = omega.with_values(centered - xp.take(c, omega.cols))
        b = spmm(r, ones_n)[:, 0] / (row_cnt + reg)
        r = omega.with_values(centered - xp.take(b, omega.rows))
        c = spmm_t(r, ones_m)[:, 0] / (col_cnt + reg)
    residual = omega.with_values(centered - xp.take(b, omega.rows) - xp.take(c, omega.cols))
    return mean, b, c, residual
