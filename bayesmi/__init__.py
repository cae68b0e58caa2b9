"""bayesmi: Bayesian mutual-information estimation with Gaussian mixtures.

>>> import bayesmi
>>> x, y = bayesmi.toys.gaussian(rho=0.75).sample(2000, seed=0)
>>> res = bayesmi.estimate_mi(x, y, method="nuts", seed=0)   # doctest: +SKIP
>>> res.mean, res.sd, res.interval(0.95)                       # doctest: +SKIP
"""

from bayesmi import toys
from bayesmi.estimate import estimate_mi
from bayesmi.inputs import TiesWarning
from bayesmi.models import GMMPrior
from bayesmi.result import ConvergenceWarning, MIResult

__all__ = ["estimate_mi", "MIResult", "GMMPrior", "ConvergenceWarning", "TiesWarning", "toys"]
__version__ = "0.1.0"
