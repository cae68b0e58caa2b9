"""Figures for MI results (matplotlib, imported lazily by the result methods)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    from bayesmi.result import MIResult

__all__ = ["plot_mi"]


def plot_mi(result: "MIResult", truth: float | None = None, bins: int = 40):
    """Histogram of the MI draws per chain (left) and their trace (right).

    The posterior mean and 95% interval are shaded; ``truth`` is drawn as a
    dashed line when given. Returns the matplotlib Figure.
    """
    fig, (ax_hist, ax_trace) = plt.subplots(1, 2, figsize=(10, 3.5), width_ratios=(1, 1.6))
    draws = np.atleast_2d(result.draws)
    edges = np.histogram_bin_edges(draws, bins=bins)
    for chain, values in enumerate(draws):
        ax_hist.hist(values, bins=edges, histtype="step", density=True, label=f"chain {chain}")
        ax_trace.plot(values, lw=0.6, alpha=0.8)
    lo, hi = result.interval(0.95)
    for ax, axis in ((ax_hist, "x"), (ax_trace, "y")):
        span = ax.axvspan if axis == "x" else ax.axhspan
        line = ax.axvline if axis == "x" else ax.axhline
        span(lo, hi, color="C0", alpha=0.1, label="95% interval")
        line(result.mean, color="C0", lw=1.5, label="posterior mean")
        if truth is not None:
            line(truth, color="k", ls="--", lw=1.5, label="truth")
    label = f"I(X;Y) [{result.units}]"
    ax_hist.set(xlabel=label, ylabel="density", title=f"{result.method}: {result.mean:.3f} ± {result.sd:.3f}")
    ax_trace.set(xlabel="draw", ylabel=label, title=f"trace (R-hat {result.rhat:.3f}, ESS {result.ess:.0f})")
    ax_hist.legend(fontsize=7)
    fig.tight_layout()
    return fig
