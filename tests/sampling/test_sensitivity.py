import numpy as np
import pytest

from lowrank_la._testing import assert_same_backend, to_numpy
from lowrank_la.sampling import leverage_scores, lp_sensitivities

from ._problems import heavy_rows


def _brute_force_2d(A, p, n_angles=200_001):
    """sup over a fine grid of directions x = (cos θ, sin θ) of |a_i^T x|^p / ||A x||_p^p."""
    theta = np.linspace(0.0, np.pi, n_angles)
    V = np.abs(A @ np.stack([np.cos(theta), np.sin(theta)])) ** p
    return np.max(V / V.sum(axis=0), axis=1)


@pytest.mark.parametrize("p", [1.0, 1.5, 3.0])
def test_exact_matches_brute_force(rng, p):
    A = rng.standard_normal((25, 2)) * rng.standard_t(2, size=(25, 1))
    s = lp_sensitivities(A, p)
    brute = _brute_force_2d(A, p)
    # the grid is a lower bound; the exact value lies just above it
    assert np.all(s >= brute * (1 - 1e-9))
    np.testing.assert_allclose(s, brute, rtol=1e-5)


def test_known_answer_equal_rows():
    A = np.zeros((9, 3))
    A[:2, 0] = 1.0
    A[2:5, 1] = -3.0
    A[5:9, 2] = 0.5
    expected = [1 / 2] * 2 + [1 / 3] * 3 + [1 / 4] * 4
    for p in (1.0, 1.5, 3.0):
        np.testing.assert_allclose(lp_sensitivities(A, p), expected, rtol=1e-6)


@pytest.mark.parametrize("p", [1.0, 1.5, 3.0])
def test_bounds_hold_and_totals(p):
    A = heavy_rows(120, 4, n_heavy=4, scale=15.0, seed=3)
    s = lp_sensitivities(A, p)
    lewis = lp_sensitivities(A, p, method="lewis")
    assert np.all(s <= lewis * (1 + 1e-6))
    if p <= 2:
        assert s.sum() <= 4 + 1e-6 and lewis.sum() <= 4 + 1e-8
        root = lp_sensitivities(A, p, method="leverage")
        np.testing.assert_allclose(root, np.minimum(leverage_scores(A) ** (p / 2), 1.0))
        assert np.all(s <= root * (1 + 1e-6))
    else:
        assert s.sum() <= 4 ** (p / 2) + 1e-6
    # at p = 2 sensitivities are leverage scores; the totals are ordered as the theory says
    assert s.sum() >= 1.0


def test_p2_exact_is_leverage(rng):
    A = rng.standard_normal((40, 3))
    np.testing.assert_allclose(lp_sensitivities(A, 2.0), leverage_scores(A), rtol=1e-6)


def test_bounds_on_backends(bc):
    A0 = heavy_rows(100, 3, scale=5.0)
    A = bc.asarray(A0)
    s = lp_sensitivities(A, 1.0, method="lewis")
    assert_same_backend(s, A)
    np.testing.assert_allclose(to_numpy(s), lp_sensitivities(A0, 1.0, method="lewis"), rtol=1e-9)


def test_bad_input():
    A = heavy_rows(20, 2)
    with pytest.raises(ValueError, match="`p`"):
        lp_sensitivities(A, 0.0)
    with pytest.raises(ValueError, match="p` >= 1"):
        lp_sensitivities(A, 0.5)
    with pytest.raises(ValueError, match="p` <= 2"):
        lp_sensitivities(A, 3.0, method="leverage")
    with pytest.raises(ValueError, match="`method`"):
        lp_sensitivities(A, 1.0, method="bfgs")
