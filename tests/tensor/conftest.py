"""Fixtures for the Tucker tests: dense NumPy references (full SVDs and einsum), as `ref`."""

import string
from types import SimpleNamespace

import numpy as np
import pytest


def np_unfold(X, n):
    return np.moveaxis(X, n, 0).reshape(X.shape[n], -1)


def einsum_expand(core, factors):
    """``G x_1 U_1 ... x_N U_N`` by one einsum."""
    N = core.ndim
    letters = string.ascii_lowercase
    big = string.ascii_uppercase
    spec = letters[:N] + "," + ",".join(f"{big[n]}{letters[n]}" for n in range(N))
    return np.einsum(spec + "->" + big[:N], core, *factors)


def einsum_project(X, factors):
    """``X x_1 U_1ᵀ ... x_N U_Nᵀ`` by one einsum."""
    N = X.ndim
    letters = string.ascii_lowercase
    big = string.ascii_uppercase
    spec = big[:N] + "," + ",".join(f"{big[n]}{letters[n]}" for n in range(N))
    return np.einsum(spec + "->" + letters[:N], X, *factors)


def svd_hosvd(X, ranks):
    """Textbook HOSVD with full SVDs of the unfoldings."""
    U = [np.linalg.svd(np_unfold(X, n), full_matrices=False)[0][:, :r]
         for n, r in enumerate(ranks)]
    return einsum_project(X, U), U


def tails(X):
    """``tail[n][r] = sum_{i >= r} sigma_{n,i}^2`` from full SVDs."""
    out = []
    for n in range(X.ndim):
        s = np.zeros(X.shape[n])
        sv = np.linalg.svd(np_unfold(X, n), compute_uv=False)
        s[: len(sv)] = sv**2
        out.append(np.concatenate([np.cumsum(s[::-1])[::-1], [0.0]]))
    return out


def projector(U):
    return U @ U.T


@pytest.fixture(scope="session")
def ref():
    """The dense NumPy reference implementations above, as attributes."""
    return SimpleNamespace(np_unfold=np_unfold, einsum_expand=einsum_expand,
                           einsum_project=einsum_project, svd_hosvd=svd_hosvd, tails=tails,
                           projector=projector)
