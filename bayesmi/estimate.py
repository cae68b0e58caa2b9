"""``estimate_mi``: from joint samples to a posterior of I(X;Y).

The pipeline is: validate and standardise the inputs (:mod:`bayesmi.inputs`),
choose the number of mixture components by BIC of a MAP-EM fit
(:mod:`bayesmi.em`), sample the Bayesian mixture posterior with NUTS or SVI
(:mod:`bayesmi.inference`), then integrate MI for every posterior draw
(:func:`bayesmi.gmm.mutual_information`, vmapped) and package the lot as an
:class:`~bayesmi.result.MIResult` with an ArviZ ``InferenceData``.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Literal

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np

from bayesmi import em, gmm, inference
from bayesmi.batching import map_chunked
from bayesmi.gmm import GMMParams
from bayesmi.inputs import prepare_xy
from bayesmi.models import GMMPrior
from bayesmi.result import MIResult, to_units, warn_not_converged

__all__ = ["estimate_mi", "posterior_mi", "MC_SE_TARGET"]

#: The Monte Carlo error of the per-draw MI integral is kept below this
#: fraction of the posterior sd, so MC noise does not inflate the posterior.
MC_SE_TARGET = 0.1
METHODS = ("gibbs", "nuts", "svi", "bootstrap")
#: Above this many float32 values the pointwise log-likelihood is not stored.
MAX_POINTWISE_VALUES = 50_000_000


_mi_per_draw = jax.jit(jax.vmap(gmm.mutual_information, in_axes=(0, None, None)), static_argnums=(1,))


def posterior_mi(
    params: GMMParams, dim_x: int, n_points: int = 256, n_randomizations: int = 8, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """MI (nats) and its MC standard error for every draw of ``params`` (leaves (..., K, ...)).

    All draws share the same randomised-QMC points (common random numbers), so
    MC error moves draws together rather than spreading them apart.
    Returns two arrays shaped like the draws' leading axes.
    """
    lead = params.weights.shape[:-1]
    flat = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[len(lead):]), params)
    dim = params.means.shape[-1]
    base = jnp.asarray(gmm.qmc_normal_points(dim, n_points, n_randomizations, seed))
    mi, se = map_chunked(lambda p: _mi_per_draw(p, dim_x, base), flat, 256)
    return np.asarray(mi).reshape(lead), np.asarray(se).reshape(lead)


_log_prob_per_draw = jax.jit(jax.vmap(gmm.log_prob, in_axes=(0, None)))


def _pointwise_log_likelihood(params: GMMParams, z: jax.Array) -> np.ndarray:
    lead = params.weights.shape[:-1]
    flat = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[len(lead):]), params)
    log_lik = map_chunked(lambda p: _log_prob_per_draw(p, z), flat, 64)
    return np.asarray(log_lik).reshape(lead + (z.shape[0],))


def _inference_data(
    post: inference.Posterior, mi: np.ndarray, z: np.ndarray, dim_x: int, units: str,
    store_pointwise: bool,
) -> az.InferenceData:
    k, dim = post.params.means.shape[-2:]
    names = [f"x{i}" for i in range(dim_x)] + [f"y{i}" for i in range(dim - dim_x)]
    coords = {"component": np.arange(k), "dim": names, "dim_": names, "obs": np.arange(z.shape[0])}
    posterior = {
        "mi": mi,
        "weights": np.asarray(post.params.weights),
        "means": np.asarray(post.params.means),
        "prec_chol": np.asarray(post.params.prec_chol),
    }
    dims = {"weights": ["component"], "means": ["component", "dim"],
            "prec_chol": ["component", "dim", "dim_"], "z": ["obs", "dim"]}
    log_lik = None
    if store_pointwise:
        log_lik = {"z": _pointwise_log_likelihood(post.params, jnp.asarray(z))}
    idata = az.from_dict(
        posterior=posterior, sample_stats=post.sample_stats or None, observed_data={"z": z},
        log_likelihood=log_lik, coords=coords, dims=dims,
    )
    idata.posterior["mi"].attrs.update(units=units, long_name="I(X;Y)")
    return idata


def _diagnose(method: str, mi_nats: np.ndarray, post: inference.Posterior, min_ess_per_chain: int) -> tuple[dict, list[str]]:
    chains = mi_nats.shape[0]
    # R-hat compares chains; SVI's independent draws form one "chain", so it has none.
    rhat = float(az.rhat(mi_nats)) if chains > 1 and mi_nats.shape[1] >= 4 else float("nan")
    ess_bulk = float(az.ess(mi_nats, method="bulk"))
    ess_tail = float(az.ess(mi_nats, method="tail"))
    diag: dict[str, Any] = {"rhat": rhat, "ess_bulk": ess_bulk, "ess_tail": ess_tail}
    problems = []
    if method in ("nuts", "gibbs"):
        if rhat > 1.01:
            problems.append(f"R-hat of MI is {rhat:.3f} > 1.01")
        if min(ess_bulk, ess_tail) < min_ess_per_chain * chains:
            problems.append(f"ESS of MI (bulk {ess_bulk:.0f}, tail {ess_tail:.0f}) < {min_ess_per_chain * chains}")
    if method == "nuts":
        divergences = int(post.sample_stats["diverging"].sum())
        diag.update(divergences=divergences, mean_leapfrog_steps=post.info["mean_steps"])
        if divergences:
            problems.append(f"{divergences} divergent transitions")
    if method == "bootstrap":
        failed = post.info["em_not_converged"]
        diag.update(em_not_converged=failed)
        if failed:
            problems.append(f"EM hit its iteration limit in {failed} bootstrap replicates")
    if method == "svi":
        change = post.info["relative_loss_change"]
        diag.update(relative_loss_change=change)
        if change > 1e-3:
            problems.append(f"ELBO still changing by {change:.1e} (relative) over the last 10% of steps")
    return diag, problems


def estimate_mi(
    x: Any,
    y: Any,
    *,
    method: Literal["gibbs", "nuts", "svi", "bootstrap"] = "gibbs",
    n_components: int | Literal["auto"] = "auto",
    max_components: int = 10,
    select_by: Literal["bic", "aic", "cv"] | None = None,
    prior: GMMPrior | None = None,
    num_chains: int = 4,
    num_warmup: int = 500,
    num_samples: int = 1000,
    svi_steps: int = 3000,
    n_bootstrap: int = 50,
    mc_points: int = 256,
    mc_randomizations: int = 8,
    units: Literal["nats", "bits"] = "nats",
    truth: float | None = None,
    pointwise_log_likelihood: bool | Literal["auto"] = "auto",
    jitter_ties: bool = True,
    seed: int = 0,
    progress: bool = True,
) -> MIResult:
    """Posterior of the mutual information I(X;Y) under a Bayesian Gaussian mixture.

    Parameters
    ----------
    x, y : array-like (N,) or (N, d)
        Joint samples; rows are paired. Columns are standardised internally.
    method : "gibbs" (default: exact conjugate Gibbs sampler, the fastest exact method), "nuts"
        (NumPyro NUTS on the same model; slow when components overlap), or "svi" (full-rank
        Gaussian variational posterior), or "bootstrap" (the frequentist GMM-MI baseline: maximum-
        likelihood EM, K by cross-validation, ``n_bootstrap`` EM refits on resampled data).
    n_components : mixture size, or "auto" to choose it by ``select_by`` (K ≤ ``max_components``).
    select_by : "bic", "aic" or "cv" (2-fold cross-validated held-out likelihood, GMM-MI's rule);
        default "cv" for the bootstrap and "bic" for the Bayesian methods.
    prior : the mixture prior (:class:`~bayesmi.models.GMMPrior`; defaults documented there). For
        the bootstrap, ``None`` (default) means maximum likelihood, as in GMM-MI; a prior gives
        MAP refits.
    num_chains, num_warmup, num_samples : NUTS settings (``num_samples`` per chain; SVI draws
        ``num_chains * num_samples`` independent samples from the guide).
    svi_steps : optimisation steps for SVI.
    n_bootstrap : bootstrap replicates (draws of the "bootstrap" method, one chain).
    mc_points, mc_randomizations : QMC points per component and number of randomisations for the
        per-draw MI integral; the points are multiplied by 4 (up to twice) until the MC standard
        error is below ``MC_SE_TARGET`` × the posterior sd.
    units : "nats" (default) or "bits" for every number on the result.
    truth : the known MI in nats, if any (toy data); shown by ``summary`` and ``plot``.
    pointwise_log_likelihood : store log p(z_i | draw) in ``idata.log_likelihood`` (for ``az.loo``);
        "auto" stores it when it has at most 5e7 values.
    jitter_ties : dequantise heavily tied columns (with a TiesWarning) instead of raising.
    seed : every random step (jitter, EM starts, sampler, MC points) derives from it.
    progress : show NumPyro's progress bar.

    Returns
    -------
    MIResult with ``draws`` of shape (chains, draws); ``converged`` is False (and a
    ConvergenceWarning is issued) on R-hat > 1.01, ESS < 100 per chain, divergences, or an
    ELBO that has not settled.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    to_units(1.0, units)  # validates units early
    if not (n_components == "auto" or (isinstance(n_components, int) and n_components >= 1)):
        raise ValueError(f"n_components must be a positive int or 'auto', got {n_components!r}")
    if prior is None and method != "bootstrap":
        prior = GMMPrior()
    if select_by is None:
        select_by = "cv" if method == "bootstrap" else "bic"
    timings: dict[str, float] = {}

    start = time.perf_counter()
    xs, ys, info = prepare_xy(x, y, jitter_ties=jitter_ties, seed=seed)
    z = np.concatenate([xs, ys], axis=1).astype(np.float32)
    dim_x = xs.shape[1]
    zj = jnp.asarray(z)
    key_em, key_fit = jax.random.split(jax.random.key(seed))
    if n_components == "auto":
        k, fit, scores = em.select_components(zj, prior, key_em, max_components=max_components,
                                              criterion=select_by)
    else:
        k, scores = n_components, {}
        fit, _ = em.fit_em(zj, k, prior, key_em)
    timings["em"] = time.perf_counter() - start

    start = time.perf_counter()
    if method in ("nuts", "gibbs"):
        run = inference.run_nuts if method == "nuts" else inference.run_gibbs
        post = run(zj, k, prior, fit.params, key_fit, num_chains=num_chains,
                   num_warmup=num_warmup, num_samples=num_samples, progress=progress)
    elif method == "svi":
        post = inference.run_svi(zj, k, prior, fit.params, key_fit, num_steps=svi_steps,
                                 num_samples=num_chains * num_samples, progress=progress)
    else:
        post = inference.run_bootstrap(zj, fit.params, key_fit, n_bootstrap=n_bootstrap, prior=prior)
    timings["fit"] = time.perf_counter() - start

    start = time.perf_counter()
    n_points = mc_points
    for _ in range(3):
        mi, se = posterior_mi(post.params, dim_x, n_points, mc_randomizations, seed)
        mc_se = float(np.sqrt(np.mean(se**2)))
        if mc_se <= MC_SE_TARGET * np.std(mi) or n_points >= 16 * mc_points:
            break
        n_points *= 4
    timings["mi"] = time.perf_counter() - start

    diag, problems = _diagnose(method, mi, post, min_ess_per_chain=100)
    ratio = mc_se / max(float(np.std(mi)), 1e-12)
    if ratio > MC_SE_TARGET:
        warnings.warn(f"MC error of the MI integral is {ratio:.2f} × the posterior sd (target "
                      f"{MC_SE_TARGET}); raise mc_points.", UserWarning, stacklevel=2)
    diag.update(n_components=k, selection={"criterion": select_by, "scores": scores}, mc_points=n_points, mc_se_over_sd=ratio,
                timings=timings, n=info["n"], dim_x=info["dim_x"], dim_y=info["dim_y"],
                jittered_columns=info["jittered_columns"], **post.info)
    if "losses" in diag:
        diag["elbo_losses"] = diag.pop("losses")
    if problems:
        warn_not_converged(problems, method)
    diag["problems"] = problems

    if pointwise_log_likelihood == "auto":
        # Bootstrap replicates are not posterior draws, so LOO on them would mean nothing.
        pointwise_log_likelihood = method != "bootstrap" and mi.size * z.shape[0] <= MAX_POINTWISE_VALUES
    idata = _inference_data(post, to_units(mi, units), z, dim_x, units, bool(pointwise_log_likelihood))
    return MIResult(
        draws=to_units(mi, units),
        idata=idata,
        method=method,
        units=units,
        mc_se=to_units(mc_se, units),
        diagnostics=diag,
        converged=not problems,
        truth=None if truth is None else to_units(truth, units),
    )
