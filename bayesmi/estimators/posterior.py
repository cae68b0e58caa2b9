"""From a fitted :class:`~bayesmi.fitting.MixtureBatch` and an integral to the :class:`~bayesmi.results.MIResult`.

Every scalar mixture estimator ends here: :func:`quantity_result` diagnoses the quantity's draws
(the driver's own checks plus R-hat/ESS where its draws are Markov chains), issues the one
ConvergenceWarning, prepares the InferenceData (built when first read) and fills the result's diagnostics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from bayesmi.diagnostics import diagnose, inference_data, warn_not_converged
from bayesmi.fitting import Integral, MixtureBatch
from bayesmi.options import FitOptions
from bayesmi.results import MIResult, PointwiseModel, PredictiveCheck
from bayesmi.util import to_units

__all__ = ["quantity_result"]


def quantity_result(
    *,
    variable: str,
    long_name: str,
    values: np.ndarray,
    integral: Integral,
    batch: MixtureBatch,
    parts: Mapping[str, tuple[int, Sequence[str]]],
    observed: Mapping[str, tuple[np.ndarray, list[str]]],
    options: FitOptions,
    units: str,
    truth: float | None,
    diagnostics: Mapping[str, Any],
    coords: Mapping[str, Any] | None = None,
    log_likelihood: Mapping[str, np.ndarray] | None = None,
    extra_posterior: Mapping[str, tuple[np.ndarray, list[str]]] | None = None,
    model: PointwiseModel | None = None,
    check: PredictiveCheck | None = None,
) -> MIResult:
    """The result for the draws ``values`` (chains, draws, nats) of ``variable`` (``long_name``, e.g. "I(X;Y)").

    ``integral`` is the quantity's :class:`~bayesmi.fitting.Integral` (one posterior); ``parts``
    maps each mixture's prefix in the InferenceData ("" for a single mixture, "class0_", "p_", ...)
    to (its set index in ``batch``, names of its coordinates). With one part the diagnostics hold
    its ``n_components`` and ``selection`` directly, with several they are keyed by the prefix
    without its trailing "_". ``diagnostics`` adds estimator-specific entries; ``check`` is the fit's
    posterior predictive check, if one ran.
    """
    info = batch.info
    intrinsic = sorted({p for i, _ in parts.values() for p in info.problems()[i]})
    [diagnosis] = diagnose(values[None], type(info), [intrinsic], long_name)
    if diagnosis.problems:
        warn_not_converged(options.method, long_name, variable, diagnosis.problems)
    draws_kind = type(info).DRAWS
    diag: dict[str, Any] = {"rhat": diagnosis.rhat, "ess_bulk": diagnosis.ess_bulk, "ess_tail": diagnosis.ess_tail,
                            "problems": list(diagnosis.problems), "draws": draws_kind}
    if len(parts) == 1:
        [(i, _)] = parts.values()
        diag.update(n_components=int(batch.n_components[i]), selection=batch.selection(i), **info.facts(i))
    else:
        keys = {prefix: prefix.rstrip("_") for prefix in parts}
        diag.update(n_components={keys[p]: int(batch.n_components[i]) for p, (i, _) in parts.items()},
                    selection={keys[p]: batch.selection(i) for p, (i, _) in parts.items()})
    diag.update(num_points=int(integral.num_points[0]), mc_se_over_sd=float(integral.mc_se_over_sd[0]),
                mc_spread_over_sd=float(integral.spread_over_sd[0]),
                timings={**batch.timings, "integral": integral.seconds}, **diagnostics)
    draws = to_units(values, units)
    mixtures = {prefix: (batch.mixture(i), names, info.sample_stats(i)) for prefix, (i, names) in parts.items()}
    idata = partial(inference_data, {variable: (draws, long_name)}, mixtures, observed, units, draws=draws_kind,
                    coords=coords, log_likelihood=log_likelihood, extra_posterior=extra_posterior)
    return MIResult(draws=draws, idata=idata, method=options.method, units=units,
                    mc_se=to_units(float(integral.mc_se[0]), units), diagnostics=diag, converged=diagnosis.converged,
                    truth=None if truth is None else to_units(truth, units), variable=variable,
                    draws_kind=draws_kind, model=model, check=check)
