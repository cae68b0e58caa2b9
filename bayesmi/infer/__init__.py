"""Inference algorithms for the Bayesian Gaussian mixture, one module each (BlackJAX style).

- :mod:`~bayesmi.infer.em`: EM (MAP or maximum likelihood), batched over data sets, folds, starts
  and replicates; the choice of the number of components.
- :mod:`~bayesmi.infer.gibbs`: exact conjugate Gibbs sampler (pure kernel + compiled scan).
- :mod:`~bayesmi.infer.nuts`: NumPyro NUTS with a dense mass matrix.
- :mod:`~bayesmi.infer.svi`: NumPyro SVI with a full-rank Gaussian guide.
- :mod:`~bayesmi.infer.bootstrap`: the frequentist bootstrap of EM (GMM-MI's baseline).

Every posterior driver has the same ``sample`` signature and an ``Info`` NamedTuple that owns its
convergence checks (see :mod:`~bayesmi.infer.base`); :data:`DRIVERS` maps a method name to its module.
"""

from types import ModuleType

from bayesmi.infer import bootstrap, em, gibbs, nuts, svi

__all__ = ["DRIVERS", "bootstrap", "em", "gibbs", "nuts", "svi"]

#: Method name -> driver module (each with ``sample`` and an ``Info`` type).
DRIVERS: dict[str, ModuleType] = {"gibbs": gibbs, "nuts": nuts, "svi": svi, "bootstrap": bootstrap}
