"""Tucker BUG: exactness on exact multilinear-rank solutions, rank adaptivity, order, input."""

import numpy as np
import pytest
import scipy.linalg

from lowrank_la._testing import assert_same_backend, to_numpy
from lowrank_la.dlra import (
    TuckerFactors,
    TuckerODE,
    tucker_bug,
    tucker_polynomial_problem,
)
from lowrank_la.linalg import mode_product, unfold


@pytest.fixture(scope="module")
def tp():
    return tucker_polynomial_problem((30, 30, 30), (3, 4, 5), rng=0)


def test_mode_product_and_unfold_match_einsum(rng):
    T = rng.standard_normal((3, 4, 5))
    M = rng.standard_normal((6, 4))
    np.testing.assert_allclose(mode_product(T, M, 1), np.einsum("ajc,bj->abc", T, M),
                               atol=1e-13)
    np.testing.assert_allclose(unfold(T, 1), np.moveaxis(T, 1, 0).reshape(4, -1))


def test_fixed_rank_exact(tp):
    res = tucker_bug(tp.problem, tp.Y0, (0.0, 1.0), 0.05, reference=tp.exact)
    A = tp.exact(1.0)
    assert np.linalg.norm(res.Y.to_dense() - A) <= 1e-10 * np.linalg.norm(A)
    assert res.ranks == (3, 4, 5) and res.nit == 20
    assert np.linalg.norm(A - tp.exact(0.0)) > 0.3 * np.linalg.norm(A)


def _pad(Y, ranks, rng):
    core, Us = Y
    new_U = []
    for U, r in zip(Us, ranks):
        R = rng.standard_normal((U.shape[0], r - U.shape[1]))
        R -= U @ (U.T @ R)
        new_U.append(np.concatenate([U, np.linalg.qr(R)[0]], axis=1))
    C = np.zeros(ranks)
    C[tuple(slice(0, s) for s in core.shape)] = core
    return TuckerFactors(C, new_U)


def test_adaptive_recovers_ranks(tp, rng):
    # start from (6, 6, 6) (zero-weight padding): one step drops to the true ranks (3, 4, 5)
    Y0 = _pad(tp.Y0, (6, 6, 6), rng)
    np.testing.assert_allclose(Y0.to_dense(), tp.exact(0.0), atol=1e-14)
    res = tucker_bug(tp.problem, Y0, (0.0, 1.0), 0.05, adaptive=True, tol=1e-10,
                     reference=tp.exact)
    assert res.history["ranks"][1] == (3, 4, 5) and res.ranks == (3, 4, 5)
    A = tp.exact(1.0)
    assert np.linalg.norm(res.Y.to_dense() - A) <= 1e-10 * np.linalg.norm(A)
    # max_rank caps each mode
    capped = tucker_bug(tp.problem, Y0, (0.0, 0.2), 0.05, adaptive=True, tol=1e-10,
                        max_rank=(2, 2, 2))
    assert capped.ranks == (2, 2, 2)


def test_first_order_on_linear_problem(rng):
    # A' = A x_1 L1 + A x_2 L2 + A x_3 L3 keeps the multilinear rank; Tucker BUG is first order
    n, r = (12, 13, 14), (2, 3, 2)
    Ls = [rng.standard_normal((k, k)) / np.sqrt(k) for k in n]

    def fun(t, A):
        return sum(mode_product(A, L, i) for i, L in enumerate(Ls))

    prob = TuckerODE(n, fun)
    core = rng.standard_normal(r)
    Us = [np.linalg.qr(rng.standard_normal((k, s)))[0] for k, s in zip(n, r)]
    Y0 = TuckerFactors(core, Us)
    exact = TuckerFactors(core, [scipy.linalg.expm(L) @ U for L, U in zip(Ls, Us)]).to_dense()
    errs = []
    for h in (0.2, 0.1, 0.05):
        res = tucker_bug(prob, Y0, (0.0, 1.0), h, nsub=4)
        errs.append(np.linalg.norm(res.Y.to_dense() - exact))
    assert errs[0] > 1e-6  # not exact here
    assert 1.6 < errs[0] / errs[1] < 2.6 and 1.6 < errs[1] / errs[2] < 2.6


def test_backends(bc):
    tp = tucker_polynomial_problem((8, 9, 10), (2, 3, 2), rng=1)
    core, Us = tp.Y0

    def fun(t, A):
        return bc.asarray(tp.problem.fun(t, to_numpy(A)))

    prob = TuckerODE((8, 9, 10), fun)
    Y0 = TuckerFactors(bc.asarray(core), [bc.asarray(U) for U in Us])
    res = tucker_bug(prob, Y0, (0.0, 0.5), 0.1)
    assert_same_backend(res.Y.core, Y0.core)
    A = tp.exact(0.5)
    assert np.linalg.norm(to_numpy(res.Y.to_dense()) - A) <= 1e-10 * np.linalg.norm(A)


def test_bad_input(tp):
    with pytest.raises(ValueError, match="`h`"):
        tucker_bug(tp.problem, tp.Y0, (0, 1), 0.0)
    with pytest.raises(ValueError, match="mismatched shapes"):
        tucker_bug(TuckerODE((30, 30, 31), tp.problem.fun), tp.Y0, (0, 1), 0.1)
    with pytest.raises(ValueError, match="order"):
        tucker_bug(TuckerODE((30, 30), lambda t, A: A), tp.Y0, (0, 1), 0.1)
    with pytest.raises(ValueError, match="`tol` or `rtol`"):
        tucker_bug(tp.problem, tp.Y0, (0, 1), 0.1, adaptive=True)
    with pytest.raises(TypeError, match="TuckerODE"):
        tucker_bug(lambda t, A: A, tp.Y0, (0, 1), 0.1)
    with pytest.raises(ValueError, match="NaN"):
        tucker_bug(tp.problem, TuckerFactors(tp.Y0.core * np.nan, tp.Y0.factors), (0, 1), 0.1)
    with pytest.raises(ValueError, match="exceeds"):
        tucker_bug(TuckerODE((2, 30, 30), tp.problem.fun),
                   TuckerFactors(tp.Y0.core, [np.ones((2, 3))] + list(tp.Y0.factors[1:])),
                   (0, 1), 0.1)
    with pytest.raises(ValueError, match="`ranks`"):
        tucker_polynomial_problem((3, 3), (4, 1))
    core = tp.Y0.core.copy()
    tucker_bug(tp.problem, tp.Y0, (0, 0.1), 0.1)
    np.testing.assert_array_equal(core, tp.Y0.core)  # inputs untouched
