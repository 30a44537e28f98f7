"""Digits reproduction: accuracy vs parameters of dense, DLRT, TRP, Cuttlefish, GaLore and
``compress_`` + fine-tune on the 64-128-128-10 MLP (settings of the implementation notes)."""

from __future__ import annotations

import copy
import time

import torch

from ._compress import compress_
from ._cuttlefish import StableRankSwitch
from ._digits import accuracy, batches, hidden_weight_count, load_digits_split, make_lowrank_mlp, make_mlp
from ._dlrt import DLRT
from ._galore import GaLore
from ._trp import TRP

__all__ = ["reproduce_digits"]

_F = torch.nn.functional
_HIDDEN = 64 * 128 + 128 * 128


def _train(model, opt, data, epochs, seed, hook=None, sched=None, epoch_end=None):
    Xtr, ytr = data[0], data[1]
    g = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        for idx in batches(len(Xtr), 64, g):
            opt.zero_grad()
            _F.cross_entropy(model(Xtr[idx]), ytr[idx]).backward()
            if hook is not None:
                hook()
            opt.step()
        if sched is not None:
            sched.step()
        if epoch_end is not None:
            opt = epoch_end(epoch) or opt


def _sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)


def _run_seed(seed, epochs):
    data = load_digits_split(seed)
    Xte, yte = data[2], data[3]
    rows = []

    def add(method, model, t0, **extra):
        hidden = hidden_weight_count(model)
        rows.append({"method": method, "seed": seed, "accuracy": accuracy(model, Xte, yte),
                     "hidden_params": hidden, "hidden_kept": hidden / _HIDDEN,
                     "train_s": time.perf_counter() - t0, **extra})

    warm = make_mlp(seed)  # first-call costs (thread pools, allocator) out of the timings
    _train(warm, _sgd(warm), data, 2, seed)
    t0 = time.perf_counter()
    dense = make_mlp(seed)
    _train(dense, _sgd(dense), data, epochs, seed)
    add("dense SGD", dense, t0)

    t0 = time.perf_counter()
    model = make_lowrank_mlp(seed)
    ctrl = DLRT(model, lr=0.5, tau=0.1)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in batches(len(data[0]), 64, g):
            ctrl.step(lambda idx=idx: _F.cross_entropy(model(data[0][idx]), data[1][idx]))
    add("DLRT tau 0.1", model, t0, ranks=str(ctrl.ranks()))

    t0 = time.perf_counter()
    model = make_mlp(seed)
    trp = TRP(model, period=10, energy=0.9, nuclear_weight=3e-4, exclude=["4"])
    _train(model, _sgd(model), data, epochs, seed, hook=trp.step)
    untruncated = accuracy(model, Xte, yte)
    rep = compress_(model, energy=0.9, exclude=["4"])
    add("TRP e 0.9", model, t0, ranks=str([d["rank"] for d in rep.layers]),
        untruncated=untruncated)
    normal = copy.deepcopy(dense)
    for d in rep.layers:
        compress_(normal, rank=d["rank"], include=[d["name"]])
    add("dense cut to TRP ranks", normal, time.perf_counter())

    t0 = time.perf_counter()
    model = make_mlp(seed)
    sw = StableRankSwitch(model, warmup=5, window=3, threshold=0.1, exclude=["4"])
    switched = {}

    def epoch_end(epoch):
        rep = sw.epoch_end()
        if rep is not None:
            switched["epoch"] = epoch
            switched["ranks"] = [d["rank"] for d in rep.layers]
            return _sgd(model)
        return None

    _train(model, _sgd(model), data, epochs, seed, epoch_end=epoch_end)
    add("Cuttlefish", model, t0, ranks=str(switched.get("ranks")),
        switch_epoch=switched.get("epoch"))

    t0 = time.perf_counter()
    model = make_mlp(seed)
    hidden = [model[0].weight, model[2].weight]
    opt = GaLore(hidden, [model[0].bias, model[2].bias, model[4].weight, model[4].bias],
                 torch.optim.Adam, rank=8, update_period=50, lr=3e-3)
    _train(model, opt, data, epochs, seed)
    st = opt.state_numel()
    add("GaLore r 8 (Adam)", model, t0, optimizer_state_hidden=st["projected_moments"]
        + st["projectors"], adam_state_hidden=2 * _HIDDEN)

    t0 = time.perf_counter()
    model = copy.deepcopy(dense)
    compress_(model, rank=8, exclude=["4"])
    cut = accuracy(model, Xte, yte)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    _train(model, opt, data, 10, seed, sched=torch.optim.lr_scheduler.CosineAnnealingLR(opt, 10))
    add("compress_ r 8 + 10 ep Adam", model, t0, ranks="[8, 8]", untruncated=cut)
    return rows


def reproduce_digits(seeds=(0,), epochs=30, *, plot=None):
    """Accuracy vs hidden-layer parameters of the low-rank training methods on digits.

    Runs, per seed, on one thread: dense SGD; DLRT (tau 0.1, plain SGD lr 0.5, start rank
    ``min(m, n) / 2``); TRP (period 10, energy 0.9, nuclear weight 3e-4) truncated at energy
    0.9, and the dense net cut to the same ranks; Cuttlefish (warm-up 5, 3-epoch window, 0.1);
    GaLore rank 8 around Adam (lr 3e-3, period 50); ``compress_`` at rank 8 of the dense net
    then 10 epochs of Adam with cosine decay.

    Parameters
    ----------
    seeds : sequence of int
    epochs : int
    plot : str or path, optional
        Write an accuracy-vs-parameters scatter plot there (matplotlib).

    Returns
    -------
    list of dict
        One row per method and seed (``accuracy``, ``hidden_params``, ``hidden_kept``, ranks).

    References
    ----------
    .. [1] S. Schotthöfer et al., Low-rank lottery tickets, NeurIPS 2022.
    .. [2] Y. Xu et al., Trained rank pruning for efficient deep neural networks, IJCAI 2020.
    .. [3] H. Wang et al., Cuttlefish: low-rank model training without all the tuning,
       MLSys 2023.
    .. [4] J. Zhao et al., GaLore: memory-efficient LLM training by gradient low-rank
       projection, ICML 2024.

    Examples
    --------
    >>> from lowrank_la.torch import reproduce_digits
    >>> rows = reproduce_digits(epochs=1)  # doctest: +SKIP
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # results depend on the thread count; small nets run best on one
    try:
        rows = [r for s in seeds for r in _run_seed(int(s), int(epochs))]
    finally:
        torch.set_num_threads(threads)
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for method in dict.fromkeys(r["method"] for r in rows):
            pts = [(r["hidden_params"], 100 * r["accuracy"]) for r in rows if r["method"] == method]
            ax.scatter(*zip(*pts), label=method)
        ax.set_xlabel("hidden-layer weight entries")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title("digits MLP 64-128-128-10")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        plt.close(fig)
    return rows


def main(argv=None) -> int:
    """``python -m lowrank_la.torch._reproduce [--seeds N] [--epochs E] [--out DIR]``."""
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m lowrank_la.torch._reproduce",
                                     description="digits: accuracy vs parameters of low-rank "
                                                 "training methods")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default="reproduce-out")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = reproduce_digits(range(args.seeds), args.epochs, plot=out / "nn-digits.png")
    (out / "nn-digits.json").write_text(json.dumps(rows, indent=2))
    for r in rows:
        print(f"{r['method']:28s} seed {r['seed']}  acc {100 * r['accuracy']:5.1f}%  "
              f"hidden kept {r['hidden_kept']:.3f}  {r.get('ranks', '')}")
    print(f"wrote {out / 'nn-digits.png'} and {out / 'nn-digits.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
