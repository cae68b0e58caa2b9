"""Every figure of bayesmi (matplotlib), one module per kind of figure.

- :mod:`~bayesmi.plots.posterior`: :func:`plot_mi` (draws of one result: histogram and trace),
  :func:`plot_comparison` (several methods overlaid);
- :mod:`~bayesmi.plots.pmi`: :func:`plot_pmi` (posterior band of the pointwise-MI distribution);
- :mod:`~bayesmi.plots.matrix`: :func:`plot_mi_matrix` (heatmap annotated with mean ± sd);
- :mod:`~bayesmi.plots.calibration`: :func:`plot_calibration` (coverage of a study),
  :func:`plot_intervals` (every fit's interval against the truth);
- :mod:`~bayesmi.plots.ablation`: :func:`plot_ablation_curves`, :func:`plot_importance_scatter`;
- :mod:`~bayesmi.plots.information_plane`: :func:`plot_information_plane` (I(L;Y) against I(X;L)
  per layer and epoch), :func:`plot_information_curves` (both against the epoch, with bands).

The functions take result objects duck-typed and import nothing of bayesmi above
:mod:`bayesmi.util`, so the results' ``plot`` methods can call them from any layer.
"""

from bayesmi.plots.ablation import plot_ablation_curves, plot_importance_scatter
from bayesmi.plots.calibration import plot_calibration, plot_intervals
from bayesmi.plots.information_plane import plot_information_curves, plot_information_plane
from bayesmi.plots.matrix import plot_mi_matrix
from bayesmi.plots.pmi import plot_pmi
from bayesmi.plots.posterior import plot_comparison, plot_mi

__all__ = ["plot_mi", "plot_comparison", "plot_pmi", "plot_mi_matrix", "plot_calibration", "plot_intervals",
           "plot_ablation_curves", "plot_importance_scatter", "plot_information_plane", "plot_information_curves"]
