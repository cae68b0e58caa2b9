"""EM (MAP and maximum likelihood, weighted, batched) and the selection of the number of components."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bayesmi import mixture
from bayesmi.infer import em
from bayesmi.models import GMMPrior
from bayesmi.options import FitOptions

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


def _fit(z, k, prior, key):
    """EM on one data set (a batch of one, no padding rows): the parameters of that set."""
    params, _ = em.fit(z[None], jnp.ones((1, z.shape[0])), k, prior, key)
    return jax.tree.map(lambda a: a[0], params)


def _select(z, prior, key, select_by="bic"):
    """K chosen for one data set: (K, its fit, {K: score} for every K tried)."""
    sel = em.select_components(z[None], jnp.ones((1, z.shape[0])), prior, key, select_by=select_by)
    scores = {k: s for k, s in enumerate(sel.scores[0], 1) if np.isfinite(s)}
    return int(sel.n_components[0]), jax.tree.map(lambda a: a[0], sel.params), scores


def _refit(z, params, weights, prior):
    """EM refits of one data set warm-started at ``params``, one per row of ``weights`` (B, N)."""
    params, info = em.refit(z[None], jax.tree.map(lambda a: a[None], params), weights[None], prior)
    return jax.tree.map(lambda a: a[0], (params, info))


def _match(est_means):
    """Permutation of estimated components closest to the truth."""
    return [int(np.argmin(np.sum((np.asarray(est_means) - m) ** 2, 1))) for m in TRUE_MEANS]


@pytest.mark.parametrize("prior", [GMMPrior(), None], ids=["map", "ml"])
def test_em_recovers_parameters(three_clusters, prior):
    z, n = three_clusters
    params = _fit(z, 3, prior, jax.random.key(0))
    order = _match(params.means)
    assert sorted(order) == [0, 1, 2]
    means = np.asarray(params.means)[order]
    weights = np.asarray(params.weights)[order]
    covs = np.asarray(mixture.covariances(params))[order]
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
    k, params, bics = _select(z, GMMPrior(), jax.random.key(1))
    assert k == 3
    assert min(bics, key=bics.get) == 3
    assert params.weights.shape == (3,)


def test_bic_selects_one_component_for_a_gaussian():
    rng = np.random.default_rng(2)
    z = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], 2000).astype(np.float32)
    k, _, _ = _select(jnp.asarray(z), GMMPrior(), jax.random.key(0))
    assert k == 1


def test_prior_keeps_tied_points_from_collapsing():
    """Many repeated points would make the likelihood unbounded; the MAP fit stays finite."""
    rng = np.random.default_rng(4)
    z = np.concatenate([rng.normal(size=(300, 2)), np.zeros((100, 2))]).astype(np.float32)
    params = _fit(jnp.asarray(z), 3, GMMPrior(), jax.random.key(0))
    covs = np.asarray(mixture.covariances(params))
    assert np.all(np.isfinite(covs))
    assert np.all(np.linalg.eigvalsh(covs) > 1e-4)


def test_cross_validation_selects_three_components(three_clusters):
    z, _ = three_clusters
    k, params, scores = _select(z, None, jax.random.key(5), select_by="cv")
    assert k == 3
    assert min(scores, key=scores.get) == 3
    assert params.weights.shape == (3,)


def test_unknown_criterion_is_rejected():
    """EM assumes a valid rule; an unknown one is refused where the fit settings are made."""
    with pytest.raises(ValueError, match="select_by"):
        FitOptions(select_by="loo")


def test_count_weights_equal_resampled_data(three_clusters):
    """A bootstrap replicate as multinomial counts gives the same EM fit as the resampled rows."""
    z, n = three_clusters
    params = _fit(z, 3, None, jax.random.key(0))
    rows = np.random.default_rng(6).integers(0, n, n)
    counts = np.bincount(rows, minlength=n).astype(np.float32)
    weighted, weighted_info = _refit(z, params, jnp.asarray(counts)[None], None)
    explicit, explicit_info = _refit(z[rows], params, jnp.ones((1, n)), None)
    np.testing.assert_allclose(weighted_info.log_likelihood, explicit_info.log_likelihood, rtol=1e-5)
    np.testing.assert_allclose(weighted.means, explicit.means, atol=1e-4)
    np.testing.assert_allclose(mixture.covariances(weighted), mixture.covariances(explicit), atol=1e-4)


def test_vmapped_refits_equal_a_loop(three_clusters):
    z, n = three_clusters
    params = _fit(z, 3, None, jax.random.key(0))
    rng = np.random.default_rng(7)
    counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(4)]).astype(np.float32)
    batch, batch_info = _refit(z, params, jnp.asarray(counts), None)
    for b in range(4):
        single, single_info = _refit(z, params, jnp.asarray(counts[b : b + 1]), None)
        np.testing.assert_allclose(batch_info.log_likelihood[b], single_info.log_likelihood[0], rtol=1e-6)
        np.testing.assert_allclose(batch.means[b], single.means[0], atol=1e-5)
        assert int(batch_info.n_iter[b]) == int(single_info.n_iter[0])


@pytest.mark.parametrize("select_by", ["bic", "cv"])
def test_choice_of_k_is_the_same_with_ks_fitted_at_once_or_in_turn(three_clusters, select_by):
    z, _ = three_clusters
    mask = jnp.ones((1, z.shape[0]))
    one, three = (em.select_components(z[None], mask, GMMPrior(), jax.random.key(3), select_by=select_by,
                                       workers=w) for w in (1, 3))
    np.testing.assert_array_equal(one.n_components, three.n_components)
    np.testing.assert_array_equal(one.scores, three.scores)
    jax.tree.map(np.testing.assert_array_equal, one.params, three.params)
