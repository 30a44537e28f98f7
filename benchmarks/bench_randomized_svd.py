"""Randomized SVD: lowrank_la vs scikit-learn ``randomized_svd`` and SciPy ``svds``.

Equal rank, oversampling and power iterations for the two randomized methods; ``svds`` (ARPACK)
is the Krylov peer, run at its default tolerance.  Accuracy is reported as the spectral-norm
proxy ``max_i |s_i - s_i*| / s_1*`` and as the residual ``||A - U S Vᵀ||_F`` relative to the
optimal rank-k residual, so times are compared at equal (reported) accuracy.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from ._harness import best_time


def _test_matrix(m, n, k, rng, dtype):
    # singular values: k large ones, then a slow polynomial tail (hard for one-pass methods)
    r = min(m, n)
    sv = np.concatenate([np.linspace(100, 20, k), 10.0 / np.arange(1, r - k + 1) ** 0.5])
    U = np.linalg.qr(rng.standard_normal((m, r)))[0]
    V = np.linalg.qr(rng.standard_normal((n, r)))[0]
    return ((U * sv) @ V.T).astype(dtype), sv


def _residual(A, U, s, Vh):
    if scipy.sparse.issparse(A):
        # ||A - U S Vh||_F^2 = ||A||_F^2 - ||S||^2 when U, Vh are exact singular vectors; use
        # the exact expansion instead (no densify): ||A||^2 - 2 tr(Vh A^T U S) + ||S||^2
        AtU = A.T @ U
        cross = np.sum((Vh.T * s) * AtU)
        return float(np.sqrt(max(scipy.sparse.linalg.norm(A) ** 2 - 2 * cross + np.sum(s**2), 0)))
    return float(np.linalg.norm(A - (U * s) @ Vh))


def run(quick: bool = False):
    from sklearn.utils.extmath import randomized_svd as sk_rsvd

    from lowrank_la.linalg import randomized_svd

    rng = np.random.default_rng(0)
    rows = []
    dense_cases = [(1000, 500, 10)] if quick else [(4000, 2000, 20), (2000, 2000, 50)]
    cases = [("dense", m, n, k, dt) for (m, n, k) in dense_cases
             for dt in (np.float64, np.float32)]
    cases += [("sparse", 20000 if not quick else 4000, 10000 if not quick else 2000, 10, np.float64)]
    for kind, m, n, k, dtype in cases:
        if kind == "dense":
            A, sv = _test_matrix(m, n, k, rng, dtype)
            s_opt = sv
        else:
            A = scipy.sparse.random(m, n, density=1e-3, random_state=1, format="csr",
                                    dtype=dtype)
            A = A + scipy.sparse.diags(np.linspace(50, 10, n), shape=(m, n), format="csr")
            s_opt = np.sort(scipy.sparse.linalg.svds(A, k=k + 1, tol=1e-12,
                                                     return_singular_vectors=False))[::-1]
        opt_res = float(np.sqrt(max(
            (np.linalg.norm(A) if kind == "dense" else scipy.sparse.linalg.norm(A)) ** 2
            - np.sum(s_opt[:k].astype(float) ** 2), 0)))

        def lib(A=A, k=k):
            return randomized_svd(A, k, oversample=10, n_power_iter=4, rng=1)

        def sk(A=A, k=k):
            return sk_rsvd(A, k, n_oversamples=10, n_iter=4, random_state=1)

        def arpack(A=A, k=k):
            U, s, Vh = scipy.sparse.linalg.svds(A, k=k, random_state=1)
            order = np.argsort(s)[::-1]
            return U[:, order], s[order], Vh[order]

        results = {}
        for name, fn in (("lowrank_la", lib), ("sklearn", sk), ("scipy.svds", arpack)):
            U, s, Vh = fn()
            t = best_time(fn, repeat=3, min_time=0.1)
            err = float(np.max(np.abs(s.astype(float) - s_opt[:k]) / s_opt[0]))
            res = _residual(A, U.astype(float), s.astype(float), Vh.astype(float)) / opt_res
            results[name] = (t, err, res)
        t0 = results["lowrank_la"][0]
        # physical floor: the 2 + 2 * n_power_iter products with A that any such method makes
        X = rng.standard_normal((n, k + 10)).astype(dtype)
        floor = (2 + 2 * 4) * best_time(lambda A=A, X=X: A @ X, repeat=3, min_time=0.1)
        for peer in ("sklearn", "scipy.svds"):
            rows.append({
                "input": kind, "shape": f"{m}x{n}", "k": k, "dtype": np.dtype(dtype).name,
                "peer": peer,
                "lowrank_la_s": t0, "peer_s": results[peer][0],
                "speedup_vs_peer": results[peer][0] / t0,
                "lowrank_la/floor": t0 / floor,
                "lowrank_la_sv_err": results["lowrank_la"][1], "peer_sv_err": results[peer][1],
                "lowrank_la_resid/opt": results["lowrank_la"][2],
                "peer_resid/opt": results[peer][2],
            })
    notes = ("Randomized methods: oversample=10, 4 power iterations, same for both. "
             "speedup_vs_peer = peer time / lowrank_la time (>1: lowrank_la faster). "
             "lowrank_la/floor = time / (10 products A @ X timed alone), 1.0 is the floor. "
             "sv_err = max |s_i - s_i*| / s_1*; resid/opt = ||A - U S V^T||_F / optimal rank-k "
             "residual (1.0 is optimal).")
    return rows, notes
