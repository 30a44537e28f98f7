"""l_p sensitivities: exact (one convex program per row) and Lewis-weight upper bounds."""

from __future__ import annotations

import numpy as np

from .._validation import check_option, check_rng
from ._factor import factor
from ._input import check_p, prepare_matrix
from ._lewis import lewis_weights

__all__ = ["lp_sensitivities"]


def _host_basis(bk, A, sparse):
    """Orthonormal basis of range(A) as a NumPy array (exact sensitivities are host-side)."""
    Q, _ = factor(bk, A, sparse, "cholqr" if sparse else "qr", rng=np.random.default_rng(0))
    return np.asarray(bk.to_host(Q), dtype=np.float64)


def _sensitivity_l1(U, i):
    """``1 / min{||U z||_1 : u_i^T z = 1}`` through the dual LP.

    Dual: ``max mu`` s.t. ``U^T y = mu u_i``, ``|y| <= 1``: r equality rows instead of the
    primal's n inequality pairs (31 s vs 740 s for 1500 x 6 in the sampling notes).
    """
    from scipy.optimize import linprog

    n, r = U.shape
    c = np.zeros(n + 1)
    c[-1] = -1.0
    A_eq = np.hstack([U.T, -U[i][:, None]])
    bounds = [(-1.0, 1.0)] * n + [(None, None)]
    res = linprog(c, A_eq=A_eq, b_eq=np.zeros(r), bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - a bounded feasible LP
        raise RuntimeError(f"linprog failed for row {i}: {res.message}")
    return 1.0 / -res.fun


def _sensitivity_lp(U, i, p):
    """``1 / min{||U z||_p^p : u_i^T z = 1}`` by BFGS on the affine set (null-space form)."""
    from scipy.optimize import minimize

    u = U[i]
    z0 = u / (u @ u)
    r = U.shape[1]
    if r == 1:
        return 1.0 / np.sum(np.abs(U @ z0) ** p)
    # orthonormal basis N of the complement of u: the last r-1 columns of a full QR of u
    N = np.linalg.qr(u[:, None], mode="complete")[0][:, 1:]
    UN, Uz0 = U @ N, U @ z0

    def fun(y):
        x = Uz0 + UN @ y
        ax = np.abs(x)
        return np.sum(ax**p), p * (UN.T @ (np.sign(x) * ax ** (p - 1)))

    y = np.zeros(r - 1)
    f_prev = np.inf
    # restarts: BFGS's line search stops early on the kinks of |x|^p for p near 1
    for _ in range(5):
        res = minimize(fun, y, jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": 2000})
        y = res.x
        if f_prev - res.fun <= 1e-14 * res.fun:
            break
        f_prev = res.fun
    return 1.0 / res.fun


def lp_sensitivities(A, p, *, method="exact", rng=None):
    """l_p sensitivities ``s_i = sup_x |a_i^T x|^p / ||A x||_p^p`` of the rows of ``A``.

    Parameters
    ----------
    A : array or scipy.sparse matrix, shape (n, d)
    p : float
        ``p > 0``; ``method="exact"`` needs ``p >= 1`` (a convex program per row).
    method : {"exact", "lewis", "leverage"}
        ``"exact"``: ``s_i = 1 / min{||A x||_p^p : a_i^T x = 1}``, one convex program per row on
        an orthonormal basis of range(A): the dual linear program (``scipy.optimize.linprog``,
        HiGHS) at ``p = 1``, BFGS on the affine set otherwise.  Cost ~ n programs of size n:
        meant for small problems (seconds at n ~ 1000, d ~ 10).  Computed on the host.
        ``"lewis"``: the upper bounds from the l_p Lewis weights ``w`` (Hoelder):
        ``min(1, w_i)`` for ``p <= 2`` and ``min(1, r^{p/2-1} w_i)`` for ``p > 2``; they sum to
        at most ``r`` and ``r^{p/2}``.  ``"leverage"`` (``p <= 2`` only): the root-leverage bound
        ``t_i^{p/2}``, from ``|a_i^T x| <= sqrt(t_i) ||Ax||_2 <= sqrt(t_i) ||Ax||_p``.
    rng : None, int or numpy.random.Generator
        Passed to the Lewis-weight computation.

    Returns
    -------
    s : array, shape (n,)
        Exact values (NumPy array, float64) or upper bounds (backend and dtype of ``A``).

    Raises
    ------
    ValueError
        On ``p <= 0``, ``p < 1`` with ``method="exact"``, ``p > 2`` with
        ``method="leverage"``, NaN/inf in ``A``.

    References
    ----------
    D. P. Woodruff, T. Yasuda, "Sharper bounds for l_p sensitivity sampling", ICML 2023,
    arXiv:2306.00732.  M. B. Cohen, R. Peng, "l_p row sampling by Lewis weights", STOC 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampling import lp_sensitivities
    >>> A = np.vstack([np.eye(2), np.eye(2), [[0.0, 1.0]]])  # rows e1, e2, e1, e2, e2
    >>> np.round(lp_sensitivities(A, 1.0), 6)
    array([0.5     , 0.333333, 0.5     , 0.333333, 0.333333])
    >>> bool(np.all(lp_sensitivities(A, 1.0, method="lewis") >= lp_sensitivities(A, 1.0) - 1e-9))
    True
    """
    p = check_p(p)
    check_option(method, "method", {"exact", "lewis", "leverage"})
    if method == "exact" and p < 1:
        raise ValueError(f"`method`='exact' needs `p` >= 1 (a convex program), got {p}")
    if method == "leverage" and p > 2:
        raise ValueError(f"`method`='leverage' bounds sensitivities for `p` <= 2 only, got {p}")
    bk, A, sparse = prepare_matrix(A)
    rng = check_rng(rng)
    xp = bk.xp
    if method == "exact":
        U = _host_basis(bk, A, sparse)
        out = np.zeros(U.shape[0])
        for i in range(U.shape[0]):
            if np.any(U[i] != 0):
                out[i] = _sensitivity_l1(U, i) if p == 1 else _sensitivity_lp(U, i, p)
        return np.minimum(out, 1.0)
    if method == "lewis":
        w = lewis_weights(A, p, rng=rng).weights
        if p > 2:
            w = w * round(float(xp.sum(w))) ** (p / 2 - 1)  # the weights sum to the rank
    else:
        from ._leverage import _leverage

        t = _leverage(bk, A, sparse, "exact", rng=rng, sketch_size=None,
                      sketch_kind="countsketch", jl_dim=None)
        w = xp.maximum(t, xp.zeros_like(t)) ** (p / 2)
    return xp.minimum(w, xp.ones_like(w))
