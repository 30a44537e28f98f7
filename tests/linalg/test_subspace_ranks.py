import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowrank_la import LowRankMatrix
from lowrank_la._testing import to_numpy
from lowrank_la.linalg import effective_rank, principal_angles, stable_rank, subspace_distance


def test_principal_angles_known(bc):
    t = 1e-9  # tiny angle: the sine-based branch keeps it accurate
    U = bc.asarray(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
    V = bc.asarray(np.array([[1.0, 0.0], [0.0, np.cos(t)], [0.0, np.sin(t)]]))
    th = to_numpy(principal_angles(U, V))
    np.testing.assert_allclose(th, [0.0, t], rtol=1e-6, atol=1e-15)


@given(seed=st.integers(0, 2**31), k=st.integers(1, 4))
def test_subspace_distance_matches_projector_norm(seed, k):
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((8, k)))[0]
    V = np.linalg.qr(rng.standard_normal((8, k)))[0]
    P = U @ U.T - V @ V.T
    assert abs(subspace_distance(U, V) - np.linalg.norm(P, 2)) < 1e-10
    assert abs(subspace_distance(U, V, ord="fro") - np.linalg.norm(P) / np.sqrt(2)) < 1e-10
    # invariant to the choice of basis
    Rot = np.linalg.qr(rng.standard_normal((k, k)))[0]
    assert abs(subspace_distance(U @ Rot, V) - subspace_distance(U, V)) < 1e-10


def test_subspace_bad_input():
    with pytest.raises(ValueError, match="same number of rows"):
        subspace_distance(np.ones((3, 1)), np.ones((4, 1)))
    with pytest.raises(ValueError, match="`ord`"):
        subspace_distance(np.eye(3)[:, :1], np.eye(3)[:, :1], ord="nuc")


def test_stable_and_effective_rank(bc):
    A = bc.asarray(np.diag([3.0, 4.0, 0.0]))
    assert stable_rank(A) == pytest.approx(25 / 16)
    assert effective_rank(A) == pytest.approx(np.exp(-(3 / 7) * np.log(3 / 7) - (4 / 7) * np.log(4 / 7)))
    assert stable_rank(bc.asarray(np.zeros((2, 2)))) == 0.0


@given(seed=st.integers(0, 2**31))
def test_rank_bounds(seed):
    A = np.random.default_rng(seed).standard_normal((6, 4))
    assert 1 - 1e-12 <= stable_rank(A) <= 4 + 1e-12
    assert 1 - 1e-12 <= effective_rank(A) <= 4 + 1e-12
    L = LowRankMatrix.from_dense(A)
    assert stable_rank(L) == pytest.approx(stable_rank(A))


def test_fast_angles_agree_above_sqrt_eps(rng):
    U = np.linalg.qr(rng.standard_normal((30, 3)))[0]
    V = np.linalg.qr(U + 1e-3 * rng.standard_normal((30, 3)))[0]
    np.testing.assert_allclose(principal_angles(U, V, orthonormal=True, accurate=False),
                               principal_angles(U, V, orthonormal=True), rtol=1e-6)
