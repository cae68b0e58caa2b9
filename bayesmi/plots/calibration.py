"""Calibration of interval coverage across a study (matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayesmi.util import prob_label

__all__ = ["plot_calibration"]


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
