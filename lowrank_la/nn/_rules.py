"""Rank selection rules for weight matrices and ``factorize`` (a weight -> LowRankMatrix).

A rule is given as keyword arguments (``rank``, ``energy``, ``tail``, ``rtol``, ``atol``,
``stable_rank``); when several are given the smallest implied rank wins, so a rule can be
"energy 0.9 but at most rank 32".  Rank 0 or a rank above ``min(m, n)`` is an error.
"""

from __future__ import annotations

import math

from .._backend import get_backend
from .._validation import check_fraction, check_int, check_matrix, check_nonnegative, check_rank

__all__ = ["select_weight_rank", "factorize", "break_even_rank", "factored_params"]


def break_even_rank(m: int, n: int) -> float:
    """Rank below which a factored ``m x n`` layer costs fewer multiply-adds than the dense one.

    A factored linear layer ``x V S^T U^T`` costs ``r (m + n) + r^2`` per sample against ``m n``;
    the usual break-even figure ignores the ``r^2`` core: ``r* = m n / (m + n)``.

    Parameters
    ----------
    m, n : int
        Output and input dimension.

    Returns
    -------
    float

    References
    ----------
    .. [1] S. Schotthöfer et al., Low-rank lottery tickets, NeurIPS 2022.

    Examples
    --------
    >>> from lowrank_la.nn import break_even_rank
    >>> break_even_rank(1024, 1024)
    512.0
    """
    m = check_int(m, "m", minimum=1)
    n = check_int(n, "n", minimum=1)
    return m * n / (m + n)


def factored_params(m: int, n: int, rank: int, *, diagonal_core: bool = False) -> int:
    """Parameters of an ``m x n`` layer stored as ``U`` (m x r), core and ``V`` (n x r).

    Parameters
    ----------
    m, n, rank : int
    diagonal_core : bool
        Count ``r`` core entries instead of ``r^2``.

    Returns
    -------
    int

    Examples
    --------
    >>> from lowrank_la.nn import factored_params
    >>> factored_params(128, 64, 8)
    1600
    """
    rank = check_rank(rank, "rank", maximum=min(m, n))
    return rank * (m + n) + (rank if diagonal_core else rank * rank)


def _rank_from_values(host, shape, *, rank, energy, tail, rtol, atol, stable_rank, scale):
    k = len(host)
    total_sq = sum(v * v for v in host)
    if rank is not None:
        k = min(k, rank)
    if energy is not None and total_sq > 0:
        acc, need = 0.0, len(host)
        for i, v in enumerate(host):
            acc += v * v
            if acc >= energy * total_sq * (1 - 1e-12):
                need = i + 1
                break
        k = min(k, need)
    if tail is not None:
        # smallest r whose discarded tail ||s_{r+1:}|| <= tail ||s||
        theta_sq = (tail**2) * total_sq
        r, acc = len(host), 0.0
        while r > 1 and acc + host[r - 1] ** 2 <= theta_sq * (1 + 1e-12):
            acc += host[r - 1] ** 2
            r -= 1
        k = min(k, r)
    if rtol is not None:
        k = min(k, sum(1 for v in host if v > rtol * host[0]))
    if atol is not None:
        k = min(k, sum(1 for v in host if v > atol))
    if stable_rank and host[0] > 0:
        sr = total_sq / host[0] ** 2
        k = min(k, math.ceil(scale * sr - 1e-9))
    return max(1, min(k, min(shape)))


def select_weight_rank(
    s, shape=None, *, rank=None, energy=None, tail=None, rtol=None, atol=None,
    stable_rank=False, scale=1.0,
):
    """Rank of a weight matrix with singular values ``s`` under a truncation rule.

    Parameters
    ----------
    s : array, shape (k,)
        Singular values, non-increasing.
    shape : tuple of int, optional
        The weight's shape; the rank is capped at ``min(shape)`` (default ``k``).
    rank : int, optional
        Fixed rank (an upper bound when combined with other rules).
    energy : float in (0, 1], optional
        Smallest ``r`` with ``sum_{i<=r} s_i^2 >= energy * sum s_i^2``.
    tail : float in [0, 1], optional
        Smallest ``r`` with ``||s_{r+1:}||_2 <= tail * ||s||_2`` (the DLRT rule).
    rtol, atol : float, optional
        Keep singular values ``> rtol * s[0]`` or ``> atol``.
    stable_rank : bool
        Cuttlefish: ``ceil(scale * ||W||_F^2 / ||W||_2^2)``.
    scale : float
        Multiplier of the stable rank (Cuttlefish's ``xi``).

    Returns
    -------
    int
        In ``[1, min(shape)]``.

    Raises
    ------
    ValueError
        ``rank`` outside ``[1, min(shape)]``, fractions outside their range, or no rule given.

    References
    ----------
    .. [1] Y. Xu et al., Trained rank pruning for efficient deep neural networks, IJCAI 2020.
    .. [2] H. Wang et al., Cuttlefish: low-rank model training without all the tuning, MLSys 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import select_weight_rank
    >>> s = np.array([3.0, 2.0, 1.0, 0.1])
    >>> select_weight_rank(s, energy=0.9), select_weight_rank(s, tail=0.1)
    (2, 3)
    """
    k = int(s.shape[0])
    shape = (k, k) if shape is None else tuple(int(d) for d in shape)
    if rank is not None:
        rank = check_rank(rank, "rank", maximum=min(shape))
    if energy is not None:
        energy = check_fraction(energy, "energy", closed=True)
        if energy == 0:
            raise ValueError("`energy` must be in (0, 1], got 0.0")
    if tail is not None:
        tail = check_fraction(tail, "tail", closed=True)
    if rtol is not None:
        rtol = check_nonnegative(rtol, "rtol")
    if atol is not None:
        atol = check_nonnegative(atol, "atol")
    if all(v is None for v in (rank, energy, tail, rtol, atol)) and not stable_rank:
        raise ValueError("no rank rule given: pass one of `rank`, `energy`, `tail`, `rtol`, "
                         "`atol` or `stable_rank=True`")
    bk = get_backend(s)
    host = [float(v) for v in bk.to_host(s)]
    return _rank_from_values(host, shape, rank=rank, energy=energy, tail=tail, rtol=rtol,
                             atol=atol, stable_rank=stable_rank, scale=float(scale))


def factorize(W, *, rank=None, energy=None, tail=None, rtol=None, atol=None,
              stable_rank=False, scale=1.0):
    """Truncated SVD of a weight matrix under a rank rule, as a :class:`~lowrank_la.LowRankMatrix`.

    Parameters
    ----------
    W : array, shape (m, n)
        Finite weight matrix (NumPy, torch, CuPy or array-API array).
    rank, energy, tail, rtol, atol, stable_rank, scale
        The rule, see :func:`select_weight_rank`.

    Returns
    -------
    LowRankMatrix
        ``U diag(s) V^T`` with ``||W - U diag(s) V^T||_F`` equal to the norm of the discarded
        singular values.

    Raises
    ------
    ValueError
        Non-finite ``W`` or a bad rule.

    References
    ----------
    .. [1] C. Eckart, G. Young, The approximation of one matrix by another of lower rank,
       Psychometrika 1 (1936).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import factorize
    >>> W = np.diag([4.0, 2.0, 0.5])
    >>> F = factorize(W, energy=0.95)
    >>> F.rank, float(np.linalg.norm(W - F.to_dense()))
    (2, 0.5)
    """
    from ..linalg import LowRankMatrix, truncated_svd

    check_matrix(W, "W", dtype_kind="numeric")
    U, s, Vh = truncated_svd(W)
    r = select_weight_rank(s, W.shape, rank=rank, energy=energy, tail=tail, rtol=rtol,
                           atol=atol, stable_rank=stable_rank, scale=scale)
    return LowRankMatrix(U[:, :r], s[:r], Vh[:r, :].T)
