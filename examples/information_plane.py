"""The information plane of a classifier in training, with posterior intervals (issue 12).

Following Butakov, Tolmachev et al. (ICLR 2024): the evaluation images X are compressed once by a
dense autoencoder to 4 codes; at each chosen epoch, every layer's activations L (2 hidden layers
and the logits of an MLP; the conv blocks, dense layer and logits of a CNN) get Gaussian noise of
1e-3 of their spread and are compressed by PCA to 4 codes; then bayesmi's posteriors of I(X; L)
(two continuous codes) and I(L; Y) (class labels).

    python examples/information_plane.py                       # Fashion-MNIST, MLP 784-64-32-10
    python examples/information_plane.py --data digits         # sklearn digits, MLP 64-32-16-10
    python examples/information_plane.py --net cnn             # the small CNN of bayesmi.nets

Fashion-MNIST needs the Debian package ``dataset-fashion-mnist``. Trains on ``--n-train`` images,
evaluates on ``--n-eval`` test images, and writes ``table_<data>_<net>.csv``, ``plane_<data>_<net>.png``
and ``curves_<data>_<net>.png`` under ``examples/results/information_plane/`` (``--out``), printing
where the time went. ``--workers`` processes (default 2, one core each) fit the plane's points in
parallel.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bayesmi.data import fashion_mnist_available, load_digits, load_fashion_mnist  # noqa: E402
from bayesmi.interpret import fit_compressor, information_plane  # noqa: E402
from bayesmi.nets import CNN, MLP, accuracy, train_classifier  # noqa: E402
from bayesmi.parallel import process_pool  # noqa: E402
from bayesmi.runtime import compilation_cache_dir  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "information_plane"
#: Epochs whose snapshots are measured: every epoch early on, where the weights move fastest, then sparser.
SNAPSHOTS = (0, 1, 2, 4, 8, 14, 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=("fashion", "digits"), default="fashion")
    parser.add_argument("--net", choices=("mlp", "cnn"), default="mlp")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--snapshots", type=int, nargs="+", default=list(SNAPSHOTS))
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--n-eval", type=int, default=5000)
    parser.add_argument("--num-samples", type=int, default=250, help="posterior draws per chain of each fit")
    parser.add_argument("--workers", type=int, default=2,
                        help="processes fitting the plane's points in parallel, one core each (1: in this process)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    start = time.perf_counter()
    images = args.net == "cnn"
    if args.data == "fashion":
        if not fashion_mnist_available():
            raise SystemExit("Fashion-MNIST not found: apt-get install dataset-fashion-mnist (or use --data digits)")
        data = load_fashion_mnist(n_train=args.n_train, n_test=args.n_eval, flatten=not images, seed=args.seed)
    else:
        data = load_digits(flatten=not images, seed=args.seed)
    shape = data.x_train.shape[1:]
    key = jax.random.key(args.seed)
    model = (CNN(shape, 10, key=key) if images else
             MLP(shape[0], [64, 32] if args.data == "fashion" else [32, 16], 10, key))
    snapshots = {0: model} if 0 in args.snapshots else {}
    model, _ = train_classifier(model, data.x_train, data.y_train, epochs=args.epochs, seed=args.seed,
                                      on_epoch=lambda e, m: snapshots.update({e: m}) if e in args.snapshots else None)
    trained = time.perf_counter()
    print(f"trained {args.epochs} epochs in {trained - start:.1f} s; test accuracy {accuracy(model, data.x_test, data.y_test):.3f}")

    x_compressor = fit_compressor(data.x_test, 4, "autoencoder", seed=args.seed)
    compressed = time.perf_counter()
    print(f"inputs compressed to 4 codes in {compressed - trained:.1f} s, variance lost {x_compressor.lost_variance(data.x_test):.3f}")

    executor = (process_pool(args.workers, compilation_cache=compilation_cache_dir()) if args.workers > 1
                else None)
    try:
        plane = information_plane(snapshots, data.x_test, data.y_test, x_compressor=x_compressor, seed=args.seed,
                                  num_samples=args.num_samples, executor=executor)
    finally:
        if executor is not None:
            executor.shutdown()
    done = time.perf_counter()
    table = plane.table
    print(table.round(3).to_string(index=False))
    stages = {c.removeprefix("seconds_"): table[c].sum() for c in table if c.startswith("seconds_")}
    print(f"\n{len(table)} fits in {done - compressed:.1f} s wall on {max(args.workers, 1)} process(es) (per fit: "
          f"mean {table['seconds'].mean():.1f} s, max {table['seconds'].max():.1f} s; summed over the fits: "
          + ", ".join(f"{k} {v:.0f} s" for k, v in stages.items()) +
          f"); total {done - start:.1f} s; "
          f"{(~table['converged']).sum()} not converged, {(table['check_passed'] == False).sum()} failed the check")  # noqa: E712

    args.out.mkdir(parents=True, exist_ok=True)
    name = f"{args.data}_{args.net}"
    table.assign(x_lost_variance=plane.x_lost_variance, accuracy=accuracy(model, data.x_test, data.y_test)).to_csv(
        args.out / f"table_{name}.csv", index=False, float_format="%.4f")
    plane.plot().figure.savefig(args.out / f"plane_{name}.png", dpi=120, bbox_inches="tight")
    plane.plot_curves().savefig(args.out / f"curves_{name}.png", dpi=120, bbox_inches="tight")
    plt.close("all")


if __name__ == "__main__":
    main()
