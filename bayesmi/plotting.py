"""Figures for MI results (matplotlib, imported lazily by the result methods)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:
    from bayesmi.result import MIResult

__all__ = ["plot_mi", "plot_comparison", "plot_calibration"]


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


def plot_calibration(summary: pd.DataFrame, probs: Sequence[float]):
    """Empirical vs nominal interval coverage, one panel per method.

    ``summary`` is :func:`bayesmi.validation.coverage_table`'s output for interval
    probabilities ``probs``. Each (toy, N) is a series of points, one per prob, with its
    binomial confidence band as error bars (slightly offset sideways to stay readable);
    the dashed diagonal is perfect calibration. Returns the matplotlib Figure.
    """
    from bayesmi.validation import prob_label

    methods = list(dict.fromkeys(summary["method"]))
    groups = list(dict.fromkeys(zip(summary["toy"], summary["n"])))
    nominal = np.asarray(probs, dtype=float)
    offsets = 0.01 * (np.arange(len(groups)) - (len(groups) - 1) / 2)
    labels = [prob_label(p) for p in probs]
    low = min(nominal.min(), summary[[f"coverage{lab}_lo" for lab in labels]].to_numpy().min())
    limits = (max(low - 0.05, 0.0), 1.01)
    fig, axes = plt.subplots(1, len(methods), figsize=(3.6 * len(methods) + 0.6, 3.8), sharey=True,
                             squeeze=False)
    for ax, method in zip(axes[0], methods):
        ax.plot(limits, limits, color="k", ls="--", lw=0.8)
        for j, (toy, n) in enumerate(groups):
            row = summary[(summary["method"] == method) & (summary["toy"] == toy) & (summary["n"] == n)]
            if row.empty:
                continue
            cov = np.array([row[f"coverage{lab}"].iloc[0] for lab in labels])
            lo = np.array([row[f"coverage{lab}_lo"].iloc[0] for lab in labels])
            hi = np.array([row[f"coverage{lab}_hi"].iloc[0] for lab in labels])
            ax.errorbar(nominal + offsets[j], cov, yerr=[cov - lo, hi - cov], fmt="o", ms=4, capsize=2,
                        color=f"C{j}", label=f"{toy}, N={n}")
        ax.set(title=method, xlabel="nominal coverage", xlim=limits, ylim=limits, aspect="equal")
    axes[0, 0].set_ylabel("empirical coverage")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
