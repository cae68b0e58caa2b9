"""What every inference algorithm of :mod:`bayesmi.infer` shares: the driver contract and the draw checks.

A driver module (``gibbs``, ``nuts``, ``svi``, ``bootstrap``) exposes
``sample(z, mask, init, n_components, prior, key, options, progress) -> (params, info)`` for a
batch of data sets z (S, N, D) with row masks (S, N) (0 marks padding), starting points ``init``
(leaves (S, K_max, ...), zero-weight components beyond each set's K ``n_components`` (S,)). It
returns draws with leaves (S, chains, draws, K_max, ...) and an ``Info`` NamedTuple whose leaves
lead with S. Each ``Info`` owns its checks:

- ``info.problems()``: per set, the algorithm's own failures (divergences, an unsettled ELBO, EM
  refits at their iteration limit);
- ``Info.check_draws(stats, num_chains, label)``: what the draws of a quantity computed from the
  posterior (e.g. MI) must satisfy: R-hat and ESS for Markov chains (:func:`mcmc_draw_problems`),
  nothing for independent draws or bootstrap replicates;
- ``Info.DRAWS``: what the draws are ("posterior" samples or bootstrap "replicates");
- ``info.sample_stats(i)`` and ``info.facts(i)``: per-draw statistics (ArviZ names) and scalar
  facts of set i, for the result.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bayesmi.util import arviz

__all__ = ["DrawStats", "draw_stats", "mcmc_draw_problems", "no_draw_problems", "R_HAT_MAX", "MIN_ESS_PER_CHAIN"]

#: Largest acceptable rank-normalised split R-hat (Vehtari et al. 2021).
R_HAT_MAX = 1.01
#: Smallest acceptable bulk and tail ESS per chain (Vehtari et al. 2021 recommend 100 per chain).
MIN_ESS_PER_CHAIN = 100


class DrawStats(NamedTuple):
    """R-hat and bulk/tail ESS of the draws (chains, draws) of a quantity, one entry per posterior (P,)."""

    rhat: np.ndarray
    ess_bulk: np.ndarray
    ess_tail: np.ndarray


def draw_stats(values: np.ndarray) -> DrawStats:
    """:class:`DrawStats` of draws (P, chains, draws); R-hat is NaN with one chain or < 4 draws."""
    az = arviz()

    data = az.convert_to_dataset({"q": np.moveaxis(np.asarray(values, np.float64), 0, -1)})
    n = values.shape[0]
    rhat = np.full(n, np.nan)
    if values.shape[1] > 1 and values.shape[2] >= 4:
        rhat = np.asarray(az.rhat(data)["q"].values, float).reshape(n)
    ess_bulk = np.asarray(az.ess(data, method="bulk")["q"].values, float).reshape(n)
    ess_tail = np.asarray(az.ess(data, method="tail")["q"].values, float).reshape(n)
    return DrawStats(rhat, ess_bulk, ess_tail)


def mcmc_draw_problems(stats: DrawStats, num_chains: int, label: str) -> list[list[str]]:
    """Per posterior: R-hat above :data:`R_HAT_MAX` or ESS below :data:`MIN_ESS_PER_CHAIN` per chain."""
    out = []
    for rhat, bulk, tail in zip(*stats):
        problems = []
        if rhat > R_HAT_MAX:
            problems.append(f"R-hat of {label} is {rhat:.3f} > {R_HAT_MAX}")
        if min(bulk, tail) < MIN_ESS_PER_CHAIN * num_chains:
            problems.append(f"ESS of {label} (bulk {bulk:.0f}, tail {tail:.0f}) < {MIN_ESS_PER_CHAIN * num_chains}")
        out.append(problems)
    return out


def no_draw_problems(stats: DrawStats, num_chains: int, label: str) -> list[list[str]]:
    """Independent draws and bootstrap replicates: no chain diagnostics apply."""
    return [[] for _ in stats.rhat]
