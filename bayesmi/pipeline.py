"""The steps every mixture-based estimator shares, from a standardised sample to a result.

1. :func:`fit_mixture`: choose the number of components (:mod:`bayesmi.em`) and draw the
   mixture posterior with one of the inference drivers (:mod:`bayesmi.inference`).
2. :func:`integrate`: evaluate an information quantity of :mod:`bayesmi.gmm` (MI, entropy,
   KL, conditional or categorical MI) for every posterior draw, with common randomised-QMC
   points, adding points until the Monte Carlo error is small against the posterior spread.
3. :func:`diagnose` and :func:`inference_data`: R-hat/ESS of the quantity and the sampler
   checks, and an ArviZ ``InferenceData`` holding the quantity beside the mixture parameters.

An estimator may combine several mixture posteriors (one per class, or P and Q of a KL
divergence); their draws are paired by index, (chain c, draw i) with (chain c, draw i).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import partial
from typing import Any

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np

from bayesmi import em, gmm, inference
from bayesmi.batching import map_chunked
from bayesmi.gmm import GMMParams
from bayesmi.models import GMMPrior
from bayesmi.result import to_units, warn_not_converged

__all__ = [
    "METHODS", "MC_SE_TARGET", "MAX_POINTWISE_VALUES", "FitOptions", "fit_options", "MixtureFit",
    "fit_mixture", "posterior_quantity", "Integral", "integrate", "diagnose", "pointwise_log_likelihood",
    "inference_data", "store_pointwise", "result_fields", "single_mixture_fields",
]

METHODS = ("gibbs", "nuts", "svi", "bootstrap")
#: The Monte Carlo error of the per-draw integral is kept below this
#: fraction of the posterior sd, so MC noise does not inflate the posterior.
MC_SE_TARGET = 0.1
#: Above this many float32 values the pointwise log-likelihood is not stored.
MAX_POINTWISE_VALUES = 50_000_000


@dataclass(frozen=True)
class FitOptions:
    """How each mixture posterior is fitted and integrated; the meanings are those of
    :func:`bayesmi.estimate_mi`'s parameters of the same names.

    ``prior=None`` becomes :class:`GMMPrior()` except for the bootstrap (maximum likelihood),
    ``select_by=None`` becomes "cv" for the bootstrap and "bic" otherwise.
    """

    method: str = "gibbs"
    n_components: int | str = "auto"
    max_components: int = 10
    select_by: str | None = None
    prior: GMMPrior | None = None
    num_chains: int = 4
    num_warmup: int = 500
    num_samples: int = 1000
    svi_steps: int = 3000
    n_bootstrap: int = 50
    mc_points: int = 256
    mc_randomizations: int = 8
    progress: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        k = self.n_components
        if not (k == "auto" or (isinstance(k, int) and not isinstance(k, bool) and k >= 1)):
            raise ValueError(f"n_components must be a positive int or 'auto', got {k!r}")
        if self.prior is None and self.method != "bootstrap":
            object.__setattr__(self, "prior", GMMPrior())
        if self.select_by is None:
            object.__setattr__(self, "select_by", "cv" if self.method == "bootstrap" else "bic")


def fit_options(**options: Any) -> FitOptions:
    """:class:`FitOptions` from keyword arguments, with a clear error for an unknown name."""
    names = [f.name for f in fields(FitOptions)]
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; the mixture-fit options are {names}")
    return FitOptions(**options)


@dataclass
class MixtureFit:
    """A mixture posterior fitted to one standardised sample.

    posterior: draws with leaves (chains, draws, ...); n_components: the K used;
    selection: {"criterion", "scores" {K: score}}; timings: seconds of "em" and "fit".
    """

    posterior: inference.Posterior
    n_components: int
    selection: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


def fit_mixture(z: np.ndarray, options: FitOptions, key: jax.Array) -> MixtureFit:
    """Choose K (or take ``options.n_components``) by EM and draw the mixture posterior of ``z`` (N, D)."""
    zj = jnp.asarray(z, jnp.float32)
    key_em, key_fit = jax.random.split(key)
    start = time.perf_counter()
    if options.n_components == "auto":
        k, fit, scores = em.select_components(zj, options.prior, key_em, max_components=options.max_components,
                                              criterion=options.select_by)
    else:
        k, scores = options.n_components, {}
        fit, _ = em.fit_em(zj, k, options.prior, key_em)
    timings = {"em": time.perf_counter() - start}

    start = time.perf_counter()
    if options.method in ("nuts", "gibbs"):
        run = inference.run_nuts if options.method == "nuts" else inference.run_gibbs
        post = run(zj, k, options.prior, fit.params, key_fit, num_chains=options.num_chains,
                   num_warmup=options.num_warmup, num_samples=options.num_samples, progress=options.progress)
    elif options.method == "svi":
        post = inference.run_svi(zj, k, options.prior, fit.params, key_fit, num_steps=options.svi_steps,
                                 num_samples=options.num_chains * options.num_samples, progress=options.progress)
    else:
        post = inference.run_bootstrap(zj, fit.params, key_fit, n_bootstrap=options.n_bootstrap,
                                       prior=options.prior)
    timings["fit"] = time.perf_counter() - start
    return MixtureFit(post, k, {"criterion": options.select_by, "scores": scores}, timings)


@partial(jax.jit, static_argnums=(0, 1))
def _per_draw(quantity: Callable, static: tuple, draws: tuple, base: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``quantity(*draw, *static, base)`` for every draw along the leading axis of ``draws``' leaves."""
    return jax.vmap(lambda d: quantity(*d, *static, base))(draws)


def posterior_quantity(
    quantity: Callable[..., tuple[jax.Array, jax.Array]],
    draws: tuple,
    static: tuple = (),
    *,
    n_lead: int = 2,
    n_points: int = 256,
    n_randomizations: int = 8,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A :mod:`bayesmi.gmm` quantity and its MC s.e. for every posterior draw.

    ``quantity(*draw, *static, base_points)`` returns ``(value, mc_se)`` for one draw, e.g.
    ``gmm.mutual_information`` with ``draws=(params,)``, ``static=(dim_x,)``. The leaves of
    ``draws`` have ``n_lead`` leading axes of draws, e.g. (chains, draws); all draws share
    the same randomised-QMC points (common random numbers), so MC error moves draws together
    rather than spreading them apart. Returns two arrays shaped like those leading axes.
    """
    lead = jax.tree.leaves(draws)[0].shape[:n_lead]
    mixtures = jax.tree.leaves(draws, is_leaf=lambda a: isinstance(a, GMMParams))
    dim = next(m for m in mixtures if isinstance(m, GMMParams)).means.shape[-1]  # the points' dimension
    flat = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[n_lead:]), draws)
    base = jnp.asarray(gmm.qmc_normal_points(dim, n_points, n_randomizations, seed))
    values, se = map_chunked(lambda d: _per_draw(quantity, static, d, base), flat, 256)
    return np.asarray(values).reshape(lead), np.asarray(se).reshape(lead)


@dataclass
class Integral:
    """Per-draw values (*batch, chains, draws) of a quantity in nats, the root-mean-square MC s.e.
    of one draw's integral, the QMC points per component used, that s.e. over the posterior sd,
    and the wall time in seconds. With batch axes (separate posteriors, e.g. the cells of a
    matrix) ``mc_se``, ``n_points`` and ``mc_se_over_sd`` are arrays of the batch shape."""

    values: np.ndarray
    mc_se: float | np.ndarray
    n_points: int | np.ndarray
    mc_se_over_sd: float | np.ndarray
    seconds: float


def integrate(
    quantity: Callable[..., tuple[jax.Array, jax.Array]], draws: tuple, static: tuple, options: FitOptions,
    seed: int, label: str = "MI", n_batch: int = 0,
) -> Integral:
    """:func:`posterior_quantity`, multiplying the points by 4 (up to twice) until the MC s.e. is
    at most ``MC_SE_TARGET`` × the posterior sd; warns (naming ``label``) if it stays above.

    The leaves of ``draws`` lead with ``n_batch`` batch axes, then (chains, draws); each posterior
    of the batch gets more points only while it misses the target itself.
    """
    start = time.perf_counter()
    batch = jax.tree.leaves(draws)[0].shape[:n_batch]
    flat = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[n_batch:]), draws)  # one batch axis
    values = se = None
    todo = np.arange(int(np.prod(batch)))
    n_points = np.full(todo.size, options.mc_points)
    for points in (options.mc_points, 4 * options.mc_points, 16 * options.mc_points):
        part = jax.tree.map(lambda a: a[todo], flat)
        v, e = posterior_quantity(quantity, part, static, n_lead=3, n_points=points,
                                  n_randomizations=options.mc_randomizations, seed=seed)
        if values is None:
            values, se = np.array(v), np.array(e)
        else:
            values[todo], se[todo] = v, e
        n_points[todo] = points
        mc_se = np.sqrt(np.mean(se**2, axis=(-2, -1)))
        sd = np.std(values, axis=(-2, -1))
        todo = np.flatnonzero(mc_se > MC_SE_TARGET * sd)
        if todo.size == 0:
            break
    ratio = mc_se / np.maximum(sd, 1e-12)
    if np.any(ratio > MC_SE_TARGET):
        warnings.warn(f"MC error of the {label} integral is {np.max(ratio):.2f} × the posterior sd (target "
                      f"{MC_SE_TARGET}); raise mc_points.", UserWarning, stacklevel=3)
    shaped = [a.reshape(batch + a.shape[1:]) for a in (values, mc_se, n_points, ratio)]
    if n_batch == 0:
        shaped[1:] = [a.item() for a in shaped[1:]]
    return Integral(*shaped, seconds=time.perf_counter() - start)


def diagnose(
    method: str, values: np.ndarray, posts: Sequence[inference.Posterior], variable: str = "mi",
    label: str = "MI", min_ess_per_chain: int = 100,
) -> tuple[dict[str, Any], list[str]]:
    """R-hat and ESS of the draws (chains, draws) of the posterior ``variable`` (``label`` in
    messages) and the checks of the inference driver, summed (or worst) over the mixture
    posteriors ``posts`` it combines; a ConvergenceWarning lists any failure.

    Returns the diagnostics (with "problems") and the list of problems (empty when all passed).
    """
    chains = values.shape[0]
    # R-hat compares chains; SVI's independent draws form one "chain", so it has none.
    rhat = float(az.rhat(values)) if chains > 1 and values.shape[1] >= 4 else float("nan")
    ess_bulk = float(az.ess(values, method="bulk"))
    ess_tail = float(az.ess(values, method="tail"))
    diag: dict[str, Any] = {"rhat": rhat, "ess_bulk": ess_bulk, "ess_tail": ess_tail}
    problems = []
    if method in ("nuts", "gibbs"):
        if rhat > 1.01:
            problems.append(f"R-hat of {label} is {rhat:.3f} > 1.01")
        if min(ess_bulk, ess_tail) < min_ess_per_chain * chains:
            problems.append(f"ESS of {label} (bulk {ess_bulk:.0f}, tail {ess_tail:.0f}) < "
                            f"{min_ess_per_chain * chains}")
    if method == "nuts":
        divergences = sum(int(p.sample_stats["diverging"].sum()) for p in posts)
        diag.update(divergences=divergences, mean_leapfrog_steps=float(np.mean([p.info["mean_steps"] for p in posts])))
        if divergences:
            problems.append(f"{divergences} divergent transitions")
    if method == "bootstrap":
        failed = sum(p.info["em_not_converged"] for p in posts)
        diag.update(em_not_converged=failed)
        if failed:
            problems.append(f"EM hit its iteration limit in {failed} bootstrap replicates")
    if method == "svi":
        change = max(p.info["relative_loss_change"] for p in posts)
        diag.update(relative_loss_change=change)
        if change > 1e-3:
            problems.append(f"ELBO still changing by {change:.1e} (relative) over the last 10% of steps")
    if problems:
        warn_not_converged(problems, method, variable, label)
    diag["problems"] = problems
    return diag, problems


_log_prob_per_draw = jax.jit(jax.vmap(gmm.log_prob, in_axes=(0, None)))


def pointwise_log_likelihood(params: GMMParams, z: np.ndarray) -> np.ndarray:
    """``log p(z_i | draw)`` (nats) for every draw (leaves (..., K, ...)) and row of z (N, D): (..., N)."""
    lead = params.weights.shape[:-1]
    flat = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[len(lead):]), params)
    log_lik = map_chunked(lambda p: _log_prob_per_draw(p, jnp.asarray(z, jnp.float32)), flat, 64)
    return np.asarray(log_lik).reshape(lead + (z.shape[0],))


def store_pointwise(setting: bool | str, method: str, n_values: int) -> bool:
    """Resolve ``pointwise_log_likelihood="auto"``: store it for posterior draws (not bootstrap
    replicates, on which LOO would mean nothing) when it has at most MAX_POINTWISE_VALUES values."""
    if setting == "auto":
        return method != "bootstrap" and n_values <= MAX_POINTWISE_VALUES
    return bool(setting)


def inference_data(
    quantities: Mapping[str, tuple[np.ndarray, str]],
    mixtures: Mapping[str, tuple[inference.Posterior, Sequence[str]]],
    observed: Mapping[str, tuple[np.ndarray, list[str]]],
    units: str,
    coords: Mapping[str, Any] | None = None,
    log_likelihood: Mapping[str, np.ndarray] | None = None,
    extra_posterior: Mapping[str, tuple[np.ndarray, list[str]]] | None = None,
) -> az.InferenceData:
    """ArviZ ``InferenceData`` of information quantities beside the mixture parameters.

    quantities: name -> (draws (chains, draws) in ``units``, long name such as "I(X;Y)").
    mixtures: prefix -> (posterior, names of its D coordinates); its parameters become the
    posterior variables ``{prefix}weights`` ({prefix}component), ``{prefix}means``
    ({prefix}component, {prefix}dim) and ``{prefix}prec_chol`` (…, {prefix}dim, {prefix}dim_),
    its sampler statistics ``{prefix}<stat>``.
    observed: name -> (data, dims); log_likelihood: name -> (chains, draws, obs) with the first
    dim of the observed variable of the same name (or "obs"); extra_posterior: name -> (draws, dims);
    coords: coordinates of the dims named in ``observed`` and ``extra_posterior``.
    """
    posterior = {name: values for name, (values, _) in quantities.items()}
    all_coords: dict[str, Any] = dict(coords or {})
    dims = {name: d for name, (_, d) in observed.items()}
    sample_stats: dict[str, np.ndarray] = {}
    for prefix, (post, names) in mixtures.items():
        comp, dim, dim_ = f"{prefix}component", f"{prefix}dim", f"{prefix}dim_"
        all_coords.update({comp: np.arange(post.params.means.shape[-2]), dim: list(names), dim_: list(names)})
        for var, value, var_dims in (("weights", post.params.weights, [comp]),
                                     ("means", post.params.means, [comp, dim]),
                                     ("prec_chol", post.params.prec_chol, [comp, dim, dim_])):
            posterior[prefix + var] = np.asarray(value)
            dims[prefix + var] = var_dims
        sample_stats.update({prefix + k: v for k, v in post.sample_stats.items()})
    for name, (values, var_dims) in (extra_posterior or {}).items():
        posterior[name] = values
        dims[name] = var_dims
    for name in log_likelihood or {}:
        dims.setdefault(name, ["obs"])
    idata = az.from_dict(
        posterior=posterior, sample_stats=sample_stats or None,
        observed_data={name: data for name, (data, _) in observed.items()},
        log_likelihood=dict(log_likelihood) if log_likelihood else None, coords=all_coords, dims=dims,
    )
    for name, (_, long_name) in quantities.items():
        idata.posterior[name].attrs.update(units=units, long_name=long_name)
    return idata


def result_fields(
    variable: str,
    long_name: str,
    values: np.ndarray,
    integral: Integral,
    fits: Mapping[str, tuple[MixtureFit, Sequence[str]]],
    observed: Mapping[str, tuple[np.ndarray, list[str]]],
    options: FitOptions,
    units: str,
    truth: float | None,
    diagnostics: Mapping[str, Any],
    coords: Mapping[str, Any] | None = None,
    log_likelihood: Mapping[str, np.ndarray] | None = None,
    extra_posterior: Mapping[str, tuple[np.ndarray, list[str]]] | None = None,
) -> dict[str, Any]:
    """Diagnose the draws ``values`` (chains, draws, nats) of ``variable`` and build the fields of
    an :class:`~bayesmi.result.MIResult` / ``InfoResult``.

    fits: prefix -> (mixture fit, coordinate names), as the ``mixtures`` of :func:`inference_data`.
    With one fit (prefix "") the diagnostics hold its ``n_components``, ``selection`` and run
    information directly; with several they hold ``n_components`` and ``selection`` keyed by prefix
    (without its trailing "_"). ``diagnostics`` adds estimator-specific entries.
    """
    posts = [fit.posterior for fit, _ in fits.values()]
    diag, problems = diagnose(options.method, values, posts, variable, long_name)
    timings: dict[str, float] = {}
    if list(fits) == [""]:
        fit = fits[""][0]
        timings.update(fit.timings)
        diag.update(n_components=fit.n_components, selection=fit.selection, **fit.posterior.info)
        if "losses" in diag:
            diag["elbo_losses"] = diag.pop("losses")
    else:
        keys = {prefix: prefix.rstrip("_") for prefix in fits}
        diag.update(n_components={keys[p]: fit.n_components for p, (fit, _) in fits.items()},
                    selection={keys[p]: fit.selection for p, (fit, _) in fits.items()})
        for p, (fit, _) in fits.items():
            timings.update({f"{keys[p]}_{step}": sec for step, sec in fit.timings.items()})
    timings[variable] = integral.seconds
    diag.update(mc_points=integral.n_points, mc_se_over_sd=integral.mc_se_over_sd, timings=timings, **diagnostics)
    draws = to_units(values, units)
    mixtures = {prefix: (fit.posterior, names) for prefix, (fit, names) in fits.items()}
    idata = inference_data({variable: (draws, long_name)}, mixtures, observed, units, coords=coords,
                           log_likelihood=log_likelihood, extra_posterior=extra_posterior)
    return dict(draws=draws, idata=idata, method=options.method, units=units, mc_se=to_units(integral.mc_se, units),
                diagnostics=diag, converged=not problems, truth=None if truth is None else to_units(truth, units))


def single_mixture_fields(
    z: np.ndarray,
    names: Sequence[str],
    quantity: Callable[..., tuple[jax.Array, jax.Array]],
    static: tuple,
    options: FitOptions,
    *,
    variable: str,
    long_name: str,
    units: str,
    truth: float | None,
    pointwise: bool | str,
    seed: int,
    diagnostics: Mapping[str, Any],
    offset: float = 0.0,
) -> dict[str, Any]:
    """Fit one mixture to the standardised sample ``z`` (N, D) (coordinates ``names``), integrate
    ``quantity(params, *static, base_points)`` per draw, add ``offset`` nats (e.g. the log-Jacobian
    of the standardisation) and return the result fields (:func:`result_fields`)."""
    fit = fit_mixture(z, options, jax.random.key(seed))
    integral = integrate(quantity, (fit.posterior.params,), static, options, seed, label=long_name)
    log_lik = None
    if store_pointwise(pointwise, options.method, integral.values.size * z.shape[0]):
        log_lik = {"z": pointwise_log_likelihood(fit.posterior.params, z)}
    return result_fields(
        variable, long_name, integral.values + offset, integral, {"": (fit, names)}, {"z": (z, ["obs", "dim"])},
        options, units, truth, diagnostics, coords={"obs": np.arange(z.shape[0])}, log_likelihood=log_lik,
    )
