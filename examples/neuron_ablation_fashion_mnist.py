"""Neuron importance by information-ordered ablation on Fashion-MNIST (Amjad, Liu & Geiger 2018).

Reference: arXiv 1804.06679.

The paper's setting: an MLP 784-200-200-10 (ReLU) trained on Fashion-MNIST. For every hidden neuron, the
Dirichlet posterior of its entropy, its MI with the class and its KL class selectivity (1-bit
activations: active or not) on a held-out fit set; then cumulative ablation on the test set, within
each layer and network-wide, removing neurons by each measure ascending and descending and in random
orders; and the Spearman correlation of each measure with the accuracy drop of removing the neuron alone.

Data: the 60000 training images are split into 50000 to train the weights and 10000 held out as the
fit set (measures, mean activations for the bias balancing); the 10000 test images score the ablations.

Writes to ``examples/results/neuron_ablation/``: ``curves.csv.gz`` (tidy accuracy curves, gzipped),
``correlations.csv``, ``summary.csv`` (area under each curve against the random orders),
``neurons.csv`` (measures and single-neuron drops per neuron), ``ablation_curves.png``,
``importance_scatter.png``, and prints a summary.

Run: ``python examples/neuron_ablation_fashion_mnist.py`` (about 5 min on two busy CPU cores).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")

from bayesmi.data import fashion_mnist_available, load_fashion_mnist  # noqa: E402
from bayesmi.interpret import neuron_importance  # noqa: E402
from bayesmi.nets import MLP, accuracy, train_classifier  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "neuron_ablation"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--n-fit", type=int, default=10000, help="training images held out as the fit set")
    parser.add_argument("--n-test", type=int, default=None,
                        help="test images for the curves (default all 10000)")
    parser.add_argument("--num-random", type=int, default=20)
    parser.add_argument("--num-draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not fashion_mnist_available():
        raise SystemExit("Fashion-MNIST not found: apt-get install dataset-fashion-mnist")

    t0 = time.perf_counter()
    data = load_fashion_mnist(n_test=args.n_test, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(len(data.x_train))
    fit, train = perm[: args.n_fit], perm[args.n_fit:]
    x_train, y_train = data.x_train[train], data.y_train[train]
    x_fit, y_fit = data.x_train[fit], data.y_train[fit]
    x_test, y_test = data.x_test, data.y_test

    model = MLP(784, [200, 200], 10, jax.random.key(args.seed))
    model, history = train_classifier(model, x_train, y_train, epochs=args.epochs, batch_size=128,
                                      learning_rate=1e-3, seed=args.seed)
    t_train = time.perf_counter() - t0
    acc = {"train": accuracy(model, x_train, y_train), "fit": accuracy(model, x_fit, y_fit),
           "test": accuracy(model, x_test, y_test)}
    print(f"trained {args.epochs} epochs in {t_train:.0f} s; accuracy "
          + ", ".join(f"{k} {v:.4f}" for k, v in acc.items()))

    t1 = time.perf_counter()
    res = neuron_importance(model, x_fit, y_fit, x_test, y_test, num_random=args.num_random,
                            num_draws=args.num_draws, seed=args.seed)
    t_importance = time.perf_counter() - t1

    args.out.mkdir(parents=True, exist_ok=True)
    res.curves.to_csv(args.out / "curves.csv.gz", index=False, float_format="%.5g")  # gzip: ~20k rows
    res.correlations.to_csv(args.out / "correlations.csv", index=False, float_format="%.4g")
    summary = res.summary()
    summary.to_csv(args.out / "summary.csv", index=False, float_format="%.4g")
    wide = res.measures.pivot_table(index=["layer", "neuron"], columns="measure", values=["mean", "sd"])
    wide.columns = [f"{m}_{stat}" for stat, m in wide.columns]
    active = res.measures.groupby(["layer", "neuron"])["active_fraction"].first()
    neurons = wide.join(active).reset_index().merge(res.single, on=["layer", "neuron"])
    neurons.to_csv(args.out / "neurons.csv", index=False, float_format="%.5g")
    res.plot().savefig(args.out / "ablation_curves.png", dpi=120)
    res.plot_scatter().savefig(args.out / "importance_scatter.png", dpi=100)
    (args.out / "run.json").write_text(json.dumps({
        "accuracy": acc, "train_loss": history["loss"],
        "seconds": {"train": t_train, "importance": t_importance},
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in res.settings.items()},
        "args": {k: str(v) for k, v in vars(args).items()},
    }, indent=2))

    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 20)
    print(f"\nneuron importance in {t_importance:.0f} s (fit set {len(x_fit)}, test set {len(x_test)}, "
          f"{args.num_random} random orders)")
    print("\nSpearman correlation of each measure with the single-neuron accuracy drop / loss increase:")
    corr = res.correlations.copy()
    corr["layer"] = corr["layer"].astype(str)
    print(corr.pivot_table(index=["importance", "layer"], columns="measure", values="rho", sort=False)
          .round(3))
    print("\n(p-values)")
    print(corr.pivot_table(index=["importance", "layer"], columns="measure", values="p_value", sort=False)
          .map(lambda p: f"{p:.2g}"))
    print("\nArea under each ablation curve (mean test accuracy over 0..n neurons removed), and the share of "
          "random orders with a smaller area:")
    s = summary.copy()
    s["layer"] = s["layer"].astype(str)
    index = ["scope", "layer", "order"]
    print(s.pivot_table(index=index, columns="measure", values="auc", sort=False).round(4))
    print(s.pivot_table(index=index, columns="measure", values="random_quantile", sort=False))
    print(s.groupby(["scope", "layer"], sort=False)[["random_auc_mean", "random_auc_lo", "random_auc_hi"]]
          .first().round(4))
    single = res.single.groupby("layer")["accuracy_drop"].describe(percentiles=[0.5, 0.9])
    print("\nsingle-neuron accuracy drops per layer:\n", single.round(4))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
