"""Calibration of interval coverage across a study, and every fit's interval against the truth (matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayesmi.util import prob_label

__all__ = ["plot_calibration", "plot_intervals"]


def plot_calibration(summary: pd.DataFrame, probs: Sequence[float]):
    """Empirical vs nominal interval coverage, one panel per method.

    ``summary`` is :func:`bayesmi.studies.validation.coverage_table`'s output for interval
    probabilities ``probs``. Each (toy, N) is a series of points, one per prob, with its
    binomial confidence band as error bars (slightly offset sideways to stay readable);
    the dashed diagonal is perfect calibration. Returns the matplotlib Figure.
    """
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


def plot_intervals(records: pd.DataFrame, n: int | None = None):
    """Every fit's estimate and 95% interval relative to the truth, one row per toy, one colour per method.

    ``records`` are a study's per-fit records (:class:`bayesmi.studies.validation.ValidationResult`
    ``.records``: toy, n, method, replicate, truth, mean, lo95, hi95 and, where a predictive check ran,
    check_passed); ``n`` picks one sample size (default: the largest). The x axis is
    (estimate − truth) / truth; a hollow marker is a fit whose predictive check failed. Returns
    the matplotlib Figure.
    """
    n = int(records["n"].max()) if n is None else n
    data = records[(records["n"] == n) & records["mean"].notna()]
    toys = list(dict.fromkeys(data["toy"]))
    methods = list(dict.fromkeys(data["method"]))
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(toys) + 1.2))
    width = 0.7 / len(methods)
    for m, method in enumerate(methods):
        rows = data[data["method"] == method]
        colour = f"C{m}"
        for t, toy in enumerate(toys):
            fits = rows[rows["toy"] == toy].sort_values("replicate")
            spots = t - 0.35 + width * (m + 0.5) + np.linspace(-0.3, 0.3, max(len(fits), 1)) * width
            for y, (_, fit) in zip(spots, fits.iterrows()):
                scale = fit["truth"] if fit["truth"] > 0 else 1.0
                lo, mid, hi = ((fit[c] - fit["truth"]) / scale for c in ("lo95", "mean", "hi95"))
                failed = fit.get("check_passed") is False or str(fit.get("check_passed")) == "False"
                ax.plot([lo, hi], [y, y], color=colour, lw=1)
                ax.plot(mid, y, "o", ms=3.5, color=colour, mfc="white" if failed else colour)
        ax.plot([], [], "o-", color=colour, label=method)
    ax.plot([], [], "o", color="grey", mfc="white", label="check failed")
    ax.axvline(0.0, color="black", lw=0.8, ls="--")
    ax.set_yticks(range(len(toys)), toys, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("(estimate − truth) / truth, 95% intervals")
    ax.set_title(f"Benchmark suite, N = {n}")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
