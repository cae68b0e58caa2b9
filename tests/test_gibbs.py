"""The conjugate Gibbs kernel samples the posterior of the NumPyro model."""

import jax
import jax.numpy as jnp
import numpy as np

from bayesmi import mixture
from bayesmi.infer import gibbs
from bayesmi.models import GMMPrior
from bayesmi.options import FitOptions
from bayesmi.util import Progress


def test_single_component_matches_normal_wishart_posterior():
    """For K = 1 every sweep is an exact posterior draw; compare with the closed-form mean of Σ."""
    rng = np.random.default_rng(0)
    n, dim = 200, 2
    z = rng.multivariate_normal([0.3, -0.2], [[1.0, 0.6], [0.6, 1.5]], n)
    prior = GMMPrior()
    zbar = z.mean(0)
    scatter = (z - zbar).T @ (z - zbar)
    kappa = prior.mean_shrinkage
    rate_n = np.asarray(prior.rate_matrix(1, dim)) + scatter + kappa * n / (kappa + n) * np.outer(zbar, zbar)
    dof_n = prior.dof(dim) + n
    expected_cov = rate_n / (dof_n - dim - 1)
    expected_mean = n * zbar / (kappa + n)

    init = mixture.from_covariances(jnp.ones(1), jnp.asarray(zbar[None], jnp.float32),
                                    jnp.asarray(np.cov(z.T)[None], jnp.float32))
    params, _ = gibbs.sample(
        jnp.asarray(z, jnp.float32)[None], jnp.ones((1, n)), jax.tree.map(lambda a: a[None], init), np.array([1]),
        prior, jax.random.key(0), FitOptions(num_chains=2, num_warmup=50, num_samples=2000, progress=False),
        Progress(False, ""))
    params = jax.tree.map(lambda a: a[0], params)  # (chains, draws, K, ...)
    covs = np.asarray(mixture.covariances(jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), params)))[:, 0]
    means = np.asarray(params.means).reshape(-1, dim)
    m = len(covs)
    # Monte Carlo tolerance from the spread of the draws (independent draws for K = 1).
    assert np.all(np.abs(covs.mean(0) - expected_cov) < 5 * covs.std(0) / np.sqrt(m))
    assert np.all(np.abs(means.mean(0) - expected_mean) < 5 * means.std(0) / np.sqrt(m))
    # posterior sd of a mean is ≈ sqrt(Σ_ii / n)
    np.testing.assert_allclose(means.std(0), np.sqrt(np.diag(expected_cov) / n), rtol=0.1)


def test_mixing_variables_follow_the_gamma_distribution_at_every_shape():
    """The vectorised rejection sampler of the t components' mixing variables is exact: at shapes below
    1 (boosted), at 1 (most rejections) and above, 100 000 draws pass a Kolmogorov-Smirnov test against
    SciPy's Gamma at the 1% level, and their mean is the shape within 5 standard errors; within one call
    of mixed shapes each element follows its own."""
    from scipy import stats

    shapes = np.array([0.3, 0.75, 1.0, 1.75, 3.0, 50.0], np.float32)
    n = 100_000
    draws = np.asarray(jax.jit(gibbs._standard_gamma)(jax.random.key(3), jnp.asarray(np.repeat(shapes, n))))
    for shape, values in zip(shapes, draws.reshape(len(shapes), n)):
        assert np.all(values > 0)
        assert stats.kstest(values, stats.gamma(shape).cdf).pvalue > 0.01, shape
        assert abs(values.mean() - shape) < 5 * np.sqrt(shape / n), shape
