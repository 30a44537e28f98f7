"""The completion result: factors, optional biases, prediction and pickle-free persistence."""

from __future__ import annotations

import json

import numpy as np

from .._backend import get_backend
from .._result import History, Result
from .._validation import check_array

__all__ = ["CompletionResult"]

_ARRAYS = ("U", "V", "row_bias", "col_bias")


def _computed_rows(F, idx):
    """``F[idx]`` for a dask array ``F``, computing each distinct row once."""
    unique, inverse = np.unique(np.asarray(idx), return_inverse=True)
    return np.asarray(F[unique].compute())[inverse]


class CompletionResult(Result):
    """Output of :func:`complete_matrix`.

    The prediction is ``U Vᵀ + mean + row_bias[:, None] + col_bias[None, :]`` (biases only when
    fitted).  Fields: ``U`` (m, k), ``V`` (n, k), ``mean`` (float), ``row_bias``, ``col_bias``
    (or None), ``method``, ``success``, ``status``, ``message``, ``nit``, ``history``.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.completion import CompletionResult
    >>> r = CompletionResult(U=np.ones((2, 1)), V=np.full((3, 1), 2.0), mean=0.5)
    >>> r.predict(np.array([0, 1]), np.array([2, 0]))
    array([2.5, 2.5])
    """

    def __init__(self, **fields):
        fields.setdefault("mean", 0.0)
        fields.setdefault("row_bias", None)
        fields.setdefault("col_bias", None)
        super().__init__(**fields)

    @property
    def shape(self):
        return (int(self.U.shape[0]), int(self.V.shape[0]))

    def predict(self, rows, cols):
        """Predicted entries at index pairs ``(rows[t], cols[t])``, in O(len(rows) k).

        Parameters
        ----------
        rows, cols : integer arrays of equal length, on the factors' backend
            (NumPy arrays when the factors are ``dask.array`` s, as returned by
            ``complete_matrix_distributed(..., gather=False)``: only the rows of ``U`` and ``V``
            that the pairs touch are computed)
        """
        check_array(rows, "rows", ndim=1, dtype_kind="integral", allow_empty=True)
        check_array(cols, "cols", ndim=1, dtype_kind="integral", allow_empty=True)
        if rows.shape != cols.shape:
            raise ValueError(f"`rows` and `cols` must have equal lengths, got {rows.shape[0]} "
                             f"and {cols.shape[0]}")
        on_dask = type(self.U).__module__.startswith("dask.")
        bk = get_backend(rows, cols) if on_dask else get_backend(self.U, rows, cols)
        xp = bk.xp
        m, n = self.shape
        for name, idx, bound in (("rows", rows, m), ("cols", cols, n)):
            if idx.shape[0] and (int(xp.min(idx)) < 0 or int(xp.max(idx)) >= bound):
                raise ValueError(f"`{name}` must lie in [0, {bound}), got values in "
                                 f"[{int(xp.min(idx))}, {int(xp.max(idx))}]")
        if on_dask:
            Ur, Vc = _computed_rows(self.U, rows), _computed_rows(self.V, cols)
        else:
            Ur, Vc = xp.take(self.U, rows, axis=0), xp.take(self.V, cols, axis=0)
        out = xp.sum(Ur * Vc, axis=1)
        out = out + self.mean
        if self.row_bias is not None:
            out = out + xp.take(self.row_bias, rows) + xp.take(self.col_bias, cols)
        return out

    def predict_omega(self, omega):
        """Predictions at the entries of an ``ObservedEntries`` (in its order)."""
        if tuple(omega.shape) != self.shape:
            raise ValueError(f"`omega` has shape {omega.shape}, the model {self.shape}")
        return self.predict(omega.rows, omega.cols)

    def rmse(self, omega) -> float:
        """Root-mean-square error of the predictions at ``omega``'s entries."""
        xp = get_backend(self.U).xp
        r = self.predict_omega(omega) - omega.values
        return float(xp.sqrt(xp.mean(r * r)))

    def save(self, path) -> None:
        """Write the model to ``path`` (``.npz``, no pickle): factors, biases, metadata, history."""
        bk = get_backend(self.U)
        arrays = {k: bk.to_host(self[k]) for k in _ARRAYS if self.get(k) is not None}
        meta = {k: self[k] for k in ("mean", "method", "success", "status", "message", "nit")
                if k in self}
        meta["mean"] = float(meta.get("mean", 0.0))
        hist = dict(self.get("history") or {})
        arrays["_meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        arrays["_history"] = np.frombuffer(json.dumps(hist, default=float).encode(),
                                           dtype=np.uint8)
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path) -> CompletionResult:
        """Read a model written by :meth:`save` (NumPy arrays; ``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False) as data:
            fields = {k: data[k] for k in _ARRAYS if k in data.files}
            meta = json.loads(bytes(data["_meta"]).decode())
            hist = History(json.loads(bytes(data["_history"]).decode()))
        return cls(**fields, **meta, history=hist)
