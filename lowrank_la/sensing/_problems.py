"""Synthetic sensing problems: ground truth of given rank and condition number, measurements,
dense noise and gross outliers (the test problems of the sensing papers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._backend import get_backend
from .._validation import (
    check_fraction,
    check_int,
    check_nonnegative,
    check_option,
    check_positive,
    check_rank,
    check_rng,
)
from ._base import MeasurementOperator, _resolve_dtype
from ._dense import GaussianMeasurements
from ._structured import EntrySampling, RankOneMeasurements

__all__ = ["SensingProblem", "make_sensing_problem"]

_OPERATORS = {"gaussian", "rank_one", "entries"}


@dataclass
class SensingProblem:
    """A synthetic instance: ``y = A(M_true) + noise + outliers``.

    Attributes
    ----------
    operator : MeasurementOperator
    y : array, shape (m,)
        The measurements.
    M_true : array, shape (n1, n2)
        Ground truth ``U diag(sigma) V^T`` (``V = U`` when symmetric, then PSD).
    U, V : arrays
        Orthonormal factors of the ground truth.
    sigma : numpy.ndarray
        Its nonzero singular values, linearly spaced from 1 down to ``1/kappa``.
    outliers : numpy.ndarray of bool, shape (m,)
        Which measurements were corrupted.
    """

    operator: MeasurementOperator
    y: Any
    M_true: Any
    U: Any
    V: Any
    sigma: np.ndarray
    outliers: np.ndarray

    @property
    def rank(self) -> int:
        """The true rank."""
        return int(self.sigma.shape[0])

    @property
    def kappa(self) -> float:
        """The condition number of the ground truth."""
        return float(self.sigma[0] / self.sigma[-1])


def make_sensing_problem(n, rank, m, *, kappa=1.0, symmetric=True, operator="gaussian",
                         noise_std=0.0, outlier_fraction=0.0, outlier_scale=10.0,
                         dtype=None, rng=None, like=None):
    """Make a synthetic low-rank sensing problem as in the papers' experiments.

    Ground truth: random orthonormal factors (QR of Gaussian matrices) and singular values
    spaced linearly between 1 and ``1/kappa`` (as in Tong, Ma and Chi's scripts).  Measurements
    ``y = A(M) + s`` with dense noise ``noise_std * N(0, 1)`` on every measurement and, on a
    random ``outlier_fraction`` of them, gross corruption ``outlier_scale * rms(A(M)) * N(0, 1)``
    (the outlier model of Ma and Fattahi).

    Parameters
    ----------
    n : int or tuple of int
        Side (square) or ``(n1, n2)``.
    rank : int
        True rank.
    m : int
        Number of measurements.
    kappa : float
        Condition number (>= 1).
    symmetric : bool
        PSD ground truth ``U diag(sigma) U^T`` and symmetric sensing matrices (for
        ``operator="gaussian"``; ``"rank_one"`` then uses ``a_i a_i^T``).
    operator : {"gaussian", "rank_one", "entries"}
        The design (:class:`GaussianMeasurements`, :class:`RankOneMeasurements`,
        :class:`EntrySampling`).
    noise_std : float
        Standard deviation of the dense noise.
    outlier_fraction : float in [0, 1)
        Fraction of grossly corrupted measurements.
    outlier_scale : float
        Size of the corruption relative to the root-mean-square clean measurement.
    dtype : {None, "float32", "float64"}
    rng : None, int or numpy.random.Generator
    like : array, optional
        An array of the backend and device to build on (default NumPy).

    Returns
    -------
    SensingProblem

    Raises
    ------
    ValueError
        On out-of-range sizes or parameters.

    References
    ----------
    .. [1] T. Tong, C. Ma, Y. Chi, "Accelerating ill-conditioned low-rank matrix estimation via
       scaled gradient descent", JMLR 22 (2021).
    .. [2] J. Ma, S. Fattahi, "Global convergence of sub-gradient method for robust matrix
       recovery", JMLR 24 (2023).

    Examples
    --------
    >>> from lowrank_la.sensing import make_sensing_problem
    >>> P = make_sensing_problem(10, 2, 150, kappa=5.0, rng=0)
    >>> P.rank, P.kappa, P.y.shape
    (2, 5.0, (150,))
    """
    shape = (n, n) if not isinstance(n, (tuple, list)) else tuple(n)
    if len(shape) != 2:
        raise ValueError(f"`n` must be an int or a pair, got {n!r}")
    n1, n2 = (check_int(s, "n", minimum=1) for s in shape)
    rank = check_rank(rank, maximum=min(n1, n2))
    m = check_int(m, "m", minimum=1)
    kappa = check_positive(kappa, "kappa")
    if kappa < 1:
        raise ValueError(f"`kappa` must be >= 1, got {kappa}")
    check_option(operator, "operator", _OPERATORS)
    noise_std = check_nonnegative(noise_std, "noise_std")
    outlier_fraction = check_fraction(outlier_fraction, "outlier_fraction", closed=True)
    if outlier_fraction >= 1:
        raise ValueError(f"`outlier_fraction` must be < 1, got {outlier_fraction}")
    outlier_scale = check_nonnegative(outlier_scale, "outlier_scale")
    if symmetric and n1 != n2:
        raise ValueError(f"`symmetric=True` needs a square problem, got n={shape}")
    rng = check_rng(rng)
    bk = get_backend(like)
    xp = bk.xp
    dt = _resolve_dtype(xp, dtype, like)

    sigma = np.linspace(1.0, 1.0 / kappa, rank) if rank > 1 else np.ones(1)
    U = np.linalg.qr(rng.standard_normal((n1, rank)))[0]
    V = U if symmetric else np.linalg.qr(rng.standard_normal((n2, rank)))[0]
    M = (U * sigma) @ V.T
    if operator == "gaussian":
        op = GaussianMeasurements((n1, n2), m, symmetric=symmetric, dtype=dt, rng=rng, like=like)
    elif operator == "rank_one":
        op = RankOneMeasurements((n1, n2), m, symmetric=symmetric, dtype=dt, rng=rng, like=like)
    else:
        op = EntrySampling((n1, n2), m, dtype=dt, rng=rng, like=like)
    M_dev = bk.from_host(M, dtype=dt)
    clean = bk.to_host(op(M_dev)).astype(np.float64)
    noise = noise_std * rng.standard_normal(op.m)
    outliers = rng.random(op.m) < outlier_fraction
    rms = float(np.sqrt(np.mean(clean**2)))
    noise = noise + outliers * (outlier_scale * rms * rng.standard_normal(op.m))
    y = clean + noise
    return SensingProblem(op, bk.from_host(y, dtype=dt), M_dev, bk.from_host(U, dtype=dt),
                          bk.from_host(V, dtype=dt), sigma, outliers)
