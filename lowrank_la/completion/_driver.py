"""``complete_matrix``: validation, the outer loop, stopping rules and diagnostics."""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from .._result import History
from .._validation import (
    check_int,
    check_nonnegative,
    check_option,
    check_rank,
    check_rng,
    check_same_backend,
)
from ..linalg import LowRankMatrix, qr
from ..sampled import ObservedEntries, sampled_residual
from ._altmin import (
    HalfStepSolver,
    clip_rows,
    orthonormalize_transfer,
    spectral_init,
)
from ._biases import fit_biases
from ._loop import alternate, run_sweeps
from ._model import CompletionResult
from ._softimpute import SoftImputeState, in_memory_products

__all__ = ["complete_matrix", "METHODS"]

logger = logging.getLogger("lowrank_la")

METHODS = ("robust_altmin", "altmin", "softimpute_als")



def _check_entries(omega, name, shape=None):
    if not isinstance(omega, ObservedEntries):
        raise TypeError(f"`{name}` must be a lowrank_la.sampled.ObservedEntries, got "
                        f"{type(omega).__name__}")
    if omega.values is None:
        raise ValueError(f"`{name}` must carry observed values (got a bare sampling pattern)")
    if omega.nnz == 0:
        raise ValueError(f"`{name}` must contain at least one observed entry, got none")
    if shape is not None and tuple(omega.shape) != tuple(shape):
        raise ValueError(f"`{name}` has shape {tuple(omega.shape)}, which does not match the "
                         f"training entries' shape {tuple(shape)}: its entries lie outside it")


def _inner_solves_hold_back(history):
    """The last sweep progressed slowly while its inexact row solves were inaccurate."""
    res, inner = history.get("residual", []), history.get("inner_residual", [])
    if len(res) < 2 or not inner or inner[-1] is None:
        return False
    return res[-1] > 0.8 * res[-2] and inner[-1] > 1e-3


def check_sweep_options(shape, rank, *, maxiter, tol, rtol, reg, reg_scaling, patience,
                        inner_steps, stall_window, inner_rtol, heavy_row_threshold, init,
                        incoherence_clip, validation, reference, callback):
    """Validate the options every completion driver shares; return them normalized."""
    m, n = shape
    out = {
        "maxiter": check_int(maxiter, "maxiter", minimum=1),
        "tol": check_nonnegative(tol, "tol"),
        "rtol": check_nonnegative(rtol, "rtol"),
        "reg": check_nonnegative(reg, "reg"),
        "patience": check_int(patience, "patience", minimum=1),
        "inner_steps": check_int(inner_steps, "inner_steps", minimum=1),
        "stall_window": check_int(stall_window, "stall_window", minimum=2),
        "inner_rtol": None if inner_rtol is None else check_nonnegative(inner_rtol,
                                                                         "inner_rtol"),
        "heavy_row_threshold": check_int(
            max(8 * rank * rank, 1000) if heavy_row_threshold is None else heavy_row_threshold,
            "heavy_row_threshold", minimum=1),
        "incoherence_clip": incoherence_clip if incoherence_clip in (None, False)
        else check_nonnegative(incoherence_clip, "incoherence_clip"),
    }
    check_option(reg_scaling, "reg_scaling", {"none", "count"})
    if not (isinstance(init, tuple) or init in ("spectral", "random")):
        raise ValueError(f"`init` must be 'spectral', 'random' or a (U, V) pair, got {init!r}")
    if validation is not None:
        _check_entries(validation, "validation", shape=(m, n))
    if reference is not None and (not isinstance(reference, LowRankMatrix)
                                  or reference.shape != (m, n)):
        raise ValueError(f"`reference` must be a LowRankMatrix of shape {(m, n)}")
    if callback is not None and not callable(callback):
        raise TypeError(f"`callback` must be callable, got {type(callback).__name__}")
    return out


def _initial_factors(train, rank, init, incoh, rng, bk, dtype):
    m, n = train.shape
    xp = bk.xp
    if isinstance(init, tuple):
        if len(init) != 2:
            raise ValueError(f"`init` must be 'spectral', 'random' or a (U, V) pair, got a "
                             f"tuple of length {len(init)}")
        U0, V0 = init
        check_same_backend(("omega", train.values), ("init[0]", U0), ("init[1]", V0))
        for nm, F, rows in (("init[0]", U0, m), ("init[1]", V0, n)):
            if tuple(F.shape) != (rows, rank):
                raise ValueError(f"`{nm}` must have shape ({rows}, {rank}), got {tuple(F.shape)}")
            if not bool(xp.all(xp.isfinite(F))):
                raise ValueError(f"`{nm}` must not contain NaN or inf")
        U, V = orthonormalize_transfer(xp.astype(U0, dtype), xp.astype(V0, dtype))
        return U, V
    if init == "random":
        U = qr(bk.random_normal(rng, (m, rank), dtype=dtype), check=False)[0]
        V = bk.random_normal(rng, (n, rank), dtype=dtype) * 0.0
        return U, V
    U, V = spectral_init(train, rank, rng)
    if incoh is not False:
        mu = math.sqrt(max(1.0, math.log(max(m, n)))) if incoh is None else float(incoh)
        U_clipped = clip_rows(U, mu)
        if U_clipped is not U:
            V = V @ (U_clipped.T @ U).T  # keep U Vᵀ close to the spectral estimate
            U = U_clipped
    return U, V


def complete_matrix(
    omega,
    rank,
    *,
    method="robust_altmin",
    maxiter=100,
    tol=1e-9,
    rtol=1e-6,
    reg=0.0,
    reg_scaling="none",
    biases=False,
    bias_reg=10.0,
    validation=None,
    patience=5,
    init="spectral",
    incoherence_clip=None,
    split_samples=False,
    inner_steps=3,
    inner_rtol=None,
    adapt_inner_steps=False,
    heavy_row_threshold=None,
    stall_window=10,
    reference=None,
    callback=None,
    verbose=False,
    rng=None,
):
    """Complete a partially observed low-rank matrix.

    Finds ``U`` (m, k) and ``V`` (n, k) with ``P_Ω(U Vᵀ) ≈ P_Ω(M)`` by alternating minimization.

    Parameters
    ----------
    omega : lowrank_la.sampled.ObservedEntries or lowrank_la.distributed.DaskObservedEntries
        Observed entries with values (NumPy, CuPy or torch arrays; the factors come back on the
        same backend and device, in the values' floating dtype).  A ``DaskObservedEntries``
        runs :func:`lowrank_la.distributed.complete_matrix_distributed` on its cluster.
    rank : int
        Target rank ``k``, ``1 <= k <= min(m, n)``.
    method : {"robust_altmin", "altmin", "softimpute_als"}
        ``"robust_altmin"`` (default): approximate per-row solves (warm-started matrix-free CG,
        sketch-and-precondition for heavy rows), ``|Ω| k`` per sweep (Gu et al. 2024).
        ``"altmin"``: exact per-row least squares, ``|Ω| k^2`` per sweep (Jain et al. 2013).
        ``"softimpute_als"``: nuclear-norm regularized softImpute-ALS with ``λ = reg``
        (Hastie et al. 2015); biased by λ, not an exact-recovery method.
    maxiter : int
        Maximum number of sweeps (one sweep updates both factors).
    tol : float
        Converged when ``||P_Ω(U Vᵀ - M)||_F / ||P_Ω(M)||_F <= tol``.
    rtol : float
        Converged when the relative change of that residual over one sweep is ``<= rtol`` (a
        fixed point, e.g. the noise level of noisy data).
    reg : float
        Ridge parameter λ of the per-row problems (``altmin``/``robust_altmin``) or the nuclear
        norm weight (``softimpute_als``).
    reg_scaling : {"none", "count"}
        ``"count"`` multiplies each row's (and column's) ridge by its number of observations, the
        weighted-λ regularization of ALS-WR (Zhou et al. 2008), usually better on rating data.
    biases : bool
        Fit ``mean + row_bias + col_bias`` first (ridge ``bias_reg``), then complete the residual.
    bias_reg : float
        Shrinkage of the biases toward zero (in counts of pseudo-observations).
    validation : ObservedEntries, optional
        Held-out entries: their RMSE is recorded per sweep and the run stops when it has not
        improved for ``patience`` sweeps, returning the best factors.
    patience : int
    init : {"spectral", "random"} or (U0, V0)
        Spectral start (top-k SVD of ``P_Ω(M)/p`` on the sparse operator, then incoherence
        clipping), a random orthonormal start, or given factors.
    incoherence_clip : None, False or float
        μ for the clipping of the spectral start (rows longer than ``2 μ sqrt(k/m)`` are zeroed
        before re-orthonormalizing); ``None`` uses ``sqrt(log max(m, n))``, ``False`` disables.
    split_samples : bool
        Partition Ω into ``2 maxiter + 1`` disjoint parts, a fresh part per half-step, as the
        theory assumes (needs many samples; off by default).
    inner_steps : int
        CG steps per row and half-step for ``robust_altmin``.
    inner_rtol : float, optional
        Per-row relative residual at which CG stops early (``robust_altmin``).
    adapt_inner_steps : bool
        ``robust_altmin`` without ``inner_rtol``: double the CG steps (up to ``k``, where CG is
        exact) whenever a sweep reduced the residual by less than 20 % while the worst row
        solve was left with a relative residual above 1e-3.  Keeps the cheap solves on
        well-conditioned problems and rescues too-small budgets (e.g. ``inner_steps=1``) from
        stalling.  Off by default: near the sample-complexity threshold switching the
        accuracy mid-run can also land in a slow phase that the stall rule stops.
    heavy_row_threshold : int, optional
        Rows (or columns) with at least this many entries use sketch-and-precondition in
        ``robust_altmin``; default ``max(8 k^2, 1000)`` (a sketch QR is then cheap next to
        the row's data, and the per-row call overhead is amortized).
    stall_window : int
        Without a ridge (``reg=0``), the run stops as stalled (``success=False``) when the
        residual fell by less than 10 % over this many sweeps while its decrease was not itself
        dying out.
    reference : LowRankMatrix, optional
        The true matrix, for synthetic experiments: ``history["error"]`` records
        ``||U Vᵀ - M*||_F / ||M*||_F`` each sweep (biases not included).
    callback : callable, optional
        ``callback(result_so_far)`` after each sweep; raising ``StopIteration`` stops the run.
    verbose : bool
        Log one line per sweep to the ``lowrank_la`` logger (INFO).
    rng : None, int or numpy.random.Generator

    Returns
    -------
    CompletionResult
        ``U``, ``V``, ``mean``, ``row_bias``, ``col_bias``, ``predict(rows, cols)``,
        ``save(path)``; ``success``, ``status`` (0 converged, 1 maxiter, 2 stalled, 3 diverged,
        4 early-stopped on validation, 5 stopped by callback), ``message``, ``nit``, and
        ``history`` with per-sweep ``residual`` (relative, on Ω), ``validation_rmse``, ``time``,
        ``inner_steps``, ``inner_residual`` (worst relative per-row residual), ``incoherence_U``,
        ``incoherence_V``, ``subspace_change`` (sin of the largest principal angle to the
        previous ``U``) and ``error`` (with ``reference``).  Rows or columns without any entry
        get zero factors (their prediction is the bias terms); ``n_empty_rows`` and
        ``n_empty_cols`` count them.

    Raises
    ------
    TypeError
        ``omega``/``validation`` not ``ObservedEntries``, bad argument types.
    ValueError
        Rank out of range, empty Ω, Ω without values, validation entries outside the shape,
        bad options.

    Warns
    -----
    ConvergenceWarning
        When the run ends without converging (maxiter, stall or divergence).

    References
    ----------
    Y. Gu, Z. Song, J. Yin, L. Zhang, "Low rank matrix completion via robust alternating
    minimization in nearly linear time", ICLR 2024.
    P. Jain, P. Netrapalli, S. Sanghavi, "Low-rank matrix completion using alternating
    minimization", STOC 2013.
    T. Hastie, R. Mazumder, J. D. Lee, R. Zadeh, "Matrix completion and low-rank SVD via fast
    alternating least squares", JMLR 16, 2015.

    Examples
    --------
    >>> from lowrank_la.completion import complete_matrix
    >>> from lowrank_la.datasets import synthetic_completion
    >>> omega, M = synthetic_completion(300, 200, 4, oversampling=4, rng=0)
    >>> res = complete_matrix(omega, 4, reference=M, rng=0)
    >>> bool(res.success), res.history["error"][-1] < 1e-6
    (True, True)
    """
    if type(omega).__name__ == "DaskObservedEntries":  # Ω partitioned over a Dask cluster
        from ..distributed import complete_matrix_distributed

        if adapt_inner_steps:
            raise ValueError("`adapt_inner_steps`=True is not available on a cluster yet")
        return complete_matrix_distributed(
            omega, rank, method=method, maxiter=maxiter, tol=tol, rtol=rtol, reg=reg,
            reg_scaling=reg_scaling, biases=biases, bias_reg=bias_reg, validation=validation,
            patience=patience,
            init=init, incoherence_clip=incoherence_clip, split_samples=split_samples,
            inner_steps=inner_steps, inner_rtol=inner_rtol,
            heavy_row_threshold=heavy_row_threshold, stall_window=stall_window,
            reference=reference, callback=callback, verbose=verbose, rng=rng)
    _check_entries(omega, "omega")
    m, n = omega.shape
    rank = check_rank(rank, "rank", maximum=min(m, n))
    check_option(method, "method", set(METHODS))
    opts = check_sweep_options(
        (m, n), rank, maxiter=maxiter, tol=tol, rtol=rtol, reg=reg, reg_scaling=reg_scaling,
        patience=patience, inner_steps=inner_steps, stall_window=stall_window,
        inner_rtol=inner_rtol, heavy_row_threshold=heavy_row_threshold, init=init,
        incoherence_clip=incoherence_clip, validation=validation, reference=reference,
        callback=callback)
    maxiter, tol, rtol, reg = opts["maxiter"], opts["tol"], opts["rtol"], opts["reg"]
    patience, inner_steps, stall_window = opts["patience"], opts["inner_steps"], \
        opts["stall_window"]
    inner_rtol, heavy_row_threshold = opts["inner_rtol"], opts["heavy_row_threshold"]
    incoherence_clip = opts["incoherence_clip"]
    bias_reg = check_nonnegative(bias_reg, "bias_reg")
    if validation is not None:
        check_same_backend(("omega", omega.values), ("validation", validation.values))
    if split_samples and omega.nnz < 2 * maxiter + 1:
        raise ValueError(f"`split_samples` needs at least 2 maxiter + 1 = {2 * maxiter + 1} "
                         f"entries, got {omega.nnz}")
    rng = check_rng(rng)

    bk = omega.backend
    xp = bk.xp
    dtype = bk.float_dtype(omega.values)

    mean, row_bias, col_bias = 0.0, None, None
    train = omega
    if biases:
        mean, row_bias, col_bias, train = fit_biases(omega, bias_reg)
    if not xp.isdtype(train.values.dtype, "real floating"):
        train = train.with_values(xp.astype(train.values, dtype))
    values_norm = float(xp.linalg.vector_norm(train.values)) or 1.0
    # the residual cannot go below round-off: in float32 tol=1e-9 means "working precision"
    tol_eff = max(tol, 10 * float(xp.finfo(dtype).eps))

    parts = train.partition(2 * maxiter + 1, rng=rng) if split_samples else None
    U, V = _initial_factors(parts[0] if parts else train, rank, init, incoherence_clip, rng,
                            bk, dtype)

    n_empty_rows = int(bk.to_host(xp.sum(xp.astype(train.row_counts() == 0, xp.int64))))
    n_empty_cols = int(bk.to_host(xp.sum(xp.astype(train.col_counts() == 0, xp.int64))))

    def make_solver(entries):
        counts = bk.to_host(entries.row_counts())
        underdetermined = bool(np.any((counts > 0) & (counts < rank)))
        # rows with fewer than k entries have singular normal equations: a ridge at round-off
        # level picks the minimum-norm solution instead of failing (or producing NaN)
        floor = math.sqrt(float(xp.finfo(dtype).eps)) if underdetermined and reg == 0 else 0.0
        lam = reg + floor
        if reg_scaling == "count" and reg > 0:
            lam = bk.from_host(reg * counts.astype(float) + floor, dtype=dtype)
        return HalfStepSolver(entries, method, lam, inner_steps, inner_rtol,
                              heavy_row_threshold, rng), floor

    result = CompletionResult(U=U, V=V, mean=mean, row_bias=row_bias, col_bias=col_bias,
                              method=method, n_empty_rows=n_empty_rows,
                              n_empty_cols=n_empty_cols, history=History(), nit=0)
    finalize = None
    if method == "softimpute_als":
        # Algorithm 3.1 starts from orthonormal U, D = I and B = 0 (so X* = P_Ω(M) at first)
        state = SoftImputeState(*in_memory_products(train, train.T), U, xp.zeros_like(V),
                                xp.ones(rank, dtype=dtype, device=bk.device), reg)
        sweep = state.sweep
        finalize = state.finalize  # step 5 of Alg. 3.1
    else:
        if not split_samples:
            row_solver, floor_r = make_solver(train)
            col_solver, floor_c = make_solver(train.T)
            result["ridge_floor"] = max(floor_r, floor_c)

        def sweep(it, U, V):
            if split_samples:  # fresh samples for every half-step
                cols, rows = make_solver(parts[2 * it - 1].T)[0], make_solver(parts[2 * it])[0]
            else:
                cols, rows = col_solver, row_solver
                if adaptive_inner and _inner_solves_hold_back(result.history):
                    # ill-conditioned iterates need more accurate row solves (Gu et al.'s
                    # accuracy parameter): double the CG budget, up to k steps = exact
                    for solver in (cols, rows):
                        solver.inner_steps = min(2 * solver.inner_steps, rank)
            return alternate(cols.solve, rows.solve, U, V, reg)

    adaptive_inner = method == "robust_altmin" and inner_rtol is None and adapt_inner_steps

    def residual_sq(U, V):
        return float(sampled_residual(train, U, V)[1])

    # the stall rule reads the unregularized residual; with a ridge (or softImpute's
    # shrinkage) the residual may legitimately settle slowly: rtol and validation decide
    altmin_family = method != "softimpute_als"
    return run_sweeps(
        sweep, residual_sq, U, V, result, label=f"complete_matrix({method})", maxiter=maxiter,
        tol=tol, tol_eff=tol_eff, rtol=rtol, values_norm=values_norm, patience=patience,
        stall_window=stall_window if altmin_family and reg == 0 else None,
        orthonormal_U=(reg == 0) if altmin_family else None, validation=validation,
        reference=reference, callback=callback, verbose=verbose, finalize=finalize)


def demo(args) -> bool:
    """``python -m lowrank_la demo`` entry: exact recovery of a synthetic matrix."""
    import warnings

    from ..datasets import synthetic_completion

    n, k = 1000, 8
    omega, M = synthetic_completion(n, n, k, oversampling=4, rng=args.seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = complete_matrix(omega, k, reference=M, rng=args.seed)
    err = res.history["error"][-1]
    print(f"complete_matrix(robust_altmin): {n}x{n} rank {k} from {omega.nnz} entries "
          f"({100 * omega.nnz / n**2:.1f}%): {res.nit} sweeps, {time.perf_counter() - t0:.2f} s "
          f"(incl. first-call kernel compilation), relative error {err:.1e}")
    return bool(res.success and err < 1e-6)
