"""Convergence diagnosis of a derived quantity's draws, and the one writer of ArviZ ``InferenceData``.

:func:`diagnose` combines, for each posterior of a quantity (MI of one data set, of one matrix
cell, ...), the inference algorithm's own problems (``info.problems()``) with the checks its
``Info`` type prescribes for the quantity's draws (R-hat and ESS for Markov chains); no code here
branches on a method's name. :func:`warn_not_converged` issues the one ConvergenceWarning the user
sees. :func:`inference_data` builds every result's ``InferenceData``: the quantity beside the
mixture parameters (weights, means, covariances: no structurally constant entries, so a plain
``az.summary`` runs without warnings), sampler statistics, observed data and pointwise
log-likelihoods; bootstrap replicates go to a group named "bootstrap", never to "posterior".
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayesmi.arviz_adapter import add_group, from_groups
from bayesmi.draws import draw_stats
from bayesmi.mixture import GMMParams
from bayesmi.results import ConvergenceWarning
from bayesmi.util import find_stack_level

__all__ = ["Diagnosis", "diagnose", "warn_not_converged", "inference_data", "draws_group"]


@dataclass(frozen=True)
class Diagnosis:
    """Checks of the draws (chains, draws) of one quantity: R-hat, bulk and tail ESS (NaN where they
    do not apply, e.g. for bootstrap replicates) and every problem found (empty: converged)."""

    rhat: float
    ess_bulk: float
    ess_tail: float
    problems: list[str] = field(default_factory=list)

    @property
    def converged(self) -> bool:
        return not self.problems


def diagnose(values: np.ndarray, info_type: type, intrinsic: Sequence[Sequence[str]], label: str) -> list[Diagnosis]:
    """One :class:`Diagnosis` per posterior of a quantity with draws ``values`` (P, chains, draws).

    ``info_type`` is the inference algorithm's ``Info`` class (its ``DRAWS`` and ``check_draws``);
    ``intrinsic[p]`` lists the algorithm's own problems for the mixtures behind posterior p;
    ``label`` names the quantity in messages (e.g. "I(X;Y)").
    """
    if info_type.DRAWS == "replicates":
        return [Diagnosis(np.nan, np.nan, np.nan, list(problems)) for problems in intrinsic]
    stats = draw_stats(values)
    checks = info_type.check_draws(stats, values.shape[1], label)
    return [Diagnosis(float(r), float(b), float(t), [*own, *drawn])
            for r, b, t, own, drawn in zip(*stats, intrinsic, checks)]


def warn_not_converged(method: str, label: str, variable: str, problems: Sequence[str]) -> None:
    """One visible ConvergenceWarning listing what failed for the quantity ``label`` (posterior ``variable``)."""
    warnings.warn(
        f"{method}: the {label} posterior may be unreliable: " + "; ".join(problems)
        + f". Inspect result.diagnostics and az.plot_trace(result.idata, var_names=[{variable!r}]); "
        "more warmup/samples or a different number of components may help.",
        ConvergenceWarning,
        stacklevel=find_stack_level(),
    )


def draws_group(draws: str) -> str:
    """The InferenceData group holding draws of kind ``draws`` ("posterior" or "replicates")."""
    return "bootstrap" if draws == "replicates" else "posterior"


def _mixture_variables(prefix: str, params: GMMParams, names: Sequence[str]
                       ) -> tuple[dict[str, np.ndarray], dict[str, list[str]], dict[str, Any]]:
    """Posterior variables of a mixture (leaves (chains, draws, K, ...)): weights (omitted for K = 1,
    where they are the constant 1), means and covariance matrices (scale matrices of t components,
    with their degrees of freedom ``dof``), with dims and coords."""
    from bayesmi.mixture import covariances

    comp, dim, dim_ = f"{prefix}component", f"{prefix}dim", f"{prefix}dim_"
    k = params.means.shape[-2]
    variables = {f"{prefix}means": np.asarray(params.means),
                 f"{prefix}cov": np.asarray(covariances(params))}
    dims = {f"{prefix}means": [comp, dim], f"{prefix}cov": [comp, dim, dim_]}
    if k > 1:
        variables[f"{prefix}weights"] = np.asarray(params.weights)
        dims[f"{prefix}weights"] = [comp]
    if params.dof is not None:
        variables[f"{prefix}dof"] = np.asarray(params.dof)
        dims[f"{prefix}dof"] = [comp]
    coords = {comp: np.arange(k), dim: list(names), dim_: list(names)}
    return variables, dims, coords


def inference_data(
    quantities: Mapping[str, tuple[np.ndarray, str]],
    mixtures: Mapping[str, tuple[GMMParams, Sequence[str], Mapping[str, np.ndarray]]],
    observed: Mapping[str, tuple[np.ndarray, list[str]]],
    units: str,
    draws: str = "posterior",
    coords: Mapping[str, Any] | None = None,
    log_likelihood: Mapping[str, np.ndarray] | None = None,
    extra_posterior: Mapping[str, tuple[np.ndarray, list[str]]] | None = None,
):
    """ArviZ ``InferenceData`` of information quantities beside the mixture parameters.

    quantities: name -> (draws (chains, draws) in ``units``, long name such as "I(X;Y)").
    mixtures: prefix -> (parameters with leaves (chains, draws, K, ...), names of the D
    coordinates, sampler statistics (chains, draws) by ArviZ name); the parameters become the
    variables ``{prefix}weights``, ``{prefix}means``, ``{prefix}cov``, the statistics
    ``{prefix}<stat>``. observed: name -> (data, dims); log_likelihood: name -> (chains, draws, obs)
    with the first dim of the observed variable of that name (or "obs"); extra_posterior:
    name -> (draws, dims); coords: coordinates of the dims named in ``observed``/``extra_posterior``.
    ``draws="replicates"`` (bootstrap) puts quantities, parameters and statistics in a group
    "bootstrap" with dim "replicate" instead of "posterior"/"sample_stats" with (chain, draw).
    """
    import xarray as xr

    variables = {name: values for name, (values, _) in quantities.items()}
    dims: dict[str, list[str]] = {name: d for name, (_, d) in observed.items()}
    all_coords: dict[str, Any] = dict(coords or {})
    stats: dict[str, np.ndarray] = {}
    for prefix, (params, names, sample_stats) in mixtures.items():
        v, d, c = _mixture_variables(prefix, params, names)
        variables.update(v)
        dims.update(d)
        all_coords.update(c)
        stats.update({prefix + k: s for k, s in sample_stats.items()})
    for name, (values, var_dims) in (extra_posterior or {}).items():
        variables[name] = values
        dims[name] = var_dims
    for name in log_likelihood or {}:
        dims.setdefault(name, ["obs"])
    observed_data = {name: data for name, (data, _) in observed.items()}
    if draws == "replicates":
        merged = {**variables, **stats}
        var_dims = {name: ["replicate", *dims.get(name, [])] for name in merged}
        used = {d for names in var_dims.values() for d in names}
        group = xr.Dataset({name: (var_dims[name], np.asarray(a).reshape((-1,) + np.shape(a)[2:]))
                            for name, a in merged.items()},
                           coords={k: v for k, v in all_coords.items() if k in used})
        idata = from_groups({"observed_data": observed_data}, all_coords, dims)
        add_group(idata, "bootstrap", group)
    else:
        idata = from_groups({"posterior": variables, "sample_stats": stats, "observed_data": observed_data,
                             "log_likelihood": log_likelihood}, all_coords, dims)
    group = idata[draws_group(draws)]
    for name, (_, long_name) in quantities.items():
        group[name].attrs.update(units=units, long_name=long_name)
    group.attrs["draws"] = "bootstrap replicates (not posterior draws)" if draws == "replicates" else "posterior"
    return idata
