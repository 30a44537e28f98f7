"""Reproductions of the matrix-sensing papers' convergence experiments.

Each named experiment (:func:`list_experiments`) rebuilds one headline figure: the same problem
family, methods and metric (relative error ``||X_t - M*||_F / ||M*||_F`` against iteration, log
scale), at sizes that run in seconds by default and closer to the papers' with ``full=True``.
:func:`run_experiment` writes the curves (CSV), the settings and versions (JSON) and a figure
(matplotlib, optional), and checks the paper's qualitative claim on the run.  Command line:
``python -m lowrank_la reproduce NAME`` (or ``python -m lowrank_la.experiments NAME``).
"""

from ._configs import EXPERIMENTS, Curve, Experiment
from ._runner import list_experiments, run_experiment, summarize_curve

__all__ = ["EXPERIMENTS", "Curve", "Experiment", "list_experiments", "run_experiment",
           "summarize_curve"]
