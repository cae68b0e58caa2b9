"""MI of image pairs through compressed codes, against the known truth (issue 12's synthetic study).

Pairs of images rendered from correlated Gaussian latents (:func:`bayesmi.data.latent_image_pairs`:
Gaussian bumps 16 × 16 from 2-D latents, rectangles 32 × 32 from 4-D latents) have the latents'
MI, because the rendering is injective. Each side is compressed to as many codes as its latent has
dimensions, by PCA, a dense or a convolutional autoencoder fitted to an independent sample of the
same law, and :func:`bayesmi.estimate_mi` gives the posterior of the codes' MI on N pairs — a lower
bound on the truth when the code is lossy (Butakov, Tolmachev et al., ICLR 2024).

    python examples/compressed_images.py            # N = 5000, the grid below; ~3 h on 2 cores
    python examples/compressed_images.py --quick    # N = 1000, three grid points, to try it
    python examples/compressed_images.py --kinds rectangles --methods conv --grid 0 1 2 --merge
                                    # some rows only, merged into the table already in --out

Writes ``table.csv`` and ``figure.png`` under ``examples/results/compressed_images/`` (``--out``)
and prints the table (nats).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from bayesmi.data import latent_image_pairs  # noqa: E402
from bayesmi.data.latent_images import LATENT_DIMS  # noqa: E402
from bayesmi.interpret import estimate_mi_compressed  # noqa: E402

GRID = (0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0)
#: Compressors (:data:`bayesmi.interpret.COMPRESSORS`), "+flow" for ``estimate_mi``'s flow transform on the codes.
METHODS = ("pca", "autoencoder", "conv", "autoencoder+flow")
KEY = ["kind", "method", "n", "truth"]


def run(n: int, grid: tuple[float, ...], out: Path, kinds: tuple[str, ...] = tuple(LATENT_DIMS),
        methods: tuple[str, ...] = METHODS, merge: bool = False) -> pd.DataFrame:
    """Fit every (kind, true MI, method) and write the table and figure to ``out``; with ``merge``
    the new rows replace their namesakes in the table already there and the rest is kept."""
    rows = []
    for kind in kinds:
        for mi in grid:
            i = GRID.index(mi)  # a grid point's seeds are the same whichever points run with it
            data = latent_image_pairs(kind, mi, n, seed=100 + i)
            fit = latent_image_pairs(kind, mi, n, seed=200 + i)
            for method in methods:
                compressor, _, transform = method.partition("+")
                start = time.perf_counter()
                result = estimate_mi_compressed(data.x, data.y, dim=LATENT_DIMS[kind], method=compressor,
                                                transform=transform or "auto", fit_on=(fit.x, fit.y), seed=i,
                                                truth=mi, progress=False)
                low, high = result.interval(0.95)
                lost = result.diagnostics["compression"]
                rows.append({"kind": kind, "method": method, "n": n, "truth": mi, "mean": result.mean,
                             "low95": low, "high95": high, "covers": low <= mi <= high,
                             "lost_variance_x": lost["x"]["lost_variance"], "lost_variance_y": lost["y"]["lost_variance"],
                             "components": result.diagnostics.get("n_components"),
                             "check_passed": result.check_passed, "wall_s": time.perf_counter() - start})
                print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1, float_format="%.3f"),
                      flush=True)
    table = pd.DataFrame(rows)
    if merge and (out / "table.csv").exists():
        table = merged(pd.read_csv(out / "table.csv"), table)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "table.csv", index=False, float_format="%.4f")
    plot(table, out / "figure.png")
    return table


def merged(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``new`` and those of ``old`` with no namesake (same kind, method, n, truth) in
    it, sorted by kind, n, truth and method."""
    kept = old[~old.set_index(KEY).index.isin(new.set_index(KEY).index)]
    order = {"kind": list(LATENT_DIMS), "method": list(METHODS)}
    return pd.concat([kept, new], ignore_index=True).sort_values(
        ["kind", "n", "truth", "method"], kind="stable", ignore_index=True,
        key=lambda col: col.map(order[col.name].index) if col.name in order else col)


def plot(table: pd.DataFrame, path: Path) -> None:
    kinds = list(dict.fromkeys(table["kind"]))
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4.5), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        part = table[table["kind"] == kind]
        top = max(part["truth"].max(), part["high95"].max()) * 1.05 + 0.1
        ax.plot([0, top], [0, top], color="grey", lw=1, ls="--", label="truth")
        groups = part.groupby("method", sort=False)
        for j, (method, rows) in enumerate(groups):
            shift = (j - (groups.ngroups - 1) / 2) * 0.08
            ax.errorbar(rows["truth"] + shift, rows["mean"], yerr=[rows["mean"] - rows["low95"], rows["high95"] - rows["mean"]],
                        fmt="o", ms=4, capsize=3, color=f"C{METHODS.index(method)}", label=f"{method} (95% interval)")
        ax.set(title=f"{kind}: {LATENT_DIMS[kind]}-D latents, N = {part['n'].iloc[0]}", xlabel="true MI (nats)",
               ylabel="posterior mean of MI of the codes (nats)", xlim=(-0.3, top), ylim=(-0.3, top))
        ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1000 and three grid points")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "compressed_images")
    parser.add_argument("--kinds", nargs="+", choices=tuple(LATENT_DIMS), default=tuple(LATENT_DIMS))
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS)
    parser.add_argument("--grid", nargs="+", type=float, choices=GRID, help="true MIs in nats (default: all)")
    parser.add_argument("--merge", action="store_true", help="keep the other rows of the table in --out")
    args = parser.parse_args()
    grid = tuple(args.grid) if args.grid else (0.0, 2.0, 6.0) if args.quick else GRID
    run(1000 if args.quick else 5000, grid, args.out, tuple(args.kinds), tuple(args.methods), args.merge)
