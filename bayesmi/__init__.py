"""bayesmi: Bayesian mutual-information estimation with Gaussian mixtures.

>>> import bayesmi
>>> x, y = bayesmi.toys.gaussian(rho=0.75).sample(2000, seed=0)
>>> res = bayesmi.estimate_mi(x, y, method="nuts", seed=0)   # doctest: +SKIP
>>> res.mean, res.sd, res.interval(0.95)                       # doctest: +SKIP
"""

from bayesmi import discrete, interpret, toys
from bayesmi.compare import Comparison, compare
from bayesmi.estimate import estimate_mi
from bayesmi.information import estimate_cmi, estimate_entropy, estimate_kl, pointwise_mi
from bayesmi.inputs import TiesWarning
from bayesmi.models import GMMPrior
from bayesmi.result import ConvergenceWarning, InfoResult, MIMatrix, MIResult

__all__ = [
    "estimate_mi", "estimate_entropy", "estimate_kl", "estimate_cmi", "pointwise_mi", "compare", "Comparison", "MIResult", "InfoResult", "MIMatrix", "GMMPrior",
    "ConvergenceWarning", "TiesWarning",
    "discrete", "interpret", "toys",
]
__version__ = "0.1.0"
