"""SVI on :func:`bayesmi.models.gmm_model` with a full-rank Gaussian guide on the unconstrained parameters.

``AutoMultivariateNormal`` keeps the posterior correlations between weights, means and
precisions that jointly fix the overall covariance (and hence MI); a mean-field guide drops them
and misstates the spread of MI. The guide is centred at the MAP fit to start, so optimisation
only has to learn the covariance. The ``num_chains * num_samples`` draws from the guide are
independent; they are arranged as ``num_chains`` groups so that ArviZ summaries apply (R-hat
across groups of independent draws is ≈ 1 by construction and says nothing about the
optimisation: its check is that the ELBO has settled). The SVI objects and a compiled multi-step update are cached per
configuration (K, D, prior, learning rate), so data sets of one shape compile once.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from numpyro.infer import SVI, Trace_ELBO, init_to_value
from numpyro.infer.autoguide import AutoMultivariateNormal

from bayesmi.infer.base import no_draw_problems
from bayesmi.mixture import GMMParams, pad_components
from bayesmi.models import SITES, GMMPrior, gmm_model, model_sites, sites_to_params
from bayesmi.options import FitOptions
from bayesmi.util import Progress

__all__ = ["SVIInfo", "sample", "LEARNING_RATE", "MAX_RELATIVE_LOSS_CHANGE", "PROGRESS_UPDATES"]

LEARNING_RATE = 0.01
#: The ELBO has settled when its mean over the last 10% of steps differs from the mean over the
#: 10% before by at most this fraction.
MAX_RELATIVE_LOSS_CHANGE = 1e-3
#: Progress-bar updates of a run (the steps between them run as one compiled scan).
PROGRESS_UPDATES = 20


class SVIInfo(NamedTuple):
    """Optimisation trace: ELBO loss per step (S, steps) and its relative change over the last
    tenth of the steps (S,)."""

    losses: np.ndarray
    relative_loss_change: np.ndarray

    DRAWS = "posterior"
    check_draws = staticmethod(no_draw_problems)

    def problems(self) -> list[list[str]]:
        return [[f"ELBO still changing by {c:.1e} (relative) over the last 10% of steps"]
                if c > MAX_RELATIVE_LOSS_CHANGE else [] for c in self.relative_loss_change]

    def sample_stats(self, i: int) -> dict[str, np.ndarray]:
        return {}

    def facts(self, i: int) -> dict[str, Any]:
        return {"relative_loss_change": float(self.relative_loss_change[i]), "elbo_losses": self.losses[i]}


@lru_cache(maxsize=16)
def _cached_svi(n_components: int, dim: int, prior: GMMPrior, chunk: int):
    """SVI objects and a compiled ``chunk``-step update for one configuration.

    The guide's starting point is read from the returned ``init_values`` dict when ``svi.init``
    runs, so each call fills it with its own MAP fit first.
    """
    model = partial(gmm_model, n_components=n_components, prior=prior)
    init_values: dict[str, jax.Array] = {}
    guide = AutoMultivariateNormal(model, init_loc_fn=init_to_value(values=init_values), init_scale=0.01)
    svi = SVI(model, guide, numpyro.optim.ClippedAdam(step_size=LEARNING_RATE, clip_norm=10.0), Trace_ELBO())

    @jax.jit
    def advance(state, z):
        return jax.lax.scan(lambda st, _: svi.update(st, z), state, None, length=chunk)

    return svi, guide, init_values, advance


def _fit_one(z: jax.Array, init: GMMParams, key: jax.Array, options: FitOptions, prior: GMMPrior,
             progress: Progress) -> tuple[GMMParams, np.ndarray]:
    """SVI on one data set (N, D) from its MAP fit: guide draws (num_chains, num_samples, ...) and the losses."""
    key_fit, key_draw = jax.random.split(key)
    n_chunks = min(PROGRESS_UPDATES, options.num_steps)
    svi, guide, init_values, advance = _cached_svi(init.weights.shape[-1], z.shape[1], prior,
                                                   -(-options.num_steps // n_chunks))
    init_values.clear()
    init_values.update(model_sites(init))
    try:
        state = svi.init(key_fit, z)
    except RuntimeError as exc:  # NumPyro: "Cannot find valid initial parameters"
        raise ValueError(
            "SVI could not start: the model's log density is not finite at the MAP fit of these data, which "
            "happens when the joint sample is (numerically) degenerate, e.g. y an exact or nearly exact function "
            "of x, where I(X;Y) is infinite or beyond what the sample resolves. Check the data, or use "
            f"method='gibbs'. (NumPyro: {str(exc).splitlines()[0]})") from None
    chunks = []
    for i in range(n_chunks):
        state, chunk_losses = advance(state, z)
        chunks.append(np.asarray(chunk_losses))
        progress.update()
    sample_shape = (options.num_chains, options.num_samples)
    draws = guide.sample_posterior(key_draw, svi.get_params(state), sample_shape=sample_shape)
    return sites_to_params({name: jnp.asarray(draws[name]) for name in SITES}), np.concatenate(chunks)


def sample(
    z: jax.Array, mask: jax.Array, init: GMMParams, n_components: np.ndarray, prior: GMMPrior, key: jax.Array,
    options: FitOptions, progress: Progress,
) -> tuple[GMMParams, SVIInfo]:
    """SVI for every data set of a batch, one after another on its own rows and K; draws leaves
    (S, num_chains, num_samples, K_max, ...). ``num_steps`` is rounded up to whole progress chunks."""
    sets, k_max = init.weights.shape[0], init.weights.shape[-1]
    progress.stage("SVI optimisation", sets * min(PROGRESS_UPDATES, options.num_steps))
    draws, losses = [], []
    for s, set_key in enumerate(jax.random.split(key, sets)):
        k = int(n_components[s])
        start = jax.tree.map(lambda a: a[s, :k], init)
        start = start._replace(weights=start.weights / start.weights.sum())
        rows = jnp.asarray(np.asarray(z[s])[np.asarray(mask[s]) > 0])
        params, loss = _fit_one(rows, start, set_key, options, prior, progress)
        draws.append(pad_components(params, k_max))
        losses.append(loss)
    loss = np.stack(losses)
    window = max(loss.shape[1] // 10, 1)
    tail, previous = loss[:, -window:].mean(1), loss[:, -2 * window:-window].mean(1)
    info = SVIInfo(loss, np.abs(previous - tail) / np.abs(tail))
    return jax.tree.map(lambda *a: jnp.stack(a), *draws), info
