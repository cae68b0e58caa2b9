"""Gaussian-mixture mathematics as pure JAX functions on a parameter pytree (bottom layer).

:mod:`~bayesmi.mixture.params` (the :class:`GMMParams` pytree, densities, marginals, samples),
:mod:`~bayesmi.mixture.quadrature` (randomised-QMC expectations under a mixture) and
:mod:`~bayesmi.mixture.information` (MI, entropy, KL, conditional and categorical MI per parameter
set). Everything is jit-able and vmap-able over posterior draws; nothing here knows about
NumPyro, inference, results or plotting, and this package imports nothing else of bayesmi.
"""

from bayesmi.mixture.information import (
    categorical_mutual_information,
    class_log_likelihoods,
    class_mixture,
    closed_form,
    conditional_mutual_information,
    entropy,
    kl_divergence,
    mutual_information,
    pointwise_categorical_mutual_information,
    pointwise_conditional_mutual_information,
    pointwise_mutual_information,
)
from bayesmi.mixture.params import (
    GMMParams,
    component_log_prob,
    component_points,
    covariances,
    distance_log_prob,
    first_components,
    from_covariances,
    log_prob,
    mahalanobis,
    marginal,
    mixing_quantile,
    pad_components,
    point_dim,
    sample,
)
from bayesmi.mixture.quadrature import expectation, mc_estimate, qmc_normal_points

__all__ = [
    "GMMParams", "component_log_prob", "log_prob", "covariances", "from_covariances", "marginal", "pad_components",
    "first_components",
    "component_points", "point_dim", "mixing_quantile", "mahalanobis", "distance_log_prob", "sample", "qmc_normal_points", "expectation", "mc_estimate", "pointwise_mutual_information",
    "mutual_information", "entropy", "kl_divergence", "pointwise_conditional_mutual_information",
    "conditional_mutual_information", "class_log_likelihoods", "class_mixture",
    "pointwise_categorical_mutual_information",
    "categorical_mutual_information", "closed_form",
]
