"""MI of image pairs through compressed codes, against the known truth (issue 12's synthetic study).

Pairs of images rendered from correlated Gaussian latents (:func:`bayesmi.data.latent_image_pairs`:
Gaussian bumps 16 × 16 from 2-D latents, rectangles 32 × 32 from 4-D latents) have the latents'
MI, because the rendering is injective. Each side is compressed to as many codes as its latent has
dimensions, by PCA or by a dense autoencoder fitted to an independent sample of the same law, and
:func:`bayesmi.estimate_mi` gives the posterior of the codes' MI on N pairs — a lower bound on the
truth when the code is lossy (Butakov, Tolmachev et al., ICLR 2024).

    python examples/compressed_images.py            # N = 5000, the grid below; ~40 min on 2 cores
    python examples/compressed_images.py --quick    # N = 1000, three grid points, to try it

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
METHODS = ("pca", "autoencoder")


def run(n: int, grid: tuple[float, ...], out: Path) -> pd.DataFrame:
    rows = []
    for kind in LATENT_DIMS:
        for i, mi in enumerate(grid):
            data = latent_image_pairs(kind, mi, n, seed=100 + i)
            fit = latent_image_pairs(kind, mi, n, seed=200 + i)
            for method in METHODS:
                start = time.perf_counter()
                result = estimate_mi_compressed(data.x, data.y, dim=LATENT_DIMS[kind], method=method,
                                                fit_on=(fit.x, fit.y), seed=i, truth=mi, progress=False)
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
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "table.csv", index=False, float_format="%.4f")
    plot(table, out / "figure.png")
    return table


def plot(table: pd.DataFrame, path: Path) -> None:
    kinds = list(dict.fromkeys(table["kind"]))
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4.5), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        part = table[table["kind"] == kind]
        top = max(part["truth"].max(), part["high95"].max()) * 1.05 + 0.1
        ax.plot([0, top], [0, top], color="grey", lw=1, ls="--", label="truth")
        for j, (method, rows) in enumerate(part.groupby("method", sort=False)):
            shift = (j - 0.5) * 0.08
            ax.errorbar(rows["truth"] + shift, rows["mean"], yerr=[rows["mean"] - rows["low95"], rows["high95"] - rows["mean"]],
                        fmt="o", ms=4, capsize=3, label=f"{method} (95% interval)")
        ax.set(title=f"{kind}: {LATENT_DIMS[kind]}-D latents, N = {part['n'].iloc[0]}", xlabel="true MI (nats)",
               ylabel="posterior mean of MI of the codes (nats)", xlim=(-0.3, top), ylim=(-0.3, top))
        ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1000 and three grid points")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "compressed_images")
    args = parser.parse_args()
    run(1000 if args.quick else 5000, (0.0, 2.0, 6.0) if args.quick else GRID, args.out)
