"""Figures of a neuron-importance study (:class:`bayesmi.interpret.NeuronImportance`): curves and scatter."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_ablation_curves", "plot_importance_scatter"]

_COLOURS = {"entropy": "C0", "mi": "C1", "kl_selectivity": "C2"}
_LABELS = {"entropy": "entropy H(T)", "mi": "MI I(T;Y)", "kl_selectivity": "KL selectivity"}
_STYLES = {"descending": "-", "ascending": "--"}


def _panels(result: Any) -> list[tuple[str, Any]]:
    keys = result.curves[["scope", "layer"]].drop_duplicates()
    return [(s, l) for s, l in keys.itertuples(index=False, name=None)]


def plot_ablation_curves(result: Any, *, measures: Any = None, fraction: bool = False,
                         band: tuple[float, float] = (0.05, 0.95), axes: Any = None,
                         figsize: tuple[float, float] | None = None):
    """Test accuracy against the number (or ``fraction``) of neurons removed, one panel per layer + network.

    One line per measure (colour) and order (solid: highest first, dashed: lowest first); the random
    orders' mean (grey line) and ``band`` quantiles (shaded). Returns the figure.
    """
    panels = _panels(result)
    if not panels:
        raise ValueError("result has no ablation curves to plot")
    measures = [m for m in result.settings.get("measures", _COLOURS) if measures is None or m in measures]
    if axes is None:
        fig, axes = plt.subplots(1, len(panels), figsize=figsize or (4.2 * len(panels), 4.4), sharey=True,
                                 squeeze=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(axes).ravel()
        if len(axes) != len(panels):
            raise ValueError(f"axes must hold {len(panels)} axes (one per panel), got {len(axes)}")
        fig = axes[0].figure
    xcol = "fraction_removed" if fraction else "n_removed"
    curves = result.curves
    rand = result.random_band(*band)
    for ax, (scope, layer) in zip(axes, panels):
        sel = curves[(curves["scope"] == scope) & (curves["layer"] == layer)]
        r = rand[(rand["scope"] == scope) & (rand["layer"] == layer)]
        if len(r):
            ax.fill_between(r[xcol], r["lo"], r["hi"], color="0.6", alpha=0.35, lw=0,
                            label=f"random {band[0]:.0%}–{band[1]:.0%}")
            ax.plot(r[xcol], r["mean"], color="0.4", lw=1.2, label="random mean")
        for m in measures:
            for order, ls in _STYLES.items():
                c = sel[(sel["measure"] == m) & (sel["order"] == order)]
                if len(c):
                    first = "highest" if order == "descending" else "lowest"
                    ax.plot(c[xcol], c["accuracy"], ls, color=_COLOURS.get(m), lw=1.5,
                            label=f"{_LABELS.get(m, m)}, {first} first")
        title = f"hidden layer {layer}" if scope == "layer" else "network-wide"
        ax.set_title(title)
        ax.set_xlabel("fraction of neurons removed" if fraction else "neurons removed")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    handles, labels = axes[0].get_legend_handles_labels()
    ncol = min(len(labels), 4)
    rows = -(-len(labels) // ncol)
    fig.tight_layout(rect=(0, 0.045 * rows + 0.02, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    return fig


def plot_importance_scatter(result: Any, *, importance: str = "accuracy_drop",
                            figsize: tuple[float, float] | None = None):
    """Posterior-mean measure (x) against the single-neuron ``importance`` (y).

    One panel per (layer, measure): rows are layers, columns measures; titles give Spearman's rho.
    """
    measures = list(result.settings.get("measures", _COLOURS))
    wide = result.measures.pivot_table(index=["layer", "neuron"], columns="measure", values="mean")
    wide = wide.reset_index()
    data = wide.merge(result.single, on=["layer", "neuron"])
    layers = sorted(data["layer"].unique())
    size = figsize or (3.4 * len(measures), 2.8 * len(layers))
    fig, axes = plt.subplots(len(layers), len(measures), figsize=size, squeeze=False)
    corr = result.correlations
    for i, l in enumerate(layers):
        g = data[data["layer"] == l]
        for j, m in enumerate(measures):
            ax = axes[i, j]
            ax.scatter(g[m], g[importance], s=8, alpha=0.6, color=_COLOURS.get(m))
            c = corr[(corr["layer"] == l) & (corr["measure"] == m) & (corr["importance"] == importance)]
            rho = f"ρ = {c['rho'].iloc[0]:.2f}" if len(c) else ""
            ax.set_title(f"layer {l}: {rho}", fontsize=9)
            ax.set_xlabel(f"{_LABELS.get(m, m)} [{result.settings.get('units', 'nats')}]", fontsize=8)
            if j == 0:
                ax.set_ylabel(importance.replace("_", " "), fontsize=8)
            ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
