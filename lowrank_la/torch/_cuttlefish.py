"""Cuttlefish: switch layers to low rank when their stable ranks settle."""

from __future__ import annotations

import math

import torch

__all__ = ["StableRankSwitch"]


class StableRankSwitch:
    """Cuttlefish controller: train full rank, then factor each layer at its scaled stable rank.

    At construction each selected ``nn.Linear`` stores ``xi = min(m, n) / sr(W_0)`` (``sr`` the
    stable rank).  Call :meth:`epoch_end` after every epoch: it records the stable ranks and,
    once ``warmup`` epochs have passed and the mean absolute per-epoch change of every layer's
    stable rank over the last ``window`` epochs is ``<= threshold``, replaces each layer by
    balanced factors ``U sqrt(s)``, ``V sqrt(s)`` at rank ``ceil(xi * sr)`` (capped at
    ``min(m, n)``) and returns the :class:`CompressionReport`.  Build a new optimizer then.

    Parameters
    ----------
    model : torch.nn.Module
    warmup : int
    window : int
    threshold : float
    include, exclude : list of str, optional
        ``fnmatch`` patterns on module names (the authors keep the first and last layers dense).

    Attributes
    ----------
    history : dict
        Layer name -> list of stable ranks per epoch.
    switched : bool

    References
    ----------
    .. [1] H. Wang, S. Agarwal, P. U-chupala, Y. Tanaka, E. Xing, D. Papailiopoulos,
       Cuttlefish: low-rank model training without all the tuning, MLSys 2023.

    Examples
    --------
    >>> import torch
    >>> from lowrank_la.torch import StableRankSwitch
    >>> model = torch.nn.Sequential(torch.nn.Linear(16, 16))
    >>> sw = StableRankSwitch(model, warmup=1, window=1, threshold=1.0)
    >>> sw.epoch_end() is None        # one value: no change measured yet
    True
    >>> report = sw.epoch_end()       # unchanged weights: stable, switch
    >>> sw.switched, report.layers[0]["rank"] <= 16
    (True, True)
    """

    def __init__(self, model, *, warmup=15, window=10, threshold=0.1, include=None,
                 exclude=None):
        from .._validation import check_int, check_nonnegative
        from ..linalg import stable_rank
        from ._compress import _selected

        self.model = model
        self.warmup = check_int(warmup, "warmup", minimum=0)
        self.window = check_int(window, "window", minimum=1)
        self.threshold = check_nonnegative(threshold, "threshold")
        self.include, self.exclude = include, exclude
        self.layers = [(n, m) for n, m in model.named_modules()
                       if type(m) is torch.nn.Linear and _selected(n, include, exclude)]
        if not self.layers:
            raise ValueError("`model` has no selected nn.Linear layer")
        self.xi = {n: min(m.weight.shape) / stable_rank(m.weight.detach())
                   for n, m in self.layers}
        self.history = {n: [] for n, _ in self.layers}
        self.switched = False
        self._epoch = 0

    def _stable(self):
        for h in self.history.values():
            if len(h) < self.window + 1:
                return False
            recent = h[-(self.window + 1):]
            changes = [abs(b - a) for a, b in zip(recent, recent[1:])]
            if sum(changes) / len(changes) > self.threshold:
                return False
        return True

    def epoch_end(self):
        """Record stable ranks; switch when stable.

        Returns
        -------
        CompressionReport or None
            The report when the switch happened at this call.
        """
        from ..linalg import stable_rank
        from ._compress import CompressionReport
        from ._layers import LowRankLinear

        if self.switched:
            return None
        self._epoch += 1
        for n, m in self.layers:
            self.history[n].append(stable_rank(m.weight.detach()))
        if self._epoch < self.warmup or not self._stable():
            return None
        report = CompressionReport()
        for name, m in self.layers:
            r = min(math.ceil(self.xi[name] * self.history[name][-1] - 1e-9),
                    min(m.weight.shape))
            layer = LowRankLinear.from_dense(m, rank=r, core=False)
            mm, nn_ = m.weight.shape
            report.layers.append({
                "name": name, "shape": (mm, nn_), "rank": r, "params_before": mm * nn_,
                "params_after": layer.n_parameters(), "flops_before": mm * nn_,
                "flops_after": layer.flops(),
            })
            parent_name, _, child = name.rpartition(".")
            parent = self.model.get_submodule(parent_name) if parent_name else self.model
            setattr(parent, child, layer)
        self.switched = True
        return report
