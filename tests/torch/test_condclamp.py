"""CondClamp against the singular values of the dense weight."""

from __future__ import annotations

import pytest
import torch

from lowrank_la.torch import CondClamp, LowRankLinear


def test_clamp_clips_singular_values_of_the_weight():
    torch.manual_seed(0)
    layer = LowRankLinear(12, 10, 5).double()
    with torch.no_grad():  # a non-orthonormal, badly conditioned state
        layer.U.mul_(torch.linspace(0.5, 2.0, 5, dtype=torch.float64))
        layer.S.copy_(torch.diag(torch.tensor([10.0, 3.0, 1.0, 0.1, 0.01], dtype=torch.float64)))
    s_old = torch.linalg.svdvals(layer.weight())[:5]
    CondClamp(layer, kappa=4.0).step()
    s_new = torch.linalg.svdvals(layer.weight())[:5]
    assert torch.allclose(s_new, torch.clamp(s_old, s_old[0] / 4.0, s_old[0]), rtol=1e-10)
    U = layer.U.detach()
    assert torch.allclose(U.T @ U, torch.eye(5, dtype=torch.float64), atol=1e-12)


def test_large_kappa_keeps_weight_and_rotates_momentum():
    torch.manual_seed(1)
    layer = LowRankLinear(8, 6, 4).double()
    opt = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(5, 8, dtype=torch.float64)
    layer(x).pow(2).sum().backward()
    opt.step()
    W, M = layer.weight().clone(), opt.state[layer.S]["momentum_buffer"].clone()
    Qu, Ru = torch.linalg.qr(layer.U.detach())
    Qv, Rv = torch.linalg.qr(layer.V.detach())
    P, _, Qh = torch.linalg.svd(Ru @ layer.S.detach() @ Rv.T)
    CondClamp(layer, kappa=1e12, optimizer=opt).step()
    assert torch.allclose(layer.weight(), W, atol=1e-12)
    assert torch.allclose(opt.state[layer.S]["momentum_buffer"], P.T @ M @ Qh.T, atol=1e-12)
    assert layer.U not in opt.state  # basis state reset (no exact transform without inverses)
    with pytest.raises(ValueError, match="kappa"):
        CondClamp(layer, kappa=0.5)
