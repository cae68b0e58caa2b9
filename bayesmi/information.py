"""Entropy, KL divergence, conditional MI and pointwise MI under Bayesian Gaussian mixtures.

Each estimator fits mixture posteriors exactly as :func:`bayesmi.estimate_mi` does
(:mod:`bayesmi.pipeline`) and evaluates its quantity for every posterior draw with the same
component-stratified randomised-QMC expectation (:func:`bayesmi.gmm.expectation`):

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

from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from bayesmi import gmm, pipeline
from bayesmi.batching import map_chunked
from bayesmi.gmm import GMMParams
from bayesmi.inputs import Standardizer, prepare_variables
from bayesmi.result import InfoResult, MIResult, to_units

__all__ = ["estimate_entropy", "estimate_kl", "estimate_cmi", "pointwise_mi"]

def _names(prefix: str, dim: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(dim)]


def estimate_entropy(
    x: Any,
    *,
    units: Literal["nats", "bits"] = "nats",
    truth: float | None = None,
    pointwise_log_likelihood: bool | Literal["auto"] = "auto",
    jitter_ties: bool = True,
    seed: int = 0,
    **options: Any,
) -> InfoResult:
    """Posterior of the differential entropy H(X) of a sample x (N,) or (N, d).

    H(X) = H(X_std) + Σ_j log scale_j, where X_std is x standardised column by column (scale_j
    the column sd, ``diagnostics["log_jacobian"]``) and H(X_std) = −E[log p] of the fitted
    mixture, per posterior draw. ``truth``, ``units``, ``pointwise_log_likelihood``,
    ``jitter_ties`` (the jitter adds to the entropy of tied data) and ``seed`` are as in
    :func:`bayesmi.estimate_mi`. ``**options`` are the mixture-fit settings of
    :func:`bayesmi.estimate_mi` (method, n_components, num_samples, mc_points, ...; the fields of
    :class:`bayesmi.pipeline.FitOptions`), with the same defaults.

    Returns an :class:`~bayesmi.result.InfoResult` with variable "entropy", draws (chains, draws).
    """
    opts = pipeline.fit_options(**options)
    (xs,), (st,), jittered = prepare_variables({"x": x}, jitter_ties=jitter_ties, seed=seed)
    log_jacobian = float(np.sum(np.log(st.scale)))
    fields = pipeline.single_mixture_fields(
        xs.astype(np.float32), _names("x", xs.shape[1]), gmm.entropy, (), opts, variable="entropy",
        long_name="H(X)", units=units, truth=truth, pointwise=pointwise_log_likelihood, seed=seed,
        diagnostics={"n": xs.shape[0], "dim": xs.shape[1], "log_jacobian": log_jacobian,
                     "jittered_columns": jittered},
        offset=log_jacobian,
    )
    return InfoResult(**fields, variable="entropy")


def estimate_kl(
    x_p: Any,
    x_q: Any,
    *,
    units: Literal["nats", "bits"] = "nats",
    truth: float | None = None,
    pointwise_log_likelihood: bool | Literal["auto"] = "auto",
    jitter_ties: bool = True,
    seed: int = 0,
    **options: Any,
) -> InfoResult:
    """Posterior of KL(P‖Q) (nats) from samples x_p (N_p,) / (N_p, d) of P and x_q of Q (same d).

    A mixture posterior is fitted to each sample, both standardised by the transform fitted to
    the pooled samples; draw i of P's posterior is paired with draw i of Q's and
    KL = E_P[log p(x) − log q(x)] integrated by QMC over P's components. Settings as in
    :func:`estimate_entropy`; the jitter of tied columns uses ``seed`` for x_p and ``seed + 1``
    for x_q; ``**options`` apply to both fits.

    Returns an :class:`~bayesmi.result.InfoResult` with variable "kl"; ``idata.posterior`` holds
    P's and Q's mixtures with prefixes "p_" and "q_", ``n_components`` is keyed "p" and "q".
    """
    opts = pipeline.fit_options(**options)
    (zp,), (st_p,), jit_p = prepare_variables({"x_p": x_p}, jitter_ties=jitter_ties, seed=seed)
    (zq,), (st_q,), jit_q = prepare_variables({"x_q": x_q}, jitter_ties=jitter_ties, seed=seed + 1)
    if zp.shape[1] != zq.shape[1]:
        raise ValueError(f"x_p and x_q must have the same number of columns, got {zp.shape[1]} and {zq.shape[1]}")
    raw_p, raw_q = st_p.inverse_transform(zp), st_q.inverse_transform(zq)
    pooled = Standardizer.fit(np.concatenate([raw_p, raw_q]))
    zp, zq = (pooled.transform(a).astype(np.float32) for a in (raw_p, raw_q))
    names = _names("x", zp.shape[1])
    key = jax.random.key(seed)
    fits = {"p_": (pipeline.fit_mixture(zp, opts, jax.random.fold_in(key, 0)), names),
            "q_": (pipeline.fit_mixture(zq, opts, jax.random.fold_in(key, 1)), names)}
    params = tuple(fit.posterior.params for fit, _ in fits.values())
    integral = pipeline.integrate(gmm.kl_divergence, params, (), opts, seed, label="KL(P‖Q)")
    log_lik = None
    if pipeline.store_pointwise(pointwise_log_likelihood, opts.method, integral.values.size * (len(zp) + len(zq))):
        log_lik = {"x_p": pipeline.pointwise_log_likelihood(params[0], zp),
                   "x_q": pipeline.pointwise_log_likelihood(params[1], zq)}
    fields = pipeline.result_fields(
        "kl", "KL(P‖Q)", integral.values, integral, fits,
        {"x_p": (zp, ["p_obs", "dim"]), "x_q": (zq, ["q_obs", "dim"])}, opts, units, truth,
        {"n_p": len(zp), "n_q": len(zq), "dim": zp.shape[1], "jittered_columns": jit_p + jit_q},
        coords={"p_obs": np.arange(len(zp)), "q_obs": np.arange(len(zq)), "dim": names}, log_likelihood=log_lik,
    )
    return InfoResult(**fields, variable="kl")


def estimate_cmi(
    x: Any,
    y: Any,
    z: Any,
    *,
    units: Literal["nats", "bits"] = "nats",
    truth: float | None = None,
    pointwise_log_likelihood: bool | Literal["auto"] = "auto",
    jitter_ties: bool = True,
    seed: int = 0,
    **options: Any,
) -> InfoResult:
    """Posterior of the conditional mutual information I(X;Y|Z) (nats); x, y, z (N,) or (N, d), paired rows.

    One mixture is fitted to the joint (x, y, z), each variable standardised column by column;
    per draw I(X;Y|Z) = E[log p(x,y,z) + log p(z) − log p(x,z) − log p(y,z)] with exact
    marginals. Settings and ``**options`` as in :func:`estimate_entropy`.

    Returns an :class:`~bayesmi.result.InfoResult` with variable "cmi"; ``idata.observed_data["z"]``
    holds the standardised joint sample (columns x0.., y0.., z0..).
    """
    opts = pipeline.fit_options(**options)
    (xs, ys, zs), _, jittered = prepare_variables({"x": x, "y": y, "z": z}, jitter_ties=jitter_ties, seed=seed)
    joint = np.concatenate([xs, ys, zs], axis=1).astype(np.float32)
    names = _names("x", xs.shape[1]) + _names("y", ys.shape[1]) + _names("z", zs.shape[1])
    fields = pipeline.single_mixture_fields(
        joint, names, gmm.conditional_mutual_information, (xs.shape[1], ys.shape[1]), opts, variable="cmi",
        long_name="I(X;Y|Z)", units=units, truth=truth, pointwise=pointwise_log_likelihood, seed=seed,
        diagnostics={"n": xs.shape[0], "dim_x": xs.shape[1], "dim_y": ys.shape[1], "dim_z": zs.shape[1],
                     "jittered_columns": jittered},
    )
    return InfoResult(**fields, variable="cmi")


def _mixture_draws(result: MIResult, prefix: str, rows: np.ndarray) -> GMMParams:
    """The mixture ``prefix`` of ``result.idata.posterior`` at the flattened draws ``rows``."""
    post = result.idata.posterior

    def take(name: str) -> jax.Array:
        values = post[prefix + name].values
        return jnp.asarray(values.reshape((-1,) + values.shape[2:])[rows])

    return GMMParams(take("weights"), take("means"), take("prec_chol"))


_pmi_per_draw = jax.jit(jax.vmap(gmm.pointwise_mutual_information, in_axes=(0, None, None)), static_argnums=1)
_categorical_pmi_per_draw = jax.jit(jax.vmap(gmm.pointwise_categorical_mutual_information,
                                             in_axes=(0, 0, None, None)))


def pointwise_mi(result: MIResult, max_draws: int = 200) -> np.ndarray:
    """Pointwise MI log p(x_i, y_i) / (p(x_i) p(y_i)) at every data row, per posterior draw: (S, N).

    ``result`` comes from :func:`bayesmi.estimate_mi` (continuous or categorical y; for a class
    y the ratio is log p(x_i | y_i) / p(x_i)). PMI is invariant to the standardisation, so it is
    evaluated at the stored standardised rows. The S = min(max_draws, chains·draws) draws are
    evenly spaced over all chains; ``result.units`` apply. The mean over rows of one draw's PMI
    is a plug-in estimate of that draw's MI; plot the spread with :func:`bayesmi.plot_pmi.plot_pmi`.
    """
    post = result.idata.posterior
    if getattr(result, "variable", "mi") != "mi" or "mi" not in post:
        raise ValueError("pointwise_mi needs the result of bayesmi.estimate_mi")
    n_draws = post.sizes["chain"] * post.sizes["draw"]
    rows = np.unique(np.linspace(0, n_draws - 1, min(max_draws, n_draws)).round().astype(int))
    if result.diagnostics.get("y_type") == "categorical":
        x = jnp.asarray(result.idata.observed_data["x"].values, jnp.float32)
        codes = jnp.asarray(result.idata.observed_data["y"].values)
        probs = jnp.asarray(post["class_probs"].values.reshape(n_draws, -1)[rows])
        classes = tuple(_mixture_draws(result, f"class{c}_", rows) for c in range(probs.shape[-1]))
        pmi = map_chunked(lambda d: _categorical_pmi_per_draw(*d, x, codes), (probs, classes), 64)
    else:
        z = jnp.asarray(result.idata.observed_data["z"].values, jnp.float32)
        params = _mixture_draws(result, "", rows)
        pmi = map_chunked(lambda p: _pmi_per_draw(p, result.diagnostics["dim_x"], z), params, 64)
    return to_units(np.asarray(pmi, dtype=np.float64), result.units)
