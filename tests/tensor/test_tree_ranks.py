import itertools
import math

import numpy as np
import pytest

from lowrank_la.tensor import select_tree_ranks, tree_size, uneven_tensor


def _tails(X, S):
    rest = [m for m in range(X.ndim) if m not in S]
    M = np.transpose(X, tuple(S) + tuple(rest)).reshape(math.prod(X.shape[m] for m in S), -1)
    s = np.linalg.svd(M, compute_uv=False) ** 2
    s = np.concatenate([s, np.zeros(max(0, M.shape[0] - len(s)))])
    return np.concatenate([np.cumsum(s[::-1])[::-1], [0.0]])


def _brute_force(X, tree, edges, nodes, budget):
    """Best bound over all valid edge ranks of size <= budget (independent enumeration)."""
    tails = {e: _tails(X, e) for e in edges}
    caps = [min(math.prod(X.shape[m] for m in e),
                math.prod(X.shape[m] for m in range(X.ndim) if m not in e)) for e in edges]
    best = math.inf
    for combo in itertools.product(*[range(1, c + 1) for c in caps]):
        ranks = dict(zip(edges, combo))
        if any(ranks[e] ** 2 > math.prod(ranks[f] for f in inc) for inc in nodes for e in inc):
            continue
        if tree_size(X.shape, tree, ranks) > budget:
            continue
        best = min(best, sum(tails[e][ranks[e]] for e in edges))
    return best, tails


CASES = [
    (((0, 1), (2, 3)), (3, 3, 3, 3),
     [(0, 1), (0,), (1,), (2, 3), (2,), (3,)],
     [[(0, 1), (2, 3)], [(0,), (1,), (0, 1)], [(2,), (3,), (2, 3)]]),
    ((0, (1, 2)), (5, 4, 3),
     [(0,), (1, 2), (1,), (2,)],
     [[(0,), (1, 2)], [(1,), (2,), (1, 2)]]),
]


@pytest.mark.parametrize("tree,dims,edges,nodes", CASES, ids=["balanced4", "caterpillar3"])
def test_tree_ranks_within_guarantee(tree, dims, edges, nodes):
    X = uneven_tensor(dims, (1.0, 2.0, 4.0, 8.0)[: len(dims)], noise=0.02, rng=0)
    eps = 0.1
    for budget in (30, 45, 70, 110):
        res = select_tree_ranks(X, tree, budget, eps=eps)
        assert res.success and res.size <= budget
        best, tails = _brute_force(X, tree, edges, nodes, budget)
        got = sum(tails[e][res.ranks[e]] for e in edges)
        assert got == pytest.approx(res.bound_sq, rel=1e-8, abs=1e-12)
        assert got >= best * (1 - 1e-9)
        shrunk, _ = _brute_force(X, tree, edges, nodes, budget / (1 + eps))
        assert got <= shrunk * (1 + 1e-9) + 1e-12


def test_tree_size_and_bad_input():
    ranks = {(0,): 2, (1,): 3, (2,): 4, (1, 2): 5}
    # leaves 5*2 + 4*3 + 3*4, node (1,2): 3*4*5, root: 2*5
    assert tree_size((5, 4, 3), (0, (1, 2)), ranks) == 10 + 12 + 12 + 60 + 10
    X = np.ones((3, 3, 3))
    with pytest.raises(ValueError, match="binary"):
        select_tree_ranks(X, (0, 1, 2), 100)
    with pytest.raises(ValueError, match="exactly once"):
        select_tree_ranks(X, (0, (1, 1)), 100)
    with pytest.raises(ValueError, match="budget"):
        select_tree_ranks(X, (0, (1, 2)), 5)
    with pytest.raises(ValueError, match="lacks"):
        tree_size((3, 3, 3), (0, (1, 2)), {(0,): 1})
