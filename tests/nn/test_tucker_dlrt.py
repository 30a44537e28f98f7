"""Tucker DLRT steps against explicit Kronecker-product references."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest

from lowrank_la._testing import to_numpy
from lowrank_la.nn import tucker_dlrt_augment, tucker_truncate
from lowrank_la.tensor import multi_mode_product, unfold


def _orth(rng, n, r):
    return np.linalg.qr(rng.standard_normal((n, r)))[0]


def test_augmented_bases_span_explicit_k_steps(bc, rng):
    shape, ranks = (6, 5, 3, 3), (2, 3, 2, 2)
    U = [_orth(rng, n, r) for n, r in zip(shape, ranks)]
    C = rng.standard_normal(ranks)
    G = rng.standard_normal(shape)
    lr = 0.3
    C1, U1 = tucker_dlrt_augment(bc.asarray(C), [bc.asarray(u) for u in U], bc.asarray(G), lr)
    C1, U1 = to_numpy(C1), [to_numpy(u) for u in U1]
    W = multi_mode_product(C, U)
    assert np.allclose(multi_mode_product(C1, U1), W, atol=1e-12)
    for i in range(4):
        others = [U[j] for j in range(4) if j != i]
        Q, R = np.linalg.qr(unfold(C, i).T)
        V = reduce(np.kron, others) @ Q
        K = U[i] @ R.T
        assert np.allclose(K @ V.T, unfold(W, i), atol=1e-12)  # the splitting is exact
        K1 = K - lr * unfold(G, i) @ V
        for X in (K1, U[i]):
            assert np.linalg.norm(X - U1[i] @ (U1[i].T @ X)) < 1e-10
        assert np.allclose(U1[i].T @ U1[i], np.eye(U1[i].shape[1]), atol=1e-12)


def test_tucker_dlrt_recovers_exact_tucker_target(rng):
    shape, true_ranks = (8, 7, 3, 3), (2, 3, 2, 2)
    A = multi_mode_product(rng.standard_normal(true_ranks),
                           [_orth(rng, n, r) for n, r in zip(shape, true_ranks)])
    U = [_orth(rng, n, min(n, 4)) for n in shape]
    C = 0.1 * rng.standard_normal(tuple(u.shape[1] for u in U))
    lr = 0.5
    for _ in range(60):
        G = multi_mode_product(C, U) - A
        C, U = tucker_dlrt_augment(C, U, G, lr)
        G1 = multi_mode_product(C, U) - A
        C = C - lr * multi_mode_product(G1, U, transpose=True)  # Galerkin step on the core
        C, U = tucker_truncate(C, U, 1e-4)
    assert C.shape == true_ranks
    assert np.linalg.norm(multi_mode_product(C, U) - A) < 1e-6 * np.linalg.norm(A)


def test_tucker_truncate_and_errors(rng):
    C = rng.standard_normal((3, 3, 3))
    C1, U1 = tucker_truncate(C, [np.eye(3)] * 3, 0.0)
    assert np.allclose(multi_mode_product(C1, U1), C, atol=1e-12)
    C2, _ = tucker_truncate(C, [np.eye(3)] * 3, 0.0, max_rank=(2, 2, 1))
    assert C2.shape == (2, 2, 1)
    with pytest.raises(ValueError, match="factors"):
        tucker_dlrt_augment(C, [np.eye(3)] * 2, C, 0.1)
    with pytest.raises(ValueError, match="grad"):
        tucker_dlrt_augment(C, [np.eye(3)] * 3, np.ones((3, 3, 2)), 0.1)
