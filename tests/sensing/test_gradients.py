"""Gradients of the sensing losses against central finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from lowrank_la.sensing import GaussianMeasurements, MatrixMeasurements, RankOneMeasurements
from lowrank_la.sensing._factors import FactorModel


def _fd_check(model, F, rng, eps=1e-6):
    r = model.residual(F)
    G = model.gradient(F, r)
    for i, (x, g) in enumerate(zip(F, G)):
        for _ in range(3):
            D = rng.standard_normal(x.shape)
            Fp = tuple(f + eps * D if j == i else f for j, f in enumerate(F))
            Fm = tuple(f - eps * D if j == i else f for j, f in enumerate(F))
            fd = (model.loss(model.residual(Fp)) - model.loss(model.residual(Fm))) / (2 * eps)
            assert fd == pytest.approx(float(np.sum(g * D)), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("loss", ["l2", "l1"])
def test_symmetric_gradient_with_non_symmetric_sensing_matrices(loss, rng):
    n, m = 5, 40
    op = MatrixMeasurements(rng.standard_normal((m, n, n)) / np.sqrt(m))
    assert not op.symmetric  # so sym(A*(r)) X is needed, not A*(r) X
    y = rng.standard_normal(m)
    model = FactorModel(op, y, symmetric=True, loss=loss)
    _fd_check(model, (rng.standard_normal((n, 3)),), rng)


@pytest.mark.parametrize("loss", ["l2", "l1"])
def test_asymmetric_gradient(loss, rng):
    op = GaussianMeasurements((5, 4), 40, rng=0)
    y = rng.standard_normal(40)
    model = FactorModel(op, y, symmetric=False, loss=loss)
    _fd_check(model, (rng.standard_normal((5, 2)), rng.standard_normal((4, 2))), rng)


@pytest.mark.parametrize("op", [GaussianMeasurements((5, 5), 40, symmetric=True, rng=0),
                                RankOneMeasurements((5, 5), 40, symmetric=True, rng=0)])
def test_symmetric_gradient_packed_and_rank_one(op, rng):
    y = rng.standard_normal(40)
    model = FactorModel(op, y, symmetric=True, loss="l2")
    _fd_check(model, (rng.standard_normal((5, 2)),), rng)
