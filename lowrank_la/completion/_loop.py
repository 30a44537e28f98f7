"""The outer loop shared by every completion driver (in memory and on a Dask cluster).

A driver supplies one ``sweep(it, U, V) -> (U, V, info)`` callable; this module does the rest the
same way for all of them: the residual, divergence guard, per-sweep history, validation and
early stopping, callback, stopping rules and the final status, message and warning.
"""

from __future__ import annotations

import logging
import math
import time

from .._result import warn_not_converged
from ..linalg import LowRankMatrix
from ._altmin import balance, orthonormalize_transfer
from ._factor_ops import ARRAY_FACTORS
from ._stopping import CALLBACK, CONVERGED, DIVERGED, EARLY_STOPPED, MAXITER, stopping_rule

__all__ = ["run_sweeps", "alternate"]

logger = logging.getLogger("lowrank_la")


def alternate(col_solve, row_solve, U, V, reg, ops=ARRAY_FACTORS):
    """One altmin sweep: update ``V``, renormalize, update ``U``, renormalize.

    ``col_solve(U, V) -> (V, info, ...)`` and ``row_solve(V, U) -> (U, info[, sq])`` solve the
    per-column and per-row regressions.  Without a ridge the updated factor is orthonormalized
    and its triangular factor moved into the other (``U Vᵀ`` unchanged, warm starts consistent);
    with a ridge the pair is balanced instead (see :func:`balance`).  Returns ``U``, ``V`` and
    an info dict (inner steps and worst relative residual over both halves, incoherence of each
    factor, and ``sq`` when ``row_solve`` returned the squared residual).  ``ops`` holds the
    tall-factor operations (see :mod:`._factor_ops`).
    """
    out = col_solve(U, V)
    V, info_v = out[0], out[1]
    if reg > 0:
        U, V, mu_u, mu_v = balance(U, V, ops)
    else:
        V, U = orthonormalize_transfer(V, U, ops)
        mu_v = ops.incoherence(V)
    out = row_solve(V, U)
    U, info = out[0], dict(out[1])
    if reg > 0:
        U, V, mu_u, mu_v = balance(U, V, ops)
    else:
        U, V = orthonormalize_transfer(U, V, ops)
        mu_u = ops.incoherence(U)
    if info_v["inner_residual"] is not None:
        info["inner_residual"] = max(info["inner_residual"], info_v["inner_residual"])
        info["inner_steps"] = max(info["inner_steps"], info_v["inner_steps"])
    info.update(incoherence_U=mu_u, incoherence_V=mu_v)
    if len(out) > 2:
        info["sq"] = out[2]
    return U, V, info


def run_sweeps(sweep, residual_sq, U, V, result, *, label, maxiter, tol, tol_eff, rtol,
               values_norm, patience, stall_window, orthonormal_U, validation, reference,
               callback, verbose, finalize=None, ops=ARRAY_FACTORS):
    """Iterate ``sweep`` until a stopping rule fires; fill and return ``result``.

    Parameters
    ----------
    sweep : callable
        ``sweep(it, U, V) -> (U, V, info)``; ``info`` may hold ``inner_steps``,
        ``inner_residual``, ``incoherence_U``, ``incoherence_V``, ``sq`` (the squared residual
        on Ω, when the sweep computed it) and ``change`` (a relative change of the estimate
        that replaces the residual's in the rtol rule, e.g. softImpute's).
    residual_sq : callable
        ``residual_sq(U, V) -> float``: ``||P_Ω(U Vᵀ - M)||²`` when ``info`` has no ``sq``.
    result : CompletionResult
        Pre-filled with everything but the iterates and the status; updated in place.
    label : str
        Names the routine in the log and the warning.
    stall_window : int or None
        ``None`` disables the stall rule.
    orthonormal_U : bool or None
        Whether ``U`` has orthonormal columns (cheaper subspace change); ``None`` skips the
        subspace-change metric.
    finalize : callable, optional
        ``finalize(U, V) -> (U, V)`` applied to the iterate returned (the last one, or the best
        by validation) unless the run diverged.
    ops : ArrayFactors-like
        How to inspect the factors (finite check, subspace change, ``materialize`` for the
        reference error, validation and callback); the Dask driver passes its blockwise ones,
        so its factors reach the client only where ``reference``/``callback`` need them.
    """
    history = result["history"]
    t_start = time.perf_counter()
    status, message, best, residuals = MAXITER, "", None, []
    U_prev, last_good, nit = U, (U, V), 0
    for it in range(1, maxiter + 1):
        t_sweep = time.perf_counter()
        U, V, info = sweep(it, U, V)
        nit = it
        sq = info.get("sq")
        sq = residual_sq(U, V) if sq is None else sq
        rel = math.sqrt(max(float(sq), 0.0)) / values_norm
        record = {"residual": rel, "time": time.perf_counter() - t_start,
                  "sweep_time": time.perf_counter() - t_sweep,
                  "inner_steps": info.get("inner_steps"),
                  "inner_residual": info.get("inner_residual"),
                  "incoherence_U": info.get("incoherence_U"),
                  "incoherence_V": info.get("incoherence_V")}
        if not (math.isfinite(rel) and ops.all_finite(U) and ops.all_finite(V)):
            history.record(**record)
            status, message = DIVERGED, f"diverged: non-finite values in sweep {it}"
            U, V = last_good  # return the last finite iterate, never NaN factors
            break
        last_good = (U, V)
        record["subspace_change"] = None if orthonormal_U is None else ops.subspace_change(
            U_prev, U, orthonormal_U)
        U_prev = U
        if reference is not None:
            record["error"] = (LowRankMatrix(ops.materialize(U), None, ops.materialize(V))
                               - reference).norm() / reference.norm()
        val_rmse = None
        if validation is not None:
            val_rmse = ops.validation_rmse(result, U, V, validation)
            record["validation_rmse"] = val_rmse
            if best is None or val_rmse < best[0]:
                best = (val_rmse, U, V, it)
        history.record(**record)
        residuals.append(rel)
        if verbose:
            logger.info("%s sweep %d: residual %.3e%s (%.2f s)", label, it, rel,
                        "" if val_rmse is None else f", validation RMSE {val_rmse:.4f}",
                        record["sweep_time"])
        result.update(U=U, V=V, nit=it)
        if callback is not None:
            result.update(U=ops.materialize(U), V=ops.materialize(V))
            try:
                callback(result)
            except StopIteration:
                status, message = CALLBACK, f"stopped by callback after sweep {it}"
                break
        status, message = stopping_rule(residuals, rel, tol, tol_eff, rtol, best, it, patience,
                                        stall_window, change=info.get("change"))
        if status != MAXITER:
            break
    else:
        message = (f"maxiter={maxiter} sweeps reached with relative residual "
                   f"{residuals[-1]:.3e} > tol {tol:.1e}")
    if status == EARLY_STOPPED or (best is not None and status in (MAXITER, CALLBACK)):
        _, U, V, _ = best
    if finalize is not None and status != DIVERGED:
        U, V = finalize(U, V)  # on the iterate returned, the best one included
    success = status in (CONVERGED, EARLY_STOPPED, CALLBACK)
    if not success:
        warn_not_converged(f"{label}: {message}", stacklevel=4)
    result.update(U=U, V=V, success=success, status=status, message=message, nit=nit)
    return result

