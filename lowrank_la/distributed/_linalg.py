"""Randomized SVD and range finder for a dask array, through Dask's own ``svd_compressed``.

Dask's ``svd_compressed(iterator="QR")`` is the algorithm of
:func:`lowrank_la.linalg.randomized_svd`: a Gaussian test matrix with ``rank + oversample``
columns, ``n_power_iter`` subspace iterations re-orthonormalized after every product (here by
TSQR; the in-memory version uses a cheaper LU basis in between, which spans the same space), a
final QR, and the SVD of the small ``Qᵀ A``.  So it is reused, not re-implemented; this module
adds the library's argument checks, ``rng=`` (the test matrix is drawn by Dask from a seed taken
from ``rng``, so results are reproducible but not bitwise equal to the in-memory routine, whose
test matrix is drawn on the host) and a finiteness check on the small outputs.
"""

from __future__ import annotations

import numpy as np

from .._backend import get_backend
from .._validation import check_int, check_rank, check_rng
from ._client import check_tall, require_dask

__all__ = ["randomized_svd", "randomized_range_finder"]


def _seed(rng):
    return int(check_rng(rng).integers(2**31 - 1))


def randomized_svd(A, rank, *, oversample=10, n_power_iter=4, rng=None):
    """Randomized truncated SVD of a dask array: ``A ≈ U diag(s) Vh``.

    Parameters
    ----------
    A : dask.array.Array, shape (m, n)
        Real matrix with known chunk sizes (typically tall and skinny, chunked by rows).
    rank : int
        ``1 <= rank <= min(m, n)``.
    oversample : int
        Extra test vectors (``rank + oversample`` in all, capped at ``min(m, n)``).
    n_power_iter : int
        Subspace iterations (two passes over ``A`` each).  Dask uses at least 20 test vectors
        (``max(rank + oversample, 20)``, capped at ``min(m, n)``).
    rng : None, int or numpy.random.Generator
        Seeds Dask's test matrix.

    Returns
    -------
    U : dask.array.Array, shape (m, rank)
        Persisted (computed and held by the scheduler), orthonormal columns.
    s : numpy.ndarray, shape (rank,)
        Non-increasing singular values.
    Vh : numpy.ndarray, shape (rank, n)

    Raises
    ------
    TypeError
        ``A`` not a real dask array.
    ValueError
        Bad rank, unknown chunk sizes, NaN/inf in ``A`` (detected on the small factors).

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Review
    53(2), 2011 (Algorithms 4.4 and 5.1).

    Examples
    --------
    >>> import numpy as np, dask, dask.array as da
    >>> from lowrank_la.distributed import randomized_svd
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((2000, 3)) @ rng.standard_normal((3, 40))
    >>> with dask.config.set(scheduler="synchronous"):
    ...     U, s, Vh = randomized_svd(da.from_array(A, chunks=(500, 40)), 3, rng=0)
    ...     np.allclose(s, np.linalg.svd(A, compute_uv=False)[:3])
    True
    """
    A = check_tall(A, "A", max_col_chunks=None)
    rank = check_rank(rank, "rank", maximum=min(A.shape))
    oversample = check_int(oversample, "oversample", minimum=0)
    n_power_iter = check_int(n_power_iter, "n_power_iter", minimum=0)
    da = require_dask()
    import dask

    U, s, Vh = da.linalg.svd_compressed(A, rank, iterator="QR", n_power_iter=n_power_iter,
                                        n_oversamples=oversample, seed=_seed(rng),
                                        coerce_signs=True)
    try:
        U, s, Vh = dask.persist(U, s, Vh)
        s, Vh = dask.compute(s, Vh)
    except np.linalg.LinAlgError as exc:  # the block QRs/SVD of NaN or inf data
        raise ValueError(f"`A` must not contain NaN or inf ({exc})") from exc
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(Vh))):
        raise ValueError("`A` must not contain NaN or inf (the singular values are not finite)")
    return U, np.asarray(s), np.asarray(Vh)


def randomized_range_finder(A, size, *, n_power_iter=2, rng=None):
    """Orthonormal basis ``Q`` (m, size) approximately spanning the range of a dask array.

    Parameters
    ----------
    A : dask.array.Array, shape (m, n)
    size : int
        Columns of ``Q``, ``1 <= size <= min(m, n)``.
    n_power_iter : int
        Subspace iterations, each followed by a TSQR re-orthonormalization.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    Q : dask.array.Array, shape (m, size)
        Persisted, orthonormal columns.

    Raises
    ------
    TypeError, ValueError
        As :func:`randomized_svd`.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Review
    53(2), 2011 (Algorithm 4.4).

    Examples
    --------
    >>> import numpy as np, dask, dask.array as da
    >>> from lowrank_la.distributed import randomized_range_finder
    >>> A = np.random.default_rng(0).standard_normal((1000, 2)) @ np.ones((2, 30))
    >>> with dask.config.set(scheduler="synchronous"):
    ...     Q = randomized_range_finder(da.from_array(A, chunks=(250, 30)), 2, rng=0).compute()
    >>> bool(np.allclose(Q @ (Q.T @ A), A))
    True
    """
    A = check_tall(A, "A", max_col_chunks=None)
    size = check_rank(size, "size", maximum=min(A.shape))
    n_power_iter = check_int(n_power_iter, "n_power_iter", minimum=0)
    da = require_dask()
    # Dask's compression_matrix uses at least 20 test vectors; a basis of exactly `size` columns
    # needs the loop itself (HMT Algorithm 4.4 with TSQR), the test matrix drawn on the host
    # exactly as lowrank_la.linalg draws it
    Omega = get_backend().random_normal(check_rng(rng), (A.shape[1], size), dtype=A.dtype)
    Y = A @ da.from_array(Omega, chunks=(A.chunks[1], size))
    for _ in range(n_power_iter):
        Q, _ = da.linalg.tsqr(Y.rechunk({1: -1}))
        Z, _ = da.linalg.tsqr((A.T @ Q).rechunk({1: -1}))
        Y = A @ Z
    Q, R = da.linalg.tsqr(Y.rechunk({1: -1}))
    signs = da.sign(da.diag(R))  # R with a positive diagonal: the sign-fixed QR of linalg.qr
    Q = (Q * da.where(signs == 0, 1.0, signs)[None, :]).astype(A.dtype).persist()
    return Q
