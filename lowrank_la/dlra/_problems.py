"""Ready-made test problems with known answers, and an independent DLRA reference solver.

All are NumPy (host) problems; their factors can be moved to another backend by the caller.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_int, check_nonnegative, check_positive, check_rng
from ._factors import Factors
from ._problem import LinearMatrixODE, MatrixODE

__all__ = [
    "TestProblem",
    "polynomial_problem",
    "cubic_problem",
    "small_singular_values_problem",
    "schrodinger_problem",
    "damped_source_problem",
    "dlra_factor_reference",
]


@dataclass
class TestProblem:
    """A problem, its initial value, and what is known about its solution.

    Attributes
    ----------
    problem : MatrixODE
    Y0 : Factors
        Initial value ``U S Vᴴ`` (orthonormal ``U``, ``V``).
    exact : callable ``t -> array`` or None
        The full (dense) solution ``A(t)``.
    best_error : callable ``t -> float`` or None
        Error of the best rank-r approximation of ``A(t)`` in the Frobenius norm.
    info : dict
        Problem parameters.
    """

    problem: Any
    Y0: Any
    exact: Any = None
    best_error: Any = None
    info: Any = None


def _orth(X):
    return np.linalg.qr(X)[0]


def _random_factors(m, n, r, gen, cplx):
    def draw(*shape):
        X = gen.standard_normal(shape)
        return X + 1j * gen.standard_normal(shape) if cplx else X
    return draw


def polynomial_problem(m=60, n=50, r=4, *, complex=False, scale=0.5, rng=0):
    """``A(t) = (U0 + t U1)(S0 + t S1)(V0 + t V1)ᴴ`` with ``F = dA/dt`` (independent of ``Y``).

    ``A(t)`` has rank r for all t, so KSL, BUG and rank-adaptive BUG reproduce it exactly; the
    sub-flows' right-hand sides are polynomials of degree <= 2 in t, so RK4 is exact too.

    Parameters
    ----------
    m, n, r : int
    complex : bool
        Complex factors.
    scale : float
        Size of the velocity factors ``U1``, ``S1``, ``V1``.
    rng : int or Generator

    Returns
    -------
    TestProblem

    Raises
    ------
    ValueError
        If ``r`` exceeds ``min(m, n)``.

    References
    ----------
    .. [1] G. Ceruti, C. Lubich, An unconventional robust integrator for dynamical low-rank
       approximation, BIT 62 (2022).

    Examples
    --------
    >>> from lowrank_la.dlra import polynomial_problem
    >>> tp = polynomial_problem(10, 8, 2)
    >>> tp.exact(0.5).shape
    (10, 8)
    """
    m, n, r = (check_int(v, k, minimum=1) for v, k in ((m, "m"), (n, "n"), (r, "r")))
    if r > min(m, n):
        raise ValueError(f"`r` must be at most min(m, n) = {min(m, n)}, got {r}")
    scale = check_nonnegative(scale, "scale")
    gen = check_rng(rng)
    draw = _random_factors(m, n, r, gen, complex)
    U0, V0 = _orth(draw(m, r)), _orth(draw(n, r))
    S0 = np.diag(np.linspace(1.0, 0.5, r)) + 0.05 * draw(r, r)
    U1, V1 = scale * draw(m, r) / np.sqrt(m), scale * draw(n, r) / np.sqrt(n)
    S1 = scale * draw(r, r)

    def parts(t):
        return U0 + t * U1, S0 + t * S1, V0 + t * V1

    def exact(t):
        U, S, V = parts(t)
        return U @ S @ V.conj().T

    def right(t, Y, W):  # A'(t) W
        U, S, V = parts(t)
        VW = V.conj().T @ W
        return U1 @ (S @ VW) + U @ (S1 @ VW) + U @ (S @ (V1.conj().T @ W))

    def left(t, Y, W):  # A'(t)ᴴ W
        U, S, V = parts(t)
        UW = U.conj().T @ W
        return (V1 @ (S.conj().T @ UW) + V @ (S1.conj().T @ UW)
                + V @ (S.conj().T @ (U1.conj().T @ W)))

    def dense(t, A):
        U, S, V = parts(t)
        return (U1 @ S @ V.conj().T + U @ S1 @ V.conj().T + U @ S @ V1.conj().T)

    problem = MatrixODE((m, n), right, left, dense=dense)
    return TestProblem(problem, Factors(U0, S0, V0), exact, lambda t: 0.0,
                       {"m": m, "n": n, "r": r, "complex": complex})


def cubic_problem(m=60, n=50, r=4, *, complex=False, scale=0.5, rng=0):
    """Nonlinear ``F(t, Y) = A'(t) - Y Yᴴ Y + A(t) A(t)ᴴ A(t)`` with exact solution ``A(t)``.

    ``A(t)`` is the rank-r polynomial of :func:`polynomial_problem`; since it solves the full
    equation and stays of rank r, it is also the DLRA solution, so errors against ``exact`` show
    each integrator's own order (``F`` depends on ``Y``, so no integrator is exact here).  The
    cubic term has the damping sign (``+ Y Yᴴ Y`` blows up in finite time).

    Parameters
    ----------
    m, n, r, complex, scale, rng
        As in :func:`polynomial_problem`.

    Returns
    -------
    TestProblem

    Raises
    ------
    ValueError
        If ``r`` exceeds ``min(m, n)``.

    References
    ----------
    .. [1] G. Ceruti, C. Lubich, An unconventional robust integrator for dynamical low-rank
       approximation, BIT 62 (2022).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import cubic_problem
    >>> tp = cubic_problem(10, 8, 2)
    >>> A = tp.exact(0.3)
    >>> bool(np.allclose(tp.problem.dense_rhs(0.3, A), tp.info["dA"](0.3)))
    True
    """
    base = polynomial_problem(m, n, r, complex=complex, scale=scale, rng=rng)
    p = base.problem
    exact = base.exact

    @functools.lru_cache(maxsize=8)
    def afac(t):
        # factors of A(t) = U S Vᴴ for the cubic term, via the dense form (small problems)
        U, s, Vh = np.linalg.svd(exact(t), full_matrices=False)
        return Factors(U[:, :r] * s[:r], None, Vh[:r].conj().T)

    def cube_right(Y, W):
        return Y.matmat(Y.rmatmat(Y.matmat(W)))

    def cube_left(Y, W):
        return Y.rmatmat(Y.matmat(Y.rmatmat(W)))

    def right(t, Y, W):
        return p.apply_right(t, Y, W) - cube_right(Y, W) + cube_right(afac(t), W)

    def left(t, Y, W):
        return p.apply_left(t, Y, W) - cube_left(Y, W) + cube_left(afac(t), W)

    def dense(t, A):
        At = exact(t)
        return p.dense_rhs(t, A) - A @ A.conj().T @ A + At @ At.conj().T @ At

    info = dict(base.info, dA=lambda t: p.dense_rhs(t, None))
    return TestProblem(MatrixODE((m, n), right, left, dense=dense), base.Y0, exact,
                       lambda t: 0.0, info)


def _skew(N, gen):
    X = gen.standard_normal((N, N)) / np.sqrt(N)
    return X - X.T


def small_singular_values_problem(N=100, r=10, s_min=1e-12, *, rng=0):
    """``A(t) = e^{t W1} e^t D e^{t W2}ᵀ`` with ``F = dA/dt`` and tiny singular values.

    ``D = diag(1, 1/2, ..., 2^{-(r-2)}, s_min, s_min/2, ...)``: the r-th singular value of
    ``A(t)`` is ``e^t s_min``, and the best rank-r error is ``e^t ||D[r:]||`` (closed form).  A
    robust integrator's error stays near that plus O(h) however small ``s_min`` is, while
    integrating the factor ODEs (which involve ``S⁻¹``) breaks down.

    Parameters
    ----------
    N, r : int
    s_min : float
        Smallest kept singular value at t = 0.
    rng : int or Generator

    Returns
    -------
    TestProblem

    Raises
    ------
    ValueError
        If ``r`` exceeds ``N`` or ``s_min`` is not positive.

    References
    ----------
    .. [1] E. Kieri, C. Lubich, H. Walach, Discretized dynamical low-rank approximation in the
       presence of small singular values, SIAM J. Numer. Anal. 54 (2016).

    Examples
    --------
    >>> from lowrank_la.dlra import small_singular_values_problem
    >>> tp = small_singular_values_problem(20, 4, 1e-6)
    >>> round(tp.best_error(0.0) / 1e-6, 3)
    0.577
    """
    N, r = check_int(N, "N", minimum=2), check_int(r, "r", minimum=1)
    if r >= N:
        raise ValueError(f"`r` must be smaller than `N` = {N}, got {r}")
    s_min = check_positive(s_min, "s_min")
    gen = check_rng(rng)
    W1, W2 = _skew(N, gen), _skew(N, gen)
    d = np.concatenate([2.0 ** -np.arange(r - 1), s_min * 2.0 ** -np.arange(N - r + 1)])
    tail = float(np.linalg.norm(d[r:]))
    import scipy.linalg

    @functools.lru_cache(maxsize=16)
    def rotations(t):
        return scipy.linalg.expm(t * W1), scipy.linalg.expm(t * W2)

    def exact(t):
        E1, E2 = rotations(float(t))
        return (E1 * (np.exp(t) * d)) @ E2.T

    @functools.lru_cache(maxsize=16)
    def velocity(t):  # F does not depend on Y: cache it per time (RK4 stages repeat times)
        At = exact(t)
        return W1 @ At + At + At @ W2.T

    problem = MatrixODE((N, N), lambda t, Y, W: velocity(float(t)) @ W,
                        lambda t, Y, W: velocity(float(t)).T @ W,
                        dense=lambda t, A: velocity(float(t)))
    Y0 = Factors(np.eye(N)[:, :r], np.diag(d[:r]), np.eye(N)[:, :r])
    return TestProblem(problem, Y0, exact, lambda t: float(np.exp(t) * tail),
                       {"N": N, "r": r, "s_min": s_min, "d": d})


def _laplacian(N, dx):
    import scipy.sparse

    return scipy.sparse.diags([np.ones(N - 1), -2 * np.ones(N), np.ones(N - 1)], [-1, 0, 1],
                              format="csr") / dx**2


def schrodinger_problem(N=100, r=5, *, coupling=0.5, rho=0.5, half_width=6.0):
    """Matrix Schrödinger equation ``i A' = H A + A Hᵀ + c X A X`` on a grid.

    ``H = -½ d²/dx² + ½ x²`` (finite differences on ``N`` points of ``[-a, a]``),
    ``X = diag(x)``: two harmonic oscillators with a bilinear coupling.  Initial value: the
    best rank-r approximation of a displaced correlated Gaussian
    ``exp(-((x-1)² + (y+½)² - 2ρ(x-1)(y+½)) / 2)``, normalized.  ``F`` is skew-Hermitian, so
    the norm is conserved; the problem is linear (``solver="expm"`` gives unitary sub-steps).

    Parameters
    ----------
    N, r : int
    coupling : float
        ``c``.
    rho : float
        Correlation of the initial Gaussian (``|rho| < 1``).
    half_width : float
        ``a``.

    Returns
    -------
    TestProblem
        ``exact`` is None (use :func:`dlra_factor_reference`).

    Raises
    ------
    ValueError
        Bad sizes or ``|rho| >= 1``.

    References
    ----------
    .. [1] C. Lubich, I. V. Oseledets, A projector-splitting integrator for dynamical low-rank
       approximation, BIT 54 (2014).

    Examples
    --------
    >>> from lowrank_la.dlra import schrodinger_problem
    >>> tp = schrodinger_problem(40, 3)
    >>> tp.problem.shape, tp.Y0.S.shape
    ((40, 40), (3, 3))
    """
    import scipy.sparse

    N, r = check_int(N, "N", minimum=3), check_int(r, "r", minimum=1)
    if r > N:
        raise ValueError(f"`r` must be at most `N` = {N}, got {r}")
    if not -1 < rho < 1:
        raise ValueError(f"`rho` must lie in (-1, 1), got {rho}")
    a = check_positive(half_width, "half_width")
    x = np.linspace(-a, a, N + 2)[1:-1]
    dx = x[1] - x[0]
    H = (-0.5 * _laplacian(N, dx) + scipy.sparse.diags(0.5 * x**2)).tocsr()
    X = scipy.sparse.diags(x).tocsr()
    mi = (-1j * H).tocsr()
    terms = [(mi, None), (None, mi), ((-1j * coupling) * X, X)]
    problem = LinearMatrixODE(terms)
    xx, yy = x[:, None] - 1.0, x[None, :] + 0.5
    A0 = np.exp(-(xx**2 + yy**2 - 2 * rho * xx * yy) / 2)
    U, s, Vh = np.linalg.svd(A0)
    s = s[:r] / np.linalg.norm(s[:r])
    Y0 = Factors(U[:, :r].astype(complex), np.diag(s).astype(complex),
                 Vh[:r].T.astype(complex))
    return TestProblem(problem, Y0, None, None,
                       {"N": N, "r": r, "x": x, "H": H, "X": X, "coupling": coupling})


def damped_source_problem(N=100, *, source_rank=3, max_rate=6.0, t_off=1.0, rng=0):
    """``A' = L A + A Lᵀ + φ(t) P Qᵀ`` with diagonal ``L``: the rank grows, then decays.

    ``L = -diag(linspace(0, max_rate/2, N))`` (decay rates ``λ_i + λ_j`` in ``[0, max_rate]``),
    a random rank-``source_rank`` source switched on for ``t < t_off`` (``φ = 1``, then 0) and
    ``A(0)`` of rank 1.  The exact solution is known entrywise, so the numerical rank of
    ``A(t)`` is known at every time.

    Parameters
    ----------
    N, source_rank : int
    max_rate, t_off : float
    rng : int or Generator

    Returns
    -------
    TestProblem

    Raises
    ------
    ValueError
        Bad sizes or non-positive rates.

    References
    ----------
    .. [1] G. Ceruti, J. Kusch, C. Lubich, A rank-adaptive robust integrator for dynamical
       low-rank approximation, BIT 62 (2022).

    Examples
    --------
    >>> from lowrank_la.dlra import damped_source_problem
    >>> tp = damped_source_problem(30)
    >>> tp.exact(0.0).shape
    (30, 30)
    """
    N = check_int(N, "N", minimum=2)
    k = check_int(source_rank, "source_rank", minimum=1)
    max_rate = check_positive(max_rate, "max_rate")
    t_off = check_positive(t_off, "t_off")
    gen = check_rng(rng)
    lam = -np.linspace(0.0, max_rate / 2, N)
    P = gen.standard_normal((N, k)) / np.sqrt(N)
    Q = gen.standard_normal((N, k)) / np.sqrt(N)
    u = gen.standard_normal(N)
    u /= np.linalg.norm(u)
    v = gen.standard_normal(N)
    v /= np.linalg.norm(v)
    A0 = np.outer(u, v)
    B = P @ Q.T
    mu = lam[:, None] + lam[None, :]

    def phi(t):
        return 1.0 if t < t_off else 0.0

    def exact(t):
        tau = min(t, t_off)
        with np.errstate(divide="ignore", invalid="ignore"):
            integral = np.where(mu == 0, tau, np.exp(mu * t) * (1 - np.exp(-mu * tau)) / mu)
        return np.exp(mu * t) * A0 + B * integral

    Ld = np.diag(lam)
    problem = LinearMatrixODE([(Ld, None), (None, Ld)], source=(P, Q), phi=phi)
    Y0 = Factors(u[:, None], np.ones((1, 1)), v[:, None])
    return TestProblem(problem, Y0, exact, None,
                       {"N": N, "lam": lam, "t_off": t_off, "source_rank": k})


def dlra_factor_reference(problem, Y0, t_span, *, rtol=1e-12, atol=1e-12, t_eval=None):
    """The DLRA solution from the factor ODEs (Koch-Lubich), with a tight DOP853 solve.

    ``U' = (I - UUᴴ) F V S⁻¹``, ``S' = Uᴴ F V``, ``V' = (I - VVᴴ) Fᴴ U S⁻ᴴ``: an independent
    reference for order tests.  It inverts ``S``, so it needs well-conditioned ``S`` (it breaks
    down with small singular values: that is the point of the robust integrators).  NumPy only.

    Parameters
    ----------
    problem : MatrixODE
    Y0 : Factors
        Initial value with orthonormal ``U``, ``V``.
    t_span : (float, float)
    rtol, atol : float
        ``solve_ivp`` tolerances.
    t_eval : sequence of float, optional
        Output times (default: the final time).

    Returns
    -------
    list of Factors
        The solution at each output time.

    Raises
    ------
    RuntimeError
        If the ODE solver fails.

    References
    ----------
    .. [1] O. Koch, C. Lubich, Dynamical low-rank approximation, SIAM J. Matrix Anal. Appl. 29
       (2007).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.dlra import Factors, MatrixODE, dlra_factor_reference
    >>> ode = MatrixODE.from_dense(lambda t, A: -A, (3, 3))
    >>> Y0 = Factors(np.eye(3)[:, :1], np.eye(1), np.eye(3)[:, :1])
    >>> Y1 = dlra_factor_reference(ode, Y0, (0.0, 1.0))[-1]
    >>> bool(abs(Y1.to_dense()[0, 0] - np.exp(-1.0)) < 1e-9)
    True
    """
    from scipy.integrate import solve_ivp

    U0, S0, V0 = (np.asarray(X) for X in Y0)
    m, r = U0.shape
    n = V0.shape[0]
    dtype = np.result_type(U0, S0, V0, np.float64)
    sizes = (m * r, r * r, n * r)

    def unpack(y):
        a, b = sizes[0], sizes[0] + sizes[1]
        return y[:a].reshape(m, r), y[a:b].reshape(r, r), y[b:].reshape(n, r)

    def fun(t, y):
        U, S, V = unpack(y)
        Y = Factors(U, S, V)
        FV = problem.apply_right(t, Y, V)
        FhU = problem.apply_left(t, Y, U)
        Sd = U.conj().T @ FV
        Sinv = np.linalg.inv(S)
        dU = (FV - U @ Sd) @ Sinv
        dV = (FhU - V @ Sd.conj().T) @ Sinv.conj().T
        return np.concatenate([dU.ravel(), Sd.ravel(), dV.ravel()])

    y0 = np.concatenate([U0.ravel(), S0.ravel(), V0.ravel()]).astype(dtype)
    t_eval = [t_span[1]] if t_eval is None else list(t_eval)
    sol = solve_ivp(fun, t_span, y0, method="DOP853", rtol=rtol, atol=atol, t_eval=t_eval)
    if not sol.success:
        raise RuntimeError(f"factor ODE solve failed: {sol.message}")
    return [Factors(*unpack(sol.y[:, i])) for i in range(sol.y.shape[1])]
