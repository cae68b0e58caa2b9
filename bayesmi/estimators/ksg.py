"""The KSG nearest-neighbour baseline as an estimator: ``estimate_mi(x, y, method="ksg")``.

Not a mixture fit: the point estimate is KSG (:mod:`bayesmi.ksg`, k = ``FitOptions.num_neighbours``)
on the standardised rows, and its sampling spread comes from ``num_bootstrap`` half-samples
without replacement, centred on the full-sample estimate (:func:`bayesmi.ksg.half_sample_estimates`).
The replicates describe sampling variability, not a posterior, and carry KSG's own bias (towards 0
at strong dependence, in several dimensions, or with heavy tails): it is the nonparametric
reference that bayesmi's predictive check uses, offered for side-by-side comparison (``compare``).
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np

from bayesmi.diagnostics import inference_data
from bayesmi.inputs import prepare_xy
from bayesmi.ksg import half_sample_estimates, ksg_mutual_information
from bayesmi.options import FitOptions
from bayesmi.results import MIResult
from bayesmi.util import to_units

__all__ = ["ksg_mi"]


def ksg_mi(x: np.ndarray, y: np.ndarray, options: FitOptions, *, seed: int, units: str, truth: float | None,
           jitter_ties: bool) -> MIResult:
    """I(X;Y) by KSG on rows x (N, dx), y (N, dy) with half-sample replicates (one "chain" of
    ``options.num_bootstrap``), in ``units``; ties are jittered (``jitter_ties``) as for the mixture."""
    start = time.perf_counter()
    xs, ys, info = prepare_xy(x, y, jitter_ties=jitter_ties, seed=seed)
    k = options.num_neighbours
    estimate = ksg_mutual_information(xs, ys, k)
    halves = half_sample_estimates(xs, ys, np.random.default_rng(seed), options.num_bootstrap, k)
    draws = to_units((estimate + halves - halves.mean())[None, :], units)
    z = np.concatenate([xs, ys], axis=1)
    idata = partial(inference_data, {"mi": (draws, "I(X;Y)")}, {}, {"z": (z, ["obs", "dim"])}, units,
                    draws="replicates", coords={"obs": np.arange(len(z))})
    diagnostics = {"rhat": float("nan"), "ess_bulk": float("nan"), "ess_tail": float("nan"), "problems": [],
                   "draws": "replicates", "replicate_kind": "half-sample",
                   "estimate": to_units(estimate, units), "num_neighbours": k,
                   **{key: info[key] for key in ("n", "dim_x", "dim_y", "jittered_columns")},
                   "timings": {"ksg": time.perf_counter() - start}}
    return MIResult(draws=draws, idata=idata, method="ksg", units=units, mc_se=0.0, diagnostics=diagnostics,
                    truth=None if truth is None else to_units(truth, units), draws_kind="replicates")
