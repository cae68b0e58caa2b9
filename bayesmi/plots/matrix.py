"""Heatmap of an :class:`~bayesmi.results.MIMatrix` (matplotlib, imported lazily by ``MIMatrix.plot``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    from bayesmi.results import MIMatrix

__all__ = ["plot_mi_matrix"]


def plot_mi_matrix(
    matrix: "MIMatrix",
    ax: plt.Axes | None = None,
    annotate: bool | None = None,
    cmap: str = "viridis",
    digits: int = 2,
):
    """Posterior means as a heatmap, each cell annotated with "mean ± sd".

    ``annotate`` defaults to True for at most 400 cells; tick labels are the row and column
    names when there are at most 60 of them. Returns the matplotlib Figure.
    """
    mean, sd = matrix.mean, matrix.sd
    n_rows, n_cols = mean.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(min(2 + 0.9 * n_cols, 16), min(1.5 + 0.4 * n_rows, 16)))
    image = ax.imshow(mean, cmap=cmap, aspect="auto", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=f"{matrix.quantity} [{matrix.units}], posterior mean")
    for axis, names, n in ((ax.xaxis, matrix.col_names, n_cols), (ax.yaxis, matrix.row_names, n_rows)):
        if n <= 60:
            axis.set_ticks(np.arange(n), [str(v) for v in names])
    ax.tick_params(axis="x", labelrotation=90 if n_cols > 8 else 0)
    ax.set(xlabel=matrix.dims[1], ylabel=matrix.dims[0], title=f"{matrix.method}: {matrix.quantity}")
    if annotate if annotate is not None else mean.size <= 400:
        middle = (np.nanmax(mean) + np.nanmin(mean)) / 2
        for (i, j), m in np.ndenumerate(mean):
            ax.text(
                j,
                i,
                f"{m:.{digits}f}\n±{sd[i, j]:.{digits}f}",
                ha="center",
                va="center",
                fontsize=7,
                color="black" if m > middle else "white",
            )
    ax.figure.tight_layout()
    return ax.figure
