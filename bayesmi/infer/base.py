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
  posterior (e.g. MI) must satisfy, given their :class:`~bayesmi.draws.DrawStats`: R-hat and ESS
  for Markov chains (:func:`mcmc_draw_problems`),
  nothing for independent draws or bootstrap replicates;
- ``Info.DRAWS``: what the draws are ("posterior" samples or bootstrap "replicates");
- ``info.sample_stats(i)`` and ``info.facts(i)``: per-draw statistics (ArviZ names) and scalar
  facts of set i, for the result.
"""

from __future__ import annotations

from bayesmi.draws import DrawStats

__all__ = ["mcmc_draw_problems", "no_draw_problems", "R_HAT_MAX", "MIN_ESS_PER_CHAIN"]

#: Largest acceptable rank-normalised split R-hat (Vehtari et al. 2021).
R_HAT_MAX = 1.01
#: Smallest acceptable bulk and tail ESS per chain (Vehtari et al. 2021 recommend 100 per chain).
MIN_ESS_PER_CHAIN = 100


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
