import warnings

import numpy as np
import pytest
import scipy.sparse

from lowrank_la import ConvergenceWarning
from lowrank_la._testing import assert_same_backend, to_numpy
from lowrank_la.sampling import leverage_scores, lewis_weights

from ._problems import heavy_rows, ill_conditioned, lewis_reference


def _fixed_point_residual(A, w, p):
    f = np.where(w > 0, np.maximum(w, 1e-300) ** (0.5 - 1 / p), 0.0)
    t = leverage_scores(A * f[:, None])
    return np.max(np.abs(t - w) / np.maximum(w, 1e-300))


@pytest.mark.parametrize("p", [0.5, 1.0, 1.5, 3.0, 4.0, 6.0])
def test_fixed_point_property_and_sum(p):
    A = heavy_rows(500, 6, scale=20.0)
    res = lewis_weights(A, p)
    assert res.success and res.status == 0
    w = res.weights
    assert w.sum() == pytest.approx(6.0, rel=1e-9)
    assert _fixed_point_residual(A, w, p) < 1e-8
    assert len(res.history["max_step"]) == res.nit


@pytest.mark.parametrize("p", [1.0, 3.0])
def test_matches_convex_reference(p):
    A = heavy_rows(60, 3, n_heavy=3, scale=8.0, seed=4)
    w = lewis_weights(A, p).weights
    np.testing.assert_allclose(w, lewis_reference(A, p), rtol=1e-6)


def test_p2_is_leverage_and_invariance(rng):
    A = heavy_rows(400, 5)
    np.testing.assert_allclose(lewis_weights(A, 2.0).weights, leverage_scores(A), rtol=1e-12)
    w1 = lewis_weights(A, 1.0).weights
    w2 = lewis_weights(ill_conditioned(A, cond=1e4), 1.0).weights
    np.testing.assert_allclose(w1, w2, rtol=1e-8)


@pytest.mark.parametrize("p", [1.0, 1.5, 3.0])
def test_damped_and_plain_agree(p):
    A = heavy_rows(800, 5, scale=50.0)
    a = lewis_weights(A, p, method="damped")
    b = lewis_weights(A, p, method="fixed_point")
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-8)
    assert a.nit <= b.nit  # the damped map contracts faster (sampling notes)


def test_known_answer_and_zero_rows():
    # k equal rows alone in a coordinate: w = 1/k for every p; a zero row gets weight 0
    A = np.zeros((8, 2))
    A[:3, 0] = 1.5
    A[3:7, 1] = 2.0
    for p in (0.7, 1.0, 3.0, 5.0):
        w = lewis_weights(A, p).weights
        np.testing.assert_allclose(w, [1 / 3] * 3 + [1 / 4] * 4 + [0.0], rtol=1e-9, atol=1e-15)


def test_rank_deficient_sums_to_rank(rng):
    A = rng.standard_normal((300, 3)) @ rng.standard_normal((3, 7))
    for p in (1.0, 3.0):
        assert lewis_weights(A, p).weights.sum() == pytest.approx(3.0, rel=1e-8)


def test_backends_and_float32(bc):
    A0 = heavy_rows(200, 4, scale=10.0)
    ref = lewis_weights(A0, 1.0).weights
    A = bc.asarray(A0)
    res = lewis_weights(A, 1.0)
    assert_same_backend(res.weights, A)
    np.testing.assert_allclose(to_numpy(res.weights), ref, rtol=1e-9)
    A32 = bc.asarray(A0, dtype=np.float32)
    res32 = lewis_weights(A32, 3.0)
    assert res32.success
    assert_same_backend(res32.weights, A32)
    np.testing.assert_allclose(to_numpy(res32.weights), lewis_weights(A0, 3.0).weights, rtol=2e-4)


def test_sparse_and_sketched():
    A0 = scipy.sparse.random(4000, 10, density=0.1, random_state=2, format="csr")
    A0 = scipy.sparse.csr_array(A0 + scipy.sparse.eye(4000, 10, format="csr") * 50)
    w = lewis_weights(A0, 1.0).weights
    ref = lewis_weights(A0.toarray(), 1.0).weights
    np.testing.assert_allclose(w, ref, rtol=1e-8)
    approx = lewis_weights(A0.toarray(), 1.0, leverage="sketch", rng=0)
    assert approx.success
    zero = ref == 0  # empty rows of the sparse matrix
    assert zero.any() and np.all(approx.weights[zero] == 0)
    ratio = approx.weights[~zero] / ref[~zero]
    assert 0.6 < ratio.min() and ratio.max() < 1.6  # constant-factor weights


def test_non_convergence_warns_and_reports():
    A = heavy_rows(200, 4)
    with pytest.warns(ConvergenceWarning, match="maxiter=2"):
        res = lewis_weights(A, 1.0, maxiter=2)
    assert not res.success and res.status == 1 and res.nit == 2


def test_bad_input():
    A = heavy_rows(50, 3)
    for p in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="`p`"):
            lewis_weights(A, p)
    with pytest.raises(TypeError, match="`p`"):
        lewis_weights(A, "1")
    with pytest.raises(ValueError, match="p < 4"):
        lewis_weights(A, 4.0, method="fixed_point")
    with pytest.raises(ValueError, match="`method`"):
        lewis_weights(A, 1.0, method="newton")
    B = A.copy()
    B[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        lewis_weights(B, 1.0)
    A_copy = A.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lewis_weights(A, 1.0)
    np.testing.assert_array_equal(A, A_copy)
