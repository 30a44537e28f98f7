"""Factorized solvers for (over-parameterized) matrix sensing: GD, ScaledGD / ScaledGD(lambda)
and the subgradient method on the l1 loss.

All three share one driver (:func:`_iterate`): it validates, initializes, runs the update rule
of the method, records the history (loss, relative residual, relative error to ``M_true``,
singular values of the iterate, step size, wall time), detects convergence and divergence, and
calls the callback.  A method is only its update rule.

Stopping: converged when ``||A(X_t) - y|| <= rtol ||y||``, or ``loss <= atol``, or (with
``M_true`` and ``etol``) ``||X_t - M*||_F <= etol ||M*||_F``.  Diverged when the loss is not
finite or exceeds ``divergence_factor`` times its initial value.  Each iteration brings one
scalar (the residual norm) to the host to decide; the singular values and the error are
computed only when asked for.
"""

from __future__ import annotations

import logging
import math
import time

from .._result import History, Result, warn_not_converged
from .._validation import (
    check_array,
    check_fraction,
    check_int,
    check_nonnegative,
    check_option,
    check_positive,
    check_rank,
    check_rng,
    check_same_backend,
)
from ._base import MeasurementOperator
from ._factors import FactorModel, initial_factors, rebalance

__all__ = ["gd", "scaled_gd", "subgradient"]

logger = logging.getLogger("lowrank_la")

_STATUS = {
    0: "converged",
    1: "maximum number of iterations reached",
    2: "diverged",
    3: "stopped by the callback",
}

_COMMON = """operator : MeasurementOperator
        The measurement operator ``A`` (:class:`GaussianMeasurements`, ...).
    y : array, shape (m,)
        The measurements; the solution comes back in its namespace, device and float dtype.
    rank : int
        Search rank ``k`` of the factors; may exceed the (unknown) true rank.
    factorization : {None, "symmetric", "asymmetric"}
        ``X X^T`` (PSD ground truth) or ``L R^T``.  Default: symmetric when the operator's
        sensing matrices are symmetric.
    init : {"small", "spectral"}, array or (array, array)
        Small random initialization ``alpha G`` with ``G`` iid ``N(0, 1/n)``; the top-``k``
        part of ``A*(y)`` (spectral); or given factors ``X0`` / ``(L0, R0)`` (copied).
    alpha : float
        Scale of the small initialization (of ``L`` in the asymmetric case).
    alpha_right : float, optional
        Scale of ``R``'s small initialization (default ``alpha``).
    maxiter : int
        Maximum number of iterations.
    rtol : float, optional
        Stop when ``||A(X_t) - y|| <= rtol ||y||`` (default ``1e-10``, ``1e-5`` in float32).
    atol : float
        Stop when the loss is ``<= atol``.
    etol : float, optional
        With ``M_true``: stop when the relative error is ``<= etol``.
    M_true : array, optional
        Ground truth; records ``||X_t - M*||_F / ||M*||_F`` per iteration in
        ``history["error"]``.
    track_singular_values : bool
        Record the ``k`` singular values of the iterate per iteration in ``history["sv"]``.
    divergence_factor : float
        Declare divergence when the loss exceeds this multiple of its initial value.
    callback : callable, optional
        ``callback(state)`` after each iteration, ``state`` a :class:`~lowrank_la.Result` with
        ``nit``, the factors, ``loss``, ``residual`` and ``error``; raise ``StopIteration`` to
        stop (the result so far is returned with ``status=3``).
    rng : None, int or numpy.random.Generator
        Randomness of the small initialization.
    verbose : bool
        Log progress on the ``"lowrank_la"`` logger (INFO)."""

_RETURNS = """Returns
    -------
    Result
        ``X`` (symmetric) or ``L`` and ``R`` (asymmetric) factors; ``estimate`` (a
        :class:`~lowrank_la.LowRankMatrix`); ``success``, ``status`` (0 converged, 1 maxiter,
        2 diverged, 3 callback), ``message``, ``nit``; ``history`` with per-iteration
        ``loss``, ``residual`` (relative), ``step``, ``time`` (seconds since the start), and
        ``error`` / ``sv`` when requested.  Entry 0 of the history is the initialization.

    Raises
    ------
    ValueError
        On bad sizes (``y`` not of length ``m``, ``rank <= 0``, factors of the wrong shape),
        negative or non-finite step parameters, or NaN/inf in ``y``/``M_true``/``init``.
    TypeError
        If ``operator`` is not a :class:`MeasurementOperator` or arrays mix backends.

    Warns
    -----
    ConvergenceWarning
        When the iteration stops without meeting the tolerance (maxiter or divergence)."""


def _doc(fn):
    fn.__doc__ = fn.__doc__.replace("{common}", _COMMON).replace("{returns}", _RETURNS)
    return fn


def _prepare(operator, y, rank, factorization, M_true):
    if not isinstance(operator, MeasurementOperator):
        raise TypeError(
            f"`operator` must be a MeasurementOperator, got {type(operator).__name__}")
    check_array(y, "y", ndim=1)
    if y.shape[0] != operator.m:
        raise ValueError(
            f"`y` must have length m={operator.m} (the operator's), got shape {tuple(y.shape)}")
    bk = check_same_backend(("y", y), ("M_true", M_true))
    operator._check_backend(y, "y")
    n1, n2 = operator.shape
    rank = check_rank(rank, maximum=min(n1, n2))
    if factorization is None:
        factorization = "symmetric" if operator.symmetric else "asymmetric"
    check_option(factorization, "factorization", {"symmetric", "asymmetric"})
    symmetric = factorization == "symmetric"
    if symmetric and n1 != n2:
        raise ValueError(f"`factorization='symmetric'` needs a square operator, got {n1}x{n2}")
    dtype = bk.float_dtype(y)
    if operator.dtype != dtype:
        if not hasattr(operator, "astype"):
            raise TypeError(f"`operator` has dtype {operator.dtype} but `y` {y.dtype}")
        operator = operator.astype(dtype)
    y = bk.xp.astype(y, dtype)
    if M_true is not None:
        check_array(M_true, "M_true", shape=(n1, n2))
        M_true = bk.xp.astype(M_true, dtype)
    return operator, y, rank, symmetric, dtype, bk, M_true


def _iterate(update, operator, y, rank, *, factorization, init, alpha, alpha_right, maxiter,
             rtol, atol, etol, M_true, track_singular_values, divergence_factor, callback, rng,
             verbose, loss, name, extra_checks=None, rebalance_at=None, rebalance_tol=None):
    operator, y, rank, symmetric, dtype, bk, M_true = _prepare(
        operator, y, rank, factorization, M_true)
    xp = bk.xp
    alpha = check_positive(alpha, "alpha")
    alpha_right = alpha if alpha_right is None else check_positive(alpha_right, "alpha_right")
    maxiter = check_int(maxiter, "maxiter", minimum=0)
    if rtol is None:
        rtol = 1e-5 if dtype == xp.float32 else 1e-10
    rtol = check_nonnegative(rtol, "rtol")
    atol = check_nonnegative(atol, "atol")
    if etol is not None:
        etol = check_nonnegative(etol, "etol")
        if M_true is None:
            raise ValueError("`etol` needs `M_true`")
    divergence_factor = check_positive(divergence_factor, "divergence_factor")
    if not (isinstance(init, str) and init in ("small", "spectral")) and isinstance(init, str):
        raise ValueError(f"`init` must be 'small', 'spectral' or factor arrays, got {init!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"`callback` must be callable, got {type(callback).__name__}")
    if (rebalance_at is not None or rebalance_tol is not None) and symmetric:
        raise ValueError("the one-step modification (`rebalance_at`/`rebalance_tol`) needs the "
                         "asymmetric factorization")
    if rebalance_at is not None:
        rebalance_at = check_int(rebalance_at, "rebalance_at", minimum=0)
    if rebalance_tol is not None:
        rebalance_tol = check_fraction(rebalance_tol, "rebalance_tol")
    if extra_checks is not None:
        extra_checks()
    rng = check_rng(rng)

    model = FactorModel(operator, y, symmetric=symmetric, loss=loss)
    F = initial_factors(model, init, rank, alpha, alpha_right, rng, dtype)
    M_norm = None
    if M_true is not None:
        M_norm = max(float(xp.sqrt(xp.sum(M_true * M_true))), 1e-300)

    history = History()
    t_start = time.perf_counter()
    r = model.residual(F)
    f = model.loss(r)
    f0 = f
    rebalanced = rebalance_at is None and rebalance_tol is None

    def record(F, r, f, step):
        metrics = {"loss": f, "residual": model.relative_residual(r), "step": step,
                   "time": time.perf_counter() - t_start}
        if M_true is not None:
            metrics["error"] = model.relative_error(F, M_true, M_norm)
        if track_singular_values:
            metrics["sv"] = model.singular_values(F)
        history.record(**metrics)
        return metrics

    def done(metrics):
        if metrics["residual"] <= rtol or metrics["loss"] <= atol:
            return True
        return etol is not None and metrics["error"] <= etol

    metrics = record(F, r, f, 0.0)
    reason = ""
    status = 0 if done(metrics) else 1
    nit = 0
    log_every = max(1, maxiter // 20)
    while status == 1 and nit < maxiter:
        if not rebalanced and (
            (rebalance_at is not None and nit >= rebalance_at)
            or (rebalance_tol is not None and metrics["residual"] <= rebalance_tol)
        ):
            F = rebalance(model, F)
            rebalanced = True
            logger.info("%s: one-step rebalancing at iteration %d", name, nit)
        try:
            F, step = update(model, F, r, nit, f)
        except ArithmeticError as exc:  # a singular preconditioner: nothing sensible to do
            status, reason = 2, f" ({exc})"
            break
        except (RuntimeError, ValueError) as exc:  # LinAlgError of numpy / torch
            if "singular" not in str(exc).lower() and "positive" not in str(exc).lower():
                raise
            status, reason = 2, f" (preconditioner not positive definite: {exc})"
            break
        nit += 1
        r = model.residual(F)
        f = model.loss(r)
        if not math.isfinite(f) or f > divergence_factor * max(f0, 1e-300):
            metrics = {"loss": f}
            history.record(loss=f, step=step, time=time.perf_counter() - t_start)
            status, reason = 2, f" (loss {f:.3g} from {f0:.3g})"
            break
        metrics = record(F, r, f, step)
        if verbose and (nit % log_every == 0 or nit == 1):
            logger.info("%s it %d: loss %.3e, residual %.3e%s", name, nit, f,
                        metrics["residual"],
                        f", error {metrics['error']:.3e}" if "error" in metrics else "")
        if done(metrics):
            status = 0
            break
        if callback is not None:
            state = Result(nit=nit, loss=f, residual=metrics["residual"],
                           error=metrics.get("error"), **_named(F, symmetric))
            try:
                callback(state)
            except StopIteration:
                status = 3
                break
    message = _STATUS[status] + (reason if status == 2 else "")
    if status in (1, 2):
        warn_not_converged(f"{name}: {message} after {nit} iterations (relative residual "
                           f"{metrics.get('residual', float('nan')):.3g})")
    from ..linalg import LowRankMatrix

    estimate = LowRankMatrix(F[0], None, F[0] if symmetric else F[1])
    return Result(success=status == 0, status=status, message=message, nit=nit,
                  history=history, estimate=estimate, **_named(F, symmetric))


def _named(F, symmetric):
    return {"X": F[0]} if symmetric else {"L": F[0], "R": F[1]}


def _default_step(model_op, y, scale):
    """``scale / sigma_1(A*(y))``: the top singular value of ``A*(y)`` estimates ``||M||_2``."""
    bk = model_op.backend
    s = bk.linalg.svd(model_op.adjoint(y))[1]
    return scale / max(float(bk.to_host(s[:1])[0]), 1e-300)


@_doc
def gd(operator, y, rank, *, factorization=None, init="small", alpha=1e-3, alpha_right=None,
       step=None, maxiter=1000, rtol=None, atol=0.0, etol=None, M_true=None,
       track_singular_values=False, rebalance_at=None, rebalance_tol=None,
       divergence_factor=1e8, callback=None, rng=None, verbose=False):
    """Gradient descent on the factors of the l2 sensing loss (Burer-Monteiro).

    Symmetric: ``f(X) = 1/4 ||A(X X^T) - y||^2``, ``X <- X - eta sym(A*(r)) X``.
    Asymmetric: ``f(L, R) = 1/2 ||A(L R^T) - y||^2``, ``L <- L - eta A*(r) R``,
    ``R <- R - eta A*(r)^T L`` (simultaneous), with ``r = A(L R^T) - y``.

    With ``rebalance_at`` or ``rebalance_tol`` (asymmetric only) it runs the one-step
    modification of Xiong, Ding and Du: once, it replaces ``(L, R)`` by
    ``(c L (L^T L)^{-1/2}, R (L^T L)^{1/2} / c)`` (same product, ``c^2 = ||L R^T||_2``), after
    which the over-parameterized GD no longer converges at a rate ``~ alpha^2`` set by the
    initialization scale but at the exact-rank rate.  The constants of this step follow our
    reading of the paper; see the sensing docs page.

    Parameters
    ----------
    {common}
    step : float, optional
        Step size ``eta`` (default ``0.5 / sigma_1(A*(y))``, ``sigma_1(A*(y))`` estimating
        ``||M*||_2``).
    rebalance_at : int, optional
        Iteration of the one-step modification.
    rebalance_tol : float in (0, 1), optional
        Apply the one-step modification once the relative residual is below this value.

    {returns}

    References
    ----------
    .. [1] N. Xiong, L. Ding, S. S. Du, "How over-parameterization slows down gradient descent
       in matrix sensing: the curses of symmetry and initialization", ICLR 2024.
    .. [2] J. Jin, Z. Li, K. Lyu, S. S. Du, J. D. Lee, "Understanding incremental learning of
       gradient descent: a fine-grained analysis of matrix sensing", ICML 2023.

    Examples
    --------
    >>> from lowrank_la.sensing import make_sensing_problem, gd
    >>> P = make_sensing_problem(12, 2, 200, kappa=2.0, rng=0)
    >>> res = gd(P.operator, P.y, 2, M_true=P.M_true, rng=0, maxiter=3000)
    >>> res.success, res.history["error"][-1] < 1e-8
    (True, True)
    """
    def checks():
        if step is not None:
            check_positive(step, "step")

    eta = [step]

    def update(model, F, r, t, f):
        if eta[0] is None:
            eta[0] = _default_step(model.op, model.y, 0.5)
        G = model.gradient(F, r)
        return tuple(x - eta[0] * g for x, g in zip(F, G)), eta[0]

    return _iterate(update, operator, y, rank, factorization=factorization, init=init,
                    alpha=alpha, alpha_right=alpha_right, maxiter=maxiter, rtol=rtol, atol=atol,
                    etol=etol, M_true=M_true, track_singular_values=track_singular_values,
                    divergence_factor=divergence_factor, callback=callback, rng=rng,
                    verbose=verbose, loss="l2", name="gd", extra_checks=checks,
                    rebalance_at=rebalance_at, rebalance_tol=rebalance_tol)


@_doc
def scaled_gd(operator, y, rank, *, damping=0.0, factorization=None, init=None, alpha=1e-8,
              alpha_right=None, step=0.5, maxiter=1000, rtol=None, atol=0.0, etol=None,
              M_true=None, track_singular_values=False, divergence_factor=1e8, callback=None,
              rng=None, verbose=False):
    """Scaled gradient descent: ScaledGD (``damping=0``) and ScaledGD(lambda) (``damping>0``).

    Symmetric: ``X <- X - eta sym(A*(r)) X (X^T X + lambda I)^{-1}``.
    Asymmetric: ``L <- L - eta A*(r) R (R^T R + lambda I)^{-1}``,
    ``R <- R - eta A*(r)^T L (L^T L + lambda I)^{-1}`` (simultaneous).  The preconditioner makes
    the rate independent of the condition number of ``M*``; with ``damping=0`` the iterates are
    invariant under ``L -> L Q``, ``R -> R Q^{-T}``.  ScaledGD (Tong, Ma, Chi) starts from the
    spectral initialization; ScaledGD(lambda) (Xu, Shen, Chi, Ma) from a small random one with
    ``lambda`` of the order of the smallest nonzero singular value of ``M*`` (much smaller
    values can stall around 1e-5 when over-parameterized).  When over-parameterized, the
    accuracy reached is limited by the initialization scale (about ``alpha / 10`` relative
    error in our runs), hence the small default ``alpha``.

    Parameters
    ----------
    {common}
    damping : float
        ``lambda >= 0``.  ``0`` needs full-rank factors, i.e. the spectral or a given
        initialization and no over-parameterization.
    step : float
        Step size ``eta`` (scale-free; 0.5 in the papers).

    {returns}

    Notes
    -----
    ``init=None`` means ``"spectral"`` for ``damping=0`` and ``"small"`` otherwise.

    References
    ----------
    .. [1] T. Tong, C. Ma, Y. Chi, "Accelerating ill-conditioned low-rank matrix estimation via
       scaled gradient descent", JMLR 22 (2021).
    .. [2] X. Xu, Y. Shen, Y. Chi, C. Ma, "The power of preconditioning in overparameterized
       low-rank matrix sensing", ICML 2023.

    Examples
    --------
    >>> from lowrank_la.sensing import make_sensing_problem, scaled_gd
    >>> P = make_sensing_problem(12, 2, 200, kappa=20.0, rng=0)
    >>> res = scaled_gd(P.operator, P.y, 3, damping=0.05, M_true=P.M_true, etol=1e-8, rng=0)
    >>> res.success, res.nit < 200           # over-parameterized (3 > 2), kappa = 20
    (True, True)
    """
    if init is None:
        init = "spectral" if damping == 0 else "small"

    def checks():
        check_positive(step, "step")
        check_nonnegative(damping, "damping")

    def update(model, F, r, t, f):
        xp = model.xp
        G = model.gradient(F, r)
        eye = xp.eye(F[0].shape[1], dtype=F[0].dtype, device=model.bk.device) * damping
        spd = model.bk.linalg.spd_solve
        if model.symmetric:
            X = F[0]
            P = spd(xp.matrix_transpose(X) @ X + eye, xp.matrix_transpose(G[0]))
            return (X - step * xp.matrix_transpose(P),), step
        L, R = F
        PL = spd(xp.matrix_transpose(R) @ R + eye, xp.matrix_transpose(G[0]))
        PR = spd(xp.matrix_transpose(L) @ L + eye, xp.matrix_transpose(G[1]))
        return (L - step * xp.matrix_transpose(PL), R - step * xp.matrix_transpose(PR)), step

    return _iterate(update, operator, y, rank, factorization=factorization, init=init,
                    alpha=alpha, alpha_right=alpha_right, maxiter=maxiter, rtol=rtol, atol=atol,
                    etol=etol, M_true=M_true, track_singular_values=track_singular_values,
                    divergence_factor=divergence_factor, callback=callback, rng=rng,
                    verbose=verbose, loss="l2", name="scaled_gd", extra_checks=checks)


@_doc
def subgradient(operator, y, rank, *, steps="geometric", step0=2.0, decay=0.95, f_opt=0.0,
                factorization=None, init="small", alpha=1e-6, alpha_right=None, maxiter=1000,
                rtol=None, atol=0.0, etol=None, M_true=None, track_singular_values=False,
                divergence_factor=1e8, callback=None, rng=None, verbose=False):
    """Subgradient method (SubGM) on the l1 loss, robust to outliers.

    Loss ``(1/sqrt(m)) ||A(L R^T) - y||_1`` (asymmetric) or half of it with ``L = R = X``
    (symmetric); with our ``N(0, 1/m)`` design this is Ma and Fattahi's
    ``(1/m) ||y - A(U U^T)||_1`` for ``N(0, 1)`` sensing matrices.  Update
    ``X <- X - eta_t D_t`` with the subgradient ``D_t = sym(A*(s)) X`` (``s = sign(r)/sqrt(m)``),
    or ``(A*(s) R, A*(s)^T L)`` for the factors ``L, R``.  For large ``m``, ``D_t`` is about
    ``sqrt(2/pi) (E / ||E||_F) X`` with ``E = X X^T - M*``: the step is scale-free.

    Parameters
    ----------
    {common}
    steps : {"geometric", "constant", "polyak"}
        ``eta_t = step0 * decay**t``; ``eta_t = step0``; or Polyak's
        ``eta_t = (f(X_t) - f_opt) / ||D_t||_F^2``.  With a small initialization, the budget
        ``step0 / (1 - decay)`` must be large compared with ``log(1/alpha)``.
    step0 : float
        Initial (or constant) step.
    decay : float in (0, 1]
        Geometric decay ``q``.
    f_opt : float
        Optimal loss value for Polyak steps (0 for noiseless data; with outliers the l1 loss of
        the ground truth, usually unknown).

    {returns}

    References
    ----------
    .. [1] J. Ma, S. Fattahi, "Global convergence of sub-gradient method for robust matrix
       recovery: small initialization, noisy measurements, and over-parameterization",
       JMLR 24 (2023).

    Examples
    --------
    >>> from lowrank_la.sensing import make_sensing_problem, subgradient
    >>> P = make_sensing_problem(10, 2, 300, outlier_fraction=0.1, rng=0)
    >>> res = subgradient(P.operator, P.y, 4, M_true=P.M_true, maxiter=400, etol=1e-6, rng=0)
    >>> res.success                       # exact recovery despite 10% gross outliers
    True
    """
    def checks():
        check_option(steps, "steps", {"geometric", "constant", "polyak"})
        check_positive(step0, "step0")
        check_positive(decay, "decay")
        if decay > 1:
            raise ValueError(f"`decay` must lie in (0, 1], got {decay}")
        check_nonnegative(f_opt, "f_opt")

    def update(model, F, r, t, f):
        D = model.gradient(F, r)
        if steps == "geometric":
            eta = step0 * decay**t
        elif steps == "constant":
            eta = step0
        else:
            xp = model.xp
            g2 = sum(float(xp.sum(d * d)) for d in D)
            eta = max(f - f_opt, 0.0) / max(g2, 1e-300)
        return tuple(x - eta * d for x, d in zip(F, D)), eta

    return _iterate(update, operator, y, rank, factorization=factorization, init=init,
                    alpha=alpha, alpha_right=alpha_right, maxiter=maxiter, rtol=rtol, atol=atol,
                    etol=etol, M_true=M_true, track_singular_values=track_singular_values,
                    divergence_factor=divergence_factor, callback=callback, rng=rng,
                    verbose=verbose, loss="l1", name="subgradient", extra_checks=checks)
