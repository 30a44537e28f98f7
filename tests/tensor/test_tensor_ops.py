import numpy as np
import pytest

from lowrank_la._testing import assert_close, assert_same_backend, to_numpy
from lowrank_la.tensor import fold, mode_product, multi_mode_product, unfold


def test_unfold_fold_roundtrip_and_columns(bc, rng, ref):
    X0 = rng.standard_normal((3, 4, 5, 2))
    X = bc.asarray(X0)
    for n in range(4):
        M = unfold(X, n)
        assert_same_backend(M, X)
        # the mode-n fibres are the columns: same multiset of entries in each row as numpy's
        assert_close(M, ref.np_unfold(X0, n), rtol=0)
        assert_close(fold(M, n, X0.shape), X0, rtol=0)
    assert_close(unfold(X, -1), ref.np_unfold(X0, 3), rtol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mode_product_matches_einsum(bc, rng, dtype):
    X0 = rng.standard_normal((3, 4, 5)).astype(dtype)
    A0 = rng.standard_normal((6, 4)).astype(dtype)
    X, A = bc.asarray(X0), bc.asarray(A0)
    Y = mode_product(X, A, 1)
    assert_same_backend(Y, X)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    assert_close(Y, np.einsum("ijk,lj->ilk", X0, A0), rtol=tol, atol=tol)
    Yt = mode_product(X, bc.asarray(A0.T), 1, transpose=True)
    assert_close(Yt, np.einsum("ijk,lj->ilk", X0, A0), rtol=tol, atol=tol)


def test_multi_mode_product_matches_einsum(bc, rng, ref):
    X0 = rng.standard_normal((4, 5, 6))
    U0 = [rng.standard_normal((d, r)) for d, r in zip(X0.shape, (2, 5, 3))]
    X = bc.asarray(X0)
    U = [bc.asarray(u) for u in U0]
    G = multi_mode_product(X, U, transpose=True)
    assert_close(G, ref.einsum_project(X0, U0), rtol=1e-12)
    # skip a mode and leave one alone with None: only mode 0 multiplied
    H = multi_mode_product(X, [U[0], None, U[2]], skip=2, transpose=True)
    assert_close(H, np.einsum("ijk,ia->ajk", X0, U0[0]), rtol=1e-12)
    # untransposed products invert the shape change
    F = multi_mode_product(G, [bc.asarray(u.T) for u in U0], transpose=True)
    assert_close(F, np.einsum("abc,ia,jb,kc->ijk", to_numpy(G), *U0), rtol=1e-12)


def test_ops_inputs_not_modified(rng):
    X = rng.standard_normal((3, 4, 5))
    A = rng.standard_normal((2, 4))
    X0, A0 = X.copy(), A.copy()
    mode_product(X, A, 1)
    fold(unfold(X, 2), 2, X.shape)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(A, A0)


def test_ops_bad_input(rng):
    X = rng.standard_normal((3, 4, 5))
    with pytest.raises(ValueError, match="mode"):
        unfold(X, 3)
    with pytest.raises(ValueError, match="cannot multiply mode 1"):
        mode_product(X, np.ones((2, 3)), 1)
    with pytest.raises(ValueError, match="not a mode-1 unfolding"):
        fold(np.ones((4, 14)), 1, (3, 4, 5))
    with pytest.raises(ValueError, match="one entry per mode"):
        multi_mode_product(X, [None, None])
    with pytest.raises(ValueError, match=r"factors\[2\]"):
        multi_mode_product(X, [None, None, np.ones((2, 2))])
    with pytest.raises(TypeError, match="array"):
        unfold([[1.0]], 0)
