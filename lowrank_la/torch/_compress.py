"""``compress_``: replace a model's linear layers by truncated-SVD factorizations in place."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

import torch

from ._conv import LowRankConv2d
from ._layers import LowRankLinear

__all__ = ["compress_", "CompressionReport"]


@dataclass
class CompressionReport:
    """What :func:`compress_` did.

    Attributes
    ----------
    layers : list of dict
        Per replaced layer: ``name``, ``shape`` (out, in), ``rank``, ``params_before``,
        ``params_after``, ``flops_before``, ``flops_after`` (weights only, per sample or per
        output position of a convolution; a convolution's shape is its kernel matrix's).
    skipped : list of tuple
        ``(name, reason)`` for every module with parameters that was left unchanged.
    """

    layers: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    @property
    def params_before(self) -> int:
        """Weight entries of the replaced layers before compression."""
        return sum(d["params_before"] for d in self.layers)

    @property
    def params_after(self) -> int:
        """Weight entries of the replaced layers after compression."""
        return sum(d["params_after"] for d in self.layers)

    def __str__(self):
        lines = [f"{'layer':<20} {'shape':>12} {'rank':>5} {'params':>16}"]
        for d in self.layers:
            shape = "x".join(map(str, d["shape"]))
            lines.append(f"{d['name']:<20} {shape:>12} {d['rank']:>5} "
                         f"{d['params_before']:>7} -> {d['params_after']:<7}")
        lines += [f"{name:<20} skipped: {why}" for name, why in self.skipped]
        return "\n".join(lines)


def _conv_ok(conv):
    return conv.groups == 1 and conv.padding_mode == "zeros" and not isinstance(conv.padding, str)


def _weight_matrix(module, conv_split):
    """The matrix a layer's low-rank replacement factors (``out x in`` for a Linear)."""
    W = module.weight.detach()
    if type(module) is torch.nn.Linear or conv_split == "channel":
        return W.reshape(W.shape[0], -1)
    from ..nn import conv_to_matrix

    return conv_to_matrix(W, "spatial").T


def _selected(name, include, exclude):
    if include is not None and not any(fnmatch.fnmatchcase(name, p) for p in include):
        return False
    return not (exclude is not None and any(fnmatch.fnmatchcase(name, p) for p in exclude))


def compress_(model, *, rank=None, energy=None, tail=None, rtol=None, atol=None,
              stable_rank=False, scale=1.0, budget=None, include=None, exclude=None,
              core=True, conv_split="channel"):
    """Replace the ``nn.Linear`` and ``nn.Conv2d`` layers of ``model`` by low-rank ones in place.

    Every selected ``nn.Linear`` (``nn.Conv2d``: ``groups=1``, zero padding) becomes a
    :class:`LowRankLinear` (:class:`LowRankConv2d`, kernel matrix by ``conv_split``), the truncated
    SVD of its weight under the rule; other modules that own parameters are left unchanged and
    listed in ``report.skipped`` with the reason.  All weights are checked before anything changes.

    Parameters
    ----------
    model : torch.nn.Module
    rank, energy, tail, rtol, atol, stable_rank, scale
        The rule (see :func:`lowrank_la.nn.select_weight_rank`); a fixed ``rank`` is capped at
        each layer's ``min(m, n)``.
    budget : int, optional
        Total factored parameters (``r (m + n) + r^2`` per layer) of the selected layers; ranks
        allocated across layers by :func:`lowrank_la.nn.allocate_ranks` (other rules then
        only lower them).
    include, exclude : list of str, optional
        ``fnmatch`` patterns on the module names (as in ``model.named_modules()``).
    core : bool
        Keep a trainable core (see :class:`LowRankLinear`).
    conv_split : {"channel", "spatial"}
        How convolution kernels become matrices (see :class:`LowRankConv2d`).

    Returns
    -------
    CompressionReport

    Raises
    ------
    ValueError
        A selected layer with non-finite weights, or a bad rule.

    References
    ----------
    .. [1] C. Eckart, G. Young, The approximation of one matrix by another of lower rank,
       Psychometrika 1 (1936).

    Examples
    --------
    >>> import torch
    >>> from lowrank_la.torch import compress_
    >>> model = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    >>> report = compress_(model, rank=4, exclude=["2"])
    >>> [d["rank"] for d in report.layers], report.skipped
    ([4], [('2', 'excluded')])
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module, got {type(model).__name__}")
    from .._validation import check_option

    conv_split = check_option(conv_split, "conv_split", ("channel", "spatial"))
    report = CompressionReport()
    todo = []
    for name, module in model.named_modules():
        if name == "" or not any(True for _ in module.parameters(recurse=False)):
            continue
        if isinstance(module, LowRankLinear):
            report.skipped.append((name, "already low-rank"))
        elif not _selected(name, include, exclude):
            report.skipped.append((name, "excluded"))
        elif type(module) is torch.nn.Conv2d and not _conv_ok(module):
            report.skipped.append((name, "unsupported Conv2d (groups, padding mode or "
                                         "string padding)"))
        elif type(module) not in (torch.nn.Linear, torch.nn.Conv2d):
            report.skipped.append((name, f"unsupported layer type {type(module).__name__}"))
        else:
            if not bool(torch.isfinite(module.weight).all()):
                raise ValueError(f"layer {name!r} has non-finite weights")
            todo.append((name, module))
    ranks = [rank] * len(todo)
    if budget is not None and todo:
        from ..nn import allocate_ranks

        mats = [_weight_matrix(m, conv_split) for _, m in todo]
        budget_ranks = allocate_ranks([torch.linalg.svdvals(M) for M in mats],
                                      [tuple(M.shape) for M in mats], budget)
        ranks = [b if r is None else min(r, b) for r, b in zip(ranks, budget_ranks)]
    new = []
    for (name, module), r in zip(todo, ranks):
        kw = {} if type(module) is torch.nn.Linear else {"split": conv_split}
        cls = LowRankConv2d if kw else LowRankLinear
        if r is not None:
            r = min(r, *_weight_matrix(module, conv_split).shape)
        layer = cls.from_dense(module, rank=r, energy=energy, tail=tail, rtol=rtol, atol=atol,
                               stable_rank=stable_rank, scale=scale, core=core, **kw)
        m, n = layer.out_features, layer.in_features
        new.append((name, layer))
        report.layers.append({
            "name": name, "shape": (m, n), "rank": int(layer.rank),
            "params_before": m * n, "params_after": layer.n_parameters(),
            "flops_before": m * n, "flops_after": layer.flops(),
        })
    for name, layer in new:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, layer)
    return report
