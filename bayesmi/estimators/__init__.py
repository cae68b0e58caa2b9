"""The estimators: from user data to an :class:`~bayesmi.MIResult` (or :class:`~bayesmi.MIMatrix`).

- :mod:`~bayesmi.estimators.mi`: :func:`estimate_mi` (continuous y, or class labels with
  ``y_type="categorical"``, :mod:`~bayesmi.estimators.categorical`);
- :mod:`~bayesmi.estimators.information`: entropy, KL divergence, conditional and pointwise MI;
- :mod:`~bayesmi.estimators.matrix`: :func:`mi_matrix`, every column of A against every column of B;
- :mod:`~bayesmi.estimators.discrete`: discrete variables under a Dirichlet table posterior;
- :mod:`~bayesmi.estimators.ksg`, :mod:`~bayesmi.estimators.mienf`: ``estimate_mi(method="ksg")`` (the
  nearest-neighbour baseline) and ``method="mienf"`` (MIENF flows, a Gaussian posterior on their latents).

The mixture estimators share one fit path (:mod:`bayesmi.fitting`) and one result assembly
(:mod:`~bayesmi.estimators.posterior`); fit settings reach all of them as :class:`~bayesmi.FitOptions`.
"""

from bayesmi.estimators import discrete
from bayesmi.estimators.information import estimate_cmi, estimate_entropy, estimate_kl, pointwise_mi
from bayesmi.estimators.matrix import mi_matrix
from bayesmi.estimators.mi import estimate_mi

__all__ = ["estimate_mi", "estimate_entropy", "estimate_kl", "estimate_cmi", "pointwise_mi", "mi_matrix", "discrete"]
