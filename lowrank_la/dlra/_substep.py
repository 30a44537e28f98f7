"""Sub-step solvers for the K-, L- and S-flows.

``"rk4"``
    Classical Runge-Kutta with ``nsub`` steps per window, on any backend.  Exact when the flow's
    right-hand side is a cubic polynomial in ``t`` (Simpson); explicit, so stiff operators need
    ``h / nsub * |λ_max| < 2.8``.
``"expm"``
    Exact exponential of a linear flow ``X' = Σ op(X) M + φ C`` (SciPy: ``expm`` of the small
    Kronecker matrix, ``expm_multiply`` on a ``LinearOperator`` otherwise), with the constant source
    folded in through one extra unknown.  NumPy arrays only; unitary for skew-Hermitian flows.
``"solve_ivp"``
    :func:`scipy.integrate.solve_ivp` (default ``DOP853``, ``rtol=1e-10``, ``atol=1e-12``: SciPy's
    default ``rtol=1e-3`` would dominate every integrator error).  NumPy arrays only.
"""

from __future__ import annotations

import numpy as np

from .._backend import get_backend

__all__ = ["solve_flow", "SOLVERS"]

SOLVERS = ("auto", "rk4", "expm", "solve_ivp")

# Kronecker matrices up to this many unknowns go through dense expm (r x r cores, 2r x 2r cores).
_DENSE_EXPM_MAX = 100


def resolve_solver(solver, problem, bk) -> str:
    if solver == "auto":
        return "expm" if problem.is_linear and bk.name == "numpy" else "rk4"
    if solver in ("expm", "solve_ivp") and bk.name != "numpy":
        raise ValueError(
            f"`solver`={solver!r} runs on SciPy and needs NumPy arrays, got {bk.name} arrays; "
            "use solver='rk4' for other backends")
    if solver == "expm" and not problem.is_linear:
        raise ValueError("`solver`='expm' needs a LinearMatrixODE; use 'rk4' or 'solve_ivp'")
    return solver


def solve_flow(flow, X0, t0: float, t1: float, *, solver: str = "rk4", nsub: int = 1,
               options: dict | None = None):
    """Integrate ``X' = flow.rhs(t, X)`` from ``X(t0) = X0`` to ``t1``; return ``X(t1)``."""
    if t1 == t0:
        return X0
    if solver == "rk4":
        return _rk4(flow, X0, t0, t1, nsub)
    if solver == "expm":
        return _expm(flow, X0, t0, t1, nsub)
    if solver == "solve_ivp":
        return _ivp(flow, X0, t0, t1, options or {})
    raise ValueError(f"`solver` must be one of {SOLVERS}, got {solver!r}")


def _rk4(flow, X, t0, t1, nsub):
    dt = (t1 - t0) / nsub
    t = t0
    for _ in range(nsub):
        k1 = flow.rhs(t, X)
        k2 = flow.rhs(t + dt / 2, X + (dt / 2) * k1)
        k3 = flow.rhs(t + dt / 2, X + (dt / 2) * k2)
        k4 = flow.rhs(t + dt, X + dt * k3)
        X = X + (dt / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        t = t0 + (t1 - t0) * (_ + 1) / nsub
    return X


def _ivp(flow, X0, t0, t1, options):
    from scipy.integrate import solve_ivp

    opts = {"method": "DOP853", "rtol": 1e-10, "atol": 1e-12}
    opts.update(options)
    shape, dtype = X0.shape, X0.dtype
    work = np.result_type(dtype, np.float64)

    def fun(t, x):
        return np.asarray(flow.rhs(t, x.reshape(shape).astype(dtype, copy=False)),
                          dtype=work).ravel()

    sol = solve_ivp(fun, (t0, t1), np.asarray(X0, dtype=work).ravel(), **opts)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed in a sub-step: {sol.message}")
    return sol.y[:, -1].reshape(shape).astype(dtype, copy=False)


def _expm(flow, X0, t0, t1, nsub):
    import scipy.linalg
    import scipy.sparse.linalg as spla

    X = np.asarray(X0)
    p, q = X.shape
    sign = flow.sign
    Ms = [np.asarray(M) for _, M in flow.terms]
    C = None if flow.source is None else np.asarray(flow.source)
    dtype = np.result_type(X, *Ms, *(() if C is None else (C,)),
                           *(op.A.dtype for op, _ in flow.terms if op.A is not None), np.float64)
    ntot = p * q + (1 if C is not None else 0)
    dt_all = (t1 - t0) / nsub
    dense = p * q <= _DENSE_EXPM_MAX
    if dense:
        # row-major vec: vec(op X M) = (op ⊗ Mᵀ) vec(X)
        G = np.zeros((ntot, ntot), dtype=dtype)
        for (op, _), M in zip(flow.terms, Ms):
            G[:p * q, :p * q] += np.kron(op.dense_host(), M.T)
        G *= sign
    trace = sum(op.trace() * complex(np.trace(M)) for (op, _), M in zip(flow.terms, Ms)) * sign
    if np.dtype(dtype).kind != "c":
        trace = trace.real
    x = np.empty(ntot, dtype=dtype)
    x[:p * q] = X.ravel()
    if C is not None:
        # The extra unknown carries the source; scaling it by 1/gamma (and the source column by
        # gamma) leaves the solution unchanged but keeps the operator's 1-norm near that of the
        # linear part, which sets expm_multiply's number of products (without it: ~ ||C||_1).
        gamma = 1.0 / max(1.0, float(np.sum(np.abs(C))))
        C = gamma * C
        x[-1] = 1.0 / gamma
    for i in range(nsub):
        a = t0 + (t1 - t0) * i / nsub
        phi = flow.phi_at(a + dt_all / 2) if C is not None else 0.0
        if dense:
            Gi = G.copy()
            if C is not None:
                Gi[:p * q, -1] = sign * phi * C.ravel()
            x = scipy.linalg.expm(dt_all * Gi) @ x
        else:
            op_ = _AugmentedOperator(flow.terms, Ms, C, phi, sign * dt_all, p, q, dtype)
            x = spla.expm_multiply(op_, x, traceA=dt_all * trace)
    return x[:p * q].reshape(p, q).astype(X.dtype if X.dtype.kind == np.dtype(dtype).kind
                                          else dtype, copy=False)


def _AugmentedOperator(terms, Ms, C, phi, scale, p, q, dtype):
    """``LinearOperator`` of ``[X; s] -> scale [Σ op(X) M + s φ C; 0]``, with block products.

    ``_matmat`` applies every term to all columns at once (one sparse product per term), which
    matters because ``expm_multiply``'s norm estimates work on blocks.
    """
    import scipy.sparse.linalg as spla

    n = p * q + (1 if C is not None else 0)
    fwd = [(op, scale * M) for (op, _), M in zip(terms, Ms)]
    adj = [(op.adjoint(), np.conj(scale * M).T) for (op, _), M in zip(terms, Ms)]
    c = None if C is None else (scale * phi * C).reshape(p * q, 1)

    def apply(pairs, V, source_fwd):
        k = V.shape[1]
        X = V[:p * q].reshape(p, q, k)
        out = np.zeros((n, k), dtype=dtype)
        acc = out[:p * q].reshape(p, q, k)
        for op, M in pairs:
            Y = op.matmat(X.reshape(p, q * k)).reshape(p, q, k)
            if k == 1:
                acc[:, :, 0] += Y[:, :, 0] @ M
            else:
                acc += np.matmul(Y.transpose(0, 2, 1), M).transpose(0, 2, 1)
        if c is not None:
            if source_fwd:
                out[:p * q] += c * V[-1][None, :]
            else:
                out[-1] = c.conj().T @ V[:p * q]
        return out

    class Aug(spla.LinearOperator):
        def __init__(self):
            super().__init__(dtype=np.dtype(dtype), shape=(n, n))

        def _matmat(self, V):
            return apply(fwd, np.asarray(V).reshape(n, -1), True)

        def _matvec(self, v):
            return self._matmat(np.asarray(v).reshape(n, 1))[:, 0]

        def _rmatmat(self, W):
            return apply(adj, np.asarray(W).reshape(n, -1), False)

        def _rmatvec(self, w):
            return self._rmatmat(np.asarray(w).reshape(n, 1))[:, 0]

        def _adjoint(self):
            return spla.LinearOperator((n, n), matvec=self._rmatvec, rmatvec=self._matvec,
                                       matmat=self._rmatmat, rmatmat=self._matmat,
                                       dtype=self.dtype)

    return Aug()


def check_finite_state(X, what, t0, t1):
    bk = get_backend(X)
    if not bool(bk.xp.all(bk.xp.isfinite(X))):
        raise ValueError(
            f"the {what} over [{t0:g}, {t1:g}] produced NaN or inf: `problem` returned non-finite "
            "values of F, or the sub-step solver is unstable (explicit RK4 on a stiff operator "
            "needs more `nsub` or solver='expm')")
