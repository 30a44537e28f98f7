"""Edge-rank selection for binary tree tensor networks (hierarchical Tucker) under a budget.

The generalization in Ghadiri, Fahrbach, Fu, Mirrokni (ICML 2023): a binary dimension tree over
the modes; every edge (a non-root node, i.e. a set ``S`` of modes) gets a rank ``r_S`` whose tail
``tail_S(r)`` comes from the singular values of the matricization ``X_(S)`` (rows: the modes in
``S``).  Grasedyck's bound (SIMAX 2010) gives ``||X - X^||^2 <= sum_S tail_S(r_S)``.  The size is
``sum_leaves I_n r_n`` plus, per internal node, the product of its incident ranks (root: its two
children).  The program mirrors the Tucker packing MILP, with one core-size guess (and one log
row) per internal node.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .._backend import get_backend
from .._result import History, Result
from .._validation import check_int, check_positive
from ._spectra import _as_float, _check_tensor, _tails

__all__ = ["select_tree_ranks", "tree_size"]

_ROW_TOL = 1e-9


def _parse_tree(tree, N):
    """Nested pairs of mode indices -> (edges, internal nodes).

    ``edges``: the mode tuples of every non-root node.  ``nodes``: for every internal node, the
    list of its incident edges (children, then parent unless it is the root).
    """
    seen = []

    def modes_of(t):
        if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
            seen.append(int(t))
            return (int(t),)
        if not isinstance(t, (tuple, list)) or len(t) != 2:
            raise ValueError(f"`tree` must nest pairs of mode indices (a binary tree), got {t!r}")
        return tuple(sorted(modes_of(t[0]) + modes_of(t[1])))

    root = modes_of(tree)
    if sorted(seen) != list(range(N)):
        raise ValueError(f"`tree` must hold each mode 0..{N - 1} exactly once, got {sorted(seen)}")
    edges, nodes = [], []

    def walk(t, parent_edge):
        if not isinstance(t, (tuple, list)):
            return
        kids = [tuple(sorted(_leaves(c))) for c in t]
        nodes.append(kids + ([parent_edge] if parent_edge is not None else []))
        for c, k in zip(t, kids):
            edges.append(k)
            walk(c, k)

    walk(tree, None)
    del root
    return edges, nodes


def _leaves(t):
    if isinstance(t, (tuple, list)):
        return _leaves(t[0]) + _leaves(t[1])
    return (int(t),)


def tree_size(shape, tree, ranks):
    """Parameters of a binary tree tensor network with the given edge ranks.

    Parameters
    ----------
    shape : sequence of int
    tree : nested pairs of int
        Binary dimension tree, e.g. ``((0, 1), (2, 3))``.
    ranks : dict
        Edge rank per non-root node, keyed by the sorted tuple of its modes (``(0,)`` for the
        leaf of mode 0, ``(0, 1)`` for the node above modes 0 and 1).

    Returns
    -------
    int
        ``sum_n I_n r_(n)`` plus the product of incident ranks at each internal node.

    Raises
    ------
    ValueError
        For a tree that is not binary over all modes, or missing ranks.

    References
    ----------
    L. Grasedyck, "Hierarchical singular value decomposition of tensors", SIAM J. Matrix Anal.
    Appl. 31(4), 2010.

    Examples
    --------
    >>> from lowrank_la.tensor import tree_size
    >>> r = {(0,): 2, (1,): 2, (2,): 2, (3,): 2, (0, 1): 3, (2, 3): 3}
    >>> # leaves 4 * (5 * 2), nodes (0, 1) and (2, 3): 2 * 2 * 3 each, root 3 * 3
    >>> tree_size((5, 5, 5, 5), ((0, 1), (2, 3)), r)
    73
    """
    shape = [int(s) for s in shape]
    edges, nodes = _parse_tree(tree, len(shape))
    missing = [e for e in edges if e not in ranks]
    if missing:
        raise ValueError(f"`ranks` lacks the edges {missing}")
    size = sum(shape[e[0]] * int(ranks[e]) for e in edges if len(e) == 1)
    return size + sum(math.prod(int(ranks[e]) for e in inc) for inc in nodes)


def _matricization_tails(bk, X, S):
    xp = bk.xp
    rest = [m for m in range(X.ndim) if m not in S]
    rows = math.prod(X.shape[m] for m in S)
    M = xp.reshape(xp.permute_dims(X, tuple(S) + tuple(rest)), (rows, -1))
    if M.shape[0] > M.shape[1]:
        M = M.T
    w = bk.linalg.eigh(M @ M.T)[0]
    s2 = np.clip(np.sort(np.asarray(bk.to_host(w), dtype=np.float64))[::-1], 0.0, None)
    return _tails(s2)


def _grid(cap, eps):
    grid = [1]
    while grid[-1] < cap:
        grid.append(max(grid[-1] + 1, math.floor((1 + eps) * grid[-1])))
    return grid


def _is_valid(nodes, ranks):
    for inc in nodes:
        prod = math.prod(ranks[e] for e in inc)
        if any(ranks[e] ** 2 > prod for e in inc):  # r_e <= product of the others
            return False
    return True


def select_tree_ranks(X, tree, budget, *, eps=0.02, valid=True, mip_rel_gap=1e-6,
                      time_limit=None):
    """Edge ranks of a binary tree tensor network minimizing the error bound within a budget.

    Parameters
    ----------
    X : array, shape (I_1, ..., I_N), N >= 2
    tree : nested pairs of int
        Binary dimension tree over the modes, e.g. ``((0, 1), (2, 3))`` or ``(0, (1, 2))``.
    budget : int
        Maximum number of parameters (see :func:`tree_size`); at least the all-ones size.
    eps : float > 0
        Core-size grid ratio: the ranks are at least as good, on the bound, as the best ranks at
        budget ``budget / (1 + eps)``.
    valid : bool
        Require each edge rank to be at most the product of the other ranks at its nodes.
    mip_rel_gap : float
        HiGHS relative gap (the objective is scaled by the all-ones bound).
    time_limit : float, optional
        HiGHS time limit in seconds (``status=1`` when hit).

    Returns
    -------
    Result
        ``ranks`` (dict: mode tuple of each non-root node -> rank), ``size``, ``budget``,
        ``bound`` (relative error bound ``sqrt(sum tails) / ||X||``, unsquared), ``bound_sq``,
        ``time``, ``success``, ``status``, ``message``, ``nit`` (programs solved), ``history``
        (empty) and ``solver`` (MILP status, variables).

    Raises
    ------
    ValueError
        For a non-binary tree, a tree missing modes, order < 2, NaN/inf, or a budget below the
        all-ones size.

    References
    ----------
    M. Ghadiri, M. Fahrbach, G. Fu, V. Mirrokni, "Approximately optimal core shapes for tensor
    decompositions", ICML 2023; L. Grasedyck, SIAM J. Matrix Anal. Appl. 31(4), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.tensor import select_tree_ranks
    >>> X = np.random.default_rng(0).standard_normal((4, 4, 4, 4))
    >>> res = select_tree_ranks(X, ((0, 1), (2, 3)), budget=60)
    >>> res.size <= 60, res.ranks[(0, 1)] == res.ranks[(2, 3)]
    (True, True)
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    t0 = time.perf_counter()
    _check_tensor(X)
    shape = tuple(int(s) for s in X.shape)
    edges, nodes = _parse_tree(tree, X.ndim)
    ones = {e: 1 for e in edges}
    budget = check_int(budget, "budget", minimum=1)
    smallest = tree_size(shape, tree, ones)
    if budget < smallest:
        raise ValueError(f"`budget` must be at least the all-ones tree size {smallest}, got "
                         f"{budget}")
    eps = check_positive(eps, "eps")
    bk = get_backend(X)
    X = _as_float(bk, X)
    tails = {e: _matricization_tails(bk, X, e) for e in edges}
    norm2 = float(tails[edges[0]][0])
    # a rank beyond the matricization's smaller side only repeats zeros
    caps = {e: min(len(tails[e]) - 1, budget) for e in edges}
    cols = [(e, r) for e in edges for r in range(1, caps[e] + 1)]
    grids = [_grid(min(budget, math.prod(caps[e] for e in inc)), eps) for inc in nodes]
    nx = len(cols)
    nz = sum(len(g) for g in grids)
    scale = max(sum(t[1] for t in tails.values()), 1e-300)
    c = np.zeros(nx + nz)
    rows, lb, ub = [], [], []

    def row():
        return np.zeros(nx + nz)

    col_of = {}
    for j, (e, r) in enumerate(cols):
        c[j] = tails[e][r] / scale
        col_of.setdefault(e, []).append((j, r))
    for e in edges:  # one rank per edge
        a = row()
        a[[j for j, _ in col_of[e]]] = 1.0
        rows.append(a), lb.append(1.0), ub.append(1.0)
    size = row()
    for e in edges:
        if len(e) == 1:
            for j, r in col_of[e]:
                size[j] = shape[e[0]] * r
    start = nx
    for inc, grid in zip(nodes, grids):
        zs = np.arange(start, start + len(grid))
        a = row()
        a[zs] = 1.0
        rows.append(a), lb.append(1.0), ub.append(1.0)
        a = row()  # prod of incident ranks <= guessed size, in logs
        for e in inc:
            for j, r in col_of[e]:
                a[j] += math.log(r)
        a[zs] = -np.log(np.asarray(grid, dtype=float))
        rows.append(a), lb.append(-np.inf), ub.append(_ROW_TOL)
        size[zs] = grid
        if valid:
            for e in inc:
                a = row()
                for f in inc:
                    for j, r in col_of[f]:
                        a[j] += math.log(r) * (1.0 if f == e else -1.0)
                rows.append(a), lb.append(-np.inf), ub.append(_ROW_TOL)
        start += len(grid)
    rows.append(size), lb.append(-np.inf), ub.append(float(budget))
    options = {"mip_rel_gap": float(mip_rel_gap)}
    if time_limit is not None:
        options["time_limit"] = check_positive(time_limit, "time_limit")
    res = milp(c, integrality=np.ones(nx + nz), bounds=Bounds(0, 1),
               constraints=LinearConstraint(np.vstack(rows), lb, ub), options=options)
    ranks, status, message = dict(ones), 0, "optimal for the (1 + eps)-grid program"
    if res.x is not None:
        cand = {}
        for e in edges:
            js = col_of[e]
            cand[e] = js[int(np.argmax([res.x[j] for j, _ in js]))][1]
        # confirm in integers (row tolerances are ~1e-7); fall back to all-ones otherwise
        if tree_size(shape, tree, cand) <= budget and (not valid or _is_valid(nodes, cand)):
            ranks = cand
    if res.status == 1:
        status, message = 1, "the MILP solver stopped at its time limit: best ranks so far"
    elif res.x is None:
        status, message = 2, f"the MILP solver failed: {res.message}"
    b2 = float(sum(tails[e][ranks[e]] for e in edges))
    return Result(
        ranks=ranks, size=tree_size(shape, tree, ranks), budget=budget,
        bound=math.sqrt(max(b2, 0.0) / norm2) if norm2 > 0 else 0.0, bound_sq=b2,
        time=time.perf_counter() - t0, success=status == 0, status=status, message=message,
        nit=1, history=History(), solver={"milp_status": res.status, "n_variables": nx + nz},
    )
