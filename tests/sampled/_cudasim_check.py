"""Run the CUDA kernels under numba's CUDA simulator and compare them with the generic oracle.

Executed in a subprocess by ``test_cuda.py`` with ``NUMBA_ENABLE_CUDASIM=1`` set before numba is
imported.  CuPy is absent under the simulator, so the launch functions get NumPy arrays (the
simulator accepts host arrays).  Sizes are tiny: the simulator runs every GPU thread as a Python
thread.
"""

import os
import sys

import numpy as np

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", "run with NUMBA_ENABLE_CUDASIM=1"

from lowrank_la.sampled import ObservedEntries  # noqa: E402
from lowrank_la.sampled._kernels import _cuda, _generic  # noqa: E402


def check(dtype, k, seed):
    rng = np.random.default_rng(seed)
    m, n = 7, 5
    mask = rng.random((m, n)) < 0.5
    mask[3] = False  # an empty row
    mask[0, 0] = True
    M = rng.standard_normal((m, n)).astype(dtype)
    om = ObservedEntries.from_dense(M, mask)
    U = rng.standard_normal((m, k)).astype(dtype)
    V = rng.standard_normal((n, k)).astype(dtype)
    X0 = rng.standard_normal((m, k)).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    pat = (om.rows, om.indptr, om.cols)
    lam_rows = (0.1 + 0.05 * np.arange(m)).astype(dtype)
    steps = max(1, k - 1)
    T = om.T
    tpat = (T.rows, T.indptr, T.cols)
    for name, args in [
        ("sddmm", pat + (U, V)),
        ("sddmm_residual", pat + (U, V, om.values)),
        ("spmm", pat + (om.values, V, None)),
        ("spmm", tpat + (om.values, U, om.csc_permutation())),  # spmm_t with custom weights
        ("rowwise_gram", pat + (V, om.values, 0.25)),
        ("rowwise_lstsq", pat + (V, om.values, 0.25)),
        # fewer steps than k: past exact convergence the step counts are decided by rounding
        ("rowwise_cg", pat + (V, om.values, 0.25, X0, steps, 0.0)),
        ("rowwise_lstsq", pat + (V, om.values, lam_rows)),  # per-row ridge (ALS-WR)
        ("rowwise_cg", pat + (V, om.values, lam_rows, X0, steps, 0.0)),
    ]:
        got = getattr(_cuda, name)(*args)
        want = getattr(_generic, name)(*args)
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        for g, w in zip(got, want):
            g, w = np.asarray(g), np.asarray(w)
            assert g.shape == w.shape, (name, g.shape, w.shape)
            assert g.dtype == w.dtype, (name, g.dtype, w.dtype)
            np.testing.assert_allclose(g, w, err_msg=f"{name} {dtype.__name__} k={k}", **tol)
    print(f"ok {dtype.__name__} k={k}")


def check_cg_tiles(seed):
    """Rows longer than one 32-entry tile and k > 32 (two columns per thread) in the CG kernel."""
    rng = np.random.default_rng(seed)
    m, n, k = 3, 75, 40
    mask = rng.random((m, n)) < 0.9  # ~67 entries a row: three tiles, the last one partial
    M = rng.standard_normal((m, n))
    om = ObservedEntries.from_dense(M, mask)
    V = rng.standard_normal((n, k))
    X0 = rng.standard_normal((m, k))
    lam = np.array([0.5, 1.0, 2.0])
    args = (om.rows, om.indptr, om.cols, V, om.values, lam, X0, 6, 0.0)
    for g, w in zip(_cuda.rowwise_cg(*args), _generic.rowwise_cg(*args)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-9, atol=1e-11)
    print("ok tiles k=40")


if __name__ == "__main__":
    check(np.float64, 3, 0)
    check(np.float32, 2, 1)
    check(np.float64, 1, 2)
    check_cg_tiles(3)
    sys.stdout.flush()
