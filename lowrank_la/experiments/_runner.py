"""Run a named experiment: solve every curve for every seed, summarize, write CSV/JSON/figure."""

from __future__ import annotations

import csv
import json
import logging
import math
import platform
import time
import warnings
from pathlib import Path

import numpy as np

from .._result import ConvergenceWarning, Result
from .._validation import check_int, check_option
from ._configs import EXPERIMENTS

__all__ = ["run_experiment", "list_experiments", "summarize_curve"]

logger = logging.getLogger("lowrank_la")

_FLOOR = 1e-13  # runs stop here: float64 curves flatten around 1e-14 anyway


def list_experiments() -> dict:
    """Names of the reproducible experiments with their titles and papers.

    Returns
    -------
    dict
        ``name -> (title, paper, claim)``.

    Examples
    --------
    >>> from lowrank_la.experiments import list_experiments
    >>> sorted(list_experiments())
    ['jin2023', 'ma_fattahi2023', 'tong2021', 'xiong2024', 'xu2023']
    """
    return {n: (e.title, e.paper, e.claim) for n, e in EXPERIMENTS.items()}


def _fit_rate(err: np.ndarray):
    """Per-iteration linear rate ``exp(slope)`` of ``log(err)`` over the informative tail."""
    it = np.arange(err.shape[0])
    ok = (err > 1e-11) & (err < 1e-3) & np.isfinite(err)
    idx = it[ok]
    if idx.shape[0] < 6:
        ok = np.isfinite(err) & (err > 1e-11)
        idx = it[ok][it[ok].shape[0] // 2:]
    else:
        idx = idx[idx.shape[0] // 2:]
    if idx.shape[0] < 6:
        return None
    slope = np.polyfit(idx, np.log(err[idx]), 1)[0]
    return float(math.exp(slope))


def summarize_curve(err, tol, sv=None, sigma=None) -> dict:
    """Statistics of one error curve (what the summary table and claim checks read).

    Parameters
    ----------
    err : array_like
        Relative errors per iteration (entry 0 = initialization).
    tol : float
        Tolerance for ``iterations_to_tol``.
    sv : array_like, optional
        Singular values of the iterate per iteration, shape (iterations, k).
    sigma : array_like, optional
        True singular values (for ``learned_at``).

    Returns
    -------
    dict
        ``iterations_to_tol`` (None if never), ``final_error``, ``rate`` (fitted per-iteration
        contraction over the tail above 1e-11), ``loglog_slope`` (of error vs iteration over the
        second half), ``sublinear`` and ``learned_at`` (first iteration where the iterate's
        ``i``-th singular value reaches half of ``sigma_i``).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.experiments import summarize_curve
    >>> s = summarize_curve(0.5 ** np.arange(40), 1e-6)
    >>> s["iterations_to_tol"], round(s["rate"], 3)
    (20, 0.5)
    """
    err = np.asarray(err, dtype=float)
    hit = np.nonzero(err <= tol)[0]
    n = err.shape[0]
    half = np.arange(max(1, n // 2), n)
    slope = None
    if half.shape[0] >= 4 and np.all(err[half] > 0):
        slope = float(np.polyfit(np.log(half), np.log(err[half]), 1)[0])
    rate = _fit_rate(err)
    out = {
        "iterations_to_tol": int(hit[0]) if hit.shape[0] else None,
        "final_error": float(err[-1]),
        "rate": rate,
        "loglog_slope": slope,
        # polynomial decay: the error keeps a power law, not a geometric, shape to the end
        "sublinear": bool(hit.shape[0] == 0 and slope is not None and -6 < slope < 0
                          and rate is not None and rate > 0.995),
    }
    if sv is not None and sigma is not None:
        sv = np.asarray(sv, dtype=float)
        learned = []
        for i, s in enumerate(sigma):
            where = np.nonzero(sv[:, i] >= 0.5 * s)[0]
            learned.append(int(where[0]) if where.shape[0] else None)
        out["learned_at"] = learned
    return out


def _median_summary(stats: list) -> dict:
    out = {}
    for key in stats[0]:
        vals = [s[key] for s in stats]
        if key == "learned_at":
            cols = list(zip(*vals))
            out[key] = [None if any(v is None for v in c) else int(np.median(c)) for c in cols]
        elif any(v is None for v in vals):
            out[key] = None
        elif isinstance(vals[0], bool):
            out[key] = bool(sum(vals) * 2 > len(vals))
        elif isinstance(vals[0], int):
            out[key] = int(np.median(vals))
        else:
            out[key] = float(np.median(vals))
    return out


def _versions() -> dict:
    import scipy

    from .._version import __version__

    return {"lowrank_la": __version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "python": platform.python_version(), "machine": platform.machine()}


def _solve(curve, problem, maxiter, track_sv, seed):
    from .. import sensing

    fn = getattr(sensing, curve.solver)
    opts = dict(curve.options)
    with warnings.catch_warnings():
        # curves that do not converge are the point of several figures
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(problem.operator, problem.y, curve.rank, M_true=problem.M_true, etol=_FLOOR,
                  rtol=0.0, maxiter=maxiter, track_singular_values=track_sv,
                  rng=1000 + seed, **opts)


def run_experiment(name, *, seeds=1, full=False, out=None, plot=True, verbose=False):
    """Run a named reproduction and write its curves, settings and figure.

    Parameters
    ----------
    name : str
        One of :func:`list_experiments`.
    seeds : int
        Number of random problems (seeds ``0 .. seeds-1``); statistics are medians over seeds.
    full : bool
        Larger, paper-like sizes (minutes instead of seconds).
    out : str or path, optional
        Directory; the run writes ``out/name/curves.csv``, ``settings.json`` and
        ``figure.png`` (when matplotlib is installed and ``plot``).  ``None`` writes nothing.
    plot : bool
        Draw the figure.
    verbose : bool
        Log each curve's progress.

    Returns
    -------
    Result
        ``success`` (whether the paper's claim is visible in this run), ``message`` (the
        check's explanation), ``summary`` (label -> statistics), ``curves`` (label -> list of
        per-seed error arrays), ``files``, ``elapsed``.

    Raises
    ------
    ValueError
        Unknown ``name`` or ``seeds < 1``.

    References
    ----------
    See each experiment's ``paper`` in :func:`list_experiments`.

    Examples
    --------
    >>> from lowrank_la.experiments import run_experiment
    >>> res = run_experiment("tong2021")           # doctest: +SKIP
    >>> res.success                                # doctest: +SKIP
    True
    """
    check_option(name, "name", set(EXPERIMENTS))
    seeds = check_int(seeds, "seeds", minimum=1)
    exp = EXPERIMENTS[name]
    from ..sensing import make_sensing_problem

    t0 = time.perf_counter()
    curves = exp.build(bool(full))
    maxiter = exp.maxiter(bool(full))
    track_sv = exp.plot == "sv"
    problems = {}
    runs = {c.label: [] for c in curves}
    stats = {c.label: [] for c in curves}
    sigmas = {}
    for seed in range(seeds):
        for c in curves:
            key = (json.dumps(c.problem, sort_keys=True), seed)
            if key not in problems:
                problems[key] = make_sensing_problem(**c.problem, rng=seed)
            P = problems[key]
            t1 = time.perf_counter()
            res = _solve(c, P, maxiter, track_sv, seed)
            err = np.asarray(res.history["error"], dtype=float)
            sv = np.asarray(res.history["sv"], dtype=float) if track_sv else None
            runs[c.label].append({"error": err, "loss": np.asarray(res.history["loss"], float),
                                  "sv": sv, "seconds": time.perf_counter() - t1})
            stats[c.label].append(summarize_curve(err, exp.tol, sv, P.sigma))
            sigmas[c.label] = P.sigma
            if verbose:
                logger.info("%s seed %d %s: %d iterations, final error %.2e", name, seed,
                            c.label, res.nit, err[-1])
        problems = {k: v for k, v in problems.items() if k[1] != seed}
    summary = {label: _median_summary(s) for label, s in stats.items()}
    for label in summary:
        summary[label]["seconds"] = float(np.median([r["seconds"] for r in runs[label]]))
    holds, explanation = exp.check(summary)
    elapsed = time.perf_counter() - t0
    files = []
    if out is not None:
        folder = Path(out) / name
        folder.mkdir(parents=True, exist_ok=True)
        files.append(_write_csv(folder / "curves.csv", name, curves, runs))
        settings = {
            "experiment": name, "title": exp.title, "paper": exp.paper, "claim": exp.claim,
            "claim_visible": holds, "check": explanation, "full": bool(full), "seeds": seeds,
            "maxiter": maxiter, "tolerance": exp.tol, "stop_floor": _FLOOR,
            "curves": [{"panel": c.panel, "label": c.label, "solver": c.solver, "rank": c.rank,
                        "problem": c.problem, "options": c.options} for c in curves],
            "summary": summary, "elapsed_seconds": elapsed, "versions": _versions(),
        }
        path = folder / "settings.json"
        path.write_text(json.dumps(settings, indent=2))
        files.append(path)
        if plot:
            fig = _plot(folder / "figure.png", exp, curves, runs, sigmas)
            if fig is not None:
                files.append(fig)
    return Result(success=bool(holds), status=0 if holds else 1, message=explanation,
                  nit=len(curves) * seeds, summary=summary,
                  curves={k: [r["error"] for r in v] for k, v in runs.items()},
                  files=[str(f) for f in files], elapsed=elapsed)


def _write_csv(path, name, curves, runs):
    k_max = max((r["sv"].shape[1] for v in runs.values() for r in v if r["sv"] is not None),
                default=0)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["experiment", "panel", "label", "seed", "iteration", "error", "loss"]
                   + [f"sv{i + 1}" for i in range(k_max)])
        for c in curves:
            for seed, r in enumerate(runs[c.label]):
                for it in range(r["error"].shape[0]):
                    row = [name, c.panel, c.label, seed, it, f"{r['error'][it]:.6e}",
                           f"{r['loss'][it]:.6e}"]
                    if r["sv"] is not None:
                        row += [f"{v:.6e}" for v in r["sv"][it]]
                    w.writerow(row)
    return path


def _plot(path, exp, curves, runs, sigmas):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # optional dependency: the CSV and JSON are still written
        logger.warning("matplotlib is not installed: no figure (pip install matplotlib)")
        return None
    panels = list(dict.fromkeys(c.panel for c in curves))
    sv_curves = [c for c in curves if exp.plot == "sv"]
    n_ax = len(panels) + len(sv_curves)
    fig, axes = plt.subplots(1, n_ax, figsize=(4.6 * n_ax, 3.8), squeeze=False)
    axes = axes[0]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, panel in zip(axes, panels):
        mine = [c for c in curves if c.panel == panel]
        for j, c in enumerate(mine):
            color = colors[j % len(colors)]
            label = c.label.split(" [")[0]
            for seed, r in enumerate(runs[c.label]):
                e = np.maximum(r["error"], 1e-16)
                ax.semilogy(np.arange(e.shape[0]), e, color=color, lw=1.6 if seed == 0 else 0.6,
                            alpha=1.0 if seed == 0 else 0.5, label=label if seed == 0 else None)
        ax.set_title(panel, fontsize=9)
        ax.set_xlabel("iteration")
        ax.set_ylabel(r"$\|X_t - M^\star\|_F / \|M^\star\|_F$")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7)
    for ax, c in zip(axes[len(panels):], sv_curves):
        sv = runs[c.label][0]["sv"]
        for i in range(sv.shape[1]):
            ax.plot(np.arange(sv.shape[0]), sv[:, i], lw=1.4, label=f"sigma_{i + 1}(X_t X_t^T)")
        for s in sigmas[c.label]:
            ax.axhline(s, color="gray", ls=":", lw=0.8)
        ax.set_title(f"singular values, {c.label}", fontsize=9)
        ax.set_xlabel("iteration")
        ax.legend(fontsize=6)
    fig.suptitle(f"{exp.title} ({exp.paper.split(',')[0]} et al.)" if "," in exp.paper
                 else exp.title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
