"""Orthonormal bases of range(A) for dense (any backend) and scipy.sparse matrices.

Three exact routes, each returning ``Q`` (n x r, orthonormal columns spanning range(A), r the
numerical rank) and ``R`` (r x d) with ``A = Q R``:

* ``"qr"``: Householder QR of A, then an SVD of the small R only when R is rank deficient
  (QR without pivoting does not reveal rank, the d singular values of R do).  Dense only.
* ``"gram"``: eigendecomposition of ``A^T A`` (squares the condition number: loses digits when
  cond(A) > ~1e4 in float64, ~30 in float32) and one product ``A V Λ^{-1/2}``.
* ``"cholqr"``: sketch-preconditioned Cholesky QR.  ``R0`` from the SVD of a sketch ``S A``,
  ``B = A R0^{-1}`` is well conditioned, so the Gram route on B is exact to working precision and
  costs two passes over A (one for the sketch, one for ``A R0^{-1}``).  Works on scipy.sparse.

Rank cut everywhere: singular values ``<= max(n, d) * eps * s_1`` are dropped (eigenvalues of a
Gram matrix ``<= max(n, d) * eps * λ_1``, the level below which they are rounding noise).
"""

from __future__ import annotations

import math

import numpy as np

from ..linalg import sketch as _linalg_sketch
from ..linalg._qr import qr as _qr
from ..linalg._sketch import countsketch_host

__all__ = [
    "factor", "sketch_rows", "preconditioner", "matmul", "row_sq_norms", "product_row_sq_norms",
    "leverage_transform", "EXACT_METHODS",
]

EXACT_METHODS = ("qr", "gram", "cholqr")


def _eps(dtype) -> float:
    return float(np.finfo(np.float32 if "float32" in str(dtype) else np.float64).eps)


def matmul(A, P, sparse: bool):
    """``A @ P`` for dense (any backend) or scipy.sparse ``A`` and a dense ``P``."""
    if sparse:
        return np.asarray(A @ P)
    return A @ P


_BLOCK = 1 << 16  # rows per block for host products: bounds the n x r temporaries


def _blocks(bk, A, sparse):
    """Row blocks for the NumPy/scipy.sparse path (None: one block on other backends)."""
    n = A.shape[0]
    if (sparse or bk.name == "numpy") and n > _BLOCK:
        return [slice(i, min(i + _BLOCK, n)) for i in range(0, n, _BLOCK)]
    return None


def gram(bk, A, sparse: bool):
    if sparse:
        return np.asarray((A.T @ A).toarray())
    return A.T @ A


def gram_of_product(bk, A, P, sparse: bool):
    """``(A P)^T (A P)`` without forming the n x r product at once on the host."""
    blocks = _blocks(bk, A, sparse)
    if blocks is None:
        B = matmul(A, P, sparse)
        return B.T @ B
    from scipy.linalg import blas

    syrk = blas.ssyrk if P.dtype == np.float32 else blas.dsyrk
    C = np.zeros((P.shape[1], P.shape[1]), dtype=P.dtype)
    for b in blocks:
        B = np.ascontiguousarray(matmul(A[b], P, sparse), dtype=P.dtype)
        # syrk on the Fortran view B^T: half the flops of B.T @ B; fills the upper triangle
        C += syrk(1.0, B.T, trans=0)
    return np.triu(C) + np.triu(C, 1).T


def product_row_sq_norms(bk, A, T, sparse: bool, *, low_precision: bool = False):
    """Squared row norms of ``A T``, blockwise on the host.

    ``low_precision``: on the NumPy/scipy.sparse path, form ``A T`` in float32 (half the GEMM
    time); for sketched scores only, whose own error (~5%) dwarfs float32 rounding (1e-7).
    """
    host = sparse or bk.name == "numpy"
    out_dtype = T.dtype
    if low_precision and host and T.dtype == np.float64:
        T = T.astype(np.float32)
        if sparse:
            A = A.astype(np.float32)
    else:
        low_precision = False
    blocks = _blocks(bk, A, sparse) if host else None
    if blocks is None:
        blocks = [slice(0, A.shape[0])] if host else None
    if blocks is None:
        return row_sq_norms(bk, matmul(A, T, sparse))
    out = np.empty(A.shape[0], dtype=out_dtype)
    for b in blocks:
        Ab = A[b]
        if low_precision and not sparse:
            Ab = Ab.astype(np.float32)
        B = matmul(Ab, T, sparse)
        out[b] = np.einsum("ij,ij->i", B, B)
    return out


def row_sq_norms(bk, Q):
    """Squared row norms (accumulated in the array's own dtype)."""
    return bk.xp.sum(Q * Q, axis=1)


def sketch_rows(bk, A, sparse: bool, size: int, kind: str, rng):
    """Return ``S A`` for an oblivious sketch with ``size`` rows."""
    if kind == "countsketch" and (sparse or bk.name == "numpy"):
        return countsketch_host(A, size, rng)
    if sparse:
        raise ValueError(
            f"`sketch_kind`={kind!r} is not available for scipy.sparse input; use 'countsketch'"
        )
    if kind == "srht":
        size = min(size, 1 << max(0, (A.shape[0] - 1).bit_length()))
    return _linalg_sketch(A, size, kind=kind, rng=rng)


def _svd_cut(bk, M, shape):
    """Thin SVD of a small matrix with the numerical-rank cut; returns U_r, s_r, Vt_r, r."""
    U, s, Vt = bk.linalg.svd(M)
    s_host = bk.to_host(s)  # r values that decide the rank: a small control-flow copy
    tol = max(shape) * _eps(M.dtype) * (float(s_host[0]) if s_host.size else 0.0)
    r = int(np.sum(s_host > tol))
    return U[:, :r], s[:r], Vt[:r, :], r, s_host


def _eigh_cut(bk, C, shape):
    """Eigenpairs of a symmetric PSD Gram matrix above the rounding level, largest first."""
    xp = bk.xp
    lam, V = bk.linalg.eigh(C)
    lam_host = bk.to_host(lam)
    top = float(lam_host.max()) if lam_host.size else 0.0
    keep = np.nonzero(lam_host > max(shape) * _eps(C.dtype) * top)[0][::-1].copy()
    keep_dev = bk.from_host(keep) if bk.name != "numpy" else keep
    return xp.take(lam, keep_dev, axis=0), xp.take(V, keep_dev, axis=1), int(keep.size)


def preconditioner(bk, A, sparse: bool, *, sketch_size, sketch_kind, rng):
    """``(P, s, Vt, r)``: ``P = V_r diag(1/s_r)`` from the SVD of a sketch ``S A = U s Vt``."""
    n, d = A.shape
    SA = sketch_rows(bk, A, sparse, sketch_size, sketch_kind, rng)
    if not sparse and bk.name != "numpy":
        SA = bk.xp.astype(SA, A.dtype)
    if SA.shape[0] > 2 * SA.shape[1]:
        # R of the tall sketch first: the SVD of a d x d triangle is far cheaper than of S A
        if sparse or bk.name == "numpy":
            import scipy.linalg

            SA = scipy.linalg.qr(np.asarray(SA, dtype=A.dtype), mode="r", check_finite=False)[0]
            SA = SA[: SA.shape[1], :]
        else:
            SA = bk.linalg.qr(SA)[1]
    _, s, Vt, r, _ = _svd_cut(bk, SA, A.shape)
    return Vt.T / s[None, :], s, Vt, r


def factor(bk, A, sparse: bool, method: str, *, rng=None, sketch_size=None, sketch_kind="countsketch"):
    """``(Q, R)`` with ``A = Q R``, ``Q`` orthonormal (n x r), r the numerical rank."""
    xp = bk.xp
    n, d = A.shape
    if method == "qr":
        if sparse:
            raise ValueError("`method`='qr' needs a dense matrix; use 'cholqr' or 'gram' for sparse")
        Q, R = _qr(A, check=False)
        U, s, Vt, r, s_host = _svd_cut(bk, R, A.shape)
        if r == R.shape[0]:
            return Q, R
        return Q @ U, s[:, None] * Vt
    if method == "gram":
        lam, V, r = _eigh_cut(bk, gram(bk, A, sparse), A.shape)
        root = xp.sqrt(lam)
        Q = matmul(A, V / root[None, :], sparse)
        return Q, root[:, None] * V.T
    if method == "cholqr":
        if sketch_size is None:
            sketch_size = 20 * d
        P, s0, Vt0, r = preconditioner(
            bk, A, sparse, sketch_size=sketch_size, sketch_kind=sketch_kind, rng=rng
        )
        B = matmul(A, P, sparse)
        lam, V, r1 = _eigh_cut(bk, B.T @ B, A.shape)
        root = xp.sqrt(lam)
        Q = B @ (V / root[None, :])
        # A = A Vt0^T Vt0 on range(A^T) = B diag(s0) Vt0 and B = Q root V^T
        R = (root[:, None] * V.T) @ (s0[:, None] * Vt0)
        return Q, R
    raise ValueError(f"`method` must be one of {sorted(EXACT_METHODS)}, got {method!r}")


def leverage_transform(bk, A, sparse: bool, method: str, *, rng=None, sketch_size=None,
                       sketch_kind="countsketch"):
    """``T`` (d x r) with ``A T`` an orthonormal basis of range(A) (methods gram, cholqr)."""
    xp = bk.xp
    if method == "gram":
        lam, V, _ = _eigh_cut(bk, gram(bk, A, sparse), A.shape)
        return V / xp.sqrt(lam)[None, :]
    if method == "cholqr":
        P, _, _, _ = preconditioner(
            bk, A, sparse, sketch_size=20 * A.shape[1] if sketch_size is None else sketch_size,
            sketch_kind=sketch_kind, rng=rng,
        )
        lam, V, _ = _eigh_cut(bk, gram_of_product(bk, A, P, sparse), A.shape)
        return P @ (V / xp.sqrt(lam)[None, :])
    raise ValueError(f"`method` must be 'gram' or 'cholqr' here, got {method!r}")


def default_jl_dim(n: int) -> int:
    """JL dimension ``ceil(8 ln n)``: relative error ~ sqrt(2 / k) per row (chi-square)."""
    return max(1, math.ceil(8 * math.log(max(n, 2))))
