"""GaLore: gradient low-rank projection around any torch optimizer."""

from __future__ import annotations

import torch

__all__ = ["GaLore"]


class GaLore:
    """Wrap a torch optimizer so that it sees projected gradients of the 2-D weights.

    For a projected weight ``W`` (``m x n``) the gradient ``G`` is reduced to ``G P`` (``m >= n``,
    ``P`` the top-``rank`` right singular vectors) or ``P^T G`` every step; ``P`` is refreshed
    from the current gradient every ``update_period`` steps (step 0 included).  The wrapped
    optimizer steps a zero-initialised proxy of the reduced shape, so its state (moments) has
    ``max(m, n) * rank`` entries per buffer; its update ``N`` is back-projected and applied as
    ``W += scale * back(N)``.  When ``P`` changes the moments are kept as they are
    (``on_refresh="keep"``, as in the original code), dropped (``"reset"``), or the first
    moments (``exp_avg``, ``momentum_buffer``) are rotated into the new basis by
    ``P_old^T P_new`` (``"rotate"``; other state is kept).  Decoupled ``weight_decay``
    applies to the full ``W``.  A layer with ``rank >= min(m, n)`` is not projected
    (identity), so GaLore then equals the wrapped optimizer; ``project_full_rank=True`` uses
    the SVD projector there too (equal for momentum SGD, not for Adam, whose element-wise
    normalisation depends on the basis).

    Parameters
    ----------
    projected : iterable of torch.nn.Parameter
        2-D weights to project.
    others : iterable of torch.nn.Parameter
        Parameters stepped by the wrapped optimizer as usual (biases, classifier).
    optimizer_cls : type
        A ``torch.optim.Optimizer`` subclass.
    rank : int
    update_period : int
    scale : float
    weight_decay : float
        Decoupled weight decay on the projected weights (``W -= lr * weight_decay * W``).
    project_full_rank : bool
    on_refresh : {"keep", "reset", "rotate"}
    **optimizer_kwargs
        Passed to ``optimizer_cls`` (``lr`` among them).

    Attributes
    ----------
    optimizer : torch.optim.Optimizer
        The wrapped optimizer (on the proxies and ``others``).

    References
    ----------
    .. [1] J. Zhao, Z. Zhang, B. Chen, Z. Wang, A. Anandkumar, Y. Tian, GaLore:
       memory-efficient LLM training by gradient low-rank projection, ICML 2024.

    Examples
    --------
    >>> import torch
    >>> from lowrank_la.torch import GaLore
    >>> lin = torch.nn.Linear(16, 32)
    >>> opt = GaLore([lin.weight], [lin.bias], torch.optim.Adam, rank=4, lr=1e-2)
    >>> lin(torch.randn(8, 16)).sum().backward()
    >>> opt.step()
    >>> opt.state_numel()["projected_moments"]
    256
    """

    def __init__(self, projected, others, optimizer_cls, *, rank, update_period=200, scale=1.0,
                 weight_decay=0.0, project_full_rank=False, on_refresh="keep",
                 **optimizer_kwargs):
        from .._validation import (
            check_int,
            check_nonnegative,
            check_option,
            check_positive,
            check_rank,
        )

        self.on_refresh = check_option(on_refresh, "on_refresh", {"keep", "reset", "rotate"})

        self.projected = list(projected)
        self.others = list(others)
        self.rank = check_rank(rank, "rank")
        self.update_period = check_int(update_period, "update_period", minimum=1)
        self.scale = check_positive(scale, "scale")
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")
        self.proxies, self.sides, self.P = [], [], []
        for i, W in enumerate(self.projected):
            if not isinstance(W, torch.Tensor) or W.ndim != 2:
                raise ValueError(f"`projected[{i}]` must be a 2-d parameter, got "
                                 f"{getattr(W, 'shape', type(W).__name__)}")
            m, n = W.shape
            r = min(self.rank, m, n)
            if r == min(m, n) and not project_full_rank:
                side, shape = "none", (m, n)
            elif m >= n:
                side, shape = "right", (m, r)
            else:
                side, shape = "left", (r, n)
            self.sides.append(side)
            self.P.append(None)
            self.proxies.append(torch.nn.Parameter(torch.zeros(shape, dtype=W.dtype,
                                                               device=W.device)))
        groups = [{"params": self.proxies}]
        if self.others:
            groups.append({"params": self.others})
        self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        self._step = 0

    def zero_grad(self, set_to_none=True):
        """Clear the gradients of all wrapped parameters."""
        for p in (*self.projected, *self.others, *self.proxies):
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self):
        """Refresh projectors when due, step the wrapped optimizer, apply the updates."""
        from ..nn import galore_back_project, galore_project, galore_projector

        refresh = self._step % self.update_period == 0
        active = []
        for i, (W, R, side) in enumerate(zip(self.projected, self.proxies, self.sides)):
            if W.grad is None:
                R.grad = None
                continue
            G = W.grad
            if side == "none":
                R.grad = G.clone()
            else:
                if refresh or self.P[i] is None:
                    old = self.P[i]
                    self.P[i], _ = galore_projector(G, R.shape[1] if side == "right"
                                                    else R.shape[0])
                    if old is not None:
                        self._refresh_state(R, old.T @ self.P[i], side)
                R.grad = galore_project(G, self.P[i], side)
            R.zero_()
            active.append(i)
        self.optimizer.step()
        lr = self.optimizer.param_groups[0]["lr"]
        for i in active:
            W, R, side = self.projected[i], self.proxies[i], self.sides[i]
            if self.weight_decay:
                W.mul_(1 - lr * self.weight_decay)
            N = R if side == "none" else galore_back_project(R, self.P[i], side)
            W.add_(N, alpha=self.scale)
        self._step += 1

    def _refresh_state(self, R, C, side):
        state = self.optimizer.state.get(R)
        if not state or self.on_refresh == "keep":
            return
        if self.on_refresh == "reset":
            del self.optimizer.state[R]
            return
        for key in ("exp_avg", "momentum_buffer"):
            M = state.get(key)
            if isinstance(M, torch.Tensor):
                state[key] = (M @ C if side == "right" else C.T @ M).contiguous()

    def state_numel(self):
        """Entries of optimizer state: moments of the projected weights, projectors, others.

        Returns
        -------
        dict
            ``projected_moments``, ``projectors``, ``others``.
        """
        def count(params):
            return sum(t.numel() for p in params for t in self.optimizer.state.get(p, {}).values()
                       if isinstance(t, torch.Tensor) and t.ndim > 0)

        return {"projected_moments": count(self.proxies),
                "projectors": sum(P.numel() for P in self.P if P is not None),
                "others": count(self.others)}
