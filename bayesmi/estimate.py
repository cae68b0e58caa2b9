"""``estimate_mi``: from joint samples to a posterior of I(X;Y).

The pipeline is: validate and standardise the inputs (:mod:`bayesmi.inputs`),
choose the number of mixture components by BIC of a MAP-EM fit
(:mod:`bayesmi.em`), sample the Bayesian mixture posterior with Gibbs, NUTS or SVI
(:mod:`bayesmi.inference`), then integrate MI for every posterior draw
(:func:`bayesmi.gmm.mutual_information`, vmapped) and package the lot as an
:class:`~bayesmi.result.MIResult` with an ArviZ ``InferenceData``
(the shared steps are in :mod:`bayesmi.pipeline`). With ``y_type="categorical"``
the class-conditional densities are mixtures instead (:mod:`bayesmi.categorical`).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from bayesmi import gmm
from bayesmi.categorical import DEFAULT_CLASS_CONCENTRATION, categorical_mi
from bayesmi.gmm import GMMParams
from bayesmi.inputs import prepare_xy
from bayesmi.models import GMMPrior
from bayesmi.pipeline import MC_SE_TARGET, METHODS, FitOptions, posterior_quantity, single_mixture_fields
from bayesmi.result import MIResult, to_units

__all__ = ["estimate_mi", "posterior_mi", "MC_SE_TARGET", "METHODS"]

Y_TYPES = ("continuous", "categorical")


def posterior_mi(
    params: GMMParams, dim_x: int, n_points: int = 256, n_randomizations: int = 8, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """MI (nats) and its MC standard error for every draw of ``params`` (leaves (..., K, ...)).

    All draws share the same randomised-QMC points (common random numbers), so
    MC error moves draws together rather than spreading them apart.
    Returns two arrays shaped like the draws' leading axes.
    """
    return posterior_quantity(gmm.mutual_information, (params,), (dim_x,), n_lead=params.weights.ndim - 1,
                              n_points=n_points, n_randomizations=n_randomizations, seed=seed)


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
    y_type: Literal["continuous", "categorical"] = "continuous",
    class_concentration: float = DEFAULT_CLASS_CONCENTRATION,
) -> MIResult:
    """Posterior of the mutual information I(X;Y) under a Bayesian Gaussian mixture.

    Parameters
    ----------
    x, y : array-like (N,) or (N, d)
        Joint samples; rows are paired. Columns are standardised internally. With
        ``y_type="categorical"``, y is (N,) class labels of any hashable type instead.
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
    y_type : "continuous" (default) or "categorical": y holds class labels, each class's x is
        fitted by its own mixture (every setting above applies per class) and the class
        probabilities have a Dirichlet(counts + ``class_concentration``) posterior (bootstrap:
        multinomial resampling of the counts); see :mod:`bayesmi.categorical`. Every class needs
        at least ``bayesmi.categorical.MIN_CLASS_SAMPLES`` samples.
    class_concentration : Dirichlet prior concentration per class (default 1/2, Jeffreys).

    Returns
    -------
    MIResult with ``draws`` of shape (chains, draws); ``converged`` is False (and a
    ConvergenceWarning is issued) on R-hat > 1.01, ESS < 100 per chain, divergences, or an
    ELBO that has not settled.
    """
    options = FitOptions(method=method, n_components=n_components, max_components=max_components,
                         select_by=select_by, prior=prior, num_chains=num_chains, num_warmup=num_warmup,
                         num_samples=num_samples, svi_steps=svi_steps, n_bootstrap=n_bootstrap,
                         mc_points=mc_points, mc_randomizations=mc_randomizations, progress=progress)
    to_units(1.0, units)  # validates units early
    if y_type not in Y_TYPES:
        raise ValueError(f"y_type must be one of {Y_TYPES}, got {y_type!r}")
    if y_type == "categorical":
        return categorical_mi(x, y, options, class_concentration=class_concentration, units=units, truth=truth,
                              pointwise_log_likelihood=pointwise_log_likelihood, jitter_ties=jitter_ties, seed=seed)

    xs, ys, info = prepare_xy(x, y, jitter_ties=jitter_ties, seed=seed)
    z = np.concatenate([xs, ys], axis=1).astype(np.float32)
    dim_x = xs.shape[1]
    names = [f"x{i}" for i in range(dim_x)] + [f"y{i}" for i in range(ys.shape[1])]
    return MIResult(**single_mixture_fields(
        z, names, gmm.mutual_information, (dim_x,), options, variable="mi", long_name="I(X;Y)", units=units,
        truth=truth, pointwise=pointwise_log_likelihood, seed=seed,
        diagnostics={k: info[k] for k in ("n", "dim_x", "dim_y", "jittered_columns")},
    ))
