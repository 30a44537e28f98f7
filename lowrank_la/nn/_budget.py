"""Cross-layer rank allocation under a parameter budget."""

from __future__ import annotations

import heapq

from .._backend import get_backend
from .._validation import check_int

__all__ = ["allocate_ranks"]


def _cost(m, n, r, diagonal_core):
    return r * (m + n) + (r if diagonal_core else r * r)


def allocate_ranks(singular_values, shapes, budget, *, diagonal_core=False):
    """Ranks for several layers whose factored parameters fit a total budget.

    Greedy by energy per parameter: every layer starts at rank 1; the next rank goes to the
    layer whose next singular value squared per added parameter is largest, among the
    increments that still fit, until none fits.  With ``diagonal_core`` and equal shapes every
    increment costs the same and the kept singular values are the globally largest ones.

    Parameters
    ----------
    singular_values : list of arrays
        Each layer's singular values, non-increasing.
    shapes : list of (m, n)
    budget : int
        Total of ``r (m + n) + r^2`` (``+ r`` with ``diagonal_core``) over the layers.
    diagonal_core : bool

    Returns
    -------
    list of int

    Raises
    ------
    ValueError
        Mismatched lengths, or a budget below rank 1 everywhere.

    References
    ----------
    .. [1] Implementation notes of this package (``nn.md``): "budget (greedy by s_i^2 gained
       per parameter across layers)"; cf. Y. Idelbayev, M. Á. Carreira-Perpiñán, Low-rank
       compression of neural nets: learning the rank of each layer, CVPR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import allocate_ranks
    >>> s = [np.array([3.0, 2.0, 1.0]), np.array([2.5, 0.1, 0.1])]
    >>> allocate_ranks(s, [(3, 3), (3, 3)], 4 * 7, diagonal_core=True)
    [3, 1]
    """
    if len(singular_values) != len(shapes) or not shapes:
        raise ValueError(f"`singular_values` and `shapes` must be non-empty lists of equal "
                         f"length, got {len(singular_values)} and {len(shapes)}")
    budget = check_int(budget, "budget", minimum=1)
    svals = [[float(v) for v in get_backend(s).to_host(s)] for s in singular_values]
    shapes = [(int(m), int(n)) for m, n in shapes]
    ranks = [1] * len(shapes)
    used = sum(_cost(m, n, 1, diagonal_core) for m, n in shapes)
    if used > budget:
        raise ValueError(f"`budget` must be at least {used} (rank 1 in every layer), got {budget}")

    def push(heap, i):
        r, (m, n) = ranks[i], shapes[i]
        if r < min(len(svals[i]), m, n):
            extra = _cost(m, n, r + 1, diagonal_core) - _cost(m, n, r, diagonal_core)
            heapq.heappush(heap, (-svals[i][r] ** 2 / extra, i, extra))

    heap = []
    for i in range(len(shapes)):
        push(heap, i)
    while heap:
        _, i, extra = heapq.heappop(heap)
        if used + extra > budget:
            continue  # this layer's next rank does not fit; others (cheaper) may
        ranks[i] += 1
        used += extra
        push(heap, i)
    return ranks
