import warnings

import numpy as np
import pytest

from lowrank_la import ConvergenceWarning, History, Result
from lowrank_la._result import warn_not_converged
from lowrank_la._validation import (
    check_array,
    check_fraction,
    check_int,
    check_option,
    check_positive,
    check_rank,
    check_rng,
)


def test_check_array_messages():
    with pytest.raises(ValueError, match=r"`A` must be a 2-d array, got array of shape \(3,\)"):
        check_array(np.ones(3), "A", ndim=2)
    with pytest.raises(ValueError, match="`A` must not contain NaN or inf"):
        check_array(np.array([1.0, np.nan]), "A")
    with pytest.raises(ValueError, match=r"`A` must have shape \(\*, 3\), got shape \(2, 2\)"):
        check_array(np.ones((2, 2)), "A", shape=(None, 3))
    with pytest.raises(TypeError, match="`A` must be an array, got list"):
        check_array([1.0], "A")
    with pytest.raises(TypeError, match="real floating"):
        check_array(np.ones(2, dtype=int), "A", dtype_kind="real floating")
    with pytest.raises(ValueError, match="must not be empty"):
        check_array(np.ones((0, 2)), "A")


def test_scalar_checks():
    with pytest.raises(ValueError, match="`rank` must be a positive integer, got -1"):
        check_rank(-1)
    with pytest.raises(TypeError, match="`rank` must be a positive integer, got 2.0"):
        check_rank(2.0)
    with pytest.raises(TypeError):
        check_rank(True)
    with pytest.raises(ValueError, match="at most 3"):
        check_rank(4, maximum=3)
    assert check_rank(np.int64(2)) == 2
    with pytest.raises(ValueError, match="`tol` must be positive, got 0.0"):
        check_positive(0.0, "tol")
    with pytest.raises(ValueError, match="must be finite"):
        check_positive(np.inf, "tol")
    with pytest.raises(ValueError, match=r"`p` must lie in \(0, 1\)"):
        check_fraction(1.0, "p")
    with pytest.raises(ValueError, match="`n` must be >= 1, got 0"):
        check_int(0, "n", minimum=1)
    with pytest.raises(ValueError, match=r"`kind` must be one of \['a', 'b'\], got 'c'"):
        check_option("c", "kind", {"a", "b"})


def test_check_rng():
    g = np.random.default_rng(1)
    assert check_rng(g) is g
    assert check_rng(5).integers(100) == np.random.default_rng(5).integers(100)
    with pytest.raises(TypeError, match="`rng`"):
        check_rng("seed")
    with pytest.raises(ValueError, match="non-negative"):
        check_rng(-1)


def test_result_and_history():
    h = History()
    h.record(loss=1.0)
    h.record(loss=0.5, err=0.1)
    assert h["loss"] == [1.0, 0.5] and h["err"] == [None, 0.1] and len(h) == 2
    arr = h.as_arrays()
    assert np.isnan(arr["err"][0]) and arr["err"][1] == 0.1
    r = Result(success=False, status=1, message="maxiter", nit=10, history=h)
    assert r.nit == 10 and not r.success
    assert "maxiter" in repr(r)
    with pytest.raises(AttributeError):
        r.missing  # noqa: B018


def test_convergence_warning_category():
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        warn_not_converged("did not converge")
    assert rec[0].category is ConvergenceWarning
