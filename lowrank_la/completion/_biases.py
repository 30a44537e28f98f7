"""Global, row and column biases for rating data (the "baseline predictors" of Koren 2008)."""

from __future__ import annotations

from ..sampled import spmm, spmm_t

__all__ = ["fit_biases", "shrunken_sums"]


def shrunken_sums(omega, values, counts, reg, *, columns=False):
    """``sum_j values_ij / (|Ω_i| + reg)`` per row (per column with ``columns``).

    The one bias update, shared with the Dask driver (which calls it per block of Ω).
    """
    xp = omega.backend.xp
    size = omega.shape[0] if columns else omega.shape[1]
    ones = xp.ones((size, 1), dtype=values.dtype, device=omega.backend.device)
    product = spmm_t if columns else spmm
    return product(omega.with_values(values), ones)[:, 0] / (counts + reg)


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
    row_cnt = xp.astype(omega.row_counts(), dtype)
    col_cnt = xp.astype(omega.col_counts(), dtype)
    b = xp.zeros(m, dtype=dtype, device=bk.device)
    c = xp.zeros(n, dtype=dtype, device=bk.device)
    centered = omega.values - mean
    for _ in range(sweeps):
        b = shrunken_sums(omega, centered - xp.take(c, omega.cols), row_cnt, reg)
        c = shrunken_sums(omega, centered - xp.take(b, omega.rows), col_cnt, reg, columns=True)
    residual = omega.with_values(centered - xp.take(b, omega.rows) - xp.take(c, omega.cols))
    return mean, b, c, residual
