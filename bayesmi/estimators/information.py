"""Entropy, KL divergence, conditional MI and pointwise MI under Bayesian Gaussian mixtures.

Each estimator fits mixture posteriors exactly as :func:`bayesmi.estimate_mi` does
(:func:`bayesmi.fitting.fit_mixtures`) and evaluates its quantity for every posterior draw with the same
component-stratified randomised-QMC expectation (:func:`bayesmi.mixture.expectation`):

* :func:`estimate_entropy`: H(X) = −E[log p(x)]; standardisation is undone by adding the
  log-Jacobian Σ_j log scale_j, since entropy is not invariant to scaling.
* :func:`estimate_kl`: KL(P‖Q) = E_P[log p − log q] from one mixture per sample, both
  standardised by one pooled transform (KL is invariant to a shared invertible affine map);
  draw i of P's posterior is paired with draw i of Q's.
* :func:`estimate_cmi`: I(X;Y|Z) = E[log p(x,y,z) + log p(z) − log p(x,z) − log p(y,z)] from one
  joint mixture (invariant to a separate affine map of each variable).
* :func:`pointwise_mi`: log p(x,y)/(p(x)p(y)) at the data points, per draw of an
  :func:`~bayesmi.estimate_mi` result (continuous or categorical y).

All quantities are in nats unless ``units="bits"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import jax
import numpy as np

from bayesmi.estimators.posterior import quantity_result
from bayesmi.fitting import fit_mixtures, integrate, row_log_likelihoods, store_pointwise
from bayesmi.inputs import Standardizer, prepare_variables
from bayesmi.mixture import conditional_mutual_information, entropy, kl_divergence
from bayesmi.options import FitOptions
from bayesmi.results import MIResult
from bayesmi.util import Progress, to_units

__all__ = ["estimate_entropy", "estimate_kl", "estimate_cmi", "pointwise_mi"]


def _names(prefix: str, dim: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(dim)]


def _single_mixture_result(
    z: np.ndarray, names: list[str], quantity: Callable, static: tuple, options: FitOptions, *, variable: str,
    long_name: str, units: str, truth: float | None, pointwise: bool | str, seed: int,
    diagnostics: Mapping[str, Any], offset: float = 0.0,
) -> MIResult:
    """Fit one mixture to the standardised sample z (N, D) (coordinates ``names``), integrate
    ``quantity(params, *static, base_points)`` per draw and add ``offset`` nats (e.g. the
    log-Jacobian of the standardisation)."""
    with Progress(options.progress, f"estimate {variable} ({options.method})") as progress:
        batch = fit_mixtures([z], options, jax.random.key(seed), progress)
        params = batch.mixture(0)
        integral = integrate(quantity, (jax.tree.map(lambda a: a[None], params),), static, options, seed,
                             long_name, progress)
    values = integral.values[0] + offset
    log_lik = None
    if store_pointwise(pointwise, type(batch.info).DRAWS, values.size * z.shape[0]):
        log_lik = {"z": row_log_likelihoods(params, z)}
    return quantity_result(
        variable=variable, long_name=long_name, values=values, integral=integral, batch=batch,
        parts={"": (0, names)}, observed={"z": (z, ["obs", "dim"])}, options=options, units=units, truth=truth,
        diagnostics=diagnostics, coords={"obs": np.arange(z.shape[0])}, log_likelihood=log_lik,
    )


def estimate_entropy(
    x: Any,
    *,
    options: FitOptions | None = None,
    units: Literal["nats", "bits"] = "nats",
    truth: float | None = None,
    seed: int = 0,
    jitter_ties: bool = True,
    pointwise_log_likelihood: bool | Literal["auto"] = "auto",
    **fit_options: Any,
) -> MIResult:
    """Posterior of the differential entropy H(X) of a sample x (N,) or (N, d).

    H(X) = H(X_std) + Σ_j log scale_j, where X_std is x standardised column by column (scale_j
    the column sd, ``diagnostics["log_jacobian"]``) and H(X_std) = −E[log p] of the fitted
    mixture, per posterior draw. ``options``/``**fit_options`` (the fit settings,
    :class:`~bayesmi.FitOptions`), ``units``, ``truth``, ``seed``, ``jitter_ties`` (the jitter
    adds to the entropy of tied data) and ``pointwise_log_likelihood`` are as in
    :func:`bayesmi.estimate_mi`.

    Returns an :class:`~bayesmi.MIResult` with variable "entropy", draws (chains, draws).
    """
    options = FitOptions.resolve(options, **fit_options)
    to_units(1.0, units)
    (xs,), (st,), jittered = prepare_variables({"x": x}, jitter_ties=jitter_ties, seed=seed)
    log_jacobian = float(np.sum(np.log(st.scale)))
    return _single_mixture_result(
        xs.astype(np.float32), _names("x", xs.shape[1]), entropy, (), options, variable="entropy",
        long_name="H(X)", units=units, truth=truth, pointwise=pointwise_log_likelihood, seed=seed,
        diagnostics={"n": xs.shape[0], "dim": xs.shape[1], "log_jacobian": log_jacobian,
                     "jittered_columns": jittered},
        offset=log_jacobian,
    )


def estimate_kl(
    x_p: Any,
    x_q: Any,
    *,
    options: FitOptions | None = None,
    units: Literal["nats", "bits"] = "nats",
    truth: float | None = None,
    seed: int = 0,
    jitter_ties: bool = True,
    pointwise_log_likelihood: bool | Literal["auto"] = "auto",
    **fit_options: Any,
) -> MIResult:
    """Posterior of KL(P‖Q) (nats) from samples x_p (N_p,) / (N_p, d) of P and x_q of Q (same d).

    A mixture posterior is fitted to each sample (one batch), both standardised by the transform
    fitted to the pooled samples; draw i of P's posterior is paired with draw i of Q's and
    KL = E_P[log p(x) − log q(x)] integrated by QMC over P's components. Settings as in
    :func:`estimate_entropy`; the jitter of tied columns uses ``seed`` for x_p and ``seed + 1``
    for x_q; the fit settings apply to both fits.

    Returns an :class:`~bayesmi.MIResult` with variable "kl"; ``idata.posterior`` holds P's and
    Q's mixtures with prefixes "p_" and "q_", ``n_components`` is keyed "p" and "q".
    """
    options = FitOptions.resolve(options, **fit_options)
    to_units(1.0, units)
    (zp,), (st_p,), jit_p = prepare_variables({"x_p": x_p}, jitter_ties=jitter_ties, seed=seed)
    (zq,), (st_q,), jit_q = prepare_variables({"x_q": x_q}, jitter_ties=jitter_ties, seed=seed + 1)
    if zp.shape[1] != zq.shape[1]:
        raise ValueError(f"x_p and x_q must have the same number of columns, got {zp.shape[1]} and {zq.shape[1]}")
    raw_p, raw_q = st_p.inverse_transform(zp), st_q.inverse_transform(zq)
    pooled = Standardizer.fit(np.concatenate([raw_p, raw_q]))
    zp, zq = (pooled.transform(a).astype(np.float32) for a in (raw_p, raw_q))
    names = _names("x", zp.shape[1])
    with Progress(options.progress, f"estimate_kl ({options.method})") as progress:
        batch = fit_mixtures([zp, zq], options, jax.random.key(seed), progress)
        params = (batch.mixture(0), batch.mixture(1))
        integral = integrate(kl_divergence, tuple(jax.tree.map(lambda a: a[None], p) for p in params), (),
                             options, seed, "KL(P‖Q)", progress)
    values = integral.values[0]
    log_lik = None
    if store_pointwise(pointwise_log_likelihood, type(batch.info).DRAWS, values.size * (len(zp) + len(zq))):
        log_lik = {"x_p": row_log_likelihoods(params[0], zp), "x_q": row_log_likelihoods(params[1], zq)}
    return quantity_result(
        variable="kl", long_name="KL(P‖Q)", values=values, integral=integral, batch=batch,
        parts={"p_": (0, names), "q_": (1, names)},
        observed={"x_p": (zp, ["p_obs", "dim"]), "x_q": (zq, ["q_obs", "dim"])}, options=options, units=units,
        truth=truth, diagnostics={"n_p": len(zp), "n_q": len(zq), "dim": zp.shape[1],
                                  "jittered_columns": jit_p + jit_q},
        coords={"p_obs": np.arange(len(zp)), "q_obs": np.arange(len(zq)), "dim": names}, log_likelihood=log_lik,
    )


def estimate_cmi(
    x: Any,
    y: Any,
    z: Any,
    *,
    options: FitOptions | None = None,
    units: Literal["nats", "bits"] = "nats",
    truth: float | None = None,
    seed: int = 0,
    jitter_ties: bool = True,
    pointwise_log_likelihood: bool | Literal["auto"] = "auto",
    **fit_options: Any,
) -> MIResult:
    """Posterior of the conditional mutual information I(X;Y|Z) (nats); x, y, z (N,) or (N, d), paired rows.

    One mixture is fitted to the joint (x, y, z), each variable standardised column by column;
    per draw I(X;Y|Z) = E[log p(x,y,z) + log p(z) − log p(x,z) − log p(y,z)] with exact
    marginals. Settings as in :func:`estimate_entropy`.

    Returns an :class:`~bayesmi.MIResult` with variable "cmi"; ``idata.observed_data["z"]``
    holds the standardised joint sample (columns x0.., y0.., z0..).
    """
    options = FitOptions.resolve(options, **fit_options)
    to_units(1.0, units)
    (xs, ys, zs), _, jittered = prepare_variables({"x": x, "y": y, "z": z}, jitter_ties=jitter_ties, seed=seed)
    joint = np.concatenate([xs, ys, zs], axis=1).astype(np.float32)
    names = _names("x", xs.shape[1]) + _names("y", ys.shape[1]) + _names("z", zs.shape[1])
    return _single_mixture_result(
        joint, names, conditional_mutual_information, (xs.shape[1], ys.shape[1]), options, variable="cmi",
        long_name="I(X;Y|Z)", units=units, truth=truth, pointwise=pointwise_log_likelihood, seed=seed,
        diagnostics={"n": xs.shape[0], "dim_x": xs.shape[1], "dim_y": ys.shape[1], "dim_z": zs.shape[1],
                     "jittered_columns": jittered},
    )


def pointwise_mi(result: MIResult, max_draws: int = 200) -> np.ndarray:
    """Pointwise MI log p(x_i, y_i) / (p(x_i) p(y_i)) at every data row, per posterior draw: (S, N).

    ``result`` comes from :func:`bayesmi.estimate_mi`; see :meth:`bayesmi.MIResult.pointwise_mi`.
    Plot the spread with :func:`bayesmi.plots.plot_pmi`.
    """
    return result.pointwise_mi(max_draws)
