"""The Bayesian Gaussian mixture: its prior (:class:`GMMPrior`) and its NumPyro model (a plain function).

The likelihood is the pure mixture density of :mod:`bayesmi.mixture`; component assignments are
marginalised, so every latent is continuous and NUTS applies. :func:`model_sites` and
:func:`sites_to_params` convert between a :class:`~bayesmi.mixture.GMMParams` and the model's
sample sites.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

with warnings.catch_warnings():  # NumPyro imports tqdm.auto, which warns in Jupyter without ipywidgets
    warnings.filterwarnings("ignore", message="IProgress not found")
    import numpyro
    import numpyro.distributions as dist

from bayesmi.mixture import GMMParams, log_prob

__all__ = ["SITES", "TAIL_GRID_SIZE", "GMMPrior", "tail_log_likelihood", "gmm_model", "model_sites", "sites_to_params"]

#: The model's sample sites, in the order of the :class:`GMMParams` fields.
SITES = ("weights", "means", "prec_chol")
#: Values of ν on :meth:`GMMPrior.tail_grid`: 3% apart, finer than the posterior of ν (sd ~5% of ν from 2000
#: rows of a 4-D t with ν = 2; at 50 values, 13% apart, that posterior sat on two of them).
TAIL_GRID_SIZE = 200


@dataclass(frozen=True)
class GMMPrior:
    """Conjugate-form prior for a K-component mixture on whitened data (D dims).

    weights ~ Dirichlet(weight_concentration · 1_K)
    Λ_k = L_k L_kᵀ ~ Wishart(dof = D + dof_offset, rate = I_D / K^{2/D})
    μ_k | Λ_k ~ N(mean, (mean_shrinkage · Λ_k)⁻¹)

    These are the defaults of Fraley & Raftery (2007) for regularised mixture
    fits. The fit path (:func:`bayesmi.fitting.fit_mixtures`) applies them to the
    data whitened by their covariance C Cᵀ, which makes the prior scale of each
    covariance in the data's coordinates ``C Cᵀ / K^{2/D}``: the data covariance
    divided among K components of equal volume, so the prior adds spread where
    the data have it and none across a strong dependence; ``dof = D + 2``
    is the smallest integer with a finite prior mean; the Wishart density
    vanishes as a covariance becomes singular, so no component can collapse
    onto tied or isolated points. ``mean_shrinkage = 0.01`` makes the prior on
    a mean ten component-widths wide (nearly flat on standardised data);
    ``weight_concentration = 1`` is uniform on the simplex.

    Student-t components (``family="student"``, Gibbs only) have degrees of freedom
    ν_k ~ Gamma(``tail_shape``, rate ``tail_rate``) = Gamma(2, 0.1), the prior of Juárez & Steel
    (2010) that the Stan team also recommends: mode 10, mean 20, and mass on both heavy tails
    (P(ν < 3) ≈ 4%) and near-Gaussian ones (P(ν > 40) ≈ 9%). It is discretised on
    :data:`TAIL_GRID_SIZE` log-spaced values in [``tail_min``, ``tail_max``] (mass ∝ density × ν),
    so that ν has an exact conditional (griddy Gibbs).
    """

    weight_concentration: float = 1.0
    dof_offset: float = 2.0
    mean_shrinkage: float = 0.01
    mean: float = 0.0
    tail_shape: float = 2.0
    tail_rate: float = 0.1
    tail_min: float = 0.5
    tail_max: float = 200.0

    def dof(self, dim: int) -> float:
        return dim + self.dof_offset

    def tail_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """The values of ν a t component can take (G,) and their log prior masses (G,), normalised."""
        grid = np.geomspace(self.tail_min, self.tail_max, TAIL_GRID_SIZE)
        log_mass = (self.tail_shape - 1.0) * np.log(grid) - self.tail_rate * grid + np.log(grid)
        return grid.astype(np.float32), (log_mass - np.logaddexp.reduce(log_mass)).astype(np.float32)

    def rate_matrix(self, n_components: int | jax.Array, dim: int) -> jax.Array:
        """Wishart rate (inverse scale) of the precisions, also the inverse-Wishart scale of Σ_k."""
        return np.eye(dim, dtype=np.float32) / n_components ** (2.0 / dim)  # a NumPy constant: compiles nothing

    def distributions(self, n_components: int, dim: int):
        """(weights, precision-Cholesky) distributions; the mean's depends on Λ_k."""
        weights = dist.Dirichlet(jnp.full(n_components, self.weight_concentration))
        prec_chol = dist.WishartCholesky(
            self.dof(dim), rate_matrix=self.rate_matrix(n_components, dim)
        ).expand([n_components])
        return weights, prec_chol

    def mean_distribution(self, prec_chol: jax.Array) -> dist.Distribution:
        precision = self.mean_shrinkage * prec_chol @ jnp.swapaxes(prec_chol, -1, -2)
        return dist.MultivariateNormal(jnp.full(prec_chol.shape[-1], self.mean), precision_matrix=precision)

    def log_prob(self, params: GMMParams) -> jax.Array:
        """Log prior density (nats) of a parameter set in the coordinates of the model's sites.

        Components of weight exactly 0 are padding (see :func:`bayesmi.mixture.pad_components`):
        the density is that of the prior of the K active components alone.
        """
        dim = params.means.shape[-1]
        active = params.weights > 0
        k = active.sum()
        alpha = self.weight_concentration
        log_weights = (gammaln(k * alpha) - k * gammaln(alpha)
                       + jnp.sum(jnp.where(active, (alpha - 1.0) * jnp.log(jnp.where(active, params.weights, 1.0)),
                                           0.0)))
        wishart = dist.WishartCholesky(self.dof(dim), rate_matrix=self.rate_matrix(k, dim))
        per_component = wishart.log_prob(params.prec_chol) + self.mean_distribution(params.prec_chol).log_prob(
            params.means)
        return log_weights + jnp.sum(jnp.where(active, per_component, 0.0))


def tail_log_likelihood(grid: np.ndarray, count: jax.Array, sum_log_scale: jax.Array, sum_scale: jax.Array
                        ) -> jax.Array:
    """``Σ_i log Gamma(g_i | ν/2, rate ν/2)`` (nats) for every component (K,) and grid value ν (G,): (K, G),
    from the components' sufficient statistics of their rows' mixing variables g: ``count`` (rows, or
    responsibilities), ``sum_log_scale`` Σ log g and ``sum_scale`` Σ g (or their expectations, for EM)."""
    half = 0.5 * grid  # (G,)
    return (count[:, None] * (half * jnp.log(half) - gammaln(half)) + sum_log_scale[:, None] * (half - 1.0)
            - sum_scale[:, None] * half)


def gmm_model(z: jax.Array, n_components: int, prior: GMMPrior = GMMPrior(), mask: jax.Array | None = None) -> None:
    """Gaussian mixture over the rows of ``z`` (N, D), assignments marginalised.

    Sites: ``weights`` (K,), ``prec_chol`` (K, D, D), ``means`` (K, D); the data
    enter through one ``numpyro.factor`` holding Σ_i log p(z_i). ``mask`` (N,), if given, weighs
    the rows: 1 for a row of the data set, 0 for padding, which contributes nothing (data sets of
    different sizes can then share one padded shape), and N_total / B for each row of a random
    subsample of B rows (an unbiased estimate of the full log-likelihood, for minibatch SVI).
    """
    dim = z.shape[-1]
    weights_dist, prec_chol_dist = prior.distributions(n_components, dim)
    weights = numpyro.sample("weights", weights_dist)
    prec_chol = numpyro.sample("prec_chol", prec_chol_dist)
    means = numpyro.sample("means", prior.mean_distribution(prec_chol))
    row_log_lik = log_prob(GMMParams(weights, means, prec_chol), z)
    if mask is not None:
        row_log_lik = jnp.where(mask > 0, mask * row_log_lik, 0.0)
    numpyro.factor("log_likelihood", row_log_lik.sum())


def model_sites(params: GMMParams) -> dict[str, jax.Array]:
    """The sample sites of :func:`gmm_model` holding ``params``."""
    return dict(zip(SITES, params))


def sites_to_params(sites: dict[str, jax.Array]) -> GMMParams:
    """A :class:`GMMParams` from the sample sites of :func:`gmm_model` (leaves keep any leading axes)."""
    return GMMParams(*(sites[name] for name in SITES))
