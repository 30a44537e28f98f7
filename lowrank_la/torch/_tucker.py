"""``TuckerConv2d`` and the ``TuckerDLRT`` controller (rank-adaptive Tucker convolutions)."""

from __future__ import annotations

import torch

from ._dlrt import galerkin_pass, other_parameters

__all__ = ["TuckerConv2d", "TuckerDLRT"]


class TuckerConv2d(torch.nn.Module):
    """2-D convolution with kernel ``C x_1 U_1 x_2 U_2 x_3 U_3 x_4 U_4`` (Tucker format).

    Runs as a 1x1 convolution ``C_in -> r_2`` (``U_2^T``), a ``kh x kw`` convolution
    ``r_2 -> r_1`` with the core (``U_3``, ``U_4`` folded in; stride, padding and dilation
    here), and a 1x1 convolution ``r_1 -> N`` (``U_1``) plus the bias.  Ranks are stored as a
    buffer; factor shapes are restored from the state dict.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or tuple of 2 int
    ranks : tuple of 4 int
        Core shape ``(r_1, r_2, r_3, r_4)``.
    stride, padding, dilation : int or tuple of 2 int
    bias : bool
    device, dtype : optional

    References
    ----------
    .. [1] E. Zangrando, S. Schotthöfer, G. Ceruti, J. Kusch, F. Tudisco, Rank-adaptive
       spectral pruning of convolutional layers during training, arXiv 2305.19059 (2023).

    Examples
    --------
    >>> import torch
    >>> from lowrank_la.torch import TuckerConv2d
    >>> conv = torch.nn.Conv2d(3, 8, 3, padding=1)
    >>> t = TuckerConv2d.from_dense(conv, ranks=(8, 3, 3, 3))
    >>> x = torch.randn(2, 3, 7, 7)
    >>> bool(torch.allclose(t(x), conv(x), atol=1e-5))
    True
    """

    def __init__(self, in_channels, out_channels, kernel_size, ranks, *, stride=1, padding=0,
                 dilation=1, bias=True, device=None, dtype=None):
        super().__init__()
        from ..tensor import hosvd

        pair = torch.nn.modules.utils._pair
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = pair(kernel_size)
        self.stride, self.padding, self.dilation = pair(stride), pair(padding), pair(dilation)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        ranks = tuple(int(r) for r in ranks)
        if len(ranks) != 4 or any(not 1 <= r <= n for r, n in zip(ranks, shape)):
            raise ValueError(f"`ranks` must be 4 ints with 1 <= r_i <= {shape}, got {ranks}")
        ref = torch.nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias, device=device,
                              dtype=dtype)
        T = hosvd(ref.weight.detach(), ranks)
        kw = {"device": device, "dtype": dtype}
        self.core = torch.nn.Parameter(torch.empty(ranks, **kw))
        self.factors = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.empty(n, r, **kw)) for n, r in zip(shape, ranks)])
        self.bias = torch.nn.Parameter(ref.bias.detach().clone()) if bias else None
        self.register_buffer("ranks", torch.tensor(ranks, dtype=torch.int64))
        self._dense_kernel = None
        self.set_factors(T.core, T.factors)

    @classmethod
    def from_dense(cls, conv, *, ranks=None, rtol=None):
        """HOSVD of a ``Conv2d`` kernel at a core shape or relative error.

        Parameters
        ----------
        conv : torch.nn.Conv2d
            ``groups=1``, zero padding mode, numeric padding.
        ranks : tuple of 4 int, optional
        rtol : float, optional
            Relative error target (see :func:`lowrank_la.tensor.hosvd`).

        Returns
        -------
        TuckerConv2d

        Raises
        ------
        TypeError
            Not a supported ``Conv2d``.
        """
        from ..tensor import hosvd

        if not (isinstance(conv, torch.nn.Conv2d) and conv.groups == 1
                and conv.padding_mode == "zeros" and not isinstance(conv.padding, str)):
            raise TypeError(f"`conv` must be a plain torch.nn.Conv2d, got {conv!r}")
        W = conv.weight.detach()
        T = hosvd(W, ranks, rtol=rtol)
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size, T.rank,
                    stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                    bias=conv.bias is not None, device=W.device, dtype=W.dtype)
        with torch.no_grad():
            layer.set_factors(T.core, T.factors)
            if conv.bias is not None:
                layer.bias.copy_(conv.bias.detach())
        return layer

    def set_factors(self, core, factors):
        """Replace core and factors in place (same ``Parameter`` objects); drops gradients."""
        with torch.no_grad():
            self.core.data = core.to(self.core.dtype).contiguous()
            self.core.grad = None
            for p, U in zip(self.factors, factors):
                p.data = U.to(p.dtype).contiguous()
                p.grad = None
            self.ranks.copy_(torch.tensor(tuple(core.shape), dtype=torch.int64))

    def kernel(self):
        """The dense kernel ``(N, C, kh, kw)`` (differentiable)."""
        U1, U2, U3, U4 = self.factors
        return torch.einsum("abcd,ia,jb,kc,ld->ijkl", self.core, U1, U2, U3, U4)

    def n_parameters(self):
        """Entries of the core and the factors."""
        return self.core.numel() + sum(U.numel() for U in self.factors)

    def forward(self, x):
        F = torch.nn.functional
        conv_args = {"stride": self.stride, "padding": self.padding, "dilation": self.dilation}
        if self._dense_kernel is not None:  # TuckerDLRT pass 1: gradient of the full kernel
            return F.conv2d(x, self._dense_kernel, self.bias, **conv_args)
        U1, U2, U3, U4 = self.factors
        z = F.conv2d(x, U2.T[:, :, None, None])
        mid = torch.einsum("abcd,kc,ld->abkl", self.core, U3, U4)
        z = F.conv2d(z, mid, **conv_args)
        return F.conv2d(z, U1[:, :, None, None], self.bias)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name, p in [("core", self.core)] + [(f"factors.{i}", U)
                                                 for i, U in enumerate(self.factors)]:
            t = state_dict.get(prefix + name)
            if t is not None and t.shape != p.shape:
                p.data = torch.empty_like(t, dtype=p.dtype, device=p.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"ranks={tuple(int(r) for r in self.ranks)}")


class TuckerDLRT:
    """Rank-adaptive Tucker DLRT for :class:`TuckerConv2d` layers (one step per batch).

    Pass 1 with the dense kernel as a leaf (convolution kernels are small) gives the full
    kernel gradient ``G``; per mode the K-step and basis augmentation
    (:func:`lowrank_la.nn.tucker_dlrt_augment`); pass 2 at the augmented factors: a Galerkin
    step on the core (other parameters step with ``optimizer`` or plain SGD); truncation by a
    HOSVD of the core with relative error ``tau`` (:func:`lowrank_la.nn.tucker_truncate`).
    Ranks of the spatial modes are capped at the kernel size; ``max_rank`` caps the others.

    Parameters
    ----------
    model : torch.nn.Module
    lr : float
    tau : float
    max_rank : tuple of 4 int, optional
        Default: each layer's core shape at construction.
    optimizer : torch.optim.Optimizer, optional
        For the parameters that are not Tucker factors.

    References
    ----------
    .. [1] E. Zangrando, S. Schotthöfer, G. Ceruti, J. Kusch, F. Tudisco, Rank-adaptive
       spectral pruning of convolutional layers during training, arXiv 2305.19059 (2023).

    Examples
    --------
    >>> import torch
    >>> from lowrank_la.torch import TuckerConv2d, TuckerDLRT
    >>> _ = torch.manual_seed(0)
    >>> layer = TuckerConv2d(2, 4, 3, (4, 2, 3, 3), padding=1)
    >>> x, y = torch.randn(3, 2, 5, 5), torch.randn(3, 4, 5, 5)
    >>> ctrl = TuckerDLRT(layer, lr=0.1, tau=0.1)
    >>> loss = ctrl.step(lambda: torch.nn.functional.mse_loss(layer(x), y))
    >>> len(ctrl.ranks()[0])
    4
    """

    def __init__(self, model, lr, *, tau=0.1, max_rank=None, optimizer=None):
        from .._validation import check_fraction, check_positive

        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"`model` must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.lr = check_positive(lr, "lr")
        self.tau = check_fraction(tau, "tau", closed=True)
        self.layers = [m for m in model.modules() if isinstance(m, TuckerConv2d)]
        if not self.layers:
            raise ValueError("`model` has no TuckerConv2d layer")
        self.max_rank = [tuple(int(r) for r in m.ranks) if max_rank is None else tuple(max_rank)
                         for m in self.layers]
        self.optimizer = optimizer
        self._others = other_parameters(model, [p for m in self.layers
                                                for p in (m.core, *m.factors)],
                                        optimizer, "the core and factors of the Tucker layers")
        self.history = []

    def ranks(self):
        """Core shape of each layer."""
        return [tuple(int(r) for r in m.ranks) for m in self.layers]

    def step(self, closure):
        """One step; ``closure`` returns the loss (no backward) and is called twice."""
        from ..nn import tucker_dlrt_augment, tucker_truncate

        model, lr = self.model, self.lr
        model.zero_grad(set_to_none=True)
        for m in self.layers:
            m._dense_kernel = m.kernel().detach().requires_grad_(True)
        try:
            closure().backward()
            grads = [m._dense_kernel.grad for m in self.layers]
        finally:
            for m in self.layers:
                m._dense_kernel = None
        with torch.no_grad():
            for m, G in zip(self.layers, grads):
                if G is None:
                    raise RuntimeError("a TuckerConv2d layer was not used in the forward pass")
                core, factors = tucker_dlrt_augment(m.core.detach(),
                                                    [U.detach() for U in m.factors], G, lr)
                m.set_factors(core, factors)
        value = galerkin_pass(model, closure, [m.core for m in self.layers], self._others,
                              self.optimizer, lr)
        with torch.no_grad():
            for m, cap in zip(self.layers, self.max_rank):
                core, factors = tucker_truncate(m.core.detach(), [U.detach() for U in m.factors],
                                                self.tau, max_rank=cap)
                m.set_factors(core, factors)
        model.zero_grad(set_to_none=True)
        self.history.append(self.ranks())
        return value
