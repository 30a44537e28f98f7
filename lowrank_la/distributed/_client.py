"""The Dask imports (with a clear error without the extra) and the client lookup."""

from __future__ import annotations

import logging

logger = logging.getLogger("lowrank_la")

_INSTALL = 'the `dask` extra is required: pip install "lowrank_la[dask]"'


def require_dask():
    """Import ``dask.array``; ``ImportError`` naming the extra when it is missing."""
    try:
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - exercised only without dask
        raise ImportError(f"lowrank_la.distributed: {_INSTALL}") from exc
    return da


def get_client(client=None):
    """The ``distributed.Client`` to schedule on.

    Parameters
    ----------
    client : distributed.Client, str or None
        A client (returned as is), a scheduler address such as ``"tcp://10.0.0.1:8786"``
        (connected to), or ``None``: the current default client if one exists, else a new
        ``LocalCluster`` on this machine (one worker process per core group, Dask's defaults).

    Returns
    -------
    distributed.Client

    Raises
    ------
    TypeError
        When ``client`` is neither a client, a string nor None.
    ImportError
        Without the ``distributed`` package.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> from lowrank_la.distributed import get_client
    >>> with LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
    ...                   dashboard_address=":0") as cluster, Client(cluster) as c:
    ...     get_client(c) is c
    True
    """
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - exercised only without distributed
        raise ImportError(f"lowrank_la.distributed: {_INSTALL}") from exc
    if isinstance(client, distributed.Client):
        return client
    if isinstance(client, str):
        return distributed.Client(client)
    if client is not None:
        raise TypeError(f"`client` must be a distributed.Client, a scheduler address or None, "
                        f"got {type(client).__name__}")
    try:
        return distributed.default_client()
    except ValueError:
        logger.info("lowrank_la.distributed: no Dask client running; starting a LocalCluster")
        return distributed.Client(distributed.LocalCluster())


def check_tall(A, name="A", *, max_col_chunks=1):
    """Validate a 2-d dask array chunked by rows only (what ``tsqr`` needs)."""
    da = require_dask()
    if not isinstance(A, da.Array):
        raise TypeError(f"`{name}` must be a dask.array.Array, got {type(A).__name__}")
    if A.ndim != 2 or 0 in A.shape:
        raise ValueError(f"`{name}` must be a non-empty 2-d array, got shape {A.shape}")
    if any(s != s for s in A.shape):  # unknown (NaN) chunk sizes
        raise ValueError(f"`{name}` has unknown chunk sizes; call `{name}.compute_chunk_sizes()`")
    if max_col_chunks is not None and len(A.chunks[1]) > max_col_chunks:
        raise ValueError(f"`{name}` must have a single chunk along the columns (tall-and-skinny "
                         f"blocks of rows), got column chunks {A.chunks[1]}; rechunk with "
                         f"`{name}.rechunk({{1: -1}})`")
    import numpy as np

    kind = np.dtype(A.dtype).kind
    if kind not in "fiu":
        raise TypeError(f"`{name}` must be real numeric, got dtype {A.dtype}")
    return A.astype(np.float32 if A.dtype == np.float32 else np.float64)
