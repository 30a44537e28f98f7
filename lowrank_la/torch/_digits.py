"""scikit-learn digits as torch tensors, and the small training/evaluation loops shared by the
tests, the benchmark and the reproduction (64-128-128-10 MLP, 600 stratified test images)."""

from __future__ import annotations

import torch

__all__ = ["load_digits_split", "make_mlp", "make_lowrank_mlp", "accuracy", "batches",
           "hidden_weight_count"]


def load_digits_split(seed=0, n_test=600, dtype=torch.float32):
    """Train/test tensors of the digits data (pixels scaled to [0, 1]), stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=n_test, stratify=y,
                                          random_state=seed)
    t = lambda a, dt: torch.as_tensor(a, dtype=dt)  # noqa: E731
    return t(Xtr, dtype), t(ytr, torch.int64), t(Xte, dtype), t(yte, torch.int64)


def make_mlp(seed=0, hidden=128, dtype=torch.float32):
    """The dense 64-H-H-10 ReLU network."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(), torch.nn.Linear(hidden, 10),
    ).to(dtype)


def make_lowrank_mlp(seed=0, ranks=(32, 64)):
    """The 64-128-128-10 network with :class:`LowRankLinear` hidden layers (DLRT's start)."""
    from ._layers import LowRankLinear

    torch.manual_seed(seed)
    return torch.nn.Sequential(LowRankLinear(64, 128, ranks[0]), torch.nn.ReLU(),
                               LowRankLinear(128, 128, ranks[1]), torch.nn.ReLU(),
                               torch.nn.Linear(128, 10))


def batches(n, batch_size, generator):
    """Index batches of a random permutation."""
    perm = torch.randperm(n, generator=generator)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


@torch.no_grad()
def accuracy(model, X, y):
    """Fraction of correct argmax predictions."""
    return float((model(X).argmax(1) == y).double().mean())


def hidden_weight_count(model):
    """Weight entries of every layer except the last (classifier) one."""
    from ._layers import LowRankLinear

    layers = [m for m in model.modules() if isinstance(m, (torch.nn.Linear, LowRankLinear))]
    total = 0
    for m in layers[:-1]:
        total += m.n_parameters() if isinstance(m, LowRankLinear) else m.weight.numel()
    return total
