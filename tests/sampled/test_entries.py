"""ObservedEntries: construction, ordering, duplicates, conversions, splitting."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from lowrank_la._testing import assert_same_backend, to_numpy
from lowrank_la.sampled import ObservedEntries


def _random_entries(rng, m, n, density):
    mask = rng.random((m, n)) < density
    A = rng.standard_normal((m, n))
    return A, mask


def test_sorted_csr_order_and_dense_roundtrip(bc, rng):
    A, mask = _random_entries(rng, 6, 5, 0.5)
    r, c = np.nonzero(mask)
    shuffle = rng.permutation(r.shape[0])
    rows, cols, vals = r[shuffle], c[shuffle], A[r, c][shuffle]
    args = [bc.asarray(rows), bc.asarray(cols), bc.asarray(vals)]
    copies = [a.copy() for a in (rows, cols, vals)]
    om = ObservedEntries(*args, (6, 5))
    for a, ref in zip(args, copies):  # inputs untouched
        np.testing.assert_array_equal(to_numpy(a), ref)
    assert_same_backend(om.values, args[2])
    np.testing.assert_array_equal(to_numpy(om.rows), r)
    np.testing.assert_array_equal(to_numpy(om.cols), c)
    np.testing.assert_array_equal(to_numpy(om.values), A[r, c])
    np.testing.assert_array_equal(to_numpy(om.indptr), np.r_[0, np.cumsum(mask.sum(1))])
    np.testing.assert_array_equal(to_numpy(om.to_dense()), np.where(mask, A, 0.0))
    np.testing.assert_array_equal(to_numpy(om.row_counts()), mask.sum(1))
    np.testing.assert_array_equal(to_numpy(om.col_counts()), mask.sum(0))
    assert om.nnz == mask.sum() and om.shape == (6, 5)


def test_from_dense_mask_and_nan(bc, rng):
    A, mask = _random_entries(rng, 5, 7, 0.4)
    om = ObservedEntries.from_dense(bc.asarray(A), bc.asarray(mask))
    np.testing.assert_array_equal(to_numpy(om.to_dense()), np.where(mask, A, 0))
    An = np.where(mask, A, np.nan)
    Ab = bc.asarray(An)
    om2 = ObservedEntries.from_dense(Ab)
    np.testing.assert_array_equal(to_numpy(om2.values), A[mask])
    np.testing.assert_array_equal(to_numpy(om2.cols), np.nonzero(mask)[1])
    np.testing.assert_array_equal(to_numpy(Ab), An)  # NaNs still there


def test_float32_values_kept(bc, rng):
    om = ObservedEntries.from_dense(bc.asarray(rng.standard_normal((3, 3)), dtype=np.float32))
    assert om.values.dtype == bc.xp.float32 and om.dtype == bc.xp.float32


def test_transpose_is_csc_order(bc, rng):
    A, mask = _random_entries(rng, 7, 4, 0.5)
    om = ObservedEntries.from_dense(bc.asarray(A), bc.asarray(mask))
    T = om.T
    assert T.shape == (4, 7) and T.T is om
    np.testing.assert_array_equal(to_numpy(T.to_dense()), np.where(mask, A, 0).T)
    perm = to_numpy(om.csc_permutation())
    np.testing.assert_array_equal(to_numpy(om.values)[perm], to_numpy(T.values))
    np.testing.assert_array_equal(to_numpy(T.csc_permutation()), np.argsort(perm))


def test_with_values_shares_pattern(rng):
    A, mask = _random_entries(rng, 5, 6, 0.5)
    om = ObservedEntries.from_dense(A, mask)
    om.T  # noqa: B018 - cache the column ordering first
    w = rng.standard_normal(om.nnz)
    om2 = om.with_values(w)
    assert om2.indptr is om.indptr
    np.testing.assert_array_equal(om2.T.values, w[om.csc_permutation()])
    np.testing.assert_array_equal(om2.T.to_dense(), om2.to_dense().T)


@pytest.mark.parametrize("fmt", ["coo", "csr", "csc"])
def test_scipy_roundtrip(rng, fmt):
    S = sp.random_array((8, 6), density=0.3, rng=1, format=fmt)
    om = ObservedEntries.from_scipy(S)
    assert om.nnz == S.nnz
    for out in ("csr", "csc", "coo"):
        back = om.to_scipy(out)
        assert back.format == out
        np.testing.assert_array_equal(back.toarray(), S.toarray())


def test_scipy_explicit_zero_is_observed():
    S = sp.csr_array((np.array([0.0, 1.0]), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 2))
    om = ObservedEntries.from_scipy(S)
    assert om.nnz == 2
    np.testing.assert_array_equal(om.to_dense(np.nan), [[0.0, np.nan], [np.nan, 1.0]])


def test_duplicates_policies(bc):
    rows, cols = np.array([1, 0, 1, 1]), np.array([2, 0, 2, 2])
    vals = np.array([1.0, 5.0, 2.0, 6.0])
    args = [bc.asarray(rows), bc.asarray(cols), bc.asarray(vals)]
    with pytest.raises(ValueError, match=r"duplicate entry \(1, 2\)"):
        ObservedEntries(*args, (2, 3))
    expect = {"sum": 9.0, "mean": 3.0, "last": 6.0}
    for policy, v in expect.items():
        om = ObservedEntries(*args, (2, 3), duplicates=policy)
        np.testing.assert_array_equal(to_numpy(om.rows), [0, 1])
        np.testing.assert_array_equal(to_numpy(om.values), [5.0, v])
    om = ObservedEntries(args[0], args[1], None, (2, 3), duplicates="sum")
    assert om.nnz == 2 and om.values is None


def test_counts_and_empty(bc):
    om = ObservedEntries(bc.asarray(np.array([0, 0, 3])), bc.asarray(np.array([1, 4, 1])), None,
                         (4, 5))
    np.testing.assert_array_equal(to_numpy(om.empty_rows()), [1, 2])
    np.testing.assert_array_equal(to_numpy(om.empty_cols()), [0, 2, 3])
    np.testing.assert_array_equal(to_numpy(om.to_dense()),
                                  [[0, 1, 0, 0, 1], [0] * 5, [0] * 5, [0, 1, 0, 0, 0]])


def test_empty_set(bc):
    e = bc.asarray(np.zeros(0, dtype=np.int64))
    om = ObservedEntries(e, e, bc.asarray(np.zeros(0)), (3, 2))
    assert om.nnz == 0
    np.testing.assert_array_equal(to_numpy(om.indptr), [0, 0, 0, 0])
    np.testing.assert_array_equal(to_numpy(om.to_dense()), np.zeros((3, 2)))


def test_split_and_partition(bc):
    om = ObservedEntries.from_dense(bc.asarray(np.arange(60.0).reshape(6, 10)))
    train, val = om.split(0.3, rng=4)
    assert (train.nnz, val.nnz) == (42, 18)
    t, v = to_numpy(train.values), to_numpy(val.values)
    assert set(t).isdisjoint(v) and len(set(t) | set(v)) == 60
    assert np.all(np.diff(to_numpy(train.rows) * 10 + to_numpy(train.cols)) > 0)  # CSR order
    np.testing.assert_array_equal(to_numpy(train.to_dense() + val.to_dense()),
                                  np.arange(60.0).reshape(6, 10))
    t2, _ = om.split(0.3, rng=4)
    np.testing.assert_array_equal(to_numpy(t2.values), t)  # same seed, same split
    parts = om.partition(7, rng=np.random.default_rng(1))
    sizes = sorted(p.nnz for p in parts)
    assert sizes[-1] - sizes[0] <= 1 and sum(sizes) == 60
    allv = np.concatenate([to_numpy(p.values) for p in parts])
    np.testing.assert_array_equal(np.sort(allv), np.arange(60.0))


@given(st.data())
def test_hypothesis_roundtrip_with_duplicates(data):
    m = data.draw(st.integers(1, 6))
    n = data.draw(st.integers(1, 6))
    nnz = data.draw(st.integers(0, 25))
    rows = np.array(data.draw(st.lists(st.integers(0, m - 1), min_size=nnz, max_size=nnz)),
                    dtype=np.int64)
    cols = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=nnz, max_size=nnz)),
                    dtype=np.int64)
    vals = np.arange(1.0, nnz + 1)
    om = ObservedEntries(rows, cols, vals, (m, n), duplicates="sum")
    ref = np.zeros((m, n))
    np.add.at(ref, (rows, cols), vals)
    np.testing.assert_array_equal(om.to_dense(), ref)
    ref_s = sp.coo_array((vals, (rows, cols)), shape=(m, n)).tocsr()
    ref_s.sum_duplicates()
    np.testing.assert_array_equal(om.indptr, ref_s.indptr)
    np.testing.assert_array_equal(om.cols, ref_s.indices)


# -- bad input ------------------------------------------------------------------------------


def test_bad_indices(bc):
    a = bc.asarray
    v = a(np.ones(2))
    with pytest.raises(ValueError, match=r"`rows` must lie in \[0, 2\).*index -1"):
        ObservedEntries(a(np.array([0, -1])), a(np.array([0, 1])), v, (2, 2))
    with pytest.raises(ValueError, match=r"`cols` must lie in \[0, 2\).*index 2"):
        ObservedEntries(a(np.array([0, 1])), a(np.array([0, 2])), v, (2, 2))
    with pytest.raises(TypeError, match="`rows` must have an integer dtype"):
        ObservedEntries(a(np.array([0.0, 1.0])), a(np.array([0, 1])), v, (2, 2))
    with pytest.raises(ValueError, match="equal lengths, got 2 and 3"):
        ObservedEntries(a(np.array([0, 1])), a(np.array([0, 1, 1])), v, (2, 2))
    with pytest.raises(ValueError, match="`values` must have one entry per index"):
        ObservedEntries(a(np.array([0, 1])), a(np.array([0, 1])), a(np.ones(3)), (2, 2))
    with pytest.raises(ValueError, match="`values` must not contain NaN"):
        ObservedEntries(a(np.array([0, 1])), a(np.array([0, 1])), a(np.array([1.0, np.nan])),
                        (2, 2))
    with pytest.raises(ValueError, match="`rows` must be a 1-d array"):
        ObservedEntries(a(np.zeros((1, 2), dtype=np.int64)), a(np.array([0, 1])), v, (2, 2))


def test_bad_shape_and_options(rng):
    i = np.array([0])
    with pytest.raises(ValueError, match="`shape` must be a pair of positive"):
        ObservedEntries(i, i, None, (0, 2))
    with pytest.raises(TypeError, match="`shape`"):
        ObservedEntries(i, i, None, (2.0, 2))
    with pytest.raises(ValueError, match="`duplicates` must be one of"):
        ObservedEntries(i, i, None, (1, 1), duplicates="max")
    with pytest.raises(TypeError, match="`rows` must be an array"):
        ObservedEntries([0], i, None, (1, 1))
    with pytest.raises(TypeError, match="`S` must be a scipy.sparse"):
        ObservedEntries.from_scipy(np.eye(2))
    with pytest.raises(ValueError, match="`A` must not contain inf"):
        ObservedEntries.from_dense(np.array([[np.inf, 1.0]]))
    with pytest.raises(ValueError, match="finite at the observed entries"):
        ObservedEntries.from_dense(np.array([[np.nan, 1.0]]), np.array([[True, True]]))
    with pytest.raises(TypeError, match="`mask` must be a boolean"):
        ObservedEntries.from_dense(np.ones((1, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match="`mask` must have the shape"):
        ObservedEntries.from_dense(np.ones((1, 2)), np.ones((2, 1), dtype=bool))
    om = ObservedEntries.from_dense(np.ones((3, 3)))
    with pytest.raises(ValueError, match="`fraction` must lie in"):
        om.split(1.0)
    with pytest.raises(ValueError, match="`n_parts` must be <= 9"):
        om.partition(10)
    with pytest.raises(ValueError, match="needs `values`"):
        ObservedEntries(i, i, None, (1, 1)).to_scipy()


def test_mixed_backends_rejected():
    import torch

    with pytest.raises(TypeError, match="`rows`, `cols`"):
        ObservedEntries(np.array([0]), torch.tensor([0]), None, (1, 1))


def test_to_scipy_needs_numpy():
    import torch

    om = ObservedEntries(torch.tensor([0]), torch.tensor([0]), torch.tensor([1.0]), (1, 1))
    with pytest.raises(TypeError, match="copy them to the host explicitly"):
        om.to_scipy()


def test_presorted_input_and_column_order_match_argsort(rng):
    A, mask = _random_entries(rng, 30, 20, 0.3)
    r, c = np.nonzero(mask)
    om = ObservedEntries(r, c, A[r, c], (30, 20))  # sorted fast path
    np.testing.assert_array_equal(om.csc_permutation(), np.argsort(om.cols, kind="stable"))
    shuffled = rng.permutation(r.shape[0])
    om2 = ObservedEntries(r[shuffled], c[shuffled], A[r, c][shuffled], (30, 20))
    np.testing.assert_array_equal(om2.values, om.values)


def test_pickle_roundtrip_keeps_entries_and_operator():
    import pickle

    from lowrank_la.sampled import ObservedEntries, sddmm

    rng = np.random.default_rng(3)
    om = ObservedEntries(np.array([2, 0, 1, 0]), np.array([1, 2, 0, 0]),
                         rng.standard_normal(4), (3, 3))
    om.T  # noqa: B018 - a cached transpose must not break pickling
    back = pickle.loads(pickle.dumps(om))
    for name in ("rows", "cols", "values", "indptr"):
        np.testing.assert_array_equal(getattr(back, name), getattr(om, name))
    assert back.shape == om.shape and back.backend.name == "numpy"
    U, V = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(sddmm(back, U, V), sddmm(om, U, V))
    np.testing.assert_allclose(back.T.to_dense(), om.to_dense().T)
