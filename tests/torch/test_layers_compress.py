"""LowRankLinear and compress_ against dense torch computations."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from lowrank_la.torch import LowRankLinear, compress_


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
    report = compress_(model, rank=4)
    assert report.skipped == [("0", "unsupported layer type Conv2d")]
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
