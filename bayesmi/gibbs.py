"""Exact Gibbs sampler for the conjugate Gaussian mixture of :func:`bayesmi.models.gmm_model`.

The prior of :class:`~bayesmi.models.GMMPrior` (Dirichlet weights,
Normal-Wishart components) is conjugate given the component assignments, so a
two-block Gibbs sampler alternates

1. assignments ``c_i ~ Categorical(w_k N(z_i | μ_k, Λ_k⁻¹))``, and
2. ``w, (μ_k, Λ_k)`` from their closed-form conditionals given ``c``.

One sweep costs about one likelihood evaluation, against tens of gradient
evaluations per NUTS iteration on overlapping mixtures. The kernel is a pure
function on a :class:`GibbsState` pytree (BlackJAX style); :func:`sample_chains`
runs vectorised chains with a compiled scan. (Driving the kernel through
NumPyro's ``MCMC`` recompiled its sampling loop on every run: 4.4 s of XLA
compilation per fit at N=500, against 0.09 s for the 2400 sweeps themselves.)
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import tqdm

from bayesmi import gmm
from bayesmi.gmm import GMMParams
from bayesmi.models import GMMPrior

__all__ = ["GibbsState", "gibbs_step", "sample_chains"]


class GibbsState(NamedTuple):
    """State of one chain: current mixture parameters and the log likelihood (nats) they had."""

    params: GMMParams
    log_likelihood: jax.Array
    rng_key: jax.Array


def _sample_prec_chol(key: jax.Array, dof: jax.Array, rate: jax.Array) -> jax.Array:
    """Cholesky factor of Λ ~ Wishart(dof, rate⁻¹) by the Bartlett decomposition; batched over K.

    dof: (K,), rate: (K, D, D) -> (K, D, D).
    """
    k, dim = rate.shape[0], rate.shape[-1]
    key_chi, key_normal = jax.random.split(key)
    scale_chol = jnp.linalg.cholesky(jnp.linalg.inv(rate))  # A with A Aᵀ = rate⁻¹
    chi2 = 2.0 * jax.random.gamma(key_chi, (dof[:, None] - jnp.arange(dim)) / 2.0, (k, dim))
    lower = jnp.tril(jax.random.normal(key_normal, (k, dim, dim)), -1)
    bartlett = lower + jax.vmap(jnp.diag)(jnp.sqrt(chi2))
    return scale_chol @ bartlett


def gibbs_step(state: GibbsState, z: jax.Array, prior: GMMPrior) -> GibbsState:
    """One sweep: assignments given parameters, then parameters given assignments."""
    key, key_c, key_w, key_prec, key_mean = jax.random.split(state.rng_key, 5)
    k, dim = state.params.means.shape
    comp = gmm.component_log_prob(state.params, z)  # (N, K)
    log_likelihood = jax.nn.logsumexp(comp, -1).sum()
    assign = jax.nn.one_hot(jax.random.categorical(key_c, comp), k, dtype=z.dtype)  # (N, K)

    counts = assign.sum(0)
    safe = jnp.maximum(counts, 1.0)
    zbar = (assign.T @ z) / safe[:, None]
    centred = z[None] - zbar[:, None]  # (K, N, D)
    scatter = jnp.einsum("nk,kni,knj->kij", assign, centred, centred)
    kappa, m0 = prior.mean_shrinkage, prior.mean
    shift = zbar - m0
    rate = (prior.rate_matrix(k, dim) + scatter
            + (kappa * counts / (kappa + counts))[:, None, None] * shift[:, :, None] * shift[:, None, :])
    prec_chol = _sample_prec_chol(key_prec, prior.dof(dim) + counts, rate)
    post_mean = (kappa * m0 + counts[:, None] * zbar) / (kappa + counts)[:, None]
    eps = jax.random.normal(key_mean, (k, dim, 1), z.dtype)
    # μ = m + ((κ+n)Λ)^(-1/2) ε, with L⁻ᵀ as the square root of Λ⁻¹.
    shift_mean = jax.scipy.linalg.solve_triangular(jnp.swapaxes(prec_chol, -1, -2), eps, lower=False)[..., 0]
    means = post_mean + shift_mean / jnp.sqrt(kappa + counts)[:, None]
    weights = jax.random.dirichlet(key_w, prior.weight_concentration + counts)
    weights = jnp.maximum(weights, jnp.finfo(z.dtype).tiny)
    return GibbsState(GMMParams(weights / weights.sum(), means, prec_chol), log_likelihood, key)


#: Progress-bar updates per run (the sweeps between two updates run as one compiled scan).
PROGRESS_UPDATES = 20


@partial(jax.jit, static_argnames=("prior", "num_sweeps"))
def _advance(states: GibbsState, z: jax.Array, prior: GMMPrior, num_sweeps: int):
    """``num_sweeps`` sweeps of every chain (vmapped); returns the final states and the
    visited parameters and log-likelihoods, leading axes (num_sweeps, chains)."""

    def body(s, _):
        s = jax.vmap(lambda c: gibbs_step(c, z, prior))(s)
        return s, (s.params, s.log_likelihood)

    return jax.lax.scan(body, states, None, length=num_sweeps)


def sample_chains(
    z: jax.Array, init: GMMParams, prior: GMMPrior, key: jax.Array,
    num_warmup: int, num_samples: int, progress: bool = True,
) -> tuple[GMMParams, jax.Array]:
    """Run ``init.weights.shape[0]`` chains from ``init`` (leaves (chains, K, ...)).

    Returns the draws after warmup, leaves (chains, num_samples, ...), and each
    draw's log-likelihood (chains, num_samples) in nats. Sweeps run in
    :data:`PROGRESS_UPDATES` compiled chunks; rounding the total up to whole
    chunks only lengthens the warmup.
    """
    chains = init.weights.shape[0]
    total = num_warmup + num_samples
    chunk = -(-total // min(PROGRESS_UPDATES, total))
    n_chunks = -(-total // chunk)
    state = GibbsState(init, jnp.zeros(chains, init.means.dtype), jax.random.split(key, chains))
    params, log_lik = [], []
    for _ in tqdm.trange(n_chunks, desc="Gibbs", disable=not progress):
        state, (p, ll) = _advance(state, z, prior, chunk)
        params.append(p)
        log_lik.append(ll)
    keep = lambda *parts: jnp.swapaxes(jnp.concatenate(parts)[-num_samples:], 0, 1)  # noqa: E731
    return jax.tree.map(keep, *params), keep(*log_lik)
