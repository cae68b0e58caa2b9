"""Maximum-a-posteriori EM for full-covariance Gaussian mixtures, in JAX.

The prior is the conjugate one of :class:`bayesmi.models.GMMPrior`
(Fraley & Raftery 2007, "Bayesian regularization for normal mixture
estimation"): it keeps every covariance away from singular, so EM cannot
collapse a component onto a few points. The same prior is used by the
Bayesian models, so the EM fit is the posterior mode that NUTS and SVI start
from.

EM runs are batched with ``jax.vmap`` over random initialisations; the number
of components is chosen by BIC evaluated at the MAP fit.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayesmi import gmm
from bayesmi.gmm import GMMParams
from bayesmi.models import GMMPrior

__all__ = ["EMFit", "fit_em", "select_components", "n_parameters"]


class EMFit(NamedTuple):
    """Result of one MAP-EM fit. ``log_likelihood`` and ``log_posterior`` in nats (totals over data)."""

    params: GMMParams
    log_likelihood: jax.Array
    log_posterior: jax.Array
    n_iter: jax.Array


def n_parameters(n_components: int, dim: int) -> int:
    """Free parameters of a full-covariance mixture (weights, means, covariances)."""
    return n_components - 1 + n_components * dim + n_components * dim * (dim + 1) // 2


def _m_step(z: jax.Array, resp: jax.Array, prior: GMMPrior, active: jax.Array) -> GMMParams:
    """Conjugate MAP update of weights, means and covariances from responsibilities (N, K).

    ``active`` (K,) masks the components in use; inactive ones get weight zero.
    """
    n, dim = z.shape
    n_active = active.sum()
    nk = resp.sum(0) + 1e-10  # (K,)
    zbar = (resp.T @ z) / nk[:, None]  # (K, D)
    diff = z[None, :, :] - zbar[:, None, :]  # (K, N, D)
    scatter = jnp.einsum("nk,kni,knj->kij", resp, diff, diff)
    kappa = prior.mean_shrinkage
    shift = zbar - prior.mean
    means = (nk[:, None] * zbar + kappa * prior.mean) / (nk[:, None] + kappa)
    rate = jnp.eye(dim) / n_active ** (2.0 / dim)  # prior.rate_matrix with a traced K
    covs = (
        rate
        + (kappa * nk / (kappa + nk))[:, None, None] * shift[:, :, None] * shift[:, None, :]
        + scatter
    ) / (prior.dof(dim) + nk + dim + 2)[:, None, None]
    alpha = prior.weight_concentration
    weights = jnp.where(active, jnp.maximum(nk + alpha - 1.0, 1e-10), 0.0)
    weights = weights / weights.sum()
    return gmm.from_covariances(weights, means, covs)


def _fit_one(
    z: jax.Array, init_means: jax.Array, active: jax.Array, prior: GMMPrior, max_iter: int, tol: float
) -> EMFit:
    n, dim = z.shape
    k = init_means.shape[0]
    # Start from hard assignments to the nearest active initial mean.
    d2 = jnp.where(active, jnp.sum((z[:, None, :] - init_means[None]) ** 2, -1), jnp.inf)
    resp0 = jax.nn.one_hot(jnp.argmin(d2, 1), k, dtype=z.dtype)
    params0 = _m_step(z, resp0, prior, active)

    def cond(state):
        _, ll, ll_old, it = state
        return (it < max_iter) & (jnp.abs(ll - ll_old) > tol * n)

    def body(state):
        params, ll, _, it = state
        comp = gmm.component_log_prob(params, z)
        log_norm = jax.nn.logsumexp(comp, 1, keepdims=True)
        new_params = _m_step(z, jnp.exp(comp - log_norm), prior, active)
        return new_params, jnp.sum(log_norm), ll, it + 1

    init = (params0, jnp.asarray(-jnp.inf, z.dtype), jnp.asarray(jnp.inf, z.dtype), 0)
    params, _, _, n_iter = jax.lax.while_loop(cond, body, init)
    log_lik = jnp.sum(gmm.log_prob(params, z))
    return EMFit(params, log_lik, log_lik, n_iter)


def _kmeanspp_means(key: jax.Array, z: jax.Array, k: int) -> jax.Array:
    """k-means++ seeding: K data points, each drawn with probability ∝ squared distance to the chosen ones."""
    n = z.shape[0]
    keys = jax.random.split(key, k)
    first = z[jax.random.randint(keys[0], (), 0, n)]
    means = jnp.zeros((k, z.shape[1]), z.dtype).at[0].set(first)
    d2 = jnp.sum((z - first) ** 2, -1)

    def step(carry, i):
        means, d2 = carry
        idx = jax.random.categorical(keys[i], jnp.log(d2 + 1e-12))
        means = means.at[i].set(z[idx])
        return (means, jnp.minimum(d2, jnp.sum((z - z[idx]) ** 2, -1))), None

    (means, _), _ = jax.lax.scan(step, (means, d2), jnp.arange(1, k))
    return means


def fit_em(
    z: jax.Array,
    n_components: int,
    prior: GMMPrior,
    key: jax.Array,
    n_init: int = 4,
    max_iter: int = 300,
    tol: float = 1e-6,
    max_components: int | None = None,
) -> tuple[EMFit, EMFit]:
    """MAP-EM from ``n_init`` k-means++ starts, vmapped over the starts.

    The computation is compiled once for ``max_components`` slots (default
    ``n_components``) with the unused slots masked out, so trying K = 1, 2, …
    reuses one compiled program. Returns ``(best, all_fits)``: the fit of
    highest log posterior (components trimmed to ``n_components``) and the
    batch of every start (leading axis ``n_init``).
    """
    slots = max(max_components or n_components, n_components)
    active = jnp.arange(slots) < n_components
    fits = _fit_em_batch(jnp.asarray(z), active, prior, key, n_init, max_iter, tol)
    fits = fits._replace(params=jax.tree.map(lambda a: a[:, :n_components], fits.params))
    fits = fits._replace(params=fits.params._replace(
        weights=fits.params.weights / fits.params.weights.sum(-1, keepdims=True)))
    log_post = fits.log_likelihood + _batched_log_prior(prior, fits.params)
    fits = fits._replace(log_posterior=log_post)
    best = int(jnp.argmax(jnp.nan_to_num(log_post, nan=-jnp.inf)))
    return jax.tree.map(lambda a: a[best], fits), fits


@partial(jax.jit, static_argnums=(0,))
def _batched_log_prior(prior: GMMPrior, params: GMMParams) -> jax.Array:
    return jax.vmap(prior.log_prob)(params)


@partial(jax.jit, static_argnums=(2, 4, 5, 6))
def _fit_em_batch(z, active, prior, key, n_init, max_iter, tol):
    slots = active.shape[0]
    starts = jax.vmap(lambda k: _kmeanspp_means(k, z, slots))(jax.random.split(key, n_init))
    return jax.vmap(lambda m: _fit_one(z, m, active, prior, max_iter, tol))(starts)


def select_components(
    z: jax.Array,
    prior: GMMPrior,
    key: jax.Array,
    max_components: int = 10,
    n_init: int = 4,
    patience: int = 2,
) -> tuple[int, EMFit, dict[int, float]]:
    """Choose the number of components by BIC of the MAP-EM fit.

    K = 1, 2, … is increased until BIC has not improved for ``patience``
    consecutive values (or ``max_components`` is reached). BIC is a consistent
    estimator of the number of mixture components (Keribin 2000) and, unlike
    an overfitted sparse mixture, leaves no empty components for NUTS to
    wander in. Returns ``(K, best_fit, {K: BIC})``.
    """
    n, dim = z.shape
    bics: dict[int, float] = {}
    fits: dict[int, EMFit] = {}
    best_k = 1
    for k, subkey in zip(range(1, max_components + 1), jax.random.split(key, max_components)):
        fit, _ = fit_em(z, k, prior, subkey, n_init=n_init, max_components=max_components)
        bics[k] = float(-2.0 * fit.log_likelihood + n_parameters(k, dim) * np.log(n))
        fits[k] = fit
        if bics[k] < bics[best_k]:
            best_k = k
        elif k - best_k >= patience:
            break
    return best_k, fits[best_k], bics
