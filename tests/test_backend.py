import numpy as np
import pytest

from lowrank_la import get_backend
from lowrank_la._testing import assert_same_backend, to_numpy


def test_name_and_device(bc):
    A = bc.asarray(np.ones((3, 2)))
    bk = get_backend(A, None, 2.0)
    assert bk.device == bc.device
    expected = {"strict-cpu": "array_api_strict", "strict-device1": "array_api_strict"}
    assert bk.name == expected.get(bc.name, bc.name)


def test_no_arrays_is_numpy():
    assert get_backend().name == "numpy"
    assert get_backend(None, 3).name == "numpy"


def test_mixed_libraries_raise_type_error():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="Multiple namespaces"):
        get_backend(np.ones(2), torch.ones(2))


def test_mixed_devices_raise_value_error():
    import array_api_strict as xs

    a = xs.asarray([1.0], device=xs.Device("CPU_DEVICE"))
    b = xs.asarray([1.0], device=xs.Device("device1"))
    with pytest.raises(ValueError, match="different devices"):
        get_backend(a, b)


def test_non_array_raises_type_error():
    with pytest.raises(TypeError, match="argument 1 is not an array"):
        get_backend(np.ones(2), [1.0, 2.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linalg_matches_numpy(bc, rng, dtype):
    A0 = rng.standard_normal((7, 4)).astype(dtype)
    A = bc.asarray(A0)
    bk = get_backend(A)
    Q, R = bk.linalg.qr(A)
    assert_same_backend(Q, A)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(to_numpy(Q @ R), A0, atol=tol * 10)
    U, s, Vh = bk.linalg.svd(A)
    np.testing.assert_allclose(to_numpy(s), np.linalg.svd(A0, compute_uv=False), rtol=tol * 10)
    G0 = A0.T @ A0 + np.eye(4, dtype=dtype)
    B0 = rng.standard_normal((4, 2)).astype(dtype)
    X = bk.linalg.spd_solve(bc.asarray(G0), bc.asarray(B0))
    np.testing.assert_allclose(to_numpy(X), np.linalg.solve(G0, B0), rtol=tol * 100)
    # batched SPD solve: three systems at once
    Gb = np.stack([G0, 2 * G0, G0 + np.eye(4, dtype=dtype)])
    Bb = np.stack([B0, B0, B0])
    Xb = bk.linalg.spd_solve(bc.asarray(Gb), bc.asarray(Bb))
    np.testing.assert_allclose(to_numpy(Xb), np.linalg.solve(Gb, Bb), rtol=tol * 100)
    Rup = np.triu(G0)
    Y = bk.linalg.solve_triangular(bc.asarray(Rup), bc.asarray(B0), lower=False)
    np.testing.assert_allclose(to_numpy(Y), np.linalg.solve(Rup, B0), rtol=tol * 100)
    b0 = rng.standard_normal((7, 1)).astype(dtype)
    x = bk.linalg.lstsq(A, bc.asarray(b0))
    np.testing.assert_allclose(to_numpy(x), np.linalg.lstsq(A0, b0, rcond=None)[0],
                               rtol=tol * 100, atol=tol * 100)


def test_spd_solve_rejects_indefinite(bc):
    G = bc.asarray(np.array([[1.0, 2.0], [2.0, 1.0]]))
    bk = get_backend(G)
    with pytest.raises(Exception):  # noqa: B017 - LinAlgError differs per backend
        bk.linalg.spd_solve(G, bc.asarray(np.ones((2, 1))))


def test_random_normal_same_on_every_backend(bc):
    bk = get_backend(bc.asarray(np.ones(1)))
    draw = to_numpy(bk.random_normal(np.random.default_rng(3), (4, 2)))
    np.testing.assert_array_equal(draw, np.random.default_rng(3).standard_normal((4, 2)))


def test_float_dtype_rules():
    bk = get_backend()
    assert bk.float_dtype(np.ones(2, np.float32)) == np.float32
    assert bk.float_dtype(np.ones(2, np.float32), np.ones(2)) == np.float64
    assert bk.float_dtype(np.ones(2, np.int64)) == np.float64


def test_unknown_kernel_raises():
    with pytest.raises(ValueError, match="unknown kernel"):
        get_backend().kernel("definitely_not_a_kernel")
