"""The observed-entry set Ω of an m x n matrix, kept in the caller's array namespace and device.

Design choices
--------------
* Entries are stored in **row-major (CSR) order**: sorted by row, then by column.  Every
  constructor sorts once; the kernels then walk each row's entries contiguously (``indptr``), which
  is what makes SDDMM, SpMM and the per-row solves cache friendly.  Arrays returned by
  :func:`~lowrank_la.sampled.sddmm` and friends follow this order.
* The column-major (CSC) ordering is computed on first use and cached, as the transposed entry set
  :attr:`ObservedEntries.T` (its CSR order is this set's CSC order), so alternating updates of the
  row and column factors both use row-wise kernels.
* Indices are ``int64`` on every backend (PyTorch indexes with ``int64``; 10^7 entries fit either
  way, and the kernels read indices once per entry while they read ``k`` floats).
* Randomness (``split``, ``partition``) is drawn on the host from a :class:`numpy.random.Generator`
  and the selected positions moved to the device, so one seed gives the same sets everywhere.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._backend import Backend, get_backend
from .._validation import check_array, check_fraction, check_int, check_option, check_rng

__all__ = ["ObservedEntries"]

_DUPLICATES = ("raise", "sum", "mean", "last")


def _check_shape(shape) -> tuple[int, int]:
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise TypeError(f"`shape` must be a pair of positive integers, got {shape!r}")
    out = []
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, (numbers.Integral, np.integer)):
            raise TypeError(f"`shape` must be a pair of positive integers, got {shape!r}")
        if s < 1:
            raise ValueError(f"`shape` must be a pair of positive integers, got {tuple(shape)!r}")
        out.append(int(s))
    return out[0], out[1]


def _check_index(x, name: str, bound: int, bk: Backend):
    """1-d integer index array with entries in ``[0, bound)``; returned as int64."""
    if x is None or not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"`{name}` must be an integer array, got {type(x).__name__}")
    xp = bk.xp
    if x.ndim != 1:
        raise ValueError(f"`{name}` must be a 1-d array, got shape {tuple(x.shape)}")
    if not xp.isdtype(x.dtype, "integral"):
        raise TypeError(f"`{name}` must have an integer dtype, got {x.dtype}")
    if x.shape[0]:
        lo, hi = (int(bk.to_host(v)) for v in (xp.min(x), xp.max(x)))
        if lo < 0 or hi >= bound:
            bad = lo if lo < 0 else hi
            raise ValueError(f"`{name}` must lie in [0, {bound}) for `shape`, found index {bad}")
    return xp.astype(x, xp.int64)


class ObservedEntries:
    """A set Ω of observed entries of an ``m x n`` matrix, with optional values.

    Stored in row-major (CSR) order in the array namespace and on the device of the inputs.  The
    object also behaves as the sparse linear operator ``S`` holding ``values`` at Ω (``matmat``,
    ``rmatmat``, ``shape``, ``dtype``, ``backend``), so
    :func:`lowrank_la.linalg.randomized_svd` accepts it without densifying.

    Parameters
    ----------
    rows, cols : integer array, shape (nnz,)
        Row and column index of each entry.
    values : float array, shape (nnz,), or None
        The observed values (``None`` for a bare sampling pattern).  Integer values become
        float64.
    shape : tuple of int
        ``(m, n)``.
    duplicates : {"raise", "sum", "mean", "last"}
        What to do with repeated ``(i, j)`` pairs: raise a ``ValueError`` naming the first one,
        or merge them by sum, mean or the last occurrence (in input order).

    Attributes
    ----------
    rows, cols : array of int64, shape (nnz,)
        Sorted by row, then column.
    values : array or None
    indptr : array of int64, shape (m + 1,)
        Row ``i`` holds entries ``indptr[i]:indptr[i + 1]``.
    shape : tuple of int
    nnz : int
    dtype : dtype
        Of ``values`` (float64 without values).
    backend : Backend

    Raises
    ------
    TypeError
        Non-integer indices, non-numeric values, a malformed ``shape``.
    ValueError
        Indices out of range, unequal lengths, NaN/inf values, duplicate pairs under
        ``duplicates="raise"``.

    References
    ----------
    P. Jain, P. Netrapalli, S. Sanghavi, "Low-rank matrix completion using alternating
    minimization", STOC 2013 (sample splitting, :meth:`partition`).

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.sampled import ObservedEntries
    >>> om = ObservedEntries(np.array([1, 0, 1]), np.array([2, 1, 0]), np.array([3.0, 1.0, 2.0]),
    ...                      (2, 3))
    >>> om.rows, om.cols, om.values
    (array([0, 1, 1]), array([1, 0, 2]), array([1., 2., 3.]))
    >>> om.to_dense()
    array([[0., 1., 0.],
           [2., 0., 3.]])
    """

    def __init__(self, rows, cols, values, shape, *, duplicates="raise"):
        check_option(duplicates, "duplicates", _DUPLICATES)
        shape = _check_shape(shape)
        named = [("rows", rows), ("cols", cols)] + ([("values", values)] if values is not None
                                                   else [])
        for name, a in named:
            if a is None or not hasattr(a, "shape") or not hasattr(a, "dtype"):
                raise TypeError(f"`{name}` must be an array, got {type(a).__name__}")
        from .._validation import check_same_backend

        bk = check_same_backend(*named)
        xp = bk.xp
        rows = _check_index(rows, "rows", shape[0], bk)
        cols = _check_index(cols, "cols", shape[1], bk)
        if rows.shape[0] != cols.shape[0]:
            raise ValueError(
                f"`rows` and `cols` must have equal lengths, got {rows.shape[0]} and {cols.shape[0]}"
            )
        if values is not None:
            check_array(values, "values", ndim=1, allow_empty=True)
            if values.shape[0] != rows.shape[0]:
                raise ValueError(
                    f"`values` must have one entry per index (length {rows.shape[0]}), "
                    f"got length {values.shape[0]}"
                )
            values = xp.astype(values, bk.float_dtype(values), copy=True)
        key = rows * shape[1] + cols
        if key.shape[0] > 1 and bool(xp.all(key[1:] > key[:-1])):
            # already in CSR order without duplicates (scipy CSR, from_dense): no sort needed
            self._init(bk, rows, cols, values, shape)
            return
        order = xp.argsort(key, stable=True)
        rows, cols, key = (xp.take(a, order) for a in (rows, cols, key))
        if values is not None:
            values = xp.take(values, order)
        if key.shape[0] > 1:
            dup = key[1:] == key[:-1]
            if bool(xp.any(dup)):
                rows, cols, values = self._merge(bk, rows, cols, values, dup, duplicates)
        self._init(bk, rows, cols, values, shape)

    # -- construction helpers ----------------------------------------------------------------

    @staticmethod
    def _merge(bk, rows, cols, values, dup, policy):
        xp = bk.xp
        if policy == "raise":
            p = int(bk.to_host(xp.nonzero(dup)[0][0]))
            i, j = int(bk.to_host(rows[p])), int(bk.to_host(cols[p]))
            raise ValueError(
                f"duplicate entry ({i}, {j}) in `rows`/`cols`; pass duplicates='sum', 'mean' or "
                "'last' to merge repeated entries"
            )
        nnz = rows.shape[0]
        start = xp.concat([xp.ones(1, dtype=xp.bool, device=bk.device), ~dup])
        starts = xp.nonzero(start)[0]
        ends = xp.concat([starts[1:], xp.asarray([nnz], dtype=starts.dtype, device=bk.device)])
        counts = ends - starts
        rows, cols = xp.take(rows, starts), xp.take(cols, starts)
        if values is None:
            return rows, cols, None
        if policy == "last":
            return rows, cols, xp.take(values, ends - 1)
        # exact segment sums in input order: one vectorized pass per repetition (the largest
        # multiplicity is small in practice), no scatter-add needed from the array API
        total = xp.zeros(starts.shape[0], dtype=values.dtype, device=bk.device)
        zero = xp.zeros_like(total)
        for t in range(int(bk.to_host(xp.max(counts)))):
            idx = xp.minimum(starts + t, xp.asarray(nnz - 1, dtype=starts.dtype, device=bk.device))
            total = total + xp.where(counts > t, xp.take(values, idx), zero)
        if policy == "mean":
            total = total / xp.astype(counts, values.dtype)
        return rows, cols, total

    def _init(self, bk, rows, cols, values, shape, indptr=None):
        xp = bk.xp
        self.backend = bk
        self.shape = shape
        self.rows, self.cols, self.values = rows, cols, values
        if indptr is None:
            # rows are sorted, so row i starts at the first position holding a row >= i
            grid = xp.arange(shape[0] + 1, dtype=xp.int64, device=bk.device)
            indptr = xp.astype(xp.searchsorted(rows, grid, side="left"), xp.int64)
        self.indptr = indptr
        self._T = None
        self._T_perm = None

    def __getstate__(self):
        # the Backend holds a module (not picklable) and the transpose is a cache: send the
        # arrays only, so the set can go to another process (multiprocessing, Dask workers)
        return {"rows": self.rows, "cols": self.cols, "values": self.values,
                "shape": self.shape, "indptr": self.indptr}

    def __setstate__(self, state):
        from .._backend import get_backend

        arrays = [state["rows"], state["cols"], state["values"], state["indptr"]]
        self._init(get_backend(*arrays), state["rows"], state["cols"], state["values"],
                   state["shape"], state["indptr"])

    @classmethod
    def _from_sorted(cls, bk, rows, cols, values, shape, indptr=None):
        """Trusted internal constructor: ``rows``/``cols`` already CSR-sorted and unique."""
        obj = cls.__new__(cls)
        obj._init(bk, rows, cols, values, shape, indptr)
        return obj

    @classmethod
    def from_dense(cls, A, mask=None):
        """Observed entries of a dense matrix: where ``mask`` is true, or where ``A`` is not NaN.

        Parameters
        ----------
        A : array, shape (m, n)
            With ``mask=None``, NaN marks a missing entry (inf is rejected).
        mask : bool array, shape (m, n), optional
            True where observed; ``A`` must then be finite at the observed entries.

        Returns
        -------
        ObservedEntries

        Raises
        ------
        TypeError
            Non-numeric ``A`` or a non-boolean ``mask``.
        ValueError
            Shape mismatch, inf in ``A``, NaN at an observed entry.

        Examples
        --------
        >>> import numpy as np
        >>> from lowrank_la.sampled import ObservedEntries
        >>> om = ObservedEntries.from_dense(np.array([[1.0, np.nan], [np.nan, 4.0]]))
        >>> om.rows, om.cols, om.values
        (array([0, 1]), array([0, 1]), array([1., 4.]))
        """
        check_array(A, "A", ndim=2, finite=False)
        bk = get_backend(A)
        xp = bk.xp
        if mask is None:
            if not xp.isdtype(A.dtype, "real floating"):
                mask = xp.ones(A.shape, dtype=xp.bool, device=bk.device)
            else:
                if bool(xp.any(xp.isinf(A))):
                    raise ValueError("`A` must not contain inf (NaN marks a missing entry)")
                mask = ~xp.isnan(A)
        else:
            from .._validation import check_same_backend

            check_same_backend(("A", A), ("mask", mask))
            if mask.dtype != xp.bool:
                raise TypeError(f"`mask` must be a boolean array, got dtype {mask.dtype}")
            if tuple(mask.shape) != tuple(A.shape):
                raise ValueError(
                    f"`mask` must have the shape of `A` {tuple(A.shape)}, got {tuple(mask.shape)}"
                )
        m, n = (int(s) for s in A.shape)
        rows, cols = (xp.astype(a, xp.int64) for a in xp.nonzero(mask))  # row-major: sorted
        flat = xp.reshape(A, (m * n,))
        values = xp.take(flat, rows * n + cols)
        values = xp.astype(values, bk.float_dtype(A), copy=False)
        if not bool(xp.all(xp.isfinite(values))):
            raise ValueError("`A` must be finite at the observed entries of `mask`")
        return cls._from_sorted(bk, rows, cols, values, (m, n))

    @classmethod
    def from_scipy(cls, S, *, duplicates="raise"):
        """Entries stored in a ``scipy.sparse`` COO/CSR/CSC array or matrix.

        Every stored entry counts as observed, explicit zeros included.

        Parameters
        ----------
        S : scipy.sparse array or matrix, shape (m, n)
        duplicates : {"raise", "sum", "mean", "last"}
            As in :class:`ObservedEntries` (CSR/CSC with repeated column indices, or COO).

        Returns
        -------
        ObservedEntries
            On the NumPy backend.

        Raises
        ------
        TypeError
            If ``S`` is not a scipy.sparse object.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> from lowrank_la.sampled import ObservedEntries
        >>> om = ObservedEntries.from_scipy(sp.csr_array([[0.0, 2.0], [0.0, 0.0]]))
        >>> om.nnz, om.values
        (1, array([2.]))
        """
        if not (type(S).__module__.startswith("scipy.sparse") and hasattr(S, "tocoo")):
            raise TypeError(f"`S` must be a scipy.sparse array or matrix, got {type(S).__name__}")
        coo = S.tocoo()
        return cls(np.asarray(coo.row), np.asarray(coo.col), np.asarray(coo.data),
                   tuple(int(s) for s in S.shape), duplicates=duplicates)

    def to_scipy(self, format="csr"):  # noqa: A002 - scipy's own keyword name
        """Return the entries as a ``scipy.sparse`` array (``"csr"``, ``"csc"`` or ``"coo"``).

        Only on the NumPy backend (copy other arrays to the host explicitly first).

        Raises
        ------
        TypeError
            On a non-NumPy backend.
        ValueError
            Without values, or for an unknown ``format``.

        Examples
        --------
        >>> import numpy as np
        >>> from lowrank_la.sampled import ObservedEntries
        >>> om = ObservedEntries(np.array([0]), np.array([1]), np.array([5.0]), (2, 2))
        >>> om.to_scipy().toarray()
        array([[0., 5.],
               [0., 0.]])
        """
        import scipy.sparse as sp

        check_option(format, "format", ("csr", "csc", "coo"))
        if self.backend.name != "numpy":
            raise TypeError(
                f"to_scipy needs NumPy arrays, these live on {self.backend.name}; copy them to "
                "the host explicitly first"
            )
        if self.values is None:
            raise ValueError("to_scipy needs `values`; this entry set is a bare pattern")
        A = sp.csr_array((self.values, self.cols, self.indptr), shape=self.shape)
        return A.asformat(format)

    def with_values(self, values):
        """The same pattern with new ``values`` (shape (nnz,), in this set's order).

        The cached orderings are shared, so this is cheap; used for residuals and rescaling
        (``om.with_values(om.values / p)`` is the operator P_Ω(M)/p).

        Examples
        --------
        >>> import numpy as np
        >>> from lowrank_la.sampled import ObservedEntries
        >>> om = ObservedEntries(np.array([0, 1]), np.array([1, 0]), np.array([1.0, 2.0]), (2, 2))
        >>> om.with_values(2 * om.values).values
        array([2., 4.])
        """
        check_array(values, "values", ndim=1, shape=(self.nnz,), allow_empty=True)
        from .._validation import check_same_backend

        bk = check_same_backend(("rows", self.rows), ("values", values))
        values = bk.xp.astype(values, bk.float_dtype(values))
        out = ObservedEntries._from_sorted(bk, self.rows, self.cols, values, self.shape,
                                           self.indptr)
        if self._T is not None:  # share the cached column-major ordering
            perm = self.csc_permutation()
            T = self._T
            out._T = ObservedEntries._from_sorted(bk, T.rows, T.cols, bk.xp.take(values, perm),
                                                  T.shape, T.indptr)
            out._T_perm = perm
            out._T._T = out
        return out

    # -- basic properties ----------------------------------------------------------------------

    @property
    def nnz(self) -> int:
        """Number of observed entries."""
        return int(self.rows.shape[0])

    @property
    def dtype(self):
        """Floating dtype of ``values`` (float64 for a bare pattern)."""
        return self.values.dtype if self.values is not None else self.backend.xp.float64

    @property
    def ndim(self) -> int:
        return 2

    def __repr__(self):
        return (f"ObservedEntries(shape={self.shape}, nnz={self.nnz}, dtype={self.dtype}, "
                f"backend={self.backend.name!r})")

    # -- orderings -----------------------------------------------------------------------------

    @property
    def T(self) -> ObservedEntries:
        """The transposed entry set (shape (n, m)); its CSR order is this set's CSC order.

        Computed on first use and cached in both directions.

        Examples
        --------
        >>> import numpy as np
        >>> from lowrank_la.sampled import ObservedEntries
        >>> om = ObservedEntries(np.array([0, 1]), np.array([1, 0]), np.array([1.0, 2.0]), (2, 3))
        >>> om.T.shape, om.T.rows, om.T.values
        ((3, 2), array([0, 1]), array([2., 1.]))
        """
        if self._T is None:
            bk, xp = self.backend, self.backend.xp
            perm = self._column_order()
            values = None if self.values is None else xp.take(self.values, perm)
            T = ObservedEntries._from_sorted(bk, xp.take(self.cols, perm),
                                             xp.take(self.rows, perm), values,
                                             (self.shape[1], self.shape[0]))
            T._T, T._T_perm = self, None
            self._T, self._T_perm = T, perm
        return self._T

    def _column_order(self):
        """Stable column-major permutation of the entries (rows stay ascending per column)."""
        xp = self.backend.xp
        if self.backend.name == "numpy" and self.nnz:
            import scipy.sparse as sp

            # SciPy's CSR -> CSC conversion is an O(nnz) counting sort, several times faster
            # than a comparison argsort; carrying the positions as data yields the permutation
            pos = sp.csr_array((np.arange(self.nnz, dtype=np.int64), self.cols, self.indptr),
                               shape=self.shape).tocsc()
            return pos.data
        return xp.argsort(self.cols, stable=True)

    def csc_permutation(self):
        """Positions (in this set's order) of the entries in column-major order.

        Examples
        --------
        >>> import numpy as np
        >>> from lowrank_la.sampled import ObservedEntries
        >>> om = ObservedEntries(np.array([0, 1]), np.array([1, 0]), None, (2, 2))
        >>> om.csc_permutation()
        array([1, 0])
        """
        self.T  # noqa: B018 - computes and caches the ordering
        if self._T_perm is None:  # this set was itself made as a transpose
            self._T_perm = self._column_order()
        return self._T_perm

    # -- counts and helpers --------------------------------------------------------------------

    def row_counts(self):
        """Number of observed entries in each row, shape (m,).

        Examples
        --------
        >>> import numpy as np
        >>> from lowrank_la.sampled import ObservedEntries
        >>> ObservedEntries(np.array([0, 0, 2]), np.array([0, 1, 1]), None, (3, 2)).row_counts()
        array([2, 0, 1])
        """
        return self.indptr[1:] - self.indptr[:-1]

    def col_counts(self):
        """Number of observed entries in each column, shape (n,)."""
        return self.T.row_counts()

    def empty_rows(self):
        """Indices of the rows with no observed entry.

        Examples
        --------
        >>> import numpy as np
        >>> from lowrank_la.sampled import ObservedEntries
        >>> ObservedEntries(np.array([0, 2]), np.array([0, 1]), None, (3, 2)).empty_rows()
        array([1])
        """
        return self.backend.xp.nonzero(self.row_counts() == 0)[0]

    def empty_cols(self):
        """Indices of the columns with no observed entry."""
        return self.backend.xp.nonzero(self.col_counts() == 0)[0]

    def subset(self, positions):
        """The entries at ``positions`` (ascending integer array in this set's order)."""
        xp = self.backend.xp
        values = None if self.values is None else xp.take(self.values, positions)
        return ObservedEntries._from_sorted(self.backend, xp.take(self.rows, positions),
                                            xp.take(self.cols, positions), values, self.shape)

    def _random_positions(self, rng):
        return check_rng(rng).permutation(self.nnz)

    def split(self, fraction, rng=None):
        """Split into disjoint random ``(train, validation)`` sets.

        Parameters
        ----------
        fraction : float in (0, 1)
            Share of the entries that go to the validation set (rounded to the nearest count).
        rng : None, int or numpy.random.Generator

        Returns
        -------
        train, validation : ObservedEntries

        Examples
        --------
        >>> import numpy as np
        >>> from lowrank_la.sampled import ObservedEntries
        >>> om = ObservedEntries.from_dense(np.arange(20.0).reshape(4, 5))
        >>> train, val = om.split(0.25, rng=0)
        >>> train.nnz, val.nnz
        (15, 5)
        """
        fraction = check_fraction(fraction, "fraction")
        perm = self._random_positions(rng)
        n_val = int(round(fraction * self.nnz))
        parts = [np.sort(perm[n_val:]), np.sort(perm[:n_val])]
        return tuple(self.subset(self.backend.from_host(p)) for p in parts)

    def partition(self, n_parts, rng=None):
        """Partition into ``n_parts`` disjoint random sets of (nearly) equal size.

        The sample splitting of alternating-minimization analyses (fresh entries per half-step).

        Parameters
        ----------
        n_parts : int
            At least 1 and at most ``nnz``.
        rng : None, int or numpy.random.Generator

        Returns
        -------
        list of ObservedEntries
            Sizes differ by at most one; together they hold every entry once.

        Examples
        --------
        >>> import numpy as np
        >>> from lowrank_la.sampled import ObservedEntries
        >>> om = ObservedEntries.from_dense(np.ones((3, 3)))
        >>> [p.nnz for p in om.partition(2, rng=0)]
        [5, 4]
        """
        n_parts = check_int(n_parts, "n_parts", minimum=1, maximum=max(self.nnz, 1))
        perm = self._random_positions(rng)
        return [self.subset(self.backend.from_host(np.sort(p)))
                for p in np.array_split(perm, n_parts)]

    def to_dense(self, fill_value=0.0):
        """Dense ``(m, n)`` array with ``values`` at Ω and ``fill_value`` elsewhere.

        A bare pattern gives ones at Ω.

        Examples
        --------
        >>> import numpy as np
        >>> from lowrank_la.sampled import ObservedEntries
        >>> ObservedEntries(np.array([1]), np.array([0]), None, (2, 2)).to_dense(np.nan)
        array([[nan, nan],
               [ 1., nan]])
        """
        bk, xp = self.backend, self.backend.xp
        m, n = self.shape
        flat_idx = self.rows * n + self.cols
        vals = (xp.ones(self.nnz, dtype=self.dtype, device=bk.device) if self.values is None
                else self.values)
        out = xp.full(m * n, fill_value, dtype=self.dtype, device=bk.device)
        if bk.name in ("numpy", "torch", "cupy"):
            out[flat_idx] = vals
        else:
            # array-api-strict has no integer-array assignment: build the dense array through a
            # searchsorted lookup of each flat position in the sorted flat indices
            grid = xp.arange(m * n, dtype=xp.int64, device=bk.device)
            pos = xp.searchsorted(flat_idx, grid)
            pos_c = xp.minimum(pos, xp.asarray(max(self.nnz - 1, 0), dtype=pos.dtype,
                                               device=bk.device))
            if self.nnz:
                mask = xp.take(flat_idx, pos_c) == grid
                out = xp.where(mask, xp.take(vals, pos_c), out)
        return xp.reshape(out, (m, n))

    # -- linear operator interface (S with values at Ω) ---------------------------------------

    def matmat(self, X):
        """``S @ X`` where ``S`` holds ``values`` at Ω (see :func:`~lowrank_la.sampled.spmm`)."""
        from ._ops import spmm

        return spmm(self, X)

    def rmatmat(self, Y):
        """``S.T @ Y`` (see :func:`~lowrank_la.sampled.spmm_t`)."""
        from ._ops import spmm_t

        return spmm_t(self, Y)
