"""k-means++ and Lloyd iterations on any array-API backend (scikit-learn's KMeans when usable).

scikit-learn is an optional import: it is used for NumPy input when installed
(``kmeans="auto"``); otherwise the built-in version runs on the input's own backend and device.
"""

from __future__ import annotations

import numpy as np

from .._backend import get_backend

__all__ = ["kmeans"]


def _sq_dists(xp, X, C, x2):
    """``||x_i - c_j||^2`` for all pairs, clipped at 0 (the expansion can round below)."""
    c2 = xp.sum(C * C, axis=1)
    D = x2[:, None] - 2.0 * (X @ C.T) + c2[None, :]
    return xp.maximum(D, xp.zeros_like(D))


def _draw(bk, weights, rng):
    """One index drawn with probability proportional to ``weights`` (on the device)."""
    xp = bk.xp
    cum = xp.cumulative_sum(xp.astype(weights, xp.float64))
    u = bk.from_host(np.array([rng.random()])) * cum[-1]
    i = int(xp.searchsorted(cum, u, side="right")[0])
    return min(i, weights.shape[0] - 1)


def _kmeanspp(bk, X, k, rng, x2):
    """k-means++ seeding (Arthur-Vassilvitskii): each centre drawn proportionally to D^2."""
    xp = bk.xp
    n = X.shape[0]
    first = int(rng.integers(n))
    chosen = [first]
    d2 = _sq_dists(xp, X, X[first:first + 1, :], x2)[:, 0]
    for _ in range(1, k):
        if float(xp.sum(d2)) <= 0:  # fewer distinct points than k: repeat a point
            i = int(rng.integers(n))
        else:
            i = _draw(bk, d2, rng)
        chosen.append(i)
        d2 = xp.minimum(d2, _sq_dists(xp, X, X[i:i + 1, :], x2)[:, 0])
    idx = bk.from_host(np.asarray(chosen)) if bk.name != "numpy" else np.asarray(chosen)
    return xp.take(X, idx, axis=0)


def _lloyd(bk, X, k, rng, max_iter, tol):
    xp = bk.xp
    x2 = xp.sum(X * X, axis=1)
    C = _kmeanspp(bk, X, k, rng, x2)
    scale = float(xp.mean(xp.sum((X - xp.mean(X, axis=0)) ** 2, axis=1))) or 1.0
    nit = 0
    for it in range(max_iter):
        labels = xp.argmin(_sq_dists(xp, X, C, x2), axis=1)
        onehot = xp.astype(labels[:, None] == xp.arange(k, device=bk.device)[None, :], X.dtype)
        counts = xp.sum(onehot, axis=0)
        sums = onehot.T @ X
        # an empty cluster keeps its centre (it may win points back next iteration)
        C_new = xp.where(counts[:, None] > 0, sums / xp.maximum(counts, xp.ones_like(counts))[:, None], C)
        shift = float(xp.sum((C_new - C) ** 2))
        C = C_new
        nit = it + 1
        if shift <= tol * scale:
            break
    labels = xp.argmin(_sq_dists(xp, X, C, x2), axis=1)
    return C, labels, nit


def kmeans(X, k, rng, *, method="auto", max_iter=100, tol=1e-6):
    """Cluster the rows of ``X``: returns ``(centers, labels, nit, used)``.

    ``method``: ``"auto"`` (scikit-learn for NumPy input when installed, else built-in),
    ``"sklearn"`` or ``"builtin"``.
    """
    bk = get_backend(X)
    use_sklearn = method == "sklearn" or (method == "auto" and bk.name == "numpy")
    if use_sklearn:
        try:
            from sklearn.cluster import KMeans
        except ImportError as exc:
            if method == "sklearn":
                raise ImportError(
                    "`kmeans`='sklearn' needs scikit-learn (pip install scikit-learn)"
                ) from exc
            use_sklearn = False
    if use_sklearn:
        if bk.name != "numpy":
            raise TypeError(f"`kmeans`='sklearn' needs NumPy input, got {bk.name} arrays")
        km = KMeans(n_clusters=k, init="k-means++", n_init=1, max_iter=max_iter, tol=tol,
                    random_state=int(rng.integers(2**31 - 1)))
        labels = km.fit_predict(np.asarray(X))
        return km.cluster_centers_.astype(X.dtype, copy=False), labels, int(km.n_iter_), "sklearn"
    C, labels, nit = _lloyd(bk, X, k, rng, max_iter, tol)
    return C, labels, nit, "builtin"
