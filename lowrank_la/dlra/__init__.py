"""Dynamical low-rank integrators for ``dA/dt = F(t, A)`` on the manifold of rank-r matrices.

Integrators: projector splitting KSL (Lie and Strang; Lubich-Oseledets 2014), fixed-rank BUG
(Ceruti-Lubich 2022), rank-adaptive BUG (Ceruti-Kusch-Lubich 2022) and parallel BUG
(Ceruti-Kusch-Lubich 2024).  Problems give products of ``F`` with thin factors
(:class:`MatrixODE`) or a linear structure (:class:`LinearMatrixODE`, exact exponential
sub-steps).  The K-, L- and S-steps are public building blocks.
"""

from ._factors import Factors
from ._integrate import METHODS, DLRAIntegrator, bug, integrate, ksl, parallel_bug, ra_bug
from ._problem import Flow, LinearMatrixODE, MatrixODE
from ._problems import (
    TestProblem,
    cubic_problem,
    damped_source_problem,
    dlra_factor_reference,
    polynomial_problem,
    schrodinger_problem,
    small_singular_values_problem,
)
from ._reproduce import REPRODUCTIONS, reproduce
from ._steps import (
    bug_step,
    k_step,
    ksl_step,
    l_step,
    parallel_bug_step,
    ra_bug_step,
    s_step,
    truncate_core,
)
from ._substep import SOLVERS
from ._ttn import TTNode, ttn_bug, ttn_polynomial_problem, ttn_to_dense
from ._tucker import (
    TuckerFactors,
    TuckerODE,
    tucker_bug,
    tucker_bug_step,
    tucker_polynomial_problem,
)

__all__ = [
    "Factors", "MatrixODE", "LinearMatrixODE", "Flow",
    "integrate", "DLRAIntegrator", "ksl", "bug", "ra_bug", "parallel_bug", "METHODS", "SOLVERS",
    "k_step", "l_step", "s_step", "ksl_step", "bug_step", "ra_bug_step", "parallel_bug_step",
    "truncate_core",
    "TestProblem", "polynomial_problem", "cubic_problem", "small_singular_values_problem",
    "schrodinger_problem", "damped_source_problem", "dlra_factor_reference",
    "reproduce", "REPRODUCTIONS",
    "TuckerFactors", "TuckerODE", "tucker_bug", "tucker_bug_step", "tucker_polynomial_problem",
    "TTNode", "ttn_bug", "ttn_to_dense", "ttn_polynomial_problem",
]
