"""GaLore gradient projectors (Zhao et al., ICML 2024)."""

from __future__ import annotations

from .._validation import check_matrix, check_rank

__all__ = ["galore_projector", "galore_project", "galore_back_project"]


def galore_projector(G, rank):
    """Projector of a gradient: its top-``rank`` singular vectors on the short side.

    For ``m >= n`` the projector ``P`` holds the top right singular vectors (``n x r``) and the
    projected gradient is ``G P`` (``m x r``); otherwise the top left ones (``m x r``) and
    ``P^T G`` (``r x n``).  Either way the optimizer state shrinks from ``m n`` to
    ``max(m, n) r`` entries per moment.

    Parameters
    ----------
    G : array, shape (m, n)
    rank : int
        In ``[1, min(m, n)]``.

    Returns
    -------
    P : array
        Orthonormal columns.
    side : {"right", "left"}

    Raises
    ------
    ValueError
        Rank out of range, non-finite ``G``.

    References
    ----------
    .. [1] J. Zhao et al., GaLore: memory-efficient LLM training by gradient low-rank
       projection, ICML 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import galore_projector
    >>> P, side = galore_projector(np.outer(np.arange(1.0, 7.0), [1.0, 2.0, 2.0]), 1)
    >>> side, np.round(np.abs(P[:, 0]) * 3, 6).tolist()
    ('right', [1.0, 2.0, 2.0])
    """
    from ..linalg import truncated_svd

    check_matrix(G, "G", dtype_kind="real floating")
    m, n = G.shape
    rank = check_rank(rank, "rank", maximum=min(m, n))
    U, _, Vh = truncated_svd(G, rank)
    if m >= n:
        return Vh.T, "right"
    return U, "left"


def galore_project(G, P, side):
    """Projected gradient ``G P`` (``side="right"``) or ``P^T G`` (``"left"``).

    Parameters
    ----------
    G : array, shape (m, n)
    P : array
    side : {"right", "left"}

    Returns
    -------
    array

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import galore_project
    >>> galore_project(np.ones((3, 2)), np.eye(2)[:, :1], "right").shape
    (3, 1)
    """
    return G @ P if side == "right" else P.T @ G


def galore_back_project(N, P, side):
    """Back-projection of a reduced update: ``N P^T`` (``"right"``) or ``P N`` (``"left"``).

    Parameters
    ----------
    N : array
    P : array
    side : {"right", "left"}

    Returns
    -------
    array, shape (m, n)

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import galore_back_project
    >>> galore_back_project(np.ones((3, 1)), np.eye(2)[:, :1], "right").tolist()
    [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]
    """
    return N @ P.T if side == "right" else P @ N
