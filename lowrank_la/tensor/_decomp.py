"""Tucker decompositions: HOSVD, sequentially truncated HOSVD and HOOI (plus randomized bases).

Ranks come from an explicit shape (``rank``), a relative error tolerance (``rtol``: every mode
may drop ``rtol^2 ||X||^2 / N`` of energy, so the error bound ``sum_n tail_n`` guarantees
``||X - X^|| <= rtol ||X||``) or a parameter budget (``budget``: the core shape chosen by
:func:`select_core_shape` with the packing method).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from .._backend import get_backend
from .._result import History, Result, warn_not_converged
from .._validation import check_int, check_nonnegative, check_option, check_rng
from ..linalg._tensor_ops import _mode_product, _multi, unfold
from ._spectra import (
    _as_float,
    _check_rank_args,
    _check_tensor,
    _gram_eigh,
    _leading,
    _pad,
    _rank_for_tail,
    _resolve_shape,
    _sign_fix,
)
from ._tucker import TuckerTensor

__all__ = ["hosvd", "st_hosvd", "hooi"]

logger = logging.getLogger("lowrank_la")


def _prepare(X):
    _check_tensor(X)
    bk = get_backend(X)
    return bk, _as_float(bk, X)


def _norm2(bk, X):
    return float(bk.to_host(bk.xp.sum(X * X)))


def _budget_shape(bk, X, budget, spectra_cache):
    from ._selection import _select_from_spectra

    s2 = []
    for n in range(X.ndim):
        s2n, V = _gram_eigh(bk, unfold(X, n))
        spectra_cache[n] = V
        s2.append(_pad(s2n, X.shape[n]))
    return _select_from_spectra(tuple(X.shape), s2, budget, method="packing").shape


def _randomized_basis(bk, M, r, oversample, n_power_iter, rng):
    """``r`` orthonormal columns spanning (approximately) the dominant range of ``M``."""
    from ..linalg import randomized_range_finder

    k = min(r + oversample, min(M.shape))
    Q = randomized_range_finder(M, k, n_power_iter=n_power_iter, rng=rng)
    _, W = _gram_eigh(bk, Q.T @ M)  # rotate Q to the singular directions of M within its span
    # fewer than r columns when the unfolding has rank < r: _leading completes the basis
    return _leading(bk, Q @ W, r)


def _check_randomized(randomized, rank, oversample, n_power_iter, rng):
    if not randomized:
        return None
    if rank is None:
        raise ValueError(
            "`randomized=True` needs an explicit `rank`: `rtol` and `budget` use the exact mode "
            "spectra, which cost as much as the deterministic decomposition"
        )
    check_int(oversample, "oversample", minimum=0)
    check_int(n_power_iter, "n_power_iter", minimum=0)
    return check_rng(rng)


def hosvd(X, rank=None, *, rtol=None, budget=None, randomized=False, oversample=10,
          n_power_iter=1, rng=None):
    """Truncated higher-order SVD (HOSVD): ``U_n`` = leading left singular vectors of ``X_(n)``.

    Parameters
    ----------
    X : array, shape (I_1, ..., I_N), N >= 2
        Finite real tensor (NumPy, CuPy, torch or array-API array).
    rank : int or sequence of int, optional
        Core shape ``(r_1, ..., r_N)`` with ``1 <= r_n <= I_n`` (an int means equal ranks).
    rtol : float in (0, 1), optional
        Relative error target: the ranks are the smallest with mode tails
        ``<= rtol^2 ||X||^2 / N``, which guarantees ``||X - X^|| <= rtol ||X||``.
    budget : int, optional
        Parameter budget: the core shape from ``select_core_shape(X, budget)`` (packing).
    randomized : bool
        Randomized range finder per mode (Halko-Martinsson-Tropp) instead of the exact mode
        Gram matrices; needs ``rank``.
    oversample, n_power_iter : int
        Randomized basis size ``r_n + oversample`` and power iterations.
    rng : None, int or numpy.random.Generator
        Seed for the randomized bases.

    Returns
    -------
    TuckerTensor
        Orthonormal factors; core ``X x_1 U_1ᵀ ... x_N U_Nᵀ``.  float32 input gives float32.

    Raises
    ------
    ValueError
        Unless exactly one of ``rank``, ``rtol``, ``budget`` is given; for order < 2, NaN/inf,
        ``r_n > I_n`` or a budget below ``1 + sum(I_n)``.

    References
    ----------
    L. De Lathauwer, B. De Moor, J. Vandewalle, "A multilinear singular value decomposition",
    SIAM J. Matrix Anal. Appl. 21(4), 2000.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.tensor import hosvd, lowrank_tensor
    >>> X = lowrank_tensor((20, 15, 10), (3, 4, 2), rng=0)
    >>> T = hosvd(X, (3, 4, 2))
    >>> T.rank, T.relative_error(X) < 1e-12
    ((3, 4, 2), True)
    """
    bk, X = _prepare(X)
    shape = tuple(X.shape)
    ranks = _check_rank_args(rank, rtol, budget, shape)
    rng = _check_randomized(randomized, rank, oversample, n_power_iter, rng)
    N = X.ndim
    if randomized:
        factors = [_randomized_basis(bk, unfold(X, n), ranks[n], oversample, n_power_iter, rng)
                   for n in range(N)]
    else:
        bases = {}
        if budget is not None:
            ranks = _budget_shape(bk, X, budget, bases)
        allowed = None if rtol is None else rtol**2 * _norm2(bk, X) / N
        chosen = []
        for n in range(N):
            if n not in bases or rtol is not None:
                s2, bases[n] = _gram_eigh(bk, unfold(X, n))
            chosen.append(ranks[n] if rtol is None else
                          min(_rank_for_tail(_pad(s2, shape[n]), allowed), shape[n]))
        ranks = tuple(chosen)
        factors = [_leading(bk, bases[n], ranks[n]) for n in range(N)]
    core = _multi(bk.xp, X, factors, range(N), True)
    return TuckerTensor(core, factors)


def _st_order(shape, ranks, order):
    N = len(shape)
    if order is None:
        if ranks is None:
            return list(range(N))
        # largest reduction first: the later unfoldings are smallest
        return sorted(range(N), key=lambda n: ranks[n] / shape[n])
    order = [check_int(o, "order", minimum=0, maximum=N - 1) for o in order]
    if sorted(order) != list(range(N)):
        raise ValueError(f"`order` must be a permutation of the modes 0..{N - 1}, got {order}")
    return order


def st_hosvd(X, rank=None, *, rtol=None, budget=None, order=None, randomized=False,
             oversample=10, n_power_iter=1, rng=None):
    """Sequentially truncated HOSVD: each factor from the already truncated core.

    For each mode ``n`` in ``order``, ``U_n`` holds the leading left singular vectors of the
    unfolding of the current core, which is truncated in that mode at once.  Cheaper than
    :func:`hosvd` and usually slightly more accurate; the same error bound holds.

    Parameters
    ----------
    X : array, shape (I_1, ..., I_N), N >= 2
    rank : int or sequence of int, optional
        Core shape.
    rtol : float in (0, 1), optional
        Relative error target (each step drops at most ``rtol^2 ||X||^2 / N``).
    budget : int, optional
        Parameter budget; shape from :func:`select_core_shape` (packing).
    order : sequence of int, optional
        Mode processing order; default: largest reduction ``I_n / r_n`` first.
    randomized : bool
        Randomized range finder per mode on the shrinking core; needs ``rank``.
    oversample, n_power_iter : int
    rng : None, int or numpy.random.Generator

    Returns
    -------
    TuckerTensor

    Raises
    ------
    ValueError
        As :func:`hosvd`, or if ``order`` is not a permutation of the modes.

    References
    ----------
    N. Vannieuwenhoven, R. Vandebril, K. Meerbergen, "A new truncation strategy for the higher-
    order singular value decomposition", SIAM J. Sci. Comput. 34(2), 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.tensor import st_hosvd, uneven_tensor
    >>> X = uneven_tensor((20, 20, 20), (1.0, 3.0, 9.0), noise=0.0, rng=0)
    >>> T = st_hosvd(X, rtol=0.01)
    >>> T.rank[0] < T.rank[2], T.relative_error(X) <= 0.01
    (True, True)
    """
    bk, X = _prepare(X)
    shape = tuple(X.shape)
    ranks = _check_rank_args(rank, rtol, budget, shape)
    rng = _check_randomized(randomized, rank, oversample, n_power_iter, rng)
    N = X.ndim
    if budget is not None:
        ranks = _budget_shape(bk, X, budget, {})
    order = _st_order(shape, ranks, order)
    allowed = None if rtol is None else rtol**2 * _norm2(bk, X) / N
    factors = [None] * N
    Y = X
    for n in order:
        if randomized:
            U = _randomized_basis(bk, unfold(Y, n), ranks[n], oversample, n_power_iter, rng)
        else:
            s2, V = _gram_eigh(bk, unfold(Y, n))
            r = ranks[n] if rtol is None else min(_rank_for_tail(_pad(s2, shape[n]), allowed),
                                                  shape[n])
            U = _leading(bk, V, r)
        factors[n] = U
        Y = _mode_product(bk.xp, Y, U, n, True)
    return TuckerTensor(Y, factors)


def _init_factors(bk, X, init, rank, rtol, budget):
    if isinstance(init, TuckerTensor) or not isinstance(init, str):
        factors = list(init.factors if isinstance(init, TuckerTensor) else init)
        if len(factors) != X.ndim:
            raise ValueError(f"`init` must hold {X.ndim} factors, got {len(factors)}")
        for n, U in enumerate(factors):
            if U.ndim != 2 or U.shape[0] != X.shape[n]:
                raise ValueError(
                    f"`init` factor {n} of shape {tuple(U.shape)} does not match mode size "
                    f"{X.shape[n]}"
                )
        get_backend(X, *factors)
        init_rank = tuple(int(U.shape[1]) for U in factors)
        if any(v is not None for v in (rtol, budget)):
            raise ValueError("a warm start `init` fixes the ranks: do not pass `rtol` or `budget`")
        if rank is not None and _resolve_shape(rank, X.shape) != init_rank:
            raise ValueError(f"`rank` {rank} differs from the warm start's ranks {init_rank}")
        _resolve_shape(init_rank, X.shape)
        # orthonormalize: HOOI's monotonicity argument needs orthonormal factors
        return [_sign_fix(bk, bk.linalg.qr(bk.xp.astype(U, X.dtype))[0]) for U in factors]
    init = check_option(init, "init", ("st_hosvd", "hosvd"))
    start = (st_hosvd if init == "st_hosvd" else hosvd)(X, rank, rtol=rtol, budget=budget)
    return list(start.factors)


def hooi(X, rank=None, *, rtol=None, budget=None, init="st_hosvd", tol=1e-8, maxiter=50,
         callback=None, verbose=False):
    """Higher-order orthogonal iteration: alternating optimal factor updates for fixed ranks.

    Each sweep sets, for every mode ``n``, ``Y = X x_{m != n} U_mᵀ`` (most reducing modes
    first) and ``U_n`` = leading ``r_n`` left singular vectors of ``Y_(n)``; each update maximizes
    ``||G||`` with the other factors fixed, so the error ``||X||^2 - ||G||^2`` never increases.

    Parameters
    ----------
    X : array, shape (I_1, ..., I_N), N >= 2
    rank, rtol, budget
        How the ranks are chosen (exactly one; see :func:`hosvd`), unless ``init`` is a warm
        start, which fixes them.
    init : {"st_hosvd", "hosvd"}, TuckerTensor or sequence of factor matrices
        Starting factors (a warm start is re-orthonormalized).
    tol : float
        Stop when a sweep decreases ``||X - X^||^2`` by less than ``tol ||X||^2``.
    maxiter : int
        Maximum number of sweeps.
    callback : callable, optional
        ``callback(state)`` after every sweep with a :class:`~lowrank_la.Result` holding ``nit``,
        ``tucker`` and ``error``; raising ``StopIteration`` stops and returns the result so far.
    verbose : bool
        Log one line per sweep to ``logging.getLogger("lowrank_la")`` (INFO).

    Returns
    -------
    Result
        ``tucker`` (:class:`TuckerTensor`), ``error`` (relative error from
        ``sqrt(||X||^2 - ||G||^2) / ||X||``: exact in exact arithmetic, but use
        ``tucker.relative_error(X)`` below ~1e-7), ``success``, ``status`` (0 converged,
        1 ``maxiter`` reached, 2 stopped by the callback), ``message``, ``nit`` and ``history``
        (``error`` and ``time`` per sweep; entry 0 is the start).

    Raises
    ------
    ValueError
        As :func:`hosvd`; for an ``init`` that does not match ``X``; negative ``tol``.

    Warns
    -----
    ConvergenceWarning
        When ``maxiter`` sweeps do not reach ``tol``.

    References
    ----------
    L. De Lathauwer, B. De Moor, J. Vandewalle, "On the best rank-1 and rank-(R1, R2, ..., RN)
    approximation of higher-order tensors", SIAM J. Matrix Anal. Appl. 21(4), 2000.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.tensor import hooi, uneven_tensor
    >>> X = uneven_tensor((15, 15, 15), (1.0, 2.0, 4.0), noise=0.01, rng=0)
    >>> res = hooi(X, (3, 4, 6))
    >>> res.success, res.history["error"][-1] <= res.history["error"][0]
    (True, True)
    """
    bk, X = _prepare(X)
    tol = check_nonnegative(tol, "tol")
    maxiter = check_int(maxiter, "maxiter", minimum=0)
    if callback is not None and not callable(callback):
        raise TypeError(f"`callback` must be callable, got {type(callback).__name__}")
    if isinstance(init, str):
        _check_rank_args(rank, rtol, budget, tuple(X.shape))
    t0 = time.perf_counter()
    factors = _init_factors(bk, X, init, rank, rtol, budget)
    xp, N = bk.xp, X.ndim
    ranks = [int(U.shape[1]) for U in factors]
    nx2 = _norm2(bk, X)
    if nx2 == 0.0:
        raise ValueError("`X` is zero: nothing to decompose")
    core = _multi(xp, X, factors, range(N), True)
    err2 = nx2 - _norm2(bk, core)
    history = History()
    history.record(error=math.sqrt(max(err2, 0.0) / nx2), time=time.perf_counter() - t0)
    status, nit = (1 if maxiter > 0 else 0), 0
    # sweep order: the mode updated last yields the core, so put the most reducing mode last
    modes = sorted(range(N), key=lambda n: -ranks[n] / X.shape[n])
    while nit < maxiter:
        for n in modes:
            Y = _multi(xp, X, factors, [m for m in range(N) if m != n], True)
            _, V = _gram_eigh(bk, unfold(Y, n))
            factors[n] = _leading(bk, V, ranks[n])
        core = _mode_product(xp, Y, factors[modes[-1]], modes[-1], True)
        nit += 1
        new_err2 = nx2 - _norm2(bk, core)
        decrease = err2 - new_err2
        err2 = new_err2
        rel = math.sqrt(max(err2, 0.0) / nx2)
        history.record(error=rel, time=time.perf_counter() - t0)
        if verbose:
            logger.info("hooi sweep %d: relative error %.6g", nit, rel)
        if callback is not None:
            try:
                callback(Result(nit=nit, tucker=TuckerTensor(core, list(factors)), error=rel))
            except StopIteration:
                status = 2
                break
        if decrease <= tol * nx2:
            status = 0
            break
    messages = {0: f"converged: sweep decrease below tol={tol:g} of ||X||^2",
                1: f"maxiter={maxiter} sweeps reached before the decrease fell below tol={tol:g}",
                2: "stopped by the callback"}
    if status == 1:
        warn_not_converged(f"hooi: {messages[1]}")
    return Result(
        tucker=TuckerTensor(core, factors),
        error=float(np.sqrt(max(err2, 0.0) / nx2)),
        success=status != 1,
        status=status,
        message=messages[status] if maxiter > 0 else "maxiter=0: the starting decomposition",
        nit=nit,
        history=history,
    )
