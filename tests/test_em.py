"""MAP-EM and BIC selection of the number of components."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesmi import em, gmm
from bayesmi.models import GMMPrior

TRUE_MEANS = np.array([[-3.0, 0.0], [0.0, 3.0], [3.0, -1.0]])
TRUE_WEIGHTS = np.array([0.5, 0.3, 0.2])
TRUE_COVS = np.array([[[0.5, 0.2], [0.2, 0.4]], [[0.3, 0.0], [0.0, 0.6]], [[0.4, -0.1], [-0.1, 0.3]]])


@pytest.fixture(scope="module")
def three_clusters():
    rng = np.random.default_rng(0)
    n = 3000
    comp = rng.choice(3, n, p=TRUE_WEIGHTS)
    z = np.stack([rng.multivariate_normal(TRUE_MEANS[c], TRUE_COVS[c]) for c in comp])
    return jnp.asarray(z, jnp.float32), n


def _match(est_means):
    """Permutation of estimated components closest to the truth."""
    return [int(np.argmin(np.sum((np.asarray(est_means) - m) ** 2, 1))) for m in TRUE_MEANS]


def test_em_recovers_parameters(three_clusters):
    z, n = three_clusters
    fit, _ = em.fit_em(z, 3, GMMPrior(), jax.random.key(0))
    order = _match(fit.params.means)
    assert sorted(order) == [0, 1, 2]
    means = np.asarray(fit.params.means)[order]
    weights = np.asarray(fit.params.weights)[order]
    covs = np.asarray(gmm.covariances(fit.params))[order]
    for k in range(3):
        n_k = n * TRUE_WEIGHTS[k]
        se_mean = np.sqrt(np.diag(TRUE_COVS[k]) / n_k)
        assert np.all(np.abs(means[k] - TRUE_MEANS[k]) < 5 * se_mean)
        # sd of a sample variance is ≈ σ² √(2/n_k)
        se_cov = np.diag(TRUE_COVS[k]) * np.sqrt(2 / n_k)
        assert np.all(np.abs(np.diag(covs[k]) - np.diag(TRUE_COVS[k])) < 5 * se_cov)
    se_w = np.sqrt(TRUE_WEIGHTS * (1 - TRUE_WEIGHTS) / n)
    assert np.all(np.abs(weights - TRUE_WEIGHTS) < 5 * se_w)


def test_bic_selects_three_components(three_clusters):
    z, _ = three_clusters
    k, fit, bics = em.select_components(z, GMMPrior(), jax.random.key(1))
    assert k == 3
    assert min(bics, key=bics.get) == 3
    assert fit.params.weights.shape == (3,)


def test_bic_selects_one_component_for_a_gaussian():
    rng = np.random.default_rng(2)
    z = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], 2000).astype(np.float32)
    k, _, _ = em.select_components(jnp.asarray(z), GMMPrior(), jax.random.key(0))
    assert k == 1


def test_masked_fit_equals_unmasked(three_clusters):
    """Fitting K components inside a larger compiled program (masked slots) gives the same fit."""
    z, _ = three_clusters
    small, _ = em.fit_em(z, 2, GMMPrior(), jax.random.key(3))
    padded, _ = em.fit_em(z, 2, GMMPrior(), jax.random.key(3), max_components=2)
    np.testing.assert_allclose(float(small.log_likelihood), float(padded.log_likelihood), rtol=1e-6)


def test_prior_keeps_tied_points_from_collapsing():
    """Many repeated points would make the likelihood unbounded; the MAP fit stays finite."""
    rng = np.random.default_rng(4)
    z = np.concatenate([rng.normal(size=(300, 2)), np.zeros((100, 2))]).astype(np.float32)
    fit, _ = em.fit_em(jnp.asarray(z), 3, GMMPrior(), jax.random.key(0))
    covs = np.asarray(gmm.covariances(fit.params))
    assert np.all(np.isfinite(covs))
    assert np.all(np.linalg.eigvalsh(covs) > 1e-4)
