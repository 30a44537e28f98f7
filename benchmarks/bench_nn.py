"""Low-rank training on scikit-learn digits: accuracy and hidden-layer parameters vs dense.

MLP 64-128-128-10, 600 stratified test images, batches of 64, float32, one thread; the
classifier stays dense; a factored layer counts U, the r x r core and V.  Baseline: the dense
network trained with SGD (lr 0.05, momentum 0.9, wd 1e-4) in the same process.  Reported per
method: accuracy, accuracy minus dense, fraction of the 24,576 hidden weights kept, training
time and its ratio to dense training.  ``quick``: seed 0, 30 epochs; full: seeds 0-4.
"""

from __future__ import annotations


def run(quick: bool):
    from lowrank_la.torch import reproduce_digits

    seeds = (0,) if quick else (0, 1, 2, 3, 4)
    rows = reproduce_digits(seeds, epochs=30)
    out = []
    for seed in seeds:
        rs = [r for r in rows if r["seed"] == seed]
        dense = next(r for r in rs if r["method"] == "dense SGD")
        for r in rs:
            out.append({
                "method": r["method"], "seed": seed, "accuracy_pct": round(100 * r["accuracy"], 2),
                "vs_dense_pts": round(100 * (r["accuracy"] - dense["accuracy"]), 2),
                "hidden_params": r["hidden_params"], "hidden_kept": round(r["hidden_kept"], 3),
                "ranks": r.get("ranks", ""),
                "before_truncation_pct": (round(100 * r["untruncated"], 2)
                                          if "untruncated" in r else ""),
                "train_s": round(r["train_s"], 2),
                "time_ratio_vs_dense": round(r["train_s"] / dense["train_s"], 2),
                "dtype": "float32",
            })
    notes = ("Digits MLP 64-128-128-10, 30 epochs, one thread. hidden_kept: fraction of the "
             "24,576 hidden weight entries kept (r(m+n)+r^2 per factored layer). GaLore keeps "
             "dense weights; its gain is optimizer state (see the docs). 'dense cut to TRP "
             "ranks' truncates the dense net to TRP's ranks without retraining; before_truncation_pct: "
             "TRP before its final truncation, compress_ before fine-tuning.")
    return out, notes
