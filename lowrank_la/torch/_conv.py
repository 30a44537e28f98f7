"""``LowRankConv2d``: a convolution whose reshaped kernel (channel- or spatial-wise) is ``U S V^T``."""

from __future__ import annotations

import torch

from ._layers import LowRankLinear

__all__ = ["LowRankConv2d"]


class LowRankConv2d(LowRankLinear):
    """2-D convolution whose kernel, reshaped to a matrix, is ``U S V^T``.

    ``split="channel"`` (default): the matrix is ``N x (C kh kw)``.  The layer runs as a
    ``kh x kw`` convolution ``C -> r`` with the rows of ``V^T`` as filters (stride, padding and
    dilation of the original), then a 1x1 convolution ``r -> N`` with ``U S``.  Break-even rank
    ``N C kh kw / (C kh kw + N)``.  :class:`DLRT` trains it like a :class:`LowRankLinear`:
    the layer is one on that matrix, and its activations are the unfolded input patches.

    ``split="spatial"`` (Jaderberg et al.'s scheme, used by TRP): the matrix is
    ``(N kw) x (C kh)``, the transpose of ``conv_to_matrix(W, "spatial")``.  The layer runs as a
    ``kh x 1`` convolution ``C -> r`` with the vertical stride, padding and dilation, then a
    ``1 x kw`` convolution ``r -> N`` with the horizontal ones.  Break-even rank
    ``N C kh kw / (C kh + N kw)``.  It is not a linear map of the input patches, so DLRT refuses
    it.

    Factors, rank changes and state dicts work as for :class:`LowRankLinear`.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or tuple of 2 int
    rank : int
    stride, padding, dilation : int or tuple of 2 int
    bias : bool
    core : bool
    split : {"channel", "spatial"}
    device, dtype : optional

    References
    ----------
    .. [1] M. Jaderberg, A. Vedaldi, A. Zisserman, Speeding up convolutional neural networks
       with low rank expansions, BMVC 2014.
    .. [2] Y. Xu et al., Trained rank pruning for efficient deep neural networks, IJCAI 2020.

    Examples
    --------
    >>> import torch
    >>> from lowrank_la.torch import LowRankConv2d
    >>> conv = torch.nn.Conv2d(3, 8, 3, padding=1)
    >>> low = LowRankConv2d.from_dense(conv, rank=8)
    >>> x = torch.randn(2, 3, 9, 9)
    >>> bool(torch.allclose(low(x), conv(x), atol=1e-5))
    True
    >>> spatial = LowRankConv2d.from_dense(conv, rank=9, split="spatial")  # full rank: C kh = 9
    >>> bool(torch.allclose(spatial(x), conv(x), atol=1e-5))
    True
    """

    def __init__(self, in_channels, out_channels, kernel_size, rank, *, stride=1, padding=0,
                 dilation=1, bias=True, core=True, split="channel", device=None, dtype=None):
        from .._validation import check_option

        pair = torch.nn.modules.utils._pair
        kh, kw = pair(kernel_size)
        self.split = check_option(split, "split", ("channel", "spatial"))
        if split == "channel":
            features = (in_channels * kh * kw, out_channels)
        else:
            features = (in_channels * kh, out_channels * kw)
        spatial_bias = bias and split == "spatial"
        super().__init__(*features, rank, bias=bias and not spatial_bias, core=core,
                         device=device, dtype=dtype)
        if spatial_bias:  # one per output channel (LowRankLinear's would have N kw entries)
            bound = 1.0 / (in_channels * kh * kw) ** 0.5  # nn.Conv2d's default init
            self.bias = torch.nn.Parameter(torch.empty(out_channels, device=device, dtype=dtype)
                                           .uniform_(-bound, bound))
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (kh, kw)
        self.stride, self.padding, self.dilation = pair(stride), pair(padding), pair(dilation)

    @classmethod
    def from_dense(cls, conv, *, rank=None, energy=None, tail=None, rtol=None, atol=None,
                   stable_rank=False, scale=1.0, core=True, split="channel"):
        """Truncated SVD of a ``Conv2d``'s reshaped kernel matrix under a rank rule.

        Parameters
        ----------
        conv : torch.nn.Conv2d
            ``groups=1``, zero padding mode.
        rank, energy, tail, rtol, atol, stable_rank, scale
            The rule, see :func:`lowrank_la.nn.select_weight_rank`.
        core : bool
        split : {"channel", "spatial"}
            Which reshaping (see the class).

        Returns
        -------
        LowRankConv2d

        Raises
        ------
        TypeError
            Not a supported ``Conv2d``.

        Examples
        --------
        >>> import torch
        >>> from lowrank_la.torch import LowRankConv2d
        >>> LowRankConv2d.from_dense(torch.nn.Conv2d(4, 6, 3), rank=2).rank.item()
        2
        """
        from ..nn import conv_to_matrix, factorize

        if not (isinstance(conv, torch.nn.Conv2d) and conv.groups == 1
                and conv.padding_mode == "zeros" and not isinstance(conv.padding, str)):
            raise TypeError("`conv` must be a torch.nn.Conv2d with groups=1, zero padding "
                            f"mode and numeric padding, got {conv!r}")
        from .._validation import check_option

        split = check_option(split, "split", ("channel", "spatial"))
        W = conv_to_matrix(conv.weight.detach(), split)
        W = W if split == "channel" else W.T
        F = factorize(W, rank=rank, energy=energy, tail=tail, rtol=rtol, atol=atol,
                      stable_rank=stable_rank, scale=scale)
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size, F.rank,
                    stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                    bias=conv.bias is not None, core=core, split=split, device=W.device,
                    dtype=W.dtype)
        with torch.no_grad():
            layer.set_factors(F.U, torch.diag(F.core), F.V)
            if conv.bias is not None:
                layer.bias.copy_(conv.bias.detach())
        return layer

    def kernel(self):
        """The dense kernel ``(N, C, kh, kw)``, detached.

        Returns
        -------
        torch.Tensor
        """
        if self.split == "channel":
            return self.weight().reshape(self.out_channels, self.in_channels, *self.kernel_size)
        from ..nn import matrix_to_conv

        return matrix_to_conv(self.weight().T, (self.out_channels, self.in_channels,
                                                *self.kernel_size), "spatial")

    def to_dense(self):
        """An equivalent :class:`torch.nn.Conv2d`.

        Returns
        -------
        torch.nn.Conv2d
        """
        K = self.kernel()
        conv = torch.nn.Conv2d(self.in_channels, self.out_channels, self.kernel_size,
                               stride=self.stride, padding=self.padding, dilation=self.dilation,
                               bias=self.bias is not None, device=K.device, dtype=K.dtype)
        with torch.no_grad():
            conv.weight.copy_(K)
            if self.bias is not None:
                conv.bias.copy_(self.bias.detach())
        return conv

    def forward(self, x):
        if self.split == "spatial":
            return self._forward_spatial(x)
        F = torch.nn.functional
        r = self.V.shape[1]
        filters = self.V.T.reshape(r, self.in_channels, *self.kernel_size)
        z = F.conv2d(x, filters, stride=self.stride, padding=self.padding,
                     dilation=self.dilation)
        US = self.U if self.S is None else self.U @ self.S
        y = F.conv2d(z, US.reshape(self.out_channels, -1, 1, 1), self.bias)
        if self._capture and y.requires_grad:
            patches = F.unfold(x.detach(), self.kernel_size, dilation=self.dilation,
                               padding=self.padding, stride=self.stride)
            self._x = patches.transpose(1, 2).reshape(-1, self.in_features)
            y.register_hook(self._store_dout)
        return y

    def _forward_spatial(self, x):
        if self._capture:
            raise NotImplementedError("DLRT trains channel-wise LowRankConv2d layers only; "
                                      "this layer has split='spatial'")
        F = torch.nn.functional
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (self.kernel_size, self.stride, self.padding,
                                                  self.dilation)
        r = self.V.shape[1]
        # V: (C kh) x r -> r filters C x kh x 1;  U S: (N kw) x r -> N filters r x 1 x kw
        vertical = self.V.reshape(self.in_channels, kh, r).permute(2, 0, 1)[..., None]
        z = F.conv2d(x, vertical, stride=(sh, 1), padding=(ph, 0), dilation=(dh, 1))
        US = self.U if self.S is None else self.U @ self.S
        horizontal = US.reshape(self.out_channels, kw, r).permute(0, 2, 1)[:, :, None, :]
        return F.conv2d(z, horizontal, self.bias, stride=(1, sw), padding=(0, pw),
                        dilation=(1, dw))

    def _store_dout(self, g):
        self._dout = g.detach().permute(0, 2, 3, 1).reshape(-1, self.out_features)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, rank={int(self.rank)}, "
                f"split={self.split!r}")
