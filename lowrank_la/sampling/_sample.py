"""Row sampling with unbiased reweighting, and sample sizes from the documented bounds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._backend import get_backend
from .._validation import (
    check_array,
    check_fraction,
    check_int,
    check_option,
    check_positive,
    check_rng,
    check_same_backend,
)
from ._input import check_p, is_scipy_sparse, prepare_matrix

__all__ = ["RowSample", "sample_rows", "sample_size", "combine_scores"]


@dataclass(frozen=True)
class RowSample:
    """A weighted row sample: ``sum_j weights[j] f(indices[j])`` estimates ``sum_i f(i)``.

    Attributes
    ----------
    indices : array of int, shape (k,)
        Distinct sampled rows, increasing (duplicate draws with replacement are merged).
    weights : array, shape (k,)
        Reweighting factors ``w``: ``sum_j w_j |a_{i_j}^T x|^p`` is an unbiased estimate of
        ``||A x||_p^p`` for every p (the rows of the sketch ``S A`` are ``w^{1/p} a_i``).
    probabilities : array, shape (k,)
        With replacement: the per-draw probabilities ``q_i``; without: the inclusion
        probabilities ``pi_i``.
    m : int
        Number of draws (with replacement) or the sample size (without).
    n : int
        Rows of the population.
    replace : bool
    rows : array or None
        ``w^{1/p} a_i`` for the sampled rows when ``sample_rows`` received a matrix.
    p : float
        The p used for ``rows``.
    """

    indices: Any
    weights: Any
    probabilities: Any
    m: int
    n: int
    replace: bool
    rows: Any = None
    p: float = 2.0

    def apply(self, A, p=None):
        """Return the reweighted sampled rows ``w^{1/p} a_i`` of ``A`` (dense or scipy.sparse).

        Parameters
        ----------
        A : array or scipy.sparse matrix, shape (n, ...)
        p : float, optional
            Defaults to the sample's ``p``.

        Returns
        -------
        array or scipy.sparse matrix, shape (k, ...)
        """
        p = self.p if p is None else check_p(p)
        if is_scipy_sparse(A):
            import scipy.sparse

            idx = get_backend(self.indices).to_host(self.indices)
            w = get_backend(self.weights).to_host(self.weights) ** (1.0 / p)
            return scipy.sparse.csr_array(scipy.sparse.csr_array(A)[idx].multiply(w[:, None]))
        bk = check_same_backend(("A", A), ("weights", self.weights))
        xp = bk.xp
        dtype = bk.float_dtype(A)
        X = xp.take(xp.astype(A, dtype), self.indices, axis=0)
        scale = xp.astype(self.weights ** (1.0 / p), dtype)
        return X * (scale[:, None] if X.ndim == 2 else scale)


def _probabilities(bk, scores):
    xp = bk.xp
    q = xp.astype(scores, xp.float64)
    if bool(xp.any(q < 0)):
        raise ValueError("`scores` must be non-negative")
    total = float(xp.sum(q))
    if total <= 0:
        raise ValueError("`scores` must have a positive sum")
    return q / total


def _inclusion_probabilities(bk, q, m):
    """``pi = min(1, c q)`` with ``sum pi = m``: cap the largest at 1, rescale the rest."""
    xp = bk.xp
    qs = xp.sort(q, descending=True)
    head = qs[:m]
    # tail_k = sum_{j >= k} qs_j for k < m
    csum = xp.cumulative_sum(qs)
    total = csum[-1]
    tail = total - xp.concat((xp.zeros((1,), dtype=qs.dtype, device=bk.device), csum[: m - 1]))
    ks = xp.arange(m, dtype=qs.dtype, device=bk.device)
    c = (m - ks) / tail
    ok = c * head <= 1.0 + 1e-12
    k = int(xp.argmax(xp.astype(ok, xp.int8)))  # first k where the uncapped part fits
    return xp.minimum(float(c[k]) * q, xp.ones_like(q))


def sample_rows(A, scores, m, *, p=2.0, replace=True, rng=None):
    """Sample rows with probabilities proportional to ``scores`` and unbiased weights.

    With replacement: ``m`` i.i.d. draws from ``q = scores / sum(scores)``; a row drawn
    ``c`` times gets weight ``c / (m q_i)``.  Without replacement: inclusion probabilities
    ``pi_i = min(1, c q_i)`` with ``sum pi = m`` (the capped rows are always taken), exactly
    ``m`` rows by systematic sampling in a random order, Horvitz-Thompson weights ``1 / pi_i``
    (``numpy.random.choice(replace=False, p=q)`` would draw successively, with inclusion
    probabilities that are not ``m q``, and the weights ``1/(m q)`` would be biased).
    Either way ``E sum_j w_j |a_{i_j}^T x|^p = ||A x||_p^p`` for every ``x`` and ``p``.

    Parameters
    ----------
    A : array, scipy.sparse matrix or None, shape (n, d)
        When given, the reweighted rows ``w^{1/p} a_i`` are returned in ``rows``.
    scores : array, shape (n,)
        Non-negative importance scores (leverage scores, Lewis weights, sensitivities...).
        Rows with score 0 are never drawn.
    m : int
        Draws (with replacement) or sample size (without; at most the number of rows with a
        positive score).
    p : float
        Exponent for ``rows``; the weights themselves do not depend on p.
    replace : bool
    rng : None, int or numpy.random.Generator
        Uniform numbers are drawn on the host and the search runs on the scores' device.

    Returns
    -------
    RowSample
        ``indices``, ``weights``, ``probabilities``, ``rows`` (backend of ``scores``; float64
        weights and probabilities).

    Raises
    ------
    ValueError
        On negative scores, a zero total, ``m < 1``, ``m`` larger than the number of rows with
        positive score without replacement, or a length mismatch with ``A``.

    References
    ----------
    M. B. Cohen, R. Peng, "l_p row sampling by Lewis weights", STOC 2015.  D. G. Horvitz,
    D. J. Thompson, "A generalization of sampling without replacement from a finite universe",
    JASA 47, 1952.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampling import leverage_scores, sample_rows
    >>> A = np.random.default_rng(0).standard_normal((2000, 5))
    >>> s = sample_rows(A, leverage_scores(A), 200, rng=0)
    >>> x = np.ones(5)
    >>> est = np.sum(s.weights * (A[s.indices] @ x) ** 2)
    >>> bool(abs(est / np.sum((A @ x) ** 2) - 1) < 0.3)
    True
    >>> bool(np.allclose(s.rows, np.sqrt(s.weights)[:, None] * A[s.indices]))
    True
    """
    check_array(scores, "scores", ndim=1, dtype_kind="numeric")
    bk = get_backend(scores)
    xp = bk.xp
    n = scores.shape[0]
    m = check_int(m, "m", minimum=1)
    p = check_p(p)
    if not isinstance(replace, bool):
        raise TypeError(f"`replace` must be a bool, got {type(replace).__name__}")
    if A is not None:
        if is_scipy_sparse(A):
            prepare_matrix(A)
        else:
            check_array(A, "A", ndim=(1, 2), dtype_kind="numeric")
            check_same_backend(("A", A), ("scores", scores))
        if A.shape[0] != n:
            raise ValueError(f"`A` must have {n} rows to match `scores`, got shape {tuple(A.shape)}")
    rng = check_rng(rng)
    q = _probabilities(bk, scores)
    if replace:
        u = bk.from_host(rng.random(m))
        cum = xp.cumulative_sum(q)
        cum = cum / cum[-1]
        draws = xp.searchsorted(cum, u, side="right")
        draws = xp.minimum(draws, xp.asarray(n - 1, dtype=draws.dtype, device=bk.device))
        idx, counts = xp.unique_counts(draws)
        qi = xp.take(q, idx, axis=0)
        weights = xp.astype(counts, xp.float64) / (m * qi)
        probs = qi
    else:
        positive = int(xp.sum(xp.astype(q > 0, xp.int64)))
        if m > positive:
            raise ValueError(
                f"`m`={m} exceeds the {positive} rows with a positive score; without "
                "replacement at most that many can be drawn"
            )
        pi = _inclusion_probabilities(bk, q, m)
        perm = bk.from_host(rng.permutation(n))
        cum = xp.cumulative_sum(xp.take(pi, perm, axis=0))
        cum = cum * (m / cum[-1])  # rounding: make the last point u + m - 1 < cum[-1]
        points = bk.from_host(rng.random() + np.arange(m, dtype=np.float64))
        pos = xp.searchsorted(cum, points, side="right")
        pos = xp.minimum(pos, xp.asarray(n - 1, dtype=pos.dtype, device=bk.device))
        idx = xp.sort(xp.take(perm, pos, axis=0))
        probs = xp.take(pi, idx, axis=0)
        weights = 1.0 / probs
    sample = RowSample(indices=idx, weights=weights, probabilities=probs, m=m, n=n,
                       replace=replace, p=p)
    if A is not None:
        sample = RowSample(indices=idx, weights=weights, probabilities=probs, m=m, n=n,
                           replace=replace, rows=sample.apply(A, p), p=p)
    return sample


def combine_scores(*scores, coefficients=None):
    """Mixture ``sum_k c_k s_k / sum(s_k)`` of normalized score vectors.

    Woodruff and Yasuda's scheme for ``p > 2`` samples from an even mixture of leverage scores
    and l_p sensitivities (or their Lewis bounds); a mixture with uniform scores keeps every
    probability positive.

    Parameters
    ----------
    *scores : arrays, shape (n,)
        Non-negative, each with a positive sum, one backend.
    coefficients : sequence of float, optional
        Non-negative mixture weights; default equal.  Normalized to sum 1.

    Returns
    -------
    array, shape (n,)
        Sums to 1 (float64).

    Raises
    ------
    ValueError
        On no scores, different lengths, negative entries or coefficients.

    References
    ----------
    D. P. Woodruff, T. Yasuda, "Sharper bounds for l_p sensitivity sampling", ICML 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampling import combine_scores
    >>> combine_scores(np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    array([0.75, 0.25])
    """
    if not scores:
        raise ValueError("`scores` must hold at least one score vector")
    for i, s in enumerate(scores):
        check_array(s, f"scores[{i}]", ndim=1, dtype_kind="numeric")
        if s.shape != scores[0].shape:
            raise ValueError(
                f"`scores[{i}]` has shape {tuple(s.shape)}, expected {tuple(scores[0].shape)}"
            )
    bk = check_same_backend(*((f"scores[{i}]", s) for i, s in enumerate(scores)))
    if coefficients is None:
        coefficients = [1.0] * len(scores)
    if len(coefficients) != len(scores):
        raise ValueError(f"`coefficients` must have {len(scores)} entries, got {len(coefficients)}")
    c = np.array([float(x) for x in coefficients])
    if np.any(c < 0) or c.sum() <= 0:
        raise ValueError(f"`coefficients` must be non-negative with a positive sum, got {c}")
    c = c / c.sum()
    return sum(ci * _probabilities(bk, s) for ci, s in zip(c, scores))


_SCHEMES = ("leverage", "lewis", "sensitivity")


def sample_size(d, eps, delta=0.1, *, scheme="leverage", p=2.0, beta=1.0, total=None):
    """Number of samples suggested by the sampling bounds for distortion ``eps``.

    ``"leverage"`` (l_2, scores ``q_i >= beta t_i / d``): the matrix Chernoff bound
    ``3 d ln(2 d / delta) / (beta eps^2)``, a derived constant: then every eigenvalue of
    ``U^T S^T S U`` lies in ``[1 - eps, 1 + eps]`` with probability ``>= 1 - delta``.
    The others are the published orders of growth with constant 1 (the papers do not give
    usable constants): ``"lewis"`` (Cohen-Peng, Table 1): ``d log(d/eps) / eps^2`` for
    ``p = 1``, times ``log(log d)^2`` for ``1 < p < 2``, ``d^{p/2} log d / eps^5`` for
    ``p > 2``; ``"sensitivity"`` with total sensitivity ``total`` (generic):
    ``total (d log total + log(1/delta)) / eps^2``.

    Parameters
    ----------
    d : int
        Rank (columns of a full-rank A).
    eps : float in (0, 1)
    delta : float in (0, 1)
    scheme : {"leverage", "lewis", "sensitivity"}
    p : float
        For ``"lewis"``.
    beta : float in (0, 1]
        Under-estimation factor of approximate leverage scores.
    total : float, optional
        Total sensitivity, required for ``"sensitivity"``.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        On parameters out of range, or ``total`` missing for ``"sensitivity"``.

    References
    ----------
    J. A. Tropp, "User-friendly tail bounds for sums of random matrices", FoCM 12, 2012.
    M. B. Cohen, R. Peng, "l_p row sampling by Lewis weights", STOC 2015.  D. Feldman,
    M. Langberg, "A unified framework for approximating and clustering data", STOC 2011.

    Examples
    --------
    >>> from lowrank_la.sampling import sample_size
    >>> sample_size(20, 0.5, 0.1)
    1438
    """
    d = check_int(d, "d", minimum=1)
    eps = check_fraction(eps, "eps")
    delta = check_fraction(delta, "delta")
    check_option(scheme, "scheme", set(_SCHEMES))
    p = check_p(p)
    beta = check_fraction(beta, "beta", closed=True)
    if beta == 0:
        raise ValueError("`beta` must be positive, got 0.0")
    if scheme == "leverage":
        m = 3 * d * math.log(2 * d / delta) / (beta * eps**2)
    elif scheme == "lewis":
        if p <= 1:
            m = d * math.log(d / eps + 1) / eps**2
        elif p < 2:
            m = d * math.log(d / eps + 1) * max(1.0, math.log(math.log(d + 2))) ** 2 / eps**2
        elif p == 2:
            m = 3 * d * math.log(2 * d / delta) / (beta * eps**2)
        else:
            m = d ** (p / 2) * max(1.0, math.log(d)) / eps**5
    else:
        if total is None:
            raise ValueError("`total` (the total sensitivity) is required for scheme='sensitivity'")
        total = check_positive(total, "total")
        m = total * (d * math.log(max(total, 2.0)) + math.log(1 / delta)) / eps**2
    return int(math.ceil(m))
