"""CondClamp: bounded condition number of the cores (approximate orthonormal constraints)."""

from __future__ import annotations

import torch

from ._layers import LowRankLinear

__all__ = ["CondClamp"]


def _transform_state(optimizer, param, left=None, right=None):
    """Move a parameter's first moment to new coordinates; drop element-wise second moments.

    ``M -> left^T M right``.  Element-wise second moments (Adam's ``exp_avg_sq``) have no exact
    transform, so such a parameter's whole state (moments and step count) is reset.
    """
    if optimizer is None or param not in optimizer.state:
        return
    state = optimizer.state[param]
    if "exp_avg_sq" in state:
        del optimizer.state[param]
        return
    for key in ("momentum_buffer", "exp_avg"):
        M = state.get(key)
        if isinstance(M, torch.Tensor) and M.ndim == 2:
            if left is not None:
                M = left.T @ M
            if right is not None:
                M = M @ right
            state[key] = M.contiguous()


class CondClamp:
    """Clamp each :class:`LowRankLinear` core's condition number after every optimizer step.

    Robust low-rank training keeps ``U`` and ``V`` orthonormal and ``S`` well conditioned; this
    controller enforces it by projection: after ``optimizer.step()`` call :meth:`step`, which
    re-orthonormalises ``U`` and ``V`` (QR, absorbing the triangular factors into ``S``), takes
    the SVD ``S = P diag(s) Q^T``, clips ``s`` into ``[s_max / kappa, s_max]``
    (:func:`lowrank_la.nn.clamp_core`) and rotates the bases.  First-moment optimizer buffers
    are rotated with the factors; parameters with element-wise second moments (Adam) get their
    state reset.  Not calibrated against the paper's penalty formulation.

    Parameters
    ----------
    model : torch.nn.Module
    kappa : float
        Largest condition number, ``>= 1``.
    optimizer : torch.optim.Optimizer, optional
        Whose state to keep consistent.

    References
    ----------
    .. [1] D. Savostianova, E. Zangrando, G. Ceruti, F. Tudisco, Robust low-rank training via
       approximate orthonormal constraints, NeurIPS 2023.

    Examples
    --------
    >>> import torch
    >>> from lowrank_la.torch import CondClamp, LowRankLinear
    >>> layer = LowRankLinear(8, 8, 4)
    >>> CondClamp(layer, kappa=2.0).step()
    >>> s = torch.linalg.svdvals(layer.S.detach())
    >>> bool(s.max() / s.min() <= 2.0 + 1e-5)
    True
    """

    def __init__(self, model, kappa, *, optimizer=None):
        from .._validation import check_positive

        self.kappa = check_positive(kappa, "kappa")
        if self.kappa < 1:
            raise ValueError(f"`kappa` must be >= 1, got {self.kappa}")
        self.layers = [m for m in model.modules()
                       if isinstance(m, LowRankLinear) and m.S is not None]
        if not self.layers:
            raise ValueError("`model` has no LowRankLinear layer with a core")
        self.optimizer = optimizer

    @torch.no_grad()
    def step(self):
        """Clamp every layer's core (call after the optimizer step)."""
        from ..nn import clamp_core

        for m in self.layers:
            Qu, Ru = torch.linalg.qr(m.U.detach())
            Qv, Rv = torch.linalg.qr(m.V.detach())
            U1, S1, V1, P, Q = clamp_core(Qu, Ru @ m.S.detach() @ Rv.T, Qv, self.kappa)
            # U = Qu Ru, new U = Qu P: first moments of U map by Ru^{-1} P, which needs an
            # inverse; keep it exact only for the core and reset the bases' state
            for p in (m.U, m.V):
                if self.optimizer is not None:
                    self.optimizer.state.pop(p, None)
            _transform_state(self.optimizer, m.S, left=P, right=Q)
            m.set_factors(U1, S1, V1)
