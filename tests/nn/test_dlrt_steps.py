"""DLRT augmentation and core clamp against exact references."""

from __future__ import annotations

import numpy as np
import pytest

from lowrank_la._testing import assert_close, to_numpy
from lowrank_la.dlra import truncate_core
from lowrank_la.nn import clamp_core, dlrt_augment


def _orth(rng, m, r):
    return np.linalg.qr(rng.standard_normal((m, r)))[0]


def test_augmentation_preserves_weight_and_spans_k_and_u(bc, rng):
    m, n, r = 9, 7, 2
    U, V = _orth(rng, m, r), _orth(rng, n, r)
    S = rng.standard_normal((r, r))
    GK, GL = rng.standard_normal((m, r)), rng.standard_normal((n, r))
    args = [bc.asarray(a) for a in (U, S, V, GK, GL)]
    U1, S1, V1 = dlrt_augment(*args, 0.3)
    U1n, V1n = to_numpy(U1), to_numpy(V1)
    assert U1n.shape == (m, 2 * r) and V1n.shape == (n, 2 * r)
    assert_close(U1n.T @ U1n, np.eye(2 * r), atol=1e-12)
    assert_close(to_numpy(U1) @ to_numpy(S1) @ V1n.T, U @ S @ V.T, atol=1e-12)
    K = U @ S - 0.3 * GK
    L = V @ S.T - 0.3 * GL
    for B, X in ((U1n, K), (U1n, U), (V1n, L), (V1n, V)):
        assert np.linalg.norm(X - B @ (B.T @ X)) < 1e-10


def test_dlrt_recovers_exact_low_rank_target(rng):
    # minimize 0.5 ||W - A||_F^2 with rank(A) = 3: gradient G = W - A, K/L-steps + Galerkin
    m, n, k = 20, 15, 3
    A = (_orth(rng, m, k) * np.array([5.0, 3.0, 2.0])) @ _orth(rng, n, k).T
    r = 6
    U, V = _orth(rng, m, r), _orth(rng, n, r)
    S = np.diag(rng.uniform(0.5, 1.0, r))
    lr = 0.5
    for _ in range(40):
        G = U @ S @ V.T - A
        U1, S1, V1 = dlrt_augment(U, S, V, G @ V, G.T @ U, lr)
        G1 = U1 @ S1 @ V1.T - A
        S1 = S1 - lr * (U1.T @ G1 @ V1)  # Galerkin step
        Y = truncate_core(U1, S1, V1, rtol=1e-3, max_rank=r)
        U, S, V = Y.U, Y.S, Y.V
    assert S.shape == (k, k)
    assert np.linalg.norm(U @ S @ V.T - A) < 1e-6 * np.linalg.norm(A)


def test_augment_rejects_bad_shapes():
    U, V, S = np.eye(4)[:, :2], np.eye(3)[:, :2], np.eye(2)
    with pytest.raises(ValueError, match="grad_K"):
        dlrt_augment(U, S, V, np.zeros((4, 3)), np.zeros((3, 2)), 0.1)
    with pytest.raises(ValueError, match="lr"):
        dlrt_augment(U, S, V, np.zeros((4, 2)), np.zeros((3, 2)), 0.0)
    with pytest.raises(ValueError, match="S"):
        dlrt_augment(U, np.eye(3), V, np.zeros((4, 2)), np.zeros((3, 2)), 0.1)


def test_clamp_core(bc, rng):
    m, n, r = 8, 6, 4
    U, V = _orth(rng, m, r), _orth(rng, n, r)
    S = rng.standard_normal((r, r))
    U1, S1, V1, P, Q = clamp_core(*(bc.asarray(a) for a in (U, S, V)), 3.0)
    s_ref = np.linalg.svd(S, compute_uv=False)
    s1 = np.diag(to_numpy(S1))
    assert s1[0] == pytest.approx(s_ref[0])
    assert s1.max() / s1.min() <= 3.0 + 1e-12
    assert_close(s1, np.clip(s_ref, s_ref[0] / 3.0, s_ref[0]), rtol=1e-10)
    # kappa = inf-like: nothing changes
    U2, S2, V2, _, _ = clamp_core(U, S, V, 1e12)
    assert_close(U2 @ S2 @ V2.T, U @ S @ V.T, atol=1e-12)
    with pytest.raises(ValueError, match="kappa"):
        clamp_core(U, S, V, 0.5)
