"""Figures of one or several posteriors of an information quantity (matplotlib).

Functions take result objects duck-typed (``draws``, ``mean``, ``sd``, ``interval``, ``units``, ...)
and import nothing else of bayesmi, so any layer may draw with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

if TYPE_CHECKING:
    from bayesmi.results import MIResult

__all__ = ["plot_mi", "plot_comparison"]


def plot_mi(result: "MIResult", truth: float | None = None, bins: int = 40):
    """Histogram of the draws per chain (left) and their trace (right).

    The mean and 95% interval are shaded; ``truth`` is drawn as a dashed line when given. Bootstrap
    replicates are labelled as replicates (their trace has no R-hat or ESS). Returns the Figure.
    """
    replicates = getattr(result, "draws_kind", "posterior") == "replicates"
    fig, (ax_hist, ax_trace) = plt.subplots(1, 2, figsize=(10, 3.5), width_ratios=(1, 1.6))
    draws = np.atleast_2d(result.draws)
    edges = np.histogram_bin_edges(draws, bins=bins)
    for chain, values in enumerate(draws):
        ax_hist.hist(values, bins=edges, histtype="step", density=True,
                     label="replicates" if replicates else f"chain {chain}")
        ax_trace.plot(values, lw=0.6, alpha=0.8)
    lo, hi = result.interval(0.95)
    for ax, axis in ((ax_hist, "x"), (ax_trace, "y")):
        span = ax.axvspan if axis == "x" else ax.axhspan
        line = ax.axvline if axis == "x" else ax.axhline
        span(lo, hi, color="C0", alpha=0.1, label="95% interval")
        line(result.mean, color="C0", lw=1.5, label="bootstrap mean" if replicates else "posterior mean")
        if truth is not None:
            line(truth, color="k", ls="--", lw=1.5, label="truth")
    label = f"{getattr(result, 'long_name', 'I(X;Y)')} [{result.units}]"
    ax_hist.set(xlabel=label, ylabel="density", title=f"{result.method}: {result.mean:.3f} ± {result.sd:.3f}")
    if replicates:
        ax_trace.set(xlabel="replicate", ylabel=label, title=f"{draws.size} bootstrap replicates")
    else:
        ax_trace.set(xlabel="draw", ylabel=label, title=f"trace (R-hat {result.rhat:.3f}, ESS {result.ess:.0f})")
    ax_hist.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_comparison(results: Mapping[str, "MIResult"], truth: float | None = None, bins: int | str = "auto"):
    """MI distributions of several methods overlaid: a density histogram and a KDE per method.

    ``results`` maps a label to an MIResult (all in the same units); ``truth`` (default: the
    first ``result.truth`` set) is drawn as a dashed vertical line labelled "truth".
    Returns the matplotlib Figure.
    """
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for i, (label, res) in enumerate(results.items()):
        draws = np.ravel(res.draws)
        color = f"C{i}"
        ax.hist(draws, bins=bins, density=True, histtype="stepfilled", alpha=0.25, color=color,
                label=f"{label}: {res.mean:.3f} ± {res.sd:.3f}")
        if np.ptp(draws) > 0:  # a KDE needs spread
            kde = stats.gaussian_kde(draws)
            pad = 3 * kde.factor * draws.std()  # three bandwidths past the extreme draws
            grid = np.linspace(draws.min() - pad, draws.max() + pad, 256)
            ax.plot(grid, kde(grid), color=color, lw=1.5)
    if truth is None:
        truth = next((r.truth for r in results.values() if r.truth is not None), None)
    if truth is not None:
        ax.axvline(truth, color="k", ls="--", lw=1.5, label="truth")
    units = next(iter(results.values())).units
    ax.set(xlabel=f"I(X;Y) [{units}]", ylabel="density", title="MI by method (mean ± sd)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
