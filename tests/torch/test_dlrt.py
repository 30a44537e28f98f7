"""DLRT controller: one step against a dense-gradient reference, and digits training."""

from __future__ import annotations

import pytest
import torch

from lowrank_la.dlra import truncate_core
from lowrank_la.nn import dlrt_augment
from lowrank_la.torch import DLRT, LowRankLinear
from lowrank_la.torch._digits import (
    accuracy,
    batches,
    hidden_weight_count,
    load_digits_split,
    make_lowrank_mlp,
    make_mlp,
)


def test_one_step_matches_dense_gradient_reference():
    torch.manual_seed(0)
    layer = LowRankLinear(9, 7, 3).double()
    x, y = torch.randn(11, 9, dtype=torch.float64), torch.randn(11, 7, dtype=torch.float64)
    lr, tau = 0.2, 0.05
    U, S, V, b = (t.detach().clone() for t in (layer.U, layer.S, layer.V, layer.bias))

    def dense_grads(W, bias):
        W = W.clone().requires_grad_(True)
        bias = bias.clone().requires_grad_(True)
        torch.nn.functional.mse_loss(x @ W.T + bias, y).backward()
        return W.grad, bias.grad

    G, _ = dense_grads(U @ S @ V.T, b)
    U1, S1, V1 = dlrt_augment(U, S, V, G @ V, G.T @ U, lr)
    G1, gb = dense_grads(U1 @ S1 @ V1.T, b)
    S1 = S1 - lr * (U1.T @ G1 @ V1)
    ref = truncate_core(U1, S1, V1, rtol=tau, max_rank=3)

    ctrl = DLRT(layer, lr=lr, tau=tau)
    ctrl.step(lambda: torch.nn.functional.mse_loss(layer(x), y))
    assert ctrl.ranks() == [ref.S.shape[0]]
    assert torch.allclose(layer.weight(), ref.U @ ref.S @ ref.V.T, atol=1e-12)
    assert torch.allclose(layer.bias, b - lr * gb, atol=1e-12)
    U2 = layer.U.detach()
    assert torch.allclose(U2.T @ U2, torch.eye(U2.shape[1], dtype=torch.float64), atol=1e-12)


def test_controller_rejects_bad_input():
    model = torch.nn.Sequential(LowRankLinear(4, 4, 2))
    with pytest.raises(ValueError, match="lr"):
        DLRT(model, lr=-1.0)
    with pytest.raises(ValueError, match="tau"):
        DLRT(model, lr=0.1, tau=2.0)
    with pytest.raises(ValueError, match="LowRankLinear"):
        DLRT(torch.nn.Linear(3, 3), lr=0.1)
    with pytest.raises(ValueError, match="optimizer"):
        DLRT(model, lr=0.1, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))


def _train_dense(model, Xtr, ytr, epochs, gen):
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    for _ in range(epochs):
        for idx in batches(len(Xtr), 64, gen):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(Xtr[idx]), ytr[idx]).backward()
            opt.step()


def test_dlrt_trains_digits_and_adapts_rank():
    # settings from the implementation notes: plain SGD lr 0.5, tau 0.1, start at min(m, n) / 2
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Xtr, ytr, Xte, yte = load_digits_split(0)
        model = make_lowrank_mlp(0)
        ctrl = DLRT(model, lr=0.5, tau=0.1)
        gen = torch.Generator().manual_seed(0)
        for _ in range(30):
            for idx in batches(len(Xtr), 64, gen):
                ctrl.step(lambda idx=idx: torch.nn.functional.cross_entropy(
                    model(Xtr[idx]), ytr[idx]))
        dense = make_mlp(0)
        _train_dense(dense, Xtr, ytr, 30, torch.Generator().manual_seed(0))
    finally:
        torch.set_num_threads(threads)
    acc, acc_dense = accuracy(model, Xte, yte), accuracy(dense, Xte, yte)
    ranks = ctrl.ranks()
    assert ranks[0] < 32 and ranks[1] < 64  # the rank adapted down from the start
    assert len({tuple(r) for r in ctrl.history}) > 1
    assert hidden_weight_count(model) <= 0.5 * 24576  # at least half the hidden weights removed
    assert acc >= acc_dense - 0.015
    assert acc >= 0.95
