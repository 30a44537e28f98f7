"""TRP: trained rank pruning of the ``nn.Linear`` layers of a model."""

from __future__ import annotations

import torch

__all__ = ["TRP"]


class TRP:
    """Trained Rank Pruning controller: periodic low-rank projection and nuclear regularizer.

    Call :meth:`step` after ``loss.backward()`` and before ``optimizer.step()``: every
    ``period`` calls (the first included) each selected weight is replaced in place by its
    truncated SVD at the energy rule (:func:`lowrank_la.nn.trp_project`), keeping
    ``D = U_r V_r^T``; every call adds ``nuclear_weight * D`` to the weight's gradient (the
    nuclear-norm subgradient).  The weights stay dense parameters, so any optimizer's state
    stays valid.  After training, :func:`compress_` with the same ``energy`` factors the net.

    Parameters
    ----------
    model : torch.nn.Module
    period : int
    energy : float in (0, 1]
    nuclear_weight : float
    include, exclude : list of str, optional
        ``fnmatch`` patterns on module names (e.g. exclude the classifier).

    Attributes
    ----------
    ranks : dict
        Layer name -> rank at the last projection.

    References
    ----------
    .. [1] Y. Xu, Y. Li, S. Zhang, W. Wen, B. Wang, Y. Qi, Y. Chen, W. Lin, H. Xiong, Trained
       rank pruning for efficient deep neural networks, IJCAI 2020.

    Examples
    --------
    >>> import torch
    >>> from lowrank_la.torch import TRP
    >>> model = torch.nn.Sequential(torch.nn.Linear(8, 8))
    >>> trp = TRP(model, period=1, energy=0.5)
    >>> model(torch.randn(4, 8)).sum().backward()
    >>> trp.step()
    >>> trp.ranks["0"] < 8
    True
    """

    def __init__(self, model, *, period=10, energy=0.9, nuclear_weight=0.0, include=None,
                 exclude=None):
        from .._validation import check_fraction, check_int, check_nonnegative
        from ._compress import _selected

        self.period = check_int(period, "period", minimum=1)
        self.energy = check_fraction(energy, "energy", closed=True)
        if self.energy == 0:
            raise ValueError("`energy` must be in (0, 1], got 0.0")
        self.nuclear_weight = check_nonnegative(nuclear_weight, "nuclear_weight")
        self.layers = [(n, m) for n, m in model.named_modules()
                       if type(m) is torch.nn.Linear and _selected(n, include, exclude)]
        if not self.layers:
            raise ValueError("`model` has no selected nn.Linear layer")
        self.ranks, self._D, self._count = {}, {}, 0

    @torch.no_grad()
    def step(self):
        """Project (when due) and add the nuclear subgradient to the gradients."""
        from ..nn import trp_project

        if self._count % self.period == 0:
            for name, m in self.layers:
                W_r, D, r = trp_project(m.weight.detach(), self.energy)
                m.weight.copy_(W_r)
                self._D[name], self.ranks[name] = D, r
        if self.nuclear_weight:
            for name, m in self.layers:
                if m.weight.grad is not None:
                    m.weight.grad.add_(self._D[name], alpha=self.nuclear_weight)
        self._count += 1
