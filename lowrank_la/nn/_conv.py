"""Reshaping convolution kernels to matrices (channel-wise and spatial-wise, as in TRP)."""

from __future__ import annotations

from .._backend import get_backend
from .._validation import check_array, check_option

__all__ = ["conv_to_matrix", "matrix_to_conv"]

_MODES = ("channel", "spatial")


def conv_to_matrix(W, mode="channel"):
    """Reshape a kernel ``N x C x kh x kw`` to a matrix.

    ``"channel"``: ``N x (C kh kw)`` (a ``kh x kw`` conv to ``r`` channels then a 1x1 conv);
    ``"spatial"``: ``W.permute(1, 2, 0, 3)`` as ``(C kh) x (N kw)`` (a ``kh x 1`` conv then a
    ``1 x kw`` conv, Jaderberg et al.).

    Parameters
    ----------
    W : array, shape (N, C, kh, kw)
    mode : {"channel", "spatial"}

    Returns
    -------
    array

    References
    ----------
    .. [1] Y. Xu et al., Trained rank pruning for efficient deep neural networks, IJCAI 2020.
    .. [2] M. Jaderberg, A. Vedaldi, A. Zisserman, Speeding up convolutional neural networks
       with low rank expansions, BMVC 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import conv_to_matrix
    >>> conv_to_matrix(np.zeros((8, 3, 3, 3)), "spatial").shape
    (9, 24)
    """
    check_array(W, "W", ndim=4, dtype_kind="numeric")
    mode = check_option(mode, "mode", _MODES)
    xp = get_backend(W).xp
    N, C, kh, kw = W.shape
    if mode == "channel":
        return xp.reshape(W, (N, C * kh * kw))
    return xp.reshape(xp.permute_dims(W, (1, 2, 0, 3)), (C * kh, N * kw))


def matrix_to_conv(M, shape, mode="channel"):
    """Inverse of :func:`conv_to_matrix`.

    Parameters
    ----------
    M : array
    shape : tuple of 4 int
        ``(N, C, kh, kw)``.
    mode : {"channel", "spatial"}

    Returns
    -------
    array, shape ``shape``

    Examples
    --------
    >>> import numpy as np
    >>> from lowrank_la.nn import conv_to_matrix, matrix_to_conv
    >>> W = np.arange(24.0).reshape(2, 3, 2, 2)
    >>> bool(np.array_equal(matrix_to_conv(conv_to_matrix(W, "spatial"), W.shape, "spatial"), W))
    True
    """
    check_array(M, "M", ndim=2, dtype_kind="numeric")
    mode = check_option(mode, "mode", _MODES)
    N, C, kh, kw = (int(d) for d in shape)
    xp = get_backend(M).xp
    want = (N, C * kh * kw) if mode == "channel" else (C * kh, N * kw)
    if tuple(M.shape) != want:
        raise ValueError(f"`M` must have shape {want} for kernel shape {tuple(shape)} and "
                         f"mode {mode!r}, got {tuple(M.shape)}")
    if mode == "channel":
        return xp.reshape(M, (N, C, kh, kw))
    return xp.permute_dims(xp.reshape(M, (C, kh, N, kw)), (2, 0, 1, 3))
