"""Several MI estimators on one data set, side by side: ``compare(x, y)``.

Each method runs through :func:`~bayesmi.estimate_mi` with the same seed and fit
options; the result is a :class:`Comparison` holding every :class:`~bayesmi.MIResult`,
a table of point estimates, 95% intervals and wall times, and a figure of the MI
distributions overlaid.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from bayesmi.estimators import estimate_mi
from bayesmi.options import FitOptions
from bayesmi.results import MIResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Comparison", "compare", "comparison_table"]


@dataclass
class Comparison:
    """The outcome of :func:`compare`.

    Attributes
    ----------
    results : MIResult per method name, in the order run.
    table : one row per method: method, mean, sd, lo95, hi95, width95, wall_s, converged, units
        (plus truth and covers_truth when the truth is known); MI values in ``units``.
    figure : the MI distributions of all methods overlaid (None when ``plot=False``).
    """

    results: dict[str, MIResult]
    table: pd.DataFrame
    figure: Figure | None = None


def comparison_table(results: dict[str, MIResult], wall_s: dict[str, float]) -> pd.DataFrame:
    """One row per method: mean, sd, central 95% interval and its width, wall seconds, converged.

    MI values are in each result's ``units`` (stated in a ``units`` column); when a
    result knows its ``truth``, the table has ``truth`` and ``covers_truth`` (95% interval) too.
    """
    rows = []
    for method, res in results.items():
        lo, hi = res.interval(0.95)
        row = {"method": method, "mean": res.mean, "sd": res.sd, "lo95": lo, "hi95": hi,
               "width95": hi - lo, "wall_s": wall_s[method], "converged": res.converged,
               "units": res.units}
        if res.truth is not None:
            row.update(truth=res.truth, covers_truth=lo <= res.truth <= hi)
        rows.append(row)
    return pd.DataFrame(rows)


def compare(
    x: Any,
    y: Any,
    methods: Sequence[str] = ("nuts", "svi", "bootstrap"),
    *,
    truth: float | None = None,
    seed: int = 0,
    plot: bool = True,
    options: FitOptions | None = None,
    **estimate_kwargs: Any,
) -> Comparison:
    """Estimate I(X;Y) with every method in ``methods`` on the same data and tabulate the results.

    Parameters
    ----------
    x, y : array-like (N,) or (N, d), as for :func:`~bayesmi.estimate_mi`.
    methods : method names accepted by ``estimate_mi``, run in this order (no duplicates).
    truth : the known MI in nats, if any; adds ``covers_truth`` to the table and a line to the figure.
    seed : passed to every ``estimate_mi`` call.
    plot : draw the figure (:func:`bayesmi.plots.plot_comparison`).
    options, **estimate_kwargs : the fit settings (:class:`~bayesmi.FitOptions`, e.g.
        ``num_samples``, ``progress``) and other ``estimate_mi`` arguments (``units``, ...) shared by
        all methods; each method shows its progress bar unless ``progress=False``.

    Returns
    -------
    Comparison with ``results``, ``table`` (MI in ``units``, wall time in seconds) and ``figure``.
    Each method's ConvergenceWarning, if any, is issued as usual and flagged in ``converged``.
    """
    methods = list(methods)
    if not methods:
        raise ValueError("methods must name at least one method")
    if len(set(methods)) != len(methods):
        raise ValueError(f"methods must not repeat a method, got {methods}")
    if "method" in estimate_kwargs:
        raise TypeError("compare() runs every method in methods; do not pass method")
    results: dict[str, MIResult] = {}
    wall_s: dict[str, float] = {}
    for method in methods:
        start = time.perf_counter()
        results[method] = estimate_mi(x, y, method=method, truth=truth, seed=seed, options=options,
                                      **estimate_kwargs)
        wall_s[method] = time.perf_counter() - start
    figure = None
    if plot:
        from bayesmi.plots import plot_comparison

        figure = plot_comparison(results)
    return Comparison(results, comparison_table(results, wall_s), figure)
