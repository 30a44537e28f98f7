"""GaLore, TRP and Cuttlefish: exact properties and the digits acceptance figures."""

from __future__ import annotations

import copy

import pytest
import torch

from lowrank_la.torch import TRP, GaLore, LowRankLinear, StableRankSwitch, compress_
from lowrank_la.torch._digits import (
    accuracy,
    batches,
    hidden_weight_count,
    load_digits_split,
    make_mlp,
)

F = torch.nn.functional


@pytest.fixture(autouse=True)
def _one_thread():
    # results depend on the thread count; the small nets are also fastest on one thread
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _run_steps(model, opt, data, steps=5):
    x, y = data
    for _ in range(steps):
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()


def _pair(seed=0):
    torch.manual_seed(seed)
    a = torch.nn.Sequential(torch.nn.Linear(6, 9), torch.nn.Tanh(), torch.nn.Linear(9, 3)).double()
    data = (torch.randn(16, 6, dtype=torch.float64), torch.randn(16, 3, dtype=torch.float64))
    return a, copy.deepcopy(a), data


@pytest.mark.parametrize("cls,kw", [(torch.optim.Adam, {"lr": 1e-2}),
                                    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9})])
def test_galore_without_projection_equals_wrapped_optimizer(cls, kw):
    a, b, data = _pair()
    _run_steps(a, cls(a.parameters(), **kw), data)
    opt = GaLore([b[0].weight, b[2].weight], [b[0].bias, b[2].bias], cls, rank=9, **kw)
    _run_steps(b, opt, data)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, rtol=1e-12, atol=1e-14)


def test_galore_full_rank_svd_projector_equals_momentum_sgd():
    # with momentum SGD a fixed orthonormal full-rank projector cancels:
    # N P^T = -lr sum mu^k G_k P P^T = -lr sum mu^k G_k
    a, b, data = _pair(1)
    kw = {"lr": 0.1, "momentum": 0.9}
    _run_steps(a, torch.optim.SGD(a.parameters(), **kw), data)
    opt = GaLore([b[0].weight, b[2].weight], [b[0].bias, b[2].bias], torch.optim.SGD, rank=9,
                 update_period=1000, project_full_rank=True, **kw)
    assert opt.sides == ["right", "left"]
    _run_steps(b, opt, data)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("on_refresh", ["rotate", "keep"])
def test_galore_rotating_momentum_at_every_refresh_equals_momentum_sgd(on_refresh):
    # with the first moment rotated by P_old^T P_new, full-rank projectors refreshed every
    # step still give momentum SGD exactly; keeping the moments does not
    a, b, data = _pair(2)
    kw = {"lr": 0.1, "momentum": 0.9}
    _run_steps(a, torch.optim.SGD(a.parameters(), **kw), data)
    opt = GaLore([b[0].weight, b[2].weight], [b[0].bias, b[2].bias], torch.optim.SGD, rank=9,
                 update_period=1, project_full_rank=True, on_refresh=on_refresh, **kw)
    _run_steps(b, opt, data)
    same = all(torch.allclose(p, q, rtol=1e-12, atol=1e-14)
               for p, q in zip(a.parameters(), b.parameters()))
    assert same == (on_refresh == "rotate")


def test_galore_reset_drops_state():
    a, b, data = _pair(3)
    opt = GaLore([b[0].weight], [], torch.optim.Adam, rank=2, update_period=2,
                 on_refresh="reset", lr=1e-2)
    _run_steps(b, opt, data, steps=2)
    assert int(opt.optimizer.state[opt.proxies[0]]["step"]) == 2
    _run_steps(b, opt, data, steps=1)  # refresh at step 2: state restarted
    assert int(opt.optimizer.state[opt.proxies[0]]["step"]) == 1
    with pytest.raises(ValueError, match="on_refresh"):
        GaLore([b[0].weight], [], torch.optim.Adam, rank=2, on_refresh="spin")


def test_galore_state_has_reduced_shape_and_loss_decreases():
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.ReLU(), torch.nn.Linear(30, 2))
    x, y = torch.randn(64, 20), torch.randn(64, 2)
    opt = GaLore([model[0].weight], list(model.parameters())[1:], torch.optim.Adam, rank=3,
                 update_period=5, lr=1e-2)
    first = F.mse_loss(model(x), y).item()
    _run_steps(model, opt, (x, y), steps=30)
    st = opt.optimizer.state[opt.proxies[0]]
    assert st["exp_avg"].shape == (30, 3) and st["exp_avg_sq"].shape == (30, 3)
    assert opt.P[0].shape == (20, 3)
    assert F.mse_loss(model(x), y).item() < 0.8 * first
    with pytest.raises(ValueError, match="rank"):
        GaLore([model[0].weight], [], torch.optim.Adam, rank=0)
    with pytest.raises(ValueError, match="projected"):
        GaLore([model[0].bias], [], torch.optim.Adam, rank=2)


def test_trp_step_projects_and_adds_subgradient():
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(10, 12)).double()
    W0 = model[0].weight.detach().clone()
    model(torch.randn(5, 10, dtype=torch.float64)).sum().backward()
    g0 = model[0].weight.grad.clone()
    trp = TRP(model, period=2, energy=0.8, nuclear_weight=0.5)
    trp.step()
    U, s, Vh = torch.linalg.svd(W0, full_matrices=False)
    e = torch.cumsum(s**2, 0) / torch.sum(s**2)
    r = int(torch.searchsorted(e, torch.tensor(0.8, dtype=e.dtype))) + 1
    assert trp.ranks["0"] == r
    assert torch.allclose(model[0].weight, (U[:, :r] * s[:r]) @ Vh[:r], atol=1e-12)
    assert torch.allclose(model[0].weight.grad, g0 + 0.5 * U[:, :r] @ Vh[:r], atol=1e-12)
    with pytest.raises(ValueError, match="energy"):
        TRP(model, energy=0.0)


def test_stable_rank_switch_rank_and_balanced_factors():
    torch.manual_seed(4)
    model = torch.nn.Sequential(torch.nn.Linear(20, 20), torch.nn.ReLU(), torch.nn.Linear(20, 3))
    sw = StableRankSwitch(model, warmup=2, window=1, threshold=0.0, exclude=["2"])
    W = model[0].weight.detach().clone()
    s = torch.linalg.svdvals(W)
    sr = float(torch.sum(s**2) / s[0] ** 2)
    assert sw.xi["0"] == pytest.approx(20 / sr)
    assert sw.epoch_end() is None and sw.epoch_end() is not None  # unchanged: stable at once
    assert isinstance(model[0], LowRankLinear) and model[0].S is None
    assert int(model[0].rank) == 20  # xi * sr(W_0) = min(m, n) when nothing trained
    assert torch.allclose(model[0].weight(), W, atol=1e-5)
    assert type(model[2]) is torch.nn.Linear


# -- digits acceptance (the figures of the issue), one shared dense baseline ---------------

def _train(model, opt, data, epochs, hook=None, sched=None, seed=0):
    Xtr, ytr = data[0], data[1]
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in batches(len(Xtr), 64, g):
            opt.zero_grad()
            F.cross_entropy(model(Xtr[idx]), ytr[idx]).backward()
            if hook is not None:
                hook()
            opt.step()
        if sched is not None:
            sched.step()


def _sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)


@pytest.fixture(scope="module")
def digits():
    return load_digits_split(0)


@pytest.fixture(scope="module")
def dense(digits):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    model = make_mlp(0)
    _train(model, _sgd(model), digits, 30)
    torch.set_num_threads(n)
    return model


def test_trp_truncation_costs_little_but_normal_truncation_costs_more(digits, dense):
    model = make_mlp(0)
    trp = TRP(model, period=10, energy=0.9, nuclear_weight=3e-4, exclude=["4"])
    _train(model, _sgd(model), digits, 30, hook=trp.step)
    before = accuracy(model, digits[2], digits[3])
    report = compress_(model, energy=0.9, exclude=["4"])
    after = accuracy(model, digits[2], digits[3])
    assert after >= before - 0.01
    normal = copy.deepcopy(dense)
    for d in report.layers:
        compress_(normal, rank=d["rank"], include=[d["name"]])
    base = accuracy(dense, digits[2], digits[3])
    assert base - accuracy(normal, digits[2], digits[3]) > max(before - after, 0.0) + 0.01
    assert before >= 0.93


def test_galore_rank8_accuracy_and_state(digits):
    model = make_mlp(0)
    hidden = [model[0].weight, model[2].weight]
    others = [model[0].bias, model[2].bias, model[4].weight, model[4].bias]
    opt = GaLore(hidden, others, torch.optim.Adam, rank=8, update_period=50, lr=3e-3)
    _train(model, opt, digits, 30)
    assert accuracy(model, digits[2], digits[3]) >= 0.95
    st = opt.state_numel()
    adam_state = 2 * sum(W.numel() for W in hidden)
    assert adam_state >= 8 * (st["projected_moments"] + st["projectors"])


def test_aggressive_compression_then_finetune_recovers(digits, dense):
    model = copy.deepcopy(dense)
    report = compress_(model, rank=8, exclude=["4"])
    assert report.params_after <= 0.2 * 24576 == 0.2 * report.params_before
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 10)
    _train(model, opt, digits, 10, sched=sched)
    base = accuracy(dense, digits[2], digits[3])
    assert accuracy(model, digits[2], digits[3]) >= base - 0.01


def test_cuttlefish_switches_and_keeps_accuracy(digits, dense):
    model = make_mlp(0)
    sw = StableRankSwitch(model, warmup=5, window=3, threshold=0.1, exclude=["4"])
    opt = _sgd(model)
    g = torch.Generator().manual_seed(0)
    switched_at = None
    for epoch in range(30):
        for idx in batches(len(digits[0]), 64, g):
            opt.zero_grad()
            F.cross_entropy(model(digits[0][idx]), digits[1][idx]).backward()
            opt.step()
        if sw.epoch_end() is not None:
            switched_at, opt = epoch, _sgd(model)
    assert switched_at is not None and switched_at < 20
    assert hidden_weight_count(model) < 0.75 * 24576
    base = accuracy(dense, digits[2], digits[3])
    assert accuracy(model, digits[2], digits[3]) >= base - 0.015
