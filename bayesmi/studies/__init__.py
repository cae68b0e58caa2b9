"""Studies of the estimators: several methods side by side (:func:`compare`) and coverage studies
over toys with known MI (:mod:`~bayesmi.studies.validation`). The toys themselves are
:mod:`bayesmi.toys`."""

from bayesmi.studies import validation
from bayesmi.studies.comparison import Comparison, compare, comparison_table

__all__ = ["compare", "Comparison", "comparison_table", "validation"]
