"""Distributed alternating minimization on a :class:`DaskObservedEntries`.

Each half-step maps the single-machine solver (:class:`lowrank_la.completion._altmin.
HalfStepSolver`: the same ``rowwise_lstsq`` / ``rowwise_cg`` kernels) over the row blocks (or the
column blocks).  Both factors stay on the workers as :class:`~._factors.BlockFactor` s aligned
with Ω's row and column blocks: a block's task takes the other factor's block futures as
arguments, so workers fetch them from each other (never through the client), and the sweep's
renormalization (TSQR or Cholesky QR from reduced ``k x k`` Gram matrices), incoherence,
finiteness and subspace-change checks run blockwise through the same ``alternate`` and
``run_sweeps`` code as :func:`lowrank_la.completion.complete_matrix`; so the two agree to
rounding (the per-row problems are the same arithmetic; only sums over blocks are reordered).
The spectral start is ``randomized_svd`` on a linear operator whose products are block SpMMs on
the workers (its ``(m + n)(k + p)`` iterates pass through the client once, at the start).
"""

from __future__ import annotations

import logging
import math
import operator

import numpy as np

from .._backend import get_backend
from .._result import History
from .._validation import check_nonnegative, check_option, check_rank, check_rng
from ..completion._altmin import HalfStepSolver
from ..completion._driver import _initial_factors, check_sweep_options
from ..completion._loop import alternate, run_sweeps
from ..completion._model import CompletionResult
from ..completion._softimpute import SoftImputeState, filled_product
from ..sampled import sampled_residual, spmm
from ._biases import fit_biases_distributed
from ._entries import KERNEL_LOCK, DaskObservedEntries
from ._factors import BLOCK_FACTOR_OPS, BlockFactor, gather_or_raise

__all__ = ["complete_matrix_distributed"]

logger = logging.getLogger("lowrank_la")

_METHODS = ("robust_altmin", "altmin", "softimpute_als")


def _whole(parts):
    """The factor from its blocks (fetched by Dask onto this worker)."""
    return np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


def _solve_block(block, X0, method, lam, count_scaled, inner_steps, inner_rtol, heavy, seed,
                 residual, *F_parts):
    """One block of a half-step on its worker: ``(X, (info, squared residual or None))``.

    ``F_parts`` are the blocks of the fixed factor (fetched from the workers that hold them).
    ``lam = (reg, floor)``; with ``count_scaled`` each row's ridge is ``reg * count + floor``
    (ALS-WR), computed from the block's own rows as the single-machine solver does globally.
    """
    om = block.entries
    F = _whole(F_parts)
    reg, floor = lam
    if count_scaled and reg > 0:
        lam = np.asarray(reg * np.asarray(om.row_counts()).astype(float) + floor, dtype=F.dtype)
    else:
        lam = reg + floor
    with KERNEL_LOCK:
        solver = HalfStepSolver(om, method, lam, inner_steps, inner_rtol, heavy,
                                np.random.default_rng(seed))
        X, info = solver.solve(F, X0)
        sq = float(sampled_residual(om, X, F)[1]) if residual else None
    return X, (info, sq)


def _spmm_block(block, X):
    with KERNEL_LOCK:
        return spmm(block.entries, X)


def _residual_sq_block(block, U, *V_parts):
    with KERNEL_LOCK:
        return float(sampled_residual(block.entries, U, _whole(V_parts))[1])


def _filled_block(block, F_own, D, scale, *F_other_parts):
    with KERNEL_LOCK:
        return filled_product(block.entries, F_own, _whole(F_other_parts), D, scale)


class _BlockProducts:
    """softImpute's ``X* F`` products over one side's blocks (see ``filled_product``)."""

    def __init__(self, blocks):
        self.blocks = blocks

    def __call__(self, F_own, F_other, D, scale):
        c = F_own.client
        return F_own.like([c.submit(_filled_block, blk, f, D, scale, *F_other.blocks,
                                    pure=False) for blk, f in zip(self.blocks, F_own.blocks)])


class _BlockOperator:
    """``S`` (values at Ω) as a linear operator whose products run on the workers."""

    def __init__(self, omega: DaskObservedEntries):
        self.omega = omega
        self.shape = omega.shape
        self.nnz = omega.nnz
        self.dtype = omega.dtype
        self.backend = get_backend()
        # backend/dtype witness for the shared start-up code (never read as data)
        self.values = np.empty(0, dtype=omega.dtype)

    def _apply(self, blocks, X):
        c = self.omega.client
        fut = c.scatter(np.ascontiguousarray(X), broadcast=True, hash=False)
        return np.concatenate(gather_or_raise(c, c.map(_spmm_block, blocks, X=fut, pure=False)), axis=0)

    def matmat(self, X):
        return self._apply(self.omega.row_blocks, X)

    def rmatmat(self, Y):
        return self._apply(self.omega.col_blocks, Y)


class _HalfStep:
    """The solver of one side (rows or columns): its blocks of Ω, ridge and heavy threshold."""

    def __init__(self, omega, blocks, method, lam, count_scaled, inner_steps, inner_rtol, heavy,
                 seed):
        self.client, self.blocks = omega.client, blocks
        self.args = (method, lam, count_scaled, inner_steps, inner_rtol, heavy)
        self.method, self.seed, self.calls = method, seed, 0

    def solve(self, F, X, residual=False):
        """Update the factor ``X`` (BlockFactor on this side's edges) given the other, ``F``."""
        c = self.client
        self.calls += 1
        tasks = []
        for b, blk in enumerate(self.blocks):
            X0 = X.blocks[b] if self.method == "robust_altmin" else None
            seed = np.random.SeedSequence([self.seed, self.calls, b])
            tasks.append(c.submit(_solve_block, blk, X0, *self.args, seed, residual, *F.blocks,
                                  pure=False))
        X_new = X.like([c.submit(operator.getitem, t, 0, pure=False) for t in tasks])
        out = gather_or_raise(c, [c.submit(operator.getitem, t, 1, pure=False) for t in tasks])
        steps = [o[0]["inner_steps"] for o in out if o[0]["inner_steps"] is not None]
        res = [o[0]["inner_residual"] for o in out if o[0]["inner_residual"] is not None]
        info = {"inner_steps": max(steps) if steps else None,
                "inner_residual": max(res) if res else None}
        sq = sum(o[1] for o in out) if residual else None
        return X_new, info, sq


def complete_matrix_distributed(
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
    heavy_row_threshold=None,
    stall_window=10,
    reference=None,
    callback=None,
    verbose=False,
    rng=None,
    gather=True,
):
    """:func:`lowrank_la.completion.complete_matrix` on a Dask cluster.

    Same arguments, result type and stopping rules; ``omega`` is a
    :class:`DaskObservedEntries` (its client does the work).  With the same ``rng`` the factors
    equal the single-machine run's to rounding (for ``robust_altmin``, when no row or column
    reaches ``heavy_row_threshold``: the sketches of heavy rows draw per-block random streams).

    Parameters
    ----------
    omega : DaskObservedEntries
    rank : int
    method : {"robust_altmin", "altmin", "softimpute_als"}
    maxiter, tol, rtol, reg, reg_scaling, patience
        As :func:`~lowrank_la.completion.complete_matrix`.
    init, incoherence_clip, inner_steps, inner_rtol
        As :func:`~lowrank_la.completion.complete_matrix`.
    biases, bias_reg
        As :func:`~lowrank_la.completion.complete_matrix`: the biases are fitted blockwise
        (row biases on the row blocks, column biases on the column blocks) and returned as
        NumPy arrays; the completion then runs on residual blocks built on the workers.
    validation : lowrank_la.sampled.ObservedEntries, optional
        Held-out entries, in memory on the client (they are few).
    split_samples : bool
        Only ``False``: ``ValueError`` otherwise.
    heavy_row_threshold, stall_window, reference, callback, verbose, rng
        As :func:`~lowrank_la.completion.complete_matrix`.  ``reference`` and ``callback``
        gather the factors to the client every sweep (``callback`` sees NumPy factors):
        meant for problems that fit there.
    gather : bool
        ``True``: return the factors as NumPy arrays on the client.  ``False``: as
        ``dask.array`` s over the blocks the workers hold (nothing moves; for factors too large
        for the client, e.g. ``result.U.to_zarr(...)``).

    Returns
    -------
    lowrank_la.completion.CompletionResult
        Factors ``U``, ``V`` (NumPy, or dask arrays with ``gather=False``), ``history`` and
        status as in ``complete_matrix``; ``history["sweep_time"]`` includes the scheduling
        overhead.

    Raises
    ------
    TypeError
        ``omega`` not a DaskObservedEntries, bad argument types.
    ValueError
        Bad rank or options, unsupported options (see above).

    Warns
    -----
    ConvergenceWarning
        When the run ends without converging.

    References
    ----------
    Y. Gu, Z. Song, J. Yin, L. Zhang, "Low rank matrix completion via robust alternating
    minimization in nearly linear time", ICLR 2024.  P. Jain, P. Netrapalli, S. Sanghavi,
    "Low-rank matrix completion using alternating minimization", STOC 2013.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> from lowrank_la.datasets import synthetic_completion
    >>> from lowrank_la.distributed import DaskObservedEntries, complete_matrix_distributed
    >>> omega, M = synthetic_completion(200, 150, 3, oversampling=4, rng=0)
    >>> with LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
    ...                   dashboard_address=":0") as cluster, Client(cluster) as client:
    ...     d = DaskObservedEntries.from_entries(omega, n_row_blocks=2, client=client)
    ...     res = complete_matrix_distributed(d, 3, reference=M, rng=0)
    >>> bool(res.success), res.history["error"][-1] < 1e-6
    (True, True)
    """
    if not isinstance(omega, DaskObservedEntries):
        raise TypeError(f"`omega` must be a lowrank_la.distributed.DaskObservedEntries, got "
                        f"{type(omega).__name__}")
    m, n = omega.shape
    rank = check_rank(rank, "rank", maximum=min(m, n))
    check_option(method, "method", set(_METHODS))
    if split_samples:
        raise ValueError("`split_samples`=True is not available on a cluster yet")
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
    rng = check_rng(rng)
    if not isinstance(gather, (bool, np.bool_)):
        raise TypeError(f"`gather` must be a bool, got {type(gather).__module__}."
                        f"{type(gather).__qualname__}")
    gather = bool(gather)
    if validation is not None and validation.backend.name != "numpy":
        raise TypeError(f"`validation` must hold NumPy arrays (it stays on the client), got "
                        f"backend {validation.backend.name!r}")

    bias_reg = check_nonnegative(bias_reg, "bias_reg")
    bk = get_backend()
    dtype = omega.dtype
    mean, row_bias, col_bias = 0.0, None, None
    if biases:
        mean, row_bias, col_bias, omega = fit_biases_distributed(omega, bias_reg)
    row_stats, col_stats = omega.block_stats(rank)
    values_norm = math.sqrt(sum(s[1] for s in row_stats)) or 1.0
    tol_eff = max(tol, 10 * float(np.finfo(dtype).eps))
    op = _BlockOperator(omega)
    U, V = _initial_factors(op, rank, init, incoherence_clip, rng, bk, dtype)
    U = BlockFactor.scatter(omega.client, U, omega.row_edges)
    V = BlockFactor.scatter(omega.client, V, omega.col_edges)
    seed = int(rng.integers(2**63))  # per-block streams for heavy-row sketches

    def make_solver(blocks, stats):
        underdetermined = any(s[3] for s in stats)
        floor = math.sqrt(float(np.finfo(dtype).eps)) if underdetermined and reg == 0 else 0.0
        return _HalfStep(omega, blocks, method, (reg, floor), reg_scaling == "count",
                         inner_steps, inner_rtol, heavy_row_threshold, seed), floor

    row_solver, floor_r = make_solver(omega.row_blocks, row_stats)
    col_solver, floor_c = make_solver(omega.col_blocks, col_stats)
    result = CompletionResult(U=U, V=V, mean=mean, row_bias=row_bias, col_bias=col_bias,
                              method=method,
                              n_empty_rows=sum(s[2] for s in row_stats),
                              n_empty_cols=sum(s[2] for s in col_stats), history=History(),
                              nit=0, ridge_floor=max(floor_r, floor_c))

    finalize = None
    if method == "softimpute_als":
        # Algorithm 3.1 starts from orthonormal U, D = I and B = 0 (so X* = P_Ω(M) at first)
        state = SoftImputeState(
            _BlockProducts(omega.row_blocks), _BlockProducts(omega.col_blocks), U,
            V.map(np.zeros_like), np.ones(rank, dtype=dtype), reg, BLOCK_FACTOR_OPS)
        sweep = state.sweep
        finalize = state.finalize  # step 5 of Alg. 3.1
    else:
        def sweep(it, U, V):
            # the residual of (U_new, V) equals the transferred pair's up to rounding: computing
            # it inside the row half-step saves one more fetch of V
            return alternate(col_solver.solve,
                             lambda V, U: row_solver.solve(V, U, residual=True), U, V, reg,
                             BLOCK_FACTOR_OPS)

    def residual_sq(U, V):
        c = omega.client
        return sum(gather_or_raise(c, [
            c.submit(_residual_sq_block, blk, u, *V.blocks, pure=False)
            for blk, u in zip(omega.row_blocks, U.blocks)]))

    altmin_family = method != "softimpute_als"
    result = run_sweeps(
        sweep, residual_sq, U, V, result, label=f"complete_matrix_distributed({method})",
        maxiter=maxiter, tol=tol, tol_eff=tol_eff, rtol=rtol, values_norm=values_norm,
        patience=patience, stall_window=stall_window if altmin_family and reg == 0 else None,
        orthonormal_U=(reg == 0) if altmin_family else None, validation=validation,
        reference=reference, callback=callback, verbose=verbose, finalize=finalize,
        ops=BLOCK_FACTOR_OPS)
    return _deliver(result, gather)


def _deliver(result, gather):
    """Factors to the client (``gather``) or as dask arrays over the workers' blocks."""
    for name in ("U", "V"):
        F = result[name]
        if isinstance(F, BlockFactor):
            result[name] = F.gather() if gather else F.to_dask_array()
    return result
