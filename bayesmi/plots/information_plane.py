"""The information plane of a training network and its two MI curves, with interval bars and bands (matplotlib).

Both take the ``table`` of :class:`bayesmi.interpret.InformationPlane`: rows (epoch, layer,
layer_name, quantity ∈ {"I(X;L)", "I(L;Y)"}, mean, low, high, ...).
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bayesmi.util import prob_label

__all__ = ["plot_information_curves", "plot_information_plane"]

_LAYER_MAPS = ("Blues", "Oranges", "Greens", "Purples", "Reds", "Greys")


def _wide(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (epoch, layer) with mean/low/high of each quantity as columns "I(X;L) mean", …"""
    wide = table.pivot_table(index=["layer", "layer_name", "epoch"], columns="quantity",
                             values=["mean", "low", "high"], aggfunc="first")
    wide.columns = [f"{quantity} {stat}" for stat, quantity in wide.columns]
    return wide.reset_index().sort_values(["layer", "epoch"])


def plot_information_plane(table: pd.DataFrame, units: str = "nats", level: float = 0.95, ax: Any = None) -> Any:
    """I(L; Y) against I(X; L) for every (epoch, layer): one colour map per layer, epochs from light
    (first) to dark (last), joined in epoch order, with the ``level`` intervals as bars on both
    axes. Returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8))
    wide = _wide(table)
    epochs = np.sort(wide["epoch"].unique())
    shade = np.linspace(0.35, 1.0, len(epochs)) if len(epochs) > 1 else np.ones(1)
    for layer, rows in wide.groupby("layer", sort=True):
        colours = plt.get_cmap(_LAYER_MAPS[layer % len(_LAYER_MAPS)])(shade[np.searchsorted(epochs, rows["epoch"])])
        x, y = rows["I(X;L) mean"].to_numpy(), rows["I(L;Y) mean"].to_numpy()
        ax.plot(x, y, color=colours[-1], lw=1, alpha=0.6, label=rows["layer_name"].iloc[0])
        ax.errorbar(x, y, xerr=[x - rows["I(X;L) low"], rows["I(X;L) high"] - x],
                    yerr=[y - rows["I(L;Y) low"], rows["I(L;Y) high"] - y], fmt="none", ecolor=colours, elinewidth=1)
        ax.scatter(x, y, c=colours, s=28, zorder=3, edgecolors="k", linewidths=0.3)
    ax.set(xlabel=f"I(X; L) ({units})", ylabel=f"I(L; Y) ({units})",
           title=f"information plane (epochs {epochs[0]}–{epochs[-1]}, light → dark; {prob_label(level)}% intervals)")
    ax.legend(title="layer")
    return ax


def plot_information_curves(table: pd.DataFrame, units: str = "nats", level: float = 0.95, axes: Any = None) -> Any:
    """I(X; L) and I(L; Y) against the epoch, one line per layer with its ``level`` interval as a
    band. Returns the Figure."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, quantity in zip(axes, ("I(X;L)", "I(L;Y)")):
        part = table[table["quantity"] == quantity]
        for layer, rows in part.groupby("layer", sort=True):
            rows = rows.sort_values("epoch")
            colour = plt.get_cmap(_LAYER_MAPS[layer % len(_LAYER_MAPS)])(0.75)
            ax.plot(rows["epoch"], rows["mean"], "o-", ms=3, color=colour, label=rows["layer_name"].iloc[0])
            ax.fill_between(rows["epoch"], rows["low"], rows["high"], color=colour, alpha=0.3, lw=0)
        ax.set(xlabel="epoch", ylabel=f"{quantity.replace(';', '; ')} ({units})",
               title=f"{quantity.replace(';', '; ')} with {prob_label(level)}% intervals")
        ax.legend(title="layer")
    return axes[0].figure
