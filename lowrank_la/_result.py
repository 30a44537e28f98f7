"""Result objects and warnings shared by every solver (SciPy ``OptimizeResult`` style)."""

from __future__ import annotations

import warnings

__all__ = ["Result", "History", "ConvergenceWarning", "warn_not_converged"]


class ConvergenceWarning(UserWarning):
    """Issued when an iterative routine stops before meeting its tolerance."""


class Result(dict):
    """Solver output with attribute access.

    Every solver returns one; the keys present always include ``success`` (bool), ``status``
    (int, 0 = converged), ``message`` (str), ``nit`` (iterations done) and ``history``
    (a :class:`History`).  Solver-specific fields (``U``, ``V``, ``X``, ...) are documented by
    each solver.

    Examples
    --------
    >>> from lowrank_la import Result
    >>> r = Result(success=True, status=0, message="converged", nit=3)
    >>> r.nit
    3
    >>> r.success
    True
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def __dir__(self):
        return list(self.keys())

    def __repr__(self):
        if not self:
            return f"{type(self).__name__}()"
        width = max(map(len, self.keys())) + 1
        lines = []
        for key, value in self.items():
            text = repr(value) if not hasattr(value, "shape") else (
                f"<array shape={tuple(value.shape)} dtype={value.dtype}>"
            )
            if len(text) > 80:
                text = text[:77] + "..."
            lines.append(f"{key.rjust(width)}: {text}")
        return "\n".join(lines)


class History(dict):
    """Per-iteration metrics: a dict of equally long lists, one list per metric.

    Examples
    --------
    >>> from lowrank_la import History
    >>> h = History()
    >>> h.record(loss=1.0, time=0.1)
    >>> h.record(loss=0.5, time=0.2)
    >>> h["loss"]
    [1.0, 0.5]
    >>> len(h)
    2
    """

    def record(self, **metrics):
        """Append one iteration's metrics (missing earlier entries are padded with ``None``)."""
        n = len(self)
        for key, value in metrics.items():
            column = self.setdefault(key, [None] * n)
            column.append(value)
        for key, column in self.items():
            if key not in metrics:
                column.append(None)

    def __len__(self):
        return max((len(c) for c in self.values()), default=0)

    def as_arrays(self):
        """Return the metrics as a dict of NumPy arrays (``None`` becomes NaN)."""
        import numpy as np

        out = {}
        for key, column in self.items():
            try:
                out[key] = np.array([np.nan if v is None else v for v in column], dtype=float)
            except (TypeError, ValueError):
                out[key] = np.array(column, dtype=object)
        return out


def warn_not_converged(message: str, stacklevel: int = 3) -> None:
    """Issue a :class:`ConvergenceWarning` with ``message``."""
    warnings.warn(message, ConvergenceWarning, stacklevel=stacklevel)
