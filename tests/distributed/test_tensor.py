"""Blockwise Gram matrices of mode unfoldings and core-shape selection on chunked tensors."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="dask not installed (pip install '.[dask]')")
pytest.importorskip("distributed", reason="distributed not installed (pip install '.[dask]')")

from lowrank_la import tensor  # noqa: E402
from lowrank_la.distributed import mode_grams, select_core_shape  # noqa: E402


def test_grams_match_unfoldings(client, rng):
    X = rng.standard_normal((7, 6, 5, 4))
    G = mode_grams(da.from_array(X, chunks=((3, 4), (2, 4), 5, (1, 3))))
    for n in range(4):
        Xn = tensor.unfold(X, n)
        np.testing.assert_allclose(G[n], Xn @ Xn.T, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", ["packing", "greedy-bound", "uniform"])
def test_selection_matches_in_memory(client, method):
    X = tensor.uneven_tensor((24, 20, 16), (1.0, 3.0, 9.0), noise=0.01, rng=0)
    res = select_core_shape(da.from_array(X, chunks=(8, 10, 16)), 600, method=method)
    ref = tensor.select_core_shape(X, 600, method=method)
    assert res.shape == ref.shape and res.size <= 600
    assert res.bound == pytest.approx(ref.bound, rel=1e-9)


def test_bad_input(rng):
    X = da.from_array(rng.standard_normal((4, 5, 6)), chunks=2)
    with pytest.raises(TypeError, match="dask.array"):
        mode_grams(np.ones((3, 3)))
    with pytest.raises(ValueError, match="order >= 2"):
        mode_grams(da.ones(5, chunks=2))
    with pytest.raises(ValueError, match="budget"):
        select_core_shape(X, 3)
    with pytest.raises(ValueError, match="method"):
        select_core_shape(X, 100, method="greedy")
    Y = rng.standard_normal((4, 5, 6))
    Y[1, 2, 3] = np.nan
    import dask

    with dask.config.set(scheduler="synchronous"), pytest.raises(ValueError, match="NaN"):
        mode_grams(da.from_array(Y, chunks=2))
