"""Status codes and stopping rules shared by the in-memory and the distributed drivers."""

from __future__ import annotations

__all__ = ["CONVERGED", "MAXITER", "STALLED", "DIVERGED", "EARLY_STOPPED", "CALLBACK",
           "stopping_rule"]

CONVERGED, MAXITER, STALLED, DIVERGED, EARLY_STOPPED, CALLBACK = 0, 1, 2, 3, 4, 5


def stopping_rule(residuals, rel, tol, tol_eff, rtol, best, it, patience, stall_window,
                  change=None):
    """``(status, message)`` after sweep ``it``; ``MAXITER`` with "" means "go on".

    Parameters
    ----------
    residuals : list of float
        Relative residuals of the sweeps so far (``rel`` is the last).
    tol, tol_eff : float
        Requested and effective (at least working precision) residual tolerance.
    rtol : float
        Converged when the relative change over one sweep is at most this.  ``change`` (when
        given, e.g. softImpute's change of the estimate) replaces the residual's change.
    best : tuple or None
        ``(rmse, U, V, sweep)`` of the best validation RMSE so far.
    patience : int
    stall_window : int or None
        ``None`` disables the stall rule (with a ridge the residual may settle slowly).
    """
    if rel <= tol_eff:
        return CONVERGED, (f"converged: relative residual {rel:.2e} <= "
                           f"{'tol' if tol_eff == tol else 'working precision'} {tol_eff:.1e}")
    if change is not None:
        if change <= rtol:
            return CONVERGED, (f"converged: relative change of the estimate {change:.2e} <= "
                               f"rtol {rtol:.1e}")
    elif it > 1 and abs(residuals[-2] - rel) <= rtol * residuals[-2]:
        return CONVERGED, (f"converged: residual {rel:.3e} changed by <= rtol {rtol:.1e} in "
                           "the last sweep")
    if best is not None and it - best[3] >= patience:
        return EARLY_STOPPED, (f"early stop: validation RMSE did not improve for {patience} "
                               f"sweeps; best {best[0]:.4f} at sweep {best[3]}")
    if stall_window is not None and it > stall_window:
        old_res = residuals[-stall_window - 1]
        first_drop = residuals[-stall_window - 1] - residuals[-stall_window]
        last_drop = residuals[-2] - rel
        if old_res - rel < 0.1 * old_res and last_drop > 0.25 * max(first_drop, 0.0):
            return STALLED, (f"stalled: relative residual {rel:.3e} fell by only "
                             f"{100 * (old_res - rel) / old_res:.1f}% over the last "
                             f"{stall_window} sweeps (ill-conditioned matrix or too few "
                             "samples?)")
    return MAXITER, ""
