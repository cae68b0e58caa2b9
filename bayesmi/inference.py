"""Inference drivers: NUTS, conjugate Gibbs or SVI on :func:`bayesmi.models.gmm_model`,
and the frequentist bootstrap baseline.

Each returns draws of the mixture parameters as a :class:`GMMParams` whose
leaves carry leading axes (chains, draws), plus sampler statistics, so every
estimator flows through the same MI and ArviZ code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import tqdm
from numpyro.infer import MCMC, NUTS, SVI, Trace_ELBO, init_to_value
from numpyro.infer.autoguide import AutoMultivariateNormal
from numpyro.infer.util import unconstrain_fn

from bayesmi import em, gibbs
from bayesmi.gmm import GMMParams
from bayesmi.models import GMMPrior, gmm_model

__all__ = ["Posterior", "run_nuts", "run_gibbs", "run_svi", "run_bootstrap"]

SAMPLE_STATS = {"diverging": "diverging", "num_steps": "n_steps", "tree_depth": "tree_depth",
                "energy": "energy", "accept_prob": "acceptance_rate", "potential_energy": "lp"}


@dataclass
class Posterior:
    """Posterior draws of the mixture parameters, leaves shaped (chains, draws, ...).

    sample_stats: per-draw sampler statistics named as ArviZ expects, each (chains, draws).
    info: scalar facts about the run (step size, ELBO trace, ...).
    """

    params: GMMParams
    sample_stats: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def _sites(params: GMMParams) -> dict[str, jax.Array]:
    return {"weights": params.weights, "means": params.means, "prec_chol": params.prec_chol}


def _to_params(sites: dict[str, jax.Array]) -> GMMParams:
    return GMMParams(sites["weights"], sites["means"], sites["prec_chol"])


def _chain_method(num_chains: int) -> str:
    return "parallel" if jax.local_device_count() >= num_chains else "sequential"


def run_nuts(
    z: jax.Array,
    n_components: int,
    prior: GMMPrior,
    init: GMMParams,
    key: jax.Array,
    num_chains: int = 4,
    num_warmup: int = 500,
    num_samples: int = 1000,
    init_jitter: float = 0.1,
    chain_method: str | None = None,
    progress: bool = True,
) -> Posterior:
    """NUTS with a dense mass matrix, every chain started near the MAP fit ``init``.

    Each chain starts at ``init`` perturbed by ``N(0, init_jitter²)`` in the
    unconstrained space, so chains begin in the posterior's bulk (no chain
    wanders in from a degenerate region) yet are dispersed enough for R-hat.
    The dense mass matrix absorbs the strong correlations between weights,
    means and precisions of a mixture. ``chain_method`` defaults to
    "parallel" when there are as many JAX devices as chains, else "sequential".
    """
    key_init, key_run = jax.random.split(key)
    model_args = (z, n_components, prior)
    flat_init = unconstrain_fn(gmm_model, model_args, {}, _sites(init))
    leaves, treedef = jax.tree.flatten(flat_init)
    keys = jax.random.split(key_init, len(leaves))
    init_params = jax.tree.unflatten(treedef, [
        leaf + init_jitter * jax.random.normal(k, (num_chains,) + leaf.shape, leaf.dtype)
        for leaf, k in zip(leaves, keys)
    ])
    kernel = NUTS(partial(gmm_model, n_components=n_components, prior=prior), dense_mass=True,
                  target_accept_prob=0.8)
    mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                chain_method=chain_method or _chain_method(num_chains), progress_bar=progress)
    mcmc.run(key_run, z, init_params=init_params,
             extra_fields=("diverging", "num_steps", "energy", "accept_prob", "potential_energy",
                           "adapt_state.step_size"))
    samples = mcmc.get_samples(group_by_chain=True)
    extra = mcmc.get_extra_fields(group_by_chain=True)
    stats = {name: np.asarray(extra[src]) for src, name in SAMPLE_STATS.items() if src in extra}
    stats["tree_depth"] = np.floor(np.log2(stats["n_steps"])).astype(int) + 1
    stats["lp"] = -stats["lp"]
    step_size = np.asarray(extra["adapt_state.step_size"])
    stats["step_size"] = step_size
    info = {"num_warmup": num_warmup, "mean_steps": float(stats["n_steps"].mean())}
    return Posterior(_to_params(samples), stats, info)


def run_gibbs(
    z: jax.Array,
    n_components: int,
    prior: GMMPrior,
    init: GMMParams,
    key: jax.Array,
    num_chains: int = 4,
    num_warmup: int = 500,
    num_samples: int = 1000,
    progress: bool = True,
) -> Posterior:
    """Conjugate Gibbs sampling (:mod:`bayesmi.gibbs`), every chain started at the MAP fit ``init``.

    Chains are vectorised: a Gibbs sweep has a fixed cost, so chains advance in
    lock-step without waste. Draws are exact samples of the same posterior as NUTS.
    """
    init_params = jax.tree.map(lambda a: jnp.broadcast_to(a, (num_chains,) + a.shape), init)
    params, log_lik = gibbs.sample_chains(z, init_params, prior, key, num_warmup, num_samples, progress)
    return Posterior(params, {"log_likelihood_total": np.asarray(log_lik)}, {"num_warmup": num_warmup})


#: Progress-bar updates of an SVI run (the steps between them run as one compiled scan).
PROGRESS_UPDATES = 20


@lru_cache(maxsize=16)
def _cached_svi(n_components: int, dim: int, prior: GMMPrior, learning_rate: float, chunk: int):
    """SVI objects and a compiled ``chunk``-step update, one set per configuration
    (the guide's shape is fixed by the number of components and the dimension ``dim``).

    Reusing them across calls avoids re-tracing and re-compiling the ELBO for
    every data set of the same shape. The guide's starting point is read from
    the returned ``init_values`` dict when ``svi.init`` runs, so each call
    fills it with its own MAP fit first.
    """
    model = partial(gmm_model, n_components=n_components, prior=prior)
    init_values: dict[str, jax.Array] = {}
    guide = AutoMultivariateNormal(model, init_loc_fn=init_to_value(values=init_values), init_scale=0.01)
    svi = SVI(model, guide, numpyro.optim.ClippedAdam(step_size=learning_rate, clip_norm=10.0),
              Trace_ELBO())

    @jax.jit
    def advance(state, z):
        return jax.lax.scan(lambda st, _: svi.update(st, z), state, None, length=chunk)

    return svi, guide, init_values, advance


def run_svi(
    z: jax.Array,
    n_components: int,
    prior: GMMPrior,
    init: GMMParams,
    key: jax.Array,
    num_steps: int = 3000,
    num_samples: int = 4000,
    learning_rate: float = 0.01,
    progress: bool = True,
) -> Posterior:
    """SVI with a full-rank Gaussian guide on the unconstrained parameters.

    ``AutoMultivariateNormal`` keeps the posterior correlations between
    weights, means and precisions that jointly fix the overall covariance (and
    hence MI); a mean-field guide drops them and misstates the spread of MI.
    The guide is centred at the MAP fit ``init`` to start, so optimisation
    only has to learn the covariance. Draws are independent: one "chain".
    ``num_steps`` is rounded up to a multiple of the number of progress updates.
    """
    key_fit, key_draw = jax.random.split(key)
    n_chunks = min(PROGRESS_UPDATES, num_steps)
    svi, guide, init_values, advance = _cached_svi(n_components, z.shape[1], prior, learning_rate,
                                                   -(-num_steps // n_chunks))
    init_values.clear()
    init_values.update(_sites(init))
    state = svi.init(key_fit, z)
    chunks = []
    for _ in tqdm.trange(n_chunks, desc="SVI", disable=not progress):
        state, chunk_losses = advance(state, z)
        chunks.append(chunk_losses)
    draws = guide.sample_posterior(key_draw, svi.get_params(state), sample_shape=(num_samples,))
    losses = np.concatenate(chunks)
    window = max(losses.size // 10, 1)
    tail, previous = losses[-window:].mean(), losses[-2 * window:-window].mean()
    info = {"losses": losses, "relative_loss_change": float(abs(previous - tail) / abs(tail))}
    sites = {name: jnp.asarray(draws[name])[None] for name in ("weights", "means", "prec_chol")}
    return Posterior(_to_params(sites), {}, info)


def run_bootstrap(
    z: jax.Array,
    init: GMMParams,
    key: jax.Array,
    n_bootstrap: int = 50,
    prior: GMMPrior | None = None,
    max_iter: int = 500,
    tol: float = 1e-5,
) -> Posterior:
    """Nonparametric bootstrap of the EM fit ``init`` (the GMM-MI baseline, Piras et al. 2023).

    Each replicate resamples the N rows with replacement, expressed as
    multinomial counts used as EM sample weights, and refits by EM
    warm-started from ``init``; all replicates run as one vmapped program,
    each until its log-likelihood gains less than ``tol`` nats per row (an MI
    change far below the bootstrap spread).
    ``prior=None`` refits by maximum likelihood. The replicates form one
    "chain" of independent draws; they describe sampling variability of the
    point estimate, not a posterior.
    """
    n = z.shape[0]
    rows = jax.random.randint(key, (n_bootstrap, n), 0, n)
    counts = jax.vmap(lambda r: jnp.zeros(n, z.dtype).at[r].add(1.0))(rows)
    fits = em.refit_em(z, init, counts, prior, max_iter, tol)
    n_iter = np.asarray(fits.n_iter)[None]
    info = {"n_bootstrap": n_bootstrap, "em_not_converged": int((n_iter >= max_iter).sum())}
    return Posterior(jax.tree.map(lambda a: a[None], fits.params), {"em_iterations": n_iter}, info)
