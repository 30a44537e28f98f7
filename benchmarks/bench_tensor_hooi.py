"""Tucker decompositions at equal ranks: lowrank_la vs TensorLy ``tucker`` (peer).

Same algorithm on both sides: HOSVD start then exactly 5 HOOI sweeps (TensorLy ``init="svd"``,
``n_iter_max=5, tol=0``; ours ``hooi(init="hosvd", maxiter=5, tol=0)``), and the HOSVD alone
(TensorLy ``n_iter_max=0``).  Ranks are the packing shapes at 1% and 5% of the entries.  Errors
are unsquared relative errors ||X - X^||_F / ||X||_F formed from the dense difference;
``speedup`` = peer time / lowrank_la time (> 1: lowrank_la faster).  The last rows compare our
randomized ST-HOSVD with our exact one (the floor it approximates).  One BLAS thread.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._harness import best_time


def _rel(X, D):
    return float(np.linalg.norm(X - D) / np.linalg.norm(X))


def run(quick: bool = False):
    from threadpoolctl import threadpool_limits

    from lowrank_la import ConvergenceWarning
    from lowrank_la.tensor import hooi, hosvd, select_core_shape, st_hosvd, uneven_tensor

    try:
        import tensorly as tl
        from tensorly.decomposition import tucker
    except ImportError:  # the peer is optional
        tl = None
    tensors = [("uneven 60^3", uneven_tensor((60,) * 3, (2, 6, 20), noise=0.01, rng=0))]
    if not quick:
        tensors = [
            ("uneven 100^3", uneven_tensor((100,) * 3, (2, 6, 20), noise=0.01, rng=0)),
            ("uneven 120x100x80", uneven_tensor((120, 100, 80), (40, 3, 10), noise=0.01, rng=1)),
        ]
        try:
            from lowrank_la.tensor import load_tensor

            tensors.append(("lfw_subset", load_tensor("lfw_subset")))
        except ImportError:
            pass
    rows = []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, X in tensors:
            for frac in (0.01, 0.05):
                ranks = select_core_shape(X, int(frac * X.size)).shape
                cases = [
                    ("hosvd", lambda X=X, r=ranks: hosvd(X, r),
                     lambda X=X, r=ranks: tucker(X, rank=list(r), n_iter_max=0, init="svd")),
                    ("hooi 5 sweeps", lambda X=X, r=ranks: hooi(
                        X, r, init="hosvd", maxiter=5, tol=0).tucker,
                     lambda X=X, r=ranks: tucker(X, rank=list(r), n_iter_max=5, tol=0,
                                                 init="svd")),
                ]
                for what, ours, peer in cases:
                    T = ours()
                    t_ours = best_time(ours, repeat=3, min_time=0.1)
                    row = {"tensor": name, "dims": "x".join(map(str, X.shape)),
                           "ranks": str(ranks), "what": what, "lowrank_la_s": t_ours,
                           "lowrank_la_err": _rel(X, T.to_dense())}
                    if tl is not None:
                        core, factors = peer()
                        t_peer = best_time(peer, repeat=3, min_time=0.1)
                        D = tl.tucker_to_tensor((core, factors))
                        row.update(peer="tensorly " + tl.__version__, peer_s=t_peer,
                                   speedup=t_peer / t_ours, peer_err=_rel(X, D),
                                   err_ratio=row["lowrank_la_err"] / _rel(X, D))
                    rows.append(row)
                    print(row, flush=True)
        big = (120,) * 3 if quick else (200,) * 3
        X = uneven_tensor(big, (2, 6, 20), noise=0.01, rng=2)
        ranks = (8, 20, 40)
        exact = lambda: st_hosvd(X, ranks)  # noqa: E731
        rand = lambda: st_hosvd(X, ranks, randomized=True, rng=0, n_power_iter=1)  # noqa: E731
        t_exact = best_time(exact, repeat=3, min_time=0.1)
        t_rand = best_time(rand, repeat=3, min_time=0.1)
        e_exact, e_rand = exact().relative_error(X), rand().relative_error(X)
        rows.append({"tensor": "uneven " + "x".join(map(str, big)), "dims": "x".join(map(str, big)),
                     "ranks": str(ranks), "what": "st_hosvd randomized (peer: exact st_hosvd)",
                     "lowrank_la_s": t_rand, "lowrank_la_err": e_rand, "peer": "st_hosvd exact",
                     "peer_s": t_exact, "speedup": t_exact / t_rand, "peer_err": e_exact,
                     "err_ratio": e_rand / e_exact})
        print(rows[-1], flush=True)
    notes = __doc__.split("\n\n", 1)[1].replace("\n", " ").strip()
    if tl is None:
        notes += " TensorLy is not installed (pip install tensorly): peer columns are empty."
    return rows, notes
