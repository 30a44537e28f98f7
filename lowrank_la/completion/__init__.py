"""Matrix completion: robust alternating minimization and its baselines.

:func:`complete_matrix` recovers a low-rank matrix from a subset Ω of its entries
(:class:`lowrank_la.sampled.ObservedEntries`).  Methods: ``"robust_altmin"`` (Gu, Song, Yin,
Zhang 2024; approximate per-row solves, ``|Ω| k`` per sweep), ``"altmin"`` (Jain, Netrapalli,
Sanghavi 2013; exact per-row least squares) and ``"softimpute_als"`` (Hastie et al. 2015).
"""

from ._driver import METHODS, complete_matrix
from ._model import CompletionResult

__all__ = ["complete_matrix", "CompletionResult", "METHODS"]
