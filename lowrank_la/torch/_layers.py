"""``LowRankLinear``: a linear layer stored as ``U S V^T`` whose rank can change in training."""

from __future__ import annotations

import torch

__all__ = ["LowRankLinear"]


class LowRankLinear(torch.nn.Module):
    """Linear layer ``y = x V S^T U^T + b`` with factors ``U`` (out x r), ``S``, ``V`` (in x r).

    ``U`` and ``V`` have orthonormal columns after :meth:`from_dense`, :meth:`truncate_` and every
    DLRT step; ``S`` is a general core (diagonal after a truncation).  With ``core=False`` the
    layer is ``x V U^T + b`` with balanced factors ``U sqrt(s)``, ``V sqrt(s)`` and no core
    (the Cuttlefish form, which trains well with plain SGD).

    The rank is stored as a buffer and the factor shapes are restored from the state dict, so a
    compressed model reloads into a freshly built one with ``torch.load(weights_only=True)``.
    Rank changes keep the same ``Parameter`` objects (an optimizer holding them stays valid;
    element-wise optimizer state must be reset by the caller).

    Parameters
    ----------
    in_features, out_features : int
    rank : int
        In ``[1, min(in_features, out_features)]``.
    bias : bool
    core : bool
        Keep a trainable core ``S``.
    device, dtype : optional
        As for :class:`torch.nn.Linear`.

    References
    ----------
    .. [1] S. Schotthöfer et al., Low-rank lottery tickets: finding efficient low-rank neural
       networks via matrix differential equations, NeurIPS 2022.

    Examples
    --------
    >>> import torch
    >>> from lowrank_la.torch import LowRankLinear
    >>> dense = torch.nn.Linear(6, 4)
    >>> layer = LowRankLinear.from_dense(dense, rank=4)
    >>> x = torch.randn(3, 6)
    >>> bool(torch.allclose(layer(x), dense(x), atol=1e-5))
    True
    >>> layer.truncate_(rank=2)
    2
    """

    def __init__(self, in_features, out_features, rank, bias=True, *, core=True, device=None,
                 dtype=None):
        super().__init__()
        from .._validation import check_int, check_rank

        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.out_features = check_int(out_features, "out_features", minimum=1)
        rank = check_rank(rank, "rank", maximum=min(in_features, out_features))
        kw = {"device": device, "dtype": dtype}
        # initialise like nn.Linear, then keep the leading singular triplets of that weight
        ref = torch.nn.Linear(in_features, out_features, bias=bias, **kw)
        U, s, Vh = torch.linalg.svd(ref.weight.detach(), full_matrices=False)
        self.U = torch.nn.Parameter(torch.empty(out_features, rank, **kw))
        self.V = torch.nn.Parameter(torch.empty(in_features, rank, **kw))
        self.S = torch.nn.Parameter(torch.empty(rank, rank, **kw)) if core else None
        self.bias = torch.nn.Parameter(ref.bias.detach().clone()) if bias else None
        self.register_buffer("rank", torch.tensor(rank, dtype=torch.int64))
        self._capture = False
        self._x = self._dout = None
        self.set_factors(U[:, :rank], torch.diag(s[:rank]), Vh[:rank].T)

    # -- construction and conversion ------------------------------------------------------

    @classmethod
    def from_dense(cls, linear, *, rank=None, energy=None, tail=None, rtol=None, atol=None,
                   stable_rank=False, scale=1.0, core=True):
        """Truncated SVD of an :class:`torch.nn.Linear` under a rank rule.

        Parameters
        ----------
        linear : torch.nn.Linear
        rank, energy, tail, rtol, atol, stable_rank, scale
            The rule, see :func:`lowrank_la.nn.select_weight_rank`.
        core : bool
            See the class.

        Returns
        -------
        LowRankLinear
            ``||W - U S V^T||_F`` equals the norm of the discarded singular values.

        Raises
        ------
        TypeError
            ``linear`` is not an ``nn.Linear``.
        ValueError
            Non-finite weights or a bad rule.

        Examples
        --------
        >>> import torch
        >>> from lowrank_la.torch import LowRankLinear
        >>> LowRankLinear.from_dense(torch.nn.Linear(8, 8), energy=0.5).rank.item() < 8
        True
        """
        from ..nn import factorize

        if not isinstance(linear, torch.nn.Linear):
            raise TypeError(f"`linear` must be a torch.nn.Linear, got {type(linear).__name__}")
        W = linear.weight.detach()
        F = factorize(W, rank=rank, energy=energy, tail=tail, rtol=rtol, atol=atol,
                      stable_rank=stable_rank, scale=scale)
        r = F.rank
        layer = cls(linear.in_features, linear.out_features, r, bias=linear.bias is not None,
                    core=core, device=W.device, dtype=W.dtype)
        with torch.no_grad():
            layer.set_factors(F.U, torch.diag(F.core), F.V)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias.detach())
        return layer

    def weight(self):
        """The dense weight ``U S V^T`` (out x in), detached.

        Returns
        -------
        torch.Tensor

        Examples
        --------
        >>> import torch
        >>> from lowrank_la.torch import LowRankLinear
        >>> LowRankLinear(5, 3, 2).weight().shape
        torch.Size([3, 5])
        """
        with torch.no_grad():
            return self._core_product()

    def _core_product(self):
        if self.S is None:
            return self.U @ self.V.T
        return self.U @ self.S @ self.V.T

    def to_dense(self):
        """An equivalent :class:`torch.nn.Linear`.

        Returns
        -------
        torch.nn.Linear

        Examples
        --------
        >>> import torch
        >>> from lowrank_la.torch import LowRankLinear
        >>> LowRankLinear(5, 3, 2).to_dense().weight.shape
        torch.Size([3, 5])
        """
        W = self.weight()
        lin = torch.nn.Linear(self.in_features, self.out_features, bias=self.bias is not None,
                              device=W.device, dtype=W.dtype)
        with torch.no_grad():
            lin.weight.copy_(W)
            if self.bias is not None:
                lin.bias.copy_(self.bias.detach())
        return lin

    # -- rank changes ----------------------------------------------------------------------

    def set_factors(self, U, S, V):
        """Replace the factors in place (same ``Parameter`` objects, new shapes).

        Gradients are dropped.  With ``core=False``, ``S`` must be diagonal and is split evenly
        as ``U sqrt(S)``, ``V sqrt(S)``.

        Parameters
        ----------
        U : torch.Tensor, shape (out_features, r)
        S : torch.Tensor, shape (r, q)
        V : torch.Tensor, shape (in_features, q)

        Examples
        --------
        >>> import torch
        >>> from lowrank_la.torch import LowRankLinear
        >>> layer = LowRankLinear(4, 4, 2)
        >>> layer.set_factors(torch.eye(4)[:, :1], torch.ones(1, 1), torch.eye(4)[:, :1])
        >>> layer.rank.item()
        1
        """
        U, S, V = (torch.as_tensor(t) for t in (U, S, V))
        if U.shape[0] != self.out_features or V.shape[0] != self.in_features or \
                tuple(S.shape) != (U.shape[1], V.shape[1]):
            raise ValueError(f"factor shapes {tuple(U.shape)}, {tuple(S.shape)}, {tuple(V.shape)} "
                             f"do not fit a {self.out_features} x {self.in_features} layer")
        dt = self.U.dtype
        with torch.no_grad():
            if self.S is None:
                root = torch.sqrt(torch.diagonal(S))
                self.U.data = (U * root).to(dt).contiguous()
                self.V.data = (V * root).to(dt).contiguous()
            else:
                self.U.data = U.to(dt).contiguous()
                self.S.data = S.to(dt).contiguous()
                self.V.data = V.to(dt).contiguous()
            for p in (self.U, self.S, self.V):
                if p is not None:
                    p.grad = None
            self.rank.fill_(min(U.shape[1], V.shape[1]))

    def truncate_(self, *, rank=None, energy=None, tail=None, rtol=None, atol=None):
        """Truncate to a smaller rank by an SVD of the core; returns the new rank.

        Parameters
        ----------
        rank, energy, tail, rtol, atol
            The rule, see :func:`lowrank_la.nn.select_weight_rank`.

        Returns
        -------
        int

        Examples
        --------
        >>> import torch
        >>> from lowrank_la.torch import LowRankLinear
        >>> LowRankLinear(8, 8, 6).truncate_(rank=3)
        3
        """
        from ..nn import select_weight_rank

        with torch.no_grad():
            if self.S is None:
                Qu, Ru = torch.linalg.qr(self.U)
                Qv, Rv = torch.linalg.qr(self.V)
                core, U0, V0 = Ru @ Rv.T, Qu, Qv
            else:
                core, U0, V0 = self.S, self.U, self.V
            P, s, Qh = torch.linalg.svd(core, full_matrices=False)
            r = select_weight_rank(s, (self.out_features, self.in_features), rank=rank,
                                   energy=energy, tail=tail, rtol=rtol, atol=atol)
            r = min(r, s.shape[0])
            self.set_factors(U0 @ P[:, :r], torch.diag(s[:r]), V0 @ Qh[:r].T)
        return r

    # -- torch.nn.Module -------------------------------------------------------------------

    def forward(self, x):
        z = x @ self.V
        if self.S is not None:
            z = z @ self.S.T
        y = z @ self.U.T
        if self.bias is not None:
            y = y + self.bias
        if self._capture and y.requires_grad:
            # DLRT pass 1: keep the input and the output gradient, never the m x n gradient
            self._x = x.detach().reshape(-1, self.in_features)
            y.register_hook(self._store_dout)
        return y

    def _store_dout(self, g):
        self._dout = g.detach().reshape(-1, self.out_features)

    def n_parameters(self):
        """Number of factor entries (``r (m + n) + r^2``, or ``r (m + n)`` without core).

        Returns
        -------
        int

        Examples
        --------
        >>> from lowrank_la.torch import LowRankLinear
        >>> LowRankLinear(64, 128, 8).n_parameters()
        1600
        """
        return sum(p.numel() for p in (self.U, self.S, self.V) if p is not None)

    def flops(self):
        """Multiply-adds per sample of the forward pass.

        Returns
        -------
        int

        Examples
        --------
        >>> from lowrank_la.torch import LowRankLinear
        >>> LowRankLinear(64, 128, 8).flops()
        1600
        """
        return self.n_parameters()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # resize the factors to the stored rank before the copy
        for name in ("U", "S", "V"):
            key = prefix + name
            p = getattr(self, name)
            if p is not None and key in state_dict and state_dict[key].shape != p.shape:
                p.data = torch.empty_like(state_dict[key], dtype=p.dtype, device=p.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"rank={int(self.rank)}, bias={self.bias is not None}, core={self.S is not None}")

