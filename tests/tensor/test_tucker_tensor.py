import numpy as np
import pytest

from lowrank_la._testing import assert_close, assert_same_backend
from lowrank_la.tensor import TuckerTensor, tucker_size


def _random_tucker(rng, shape, ranks, orthonormal=True):
    G = rng.standard_normal(ranks)
    U = []
    for d, r in zip(shape, ranks):
        M = rng.standard_normal((d, r))
        U.append(np.linalg.qr(M)[0] if orthonormal else M)
    return G, U


@pytest.mark.parametrize("orthonormal", [True, False])
def test_tucker_dense_norm_size(bc, rng, ref, orthonormal):
    G0, U0 = _random_tucker(rng, (6, 5, 4), (3, 2, 4), orthonormal)
    T = TuckerTensor(bc.asarray(G0), [bc.asarray(u) for u in U0])
    dense = ref.einsum_expand(G0, U0)
    D = T.to_dense()
    assert_same_backend(D, T.core)
    assert_close(D, dense, rtol=1e-12, atol=1e-12)
    assert T.shape == (6, 5, 4) and T.rank == (3, 2, 4)
    assert T.size == 3 * 2 * 4 + 6 * 3 + 5 * 2 + 4 * 4 == tucker_size((6, 5, 4), (3, 2, 4))
    assert T.norm() == pytest.approx(np.linalg.norm(dense), rel=1e-12)


def test_relative_error_methods(bc, rng, ref):
    G0, U0 = _random_tucker(rng, (6, 5, 4), (2, 2, 2))
    X0 = rng.standard_normal((6, 5, 4))
    T = TuckerTensor(bc.asarray(G0), [bc.asarray(u) for u in U0])
    X = bc.asarray(X0)
    want = np.linalg.norm(X0 - ref.einsum_expand(G0, U0)) / np.linalg.norm(X0)
    for method in ("auto", "dense", "inner"):
        assert T.relative_error(X, method=method) == pytest.approx(want, rel=1e-10)


def test_relative_error_auto_avoids_cancellation(rng, ref):
    # X = X^ + tiny perturbation: the inner-product formula cancels, "auto" forms the difference
    G0, U0 = _random_tucker(rng, (6, 5, 4), (2, 2, 2))
    E = rng.standard_normal((6, 5, 4))
    dense = ref.einsum_expand(G0, U0)
    X = dense + 1e-11 * np.linalg.norm(dense) * E / np.linalg.norm(E)
    T = TuckerTensor(G0, U0)
    assert T.relative_error(X) == pytest.approx(1e-11 / np.linalg.norm(X) * np.linalg.norm(dense),
                                                rel=1e-3)


def test_tucker_bad_input(rng):
    G0, U0 = _random_tucker(rng, (6, 5, 4), (2, 2, 2))
    with pytest.raises(ValueError, match="one matrix per core mode"):
        TuckerTensor(G0, U0[:2])
    with pytest.raises(ValueError, match=r"factors\[1\]"):
        TuckerTensor(G0, [U0[0], rng.standard_normal((5, 3)), U0[2]])
    T = TuckerTensor(G0, U0)
    with pytest.raises(ValueError, match="shape"):
        T.relative_error(np.ones((6, 5)))
    with pytest.raises(ValueError, match="zero"):
        T.relative_error(np.zeros((6, 5, 4)))
    with pytest.raises(ValueError, match="method"):
        T.relative_error(np.ones((6, 5, 4)), method="cheap")
