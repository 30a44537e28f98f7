"""Demo line for ``python -m lowrank_la demo``: DLRT on digits (needs torch and scikit-learn)."""

from __future__ import annotations

import importlib.util
import time

__all__ = ["demo"]


def demo(args) -> bool:
    """Train the 64-128-128-10 digits MLP with DLRT for 8 epochs; print ranks and accuracy."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("sklearn") is None:
        print("nn: skipped (needs torch and scikit-learn)")
        return True
    import torch

    from ._digits import accuracy, batches, hidden_weight_count, load_digits_split, make_lowrank_mlp
    from ._dlrt import DLRT

    seed = int(getattr(args, "seed", 0) or 0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Xtr, ytr, Xte, yte = load_digits_split(seed)
        model = make_lowrank_mlp(seed)
        ctrl = DLRT(model, lr=0.5, tau=0.1)
        gen = torch.Generator().manual_seed(seed)
        t0 = time.perf_counter()
        for _ in range(8):
            for idx in batches(len(Xtr), 64, gen):
                ctrl.step(lambda idx=idx: torch.nn.functional.cross_entropy(model(Xtr[idx]),
                                                                            ytr[idx]))
        dt = time.perf_counter() - t0
        acc = accuracy(model, Xte, yte)
        kept = hidden_weight_count(model) / (64 * 128 + 128 * 128)
    finally:
        torch.set_num_threads(threads)
    ranks = ctrl.ranks()
    print(f"nn: DLRT on digits, 8 epochs ({dt:.1f} s): ranks [32, 64] -> {ranks}, "
          f"{100 * (1 - kept):.0f}% of hidden weights removed, test accuracy {100 * acc:.1f}%")
    return bool(acc > 0.9 and ranks[0] < 32 and ranks[1] < 64)
