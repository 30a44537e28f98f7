"""Choosing a truncation rank from singular values (shared by SVD and LowRankMatrix)."""

from __future__ import annotations

from .._validation import check_fraction, check_nonnegative, check_rank

__all__ = ["select_rank"]


def select_rank(s, rank=None, *, rtol=None, atol=None, energy=None) -> int:
    """Number of singular values to keep.

    Parameters
    ----------
    s : array, shape (r,)
        Singular values in non-increasing order.
    rank : int, optional
        Upper bound on the rank.
    rtol : float, optional
        Drop singular values ``<= rtol * s[0]``.
    atol : float, optional
        Drop singular values ``<= atol``.
    energy : float in (0, 1], optional
        Keep the fewest values whose squares sum to at least ``energy`` times the total
        (truncation error ``||A - A_k||_F <= sqrt(1 - energy) ||A||_F``).

    Returns
    -------
    int
        The rank, at least 1 when ``s`` is non-empty and ``s[0] > 0``, else possibly 0.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import select_rank
    >>> select_rank(np.array([3.0, 1.0, 1e-9]), rtol=1e-6)
    2
    >>> select_rank(np.array([3.0, 1.0, 1e-9]), energy=0.8)
    1
    """
    import numpy as np

    from .._backend import get_backend

    bk = get_backend(s)
    n = int(s.shape[0])
    k = n
    if rank is not None:
        k = min(k, check_rank(rank, "rank"))
    # one small vector comes back to the host: the r singular values decide a Python int
    if rtol is not None or atol is not None or energy is not None:
        host = np.asarray(bk.to_host(s), dtype=float)
        if rtol is not None:
            rtol = check_nonnegative(rtol, "rtol")
            if n:
                k = min(k, int(np.count_nonzero(host > rtol * host[0])))
        if atol is not None:
            atol = check_nonnegative(atol, "atol")
            k = min(k, int(np.count_nonzero(host > atol)))
        if energy is not None:
            energy = check_fraction(energy, "energy", closed=True)
            sq = np.cumsum(host**2)
            if n and sq[-1] > 0:
                # smallest k with sq[k-1] >= energy * total (guard round-off at energy = 1)
                need = int(np.searchsorted(sq, energy * sq[-1] * (1 - 1e-12), side="left")) + 1
                k = min(k, max(need, 1))
    return k
