"""Dask integration: the library's algorithms on ``dask.array`` and a ``distributed`` cluster.

Needs the optional ``dask`` extra (``pip install "lowrank_la[dask]"``; the CSV/Parquet readers
also need ``dask[dataframe]``).  Nothing here starts a cluster behind the user's back except
:func:`get_client` with no client running (a ``LocalCluster`` on this machine); every function
that schedules work takes ``client=`` (a ``distributed.Client`` connected to any scheduler).

- Tall-and-skinny linear algebra on ``dask.array`` (rows chunked, one column chunk):
  :func:`randomized_svd`, :func:`randomized_range_finder` (Dask's ``svd_compressed`` /
  ``compression_matrix``: the same algorithm as :func:`lowrank_la.linalg.randomized_svd` with QR
  re-orthonormalization), :func:`leverage_scores` and :func:`lewis_weights` via
  ``dask.array.linalg.tsqr``, and :func:`sample_rows` (draws rows by those scores and fetches
  only the drawn rows).
- :class:`DaskObservedEntries`: Ω blocked by row ranges and by column ranges, each block an
  :class:`~lowrank_la.sampled.ObservedEntries` held by a worker, and
  :func:`complete_matrix_distributed` (``altmin``/``robust_altmin``/``softimpute_als``, rating
  biases, validation; the single-machine per-row kernels on each block and both factors kept on
  the workers; equal to :func:`lowrank_la.completion.complete_matrix` to rounding).
- :func:`mode_grams` and :func:`select_core_shape`: Tucker core-shape selection for a chunked
  tensor from blockwise Gram matrices of its mode unfoldings.
"""

from ._client import get_client
from ._completion import complete_matrix_distributed
from ._entries import DaskObservedEntries
from ._linalg import randomized_range_finder, randomized_svd
from ._sampling import leverage_scores, lewis_weights, sample_rows
from ._tensor import mode_grams, select_core_shape

__all__ = [
    "get_client",
    "DaskObservedEntries",
    "complete_matrix_distributed",
    "randomized_svd",
    "randomized_range_finder",
    "leverage_scores",
    "lewis_weights",
    "sample_rows",
    "mode_grams",
    "select_core_shape",
]
