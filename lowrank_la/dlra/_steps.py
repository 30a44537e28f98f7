"""One time step of each integrator, and the K-, L- and S-steps they are built from.

All functions take and return factors with orthonormal ``U``, ``V``; the building blocks
:func:`k_step`, :func:`l_step` and :func:`s_step` are public because the neural-network
training methods (dynamical low-rank training) reuse them.
"""

from __future__ import annotations

import math

from .._backend import get_backend
from ._factors import Factors, ct, fro, orth, svd_small
from ._substep import check_finite_state, resolve_solver, solve_flow

__all__ = [
    "k_step", "l_step", "s_step",
    "ksl_step", "bug_step", "ra_bug_step", "parallel_bug_step", "truncate_core",
]


def _solve(problem, flow, X0, t0, t1, what, solver, nsub, options):
    solver = resolve_solver(solver, problem, get_backend(X0))
    X1 = solve_flow(flow, X0, t0, t1, solver=solver, nsub=nsub, options=options)
    check_finite_state(X1, what, t0, t1)
    return X1


def k_step(problem, U0, S0, V0, t0, t1, *, solver="auto", nsub=1, options=None):
    """K-step: integrate ``K' = F(t, K V0ᴴ) V0`` from ``K(t0) = U0 S0`` to ``t1``.

    Parameters
    ----------
    problem : MatrixODE
    U0 : array, shape (m, r)
    S0 : array, shape (r, r)
    V0 : array, shape (n, r)
        Orthonormal columns, frozen during the step.
    t0, t1 : float
        Time window.
    solver : {"auto", "rk4", "expm", "solve_ivp"}
        Sub-step solver ("auto": exact exponential for a :class:`LinearMatrixODE` on NumPy
        arrays, RK4 otherwise; ``expm`` and ``solve_ivp`` run on SciPy, NumPy arrays only).
    nsub : int
        Solver steps in the window.
    options : dict, optional
        Keyword arguments for ``solve_ivp``.

    Returns
    -------
    K1 : array, shape (m, r)

    Raises
    ------
    ValueError
        If the flow produces NaN or inf, or the solver does not fit the problem/backend.

    References
    ----------
    .. [1] G. Ceruti, C. Lubich, An unconventional robust integrator for dynamical low-rank
       approximation, BIT 62 (2022).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import MatrixODE, k_step
    >>> ode = MatrixODE.from_dense(lambda t, A: -A, (4, 3))
    >>> U0, V0 = np.eye(4)[:, :1], np.eye(3)[:, :1]
    >>> K1 = k_step(ode, U0, np.eye(1), V0, 0.0, 1.0, solver="rk4", nsub=20)
    >>> round(float(K1[0, 0]), 6) == round(float(np.exp(-1.0)), 6)
    True
    """
    return _solve(problem, problem.k_flow(V0), U0 @ S0, t0, t1, "K-step", solver, nsub, options)


def l_step(problem, U0, S0, V0, t0, t1, *, solver="auto", nsub=1, options=None):
    """L-step: integrate ``L' = F(t, U0 Lᴴ)ᴴ U0`` from ``L(t0) = V0 S0ᴴ`` to ``t1``.

    Parameters
    ----------
    problem : MatrixODE
    U0 : array, shape (m, r)
        Orthonormal, frozen during the step.
    S0 : array, shape (r, r)
    V0 : array, shape (n, r)
    t0, t1 : float
    solver, nsub, options
        As in :func:`k_step`.

    Returns
    -------
    L1 : array, shape (n, r)

    Raises
    ------
    ValueError
        As in :func:`k_step`.

    References
    ----------
    .. [1] G. Ceruti, C. Lubich, An unconventional robust integrator for dynamical low-rank
       approximation, BIT 62 (2022).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import MatrixODE, l_step
    >>> ode = MatrixODE.from_dense(lambda t, A: np.zeros_like(A), (4, 3))
    >>> L1 = l_step(ode, np.eye(4)[:, :1], 2 * np.eye(1), np.eye(3)[:, :1], 0.0, 1.0)
    >>> float(L1[0, 0])
    2.0
    """
    return _solve(problem, problem.l_flow(U0), V0 @ ct(S0), t0, t1, "L-step", solver, nsub,
                  options)


def s_step(problem, U, S0, V, t0, t1, *, backward=False, solver="auto", nsub=1, options=None):
    """S-step (Galerkin): integrate ``S' = ± Uᴴ F(t, U S Vᴴ) V`` with ``U``, ``V`` frozen.

    Parameters
    ----------
    problem : MatrixODE
    U : array, shape (m, p)
    S0 : array, shape (p, q)
    V : array, shape (n, q)
        Orthonormal bases, frozen.
    t0, t1 : float
    backward : bool
        Use the minus sign (the projector-splitting integrator's S-step).
    solver, nsub, options
        As in :func:`k_step`.

    Returns
    -------
    S1 : array, shape (p, q)

    Raises
    ------
    ValueError
        As in :func:`k_step`.

    References
    ----------
    .. [1] C. Lubich, I. V. Oseledets, A projector-splitting integrator for dynamical low-rank
       approximation, BIT 54 (2014).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import MatrixODE, s_step
    >>> ode = MatrixODE.from_dense(lambda t, A: np.ones_like(A), (3, 3))
    >>> e = np.eye(3)[:, :1]
    >>> s_step(ode, e, np.zeros((1, 1)), e, 0.0, 0.5, backward=True)
    array([[-0.5]])
    """
    flow = problem.s_flow(U, V)
    if backward:
        flow = flow.negated()
    return _solve(problem, flow, S0, t0, t1, "S-step", solver, nsub, options)


# ---------------------------------------------------------------------------------------------
# integrator steps
# ---------------------------------------------------------------------------------------------


def ksl_step(problem, Y, t0, t1, *, order=1, **sub):
    """Projector-splitting step (Lubich-Oseledets): Lie (``order=1``) or Strang (``order=2``).

    Parameters
    ----------
    problem : MatrixODE
    Y : Factors
        Orthonormal ``U``, ``V``; the core may be any square matrix.
    t0, t1 : float
    order : {1, 2}
    **sub
        ``solver``, ``nsub``, ``options`` of the sub-steps (see :func:`k_step`).

    Returns
    -------
    Factors

    References
    ----------
    .. [1] C. Lubich, I. V. Oseledets, A projector-splitting integrator for dynamical low-rank
       approximation, BIT 54 (2014).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import Factors, MatrixODE, ksl_step
    >>> ode = MatrixODE.from_dense(lambda t, A: np.zeros_like(A), (3, 3))
    >>> Y = Factors(np.eye(3)[:, :1], np.eye(1), np.eye(3)[:, :1])
    >>> bool(np.allclose(ksl_step(ode, Y, 0.0, 0.1).to_dense(), Y.to_dense()))
    True
    """
    U0, S0, V0 = Y
    if order == 1:
        U1, Sh = orth(k_step(problem, U0, S0, V0, t0, t1, **sub))
        St = s_step(problem, U1, Sh, V0, t0, t1, backward=True, **sub)
        V1, R = orth(l_step(problem, U1, St, V0, t0, t1, **sub))
        return Factors(U1, ct(R), V1)
    tm = t0 + (t1 - t0) / 2
    U1, Sh = orth(k_step(problem, U0, S0, V0, t0, tm, **sub))
    St = s_step(problem, U1, Sh, V0, t0, tm, backward=True, **sub)
    V1, R = orth(l_step(problem, U1, St, V0, t0, t1, **sub))
    St = s_step(problem, U1, ct(R), V1, tm, t1, backward=True, **sub)
    U2, S2 = orth(k_step(problem, U1, St, V1, tm, t1, **sub))
    return Factors(U2, S2, V1)


def bug_step(problem, Y, t0, t1, **sub):
    """Fixed-rank basis-update & Galerkin step (Ceruti-Lubich 2022).

    K- and L-steps from the same data; new bases ``orth(K1)``, ``orth(L1)``; forward Galerkin
    S-step from ``(U1ᴴ U0) S0 (V0ᴴ V1)``.

    Parameters
    ----------
    problem : MatrixODE
    Y : Factors
    t0, t1 : float
    **sub
        Sub-step options (see :func:`k_step`).

    Returns
    -------
    Factors

    References
    ----------
    .. [1] G. Ceruti, C. Lubich, An unconventional robust integrator for dynamical low-rank
       approximation, BIT 62 (2022).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import Factors, MatrixODE, bug_step
    >>> ode = MatrixODE.from_dense(lambda t, A: -A, (3, 3))
    >>> Y = Factors(np.eye(3)[:, :1], np.eye(1), np.eye(3)[:, :1])
    >>> S1 = bug_step(ode, Y, 0.0, 0.1, solver="rk4").S
    >>> bool(abs(S1[0, 0] - np.exp(-0.1)) < 1e-6)
    True
    """
    U0, S0, V0 = Y
    U1 = orth(k_step(problem, U0, S0, V0, t0, t1, **sub))[0]
    V1 = orth(l_step(problem, U0, S0, V0, t0, t1, **sub))[0]
    S_start = (ct(U1) @ U0) @ S0 @ (ct(V0) @ V1)
    return Factors(U1, s_step(problem, U1, S_start, V1, t0, t1, **sub), V1)


def truncate_core(U, S, V, *, rank=None, tol=None, rtol=None, max_rank=None, min_rank=1):
    """Truncate ``U S Vᴴ`` by an SVD of the small core ``S``.

    Keeps the smallest rank ``r1`` whose discarded singular values satisfy
    ``||σ_{r1+1:}||_2 <= θ`` with ``θ = max(tol, rtol ||S||_F)``, within
    ``[min_rank, max_rank]``; or exactly ``rank`` terms when ``rank`` is given.

    Parameters
    ----------
    U : array, shape (m, p)
    S : array, shape (p, q)
    V : array, shape (n, q)
    rank : int, optional
    tol, rtol : float, optional
        Absolute and relative tolerance on the discarded tail (Frobenius norm).
    max_rank, min_rank : int, optional

    Returns
    -------
    Factors
        With a diagonal core (SVD form).

    References
    ----------
    .. [1] G. Ceruti, J. Kusch, C. Lubich, A rank-adaptive robust integrator for dynamical
       low-rank approximation, BIT 62 (2022).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import truncate_core
    >>> Y = truncate_core(np.eye(3), np.diag([1.0, 1e-3, 1e-9]), np.eye(3), tol=1e-6)
    >>> Y.S.shape
    (2, 2)
    """
    bk = get_backend(S)
    xp = bk.xp
    P, s, Q = svd_small(S)
    host = [float(v) for v in bk.to_host(s)]
    if rank is not None:
        r1 = min(rank, len(host))
    else:
        theta = 0.0 if tol is None else tol
        if rtol is not None:
            theta = max(theta, rtol * math.sqrt(sum(v * v for v in host)))
        r1 = len(host)
        tail = 0.0
        # drop from the end while the accumulated tail stays below theta
        while r1 > 0 and tail + host[r1 - 1] ** 2 <= theta ** 2:
            tail += host[r1 - 1] ** 2
            r1 -= 1
        if max_rank is not None:
            r1 = min(r1, max_rank)
        r1 = max(r1, min(min_rank, len(host)))
    core = xp.astype(s[:r1], S.dtype)
    Sd = xp.eye(r1, dtype=S.dtype, device=bk.device) * core[None, :]
    return Factors(U @ P[:, :r1], Sd, V @ Q[:, :r1])


def ra_bug_step(problem, Y, t0, t1, *, tol=None, rtol=None, max_rank=None, min_rank=1, **sub):
    """Rank-adaptive BUG step (Ceruti-Kusch-Lubich 2022).

    Bases augmented to ``orth([K1, U0])``, ``orth([L1, V0])`` (up to 2r columns), Galerkin step
    on the augmented core from ``Ûᴴ U0 S0 V0ᴴ V̂``, then :func:`truncate_core`.

    Parameters
    ----------
    problem : MatrixODE
    Y : Factors
    t0, t1 : float
    tol, rtol, max_rank, min_rank
        Truncation (see :func:`truncate_core`).
    **sub
        Sub-step options.

    Returns
    -------
    Factors

    References
    ----------
    .. [1] G. Ceruti, J. Kusch, C. Lubich, A rank-adaptive robust integrator for dynamical
       low-rank approximation, BIT 62 (2022).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import Factors, MatrixODE, ra_bug_step
    >>> ode = MatrixODE.from_dense(lambda t, A: np.ones_like(A), (4, 4))
    >>> Y = Factors(np.eye(4)[:, :1], np.eye(1), np.eye(4)[:, :1])
    >>> ra_bug_step(ode, Y, 0.0, 0.1, tol=1e-10).S.shape
    (2, 2)
    """
    U0, S0, V0 = Y
    xp = get_backend(U0).xp
    K1 = k_step(problem, U0, S0, V0, t0, t1, **sub)
    L1 = l_step(problem, U0, S0, V0, t0, t1, **sub)
    Uh = orth(xp.concat((K1, U0), axis=1))[0]
    Vh = orth(xp.concat((L1, V0), axis=1))[0]
    S_start = (ct(Uh) @ U0) @ S0 @ (ct(V0) @ Vh)
    S1 = s_step(problem, Uh, S_start, Vh, t0, t1, **sub)
    return truncate_core(Uh, S1, Vh, tol=tol, rtol=rtol, max_rank=max_rank, min_rank=min_rank)


def parallel_bug_step(problem, Y, t0, t1, *, rank=None, tol=None, rtol=None, max_rank=None,
                      min_rank=1, reject=None, info=None, **sub):
    """Parallel BUG step (Ceruti-Kusch-Lubich 2024); returns ``(Factors, eta)``.

    K-, L- and forward S-steps all from ``(U0, S0, V0)``; new directions ``Ũ`` (from QR of
    ``[U0, K1]``) and ``Ṽ``; augmented core ``[[S̄, L1ᴴ Ṽ], [Ũᴴ K1, 0]]`` on ``[U0, Ũ]``,
    ``[V0, Ṽ]``, truncated to ``rank`` or by tolerance.  ``eta = h ||Ũᴴ F(t0, Y0) Ṽ||_F`` is the
    local error indicator (the dropped block).  With ``reject=c`` and a tolerance, a step with
    ``eta > c θ`` is repeated from the augmented bases ``[U0, Ũ]``, ``[V0, Ṽ]`` (rank doubled,
    up to ``max_rank``).

    Parameters
    ----------
    problem : MatrixODE
    Y : Factors
    t0, t1 : float
    rank : int, optional
        Fixed rank after truncation (otherwise by ``tol``/``rtol``).
    tol, rtol, max_rank, min_rank
        See :func:`truncate_core`.
    reject : float, optional
        Rejection constant ``c`` (needs ``tol`` or ``rtol``; ``θ = max(tol, rtol ||S0||)``).
    info : dict, optional
        Receives ``info["rejected"]``, the number of rejected attempts.
    **sub
        Sub-step options.

    Returns
    -------
    Y1 : Factors
    eta : float
        Indicator of the accepted attempt.

    References
    ----------
    .. [1] G. Ceruti, J. Kusch, C. Lubich, A parallel rank-adaptive integrator for dynamical
       low-rank approximation, SIAM J. Sci. Comput. 46 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import Factors, MatrixODE, parallel_bug_step
    >>> ode = MatrixODE.from_dense(lambda t, A: np.ones_like(A), (4, 4))
    >>> Y = Factors(np.eye(4)[:, :1], np.eye(1), np.eye(4)[:, :1])
    >>> Y1, eta = parallel_bug_step(ode, Y, 0.0, 0.1, rank=1)
    >>> Y1.S.shape, eta >= 0
    ((1, 1), True)
    """
    xp = get_backend(Y.U).xp
    theta = None
    if reject is not None and (tol is not None or rtol is not None):
        theta = max(tol or 0.0, (rtol or 0.0) * fro(Y.S))
    rejected = 0
    while True:
        Y1, eta, Ut, Vt = _parallel_bug_once(problem, Y, t0, t1, rank, tol, rtol, max_rank,
                                             min_rank, sub)
        U0, S0, V0 = Y
        cap = min(problem.shape) if max_rank is None else max_rank
        if theta is None or eta <= reject * theta or U0.shape[1] >= cap or Ut.shape[1] == 0:
            break
        # reject: repeat the step from the augmented bases [U0, Ũ], [V0, Ṽ] (same Y0)
        rejected += 1
        r, k = int(S0.shape[0]), int(Ut.shape[1])
        Z = xp.zeros((r + k, r + k), dtype=S0.dtype, device=get_backend(S0).device)
        Sa = xp.concat((xp.concat((S0, Z[:r, r:]), axis=1), Z[r:, :]), axis=0)
        Y = Factors(xp.concat((U0, Ut), axis=1), Sa, xp.concat((V0, Vt), axis=1))
    if info is not None:
        info["rejected"] = rejected
    return Y1, eta


def _parallel_bug_once(problem, Y, t0, t1, rank, tol, rtol, max_rank, min_rank, sub):
    U0, S0, V0 = Y
    bk = get_backend(U0)
    xp = bk.xp
    r = int(U0.shape[1])
    K1 = k_step(problem, U0, S0, V0, t0, t1, **sub)
    L1 = l_step(problem, U0, S0, V0, t0, t1, **sub)
    Sb = s_step(problem, U0, S0, V0, t0, t1, **sub)
    Ut = orth(xp.concat((U0, K1), axis=1))[0][:, r:]
    Vt = orth(xp.concat((V0, L1), axis=1))[0][:, r:]
    k = min(int(Ut.shape[1]), int(Vt.shape[1]))
    Ut, Vt = Ut[:, :k], Vt[:, :k]
    top = xp.concat((Sb, ct(L1) @ Vt), axis=1)
    zero = xp.zeros((k, k), dtype=Sb.dtype, device=bk.device)
    bottom = xp.concat((ct(Ut) @ K1, zero), axis=1)
    core = xp.concat((top, bottom), axis=0)
    eta = (t1 - t0) * fro(problem.galerkin(t0, Factors(U0, S0, V0), Ut, Vt))
    Y1 = truncate_core(xp.concat((U0, Ut), axis=1), core, xp.concat((V0, Vt), axis=1),
                       rank=rank, tol=tol, rtol=rtol, max_rank=max_rank, min_rank=min_rank)
    return Y1, eta, Ut, Vt
