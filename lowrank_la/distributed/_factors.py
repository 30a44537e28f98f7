"""Tall factors kept on the workers: row blocks aligned with Ω's blocks, and their operations.

A :class:`BlockFactor` is an ``m x k`` matrix held as one NumPy block per row range
(``edges[b]:edges[b + 1]``) in the workers' memory; the client keeps only the futures.
:class:`BlockFactorOps` implements the operations of
:class:`lowrank_la.completion._factor_ops.ArrayFactors` blockwise, so the completion sweep
(``alternate``, ``balance``, ``run_sweeps``) runs unchanged: Gram matrices and maxima are
reduced to the client (``k x k`` numbers), products with small matrices are maps, and the QR is
a TSQR (local QRs on the workers, one QR of the stacked ``R`` factors on the client).  A solver
task that needs a whole factor receives its block futures as arguments, so the workers fetch the
blocks from each other: the factor never passes through the client.
"""

from __future__ import annotations

import operator

import numpy as np

from .._backend import get_backend
from ..completion._factor_ops import ArrayFactors
from ..linalg import qr as sign_fixed_qr
from ..linalg import subspace_distance

__all__ = ["BlockFactor", "BlockFactorOps", "gather_or_raise"]


def gather_or_raise(client, futures):
    """``client.gather`` with a clear error when blocks died with their worker."""
    from distributed.client import FutureCancelledError

    try:
        return client.gather(futures)
    except FutureCancelledError as exc:
        raise RuntimeError(
            "a Dask worker holding blocks of Ω or of the factors was lost and the blocks cannot "
            "be recomputed (blocks scattered by DaskObservedEntries.from_entries exist only in "
            "worker memory; blocks built by from_dataframe/from_csv are recomputed from their "
            f"source): rebuild the DaskObservedEntries and run again ({exc})") from exc


def _gram(F, G):
    return F.T @ G


def _times(F, T):
    return F @ T


def _scale(F, d):
    return F * d[None, :]


def _local_qr(F):
    # the backend's thin QR (LAPACK via SciPy); a block with fewer rows than k gets a
    # rows x k R.  Signs are fixed once, on the stacked R, by linalg.qr.
    return get_backend(F).linalg.qr(F)


def _apply_q(QR, S):
    return QR[0] @ S


def _max_row_norm(F):
    return float(np.max(np.linalg.norm(F, axis=1))) if F.shape[0] else 0.0


def _all_finite(F):
    return bool(np.all(np.isfinite(F)))


class BlockFactor:
    """An ``m x k`` factor held by the workers as row blocks.

    Parameters
    ----------
    client : distributed.Client
    blocks : list of distributed.Future
        Block ``b`` is a NumPy array of shape ``(edges[b + 1] - edges[b], k)``.
    edges : numpy.ndarray of int64
    k : int
    dtype : numpy.dtype
    """

    def __init__(self, client, blocks, edges, k, dtype):
        self.client, self.blocks = client, list(blocks)
        self.edges = np.asarray(edges, dtype=np.int64)
        self.shape = (int(self.edges[-1]), int(k))
        self.dtype = np.dtype(dtype)

    @classmethod
    def scatter(cls, client, X, edges):
        """Cut the in-memory ``X`` at ``edges`` and scatter the blocks."""
        X = np.ascontiguousarray(X)
        parts = [X[int(a):int(b)] for a, b in zip(edges[:-1], edges[1:])]
        return cls(client, client.scatter(parts, hash=False), edges, X.shape[1], X.dtype)

    def like(self, blocks, k=None):
        return BlockFactor(self.client, blocks, self.edges, self.shape[1] if k is None else k,
                           self.dtype)

    def map(self, fn, *args, k=None):
        """The factor whose block ``b`` is ``fn(block_b, *args)`` (computed on the workers)."""
        c = self.client
        return self.like([c.submit(fn, blk, *args, pure=False) for blk in self.blocks], k)

    def reduce(self, fn, *args):
        """``[fn(block_b, *args) for every b]`` computed on the workers, gathered."""
        c = self.client
        return gather_or_raise(c, [c.submit(fn, blk, *args, pure=False) for blk in self.blocks])

    def gather(self):
        """The whole factor as one NumPy array on the client."""
        return np.concatenate(gather_or_raise(self.client, self.blocks), axis=0)

    def to_dask_array(self):
        """The factor as a ``dask.array`` over the same blocks (nothing moves)."""
        import dask.array as da

        parts = [da.from_delayed(f, shape=(int(b - a), self.shape[1]), dtype=self.dtype)
                 for f, a, b in zip(self.blocks, self.edges[:-1], self.edges[1:])]
        return da.concatenate(parts, axis=0)

    def __repr__(self):
        return f"BlockFactor(shape={self.shape}, blocks={len(self.blocks)})"


class BlockFactorOps(ArrayFactors):
    """:class:`~lowrank_la.completion._factor_ops.ArrayFactors`' operations, blockwise."""

    @staticmethod
    def gram(F, G=None):
        G = F if G is None else G
        c = F.client
        parts = gather_or_raise(c, [c.submit(_gram, f, g, pure=False)
                                    for f, g in zip(F.blocks, G.blocks)])
        return sum(parts[1:], parts[0])

    @staticmethod
    def times(F, T):
        return F.map(_times, np.ascontiguousarray(T), k=T.shape[1])

    @staticmethod
    def scale_columns(F, d):
        return F.map(_scale, np.asarray(d))

    @staticmethod
    def qr(F):
        """TSQR: sign-fixed ``R`` of the stacked local ``R`` factors (equal to Householder's)."""
        c = F.client
        local = [c.submit(_local_qr, blk, pure=False) for blk in F.blocks]
        Rs = gather_or_raise(c, [c.submit(operator.getitem, qr_, 1, pure=False)
                                 for qr_ in local])
        Q2, R = sign_fixed_qr(np.concatenate(Rs, axis=0), check=False)
        offsets = np.cumsum([0] + [r.shape[0] for r in Rs])
        Q = F.like([c.submit(_apply_q, qr_, Q2[int(a):int(b)], pure=False)
                    for qr_, a, b in zip(local, offsets[:-1], offsets[1:])])
        return Q, R

    @staticmethod
    def svd(F):
        """TSQR, then the SVD of the ``k x k`` R: ``F = (Q W) diag(s) Zh``."""
        Q, R = BlockFactorOps.qr(F)
        W, s, Zh = get_backend(R).linalg.svd(R)
        return BlockFactorOps.times(Q, W), s, Zh

    @staticmethod
    def max_row_norm(F):
        return max(F.reduce(_max_row_norm))

    @staticmethod
    def all_finite(F):
        return all(F.reduce(_all_finite))

    @staticmethod
    def subspace_change(F_prev, F, orthonormal):
        if orthonormal:
            # the cosines of the principal angles are the singular values of F_prevᵀ F:
            # subspace_distance of (I, C) computes exactly that from the k x k cross product
            C = BlockFactorOps.gram(F_prev, F)
            return subspace_distance(np.eye(C.shape[0], dtype=C.dtype), C, orthonormal=True,
                                     accurate=False)
        # ranges of non-orthonormal factors: orthonormalize both by TSQR first
        return BlockFactorOps.subspace_change(BlockFactorOps.qr(F_prev)[0],
                                              BlockFactorOps.qr(F)[0], True)

    @staticmethod
    def materialize(F):
        return F.gather() if isinstance(F, BlockFactor) else F

    @staticmethod
    def validation_rmse(result, U, V, validation):
        # the model's own predict on dask views of the blocks: only the rows of U and V that
        # the held-out entries touch are computed and travel to the client
        model = type(result)(**result)
        model.update(U=U.to_dask_array(), V=V.to_dask_array())
        return model.rmse(validation)


BLOCK_FACTOR_OPS = BlockFactorOps()
