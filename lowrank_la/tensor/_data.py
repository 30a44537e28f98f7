"""Test tensors: synthetic ones with known structure and real ones bundled with pip packages.

The real tensors come from files shipped inside the scikit-image and scikit-learn wheels, so they
need no download at run time; a missing optional package raises ``ImportError`` naming the pip
command.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_nonnegative, check_option, check_positive, check_rng
from ._spectra import _resolve_shape

__all__ = ["uneven_tensor", "lowrank_tensor", "smooth_tensor", "load_tensor", "REAL_TENSORS"]


def _orthogonal(rng, n, k):
    Q, R = np.linalg.qr(rng.standard_normal((n, k)))
    return Q * np.sign(np.diag(R))


def _expand(core, factors):
    X = core
    for n, U in enumerate(factors):
        X = np.moveaxis(np.tensordot(U, X, axes=(1, n)), 0, n)
    return X


def _add_noise(X, noise, rng):
    if noise == 0.0:
        return X
    E = rng.standard_normal(X.shape)
    return X + noise * np.linalg.norm(X) / np.linalg.norm(E) * E


def _check_shape(shape):
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2 or min(shape) < 1:
        raise ValueError(f"`shape` must have >= 2 positive sizes, got {shape}")
    return shape


def uneven_tensor(shape, taus, *, noise=0.01, rng=None):
    """Tensor whose modes decay at different rates (the paper's favourable case).

    A full Gaussian core scaled entrywise by ``prod_n exp(-i_n / tau_n)``, multiplied by random
    orthogonal factors, plus Gaussian noise of relative norm ``noise``.

    Parameters
    ----------
    shape : sequence of int
    taus : sequence of float
        Decay length per mode (larger: slower decay, more rank needed).
    noise : float
        Relative Frobenius norm of the added noise.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    numpy.ndarray (float64)

    Raises
    ------
    ValueError
        For mismatched lengths or non-positive ``taus``.

    References
    ----------
    M. Ghadiri, M. Fahrbach, G. Fu, V. Mirrokni, ICML 2023 (synthetic experiments).

    Examples
    --------
    >>> from lowrank_la.tensor import uneven_tensor
    >>> uneven_tensor((10, 8, 6), (1.0, 2.0, 4.0), rng=0).shape
    (10, 8, 6)
    """
    shape = _check_shape(shape)
    taus = [check_positive(t, "taus") for t in taus]
    if len(taus) != len(shape):
        raise ValueError(f"`taus` needs one decay per mode of {shape}, got {len(taus)}")
    noise = check_nonnegative(noise, "noise")
    rng = check_rng(rng)
    scale = np.ones(shape)
    for n, (d, tau) in enumerate(zip(shape, taus)):
        view = [1] * len(shape)
        view[n] = d
        scale = scale * np.exp(-np.arange(d) / tau).reshape(view)
    core = rng.standard_normal(shape) * scale
    X = _expand(core, [_orthogonal(rng, d, d) for d in shape])
    return _add_noise(X, noise, rng)


def lowrank_tensor(shape, ranks, *, noise=0.0, rng=None):
    """Tensor of exact multilinear rank ``ranks`` (Gaussian core, orthonormal factors) + noise.

    Parameters
    ----------
    shape : sequence of int
    ranks : sequence of int
        Must be a valid core: ``r_n <= I_n`` and ``r_n <= prod_{m != n} r_m``.
    noise : float
        Relative norm of added Gaussian noise.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    numpy.ndarray (float64)

    Raises
    ------
    ValueError
        For ranks outside ``[1, I_n]`` or a degenerate core shape.

    References
    ----------
    T. G. Kolda, B. W. Bader, SIAM Review 51(3), 2009.

    Examples
    --------
    >>> from lowrank_la.tensor import lowrank_tensor, mode_spectra
    >>> X = lowrank_tensor((10, 8, 6), (2, 3, 4), rng=0)
    >>> [int((s > 1e-10 * s[0]).sum()) for s in mode_spectra(X)]
    [2, 3, 4]
    """
    shape = _check_shape(shape)
    ranks = _resolve_shape(ranks, shape)
    for n, r in enumerate(ranks):
        if r > math.prod(ranks[:n] + ranks[n + 1:]):
            raise ValueError(f"`ranks` {ranks} is degenerate: rank[{n}] exceeds the product of "
                             "the others, so the tensor cannot have that multilinear rank")
    noise = check_nonnegative(noise, "noise")
    rng = check_rng(rng)
    core = rng.standard_normal(ranks)
    X = _expand(core, [_orthogonal(rng, d, r) for d, r in zip(shape, ranks)])
    return _add_noise(X, noise, rng)


def smooth_tensor(shape):
    """Samples of ``f = 1 / (0.05 + x + 2 y^2 + 3 z^3 + 4 w^4)`` (one term per mode) on [0, 1]^N.

    Parameters
    ----------
    shape : sequence of int
        Grid sizes (mode ``n`` uses the term ``(n + 1) x_n^(n + 1)``).

    Returns
    -------
    numpy.ndarray (float64)

    Raises
    ------
    ValueError
        For fewer than two modes.

    References
    ----------
    M. Ghadiri, M. Fahrbach, G. Fu, V. Mirrokni, ICML 2023.

    Examples
    --------
    >>> from lowrank_la.tensor import smooth_tensor
    >>> float(smooth_tensor((3, 3, 3))[0, 0, 0])
    20.0
    """
    shape = _check_shape(shape)
    denom = np.full(shape, 0.05)
    for n, d in enumerate(shape):
        view = [1] * len(shape)
        view[n] = d
        denom = denom + ((n + 1) * np.linspace(0.0, 1.0, d) ** (n + 1)).reshape(view)
    return 1.0 / denom


_SKIMAGE = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "retina",
            "immunohistochemistry", "stereo_motorcycle", "lfw_subset")
REAL_TENSORS = _SKIMAGE + ("digits",)


def load_tensor(name):
    """A real tensor from a file bundled in a pip package (no download at run time).

    Parameters
    ----------
    name : str
        scikit-image images ``"astronaut"`` (512x512x3), ``"coffee"`` (400x600x3),
        ``"chelsea"``, ``"rocket"``, ``"hubble_deep_field"`` (872x1000x3), ``"retina"``
        (1411x1411x3), ``"immunohistochemistry"``, ``"stereo_motorcycle"`` (the two views,
        2x500x741x3), ``"lfw_subset"`` (200x25x25 faces); scikit-learn ``"digits"``
        (1797x8x8).

    Returns
    -------
    numpy.ndarray (float64)

    Raises
    ------
    ValueError
        For an unknown name.
    ImportError
        If scikit-image (or scikit-learn) is not installed.

    References
    ----------
    scikit-image data module (``skimage.data``); scikit-learn ``load_digits``.

    Examples
    --------
    >>> from lowrank_la.tensor import load_tensor
    >>> load_tensor("digits").shape  # doctest: +SKIP
    (1797, 8, 8)
    """
    name = check_option(name, "name", REAL_TENSORS)
    if name == "digits":
        try:
            from sklearn.datasets import load_digits
        except ImportError as exc:
            raise ImportError("load_tensor('digits') needs scikit-learn: "
                              "pip install scikit-learn") from exc
        return load_digits().images.astype(np.float64)
    try:
        from skimage import data
    except ImportError as exc:
        raise ImportError(f"load_tensor({name!r}) needs scikit-image: "
                          "pip install scikit-image") from exc
    img = getattr(data, name)()
    if name == "stereo_motorcycle":
        img = np.stack(img[:2])
    return np.asarray(img, dtype=np.float64)
