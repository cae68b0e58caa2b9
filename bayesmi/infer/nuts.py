"""NUTS (NumPyro) on :func:`bayesmi.models.gmm_model`, every chain started near the MAP fit.

Each chain starts at the EM fit perturbed by ``N(0, INIT_JITTER²)`` in the unconstrained space,
so chains begin in the posterior's bulk (no chain wanders in from a degenerate region) yet are
dispersed enough for R-hat. A dense mass matrix absorbs the strong correlations between the
weights, means and precisions of a mixture. Chains run one at a time with the keys NumPyro would
give them in one sequential run, so the progress bar advances per chain and the draws equal a
multi-chain ``MCMC.run``. Data sets of a batch are sampled one after another, each on its own
rows and with its own number of components; their draws are padded with zero-weight components
to the largest K of the batch. NUTS recompiles for every chain (NumPyro's ``MCMC.run``).
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import numpy as np
from numpyro.infer import MCMC, NUTS
from numpyro.infer.util import unconstrain_fn

from bayesmi.infer.base import mcmc_draw_problems
from bayesmi.mixture import GMMParams, pad_components
from bayesmi.models import GMMPrior, gmm_model, model_sites, sites_to_params
from bayesmi.options import FitOptions
from bayesmi.util import Progress

__all__ = ["NUTSInfo", "sample", "INIT_JITTER", "TARGET_ACCEPT_PROB"]

#: sd of the jitter of each chain's start around the MAP fit, in unconstrained coordinates.
INIT_JITTER = 0.1
TARGET_ACCEPT_PROB = 0.8
_EXTRA_FIELDS = ("diverging", "num_steps", "energy", "accept_prob", "potential_energy", "adapt_state.step_size")


class NUTSInfo(NamedTuple):
    """Per-draw NUTS statistics, leaves (S, chains, draws): divergent transitions, leapfrog steps,
    Hamiltonian energy, acceptance probability, log density (nats) and adapted step size."""

    diverging: np.ndarray
    n_steps: np.ndarray
    energy: np.ndarray
    acceptance_rate: np.ndarray
    lp: np.ndarray
    step_size: np.ndarray

    DRAWS = "posterior"
    check_draws = staticmethod(mcmc_draw_problems)

    def problems(self) -> list[list[str]]:
        """Divergent transitions: the sampler could not follow the posterior's geometry there."""
        counts = self.diverging.reshape(self.diverging.shape[0], -1).sum(1)
        return [[f"{int(c)} divergent transitions"] if c else [] for c in counts]

    def sample_stats(self, i: int) -> dict[str, np.ndarray]:
        stats = {name: np.asarray(getattr(self, name)[i]) for name in self._fields}
        stats["tree_depth"] = np.floor(np.log2(stats["n_steps"])).astype(int) + 1
        return stats

    def facts(self, i: int) -> dict[str, Any]:
        return {"divergences": int(self.diverging[i].sum()), "mean_leapfrog_steps": float(self.n_steps[i].mean())}


def _chain(z: np.ndarray, n_components: int, prior: GMMPrior, init: dict, key: jax.Array,
           options: FitOptions) -> tuple[dict, dict]:
    """One chain from the unconstrained start ``init``: samples by site and extra fields."""
    kernel = NUTS(partial(gmm_model, n_components=n_components, prior=prior), dense_mass=True,
                  target_accept_prob=TARGET_ACCEPT_PROB)
    mcmc = MCMC(kernel, num_warmup=options.num_warmup, num_samples=options.num_samples, num_chains=1,
                progress_bar=False)
    mcmc.run(key, z, init_params=init, extra_fields=_EXTRA_FIELDS)
    return mcmc.get_samples(), mcmc.get_extra_fields()


def sample(
    z: jax.Array, mask: jax.Array, init: GMMParams, n_components: np.ndarray, prior: GMMPrior, key: jax.Array,
    options: FitOptions, progress: Progress,
) -> tuple[GMMParams, NUTSInfo]:
    """``options.num_chains`` NUTS chains for every data set; see :mod:`bayesmi.infer.base`."""
    sets, k_max = init.weights.shape[0], init.weights.shape[-1]
    progress.stage("NUTS sampling", sets * options.num_chains)
    draws, stats = [], []
    for s, set_key in enumerate(jax.random.split(key, sets)):
        rows = np.asarray(z[s])[np.asarray(mask[s]) > 0]
        k = int(n_components[s])
        start = jax.tree.map(lambda a: a[s, :k], init)
        start = start._replace(weights=start.weights / start.weights.sum())
        flat = unconstrain_fn(gmm_model, (rows, k, prior), {}, model_sites(start))
        leaves, treedef = jax.tree.flatten(flat)
        key_init, key_run = jax.random.split(set_key)
        jitter = [INIT_JITTER * jax.random.normal(kk, (options.num_chains,) + leaf.shape, leaf.dtype)
                  for leaf, kk in zip(leaves, jax.random.split(key_init, len(leaves)))]
        chains = []
        for c, chain_key in enumerate(jax.random.split(key_run, options.num_chains)):
            chain_init = jax.tree.unflatten(treedef, [leaf + j[c] for leaf, j in zip(leaves, jitter)])
            chains.append(_chain(rows, k, prior, chain_init, chain_key, options))
            progress.update()
        samples = {name: np.stack([c[0][name] for c in chains]) for name in chains[0][0]}
        extra = {name: np.stack([np.asarray(c[1][name]) for c in chains]) for name in _EXTRA_FIELDS}
        draws.append(pad_components(sites_to_params(samples), k_max))
        stats.append(NUTSInfo(extra["diverging"], extra["num_steps"], extra["energy"], extra["accept_prob"],
                              -extra["potential_energy"], extra["adapt_state.step_size"]))
    stack = lambda *a: np.stack([np.asarray(x) for x in a])  # noqa: E731
    return jax.tree.map(stack, *draws), jax.tree.map(stack, *stats)
