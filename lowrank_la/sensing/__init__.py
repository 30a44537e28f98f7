"""Over-parameterized low-rank matrix sensing: measurement operators and factorized solvers.

Operators (:class:`GaussianMeasurements`, :class:`RankOneMeasurements`, :class:`EntrySampling`,
:class:`MatrixMeasurements`) share one interface: ``A(X)``, ``A.adjoint(z)``, the factored
products the solvers use, batched application and ``aslinearoperator()``.  Solvers (:func:`gd`,
:func:`scaled_gd`, :func:`subgradient`) work on ``X X^T`` or ``L R^T`` with any search rank and
record the papers' convergence metrics.  Normalization: ``E ||A(X)||^2 = ||X||_F^2``.
"""

from ._base import MeasurementOperator
from ._dense import DenseMeasurements, GaussianMeasurements, MatrixMeasurements
from ._problems import SensingProblem, make_sensing_problem
from ._solvers import gd, scaled_gd, subgradient
from ._structured import EntrySampling, RankOneMeasurements

__all__ = [
    "MeasurementOperator",
    "DenseMeasurements",
    "GaussianMeasurements",
    "MatrixMeasurements",
    "RankOneMeasurements",
    "EntrySampling",
    "SensingProblem",
    "make_sensing_problem",
    "gd",
    "scaled_gd",
    "subgradient",
]
