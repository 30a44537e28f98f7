"""Helpers shared by the dlra tests (a fixture: ``--import-mode=importlib`` has no sys.path)."""

from types import SimpleNamespace

import numpy as np
import pytest


def _dense(res_or_factors):
    U, S, V = (res_or_factors.U, res_or_factors.S, res_or_factors.V)
    return np.asarray(U) @ np.asarray(S) @ np.asarray(V).conj().T


def _slope(hs, errs):
    return float(np.polyfit(np.log(hs), np.log(errs), 1)[0])


def _numerical_rank(A, tol):
    """Smallest r with ||sigma_{r+1:}||_2 <= tol."""
    s = np.linalg.svd(A, compute_uv=False)
    tails = np.sqrt(np.cumsum((s**2)[::-1]))[::-1]  # tails[k] = ||s[k:]||
    return int(np.count_nonzero(tails > tol))


@pytest.fixture(scope="session")
def dl():
    return SimpleNamespace(dense=_dense, slope=_slope, numerical_rank=_numerical_rank)
