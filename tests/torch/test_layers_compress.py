"""LowRankLinear and compress_ against dense torch computations."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from lowrank_la.torch import LowRankConv2d, LowRankLinear, compress_


def _mlp(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(12, 20), torch.nn.ReLU(), torch.nn.Linear(20, 16), torch.nn.ReLU(),
        torch.nn.Linear(16, 5),
    ).to(dtype)


def test_import_lowrank_la_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, lowrank_la, lowrank_la.nn; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_full_rank_compression_reproduces_outputs():
    model = _mlp()
    x = torch.randn(7, 12, dtype=torch.float64)
    ref = model(x).detach()
    report = compress_(model, rank=100)
    assert [d["rank"] for d in report.layers] == [12, 16, 5]
    assert all(isinstance(m, LowRankLinear) for m in (model[0], model[2], model[4]))
    assert torch.allclose(model(x), ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_truncation_error_is_discarded_singular_values(dtype):
    torch.manual_seed(1)
    lin = torch.nn.Linear(30, 20).to(dtype)
    W = lin.weight.detach().double()
    s = torch.linalg.svdvals(W)
    layer = LowRankLinear.from_dense(lin, rank=6)
    err = torch.linalg.matrix_norm(layer.weight().double() - W)
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    assert float(err) == pytest.approx(float(torch.linalg.vector_norm(s[6:])), rel=tol)
    # the output error is the input times the discarded part
    x = torch.randn(9, 30, dtype=dtype)
    assert torch.allclose(layer(x), x @ layer.weight().T + lin.bias, atol=10 * tol)
    # truncating further by the core's SVD equals truncating the dense weight
    layer.truncate_(rank=3)
    err3 = torch.linalg.matrix_norm(layer.weight().double() - W)
    assert float(err3) == pytest.approx(float(torch.linalg.vector_norm(s[3:])), rel=tol)


def test_energy_rule_and_balanced_factors():
    torch.manual_seed(2)
    lin = torch.nn.Linear(16, 16).double()
    s = torch.linalg.svdvals(lin.weight.detach())
    e = torch.cumsum(s**2, 0) / torch.sum(s**2)
    r_ref = int(torch.searchsorted(e, torch.tensor(0.8, dtype=e.dtype))) + 1
    layer = LowRankLinear.from_dense(lin, energy=0.8, core=False)
    assert int(layer.rank) == r_ref and layer.S is None
    assert torch.allclose(layer.U.norm(dim=0), layer.V.norm(dim=0))
    Wr = layer.weight()
    assert float(torch.linalg.matrix_norm(Wr - lin.weight.detach())) == pytest.approx(
        float(torch.linalg.vector_norm(s[r_ref:])), rel=1e-10)
    dense = layer.to_dense()
    x = torch.randn(4, 16, dtype=torch.float64)
    assert torch.allclose(dense(x), layer(x), atol=1e-12)


def test_report_counts_and_skips():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(),
                                torch.nn.Linear(8, 40), torch.nn.Linear(40, 30))
    w_conv = model[0].weight.detach().clone()
    report = compress_(model, rank=4, exclude=["0"])
    assert report.skipped == [("0", "excluded")]
    assert model[0].weight.data_ptr() and torch.equal(model[0].weight, w_conv)
    d = report.layers[1]
    assert d["shape"] == (30, 40) and d["params_before"] == 1200
    assert d["params_after"] == 4 * 70 + 16 == d["flops_after"]
    assert report.params_after == 4 * 48 + 16 + 4 * 70 + 16
    assert "skipped" in str(report)


def test_compress_rejects_bad_input():
    model = _mlp()
    with pytest.raises(ValueError, match="rank"):
        compress_(model, rank=0)
    with pytest.raises(ValueError, match="energy"):
        compress_(model, energy=1.5)
    with torch.no_grad():
        model[2].weight[0, 0] = float("nan")
    before = [type(m) for m in model]
    with pytest.raises(ValueError, match="'2'"):
        compress_(model, rank=3)
    assert [type(m) for m in model] == before  # nothing changed before the error
    with pytest.raises(TypeError, match="model"):
        compress_("not a model", rank=3)
    with pytest.raises(ValueError, match="rank"):
        LowRankLinear(4, 3, 4)


def test_state_dict_round_trip_with_changed_rank():
    torch.manual_seed(3)
    model = torch.nn.Sequential(LowRankLinear(10, 8, 6), torch.nn.ReLU(), LowRankLinear(8, 3, 3))
    model[0].truncate_(rank=2)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    fresh = torch.nn.Sequential(LowRankLinear(10, 8, 6), torch.nn.ReLU(), LowRankLinear(8, 3, 3))
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    assert int(fresh[0].rank) == 2 and fresh[0].U.shape == (8, 2)
    x = torch.randn(5, 10)
    assert torch.equal(fresh(x), model(x))


def test_rank_change_keeps_parameters_in_optimizer():
    torch.manual_seed(4)
    layer = LowRankLinear(10, 8, 6)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    ids = [id(p) for p in layer.parameters()]
    layer(torch.randn(3, 10)).sum().backward()
    layer.truncate_(rank=2)
    assert [id(p) for p in layer.parameters()] == ids
    W0 = layer.weight().clone()
    layer(torch.randn(3, 10)).sum().backward()
    opt.step()
    assert layer.U.shape == (8, 2) and not torch.equal(layer.weight(), W0)
    assert np.isfinite(layer.weight().numpy()).all()


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1)])
def test_conv_full_rank_and_truncation(stride, padding):
    torch.manual_seed(5)
    conv = torch.nn.Conv2d(3, 7, (3, 2), stride=stride, padding=padding).double()
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64)
    full = LowRankConv2d.from_dense(conv, rank=7)
    assert torch.allclose(full(x), conv(x), atol=1e-12)
    M = conv.weight.detach().reshape(7, -1)
    s = torch.linalg.svdvals(M)
    low = LowRankConv2d.from_dense(conv, rank=3)
    err = torch.linalg.matrix_norm(low.weight() - M)
    assert float(err) == pytest.approx(float(torch.linalg.vector_norm(s[3:])), rel=1e-10)
    # the factored conv equals the dense conv with the truncated kernel
    assert torch.allclose(low(x), low.to_dense()(x), atol=1e-12)
    assert low.to_dense().weight.shape == conv.weight.shape


def test_compress_converts_convs_and_skips_grouped():
    torch.manual_seed(6)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.Conv2d(4, 4, 3, groups=2),
                                torch.nn.Flatten(), torch.nn.LayerNorm(4),
                                torch.nn.Linear(4, 3)).double()
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64)
    ref = model(x).detach()
    report = compress_(model, rank=100)
    assert isinstance(model[0], LowRankConv2d)
    assert report.skipped == [
        ("1", "unsupported Conv2d (groups, padding mode or string padding)"),
        ("3", "unsupported layer type LayerNorm")]
    assert report.layers[0]["shape"] == (4, 18) and report.layers[0]["rank"] == 4
    assert torch.allclose(model(x), ref, atol=1e-12)


def test_dlrt_step_on_conv_matches_dense_kernel_gradient():
    from lowrank_la.dlra import truncate_core
    from lowrank_la.nn import dlrt_augment
    from lowrank_la.torch import DLRT

    torch.manual_seed(7)
    conv = torch.nn.Conv2d(2, 5, 3, padding=1).double()
    layer = LowRankConv2d.from_dense(conv, rank=3)
    x = torch.randn(4, 2, 6, 6, dtype=torch.float64)
    y = torch.randn(4, 5, 6, 6, dtype=torch.float64)
    lr, tau = 0.1, 0.05
    U, S, V, b = (t.detach().clone() for t in (layer.U, layer.S, layer.V, layer.bias))

    def grads(M):
        K = M.reshape(5, 2, 3, 3).clone().requires_grad_(True)
        bb = b.clone().requires_grad_(True)
        torch.nn.functional.mse_loss(torch.nn.functional.conv2d(x, K, bb, padding=1), y).backward()
        return K.grad.reshape(5, -1), bb.grad

    G, _ = grads(U @ S @ V.T)
    U1, S1, V1 = dlrt_augment(U, S, V, G @ V, G.T @ U, lr)
    G1, gb = grads(U1 @ S1 @ V1.T)
    ref = truncate_core(U1, S1 - lr * (U1.T @ G1 @ V1), V1, rtol=tau, max_rank=3)
    DLRT(layer, lr=lr, tau=tau).step(lambda: torch.nn.functional.mse_loss(layer(x), y))
    assert torch.allclose(layer.weight(), ref.U @ ref.S @ ref.V.T, atol=1e-12)
    assert torch.allclose(layer.bias, b - lr * gb, atol=1e-12)


def test_compress_with_budget():
    model = _mlp(8)
    report = compress_(model, budget=600, exclude=["4"])
    assert report.params_after <= 600
    ranks = [d["rank"] for d in report.layers]
    assert all(r >= 1 for r in ranks)
    # one more rank in any layer would not fit
    for d in report.layers:
        m, n = d["shape"]
        r = d["rank"]
        grow = (r + 1) * (m + n) + (r + 1) ** 2 - d["params_after"]
        assert r == min(m, n) or report.params_after + grow > 600


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), ((1, 2), (1, 0), 2)])
def test_spatial_split_reproduces_conv_at_full_rank(stride, padding, dilation):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 5, (3, 2), stride=stride, padding=padding, dilation=dilation,
                           dtype=torch.float64)
    full = min(3 * 3, 5 * 2)  # C kh x N kw
    low = LowRankConv2d.from_dense(conv, rank=full, split="spatial")
    x = torch.randn(2, 3, 11, 10, dtype=torch.float64)
    torch.testing.assert_close(low(x), conv(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(low.kernel(), conv.weight.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(low.to_dense()(x), conv(x), rtol=1e-12, atol=1e-12)


def test_spatial_split_truncation_is_the_matrix_truncation():
    from lowrank_la.nn import conv_to_matrix, matrix_to_conv

    torch.manual_seed(1)
    conv = torch.nn.Conv2d(4, 6, 3, padding=1, dtype=torch.float64)
    low = LowRankConv2d.from_dense(conv, rank=2, split="spatial")
    M = conv_to_matrix(conv.weight.detach().numpy(), "spatial")  # (C kh) x (N kw)
    U, s, Vh = np.linalg.svd(M, full_matrices=False)
    best = matrix_to_conv((U[:, :2] * s[:2]) @ Vh[:2], conv.weight.shape, "spatial")
    np.testing.assert_allclose(low.kernel().numpy(), best, atol=1e-12)
    x = torch.randn(1, 4, 7, 7, dtype=torch.float64)
    ref = torch.nn.functional.conv2d(x, torch.from_numpy(best), conv.bias, padding=1)
    torch.testing.assert_close(low(x), ref, rtol=1e-12, atol=1e-12)
    assert "split='spatial'" in repr(low)
    # fewer parameters than the channel-wise split at the same rank when kh C + kw N is smaller
    assert low.U.numel() + low.V.numel() == 2 * (6 * 3 + 4 * 3)


def test_spatial_split_bad_input_and_dlrt_refuses():
    from lowrank_la.torch import DLRT

    with pytest.raises(ValueError, match="split"):
        LowRankConv2d.from_dense(torch.nn.Conv2d(2, 3, 3), rank=1, split="diagonal")
    model = torch.nn.Sequential(LowRankConv2d(2, 3, 3, 2, split="spatial"), torch.nn.Flatten())
    opt = DLRT(model, 0.1)

    def closure():
        return model(torch.randn(1, 2, 5, 5)).sum()

    with pytest.raises(NotImplementedError, match="spatial"):
        opt.step(closure)


def test_compress_spatial_split_with_budget():
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.Conv2d(8, 8, 3, padding=1))
    x = torch.randn(2, 3, 8, 8)
    ref = model(x)
    report = compress_(model, rank=100, conv_split="spatial")  # capped at full rank: exact
    assert [d["rank"] for d in report.layers] == [9, 24]
    assert all(m.split == "spatial" for m in model if isinstance(m, LowRankConv2d))
    torch.testing.assert_close(model(x), ref, rtol=1e-4, atol=1e-4)
    small = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 8, 3))
    rep = compress_(small, budget=200, conv_split="spatial")
    assert sum(d["params_after"] for d in rep.layers) <= 200 + 2 * 8  # biases stay dense
    with pytest.raises(ValueError, match="conv_split"):
        compress_(small, rank=1, conv_split="rows")
