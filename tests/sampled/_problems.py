"""Random sampled-entry problems with dense NumPy references (shared by the kernel tests)."""

import numpy as np

from lowrank_la.sampled import ObservedEntries


def make_problem(rng, m=9, n=7, k=3, density=0.5, dtype=np.float64, empty_rows=(2,),
                 empty_cols=(4,)):
    """Mask with forced empty rows/columns, values, factors and dense references."""
    mask = rng.random((m, n)) < density
    for i in empty_rows:
        if i < m:
            mask[i] = False
    for j in empty_cols:
        if j < n:
            mask[:, j] = False
    M = rng.standard_normal((m, n)).astype(dtype)
    U = rng.standard_normal((m, k)).astype(dtype)
    V = rng.standard_normal((n, k)).astype(dtype)
    return mask, M, U, V


def ridge_reference(mask, M, V, lam):
    """Row-by-row dense ridge solutions (zeros for empty rows), in float64."""
    k = V.shape[1]
    X = np.zeros((mask.shape[0], k))
    V = V.astype(np.float64)
    for i in range(mask.shape[0]):
        if mask[i].any():
            Vi = V[mask[i]]
            X[i] = np.linalg.solve(Vi.T @ Vi + lam * np.eye(k), Vi.T @ M[i, mask[i]])
    return X


def entries(mask, M, asarray=np.asarray):
    return ObservedEntries.from_dense(asarray(M), asarray(mask))
