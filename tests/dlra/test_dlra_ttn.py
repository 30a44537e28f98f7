"""Tree tensor network BUG: exactness, first order on a non-exact problem, input checks."""

import numpy as np
import pytest
import scipy.linalg

from lowrank_la._testing import assert_same_backend, to_numpy
from lowrank_la.dlra import (
    TTNode,
    TuckerODE,
    ttn_bug,
    ttn_polynomial_problem,
    ttn_to_dense,
)
from lowrank_la.linalg import mode_product


@pytest.mark.parametrize("tree,shape,moving", [
    (((0, 1), (2, 3)), (6, 7, 8, 9), (0, 5, 6)),       # balanced binary tree
    ((0, (1, (2, 3))), (5, 6, 7, 8), (0, 3, 5, 6)),     # caterpillar
    (((2, 0), (3, 1)), (5, 6, 7, 8), (1, 2, 6)),        # leaves out of natural order
])
def test_exact_for_ttn_solution(tree, shape, moving):
    # F = dA/dt for a TTN of fixed ranks; at most 4 moving nodes -> cubic F, RK4 exact
    tp = ttn_polynomial_problem(tree, shape, moving=moving, rng=0)
    res = ttn_bug(tp.problem, tp.Y0, tree, (0.0, 1.0), 0.1, reference=tp.exact)
    A = tp.exact(1.0)
    assert np.linalg.norm(ttn_to_dense(res.Y, tree) - A) <= 1e-10 * np.linalg.norm(A)
    assert np.linalg.norm(A - tp.exact(0.0)) > 0.3 * np.linalg.norm(A)
    assert res.nit == 10 and max(res.history["error"]) < 1e-10 * np.linalg.norm(A)


def test_first_order_on_linear_problem(rng):
    # A' = sum_i A x_i L_i keeps the tree ranks (only leaf bases move); TTN BUG is first order
    tree, shape = ((0, 1), (2, 3)), (4, 5, 4, 5)
    Ls = [rng.standard_normal((n, n)) / np.sqrt(n) for n in shape]
    prob = TuckerODE(shape, lambda t, A: sum(mode_product(A, L, i) for i, L in enumerate(Ls)))
    tp = ttn_polynomial_problem(tree, shape, rng=3)
    Y0 = tp.Y0
    A0 = ttn_to_dense(Y0, tree)
    exact = A0
    for i, L in enumerate(Ls):
        exact = mode_product(exact, scipy.linalg.expm(L), i)
    errs = []
    for h in (0.2, 0.1, 0.05):
        res = ttn_bug(prob, Y0, tree, (0.0, 1.0), h, nsub=2)
        errs.append(np.linalg.norm(ttn_to_dense(res.Y, tree) - exact))
    assert errs[0] > 1e-6
    assert 1.6 < errs[0] / errs[1] < 2.6 and 1.6 < errs[1] / errs[2] < 2.6


def test_backends(bc):
    tree, shape = ((0, 1), 2), (4, 5, 6)
    tp = ttn_polynomial_problem(tree, shape, moving=(0, 2, 4), rng=1)

    def conv(node):
        if isinstance(node, TTNode):
            return TTNode(bc.asarray(node.core), tuple(conv(c) for c in node.children))
        return bc.asarray(node)

    prob = TuckerODE(shape, lambda t, A: bc.asarray(tp.problem.fun(t, to_numpy(A))))
    Y0 = conv(tp.Y0)
    res = ttn_bug(prob, Y0, tree, (0.0, 0.3), 0.1)
    assert_same_backend(res.Y.core, Y0.core)
    A = tp.exact(0.3)
    assert np.linalg.norm(to_numpy(ttn_to_dense(res.Y, tree)) - A) <= 1e-10 * np.linalg.norm(A)


def test_bad_input():
    tree, shape = ((0, 1), 2), (4, 5, 6)
    tp = ttn_polynomial_problem(tree, shape, rng=0)
    with pytest.raises(ValueError, match="each mode"):
        ttn_bug(tp.problem, tp.Y0, ((0, 1), 1), (0, 1), 0.1)
    with pytest.raises(ValueError, match="inner node"):
        ttn_bug(tp.problem, tp.Y0, ((0, 1, 2),), (0, 1), 0.1)
    with pytest.raises(ValueError, match="mismatched shapes"):
        ttn_bug(TuckerODE((4, 5, 7), tp.problem.fun), tp.Y0, tree, (0, 1), 0.1)
    with pytest.raises(ValueError, match="`h`"):
        ttn_bug(tp.problem, tp.Y0, tree, (0, 1), -1.0)
    with pytest.raises(TypeError, match="TTNode"):
        ttn_bug(tp.problem, np.ones((4, 5, 6)), tree, (0, 1), 0.1)
    bad = TTNode(tp.Y0.core[:, :1], tp.Y0.children)
    with pytest.raises(ValueError, match="mismatched shapes"):
        ttn_bug(tp.problem, bad, tree, (0, 1), 0.1)
    with pytest.raises(ValueError, match="leaf"):
        ttn_polynomial_problem(tree, (1, 5, 6), leaf_rank=2)
    core = tp.Y0.core.copy()
    ttn_bug(tp.problem, tp.Y0, tree, (0, 0.1), 0.1)
    np.testing.assert_array_equal(core, tp.Y0.core)
