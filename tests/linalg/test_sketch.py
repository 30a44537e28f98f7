import numpy as np
import pytest

from lowrank_la import ConvergenceWarning
from lowrank_la._testing import assert_same_backend, to_numpy
from lowrank_la.linalg import sketch, sketch_lstsq


@pytest.mark.parametrize("kind", ["gaussian", "srht", "countsketch"])
def test_sketch_is_subspace_embedding(bc, rng, kind):
    A0 = rng.standard_normal((512, 4))
    d = 400 if kind == "countsketch" else 160
    SA = sketch(bc.asarray(A0), d, kind=kind, rng=1)
    assert_same_backend(SA, bc.asarray(A0))
    assert SA.shape == (d, 4)
    # singular values of S U (U orthonormal basis of range A) within the embedding distortion
    Q = np.linalg.qr(A0)[0]
    SQ = to_numpy(sketch(bc.asarray(Q), d, kind=kind, rng=1))
    sv = np.linalg.svd(SQ, compute_uv=False)
    assert np.all(np.abs(sv - 1) < 0.6), sv


@pytest.mark.parametrize("kind", ["gaussian", "srht", "countsketch"])
def test_sketch_unbiased_norm(rng, kind):
    x = rng.standard_normal(300)
    est = np.mean([np.sum(sketch(x, 64, kind=kind, rng=s) ** 2) for s in range(200)])
    assert est == pytest.approx(np.sum(x**2), rel=0.06)


def test_countsketch_generic_matches_native(rng):
    import array_api_strict as xs

    A0 = rng.standard_normal((50, 3))
    a = to_numpy(sketch(xs.asarray(A0), 7, kind="countsketch", rng=4))
    b = sketch(A0, 7, kind="countsketch", rng=4)
    np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("kind", ["srht", "gaussian", "countsketch"])
def test_sketch_lstsq_matches_dense(bc, rng, kind):
    A0 = rng.standard_normal((600, 12)) * np.logspace(0, 5, 12)
    b0 = rng.standard_normal(600)
    kwargs = {"sketch_size": 300} if kind == "countsketch" else {}
    res = sketch_lstsq(bc.asarray(A0), bc.asarray(b0), kind=kind, rng=0, **kwargs)
    assert res.success and res.status == 0
    ref = np.linalg.lstsq(A0, b0, rcond=None)[0]
    np.testing.assert_allclose(to_numpy(res.x), ref, rtol=1e-6, atol=1e-12)
    assert res.nit <= 40


def test_sketch_lstsq_multiple_rhs(rng):
    A = rng.standard_normal((300, 5))
    B = rng.standard_normal((300, 3))
    res = sketch_lstsq(A, B, rng=0)
    np.testing.assert_allclose(res.x, np.linalg.lstsq(A, B, rcond=None)[0], rtol=1e-7)


def test_sketch_lstsq_reports_non_convergence(rng):
    A = rng.standard_normal((300, 5)) * np.logspace(0, 8, 5)
    b = rng.standard_normal(300)
    with pytest.warns(ConvergenceWarning, match="maxiter=0"):
        res = sketch_lstsq(A, b, maxiter=0, rtol=1e-15, rng=0)
    assert not res.success and res.status == 1


def test_sketch_lstsq_rank_deficient_falls_back(rng):
    A = rng.standard_normal((100, 3))
    A = np.hstack([A, A[:, :1]])
    b = rng.standard_normal(100)
    res = sketch_lstsq(A, b, rng=0)
    assert res.status == 2 and "rank deficient" in res.message
    np.testing.assert_allclose(A.T @ (A @ res.x - b), 0, atol=1e-9)


def test_sketch_bad_input():
    with pytest.raises(ValueError, match="`kind`"):
        sketch(np.ones((4, 2)), 2, kind="fft")
    with pytest.raises(ValueError, match="`sketch_size` must be >= 1"):
        sketch(np.ones((4, 2)), 0)
    with pytest.raises(ValueError, match="tall"):
        sketch_lstsq(np.ones((2, 4)), np.ones(2))
    with pytest.raises(ValueError, match="`b` must have 4 rows"):
        sketch_lstsq(np.ones((4, 2)), np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        sketch_lstsq(np.ones((4, 2)), np.array([1, 2, np.inf, 0]))
