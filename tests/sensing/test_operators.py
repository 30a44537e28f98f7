"""Measurement operators: adjoint identity, dense references, batching, normalization."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowrank_la._testing import assert_close, assert_same_backend, to_numpy
from lowrank_la.sensing import (
    EntrySampling,
    GaussianMeasurements,
    MatrixMeasurements,
    RankOneMeasurements,
)

SHAPE = (5, 4)


def _make(kind, bc, shape=SHAPE, m=23, dtype="float64"):
    like = bc.asarray(np.zeros(1), dtype=dtype)
    n1, n2 = shape
    if kind == "gaussian":
        return GaussianMeasurements(shape, m, rng=1, like=like)
    if kind == "gaussian-sym":
        return GaussianMeasurements((n1, n1), m, symmetric=True, rng=1, like=like)
    if kind == "rank-one":
        return RankOneMeasurements(shape, m, rng=1, like=like)
    if kind == "rank-one-sym":
        return RankOneMeasurements((n1, n1), m, symmetric=True, rng=1, like=like)
    if kind == "entries":
        return EntrySampling(shape, m=min(m, n1 * n2 - 3), rng=1, like=like)
    if kind == "matrices":
        A = np.random.default_rng(3).standard_normal((m, n1, n2)).astype(dtype)
        return MatrixMeasurements(bc.asarray(A))
    raise ValueError(kind)


KINDS = ["gaussian", "gaussian-sym", "rank-one", "rank-one-sym", "entries", "matrices"]


def _reference_matrices(op):
    """The sensing matrices rebuilt from the stored data, independently of forward/adjoint."""
    n1, n2 = op.shape
    if isinstance(op, GaussianMeasurements) and op.packed:
        P = to_numpy(op.matrix)
        iu, ju = np.triu_indices(n1)
        A = np.zeros((op.m, n1, n1))
        A[:, iu, ju] = P
        A[:, ju, iu] = P
        return A
    if isinstance(op, (GaussianMeasurements, MatrixMeasurements)):
        return np.reshape(to_numpy(op.matrix), (op.m, n1, n2))
    if isinstance(op, RankOneMeasurements):
        a, b = to_numpy(op.a), to_numpy(op.b)
        return np.einsum("mi,mj->mij", a, b) / np.sqrt(op.m)
    if isinstance(op, EntrySampling):
        A = np.zeros((op.m, n1, n2))
        A[np.arange(op.m), to_numpy(op.rows), to_numpy(op.cols)] = np.sqrt(n1 * n2 / op.m)
        return A
    raise TypeError(op)


@pytest.mark.parametrize("kind", KINDS)
def test_forward_adjoint_match_dense_reference(bc, kind, rng):
    op = _make(kind, bc)
    A = _reference_matrices(op)
    X = rng.standard_normal(op.shape)
    z = rng.standard_normal(op.m)
    Xb, zb = bc.asarray(X), bc.asarray(z)
    y = op(Xb)
    assert_same_backend(y, Xb)
    assert_close(y, np.einsum("mij,ij->m", A, X), rtol=1e-12, atol=1e-12)
    assert_close(op.adjoint(zb), np.einsum("mij,m->ij", A, z), rtol=1e-12, atol=1e-12)
    # adjoint identity <A(X), z> = <X, A*(z)>
    lhs = float(np.dot(to_numpy(y), z))
    rhs = float(np.sum(X * to_numpy(op.adjoint(zb))))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_factored_and_batched_products(bc, kind, rng):
    op = _make(kind, bc)
    n1, n2 = op.shape
    L, R = rng.standard_normal((n1, 3)), rng.standard_normal((n2, 3))
    z = rng.standard_normal(op.m)
    Lb, Rb, zb = bc.asarray(L), bc.asarray(R), bc.asarray(z)
    assert_close(op.forward_factored(Lb, Rb), to_numpy(op(bc.asarray(L @ R.T))), rtol=1e-12,
                 atol=1e-12)
    G = to_numpy(op.adjoint(zb))
    a, b = op.adjoint_times(zb, right=Rb, left=Lb)
    assert_close(a, G @ R, rtol=1e-12, atol=1e-12)
    assert_close(b, G.T @ L, rtol=1e-12, atol=1e-12)
    # batches: three trajectories in one pass give what three single passes give
    Xs = rng.standard_normal((3, n1, n2))
    zs = rng.standard_normal((3, op.m))
    Yb = to_numpy(op(bc.asarray(Xs)))
    Gb = to_numpy(op.adjoint(bc.asarray(zs)))
    for i in range(3):
        assert_close(Yb[i], op(bc.asarray(Xs[i])), rtol=1e-12, atol=1e-12)
        assert_close(Gb[i], op.adjoint(bc.asarray(zs[i])), rtol=1e-12, atol=1e-12)
    Ls, Rs = rng.standard_normal((3, n1, 2)), rng.standard_normal((3, n2, 2))
    Fb = to_numpy(op.forward_factored(bc.asarray(Ls), bc.asarray(Rs)))
    for i in range(3):
        assert_close(Fb[i], op(bc.asarray(Ls[i] @ Rs[i].T)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["gaussian", "gaussian-sym", "entries"])
def test_float32_stays_float32(bc, kind, rng):
    op = _make(kind, bc, dtype="float32")
    X = bc.asarray(rng.standard_normal(op.shape), dtype="float32")
    y = op(X)
    assert_same_backend(y, X)
    z = op.adjoint(y)
    assert_same_backend(z, X)


def test_same_seed_same_operator_on_every_backend(bc):
    ref = GaussianMeasurements((4, 4), 10, symmetric=True, rng=7)
    op = GaussianMeasurements((4, 4), 10, symmetric=True, rng=7,
                              like=bc.asarray(np.zeros(1)))
    assert_close(op.matrix, ref.matrix, rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["gaussian", "gaussian-sym", "rank-one", "entries"])
def test_normalization_is_isotropic_in_expectation(kind):
    """E ||A(X)||^2 = ||X||_F^2: average over independent operators (4-sigma tolerance)."""
    rng = np.random.default_rng(0)
    n = 6
    X = rng.standard_normal((n, n))
    X = X + X.T if kind == "gaussian-sym" else X
    vals = []
    for seed in range(200):
        if kind == "gaussian":
            op = GaussianMeasurements((n, n), 30, rng=seed)
        elif kind == "gaussian-sym":
            op = GaussianMeasurements((n, n), 30, symmetric=True, rng=seed)
        elif kind == "rank-one":
            op = RankOneMeasurements((n, n), 30, rng=seed)
        else:
            op = EntrySampling((n, n), 12, rng=seed)
        vals.append(np.sum(op(X) ** 2) / np.sum(X**2))
    vals = np.array(vals)
    assert abs(vals.mean() - 1.0) < 4 * vals.std() / np.sqrt(len(vals))


def test_packed_storage_halves_the_array():
    op = GaussianMeasurements((10, 10), 7, symmetric=True, rng=0)
    assert op.matrix.shape == (7, 55) and op.symmetric and op.packed
    A = _reference_matrices(op)
    # diagonal N(0, 1/m), off-diagonal N(0, 1/(2m)): (G + G^T)/2 with G iid N(0, 1/m)
    big = GaussianMeasurements((30, 30), 400, symmetric=True, rng=0)
    Ab = _reference_matrices(big)
    diag = np.einsum("mii->mi", Ab)
    off = Ab[:, np.triu_indices(30, 1)[0], np.triu_indices(30, 1)[1]]
    assert np.var(diag) * 400 == pytest.approx(1.0, rel=0.03)
    assert np.var(off) * 400 == pytest.approx(0.5, rel=0.03)
    assert np.allclose(A, np.swapaxes(A, 1, 2))


def test_aslinearoperator_matches_dense_matrix(rng):
    from scipy.sparse.linalg import LinearOperator

    for op in (GaussianMeasurements((4, 3), 9, rng=0),
               GaussianMeasurements((4, 4), 9, symmetric=True, rng=0),
               RankOneMeasurements((4, 3), 9, rng=0), EntrySampling((4, 3), 9, rng=0)):
        lin = op.aslinearoperator()
        assert isinstance(lin, LinearOperator) and lin.shape == (op.m, 12 if op.shape[1] == 3
                                                                  else 16)
        D = np.reshape(_reference_matrices(op), (op.m, -1))
        v = rng.standard_normal(lin.shape[1])
        z = rng.standard_normal(op.m)
        np.testing.assert_allclose(lin.matvec(v), D @ v, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(lin.rmatvec(z), D.T @ z, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(op.to_dense(), D, rtol=1e-12, atol=1e-12)


def test_aslinearoperator_refuses_device_operators():
    import array_api_strict as xs

    op = GaussianMeasurements((3, 3), 4, rng=0, like=xs.asarray([0.0]))
    with pytest.raises(TypeError, match="NumPy"):
        op.aslinearoperator()


def test_matrix_measurements_detect_symmetry(rng):
    G = rng.standard_normal((8, 4, 4))
    op = MatrixMeasurements(G + np.swapaxes(G, 1, 2))
    assert op.symmetric and op.packed and op.matrix.shape == (8, 10)
    assert not MatrixMeasurements(G).symmetric
    with pytest.raises(ValueError, match="not symmetric"):
        MatrixMeasurements(G, symmetric=True)


def test_entry_sampling_given_positions(rng):
    rows, cols = np.array([2, 0, 1]), np.array([1, 3, 0])
    op = EntrySampling((3, 4), rows=rows, cols=cols)
    X = rng.standard_normal((3, 4))
    s = np.sqrt(12 / 3)
    # kept in row-major order
    np.testing.assert_allclose(op(X), s * X[[0, 1, 2], [3, 0, 1]])
    with pytest.raises(ValueError, match="repeat"):
        EntrySampling((3, 4), rows=np.array([1, 1]), cols=np.array([2, 2]))
    with pytest.raises(ValueError, match="rows"):
        EntrySampling((3, 4), rows=np.array([3]), cols=np.array([0]))
    with pytest.raises(ValueError, match="either"):
        EntrySampling((3, 4))


def test_bad_inputs():
    op = GaussianMeasurements((3, 4), 5, rng=0)
    with pytest.raises(ValueError, match="`X` must have shape"):
        op(np.ones((4, 3)))
    with pytest.raises(ValueError, match="`z` must have shape"):
        op.adjoint(np.ones(6))
    with pytest.raises(ValueError, match="NaN"):
        op(np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match="`m` must be >= 1"):
        GaussianMeasurements((3, 4), 0)
    with pytest.raises(ValueError, match="square"):
        GaussianMeasurements((3, 4), 5, symmetric=True)
    with pytest.raises(ValueError, match="dtype"):
        GaussianMeasurements((3, 4), 5, dtype="int8")
    import torch

    with pytest.raises(TypeError, match="lives in torch"):
        op(torch.ones(3, 4, dtype=torch.float64))


def test_inputs_not_modified(rng):
    op = GaussianMeasurements((4, 4), 9, symmetric=True, rng=0)
    X = rng.standard_normal((4, 4))
    z = rng.standard_normal(9)
    X0, z0 = X.copy(), z.copy()
    op(X)
    op.adjoint(z)
    op.adjoint_times(z, right=X, left=X)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(z, z0)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 30), st.booleans(),
       st.integers(0, 2**31 - 1))
def test_adjoint_identity_property(n1, n2, m, symmetric, seed):
    if symmetric:
        n2 = n1
    rng = np.random.default_rng(seed)
    op = GaussianMeasurements((n1, n2), m, symmetric=symmetric, rng=seed)
    X = rng.standard_normal((n1, n2))
    z = rng.standard_normal(m)
    assert np.dot(op(X), z) == pytest.approx(np.sum(X * op.adjoint(z)), rel=1e-10, abs=1e-10)
