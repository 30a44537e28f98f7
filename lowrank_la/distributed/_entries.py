"""Ω on a Dask cluster: one copy blocked by row ranges, one by column ranges.

Each block is a picklable :class:`_Block` (index and value arrays) that builds its
:class:`~lowrank_la.sampled.ObservedEntries` on the worker the first time a task uses it and
keeps it (``ObservedEntries`` itself holds its backend's module and does not pickle).  Row block
``b`` holds the rows ``row_edges[b]:row_edges[b + 1]`` with local row indices and global column
indices, shape ``(rows in block, n)``; column block ``c`` holds the *transposed* entries of the
columns ``col_edges[c]:col_edges[c + 1]``, shape ``(columns in block, m)``.  So a half-step of
alternating minimization runs the single-machine per-row kernels unchanged on every block.
"""

from __future__ import annotations

import threading

import numpy as np

from ..sampled import ObservedEntries
from ._client import get_client

__all__ = ["DaskObservedEntries", "KERNEL_LOCK"]

# Worker threads of one process share Numba's thread pool, and the ``workqueue`` layer (the one
# these machines use) aborts on concurrent parallel regions: run one block's kernels at a time per
# process.  The kernels are parallel over rows inside, so nothing is lost; separate worker
# processes (Dask's default) still run in parallel.
KERNEL_LOCK = threading.Lock()


class _Block:
    """Arrays of one block of Ω in CSR order; the ObservedEntries is built where it is used."""

    def __init__(self, rows, cols, values, shape, duplicates="raise"):
        self.rows, self.cols, self.values = rows, cols, values
        self.shape = (int(shape[0]), int(shape[1]))
        self.duplicates = duplicates
        self._entries = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_entries"] = None  # rebuilt on the receiving worker
        return state

    def __sizeof__(self):
        # Dask's scheduler sizes data with sys.getsizeof: without the arrays a block looks free
        # to move, and tasks get placed (or stolen) away from it, shipping and re-sorting Ω
        arrays = (self.rows, self.cols, self.values)
        return object.__sizeof__(self) + sum(int(getattr(a, "nbytes", 0)) for a in arrays) \
            + (self.shape[0] + 1) * 8 * (self._entries is not None)

    @property
    def entries(self) -> ObservedEntries:
        if self._entries is None:
            self._entries = ObservedEntries(self.rows, self.cols, self.values, self.shape,
                                            duplicates=self.duplicates)
            # keep the canonical (sorted, merged) arrays for later transfers
            e = self._entries
            self.rows, self.cols, self.values, self.duplicates = e.rows, e.cols, e.values, "raise"
        return self._entries


def _block_stats(block, rank):
    """(nnz, sum of squared values, empty rows, rows with 0 < count < rank) of one block."""
    e = block.entries
    counts = np.asarray(e.row_counts())
    return (e.nnz, float(np.sum(np.asarray(e.values, dtype=np.float64) ** 2)),
            int(np.sum(counts == 0)), bool(np.any((counts > 0) & (counts < rank))))


def _balanced_edges(indptr, n_blocks):
    """Row edges splitting ``indptr`` into ``n_blocks`` ranges of nearly equal nnz."""
    m = indptr.shape[0] - 1
    targets = np.linspace(0, indptr[-1], n_blocks + 1)[1:-1]
    inner = np.searchsorted(indptr, targets, side="left")
    return np.unique(np.concatenate([[0], np.clip(inner, 1, max(m - 1, 1)), [m]])).astype(
        np.int64)


def _split_blocks(omega, edges):
    indptr = np.asarray(omega.indptr)
    out = []
    for r0, r1 in zip(edges[:-1], edges[1:]):
        lo, hi = int(indptr[r0]), int(indptr[r1])
        out.append(_Block(np.asarray(omega.rows[lo:hi]) - r0, np.asarray(omega.cols[lo:hi]),
                          np.asarray(omega.values[lo:hi]), (r1 - r0, omega.shape[1])))
    return out


def _default_blocks(client, n):
    threads = sum(client.nthreads().values()) or 1
    return max(1, min(n, 2 * threads))


def _check_blocks(n_blocks, name, limit, default):
    from .._validation import check_int

    if n_blocks is None:
        return default
    return min(check_int(n_blocks, name, minimum=1), limit)


def _frame_max(pdf, row, col):
    return (int(pdf[row].max()) if len(pdf) else -1, int(pdf[col].max()) if len(pdf) else -1)


def _split_frame(pdf, row, col, value, row_edges, col_edges):
    """Cut one pandas partition into per-row-block and per-column-block pieces."""
    r = pdf[row].to_numpy(dtype=np.int64)
    c = pdf[col].to_numpy(dtype=np.int64)
    v = pdf[value].to_numpy(dtype=np.float64)
    rb = np.searchsorted(row_edges, r, side="right") - 1
    cb = np.searchsorted(col_edges, c, side="right") - 1
    rows_out = [(r[rb == b], c[rb == b], v[rb == b]) for b in range(len(row_edges) - 1)]
    cols_out = [(c[cb == b], r[cb == b], v[cb == b]) for b in range(len(col_edges) - 1)]
    return rows_out, cols_out


def _pick(split, side, b):
    return split[side][b]


def _assemble(lo, shape, duplicates, *pieces):
    rows = np.concatenate([p[0] for p in pieces]) - lo
    cols = np.concatenate([p[1] for p in pieces])
    vals = np.concatenate([p[2] for p in pieces])
    block = _Block(rows, cols, vals, shape, duplicates)
    block.entries  # noqa: B018 - validate, sort and merge on the worker, now
    return block


class DaskObservedEntries:
    """Observed entries of an ``m x n`` matrix held by a Dask cluster, blocked two ways.

    Build one with :meth:`from_entries` (an in-memory set, scattered), :meth:`from_dataframe`
    (a ``dask.dataframe`` with row, column and value columns, e.g. ``dd.read_parquet``) or
    :meth:`from_csv`.  The blocks stay on the workers; only per-block counts reach the client.

    Attributes
    ----------
    shape : tuple of int
    nnz : int
    dtype : numpy.dtype
        Of the values (float64 from data frames).
    client : distributed.Client
    row_edges, col_edges : numpy.ndarray of int64
        Block ``b`` covers rows ``row_edges[b]:row_edges[b + 1]`` (columns likewise).
    row_blocks, col_blocks : list of distributed.Future
        The blocks (column blocks hold transposed entries, see the module notes).

    References
    ----------
    P. Jain, P. Netrapalli, S. Sanghavi, "Low-rank matrix completion using alternating
    minimization", STOC 2013 (row- and column-wise least squares need Ω in both orders).

    Examples
    --------
    >>> import numpy as np
    >>> from distributed import Client, LocalCluster
    >>> from lowrank_la.sampled import ObservedEntries
    >>> from lowrank_la.distributed import DaskObservedEntries
    >>> om = ObservedEntries.from_dense(np.arange(1.0, 13.0).reshape(3, 4))
    >>> with LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
    ...                   dashboard_address=":0") as cluster, Client(cluster) as client:
    ...     d = DaskObservedEntries.from_entries(om, n_row_blocks=2, n_col_blocks=2,
    ...                                          client=client)
    ...     d.shape, d.nnz, d.row_edges.tolist(), bool(np.all(d.to_entries().to_dense()
    ...                                                     == om.to_dense()))
    ((3, 4), 12, [0, 2, 3], True)
    """

    def __init__(self, shape, row_edges, col_edges, row_blocks, col_blocks, client, dtype):
        self.shape = (int(shape[0]), int(shape[1]))
        self.row_edges = np.asarray(row_edges, dtype=np.int64)
        self.col_edges = np.asarray(col_edges, dtype=np.int64)
        self.row_blocks, self.col_blocks = list(row_blocks), list(col_blocks)
        self.client = client
        self.dtype = np.dtype(dtype)
        stats = client.gather(client.map(_block_stats, self.row_blocks, rank=1, pure=False))
        col_nnz = sum(s[0] for s in client.gather(client.map(_block_stats, self.col_blocks,
                                                             rank=1, pure=False)))
        self.nnz = int(sum(s[0] for s in stats))
        if col_nnz != self.nnz:
            raise ValueError(f"row blocks hold {self.nnz} entries but column blocks {col_nnz}: "
                             "the two copies of Ω disagree")

    def __repr__(self):
        return (f"DaskObservedEntries(shape={self.shape}, nnz={self.nnz}, "
                f"row_blocks={len(self.row_blocks)}, col_blocks={len(self.col_blocks)})")

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def from_entries(cls, omega, *, n_row_blocks=None, n_col_blocks=None, client=None):
        """Scatter an in-memory :class:`~lowrank_la.sampled.ObservedEntries` (NumPy, with values).

        Parameters
        ----------
        omega : ObservedEntries
        n_row_blocks, n_col_blocks : int, optional
            Number of blocks (ranges are chosen to balance the entries per block; fewer blocks
            when there are fewer rows).  Default: twice the cluster's worker threads.
        client : distributed.Client, str or None
            See :func:`get_client`.

        Returns
        -------
        DaskObservedEntries

        Raises
        ------
        TypeError
            ``omega`` not an ObservedEntries on NumPy.
        ValueError
            ``omega`` without values or empty; non-positive block counts.
        """
        if not isinstance(omega, ObservedEntries):
            raise TypeError(f"`omega` must be a lowrank_la.sampled.ObservedEntries, got "
                            f"{type(omega).__name__}")
        if omega.backend.name != "numpy":
            raise TypeError(f"`omega` must hold NumPy arrays (the blocks travel to the workers), "
                            f"got backend {omega.backend.name!r}")
        if omega.values is None or omega.nnz == 0:
            raise ValueError("`omega` must carry values and at least one entry")
        client = get_client(client)
        m, n = omega.shape
        default = _default_blocks(client, min(m, n))
        n_row_blocks = _check_blocks(n_row_blocks, "n_row_blocks", m, default)
        n_col_blocks = _check_blocks(n_col_blocks, "n_col_blocks", n, default)
        row_edges = _balanced_edges(np.asarray(omega.indptr), n_row_blocks)
        T = omega.T
        col_edges = _balanced_edges(np.asarray(T.indptr), n_col_blocks)
        row_blocks = client.scatter(_split_blocks(omega, row_edges), hash=False)
        col_blocks = client.scatter(_split_blocks(T, col_edges), hash=False)
        return cls(omega.shape, row_edges, col_edges, row_blocks, col_blocks, client,
                   omega.values.dtype)

    @classmethod
    def from_dataframe(cls, df, shape=None, *, row="row", col="col", value="value",
                       n_row_blocks=None, n_col_blocks=None, duplicates="raise", client=None):
        """Build the blocks on the cluster from a ``dask.dataframe`` of (row, col, value).

        Each partition is cut into per-block pieces on its worker and each block is assembled
        (sorted, duplicates merged, validated) on a worker; the frame is never gathered.

        Parameters
        ----------
        df : dask.dataframe.DataFrame
            Integer row and column indices (0-based) and real values, one entry per record.
        shape : (int, int), optional
            ``(m, n)``; default one plus the largest indices (one pass over the frame).
        row, col, value : str
            Column names.
        n_row_blocks, n_col_blocks : int, optional
            Blocks are equal-width index ranges.  Default: twice the worker threads.
        duplicates : {"raise", "sum", "mean", "last"}
            As :class:`~lowrank_la.sampled.ObservedEntries` ("last" means last within a block's
            concatenation of partitions, in partition order).
        client : distributed.Client, str or None

        Returns
        -------
        DaskObservedEntries

        Raises
        ------
        TypeError
            ``df`` not a dask data frame.
        ValueError
            Missing columns, indices outside ``shape``, NaN/inf values, duplicate entries
            (``duplicates="raise"``): raised from the worker that finds them.
        """
        import dask.dataframe as dd

        from .._validation import check_option

        if not isinstance(df, dd.DataFrame):
            raise TypeError(f"`df` must be a dask.dataframe.DataFrame, got {type(df).__name__}")
        missing = [c for c in (row, col, value) if c not in df.columns]
        if missing:
            raise ValueError(f"`df` lacks the column(s) {missing}; it has {list(df.columns)}")
        check_option(duplicates, "duplicates", {"raise", "sum", "mean", "last"})
        client = get_client(client)
        parts = client.compute(list(df[[row, col, value]].to_delayed()))
        if shape is None:
            maxima = client.gather(client.map(_frame_max, parts, row=row, col=col))
            shape = (max(r for r, _ in maxima) + 1, max(c for _, c in maxima) + 1)
        m, n = (int(s) for s in shape)
        if m < 1 or n < 1:
            raise ValueError(f"`shape` must be two positive integers, got {shape}")
        default = _default_blocks(client, min(m, n))
        row_edges = np.unique(np.linspace(0, m, _check_blocks(n_row_blocks, "n_row_blocks", m,
                                                              default) + 1).astype(np.int64))
        col_edges = np.unique(np.linspace(0, n, _check_blocks(n_col_blocks, "n_col_blocks", n,
                                                              default) + 1).astype(np.int64))
        splits = client.map(_split_frame, parts, row=row, col=col, value=value,
                            row_edges=row_edges, col_edges=col_edges)

        def assemble(side, edges, other):
            out = []
            for b in range(len(edges) - 1):
                pieces = [client.submit(_pick, s, side, b) for s in splits]
                out.append(client.submit(_assemble, int(edges[b]),
                                         (int(edges[b + 1] - edges[b]), other), duplicates,
                                         *pieces))
            return out

        row_blocks = assemble(0, row_edges, n)
        col_blocks = assemble(1, col_edges, m)
        return cls((m, n), row_edges, col_edges, row_blocks, col_blocks, client, np.float64)

    @classmethod
    def from_csv(cls, urlpath, shape=None, *, row="row", col="col", value="value",
                 n_row_blocks=None, n_col_blocks=None, duplicates="raise", client=None,
                 **read_csv_kwargs):
        """Read (row, col, value) records with ``dask.dataframe.read_csv`` (files or globs).

        Parameters
        ----------
        urlpath : str or list of str
            Paths or URLs (anything ``dask.dataframe.read_csv`` reads, e.g. ``"s3://b/*.csv"``).
        shape, row, col, value, n_row_blocks, n_col_blocks, duplicates, client
            As :meth:`from_dataframe`.
        **read_csv_kwargs
            Passed to ``dask.dataframe.read_csv`` (``header``, ``names``, ``sep``, ``blocksize``).

        Returns
        -------
        DaskObservedEntries

        Raises
        ------
        ValueError, TypeError
            As :meth:`from_dataframe`.
        """
        import dask.dataframe as dd

        df = dd.read_csv(urlpath, **read_csv_kwargs)
        return cls.from_dataframe(df, shape, row=row, col=col, value=value,
                                  n_row_blocks=n_row_blocks, n_col_blocks=n_col_blocks,
                                  duplicates=duplicates, client=client)

    # -- access ----------------------------------------------------------------------------------

    def block_stats(self, rank=1):
        """Per row block and column block: (nnz, sum of squares, empty rows, rows < rank)."""
        c = self.client
        return (c.gather(c.map(_block_stats, self.row_blocks, rank=rank, pure=False)),
                c.gather(c.map(_block_stats, self.col_blocks, rank=rank, pure=False)))

    def to_entries(self):
        """Gather everything into one in-memory ObservedEntries (small problems, tests)."""
        blocks = self.client.gather(self.row_blocks)
        rows = np.concatenate([b.rows + r0 for b, r0 in zip(blocks, self.row_edges)])
        cols = np.concatenate([b.cols for b in blocks])
        vals = np.concatenate([b.values for b in blocks])
        return ObservedEntries(rows, cols, vals, self.shape)
