"""Tucker-tensor BUG integrator (fixed and rank-adaptive multilinear ranks).

``Y = C ×_1 U_1 ... ×_d U_d`` with orthonormal ``U_i``.  One step, per mode i (independent of
the other modes): QR ``Mat_i(C0)ᵀ = Q R`` gives ``K_i = U_i Rᵀ`` and ``G = Ten_i(Qᵀ)`` so that
``Y = G ×_i K_i ×_{j≠i} U_j``; integrate ``K_i' = Mat_i(F(t, G ×_i K_i ×_{j≠i} U_j)) conj(V_i)``
with ``V_iᵀ = Mat_i(G ×_{j≠i} U_j)``; ``Û_i = orth(K_i(t1))`` (adaptive: ``orth([K_i(t1), U_i])``).
Then the Galerkin core step ``C' = F(t, C ×_i Û_i) ×_i Û_iᴴ`` from ``C0 ×_i (Û_iᴴ U_i)`` and,
adaptively, a truncated HOSVD of the core with tail ``<= θ / sqrt(d)`` per mode.

``F`` is given densely (:class:`TuckerODE`): meant for tensors of moderate size (30³ in the
tests), written against the array API.
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

from .._backend import get_backend
from .._result import History, Result
from .._validation import check_int, check_nonnegative, check_option, check_rng
from ..linalg._tensor_ops import fold, mode_product, unfold
from ._factors import ct, fro, orth, svd_small
from ._problem import Flow
from ._substep import check_finite_state, solve_flow

__all__ = ["TuckerFactors", "TuckerODE", "tucker_bug", "tucker_bug_step",
           "tucker_polynomial_problem"]


class TuckerFactors(NamedTuple):
    """A Tucker tensor: the core multiplied along each mode i by ``factors[i]``.

    ``Y = core ×_1 factors[0] ×_2 factors[1] ···`` (``to_dense`` forms it).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import TuckerFactors
    >>> Y = TuckerFactors(np.ones((1, 1, 1)), [np.ones((2, 1)), np.ones((3, 1)), np.ones((4, 1))])
    >>> Y.to_dense().shape, Y.ranks
    ((2, 3, 4), (1, 1, 1))
    """

    core: Any
    factors: Any

    @property
    def ranks(self) -> tuple:
        return tuple(int(s) for s in self.core.shape)

    @property
    def shape(self) -> tuple:
        return tuple(int(U.shape[0]) for U in self.factors)

    def to_dense(self):
        T = self.core
        for i, U in enumerate(self.factors):
            T = mode_product(T, U, i)
        return T


class TuckerODE:
    """``dA/dt = F(t, A)`` for an order-d tensor, with ``F`` given on dense tensors.

    Parameters
    ----------
    shape : tuple of int
        The tensor's shape (order d >= 2).
    fun : callable ``(t, A) -> F(t, A)``
        Dense right-hand side (an array of ``shape``).

    Raises
    ------
    ValueError
        Bad ``shape``.
    TypeError
        ``fun`` not callable.

    References
    ----------
    .. [1] G. Ceruti, C. Lubich, H. Walach, Time integration of tree tensor networks, SIAM J.
       Numer. Anal. 59 (2021).

    Examples
    --------
    >>> from lowrank_la.dlra import TuckerODE
    >>> TuckerODE((4, 5, 6), lambda t, A: -A).shape
    (4, 5, 6)
    """

    def __init__(self, shape, fun):
        if not isinstance(shape, (tuple, list)) or len(shape) < 2:
            raise ValueError(f"`shape` must be a tuple of at least 2 sizes, got {shape!r}")
        self.shape = tuple(check_int(s, f"shape[{i}]", minimum=1) for i, s in enumerate(shape))
        if not callable(fun):
            raise TypeError(f"`fun` must be callable, got {type(fun).__name__}")
        self.fun = fun

    def k_flow(self, G, factors, mode) -> Flow:
        """``K' = Mat_i(F(t, G ×_i K ×_{j≠i} U_j)) conj(V_i)``."""
        others = [(j, U) for j, U in enumerate(factors) if j != mode]

        def rhs(t, K):
            Y = mode_product(G, K, mode)
            for j, U in others:
                Y = mode_product(Y, U, j)
            F = self.fun(t, Y)
            for j, U in others:
                F = mode_product(F, ct(U), j)  # F ×_j U_jᴴ
            return unfold(F, mode) @ ct(unfold(G, mode))

        return Flow(rhs)

    def core_flow(self, factors) -> Flow:
        """``C' = F(t, C ×_i U_i) ×_i U_iᴴ``."""

        def rhs(t, C):
            F = self.fun(t, TuckerFactors(C, factors).to_dense())
            for j, U in enumerate(factors):
                F = mode_product(F, ct(U), j)
            return F

        return Flow(rhs)


def _truncate_hosvd(core, bases, theta, max_rank, min_rank):
    d = core.ndim
    per_mode = theta / math.sqrt(d)
    bk = get_backend(core)
    C = core
    new = []
    for i in range(d):
        P, s, _ = svd_small(unfold(core, i))
        host = [float(v) for v in bk.to_host(s)]
        r = len(host)
        tail = 0.0
        while r > 0 and tail + host[r - 1] ** 2 <= per_mode**2:
            tail += host[r - 1] ** 2
            r -= 1
        if max_rank is not None:
            r = min(r, max_rank[i])
        r = max(r, min(min_rank, len(host)))
        C = mode_product(C, ct(P[:, :r]), i)
        new.append(bases[i] @ P[:, :r])
    return TuckerFactors(C, new)


def tucker_bug_step(problem, Y, t0, t1, *, adaptive=False, tol=None, rtol=None, max_rank=None,
                    min_rank=1, solver="rk4", nsub=1, options=None):
    """One Tucker BUG step (fixed multilinear rank, or rank-adaptive with ``adaptive=True``).

    Parameters
    ----------
    problem : TuckerODE
    Y : TuckerFactors
        Orthonormal factors.
    t0, t1 : float
    adaptive : bool
        Augment each basis with the old one and truncate the core by HOSVD.
    tol, rtol : float, optional
        Truncation threshold ``θ = max(tol, rtol ||C||)``; tail ``<= θ / sqrt(d)`` per mode.
    max_rank : tuple of int, optional
    min_rank : int
    solver : {"rk4", "solve_ivp"}
    nsub : int
    options : dict, optional

    Returns
    -------
    TuckerFactors

    References
    ----------
    .. [1] G. Ceruti, C. Lubich, H. Walach, SIAM J. Numer. Anal. 59 (2021); G. Ceruti,
       J. Kusch, C. Lubich, BIT 62 (2022) (rank-adaptive).

    Examples
    --------
    >>> from lowrank_la.dlra import tucker_bug_step, tucker_polynomial_problem
    >>> tp = tucker_polynomial_problem((8, 9, 10), (2, 2, 3))
    >>> tucker_bug_step(tp.problem, tp.Y0, 0.0, 0.1).ranks
    (2, 2, 3)
    """
    C0, factors = Y
    xp = get_backend(C0).xp
    d = C0.ndim
    new_bases = []
    for i in range(d):
        Q, R = orth(ct(unfold(C0, i)))           # Mat_i(C0)ᴴ = Q R
        G = fold(ct(Q), i, tuple(C0.shape[:i]) + (Q.shape[1],) + tuple(C0.shape[i + 1:]))
        K0 = factors[i] @ ct(R)
        K1 = solve_flow(problem.k_flow(G, factors, i), K0, t0, t1, solver=solver, nsub=nsub,
                        options=options)
        check_finite_state(K1, f"K-step of mode {i}", t0, t1)
        if adaptive:
            K1 = xp.concat((K1, factors[i]), axis=1)
        new_bases.append(orth(K1)[0])
    C = C0
    for i in range(d):
        C = mode_product(C, ct(new_bases[i]) @ factors[i], i)
    C1 = solve_flow(problem.core_flow(new_bases), C, t0, t1, solver=solver, nsub=nsub,
                    options=options)
    check_finite_state(C1, "core step", t0, t1)
    if not adaptive:
        return TuckerFactors(C1, new_bases)
    theta = 0.0 if tol is None else tol
    if rtol is not None:
        theta = max(theta, rtol * fro(C1))
    return _truncate_hosvd(C1, new_bases, theta, max_rank, min_rank)


def tucker_bug(problem, Y0, t_span, h, *, adaptive=False, tol=None, rtol=None, max_rank=None,
               min_rank=1, solver="rk4", nsub=1, options=None, reference=None):
    """Integrate an order-d tensor ODE with the Tucker BUG integrator.

    Parameters
    ----------
    problem : TuckerODE
    Y0 : TuckerFactors or (core, factors)
        Initial value (factors are orthonormalized).
    t_span : (float, float)
    h : float
        Step size (> 0).
    adaptive : bool
        Rank-adaptive variant (needs ``tol`` or ``rtol``).
    tol, rtol, max_rank, min_rank
        Truncation (see :func:`tucker_bug_step`).
    solver : {"rk4", "solve_ivp"}
        Sub-step solver (``solve_ivp``: NumPy only).
    nsub : int
    options : dict, optional
    reference : callable ``t -> array``, optional
        Dense reference; the error is recorded in the history.

    Returns
    -------
    Result
        ``Y`` (:class:`TuckerFactors`), ``ranks``, ``t``, ``success``, ``status``, ``message``,
        ``nit``, ``history`` (``t``, ``ranks``, ``norm``, ``wall``, ``error``).

    Raises
    ------
    ValueError, TypeError
        Bad arguments (``h <= 0``, mismatched shapes, ranks above the sizes, ...).

    References
    ----------
    .. [1] G. Ceruti, C. Lubich, H. Walach, Time integration of tree tensor networks, SIAM J.
       Numer. Anal. 59 (2021); G. Ceruti, J. Kusch, C. Lubich, BIT 62 (2022).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import tucker_bug, tucker_polynomial_problem
    >>> tp = tucker_polynomial_problem((10, 11, 12), (2, 3, 4), rng=0)
    >>> res = tucker_bug(tp.problem, tp.Y0, (0.0, 0.5), 0.1)
    >>> A = tp.exact(0.5)
    >>> bool(np.linalg.norm(res.Y.to_dense() - A) < 1e-10 * np.linalg.norm(A))
    True
    """
    if not isinstance(problem, TuckerODE):
        raise TypeError(f"`problem` must be a TuckerODE, got {type(problem).__name__}")
    if not isinstance(Y0, (tuple, list)) or len(Y0) != 2:
        raise TypeError("`Y0` must be TuckerFactors(core, factors)")
    core, factors = Y0
    d = len(problem.shape)
    if core.ndim != d or len(factors) != d:
        raise ValueError(f"`Y0` must have order {d} like `problem`, got core of order "
                         f"{core.ndim} and {len(factors)} factors")
    for i, U in enumerate(factors):
        if U.shape[0] != problem.shape[i] or U.shape[1] != core.shape[i]:
            raise ValueError(f"`Y0` factor {i} has shape {tuple(U.shape)}, expected "
                             f"({problem.shape[i]}, {core.shape[i]}) (mismatched shapes)")
        if U.shape[1] > U.shape[0]:
            raise ValueError(f"rank {U.shape[1]} of mode {i} exceeds its size {U.shape[0]}")
    bk = get_backend(core, *factors)
    for X in (core, *factors):
        if not bool(bk.xp.all(bk.xp.isfinite(X))):
            raise ValueError("`Y0` must not contain NaN or inf")
    if not isinstance(t_span, (tuple, list)) or len(t_span) != 2 or t_span[1] < t_span[0]:
        raise ValueError(f"`t_span` must be a pair (t0, t_end) with t_end >= t0, got {t_span!r}")
    h = float(h)
    if not (h > 0 and math.isfinite(h)):
        raise ValueError(f"`h` must be positive and finite, got {h}")
    check_option(solver, "solver", ("rk4", "solve_ivp"))
    nsub = check_int(nsub, "nsub", minimum=1)
    if adaptive and tol is None and rtol is None:
        raise ValueError("the adaptive Tucker BUG needs `tol` or `rtol`")
    if tol is not None:
        check_nonnegative(tol, "tol")
    if rtol is not None:
        check_nonnegative(rtol, "rtol")
    if max_rank is not None:
        max_rank = tuple(check_int(r, "max_rank", minimum=1) for r in max_rank)
        if len(max_rank) != d:
            raise ValueError(f"`max_rank` must have {d} entries, got {len(max_rank)}")
    # orthonormalize the factors, moving their triangular parts into the core
    C = core
    Us = []
    for i, U in enumerate(factors):
        Q, R = orth(U)
        C = mode_product(C, R, i)
        Us.append(Q)
    Y = TuckerFactors(C, Us)
    hist = History()
    t = float(t_span[0])

    def record(wall):
        m = {"t": t, "ranks": Y.ranks, "norm": fro(Y.core), "wall": wall}
        if reference is not None:
            ref = reference(t)
            m["error"] = fro(Y.to_dense() - ref)
            m["rel_error"] = m["error"] / max(fro(ref), 1e-300)
        hist.record(**m)

    record(0.0)
    t_end = float(t_span[1])
    nsteps = max(0, math.ceil((t_end - t) / h - 1e-9))
    for k in range(nsteps):
        t1 = t_end if k == nsteps - 1 else float(t_span[0]) + (k + 1) * h
        start = time.perf_counter()
        Y = tucker_bug_step(problem, Y, t, t1, adaptive=adaptive, tol=tol, rtol=rtol,
                            max_rank=max_rank, min_rank=min_rank, solver=solver, nsub=nsub,
                            options=options)
        t = t1
        record(time.perf_counter() - start)
    return Result(Y=Y, ranks=Y.ranks, t=t, success=True, status=0,
                  message=f"integrated to t = {t:g} in {nsteps} steps", nit=nsteps,
                  history=hist)


def tucker_polynomial_problem(shape=(30, 30, 30), ranks=(3, 4, 5), *, scale=0.5, rng=0):
    """``A(t) = (C0 + t C1) ×_i (U_i0 + t U_i1)`` with ``F = dA/dt``: exact multilinear ranks.

    ``F`` is a polynomial of degree d in t (cubic for d = 3), so RK4 sub-steps are exact and the
    Tucker BUG reproduces ``A(t)`` to round-off.

    Parameters
    ----------
    shape, ranks : tuple of int
    scale : float
    rng : int or Generator

    Returns
    -------
    TestProblem
        ``Y0`` is a :class:`TuckerFactors`.

    Raises
    ------
    ValueError
        Ranks above the sizes or of the wrong length.

    References
    ----------
    .. [1] G. Ceruti, C. Lubich, H. Walach, Time integration of tree tensor networks, SIAM J.
       Numer. Anal. 59 (2021).

    Examples
    --------
    >>> from lowrank_la.dlra import tucker_polynomial_problem
    >>> tucker_polynomial_problem((6, 7, 8), (2, 2, 2)).exact(1.0).shape
    (6, 7, 8)
    """
    import numpy as np

    from ._problems import TestProblem

    if len(shape) != len(ranks) or any(r > n or r < 1 for r, n in zip(ranks, shape)):
        raise ValueError(f"`ranks` {ranks!r} must match `shape` {shape!r} entrywise (1 <= r <= n)")
    gen = check_rng(rng)
    d = len(shape)
    Us0 = [np.linalg.qr(gen.standard_normal((n, r)))[0] for n, r in zip(shape, ranks)]
    Us1 = [scale * gen.standard_normal((n, r)) / np.sqrt(n) for n, r in zip(shape, ranks)]
    C0 = gen.standard_normal(ranks)
    C0 /= np.linalg.norm(C0)
    C1 = scale * gen.standard_normal(ranks) / np.sqrt(C0.size)

    def exact(t):
        return TuckerFactors(C0 + t * C1, [U0 + t * U1 for U0, U1 in zip(Us0, Us1)]).to_dense()

    def fun(t, A):
        # product rule: d/dt of (C) ×_1 U_1 ... ×_d U_d
        out = TuckerFactors(C1, [U0 + t * U1 for U0, U1 in zip(Us0, Us1)]).to_dense()
        for i in range(d):
            fac = [U0 + t * U1 if j != i else Us1[i] for j, (U0, U1) in enumerate(zip(Us0, Us1))]
            out = out + TuckerFactors(C0 + t * C1, fac).to_dense()
        return out

    return TestProblem(TuckerODE(shape, fun), TuckerFactors(C0, Us0), exact, lambda t: 0.0,
                       {"shape": tuple(shape), "ranks": tuple(ranks)})



