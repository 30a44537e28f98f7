"""Time-stepping drivers: :class:`DLRAIntegrator` and the functions ``ksl``, ``bug``, ``ra_bug``,
``parallel_bug`` built on it."""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from .._backend import get_backend
from .._result import History, Result
from .._validation import check_int, check_nonnegative, check_option, check_rng
from ..linalg import LowRankMatrix
from ._factors import Factors, ct, fro, host_singular_values, is_complex, orth
from ._problem import MatrixODE
from ._steps import bug_step, ksl_step, parallel_bug_step, ra_bug_step
from ._substep import SOLVERS

__all__ = ["DLRAIntegrator", "integrate", "ksl", "bug", "ra_bug", "parallel_bug", "METHODS"]

logger = logging.getLogger("lowrank_la")

METHODS = ("ksl", "ksl2", "bug", "ra_bug", "parallel_bug")


def _as_factors(Y0, name="Y0"):
    """Orthonormal factors ``(U, S, V)`` of the initial value (LowRankMatrix or a triple)."""
    if isinstance(Y0, LowRankMatrix):
        bk = Y0.backend
        U, V, core = Y0.U, Y0.V, Y0.core
        r = int(U.shape[1])
        if core is None:
            core = bk.xp.eye(r, dtype=U.dtype, device=bk.device)
        elif core.ndim == 1:
            core = bk.xp.eye(r, dtype=U.dtype, device=bk.device) * core[None, :]
        U, S, V = U, core, V  # real: Vᵀ = Vᴴ
    elif isinstance(Y0, (tuple, list)) and len(Y0) == 3:
        U, S, V = Y0
        for nm, X in (("U", U), ("S", S), ("V", V)):
            if not (hasattr(X, "shape") and hasattr(X, "dtype")) or len(X.shape) != 2:
                raise TypeError(f"`{name}` factor {nm} must be a 2-d array, got {X!r:.60}")
        bk = get_backend(U, S, V)
        if S.shape != (U.shape[1], V.shape[1]):
            raise ValueError(f"`{name}` factors do not fit: U {tuple(U.shape)}, S "
                             f"{tuple(S.shape)}, V {tuple(V.shape)}")
    else:
        raise TypeError(f"`{name}` must be a LowRankMatrix or a (U, S, V) triple with "
                        f"Y0 = U S Vᴴ, got {type(Y0).__name__}")
    xp = bk.xp
    for nm, X in (("U", U), ("S", S), ("V", V)):
        if not xp.isdtype(X.dtype, ("real floating", "complex floating")):
            raise TypeError(f"`{name}` factor {nm} must be floating point, got {X.dtype}")
        if not bool(xp.all(xp.isfinite(X))):
            raise ValueError(f"`{name}` factor {nm} must not contain NaN or inf")
    dtype = xp.result_type(U, S, V)
    U, S, V = (xp.astype(X, dtype) for X in (U, S, V))
    Qu, Ru = orth(U)
    Qv, Rv = orth(V)
    return Factors(Qu, Ru @ S @ ct(Rv), Qv)


def _set_rank(Y, rank, rng):
    """Truncate (SVD of the core) or pad (random orthonormal directions, zero core) to ``rank``."""
    U, S, V = Y
    r = int(S.shape[0])
    if rank == r and S.shape[1] == r:
        return Y
    bk = get_backend(U)
    xp = bk.xp
    from ._steps import truncate_core

    if rank <= min(S.shape):
        return truncate_core(U, S, V, rank=rank)
    Y = truncate_core(U, S, V, rank=min(S.shape))
    U, S, V = Y
    r = int(S.shape[0])
    gen = check_rng(rng)
    extra = rank - r
    real = xp.float64 if U.dtype in (xp.float64, xp.complex128) else xp.float32
    Ur = bk.random_normal(gen, (U.shape[0], extra), real)
    Vr = bk.random_normal(gen, (V.shape[0], extra), real)
    Ur, Vr = xp.astype(Ur, U.dtype), xp.astype(Vr, V.dtype)
    Ur = Ur - U @ (ct(U) @ Ur)
    Vr = Vr - V @ (ct(V) @ Vr)
    Un = orth(xp.concat((U, Ur), axis=1))[0]
    Vn = orth(xp.concat((V, Vr), axis=1))[0]
    Sn = xp.zeros((rank, rank), dtype=S.dtype, device=bk.device)
    Sn = (ct(Un) @ U) @ S @ (ct(V) @ Vn) + Sn
    return Factors(Un, Sn, Vn)


class DLRAIntegrator:
    """Stepping object for dynamical low-rank integration of ``dA/dt = F(t, A)``.

    Parameters
    ----------
    problem : MatrixODE
        The right-hand side (products with factors), see :class:`MatrixODE`.
    Y0 : LowRankMatrix or (U, S, V)
        Initial value; a triple means ``Y0 = U S Vᴴ`` (complex allowed).
    method : {"ksl", "ksl2", "bug", "ra_bug", "parallel_bug"}
        Projector splitting Lie / Strang, fixed-rank BUG, rank-adaptive BUG, parallel BUG.
    h : float
        Step size (> 0); the last step is shortened to end exactly at the final time.
    t0 : float
        Initial time.
    rank : int, optional
        Working rank of fixed-rank methods (default: the rank of ``Y0``; padding with random
        directions uses ``rng``).  For ``parallel_bug`` without ``tol``/``rtol`` it is the rank
        kept after each truncation.
    tol, rtol : float, optional
        Truncation tolerance of the adaptive methods: discarded tail ``<= max(tol, rtol ||Y||)``.
    max_rank, min_rank : int, optional
        Rank bounds of the adaptive methods.
    solver : {"auto", "rk4", "expm", "solve_ivp"}
        Sub-step solver (see :func:`k_step`); ``expm`` and ``solve_ivp`` need NumPy arrays.
    nsub : int
        Solver steps per sub-flow.
    options : dict, optional
        ``solve_ivp`` keyword arguments.
    reference : callable ``t -> array``, optional
        Dense reference solution; its Frobenius distance is recorded in the history.
    rng : int or Generator, optional
        For padding ``Y0`` to ``rank``.
    reject : float, optional
        Parallel BUG with a tolerance: repeat a step with enlarged bases when its error
        indicator exceeds ``reject * θ`` (see :func:`parallel_bug_step`).

    Raises
    ------
    ValueError, TypeError
        Invalid arguments (non-positive ``h``, ``rank`` above ``min(m, n)``, shapes of
        ``problem`` and ``Y0`` that differ, unknown method or solver, ...).

    References
    ----------
    .. [1] C. Lubich, I. V. Oseledets, BIT 54 (2014); G. Ceruti, C. Lubich, BIT 62 (2022);
       G. Ceruti, J. Kusch, C. Lubich, BIT 62 (2022) and SIAM J. Sci. Comput. 46 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la import LowRankMatrix
    >>> from lowrank_la.dlra import DLRAIntegrator, LinearMatrixODE
    >>> L = np.diag(-np.arange(5.0))
    >>> ode = LinearMatrixODE([(L, None), (None, L)])
    >>> Y0 = LowRankMatrix(np.ones((5, 1)), None, np.ones((5, 1)))
    >>> it = DLRAIntegrator(ode, Y0, method="ksl", h=0.1)
    >>> it.advance(0.5).t
    0.5
    >>> exact = np.exp(np.add.outer(-np.arange(5.0), -np.arange(5.0)) * 0.5)
    >>> bool(np.allclose(it.factors.to_dense(), exact))
    True
    """

    def __init__(self, problem, Y0, *, method="bug", h, t0=0.0, rank=None, tol=None, rtol=None,
                 max_rank=None, min_rank=1, solver="auto", nsub=1, options=None,
                 reference=None, rng=None, reject=None):
        if not isinstance(problem, MatrixODE):
            raise TypeError(f"`problem` must be a MatrixODE, got {type(problem).__name__}")
        self.method = check_option(method, "method", METHODS)
        h = _finite_float(h, "h")
        if h <= 0:
            raise ValueError(f"`h` must be positive, got {h}")
        self.h = h
        self.t = _finite_float(t0, "t0")
        check_option(solver, "solver", SOLVERS)
        self.nsub = check_int(nsub, "nsub", minimum=1)
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"`options` must be a dict, got {type(options).__name__}")
        if reference is not None and not callable(reference):
            raise TypeError(f"`reference` must be callable, got {type(reference).__name__}")
        Y = _as_factors(Y0)
        if Y.shape != problem.shape:
            raise ValueError(f"`Y0` has shape {Y.shape} but `problem` has shape "
                             f"{problem.shape} (mismatched shapes)")
        m, n = problem.shape
        for nm, val in (("rank", rank), ("max_rank", max_rank)):
            if val is not None:
                check_int(val, nm, minimum=1)
                if val > min(m, n):
                    raise ValueError(f"`{nm}` must be at most min(m, n) = {min(m, n)}, got {val}")
        self.min_rank = check_int(min_rank, "min_rank", minimum=1)
        self.tol = None if tol is None else check_nonnegative(tol, "tol")
        self.rtol = None if rtol is None else check_nonnegative(rtol, "rtol")
        if self.method == "ra_bug" and tol is None and rtol is None:
            raise ValueError("method 'ra_bug' needs a truncation tolerance `tol` or `rtol`")
        if self.method != "ra_bug" and self.method != "parallel_bug" and (
                tol is not None or rtol is not None):
            raise ValueError(f"`tol`/`rtol` apply to the adaptive methods, not {method!r}")
        if self.method == "ra_bug" or (self.method == "parallel_bug" and (
                tol is not None or rtol is not None)):
            self.rank = rank
        else:
            self.rank = int(Y.S.shape[0]) if rank is None else rank
        self.max_rank = max_rank
        if reject is not None:
            reject = check_nonnegative(reject, "reject")
            if self.method != "parallel_bug" or (tol is None and rtol is None):
                raise ValueError("`reject` applies to method 'parallel_bug' with `tol`/`rtol`")
        self.reject = reject
        if self.rank is not None:
            Y = _set_rank(Y, self.rank, rng)
        self.problem = problem
        self.factors = Y
        self.sub = {"solver": solver, "nsub": self.nsub, "options": options}
        self.reference = reference
        self.history = History()
        self.nit = 0
        self._record(0.0, None)

    # -- state ---------------------------------------------------------------------------

    @property
    def Y(self):
        """The current iterate as a :class:`~lowrank_la.LowRankMatrix` (real data), else the
        :class:`Factors` ``(U, S, V)`` with ``Y = U S Vᴴ``."""
        U, S, V = self.factors
        if is_complex(U):
            return self.factors
        return LowRankMatrix(U, S, V, orthonormal=True)

    @property
    def rank_now(self) -> int:
        return int(self.factors.S.shape[0])

    def _record(self, wall, eta):
        U, S, V = self.factors
        metrics = {"t": self.t, "rank": self.rank_now, "sv": host_singular_values(S),
                   "norm": fro(S), "wall": wall}
        if eta is not None:
            metrics["eta"] = eta
            metrics["rejected"] = getattr(self, "_rejected", 0)
        if self.reference is not None:
            ref = self.reference(self.t)
            diff = self.factors.to_dense() - ref
            metrics["error"] = fro(diff)
            metrics["rel_error"] = metrics["error"] / max(fro(ref), np.finfo(float).tiny)
        self.history.record(**metrics)

    # -- stepping ------------------------------------------------------------------------

    def step(self, h=None):
        """Advance by one step (``h`` defaults to the integrator's step size)."""
        h = self.h if h is None else h
        t0, t1 = self.t, self.t + h
        start = time.perf_counter()
        eta = None
        m, sub = self.method, self.sub
        if m == "ksl":
            Y = ksl_step(self.problem, self.factors, t0, t1, order=1, **sub)
        elif m == "ksl2":
            Y = ksl_step(self.problem, self.factors, t0, t1, order=2, **sub)
        elif m == "bug":
            Y = bug_step(self.problem, self.factors, t0, t1, **sub)
        elif m == "ra_bug":
            Y = ra_bug_step(self.problem, self.factors, t0, t1, tol=self.tol, rtol=self.rtol,
                            max_rank=self.max_rank, min_rank=self.min_rank, **sub)
        else:
            fixed = self.rank if (self.tol is None and self.rtol is None) else None
            info = {}
            Y, eta = parallel_bug_step(self.problem, self.factors, t0, t1, rank=fixed,
                                       tol=self.tol, rtol=self.rtol, max_rank=self.max_rank,
                                       min_rank=self.min_rank, reject=self.reject, info=info,
                                       **sub)
            self._rejected = info.get("rejected", 0)
        self.factors = Y
        self.t = t1
        self.nit += 1
        self._record(time.perf_counter() - start, eta)
        logger.debug("dlra %s step %d: t=%g rank=%d", m, self.nit, self.t, self.rank_now)
        return self

    def advance(self, t_end, callback=None, verbose=False):
        """Step until ``t_end`` (the last step shortened to land on it); returns ``self``.

        ``callback(integrator)`` runs after every step and may raise ``StopIteration``.
        """
        t_end = _finite_float(t_end, "t_end")
        if t_end < self.t:
            raise ValueError(f"`t_end` must be >= the current time {self.t}, got {t_end}")
        span = t_end - self.t
        nsteps = max(0, math.ceil(span / self.h - 1e-9))
        start_t = self.t
        for i in range(nsteps):
            target = t_end if i == nsteps - 1 else start_t + (i + 1) * self.h
            self.step(target - self.t)
            if verbose:
                logger.info("dlra %s: step %d/%d, t=%g, rank %d", self.method, i + 1, nsteps,
                            self.t, self.rank_now)
            if callback is not None:
                try:
                    callback(self)
                except StopIteration:
                    self.stopped = True
                    break
        return self

    def result(self) -> Result:
        """The current state as a :class:`~lowrank_la.Result`."""
        U, S, V = self.factors
        stopped = getattr(self, "stopped", False)
        return Result(Y=self.Y, U=U, S=S, V=V, t=self.t, rank=self.rank_now, success=True,
                      status=1 if stopped else 0,
                      message="stopped by callback" if stopped else
                      f"integrated to t = {self.t:g} in {self.nit} steps",
                      nit=self.nit, history=self.history)


def _finite_float(x, name):
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a real number, got {type(x).__name__}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"`{name}` must be finite, got {x}")
    return x


def integrate(problem, Y0, t_span, h, *, method="bug", callback=None, verbose=False, **kwargs):
    """Integrate ``dA/dt = F(t, A)`` on the low-rank manifold over ``t_span``.

    Parameters
    ----------
    problem : MatrixODE
    Y0 : LowRankMatrix or (U, S, V)
        Initial value (``Y0 = U S Vᴴ`` for a triple; complex allowed).
    t_span : (float, float)
        ``(t0, t_end)`` with ``t_end >= t0``.
    h : float
        Step size.
    method : {"ksl", "ksl2", "bug", "ra_bug", "parallel_bug"}
    callback : callable, optional
        ``callback(integrator)`` after each step; may raise ``StopIteration``.
    verbose : bool
        Log progress on the ``lowrank_la`` logger.
    **kwargs
        ``rank``, ``tol``, ``rtol``, ``max_rank``, ``min_rank``, ``solver``, ``nsub``,
        ``options``, ``reference``, ``rng`` (see :class:`DLRAIntegrator`).

    Returns
    -------
    Result
        ``Y`` (LowRankMatrix for real data, :class:`Factors` for complex), ``U``, ``S``, ``V``
        (``Y = U S Vᴴ``, orthonormal ``U``, ``V``), ``t``, ``rank``, ``success``, ``status``,
        ``message``, ``nit`` and ``history`` with per-step ``t``, ``rank``, ``sv`` (singular
        values of ``S``), ``norm`` (``||Y||_F``), ``wall`` (seconds), ``eta`` and ``rejected``
        (parallel BUG's error indicator and rejected attempts), ``error``/``rel_error`` (with
        ``reference``).

    Raises
    ------
    ValueError, TypeError
        Invalid arguments; non-finite values produced by ``F``.

    References
    ----------
    .. [1] C. Lubich, I. V. Oseledets, BIT 54 (2014); G. Ceruti, C. Lubich, BIT 62 (2022);
       G. Ceruti, J. Kusch, C. Lubich, BIT 62 (2022) and SIAM J. Sci. Comput. 46 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la import LowRankMatrix
    >>> from lowrank_la.dlra import LinearMatrixODE, integrate
    >>> L = np.diag(-np.arange(4.0))
    >>> ode = LinearMatrixODE([(L, None), (None, L)])
    >>> Y0 = LowRankMatrix(np.ones((4, 1)), None, np.ones((4, 1)))
    >>> res = integrate(ode, Y0, (0.0, 1.0), 0.25, method="bug")
    >>> res.nit, res.rank
    (4, 1)
    """
    if not isinstance(t_span, (tuple, list)) or len(t_span) != 2:
        raise ValueError(f"`t_span` must be a pair (t0, t_end), got {t_span!r}")
    t0 = _finite_float(t_span[0], "t_span[0]")
    t1 = _finite_float(t_span[1], "t_span[1]")
    if t1 < t0:
        raise ValueError(f"`t_span` must have t_end >= t0, got {t_span!r}")
    it = DLRAIntegrator(problem, Y0, method=method, h=h, t0=t0, **kwargs)
    it.advance(t1, callback=callback, verbose=verbose)
    return it.result()


def ksl(problem, Y0, t_span, h, *, order=1, **kwargs):
    """Projector-splitting integrator (KSL), Lie (``order=1``) or Strang (``order=2``).

    Exact when ``A(t)`` has rank r and ``F = dA/dt``; conserves the norm for skew-Hermitian
    ``F`` with unitary sub-steps.  Parameters and result as in :func:`integrate`.

    Parameters
    ----------
    problem, Y0, t_span, h
        See :func:`integrate`.
    order : {1, 2}
    **kwargs
        See :func:`integrate`.

    Returns
    -------
    Result

    Raises
    ------
    ValueError
        If ``order`` is not 1 or 2, or as in :func:`integrate`.

    References
    ----------
    .. [1] C. Lubich, I. V. Oseledets, A projector-splitting integrator for dynamical low-rank
       approximation, BIT 54 (2014).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la import LowRankMatrix
    >>> from lowrank_la.dlra import LinearMatrixODE, ksl
    >>> L = np.diag(-np.arange(4.0))
    >>> Y0 = LowRankMatrix(np.ones((4, 1)), None, np.ones((4, 1)))
    >>> res = ksl(LinearMatrixODE([(L, None), (None, L)]), Y0, (0, 1), 0.5, order=2)
    >>> bool(np.isclose(res.Y.to_dense()[1, 1], np.exp(-2.0)))
    True
    """
    if order not in (1, 2):
        raise ValueError(f"`order` must be 1 or 2, got {order!r}")
    return integrate(problem, Y0, t_span, h, method="ksl" if order == 1 else "ksl2", **kwargs)


def bug(problem, Y0, t_span, h, **kwargs):
    """Fixed-rank basis-update & Galerkin integrator (Ceruti-Lubich 2022).

    Parameters
    ----------
    problem, Y0, t_span, h
        See :func:`integrate`.
    **kwargs
        See :func:`integrate` (``rank`` sets the working rank).

    Returns
    -------
    Result

    References
    ----------
    .. [1] G. Ceruti, C. Lubich, An unconventional robust integrator for dynamical low-rank
       approximation, BIT 62 (2022).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la import LowRankMatrix
    >>> from lowrank_la.dlra import LinearMatrixODE, bug
    >>> L = np.diag(-np.arange(4.0))
    >>> Y0 = LowRankMatrix(np.ones((4, 1)), None, np.ones((4, 1)))
    >>> bug(LinearMatrixODE([(L, None), (None, L)]), Y0, (0, 1), 0.5).rank
    1
    """
    return integrate(problem, Y0, t_span, h, method="bug", **kwargs)


def ra_bug(problem, Y0, t_span, h, *, tol=None, rtol=None, max_rank=None, **kwargs):
    """Rank-adaptive BUG integrator (Ceruti-Kusch-Lubich 2022).

    Parameters
    ----------
    problem, Y0, t_span, h
        See :func:`integrate`.
    tol, rtol : float
        Truncation: the discarded singular values' 2-norm is ``<= max(tol, rtol ||Y||_F)``
        per step (at least one of them is required).
    max_rank : int, optional
    **kwargs
        See :func:`integrate`.

    Returns
    -------
    Result

    References
    ----------
    .. [1] G. Ceruti, J. Kusch, C. Lubich, A rank-adaptive robust integrator for dynamical
       low-rank approximation, BIT 62 (2022).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la import LowRankMatrix
    >>> from lowrank_la.dlra import LinearMatrixODE, ra_bug
    >>> L = -np.diag(np.arange(6.0))
    >>> src = (np.ones((6, 1)), np.arange(6.0)[:, None])
    >>> ode = LinearMatrixODE([(L, None), (None, L)], source=src)
    >>> Y0 = LowRankMatrix(np.ones((6, 1)), None, np.ones((6, 1)))
    >>> ra_bug(ode, Y0, (0, 1), 0.1, tol=1e-8).rank > 1
    True
    """
    return integrate(problem, Y0, t_span, h, method="ra_bug", tol=tol, rtol=rtol,
                     max_rank=max_rank, **kwargs)


def parallel_bug(problem, Y0, t_span, h, **kwargs):
    """Parallel BUG integrator (Ceruti-Kusch-Lubich 2024), first order.

    Fixed rank (``rank``, default the rank of ``Y0``) or rank-adaptive (``tol``/``rtol``; keep
    ``tol = O(h²)``).  The per-step error indicator ``eta = h ||Ũᴴ F(t0, Y0) Ṽ||`` is recorded in
    ``history["eta"]``; with ``reject=c`` a step whose ``eta`` exceeds ``c θ`` is repeated from
    enlarged bases.

    Parameters
    ----------
    problem, Y0, t_span, h
        See :func:`integrate`.
    **kwargs
        See :func:`integrate`.

    Returns
    -------
    Result

    References
    ----------
    .. [1] G. Ceruti, J. Kusch, C. Lubich, A parallel rank-adaptive integrator for dynamical
       low-rank approximation, SIAM J. Sci. Comput. 46 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la import LowRankMatrix
    >>> from lowrank_la.dlra import LinearMatrixODE, parallel_bug
    >>> L = np.diag(-np.arange(4.0))
    >>> Y0 = LowRankMatrix(np.ones((4, 1)), None, np.ones((4, 1)))
    >>> res = parallel_bug(LinearMatrixODE([(L, None), (None, L)]), Y0, (0, 1), 0.5)
    >>> res.rank, len(res.history["eta"])
    (1, 3)
    """
    return integrate(problem, Y0, t_span, h, method="parallel_bug", **kwargs)

