"""DLRT: rank-adaptive dynamical low-rank training of ``LowRankLinear`` layers."""

from __future__ import annotations

import torch

from ._layers import LowRankLinear

__all__ = ["DLRT"]


def other_parameters(model, factors, optimizer, what):
    """The trainable parameters of ``model`` that are not ``factors`` (stepped by ``optimizer``,
    which must not hold a factor: the integrator moves those itself)."""
    ids = {id(p) for p in factors}
    if optimizer is not None and any(id(p) in ids for g in optimizer.param_groups
                                     for p in g["params"]):
        raise ValueError(f"`optimizer` must not hold {what}")
    return [p for p in model.parameters() if id(p) not in ids and p.requires_grad]


def galerkin_pass(model, closure, cores, others, optimizer, lr):
    """Pass 2 of a DLRT step (matrix or Tucker): gradients at the augmented factors, a gradient
    step on the ``cores`` (the Galerkin S-step), and the other parameters' step (``optimizer``,
    else SGD with ``lr``).  Returns the loss."""
    model.zero_grad(set_to_none=True)
    loss = closure()
    loss.backward()
    value = float(loss.detach())
    del loss
    with torch.no_grad():
        for core in cores:
            if core.grad is not None:
                core.sub_(lr * core.grad)
        if optimizer is not None:
            optimizer.step()
        else:
            for p in others:
                if p.grad is not None:
                    p.sub_(lr * p.grad)
    return value


class DLRT:
    """Training controller for rank-adaptive DLRT (one augmented step per batch).

    Each :meth:`step` does, for every :class:`LowRankLinear` layer with a core:

    1. pass 1 at ``W = U S V^T``: the layer keeps its input ``x`` and output gradient ``d``,
       giving ``grad_K = d^T (x V)`` and ``grad_L = x^T (d U)`` without forming ``d^T x``;
    2. K- and L-steps and basis augmentation (:func:`lowrank_la.nn.dlrt_augment`);
    3. pass 2 at the augmented factors: ``S -= lr grad_S`` and the other parameters (biases,
       dense layers) step with ``optimizer`` (plain SGD with ``lr`` when none is given);
    4. truncation of the core (:func:`lowrank_la.dlra.truncate_core`): the smallest rank whose
       discarded singular values have norm ``<= tau ||S||_F``, within ``[min_rank, max_rank]``.

    The factors follow plain gradient flows (no optimizer state on ``U``, ``S``, ``V``, which
    change shape every step); ``optimizer`` must not hold them.

    Parameters
    ----------
    model : torch.nn.Module
    lr : float
        Step size of the K-, L- and S-steps.
    tau : float
        Relative truncation tolerance (0.1 in the paper's experiments).
    max_rank : int, optional
        Cap per layer (default: the layer's rank at construction).
    min_rank : int
    optimizer : torch.optim.Optimizer, optional
        For the parameters that are not factors.

    Attributes
    ----------
    layers : list of (str, LowRankLinear)
    history : list of list of int
        The ranks after every step.

    References
    ----------
    .. [1] S. Schotthöfer, E. Zangrando, J. Kusch, G. Ceruti, F. Tudisco, Low-rank lottery
       tickets: finding efficient low-rank neural networks via matrix differential equations,
       NeurIPS 2022.
    .. [2] G. Ceruti, J. Kusch, C. Lubich, A rank-adaptive robust integrator for dynamical
       low-rank approximation, BIT 62 (2022).

    Examples
    --------
    >>> import torch
    >>> from lowrank_la.torch import DLRT, LowRankLinear
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(LowRankLinear(8, 8, 4), torch.nn.Linear(8, 1))
    >>> x, y = torch.randn(32, 8), torch.randn(32, 1)
    >>> ctrl = DLRT(model, lr=0.1, tau=0.1)
    >>> loss = ctrl.step(lambda: torch.nn.functional.mse_loss(model(x), y))
    >>> 1 <= ctrl.ranks()[0] <= 4
    True
    """

    def __init__(self, model, lr, *, tau=0.1, max_rank=None, min_rank=1, optimizer=None):
        from .._validation import check_fraction, check_int, check_positive

        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"`model` must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.lr = check_positive(lr, "lr")
        self.tau = check_fraction(tau, "tau", closed=True)
        self.min_rank = check_int(min_rank, "min_rank", minimum=1)
        self.layers = [(n, m) for n, m in model.named_modules()
                       if isinstance(m, LowRankLinear) and m.S is not None]
        if not self.layers:
            raise ValueError("`model` has no LowRankLinear layer with a core to train")
        if max_rank is not None:
            max_rank = check_int(max_rank, "max_rank", minimum=self.min_rank)
        self.max_rank = [int(m.rank) if max_rank is None else max_rank for _, m in self.layers]
        self.optimizer = optimizer
        self._others = other_parameters(model, [p for _, m in self.layers for p in (m.U, m.S, m.V)],
                                        optimizer, "the U, S, V factors of the DLRT layers")
        self.history = []

    def ranks(self):
        """Current rank of each layer.

        Returns
        -------
        list of int
        """
        return [int(m.rank) for _, m in self.layers]

    def step(self, closure):
        """One DLRT step.

        Parameters
        ----------
        closure : callable
            Computes the forward pass and returns the loss (no ``backward``); called twice.

        Returns
        -------
        float
            The loss of pass 2 (at the augmented factors, before the S-step).
        """
        from ..dlra import truncate_core
        from ..nn import dlrt_augment

        model, lr = self.model, self.lr
        # pass 1: K and L gradients from the captured activations
        for _, m in self.layers:
            m._capture = True
        model.zero_grad(set_to_none=True)
        try:
            closure().backward()
        finally:
            for _, m in self.layers:
                m._capture = False
        with torch.no_grad():
            for name, m in self.layers:
                x, d = m._x, m._dout
                m._x = m._dout = None
                if x is None or d is None:
                    raise RuntimeError(f"layer {name!r} was not used in the forward pass")
                gK = d.T @ (x @ m.V)
                gL = x.T @ (d @ m.U)
                m.set_factors(*dlrt_augment(m.U.detach(), m.S.detach(), m.V.detach(),
                                            gK, gL, lr))
        # pass 2: Galerkin step on the augmented core; the other parameters step here
        value = galerkin_pass(model, closure, [m.S for _, m in self.layers], self._others,
                              self.optimizer, lr)
        with torch.no_grad():
            for (_, m), rmax in zip(self.layers, self.max_rank):
                Y = truncate_core(m.U.detach(), m.S.detach(), m.V.detach(), rtol=self.tau,
                                  max_rank=rmax, min_rank=self.min_rank)
                m.set_factors(Y.U, Y.S, Y.V)
        model.zero_grad(set_to_none=True)
        self.history.append(self.ranks())
        return value
