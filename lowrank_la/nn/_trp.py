"""Trained Rank Pruning (Xu et al.): periodic low-rank projection and the nuclear subgradient."""

from __future__ import annotations

from .._validation import check_matrix
from ._rules import select_weight_rank

__all__ = ["trp_project", "nuclear_subgradient"]


def trp_project(W, energy=0.9, *, rank=None):
    """Project a weight matrix onto its truncated SVD (one TRP projection).

    Parameters
    ----------
    W : array, shape (m, n)
    energy : float in (0, 1]
        Energy rule for the rank (see :func:`select_weight_rank`).
    rank : int, optional
        Upper bound on the rank.

    Returns
    -------
    W_r : array, shape (m, n)
        ``U_r diag(s_r) V_r^T`` (a new array).
    D : array, shape (m, n)
        ``U_r V_r^T``, the nuclear-norm subgradient at ``W_r``.
    r : int

    Raises
    ------
    ValueError
        Non-finite ``W`` or a bad rule.

    References
    ----------
    .. [1] Y. Xu et al., Trained rank pruning for efficient deep neural networks, IJCAI 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import trp_project
    >>> W_r, D, r = trp_project(np.diag([3.0, 1.0, 0.1]), energy=0.85)
    >>> r, np.diag(W_r).tolist()
    (1, [3.0, 0.0, 0.0])
    """
    from ..linalg import truncated_svd

    check_matrix(W, "W", dtype_kind="real floating")
    U, s, Vh = truncated_svd(W)
    r = select_weight_rank(s, W.shape, energy=energy, rank=rank)
    Ur, Vhr = U[:, :r], Vh[:r, :]
    return (Ur * s[None, :r]) @ Vhr, Ur @ Vhr, r


def nuclear_subgradient(W, *, rtol=1e-12):
    """A subgradient ``U V^T`` of the nuclear norm ``||W||_*`` (numerical range only).

    Parameters
    ----------
    W : array, shape (m, n)
    rtol : float
        Singular values ``<= rtol * s_max`` count as zero.

    Returns
    -------
    array, shape (m, n)

    References
    ----------
    .. [1] G. A. Watson, Characterization of the subdifferential of some matrix norms,
       Linear Algebra Appl. 170 (1992).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import nuclear_subgradient
    >>> nuclear_subgradient(np.diag([2.0, 0.0])).tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    from ..linalg import truncated_svd

    check_matrix(W, "W", dtype_kind="real floating")
    U, _, Vh = truncated_svd(W, rtol=rtol)
    return U @ Vh
