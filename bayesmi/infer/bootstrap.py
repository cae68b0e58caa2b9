"""Nonparametric bootstrap of the EM fit: the frequentist GMM-MI baseline (Piras et al. 2023), in JAX.

Each replicate resamples a data set's rows with replacement, expressed as multinomial counts
used as EM sample weights, and refits by EM warm-started from the selected fit; every replicate
of every data set runs as one vmapped program (:func:`bayesmi.infer.em.refit`), each until its
log-likelihood gains less than the EM tolerance per row (an MI change far below the bootstrap
spread). With ``prior=None`` the refits are maximum likelihood. The replicates form one "chain"
of independent refits; they describe the sampling variability of the point estimate, not a
posterior, so no chain diagnostics apply; refits that hit the iteration limit are reported.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayesmi.infer import em
from bayesmi.infer.base import no_draw_problems
from bayesmi.mixture import GMMParams
from bayesmi.models import GMMPrior
from bayesmi.options import FitOptions
from bayesmi.util import Progress

__all__ = ["BootstrapInfo", "sample", "MAX_ITER"]

#: Iteration limit of each refit.
MAX_ITER = 500


class BootstrapInfo(NamedTuple):
    """EM iterations of every refit, (S, 1, num_bootstrap)."""

    em_iterations: np.ndarray

    DRAWS = "replicates"
    check_draws = staticmethod(no_draw_problems)

    def problems(self) -> list[list[str]]:
        failed = (self.em_iterations >= MAX_ITER).reshape(self.em_iterations.shape[0], -1).sum(1)
        return [[f"EM hit its iteration limit in {int(f)} bootstrap replicates"] if f else [] for f in failed]

    def sample_stats(self, i: int) -> dict[str, np.ndarray]:
        return {"em_iterations": np.asarray(self.em_iterations[i])}

    def facts(self, i: int) -> dict[str, Any]:
        return {"num_bootstrap": int(self.em_iterations[i].size),
                "em_not_converged": int((self.em_iterations[i] >= MAX_ITER).sum())}


def resample_counts(key: jax.Array, n_rows: np.ndarray, n_max: int, num_bootstrap: int) -> jax.Array:
    """Multinomial resampling counts (S, num_bootstrap, n_max) of the first ``n_rows[s]`` rows of each set."""
    counts = []
    for n, k in zip(n_rows, jax.random.split(key, len(n_rows))):
        rows = jax.random.randint(k, (num_bootstrap, int(n)), 0, int(n))
        counts.append(jax.vmap(lambda r: jnp.zeros(n_max, jnp.float32).at[r].add(1.0))(rows))
    return jnp.stack(counts)


def sample(
    z: jax.Array, mask: jax.Array, init: GMMParams, n_components: np.ndarray, prior: GMMPrior | None,
    key: jax.Array, options: FitOptions, progress: Progress,
) -> tuple[GMMParams, BootstrapInfo]:
    """``options.num_bootstrap`` EM refits of every data set from ``init``; leaves (S, 1, num_bootstrap, K_max, ...).

    Data sets are padded at the end (their rows come first), so resampling the first
    ``mask.sum()`` rows of each resamples exactly its own rows.
    """
    progress.stage("bootstrap refits", 1)
    progress.note("compiling")
    counts = resample_counts(key, np.asarray(mask).sum(1).astype(int), z.shape[1], options.num_bootstrap)
    params, info = em.refit(z, init, counts, prior, MAX_ITER)
    progress.update()
    return jax.tree.map(lambda a: a[:, None], params), BootstrapInfo(np.asarray(info.n_iter)[:, None])
