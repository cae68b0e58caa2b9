"""NUTS (NumPyro's functional kernels) on :func:`bayesmi.models.gmm_model`, every chain started near the MAP fit.

Each chain starts at the EM fit perturbed by ``N(0, INIT_JITTER²)`` in the unconstrained space,
so chains begin in the posterior's bulk yet are dispersed enough for R-hat; a dense mass matrix
absorbs the strong correlations between the weights, means and precisions of a mixture.
NumPyro's ``MCMC.run`` recompiled its sampling loop for every chain of every fit (about 5 s
each), so the kernels of :func:`numpyro.infer.hmc.hmc` run here in module-level jitted programs
(:func:`_start`, and :func:`_advance` for a chunk of iterations, between which the progress bar
moves) that vmap all chains of a data set and take the padded data and its row mask as traced
arguments: only K, the prior, the warmup and chunk lengths and the shapes are static, so data
sets of one padded shape (N, D) and K reuse one compilation across data sets and calls. Each
chain's key is split as NumPyro's ``HMC.init`` splits it, so the chains take the random path of
``MCMC.run``; floating-point differences (vectorised chains, masked sums) part the trajectories
after some iterations. Data sets of a batch are sampled one after another with their own K;
their draws are padded with zero-weight components to the largest K of the batch. On a machine
with several devices the chains are split between them (:func:`bayesmi.runtime.shard_chains`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from operator import itemgetter
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer.hmc import HMCState, hmc
from numpyro.infer.util import constrain_fn, potential_energy, unconstrain_fn

from bayesmi.infer.base import mcmc_draw_problems
from bayesmi.mixture import GMMParams, first_components, pad_components
from bayesmi.models import SITES, GMMPrior, gmm_model, model_sites, sites_to_params
from bayesmi.options import FitOptions
from bayesmi.runtime import shard_chains, stored_jit
from bayesmi.util import Progress

__all__ = ["INIT_JITTER", "PROGRESS_UPDATES", "TARGET_ACCEPT_PROB", "NUTSInfo", "sample"]

#: sd of the jitter of each chain's start around the MAP fit, in unconstrained coordinates.
INIT_JITTER = 0.1
TARGET_ACCEPT_PROB = 0.8
#: Progress-bar updates per data set (the iterations between two updates run as one compiled scan).
PROGRESS_UPDATES = 20


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


def _potential_fn(z: jax.Array, mask: jax.Array, n_components: int, prior: GMMPrior) -> Callable[[dict], jax.Array]:
    """Negative log joint (nats) of :func:`gmm_model` on the rows of z (N, D) with mask (N,), as a
    function of the unconstrained sites (Jacobians of the constraining maps included)."""
    return partial(potential_energy, partial(gmm_model, n_components=n_components, prior=prior), (z,), {"mask": mask})


def _kernels(n_components: int, prior: GMMPrior, num_warmup: int) -> tuple[Callable, Callable]:
    """NumPyro's NUTS as ``init(position, key, z, mask) -> HMCState`` and ``step(state, z, mask) -> HMCState``.

    Dense mass matrix over all sites (as ``NUTS(dense_mass=True)``), step size and mass matrix
    adapted over the ``num_warmup`` first iterations. The data enter as model arguments of the
    potential, so they stay traced arguments of the programs that call these kernels.
    """
    init_kernel, sample_kernel = hmc(potential_fn_gen=partial(_potential_fn, n_components=n_components, prior=prior),
                                     algo="NUTS")

    def init(position: dict, key: jax.Array, z: jax.Array, mask: jax.Array) -> HMCState:
        return init_kernel(position, num_warmup, dense_mass=[tuple(sorted(SITES))],
                           target_accept_prob=TARGET_ACCEPT_PROB, model_args=(z, mask), rng_key=key)

    def step(state: HMCState, z: jax.Array, mask: jax.Array) -> HMCState:
        return sample_kernel(state, model_args=(z, mask))

    return init, step


@stored_jit(static_argnames=("n_components", "prior", "num_warmup", "num_chains"))
def _start(init: GMMParams, key: jax.Array, z: jax.Array, mask: jax.Array, n_components: int, prior: GMMPrior,
           num_warmup: int, num_chains: int) -> HMCState:
    """Initial NUTS states of ``num_chains`` chains (leaves (chains, ...)) around the fit ``init``
    (leaves (K, ...)) of the rows of z (N, D) with mask (N,)."""
    model = partial(gmm_model, n_components=n_components, prior=prior)
    position = unconstrain_fn(model, (z,), {"mask": mask}, model_sites(init))
    leaves, treedef = jax.tree.flatten(position)
    key_jitter, key_run = jax.random.split(key)
    starts = [leaf + INIT_JITTER * jax.random.normal(k, (num_chains,) + leaf.shape, leaf.dtype)
              for leaf, k in zip(leaves, jax.random.split(key_jitter, len(leaves)))]
    # Each chain's key split as NumPyro's HMC.init splits it (the second half went to its model initialiser).
    keys = jax.vmap(lambda k: jax.random.split(k)[0])(jax.random.split(key_run, num_chains))
    init_state, _ = _kernels(n_components, prior, num_warmup)
    return jax.vmap(init_state, in_axes=(0, 0, None, None))(jax.tree.unflatten(treedef, starts), keys, z, mask)


@stored_jit(static_argnames=("n_components", "prior", "num_warmup", "length"))
def _advance(state: HMCState, z: jax.Array, mask: jax.Array, num_steps: jax.Array, n_components: int,
             prior: GMMPrior, num_warmup: int, length: int) -> tuple[HMCState, tuple]:
    """The first ``num_steps`` (≤ ``length``, traced) NUTS iterations of every chain of states
    (leaves (chains, ...)); the rest of the ``length`` compiled steps leave the state as it is.

    Returns the final state and, per step (leading axes (length, chains)), the unconstrained
    position and the diverging flag, leapfrog steps, energy, acceptance probability, potential
    energy and step size.
    """
    init, step = _kernels(n_components, prior, num_warmup)
    # hmc() keeps its settings (adaptation schedule, tree depth) in variables that init_kernel
    # sets: set them for step without computing anything.
    jax.eval_shape(init, jax.tree.map(lambda a: a[0], state.z), state.rng_key[0], z, mask)
    chains_step = jax.vmap(step, in_axes=(0, None, None))

    def body(s: HMCState, i: jax.Array) -> tuple[HMCState, tuple]:
        s = jax.lax.cond(i < num_steps, chains_step, lambda s_, *_: s_, s, z, mask)
        return s, (s.z, s.diverging, s.num_steps, s.energy, s.accept_prob, s.potential_energy,
                   s.adapt_state.step_size)

    return jax.lax.scan(body, state, jnp.arange(length))


@stored_jit(static_argnames=("n_components", "prior"))
def _constrain(positions: dict, z: jax.Array, mask: jax.Array, n_components: int, prior: GMMPrior) -> dict:
    """Unconstrained positions (leaves (chains, draws, ...)) mapped to the model's sites."""
    model = partial(gmm_model, n_components=n_components, prior=prior)
    return constrain_fn(model, (z,), {"mask": mask}, positions, batch_ndims=2)


def _sample_set(z: jax.Array, mask: jax.Array, init: GMMParams, n_components: int, prior: GMMPrior,
                key: jax.Array, options: FitOptions, chunk: int, progress: Progress,
                compiling: bool) -> tuple[GMMParams, NUTSInfo]:
    """All chains of one data set z (N, D) with mask (N,) from its fit ``init`` (leaves (K, ...)):
    draws (chains, num_samples, K, ...) and their statistics (chains, num_samples), in chunks of
    ``chunk`` iterations. ``compiling``: say so on the bar until the first chunk is done."""
    chunks = [(phase, min(chunk, n_iter - done))
              for phase, n_iter in (("warmup", options.num_warmup), ("sampling", options.num_samples))
              for done in range(0, n_iter, chunk)]
    progress.note("compiling" if compiling else "warmup")
    state = shard_chains(_start(init, key, z, mask, n_components, prior, options.num_warmup, options.num_chains),
                         options.num_chains, axis=0)
    kept = []
    for i, (phase, n) in enumerate(chunks):
        progress.note("compiling" if compiling and i == 0 else phase)
        state, out = _advance(state, z, mask, jnp.asarray(n, jnp.int32), n_components, prior, options.num_warmup,
                              chunk)
        if phase == "sampling":
            kept.append(out)
        progress.update()
    # Sampling chunks are contiguous; only the last may hold steps beyond num_samples.
    # On the host: eager jnp operations would compile a program per chunk count and shape.
    position, diverging, n_steps, energy, accept, potential, step_size = jax.tree.map(
        lambda *parts: np.swapaxes(np.concatenate([np.asarray(p) for p in parts])[:options.num_samples], 0, 1), *kept)
    draws = sites_to_params(_constrain(position, z, mask, n_components, prior))
    return draws, NUTSInfo(diverging, n_steps, energy, accept, -potential, step_size)


def sample(
    z: jax.Array, mask: jax.Array, init: GMMParams, n_components: np.ndarray, prior: GMMPrior, key: jax.Array,
    options: FitOptions, progress: Progress,
) -> tuple[GMMParams, NUTSInfo]:
    """``options.num_chains`` NUTS chains for every data set; see :mod:`bayesmi.infer.base`.

    z: (S, N, D) padded data, mask: (S, N) (0 marks padding rows), init: leaves (S, K_max, ...).
    Returns draws with leaves (S, chains, num_samples, K_max, ...) and :class:`NUTSInfo`. Each set
    runs its own K through the same jitted programs, in chunks of iterations that advance the
    progress bar about ``PROGRESS_UPDATES`` times per set.
    """
    sets, k_max = init.weights.shape[0], init.weights.shape[-1]
    total = options.num_warmup + options.num_samples
    chunk = -(-total // min(PROGRESS_UPDATES, total))
    chunks_per_set = -(-options.num_warmup // chunk) + -(-options.num_samples // chunk)
    progress.stage("NUTS sampling", sets * chunks_per_set)
    draws, stats = [], []
    seen: set[int] = set()
    for s, set_key in enumerate(jax.random.split(key, sets)):
        k = int(n_components[s])
        start = first_components(jax.tree.map(itemgetter(s), init), k)
        start = start._replace(weights=start.weights / start.weights.sum())
        # A K new to this call compiles the programs (unless an earlier call did).
        params, info = _sample_set(z[s], mask[s], start, k, prior, set_key, options, chunk, progress, k not in seen)
        seen.add(k)
        draws.append(pad_components(params, k_max))
        stats.append(info)
    stack = lambda *a: np.stack([np.asarray(x) for x in a])
    return jax.tree.map(stack, *draws), jax.tree.map(stack, *stats)
