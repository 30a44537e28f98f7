"""TuckerConv2d and TuckerDLRT against dense convolutions and dense kernel gradients."""

from __future__ import annotations

import io

import pytest
import torch

from lowrank_la.nn import tucker_dlrt_augment, tucker_truncate
from lowrank_la.tensor import hosvd, multi_mode_product
from lowrank_la.torch import TuckerConv2d, TuckerDLRT
from lowrank_la.torch._digits import accuracy, batches, load_digits_split


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1)])
def test_full_rank_reproduces_conv_and_truncation_is_hosvd(stride, padding):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 6, 3, stride=stride, padding=padding).double()
    x = torch.randn(2, 3, 9, 9, dtype=torch.float64)
    full = TuckerConv2d.from_dense(conv, ranks=(6, 3, 3, 3))
    assert torch.allclose(full(x), conv(x), atol=1e-12)
    low = TuckerConv2d.from_dense(conv, ranks=(3, 2, 3, 3))
    T = hosvd(conv.weight.detach(), (3, 2, 3, 3))
    assert torch.allclose(low.kernel(), T.to_dense(), atol=1e-12)
    dense_low = torch.nn.functional.conv2d(x, T.to_dense(), conv.bias, stride=stride,
                                           padding=padding)
    assert torch.allclose(low(x), dense_low, atol=1e-12)
    assert low.n_parameters() == 3 * 2 * 9 + 6 * 3 + 3 * 2 + 9 + 9
    with pytest.raises(ValueError, match="ranks"):
        TuckerConv2d(3, 6, 3, (7, 3, 3, 3))


def test_one_step_matches_dense_kernel_gradient_reference():
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(2, 5, 3, padding=1).double()
    layer = TuckerConv2d.from_dense(conv, ranks=(3, 2, 3, 3))
    x = torch.randn(4, 2, 6, 6, dtype=torch.float64)
    y = torch.randn(4, 5, 6, 6, dtype=torch.float64)
    lr, tau = 0.2, 0.05
    C = layer.core.detach().clone()
    U = [u.detach().clone() for u in layer.factors]
    b = layer.bias.detach().clone()

    def grads(W):
        W = W.clone().requires_grad_(True)
        bb = b.clone().requires_grad_(True)
        torch.nn.functional.mse_loss(torch.nn.functional.conv2d(x, W, bb, padding=1), y).backward()
        return W.grad, bb.grad

    G, _ = grads(multi_mode_product(C, U))
    C1, U1 = tucker_dlrt_augment(C, U, G, lr)
    G1, gb = grads(multi_mode_product(C1, U1))
    C1 = C1 - lr * multi_mode_product(G1, U1, transpose=True)
    C2, U2 = tucker_truncate(C1, U1, tau, max_rank=(3, 2, 3, 3))
    ctrl = TuckerDLRT(layer, lr=lr, tau=tau)
    ctrl.step(lambda: torch.nn.functional.mse_loss(layer(x), y))
    assert ctrl.ranks() == [tuple(C2.shape)]
    assert torch.allclose(layer.kernel(), multi_mode_product(C2, U2), atol=1e-12)
    assert torch.allclose(layer.bias, b - lr * gb, atol=1e-12)


def test_state_dict_round_trip():
    torch.manual_seed(2)
    layer = TuckerConv2d(3, 6, 3, (6, 3, 3, 3))
    layer.set_factors(layer.core.detach()[:2, :1], [layer.factors[0].detach()[:, :2],
                                                    layer.factors[1].detach()[:, :1],
                                                    layer.factors[2].detach(),
                                                    layer.factors[3].detach()])
    buf = io.BytesIO()
    torch.save(layer.state_dict(), buf)
    buf.seek(0)
    fresh = TuckerConv2d(3, 6, 3, (6, 3, 3, 3))
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    assert fresh.ranks.tolist() == [2, 1, 3, 3]
    x = torch.randn(1, 3, 5, 5)
    assert torch.equal(fresh(x), layer(x))


def test_tucker_dlrt_trains_a_digits_cnn_and_adapts_ranks():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Xtr, ytr, Xte, yte = load_digits_split(0)
        Xtr, Xte = Xtr.reshape(-1, 1, 8, 8), Xte.reshape(-1, 1, 8, 8)
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),
            TuckerConv2d(16, 32, 3, (16, 8, 3, 3), padding=1), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(32 * 16, 10))
        ctrl = TuckerDLRT(model, lr=0.3, tau=0.3)
        gen = torch.Generator().manual_seed(0)
        for _ in range(6):
            for idx in batches(len(Xtr), 64, gen):
                ctrl.step(lambda idx=idx: torch.nn.functional.cross_entropy(model(Xtr[idx]),
                                                                            ytr[idx]))
    finally:
        torch.set_num_threads(threads)
    r = ctrl.ranks()[0]
    assert r[0] < 16 or r[1] < 8  # the rank adapted
    assert accuracy(model, Xte, yte) >= 0.93


def test_tucker_dlrt_rejects_an_optimizer_that_holds_the_factors():
    layer = TuckerConv2d(2, 4, 3, (2, 2, 2, 2))
    with pytest.raises(ValueError, match="Tucker layers"):
        TuckerDLRT(layer, 0.1, optimizer=torch.optim.SGD(layer.parameters(), lr=0.1))
    with pytest.raises(TypeError, match="model"):
        TuckerDLRT("not a model", 0.1)
