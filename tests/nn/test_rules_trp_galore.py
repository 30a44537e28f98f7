"""lowrank_la.nn: rank rules, factorize, TRP projection, GaLore projector, conv reshapes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowrank_la._testing import assert_close, to_numpy
from lowrank_la.nn import (
    break_even_rank,
    conv_to_matrix,
    factored_params,
    factorize,
    galore_back_project,
    galore_project,
    galore_projector,
    matrix_to_conv,
    nuclear_subgradient,
    select_weight_rank,
    trp_project,
)


def _matrix(rng, m, n, decay=0.7):
    U, _ = np.linalg.qr(rng.standard_normal((m, min(m, n))))
    V, _ = np.linalg.qr(rng.standard_normal((n, min(m, n))))
    s = decay ** np.arange(min(m, n))
    return (U * s) @ V.T, s


@given(st.lists(st.floats(0.01, 10.0), min_size=1, max_size=12),
       st.floats(0.05, 1.0))
def test_energy_rule_is_smallest_rank_reaching_energy(vals, e):
    s = np.sort(np.asarray(vals))[::-1]
    r = select_weight_rank(s, energy=e)
    cum = np.cumsum(s**2) / np.sum(s**2)
    assert cum[r - 1] >= e * (1 - 1e-12)
    assert r == 1 or cum[r - 2] < e


@given(st.lists(st.floats(0.01, 10.0), min_size=1, max_size=12),
       st.floats(0.0, 1.0))
def test_tail_rule_is_smallest_rank_with_small_tail(vals, tau):
    s = np.sort(np.asarray(vals))[::-1]
    r = select_weight_rank(s, tail=tau)
    norm = np.linalg.norm(s)
    assert np.linalg.norm(s[r:]) <= tau * norm * (1 + 1e-9)
    assert r == 1 or np.linalg.norm(s[r - 1:]) > tau * norm * (1 - 1e-9)


def test_stable_rank_rule_and_minimum_of_rules():
    s = np.array([2.0, 1.0, 1.0, 1.0])  # stable rank 7 / 4 = 1.75
    assert select_weight_rank(s, stable_rank=True) == 2
    assert select_weight_rank(s, stable_rank=True, scale=2.0) == 4
    assert select_weight_rank(s, rank=3, energy=1.0) == 3
    assert select_weight_rank(s, rtol=0.6) == 1


@pytest.mark.parametrize("kw", [{"rank": 0}, {"rank": 5}, {"energy": 0.0}, {"energy": 1.5},
                                {"tail": -0.1}, {}])
def test_bad_rules(kw):
    with pytest.raises(ValueError, match="rank|energy|tail"):
        select_weight_rank(np.ones(4), (4, 4), **kw)


def test_factorize_error_equals_discarded_singular_values(bc, rng):
    A, s = _matrix(rng, 12, 9)
    W = bc.asarray(A)
    W_copy = to_numpy(W).copy()
    F = factorize(W, energy=0.95)
    r = F.rank
    assert r == select_weight_rank(s, energy=0.95)
    err = np.linalg.norm(to_numpy(F.to_dense()) - A)
    assert err == pytest.approx(np.linalg.norm(s[r:]), rel=1e-8)
    assert np.array_equal(to_numpy(W), W_copy)


def test_factorize_rejects_nonfinite_and_bad_rank():
    with pytest.raises(ValueError, match="W"):
        factorize(np.array([[1.0, np.nan], [0.0, 1.0]]), rank=1)
    with pytest.raises(ValueError, match="rank"):
        factorize(np.eye(3), rank=4)


def test_break_even_and_params():
    assert break_even_rank(1024, 1024) == 512.0
    r = 10
    assert factored_params(128, 64, r) < 128 * 64
    # at the break-even rank the factors alone cost as much as the dense matrix
    assert factored_params(6, 3, 2) - 4 == 6 * 3
    with pytest.raises(ValueError, match="rank"):
        factored_params(4, 3, 4)


def test_trp_projection_matches_svd(bc, rng):
    A, s = _matrix(rng, 10, 8)
    Wr, D, r = trp_project(bc.asarray(A), energy=0.9)
    U, sv, Vh = np.linalg.svd(A, full_matrices=False)
    assert r == select_weight_rank(sv, energy=0.9)
    assert_close(Wr, (U[:, :r] * sv[:r]) @ Vh[:r], rtol=1e-10, atol=1e-10)
    assert_close(D, U[:, :r] @ Vh[:r], rtol=1e-10, atol=1e-10)
    # D is a subgradient of the nuclear norm at W_r: <D, W_r> = ||W_r||_*, ||D||_2 = 1
    Dn, Wn = to_numpy(D), to_numpy(Wr)
    assert np.sum(Dn * Wn) == pytest.approx(sv[:r].sum(), rel=1e-10)
    assert np.linalg.norm(Dn, 2) == pytest.approx(1.0, rel=1e-10)


def test_nuclear_subgradient(rng):
    A, s = _matrix(rng, 7, 5)
    D = nuclear_subgradient(A)
    assert np.sum(D * A) == pytest.approx(s.sum(), rel=1e-10)


@pytest.mark.parametrize("shape", [(20, 6), (6, 20)])
def test_galore_projector(bc, rng, shape):
    G = rng.standard_normal(shape)
    P, side = galore_projector(bc.asarray(G), 3)
    Pn = to_numpy(P)
    assert_close(Pn.T @ Pn, np.eye(3), atol=1e-12)
    U, s, Vh = np.linalg.svd(G, full_matrices=False)
    ref = Vh[:3].T if shape[0] >= shape[1] else U[:, :3]
    assert side == ("right" if shape[0] >= shape[1] else "left")
    # same subspace as the top-3 singular vectors
    assert np.linalg.norm(Pn @ Pn.T - ref @ ref.T) < 1e-10
    R = galore_project(bc.asarray(G), P, side)
    assert R.shape == ((20, 3) if side == "right" else (3, 20))
    back = to_numpy(galore_back_project(R, P, side))
    # back-projection of the projected gradient is the rank-3 truncation of G
    assert_close(back, (U[:, :3] * s[:3]) @ Vh[:3], atol=1e-10)


@pytest.mark.parametrize("mode", ["channel", "spatial"])
def test_conv_reshape_round_trip(bc, rng, mode):
    W = rng.standard_normal((5, 3, 3, 2))
    M = conv_to_matrix(bc.asarray(W), mode)
    assert M.shape == ((5, 18) if mode == "channel" else (9, 10))
    if mode == "spatial":
        # entry (c*kh + i, n*kw + j) is W[n, c, i, j]
        assert to_numpy(M)[1 * 3 + 2, 4 * 2 + 1] == W[4, 1, 2, 1]
    assert np.array_equal(to_numpy(matrix_to_conv(M, W.shape, mode)), W)
    with pytest.raises(ValueError, match="M"):
        matrix_to_conv(M, (5, 3, 3, 3), mode)


def test_allocate_ranks_equal_shapes_keeps_global_top_values(rng):
    from lowrank_la.nn import allocate_ranks

    s = [np.sort(rng.uniform(0, 1, 6))[::-1] for _ in range(3)]
    per = 8 + 6 + 1  # m + n + 1 per rank with a diagonal core
    ranks = allocate_ranks(s, [(8, 6)] * 3, 10 * per, diagonal_core=True)
    assert sum(ranks) == 10
    # beyond the forced rank 1, the 7 kept values are the 7 largest of all candidates
    kept = sorted((v for si, r in zip(s, ranks) for v in si[1:r]), reverse=True)
    candidates = sorted(np.concatenate([si[1:] for si in s]).tolist(), reverse=True)
    assert kept == candidates[:7]


def test_allocate_ranks_is_maximal_within_budget(rng):
    from lowrank_la.nn import allocate_ranks

    shapes = [(20, 10), (10, 30), (15, 15)]
    s = [np.sort(rng.uniform(0, 1, min(sh)))[::-1] for sh in shapes]
    budget = 900
    ranks = allocate_ranks(s, shapes, budget)
    cost = [r * (m + n) + r * r for r, (m, n) in zip(ranks, shapes)]
    assert sum(cost) <= budget
    for i, (m, n) in enumerate(shapes):  # no single extra rank fits
        r = ranks[i]
        assert r == min(m, n) or sum(cost) - cost[i] + (r + 1) * (m + n) + (r + 1) ** 2 > budget
    with pytest.raises(ValueError, match="budget"):
        allocate_ranks(s, shapes, 10)
