"""Unfoldings, foldings and mode-n products of dense tensors, on any array-API backend.

Shared by ``lowrank_la.tensor`` (Tucker decompositions) and ``lowrank_la.dlra`` (Tucker and tree
tensor network integrators); real or complex data.

Conventions (Kolda and Bader 2009, up to the column order of the unfolding, which only has to be
inverted by :func:`fold`): ``X_(n) = moveaxis(X, n, 0).reshape(I_n, -1)`` and the mode-n product
``X x_n A`` with ``A`` of shape ``(J, I_n)`` is ``moveaxis(tensordot(A, X, (1, n)), 0, n)``.
"""

from __future__ import annotations

from .._backend import get_backend
from .._validation import check_array, check_int

__all__ = ["unfold", "fold", "mode_product", "multi_mode_product"]


def _check_mode(mode, ndim: int) -> int:
    mode = check_int(mode, "mode", minimum=-ndim, maximum=ndim - 1)
    return mode % ndim


def unfold(X, mode):
    """Mode-``mode`` unfolding (matricization) ``X_(n)`` of a tensor.

    Parameters
    ----------
    X : array, shape (I_1, ..., I_N)
        Tensor of order ``N >= 1``.
    mode : int
        The mode ``n`` whose fibres become the columns (negative values count from the end).

    Returns
    -------
    array, shape (I_n, prod_{m != n} I_m)
        ``moveaxis(X, n, 0).reshape(I_n, -1)``, in ``X``'s namespace and device.

    Raises
    ------
    ValueError
        If ``mode`` is not an axis of ``X``.

    References
    ----------
    T. G. Kolda, B. W. Bader, "Tensor decompositions and applications", SIAM Review 51(3), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import unfold
    >>> X = np.arange(24.0).reshape(2, 3, 4)
    >>> unfold(X, 1).shape
    (3, 8)
    """
    check_array(X, "X", finite=False, dtype_kind="any")
    n = _check_mode(mode, X.ndim)
    xp = get_backend(X).xp
    return xp.reshape(xp.moveaxis(X, n, 0), (X.shape[n], -1))


def fold(M, mode, shape):
    """Inverse of :func:`unfold`: rebuild the tensor of ``shape`` from its mode-``mode`` unfolding.

    Parameters
    ----------
    M : array, shape (I_n, prod_{m != n} I_m)
    mode : int
    shape : tuple of int
        Shape of the folded tensor.

    Returns
    -------
    array, shape ``shape``

    Raises
    ------
    ValueError
        If ``M``'s shape does not match ``shape`` and ``mode``.

    References
    ----------
    T. G. Kolda, B. W. Bader, SIAM Review 51(3), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import fold, unfold
    >>> X = np.arange(24.0).reshape(2, 3, 4)
    >>> bool(np.array_equal(fold(unfold(X, 2), 2, X.shape), X))
    True
    """
    check_array(M, "M", ndim=2, finite=False, dtype_kind="any")
    shape = tuple(int(s) for s in shape)
    n = _check_mode(mode, len(shape))
    rest = 1
    for i, s in enumerate(shape):
        if i != n:
            rest *= s
    if tuple(M.shape) != (shape[n], rest):
        raise ValueError(
            f"`M` of shape {tuple(M.shape)} is not a mode-{n} unfolding of a tensor of shape {shape}"
        )
    xp = get_backend(M).xp
    moved = (shape[n],) + tuple(s for i, s in enumerate(shape) if i != n)
    return xp.moveaxis(xp.reshape(M, moved), 0, n)


def _mode_product(xp, X, A, n, transpose):
    # tensordot puts A's free axis first; move it back to position n
    axis = 0 if transpose else 1
    return xp.moveaxis(xp.tensordot(A, X, axes=((axis,), (n,))), 0, n)


def mode_product(X, A, mode, *, transpose=False):
    """Mode-n product ``X x_n A`` (or ``X x_n Aᵀ`` with ``transpose=True``).

    Parameters
    ----------
    X : array, shape (I_1, ..., I_N)
    A : array, shape (J, I_n) (or (I_n, J) with ``transpose=True``)
    mode : int
    transpose : bool
        Multiply by ``Aᵀ``: projecting onto a factor's columns without forming the transpose.

    Returns
    -------
    array, shape (I_1, ..., J, ..., I_N)

    Raises
    ------
    ValueError
        If the inner dimensions do not match.
    TypeError
        If ``X`` and ``A`` come from different array libraries.

    References
    ----------
    T. G. Kolda, B. W. Bader, SIAM Review 51(3), 2009, Section 2.5.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import mode_product
    >>> X = np.ones((2, 3, 4))
    >>> mode_product(X, np.ones((5, 3)), 1).shape
    (2, 5, 4)
    """
    check_array(X, "X", finite=False, dtype_kind="any")
    check_array(A, "A", ndim=2, finite=False, dtype_kind="any")
    bk = get_backend(X, A)
    n = _check_mode(mode, X.ndim)
    inner = A.shape[0] if transpose else A.shape[1]
    if inner != X.shape[n]:
        raise ValueError(
            f"`A` of shape {tuple(A.shape)} cannot multiply mode {n} of size {X.shape[n]}"
            + (" (transpose=True)" if transpose else "")
        )
    return _mode_product(bk.xp, X, A, n, transpose)


def _order_by_reduction(shape, factors, modes, transpose):
    # contract the modes that shrink the tensor most first: every later product is cheaper
    def ratio(n):
        A = factors[n]
        out = A.shape[1] if transpose else A.shape[0]
        return out / shape[n]

    return sorted(modes, key=ratio)


def _multi(xp, X, factors, modes, transpose):
    for n in _order_by_reduction(tuple(X.shape), factors, modes, transpose):
        X = _mode_product(xp, X, factors[n], n, transpose)
    return X


def multi_mode_product(X, factors, *, skip=None, transpose=False):
    """Products with one matrix per mode: ``X x_1 A_1 x_2 A_2`` and so on up to ``x_N A_N``.

    Modes are contracted in the order that shrinks the tensor fastest (the result does not
    depend on the order).

    Parameters
    ----------
    X : array, shape (I_1, ..., I_N)
    factors : sequence of arrays or None
        ``factors[n]`` of shape ``(J_n, I_n)`` (``(I_n, J_n)`` with ``transpose=True``), or
        ``None`` to leave mode ``n`` alone.
    skip : int, optional
        A mode to leave out (HOOI's "all modes but n").
    transpose : bool
        Multiply by the transposes (projection onto the factors' column spaces).

    Returns
    -------
    array

    Raises
    ------
    ValueError
        If ``len(factors) != X.ndim`` or a factor's shape does not match its mode.

    References
    ----------
    T. G. Kolda, B. W. Bader, SIAM Review 51(3), 2009, Section 4.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.linalg import multi_mode_product
    >>> X = np.ones((4, 5, 6))
    >>> U = [np.ones((4, 2)), None, np.ones((6, 3))]
    >>> multi_mode_product(X, U, transpose=True).shape
    (2, 5, 3)
    """
    check_array(X, "X", finite=False)
    factors = list(factors)
    if len(factors) != X.ndim:
        raise ValueError(f"`factors` must have one entry per mode ({X.ndim}), got {len(factors)}")
    bk = get_backend(X, *[A for A in factors if A is not None])
    if skip is not None:
        skip = _check_mode(skip, X.ndim)
    modes = []
    for n, A in enumerate(factors):
        if A is None or n == skip:
            continue
        check_array(A, f"factors[{n}]", ndim=2, finite=False)
        inner = A.shape[0] if transpose else A.shape[1]
        if inner != X.shape[n]:
            raise ValueError(
                f"`factors[{n}]` of shape {tuple(A.shape)} does not match mode {n} of size "
                f"{X.shape[n]}"
            )
        modes.append(n)
    return _multi(bk.xp, X, factors, modes, transpose)
