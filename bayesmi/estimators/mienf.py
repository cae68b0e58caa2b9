"""MIENF as an estimator with a posterior: ``estimate_mi(x, y, method="mienf")``.

Normal scores of every column, then the MIENF flows of :mod:`bayesmi.flows` (Butakov, Tolmachev et
al., NeurIPS 2024), which map (x, y) to latents (u, v) whose joint law they push towards a
Gaussian with pair correlations only. The posterior is that of a single Gaussian (K = 1, exact
conjugate draws) fitted to the latents, where I(U;V) = ½ (log det Σ_u + log det Σ_v − log det Σ)
per draw; MI is invariant under the flows (invertible maps of each side), so it is a posterior of
I(X;Y) as far as the latents are Gaussian.

Rows (``FlowSettings.rows``): "cross-fit" (default) trains the flows on one half and fits the
Gaussian to the other half's latents, then the same with the halves swapped, and averages the two
folds' draws (independent halves: the average's spread is that of N rows); "split" uses one fold;
"same" trains and fits on all rows (the flows' overfitting then counts as dependence).

A Gaussian in d_x + d_y dimensions overstates I by about d_x d_y / n; each fold's draws are centred
on the sample MI minus its exact bias (:mod:`bayesmi.estimators.gaussian_bias`), keeping the
posterior's spread (at 50 + 50 dimensions and N = 10⁴ the shift is ≈ 0.5 nats, several posterior
sds). ``diagnostics["bias_correction"]`` holds the shift per fold.
Each fold's Gaussian gets the posterior predictive check of :mod:`bayesmi.checks` on its latents (up
to :data:`~bayesmi.checks.CHECK_MAX_DIM` joint dimensions); ``result.check`` is the worse of the two,
and a MisfitWarning says when the Gaussian does not reproduce the latents' dependence.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from bayesmi.checks import CHECK_MAX_DIM, predictive_check, warn_if_misfit
from bayesmi.estimators.gaussian_bias import recentred_draws
from bayesmi.estimators.posterior import quantity_result
from bayesmi.fitting import fit_mixtures, integrate
from bayesmi.inputs import normal_scores, prepare_xy
from bayesmi.mixture import mutual_information
from bayesmi.options import FitOptions
from bayesmi.results import MIResult
from bayesmi.util import Progress

if TYPE_CHECKING:
    from bayesmi.flows import FlowSettings

__all__ = ["mienf_mi"]


def mienf_mi(x: Any, y: Any, options: FitOptions, *, seed: int, units: str, truth: float | None,
             jitter_ties: bool, flow_settings: FlowSettings | None) -> MIResult:
    """I(X;Y) of rows x (N, dx), y (N, dy) by MIENF flows and a Gaussian posterior on their latents, in
    ``units``; ``options`` gives the posterior's chains and draws (method "mienf"). A 1-D side has no
    flow (its normal scores are already Gaussian): with two, this is the Gaussian-copula MI."""
    from bayesmi.flows import FlowSettings, flow_folds  # equinox and optax only when flows are used

    start = time.perf_counter()
    settings = flow_settings or FlowSettings()
    xs, ys, info = prepare_xy(x, y, jitter_ties=jitter_ties, seed=seed)
    folds = flow_folds(normal_scores(xs), normal_scores(ys), jax.random.key(seed), settings)
    flow_seconds = time.perf_counter() - start
    sets = [np.concatenate([u, v], axis=1).astype(np.float32) for u, v, _ in folds]
    dim_x = xs.shape[1]
    # One Gaussian: every conjugate Gibbs draw is an exact, independent posterior draw, so no warmup.
    gaussian = FitOptions.resolve(options, method="gibbs", num_components=1, num_warmup=0, predictive_check=False)
    with Progress(options.progress, "estimate_mi (mienf)") as progress:
        batch = fit_mixtures(sets, gaussian, jax.random.key(seed), progress)
        integral = integrate(mutual_information, (batch.params,), (dim_x,), gaussian, seed, "I(X;Y)", progress)
    draws, shifts, centres = map(np.array, zip(*(recentred_draws(fold, z, dim_x)
                                                 for fold, z in zip(integral.values, sets))))
    values = draws.mean(axis=0)  # the folds' re-centred draws, averaged draw by draw
    # The check of each fold's Gaussian against its latents; the fold that fits worse speaks for both.
    checks = [predictive_check(batch.mixture(i), z, dim_x, seed) for i, z in enumerate(sets)
              if options.predictive_check and z.shape[1] <= CHECK_MAX_DIM]
    check = min(checks, key=lambda c: c.p_value, default=None)
    warn_if_misfit(check)
    names = [f"x{i}" for i in range(dim_x)] + [f"y{i}" for i in range(ys.shape[1])]
    records = [record for _, _, record in folds]
    result = quantity_result(
        variable="mi", long_name="I(X;Y)", values=values, integral=integral, batch=batch,
        parts={f"fold{i}_": (i, names) for i in range(len(sets))},
        observed={f"fold{i}_latents": (z, [f"fold{i}_obs", "dim"]) for i, z in enumerate(sets)},
        options=FitOptions.resolve(gaussian, method="mienf"), units=units, truth=truth,
        diagnostics={**{k: info[k] for k in ("n", "dim_x", "dim_y", "jittered_columns")}, "route": "mienf",
                     "rows": settings.rows, "folds": records, "flow_mi": float(np.mean([r["mi"] for r in records])),
                     "bias_correction": shifts.tolist(), "fold_means": centres.tolist()},
        coords={f"fold{i}_obs": np.arange(len(z)) for i, z in enumerate(sets)}, check=check,
    )
    result.diagnostics["timings"] = {**result.diagnostics["timings"], "flows": flow_seconds}
    return result
