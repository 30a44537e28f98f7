"""Rating biases (``mean + b_i + c_j``) of a :class:`DaskObservedEntries`, fitted blockwise.

The same alternating shrunken means as :func:`lowrank_la.completion._biases.fit_biases`: row
biases from the row blocks, column biases from the column blocks (each block's update is the
in-memory :func:`~lowrank_la.completion._biases.shrunken_sums` on its entries).  The bias
vectors (``m + n`` numbers) live on the client and are broadcast once per half-step; the
residual ``M_ij - mean - b_i - c_j`` becomes a new pair of block sets on the workers.
"""

from __future__ import annotations

import numpy as np

from ..completion._biases import shrunken_sums
from ._entries import KERNEL_LOCK, DaskObservedEntries, _Block
from ._factors import gather_or_raise

__all__ = ["fit_biases_distributed"]


def _value_sum(block):
    return float(np.sum(block.entries.values, dtype=np.float64))


def _local_bias(block, mean, other, reg):
    """Biases of the block's rows given the other side's biases (indexed by its columns)."""
    e = block.entries
    counts = np.asarray(e.row_counts()).astype(e.values.dtype)
    with KERNEL_LOCK:
        return shrunken_sums(e, e.values - mean - other[e.cols], counts, reg)


def _residual_block(block, mean, own, other):
    e = block.entries
    values = e.values - mean - own[e.rows] - other[e.cols]
    return _Block(e.rows, e.cols, values, e.shape)


def fit_biases_distributed(omega, reg, sweeps=10):
    """``(mean, row_bias, col_bias, residual DaskObservedEntries)``; biases as NumPy arrays."""
    c = omega.client
    total = sum(gather_or_raise(c, c.map(_value_sum, omega.row_blocks, pure=False)))
    mean = total / omega.nnz
    m, n = omega.shape
    b = np.zeros(m, dtype=omega.dtype)
    col = np.zeros(n, dtype=omega.dtype)

    def half(blocks, other):
        fut = c.scatter(other, broadcast=True, hash=False)
        parts = gather_or_raise(c, c.map(_local_bias, blocks, mean=mean, other=fut, reg=reg,
                                         pure=False))
        return np.concatenate(parts)

    for _ in range(sweeps):
        b = half(omega.row_blocks, col)
        col = half(omega.col_blocks, b)

    def residual(blocks, edges, own, other):
        fut = c.scatter(other, broadcast=True, hash=False)
        return [c.submit(_residual_block, blk, mean, own[int(a):int(z)], fut, pure=False)
                for blk, a, z in zip(blocks, edges[:-1], edges[1:])]

    res = DaskObservedEntries(
        omega.shape, omega.row_edges, omega.col_edges,
        residual(omega.row_blocks, omega.row_edges, b, col),
        residual(omega.col_blocks, omega.col_edges, col, b), c, omega.dtype)
    return mean, b, col, res
