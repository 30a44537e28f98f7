import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowrank_la import LowRankMatrix
from lowrank_la._testing import assert_same_backend, to_numpy


def _rand(rng, m, n, r, core="none"):
    U, V = rng.standard_normal((m, r)), rng.standard_normal((n, r))
    if core == "vec":
        return U, rng.standard_normal(r), V
    if core == "mat":
        return U, rng.standard_normal((r, r)), V
    return U, None, V


@pytest.mark.parametrize("core", ["none", "vec", "mat"])
def test_products_and_dense(bc, rng, core):
    U, C, V = _rand(rng, 7, 5, 3, core)
    L = LowRankMatrix(bc.asarray(U), None if C is None else bc.asarray(C), bc.asarray(V))
    D = U @ (np.eye(3) if C is None else (np.diag(C) if C.ndim == 1 else C)) @ V.T
    np.testing.assert_allclose(to_numpy(L.to_dense()), D, atol=1e-12)
    X = rng.standard_normal((5, 2))
    np.testing.assert_allclose(to_numpy(L @ bc.asarray(X)), D @ X, atol=1e-12)
    Y = rng.standard_normal((7, 2))
    np.testing.assert_allclose(to_numpy(L.rmatmat(bc.asarray(Y))), D.T @ Y, atol=1e-12)
    np.testing.assert_allclose(to_numpy(L.T.to_dense()), D.T, atol=1e-12)
    s = to_numpy(L.singular_values())
    np.testing.assert_allclose(s, np.linalg.svd(D, compute_uv=False)[:3], atol=1e-10)
    assert L.norm() == pytest.approx(np.linalg.norm(D))
    assert L.norm(2) == pytest.approx(np.linalg.norm(D, 2))
    assert L.norm("nuc") == pytest.approx(np.linalg.norm(D, "nuc"))
    rows, cols = np.array([0, 6, 3]), np.array([4, 0, 2])
    np.testing.assert_allclose(
        to_numpy(L.entries(bc.asarray(rows), bc.asarray(cols))), D[rows, cols], atol=1e-12
    )


def test_add_and_truncate(bc, rng):
    A = LowRankMatrix(*(bc.asarray(x) for x in (rng.standard_normal((8, 2)), rng.standard_normal(2),
                                                  rng.standard_normal((6, 2)))))
    B = LowRankMatrix(bc.asarray(rng.standard_normal((8, 3))), None,
                      bc.asarray(rng.standard_normal((6, 3))))
    S = A + B
    assert S.rank == 5
    np.testing.assert_allclose(to_numpy(S.to_dense()),
                               to_numpy(A.to_dense()) + to_numpy(B.to_dense()), atol=1e-10)
    Z = A - A
    assert Z.norm() < 1e-12
    T = S.truncate(2)
    D = to_numpy(S.to_dense())
    sv = np.linalg.svd(D, compute_uv=False)
    assert np.linalg.norm(D - to_numpy(T.to_dense())) == pytest.approx(np.sqrt(np.sum(sv[2:] ** 2)))
    assert_same_backend(T.U, A.U)


@given(seed=st.integers(0, 2**31), energy=st.floats(0.1, 1.0))
def test_truncate_energy_bound(seed, energy):
    rng = np.random.default_rng(seed)
    L = LowRankMatrix(rng.standard_normal((9, 4)), rng.standard_normal((4, 4)),
                      rng.standard_normal((7, 4)))
    T = L.truncate(energy=energy)
    err = np.linalg.norm(L.to_dense() - T.to_dense())
    assert err <= np.sqrt(1 - energy) * L.norm() * (1 + 1e-8) + 1e-12


def test_float32_preserved():
    rng = np.random.default_rng(0)
    L = LowRankMatrix(rng.standard_normal((5, 2)).astype(np.float32), None,
                      rng.standard_normal((4, 2)).astype(np.float32))
    assert L.dtype == np.float32 and L.truncate(1).dtype == np.float32


def test_bad_input():
    with pytest.raises(ValueError, match="same number of columns"):
        LowRankMatrix(np.ones((3, 2)), None, np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"`core` must have shape \(2, 3\)"):
        LowRankMatrix(np.ones((3, 2)), np.ones((3, 3)), np.ones((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        LowRankMatrix(np.full((3, 1), np.nan), None, np.ones((3, 1)))
    L = LowRankMatrix(np.ones((3, 1)), None, np.ones((4, 1)))
    with pytest.raises(ValueError, match="`X` must have 4 rows"):
        L @ np.ones((3, 2))
    with pytest.raises(ValueError, match="cannot add"):
        L.add(L.T)
    with pytest.raises(ValueError, match="`ord`"):
        L.norm("max")
