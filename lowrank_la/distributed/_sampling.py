"""Leverage scores, Lewis weights and row sampling for a tall dask array, never gathered.

Leverage scores come from ``dask.array.linalg.tsqr``: ``A = Q R`` with ``Q`` distributed by row
blocks and ``R`` small.  A small SVD ``R = W Σ Zᵀ`` gives the numerical rank ``r`` and the
scores ``||(Q W_r)_i||²`` (correct for rank-deficient ``A``, where ``Q`` alone would over-count).
Lewis weights run the damped fixed point of :func:`lowrank_la.sampling.lewis_weights` on those
scores, with the weights kept as a persisted dask array.  Sampling draws the uniforms on the
client, locates each draw first among the blocks (from the per-block score totals, small) and
then inside its block, and fetches only the drawn rows.
"""

from __future__ import annotations

import logging

import array_api_compat
import numpy as np

from .._validation import check_int, check_nonnegative, check_rng
from ..sampling import RowSample
from ..sampling._lewis import lewis_iteration
from ._client import check_tall, require_dask

__all__ = ["leverage_scores", "lewis_weights", "sample_rows"]

logger = logging.getLogger("lowrank_la")


def _scores_from_tsqr(A):
    """Leverage scores of ``A`` (dask, rows chunked) as a lazy dask vector."""
    da = require_dask()
    import dask

    Q, R = dask.persist(*da.linalg.tsqr(A))  # one pass; Q stays on the workers
    R = np.asarray(R.compute())  # d x d: the only value the client needs
    if not np.all(np.isfinite(R)):
        raise ValueError("`A` must not contain NaN or inf (its TSQR factor R is not finite)")
    W, sv, _ = np.linalg.svd(R)
    tol = (sv[0] if sv.size else 0.0) * max(A.shape) * np.finfo(A.dtype).eps
    r = int(np.sum(sv > tol))
    QW = Q @ W[:, :r].astype(A.dtype)
    return da.sum(QW * QW, axis=1)


def leverage_scores(A):
    """Row leverage scores ``t_i = ||U_i||²`` (``U`` an orthonormal basis of range(A)).

    Parameters
    ----------
    A : dask.array.Array, shape (n, d)
        Real, chunked by rows with a single column chunk (``tsqr``'s layout).

    Returns
    -------
    dask.array.Array, shape (n,)
        Persisted scores in ``[0, 1]`` summing to ``rank(A)``; chunked like ``A``'s rows.

    Raises
    ------
    TypeError
        ``A`` not a real dask array.
    ValueError
        Unknown chunk sizes, several column chunks, NaN/inf in ``A``.

    References
    ----------
    P. Drineas, M. Magdon-Ismail, M. W. Mahoney, D. P. Woodruff, "Fast approximation of matrix
    coherence and statistical leverage", JMLR 13, 2012.  J. Demmel, L. Grigori, M. Hoemmen,
    J. Langou, "Communication-optimal parallel and sequential QR and LU factorizations", SIAM
    J. Sci. Comput. 34(1), 2012 (TSQR).

    Examples
    --------
    >>> import numpy as np, dask, dask.array as da
    >>> from lowrank_la.distributed import leverage_scores
    >>> A = np.random.default_rng(0).standard_normal((1000, 4))
    >>> with dask.config.set(scheduler="synchronous"):
    ...     t = leverage_scores(da.from_array(A, chunks=(250, 4))).compute()
    >>> Q = np.linalg.qr(A)[0]
    >>> bool(np.allclose(t, np.sum(Q**2, axis=1)))
    True
    """
    A = check_tall(A, "A")
    return _scores_from_tsqr(A).persist()


def lewis_weights(A, p, *, tol=None, maxiter=200, verbose=False):
    """l_p Lewis weights of the rows of a tall dask array (damped fixed point, any p > 0).

    The iteration of :func:`lowrank_la.sampling.lewis_weights` (``method="damped"``,
    exact leverage scores): ``log w += a (p/2) log(t(W^{1/2-1/p} A) / w)`` with ``a = 4/(p+2)``,
    each step one TSQR pass over ``A``; only the largest step (a scalar) reaches the client.

    Parameters
    ----------
    A : dask.array.Array, shape (n, d)
        Chunked by rows with a single column chunk.
    p : float
        ``p > 0``.
    tol : float, optional
        Stop when the largest step over the rows with ``w >= 1e-8 max w`` is ``<= tol``;
        default ``1e-10`` (float64), ``1e-5`` (float32).
    maxiter : int
    verbose : bool
        Log the step per iteration to the ``lowrank_la`` logger.

    Returns
    -------
    Result
        ``weights`` (persisted dask vector), ``success``, ``status`` (0 converged, 1 maxiter,
        2 non-finite), ``message``, ``nit``, ``history`` (``max_step``, ``time``), ``p``.

    Raises
    ------
    TypeError, ValueError
        As :func:`leverage_scores`; ``p <= 0``.

    Warns
    -----
    ConvergenceWarning
        When ``maxiter`` is reached first.

    References
    ----------
    M. B. Cohen, R. Peng, "l_p row sampling by Lewis weights", STOC 2015, arXiv:1412.0588.

    Examples
    --------
    >>> import numpy as np, dask, dask.array as da
    >>> from lowrank_la.distributed import lewis_weights
    >>> A = np.random.default_rng(0).standard_normal((500, 3))
    >>> with dask.config.set(scheduler="synchronous"):
    ...     res = lewis_weights(da.from_array(A, chunks=(100, 3)), 1.0)
    ...     bool(res.success), round(float(res.weights.sum().compute()), 8)
    (True, 3.0)
    """
    A = check_tall(A, "A")
    p = float(p)
    if not (np.isfinite(p) and p > 0):
        raise ValueError(f"`p` must be a finite number > 0, got {p}")
    maxiter = check_int(maxiter, "maxiter", minimum=0)
    if tol is None:
        tol = 1e-5 if A.dtype == np.float32 else 1e-10
    tol = check_nonnegative(tol, "tol")
    require_dask()
    import dask

    def realize(w_new, max_step):
        w_new, max_step = dask.persist(w_new, max_step)
        return w_new, float(max_step.compute())

    return lewis_iteration(lambda f: _scores_from_tsqr(A * f[:, None]),
                           _scores_from_tsqr(A).persist(), p=p, a=4.0 / (p + 2.0),
                           maxiter=maxiter, tol=tol, xp=array_api_compat.array_namespace(A),
                           tiny=float(np.finfo(A.dtype).tiny), realize=realize,
                           label="distributed lewis_weights", verbose=verbose)


def _locate(block_scores, u_local):
    """Positions in one block of the draws ``u_local`` (in units of the block's total)."""
    cum = np.cumsum(np.asarray(block_scores, dtype=np.float64))
    pos = np.searchsorted(cum, u_local * cum[-1], side="right")
    return np.minimum(pos, cum.size - 1)


def sample_rows(A, scores, m, *, p=2.0, rng=None):
    """Draw ``m`` rows i.i.d. with probability proportional to ``scores``, reweighted.

    The distributed counterpart of :func:`lowrank_la.sampling.sample_rows` with
    ``replace=True``: a row drawn ``c`` times gets weight ``c / (m q_i)``, so
    ``E sum_j w_j |a_{i_j}ᵀ x|^p = ||A x||_p^p``.  Only the per-block score totals and the drawn
    rows travel to the client.

    Parameters
    ----------
    A : dask.array.Array or None, shape (n, d)
        When given, ``rows`` holds the drawn rows scaled by ``w^{1/p}`` (fetched from the
        workers; nothing else of ``A`` is gathered).  Rows chunked like ``scores``.
    scores : dask.array.Array, shape (n,)
        Non-negative scores (e.g. :func:`leverage_scores`, :func:`lewis_weights` weights).
    m : int
        Number of draws, ``m >= 1``.
    p : float
        Exponent for the row scaling in ``rows``.
    rng : None, int or numpy.random.Generator
        The uniforms are drawn on the client as in the in-memory routine.

    Returns
    -------
    lowrank_la.sampling.RowSample
        NumPy ``indices`` (sorted, unique), ``weights``, ``probabilities`` and ``rows``.

    Raises
    ------
    TypeError, ValueError
        Non-dask inputs, ``m < 1``, negative or all-zero scores, mismatched lengths or chunks.

    References
    ----------
    M. B. Cohen, R. Peng, "l_p row sampling by Lewis weights", STOC 2015.

    Examples
    --------
    >>> import numpy as np, dask, dask.array as da
    >>> from lowrank_la.distributed import leverage_scores, sample_rows
    >>> A = da.from_array(np.random.default_rng(0).standard_normal((2000, 5)), chunks=(500, 5))
    >>> with dask.config.set(scheduler="synchronous"):
    ...     s = sample_rows(A, leverage_scores(A), 300, rng=0)
    >>> x = np.ones(5)
    >>> est = np.sum((s.rows @ x) ** 2)  # the rows carry the factor sqrt(weight)
    >>> bool(abs(est / np.sum((A.compute() @ x) ** 2) - 1) < 0.3)
    True
    """
    da = require_dask()
    if not isinstance(scores, da.Array) or scores.ndim != 1:
        raise TypeError(f"`scores` must be a 1-d dask array, got {type(scores).__name__}")
    n = scores.shape[0]
    m = check_int(m, "m", minimum=1)
    p = float(p)
    if not (np.isfinite(p) and p > 0):
        raise ValueError(f"`p` must be a finite number > 0, got {p}")
    if A is not None:
        A = check_tall(A, "A", max_col_chunks=None) if A.ndim == 2 else A
        if A.shape[0] != n:
            raise ValueError(f"`A` must have {n} rows to match `scores`, got shape {A.shape}")
        if A.chunks[0] != scores.chunks[0]:
            raise ValueError(f"`A`'s row chunks {A.chunks[0]} must match `scores`' chunks "
                             f"{scores.chunks[0]}")
    rng = check_rng(rng)
    import dask

    totals, lows = dask.compute(scores.map_blocks(lambda b: np.array([b.sum()]), chunks=(1,)),
                                scores.min())
    totals = np.asarray(totals, dtype=np.float64)
    if not np.all(np.isfinite(totals)) or float(lows) < 0:
        raise ValueError("`scores` must be finite and non-negative")
    total = float(totals.sum())
    if total <= 0:
        raise ValueError("`scores` must have a positive sum, got all zeros")
    u = rng.random(m)
    cum = np.cumsum(totals) / total
    blk = np.minimum(np.searchsorted(cum, u, side="right"), len(totals) - 1)
    starts = np.concatenate([[0], np.cumsum(scores.chunks[0])])
    blocks = scores.to_delayed().ravel()
    tasks, owners = [], []
    for b in np.unique(blk):
        lo = cum[b - 1] if b > 0 else 0.0
        width = (cum[b] - lo) or 1.0
        u_local = np.clip((u[blk == b] - lo) / width, 0.0, 1.0)
        tasks.append(dask.delayed(_locate)(blocks[b], u_local))
        owners.append(b)
    local = dask.compute(*tasks)
    draws = np.concatenate([starts[b] + pos for b, pos in zip(owners, local)])
    idx, counts = np.unique(draws, return_counts=True)
    qi = np.asarray(scores[idx].compute(), dtype=np.float64) / total
    weights = counts / (m * qi)
    rows = None
    if A is not None:
        rows = np.asarray(A[idx].compute())
        scale = weights ** (1.0 / p)
        rows = rows * (scale[:, None] if rows.ndim == 2 else scale)
    return RowSample(indices=idx, weights=weights, probabilities=qi, m=m, n=n, replace=True,
                     rows=rows, p=p)
