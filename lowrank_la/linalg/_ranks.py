"""Robust notions of rank: stable rank and effective rank."""

from __future__ import annotations

import math

from .._backend import get_backend
from .._validation import check_matrix

__all__ = ["stable_rank", "effective_rank"]


def _singular_values(A):
    from ._lowrank import LowRankMatrix

    if isinstance(A, LowRankMatrix):
        return A.singular_values()
    check_matrix(A, "A", dtype_kind="numeric")
    bk = get_backend(A)
    dtype = bk.float_dtype(A)
    return bk.xp.linalg.svdvals(bk.xp.astype(A, dtype))


def stable_rank(A) -> float:
    """Stable rank ``||A||_F^2 / ||A||_2^2``, a continuous lower bound of the rank.

    Parameters
    ----------
    A : array, shape (m, n), or LowRankMatrix

    Returns
    -------
    float
        In ``[1, rank(A)]``; 0 for the zero matrix.

    References
    ----------
    M. Rudelson, R. Vershynin, "Sampling from large matrices: an approach through geometric
    functional analysis", J. ACM 54(4), 2007.  Used for rank selection in Cuttlefish
    (Wang et al., MLSys 2023).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import stable_rank
    >>> stable_rank(np.diag([2.0, 1.0, 1.0]))
    1.5
    """
    s = _singular_values(A)
    bk = get_backend(s)
    top = float(bk.xp.max(s))
    if top == 0.0:
        return 0.0
    return float(bk.xp.sum((s / top) ** 2))


def effective_rank(A) -> float:
    """Effective rank ``exp(H(p))`` with ``p_i = s_i / sum(s)`` (Roy and Vetterli).

    Parameters
    ----------
    A : array, shape (m, n), or LowRankMatrix

    Returns
    -------
    float
        In ``[1, rank(A)]``; equals r for r equal non-zero singular values.

    References
    ----------
    O. Roy, M. Vetterli, "The effective rank: a measure of effective dimensionality",
    EUSIPCO 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import effective_rank
    >>> round(effective_rank(np.diag([1.0, 1.0, 1.0, 0.0])), 12)
    3.0
    """
    s = _singular_values(A)
    xp = get_backend(s).xp
    total = float(xp.sum(s))
    if total == 0.0:
        return 0.0
    p = s / total
    safe = xp.where(p > 0, p, xp.ones_like(p))
    entropy = -float(xp.sum(p * xp.log(safe)))
    return math.exp(entropy)
