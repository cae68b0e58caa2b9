"""Posterior band of the pointwise-MI distribution (matplotlib)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    from bayesmi.results import MIResult

__all__ = ["plot_pmi"]


def plot_pmi(
    result: "MIResult", max_draws: int = 200, bins: int = 50, prob: float = 0.9, tail: float = 0.005,
    ax: plt.Axes | None = None,
):
    """Histogram of the pointwise MI over the data rows, as a posterior band across draws.

    For each of up to ``max_draws`` posterior draws the PMI of every row
    (:meth:`bayesmi.MIResult.pointwise_mi`) is binned on common ``bins`` spanning all but the
    ``tail`` fraction of values at either end (density = fraction of all rows per unit PMI); the
    figure shows the per-bin posterior median and central ``prob`` band, the rows' average PMI
    (a plug-in MI, averaged over draws) and the posterior mean MI. Returns the matplotlib Figure.
    """
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must lie in (0, 1), got {prob}")
    pmi = result.pointwise_mi(max_draws)  # (S, N)
    edges = np.histogram_bin_edges(pmi, bins=bins, range=tuple(np.quantile(pmi, [tail, 1.0 - tail])))
    density = np.stack([np.histogram(row, bins=edges)[0] for row in pmi]) / (pmi.shape[1] * np.diff(edges))
    lo, mid, hi = np.quantile(density, [(1.0 - prob) / 2.0, 0.5, (1.0 + prob) / 2.0], axis=0)
    centres = 0.5 * (edges[1:] + edges[:-1])
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    ax.fill_between(centres, lo, hi, step="mid", color="C0", alpha=0.3, label=f"{prob:.0%} posterior band")
    ax.step(centres, mid, where="mid", color="C0", lw=1.2, label="posterior median")
    ax.axvline(float(pmi.mean()), color="C1", lw=1.5, label=f"mean PMI over rows: {pmi.mean():.3f}")
    ax.axvline(result.mean, color="k", ls=":", lw=1.5, label=f"posterior mean MI: {result.mean:.3f}")
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.set(xlabel=f"pointwise MI log p(x,y)/(p(x)p(y)) [{result.units}]", ylabel="density",
           title=f"{result.method}: pointwise MI at the {pmi.shape[1]} data rows ({pmi.shape[0]} draws)")
    ax.legend(fontsize=7)
    ax.figure.tight_layout()
    return ax.figure
