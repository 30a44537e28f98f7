import numpy as np
import pytest
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st

from lowrank_la._testing import assert_same_backend, to_numpy
from lowrank_la.sampling import (
    RowSample,
    combine_scores,
    leverage_scores,
    sample_rows,
    sample_size,
    subspace_embedding_distortion,
)

from ._problems import heavy_rows


@pytest.mark.parametrize("replace", [True, False])
def test_unbiased_norm_estimate(replace):
    # E sum_j w_j |a_j^T x|^p = ||A x||_p^p; checked over 2000 seeds within 4 standard errors
    rng = np.random.default_rng(0)
    A = heavy_rows(300, 3, scale=5.0)
    x = rng.standard_normal(3)
    scores = leverage_scores(A) + 0.3 * rng.random(300)
    for p in (1.0, 2.0, 3.0):
        truth = np.sum(np.abs(A @ x) ** p)
        est = []
        for seed in range(2000):
            s = sample_rows(None, scores, 30, replace=replace, rng=seed)
            est.append(np.sum(s.weights * np.abs(A[s.indices] @ x) ** p))
        est = np.array(est)
        se = est.std(ddof=1) / np.sqrt(est.size)
        assert abs(est.mean() - truth) < 4 * se, (p, est.mean(), truth, se)


def test_without_replacement_inclusion_probabilities():
    rng = np.random.default_rng(1)
    scores = rng.random(40) ** 3
    scores[:2] = 5.0  # capped: always included
    m, trials = 10, 4000
    counts = np.zeros(40)
    for seed in range(trials):
        s = sample_rows(None, scores, m, replace=False, rng=seed)
        assert s.indices.size == m and np.unique(s.indices).size == m
        counts[s.indices] += 1
        assert np.all(s.probabilities <= 1.0)
    full = sample_rows(None, scores, m, replace=False, rng=0)
    # recompute pi for every row: capped rows 1, the rest c * q with sum m
    q = scores / scores.sum()
    c = (m - 2) / q[2:].sum()
    pi = np.concatenate([[1.0, 1.0], c * q[2:]])
    assert pi.max() <= 1 and pi.sum() == pytest.approx(m)
    np.testing.assert_allclose(full.probabilities, pi[full.indices], rtol=1e-12)
    assert counts[0] == trials and counts[1] == trials
    se = np.sqrt(pi * (1 - pi) / trials) + 1e-12
    assert np.all(np.abs(counts / trials - pi) < 4.5 * se + 1e-9)


def test_weights_estimate_n_and_merge_duplicates():
    scores = np.array([100.0, 1.0, 1.0, 1.0])
    s = sample_rows(None, scores, 50, rng=3)
    assert np.all(np.diff(s.indices) > 0)  # merged, increasing
    counts = np.rint(s.weights * 50 * s.probabilities)
    assert counts.sum() == 50
    est = np.mean([sample_rows(None, scores, 20, rng=k).weights.sum() for k in range(3000)])
    assert est == pytest.approx(4.0, rel=0.03)


def test_distortion_leverage_beats_uniform():
    # issue acceptance: 20000 x 20 with a few high-leverage rows, m = 20 d
    A = heavy_rows(20000, 20, n_heavy=5, scale=300.0)
    t = leverage_scores(A)
    lev = [subspace_embedding_distortion(A, sample_rows(A, t, 400, rng=k)) for k in range(3)]
    uni = [subspace_embedding_distortion(A, sample_rows(A, np.ones(20000), 400, rng=k))
           for k in range(3)]
    assert max(lev) <= 0.5
    assert min(uni) > max(lev)


def test_distortion_p2_exact_matches_singular_values(rng):
    A = rng.standard_normal((500, 4))
    s = sample_rows(A, leverage_scores(A), 60, rng=0)
    U = np.linalg.svd(A, full_matrices=False)[0]
    sv = np.linalg.svd(np.sqrt(s.weights)[:, None] * U[s.indices], compute_uv=False)
    assert subspace_embedding_distortion(A, s) == pytest.approx(max(sv[0] - 1, 1 - sv[-1]))


def test_distortion_lp_is_a_valid_lower_bound(rng):
    A = heavy_rows(600, 3, scale=10.0)
    s = sample_rows(A, np.ones(600), 60, rng=2)
    est = subspace_embedding_distortion(A, s, 1.0, n_starts=6, rng=0)
    SA = s.weights[:, None] * A[s.indices]
    Z = rng.standard_normal((3, 4000))
    ratios = np.abs(SA @ Z).sum(0) / np.abs(A @ Z).sum(0)
    assert est >= np.max(np.abs(ratios - 1)) - 1e-9  # at least as bad as random directions
    assert est < 10


def test_rows_and_backends(bc, rng):
    A0 = heavy_rows(300, 4, scale=10.0)
    A = bc.asarray(A0)
    t = leverage_scores(A)
    for replace in (True, False):
        s = sample_rows(A, t, 40, p=1.0, replace=replace, rng=5)
        ref = sample_rows(A0, leverage_scores(A0), 40, p=1.0, replace=replace, rng=5)
        np.testing.assert_array_equal(to_numpy(s.indices), ref.indices)
        np.testing.assert_allclose(to_numpy(s.weights), ref.weights, rtol=1e-10)
        assert_same_backend(s.rows, A)
        np.testing.assert_allclose(to_numpy(s.rows), ref.weights[:, None] * A0[ref.indices],
                                   rtol=1e-10)


def test_sparse_apply():
    A = scipy.sparse.random(200, 5, density=0.3, random_state=0, format="csr")
    s = sample_rows(A, np.ones(200), 30, rng=0)
    assert scipy.sparse.issparse(s.rows)
    np.testing.assert_allclose(s.rows.toarray(),
                               np.sqrt(s.weights)[:, None] * A.toarray()[s.indices])


def test_sample_size_and_combine():
    assert sample_size(20, 0.5, 0.1) == int(np.ceil(3 * 20 * np.log(400) / 0.25))
    assert sample_size(20, 0.5, 0.1, beta=0.5) > sample_size(20, 0.5, 0.1)
    assert sample_size(1000, 0.5, scheme="lewis", p=1.0) < sample_size(1000, 0.5, scheme="lewis", p=1.5)
    assert sample_size(10, 0.5, scheme="sensitivity", total=5.0) > 0
    with pytest.raises(ValueError, match="`total`"):
        sample_size(10, 0.5, scheme="sensitivity")
    with pytest.raises(ValueError, match="`eps`"):
        sample_size(10, 1.5)
    q = combine_scores(np.array([1.0, 0.0, 1.0]), np.array([1.0, 1.0, 2.0]), coefficients=[1, 3])
    np.testing.assert_allclose(q, 0.25 * np.array([0.5, 0, 0.5]) + 0.75 * np.array([.25, .25, .5]))


def test_bad_input():
    scores = np.ones(10)
    with pytest.raises(ValueError, match="`m`=11 exceeds"):
        sample_rows(None, scores, 11, replace=False)
    z = scores.copy()
    z[:5] = 0
    with pytest.raises(ValueError, match="`m`=6 exceeds the 5"):
        sample_rows(None, z, 6, replace=False)
    with pytest.raises(ValueError, match="non-negative"):
        sample_rows(None, -scores, 3)
    with pytest.raises(ValueError, match="`m`"):
        sample_rows(None, scores, 0)
    with pytest.raises(ValueError, match="`A` must have 10 rows"):
        sample_rows(np.ones((9, 2)), scores, 3)
    nan = scores.copy()
    nan[0] = np.nan
    with pytest.raises(ValueError, match="`scores`"):
        sample_rows(None, nan, 3)
    with pytest.raises(ValueError, match="`p`"):
        sample_rows(None, scores, 3, p=0)
    with pytest.raises(TypeError, match="RowSample"):
        subspace_embedding_distortion(np.ones((10, 2)), {"indices": []})
    assert isinstance(sample_rows(None, scores, 3), RowSample)


@given(n=st.integers(1, 60), m_frac=st.floats(0.01, 1.0), seed=st.integers(0, 10**6),
       zeros=st.integers(0, 5), replace=st.booleans())
def test_sample_structure_property(n, m_frac, seed, zeros, replace):
    rng = np.random.default_rng(seed)
    scores = rng.random(n) ** 4
    scores[: min(zeros, n - 1)] = 0.0
    positive = int(np.sum(scores > 0))
    m = max(1, int(m_frac * positive))
    s = sample_rows(None, scores.astype(np.float32), m, replace=replace, rng=seed)
    assert np.all(scores[s.indices] > 0)  # zero-score rows are never drawn
    assert np.all(np.diff(s.indices) > 0)
    if replace:
        counts = s.weights * m * s.probabilities
        np.testing.assert_allclose(counts, np.rint(counts), atol=1e-6)
        assert np.rint(counts).sum() == m
    else:
        assert s.indices.size == m
        np.testing.assert_allclose(s.weights * s.probabilities, 1.0, rtol=1e-12)
        assert np.all(s.probabilities <= 1.0 + 1e-12)


def test_inputs_not_modified():
    A = heavy_rows(100, 3)
    scores = leverage_scores(A)
    A0, s0 = A.copy(), scores.copy()
    sample_rows(A, scores, 20, rng=0)
    sample_rows(A, scores, 20, replace=False, rng=0)
    subspace_embedding_distortion(A, sample_rows(A, scores, 20, rng=0), 1.0, n_starts=2)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(scores, s0)
