import sys

import numpy as np
import pytest

from lowrank_la.tensor import load_tensor, lowrank_tensor, smooth_tensor, uneven_tensor


def test_uneven_tensor_modes_decay_at_their_rates(ref):
    X = uneven_tensor((20, 20, 20), (1.0, 3.0, 9.0), noise=0.0, rng=0)
    tails = ref.tails(X)
    total = tails[0][0]
    # rank needed for 99.9% of the energy grows with tau
    need = [int(np.argmax(t <= 1e-3 * total)) for t in tails]
    assert need[0] < need[1] < need[2]
    noisy = uneven_tensor((20, 20, 20), (1.0, 3.0, 9.0), noise=0.05, rng=0)
    assert np.linalg.norm(noisy - X) / np.linalg.norm(X) == pytest.approx(0.05, rel=1e-12)


def test_lowrank_and_smooth_tensors(ref):
    X = lowrank_tensor((9, 8, 7), (2, 3, 4), rng=0)
    for n, r in enumerate((2, 3, 4)):
        s = np.linalg.svd(ref.np_unfold(X, n), compute_uv=False)
        assert s[r - 1] > 1e-3 * s[0] and s[r] < 1e-12 * s[0]
    with pytest.raises(ValueError, match="degenerate"):
        lowrank_tensor((9, 8, 7), (1, 1, 4))
    S = smooth_tensor((4, 5, 6))
    x, y, z = np.meshgrid(np.linspace(0, 1, 4), np.linspace(0, 1, 5), np.linspace(0, 1, 6),
                          indexing="ij")
    np.testing.assert_allclose(S, 1.0 / (0.05 + x + 2 * y**2 + 3 * z**3), rtol=1e-14)


def test_load_digits():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    X = load_tensor("digits")
    assert X.shape == (1797, 8, 8) and X.dtype == np.float64 and X.max() == 16.0


def test_load_skimage_tensors():
    pytest.importorskip("skimage", reason="scikit-image is not installed (optional data)")
    from skimage import data

    X = load_tensor("stereo_motorcycle")
    assert X.shape == (2, 500, 741, 3)
    np.testing.assert_array_equal(X[1], data.stereo_motorcycle()[1])
    assert load_tensor("lfw_subset").shape == (200, 25, 25)


def test_missing_optional_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage", None)
    with pytest.raises(ImportError, match="pip install scikit-image"):
        load_tensor("astronaut")
    with pytest.raises(ValueError, match="name"):
        load_tensor("cells3d")


def test_demo_entry(capsys):
    from types import SimpleNamespace

    from lowrank_la.tensor._demo import demo

    assert demo(SimpleNamespace(seed=0))
    assert "select_core_shape(packing)" in capsys.readouterr().out
