"""Tucker core-shape selection for a tensor stored as a chunked ``dask.array``.

The selection of :func:`lowrank_la.tensor.select_core_shape` needs only the squared singular
values of every mode unfolding, i.e. the eigenvalues of the Gram matrices
``G_n = X_(n) X_(n)ᵀ`` (``I_n x I_n``, small).  Each is a contraction of ``X`` with itself over
all other modes, which ``dask.array.tensordot`` computes blockwise (every chunk contributes a
partial Gram, summed in a tree); the tensor is never gathered.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_option
from ._client import require_dask

__all__ = ["mode_grams", "select_core_shape"]

_METHODS = ("packing", "greedy-bound", "uniform", "exhaustive-bound")


def _check_tensor(X):
    da = require_dask()
    if not isinstance(X, da.Array):
        raise TypeError(f"`X` must be a dask.array.Array, got {type(X).__name__}")
    if X.ndim < 2 or 0 in X.shape:
        raise ValueError(f"`X` must be a non-empty tensor of order >= 2, got shape {X.shape}")
    if any(s != s for s in X.shape):
        raise ValueError("`X` has unknown chunk sizes; call `X.compute_chunk_sizes()`")
    if np.dtype(X.dtype).kind not in "fiu":
        raise TypeError(f"`X` must be real numeric, got dtype {X.dtype}")
    return X.astype(np.float32 if X.dtype == np.float32 else np.float64)


def mode_grams(X):
    """Gram matrices ``X_(n) X_(n)ᵀ`` of every mode unfolding, computed blockwise.

    Parameters
    ----------
    X : dask.array.Array, shape (I_1, ..., I_N), N >= 2
        Real tensor, any chunking.

    Returns
    -------
    list of numpy.ndarray
        ``G[n]`` of shape ``(I_n, I_n)``, symmetric positive semidefinite (one ``compute`` for
        all modes, so ``X`` is read once per chunk and mode).

    Raises
    ------
    TypeError
        ``X`` not a real dask array.
    ValueError
        Order < 2, empty, unknown chunks, NaN/inf (detected on the Gram matrices).

    References
    ----------
    L. De Lathauwer, B. De Moor, J. Vandewalle, "A multilinear singular value decomposition",
    SIAM J. Matrix Anal. Appl. 21(4), 2000.

    Examples
    --------
    >>> import numpy as np, dask, dask.array as da
    >>> from lowrank_la.distributed import mode_grams
    >>> from lowrank_la.tensor import unfold
    >>> X = np.random.default_rng(0).standard_normal((6, 5, 4))
    >>> with dask.config.set(scheduler="synchronous"):
    ...     G = mode_grams(da.from_array(X, chunks=(3, 2, 4)))
    >>> bool(np.allclose(G[1], unfold(X, 1) @ unfold(X, 1).T))
    True
    """
    X = _check_tensor(X)
    da = require_dask()
    import dask

    lazy = []
    for n in range(X.ndim):
        others = [a for a in range(X.ndim) if a != n]
        lazy.append(da.tensordot(X, X, axes=(others, others)))
    grams = [np.asarray(G) for G in dask.compute(*lazy)]
    if not all(np.all(np.isfinite(G)) for G in grams):
        raise ValueError("`X` must not contain NaN or inf (its Gram matrices are not finite)")
    return grams


def select_core_shape(X, budget, *, method="packing", eps=0.1, mip_rel_gap=1e-6,
                      time_limit=None, valid=True, verbose=False):
    """Choose a Tucker core shape for a chunked tensor within a parameter budget.

    :func:`lowrank_la.tensor.select_core_shape` on the spectra from :func:`mode_grams`
    (the methods that need only the spectra: the true-error methods ``"greedy"`` and
    ``"exhaustive"`` run HOOI on the whole tensor and are in-memory only).

    Parameters
    ----------
    X : dask.array.Array, shape (I_1, ..., I_N), N >= 2
    budget : int
        Maximum ``prod(r_n) + sum(I_n r_n)``, at least ``1 + sum(I_n)``.
    method : {"packing", "greedy-bound", "uniform", "exhaustive-bound"}
    eps, mip_rel_gap, time_limit, valid, verbose
        As :func:`lowrank_la.tensor.select_core_shape`.

    Returns
    -------
    Result
        As :func:`lowrank_la.tensor.select_core_shape` (``shape``, ``size``, ``bound``, ...);
        ``time`` includes the Gram matrices.

    Raises
    ------
    TypeError, ValueError
        As :func:`mode_grams`; a bad budget or method.

    References
    ----------
    M. Ghadiri, M. Fahrbach, G. Fu, V. Mirrokni, "Approximately optimal core shapes for tensor
    decompositions", ICML 2023 (arXiv:2302.03886).

    Examples
    --------
    >>> import dask, dask.array as da
    >>> from lowrank_la.tensor import uneven_tensor
    >>> from lowrank_la.distributed import select_core_shape
    >>> X = uneven_tensor((20, 20, 20), (1.0, 3.0, 9.0), noise=0.01, rng=0)
    >>> with dask.config.set(scheduler="synchronous"):
    ...     res = select_core_shape(da.from_array(X, chunks=10), budget=500)
    >>> res.size <= 500, res.shape[0] <= res.shape[2]
    (True, True)
    """
    import time

    from ..tensor._selection import _select_from_spectra
    from ..tensor._spectra import _check_budget

    t0 = time.perf_counter()
    X = _check_tensor(X)
    dims = tuple(int(d) for d in X.shape)
    budget = _check_budget(budget, dims)
    method = check_option(method, "method", _METHODS)
    s2 = []
    for G in mode_grams(X):
        w = np.linalg.eigvalsh(G)[::-1]  # descending, as the in-memory Gram route
        s2.append(np.clip(w.astype(np.float64), 0.0, None))
    res = _select_from_spectra(dims, s2, budget, method=method, eps=eps,
                               mip_rel_gap=float(mip_rel_gap), time_limit=time_limit,
                               valid=valid, verbose=verbose)
    res.time = time.perf_counter() - t0
    return res
