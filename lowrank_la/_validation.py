"""Input checks shared by every public routine.

Every message names the parameter and the value (or shape/dtype) seen, e.g.
"`rank` must be a positive integer, got 0".  Checks run before any work is done and never modify
their inputs.
"""

from __future__ import annotations

import numbers
import operator

import array_api_compat
import numpy as np

from ._backend import get_backend

__all__ = [
    "check_array",
    "check_matrix",
    "check_rank",
    "check_positive",
    "check_nonnegative",
    "check_int",
    "check_fraction",
    "check_option",
    "check_rng",
    "check_finite",
    "check_same_backend",
]


def _describe(x) -> str:
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"array of shape {tuple(x.shape)} and dtype {x.dtype}"
    text = repr(x)
    return text if len(text) < 60 else text[:57] + "..."


def check_finite(x, name: str, bk=None) -> None:
    """Raise ``ValueError`` if array ``x`` holds NaN or inf.

    The check reduces on the array's own device (one scalar comes back), so it costs no
    device-to-host copy of the data.
    """
    bk = get_backend(x) if bk is None else bk
    xp = bk.xp
    if xp.isdtype(x.dtype, ("real floating", "complex floating")) and array_api_compat.size(x) != 0:
        if not bool(xp.all(xp.isfinite(x))):
            raise ValueError(f"`{name}` must not contain NaN or inf")


def check_array(
    x,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple | None = None,
    finite: bool = True,
    dtype_kind: str = "numeric",
    allow_empty: bool = False,
):
    """Check an array argument; return it unchanged.

    Parameters
    ----------
    x : array
        The argument.
    name : str
        Its parameter name, used in the messages.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    shape : tuple, optional
        Required shape; ``None`` entries match anything.
    finite : bool
        Reject NaN and inf.
    dtype_kind : {"numeric", "real floating", "integral", "any"}
        Required dtype kind; "numeric" accepts booleans not, integers and floats yes.
    allow_empty : bool
        Accept arrays with a zero-length axis.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la._validation import check_array
    >>> check_array(np.ones((2, 3)), "A", ndim=2).shape
    (2, 3)
    >>> check_array(np.ones(3), "A", ndim=2)
    Traceback (most recent call last):
    ...
    ValueError: `A` must be a 2-d array, got array of shape (3,) and dtype float64
    """
    if x is None or not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"`{name}` must be an array, got {type(x).__name__}")
    bk = get_backend(x)
    xp = bk.xp
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            what = " or ".join(f"{d}-d" for d in allowed)
            raise ValueError(f"`{name}` must be a {what} array, got {_describe(x)}")
    if shape is not None:
        if len(shape) != x.ndim or any(
            s is not None and s != t for s, t in zip(shape, x.shape)
        ):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"`{name}` must have shape {want}, got shape {tuple(x.shape)}")
    if not allow_empty and any(s == 0 for s in x.shape):
        raise ValueError(f"`{name}` must not be empty, got {_describe(x)}")
    if dtype_kind != "any":
        kinds = {
            "numeric": ("integral", "real floating"),
            "real floating": "real floating",
            "integral": "integral",
        }[dtype_kind]
        if not xp.isdtype(x.dtype, kinds):
            raise TypeError(f"`{name}` must have a {dtype_kind} dtype, got {_describe(x)}")
    if finite:
        check_finite(x, name, bk)
    return x


def check_matrix(A, name: str, **kwargs):
    """:func:`check_array` with ``ndim=2``."""
    return check_array(A, name, ndim=2, **kwargs)


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int``; reject floats, bools and out-of-range values."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"`{name}` must be an integer, got {_describe(value)}")
    value = operator.index(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be <= {maximum}, got {value}")
    return value


def check_rank(rank, name: str = "rank", *, maximum: int | None = None) -> int:
    """Return ``rank`` as a positive ``int`` not larger than ``maximum``.

    Examples
    --------
    >>> from lowrank_la._validation import check_rank
    >>> check_rank(0)
    Traceback (most recent call last):
    ...
    ValueError: `rank` must be a positive integer, got 0
    """
    if isinstance(rank, bool) or not isinstance(rank, (numbers.Integral, np.integer)):
        raise TypeError(f"`{name}` must be a positive integer, got {_describe(rank)}")
    rank = operator.index(rank)
    if rank < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {rank}")
    if maximum is not None and rank > maximum:
        raise ValueError(f"`{name}` must be at most {maximum} (the smaller dimension), got {rank}")
    return rank


def _check_real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"`{name}` must be a real number, got {_describe(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value}")
    return value


def check_positive(value, name: str) -> float:
    """Return ``value`` as a finite float > 0."""
    value = _check_real(value, name)
    if value <= 0:
        raise ValueError(f"`{name}` must be positive, got {value}")
    return value


def check_nonnegative(value, name: str) -> float:
    """Return ``value`` as a finite float >= 0."""
    value = _check_real(value, name)
    if value < 0:
        raise ValueError(f"`{name}` must be non-negative, got {value}")
    return value


def check_fraction(value, name: str, *, closed: bool = False) -> float:
    """Return ``value`` as a float in (0, 1) (or [0, 1] when ``closed``)."""
    value = _check_real(value, name)
    ok = 0 <= value <= 1 if closed else 0 < value < 1
    if not ok:
        interval = "[0, 1]" if closed else "(0, 1)"
        raise ValueError(f"`{name}` must lie in {interval}, got {value}")
    return value


def check_option(value, name: str, options) -> str:
    """Return ``value`` if it is one of ``options``."""
    if value not in options:
        raise ValueError(f"`{name}` must be one of {sorted(options)}, got {value!r}")
    return value


def check_rng(rng) -> np.random.Generator:
    """Turn ``rng`` (None, int seed, SeedSequence or Generator) into a Generator (SPEC 7)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (numbers.Integral, np.integer, np.random.SeedSequence)):
        if isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, bool):
            if rng < 0:
                raise ValueError(f"`rng` seed must be non-negative, got {rng}")
        if isinstance(rng, bool):
            raise TypeError("`rng` must be None, an int seed or a numpy.random.Generator, got bool")
        return np.random.default_rng(rng)
    raise TypeError(
        f"`rng` must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}"
    )


def check_same_backend(*named_arrays):
    """``get_backend`` over ``(name, array)`` pairs, with the parameter names in the error."""
    arrays = [a for _, a in named_arrays if a is not None]
    try:
        return get_backend(*arrays)
    except (TypeError, ValueError) as exc:
        names = ", ".join(f"`{n}`" for n, a in named_arrays if a is not None)
        raise type(exc)(f"{names} must share one array library and device: {exc}") from None
