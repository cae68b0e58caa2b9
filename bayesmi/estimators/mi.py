"""``estimate_mi``: from joint samples to a posterior of I(X;Y).

Validate and standardise the inputs (:mod:`bayesmi.inputs`), fit the Bayesian mixture to the
joint sample (:func:`bayesmi.fitting.fit_mixtures`: K by BIC of a MAP-EM fit, then Gibbs, NUTS,
SVI or the bootstrap), integrate MI for every posterior draw
(:func:`bayesmi.mixture.mutual_information`) and package the lot as an
:class:`~bayesmi.results.MIResult`. With ``y_type="categorical"`` the class-conditional densities
are mixtures instead (:mod:`bayesmi.estimators.categorical`). By default (``y_type="auto"``) a
variable that takes a few repeated values (:func:`bayesmi.inputs.discrete_levels`) is not fitted
by the joint mixture: one discrete side becomes the class label of the categorical estimator, two
discrete sides go to the Dirichlet table posterior (:func:`bayesmi.discrete.mutual_information`).
Before a joint fit, non-normal columns get normal scores (``transform="auto"``; or every column, or
MIENF flows on half the rows); after it, a posterior predictive check (:mod:`bayesmi.checks`)
tests that the mixture reproduces the data's dependence.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from bayesmi.checks import CHECK_MAX_DIM, predictive_check, warn_if_misfit
from bayesmi.estimators import discrete
from bayesmi.estimators.categorical import DEFAULT_CLASS_CONCENTRATION, categorical_mi
from bayesmi.estimators.gaussian_bias import recentred_draws
from bayesmi.estimators.ksg import ksg_mi
from bayesmi.estimators.mienf import mienf_mi
from bayesmi.estimators.posterior import quantity_result
from bayesmi.fitting import (
    NonFiniteDrawsError,
    compare_with_independence,
    fit_mixtures,
    integrate,
    one_t_component_fits,
    row_log_likelihoods,
    store_pointwise,
)
from bayesmi.inputs import copula_dof, discrete_levels, prepare_xy, score_columns, t_scores
from bayesmi.mixture import GMMParams, mutual_information, pointwise_mutual_information
from bayesmi.options import FitOptions
from bayesmi.results import ConvergenceWarning, MIResult, MisfitWarning
from bayesmi.util import Progress, find_stack_level, map_chunked, to_units

__all__ = ["estimate_mi", "JointMixtureModel", "Y_TYPES", "DimensionBiasWarning", "DiscreteDataWarning"]


class DimensionBiasWarning(UserWarning):
    """The posterior of I(X;Y) may sit above the truth by more than its own spread: with d_x × d_y
    covariances to estimate from N rows, Gaussian MI is biased upward by about d_x·d_y/N nats
    (measured: +0.32 at 25+25 dimensions and N = 2000, +0.13 at N = 5000). Issued for fits of K > 1
    components only: a single Gaussian's bias is known exactly and its draws are re-centred to remove
    it (:mod:`bayesmi.estimators.gaussian_bias`; ``diagnostics["bias_correction"]`` holds the shift)."""


class DiscreteDataWarning(UserWarning):
    """x or y takes a few repeated values, so ``estimate_mi`` treated it as discrete (class labels
    or a Dirichlet table) instead of fitting a joint mixture to dequantised values, which it cannot."""


Y_TYPES = ("auto", "continuous", "categorical")
#: Per-column maps before the joint mixture fit (I(X;Y) is invariant to them): "none"; "normal_scores"
#: (every column to the normal quantiles of its ranks); "auto" (only the columns whose margin a
#: normality test rejects at :data:`~bayesmi.inputs.NORMALITY_LEVEL`; with t components, every column to the
#: t quantiles of its ranks, ν by the copula likelihood, where that prefers a t copula); "flow" (normal
#: scores, then MIENF flows trained on half of the rows, the mixture fitted to the other half's latents).
TRANSFORMS = ("auto", "none", "normal_scores", "flow")

_pmi_per_draw = jax.jit(jax.vmap(pointwise_mutual_information, in_axes=(0, None, None)), static_argnums=1)


@dataclass(frozen=True)
class JointMixtureModel:
    """A mixture posterior of the joint (x, y): draws (chains, draws, K, ...), the standardised rows
    z (N, D) it was fitted to and the number of x coordinates."""

    params: GMMParams
    z: np.ndarray
    dim_x: int

    def pointwise_mi(self, draw_index: np.ndarray) -> np.ndarray:
        """log p(x_i, y_i) / (p(x_i) p(y_i)) (nats) at every row for the flattened draws ``draw_index``: (S, N)."""
        flat = jax.tree.map(lambda a: jnp.asarray(a.reshape((-1,) + a.shape[2:])[draw_index]), self.params)
        z = jnp.asarray(self.z, jnp.float32)
        return np.asarray(map_chunked(lambda p: _pmi_per_draw(p, self.dim_x, z), flat, 64))


def estimate_mi(
    x: Any,
    y: Any,
    *,
    y_type: Literal["auto", "continuous", "categorical"] = "auto",
    options: FitOptions | None = None,
    units: Literal["nats", "bits"] = "nats",
    truth: float | None = None,
    seed: int = 0,
    jitter_ties: bool = True,
    transform: Literal["auto", "none", "normal_scores", "flow"] = "auto",
    flow_settings: Any = None,
    pointwise_log_likelihood: bool | Literal["auto"] = "auto",
    class_concentration: float = DEFAULT_CLASS_CONCENTRATION,
    **fit_options: Any,
) -> MIResult:
    """Posterior of the mutual information I(X;Y) under a Bayesian Gaussian mixture.

    Parameters
    ----------
    x, y : array-like (N,) or (N, d)
        Joint samples; rows are paired (pandas objects must have equal indexes). Columns are
        standardised internally. With ``y_type="categorical"``, y is (N,) class labels of any
        hashable type instead.
    y_type : "categorical": y holds class labels; each class's x is fitted by its own mixture and
        the class probabilities have a Dirichlet(counts + ``class_concentration``) posterior
        (bootstrap: multinomial resampling of the counts); see :mod:`bayesmi.estimators.categorical`.
        "continuous": a joint mixture of (x, y), heavily tied columns dequantised (``jitter_ties``).
        "auto" (default): "continuous", unless x or y is one numeric column of at most
        :data:`~bayesmi.inputs.DISCRETE_MAX_LEVELS` repeated values (a DiscreteDataWarning says
        so): a discrete y (or x, with the roles swapped, I(X;Y) = I(Y;X)) is taken as class labels,
        and when both are discrete the Dirichlet table posterior
        (:func:`bayesmi.discrete.mutual_information`, method "dirichlet") is used.
        ``result.diagnostics["route"]`` records which.
    options : :class:`~bayesmi.FitOptions`, the fit settings (method, number of components, chains,
        draws, integration points, progress bar; defaults documented there).
    **fit_options : any field of :class:`~bayesmi.FitOptions` given directly, e.g.
        ``method="nuts"``, ``num_samples=500``, ``progress=False``; they override ``options``.
    units : "nats" (default) or "bits" for every number on the result.
    truth : the known MI in nats, if any (toy data); shown by ``summary`` and ``plot``.
    seed : every random step (jitter, EM starts, sampler, QMC points) derives from it.
    jitter_ties : dequantise heavily tied columns (with a TiesWarning) instead of raising.
    transform : per-column maps before the mixture fit, which leave I(X;Y) unchanged (of x and y on
        the joint route, of x with class labels): "auto" (default) gives the normal scores
        Φ⁻¹((rank − ½)/N) to the columns whose margin a normality test rejects
        (p < :data:`~bayesmi.inputs.NORMALITY_LEVEL`): heavy tails, skewed or bounded margins then no
        longer cost mixture components; "normal_scores" maps every column;
        "none" keeps the standardised values (ranks resolve dependence only to ~1/N, so strongly
        dependent Gaussian columns, e.g. 10 nats, keep their values under "auto"). The columns
        mapped are listed in ``result.diagnostics["normal_scored_columns"]``. With ``family`` "auto"
        or "student", "auto" first fits t copulas to all columns (:func:`~bayesmi.inputs.copula_dof`;
        normal margins where the normality test keeps them, ranks elsewhere); where one fits better
        than the Gaussian copula (``diagnostics["copula_dof"]``: ν, inf for the Gaussian copula, None
        where not tested), every column gets the t_ν quantiles of its ranks instead
        (``t_scored_columns``), which makes data with a t copula a multivariate t that one t component
        fits exactly. ``family="auto"`` then fits one t component where one beats two by BIC on those
        scores, and Gaussian components on normal scores where two do (``diagnostics["t_components"]``:
        1 or 2; ``diagnostics["family"]``: what was fitted). Where the t
        sampler's draws come out non-finite (float32 breaking down on almost deterministic
        relations), "auto" warns and fits Gaussian components instead (``diagnostics["t_failure"]``). "flow": normal
        scores, then MIENF flows (:mod:`bayesmi.flows`; Butakov, Tolmachev et al. 2024) trained
        on a random half of the rows, and the mixture fitted to the flows' latents of the other
        half (``diagnostics["flow"]`` holds the training record and the flows' own MI); the
        posterior uses half the rows, so it is wider. Joint route only. At N = 1000 it is worse
        than "auto" on the benchmark suite (``examples/results/suite/README.md``), near 0 on
        Student-t dependence; compare it with the default before relying on it.
    flow_settings : :class:`bayesmi.flows.FlowSettings` of the flow transform (None: the defaults).
    pointwise_log_likelihood : store log p(z_i | draw) in ``idata.log_likelihood`` (for ``az.loo``);
        "auto" stores it for posterior draws when it has at most 5e7 values.
    class_concentration : Dirichlet prior concentration per class (default 1/2, Jeffreys).

    Returns
    -------
    MIResult with ``draws`` of shape (chains, draws); ``converged`` is False (and a
    ConvergenceWarning is issued) on R-hat > 1.01, ESS < 100 per chain, divergences, an ELBO that
    has not settled, or bootstrap refits that did not converge. A joint fit carries its posterior
    predictive check (``check``, :mod:`bayesmi.checks`; ``predictive_check=False`` skips it, and
    none runs beyond :data:`~bayesmi.checks.CHECK_MAX_DIM` joint dimensions, where ``check`` is None):
    ``check_passed`` is False, and a MisfitWarning is issued, when the mixture does not reproduce
    the dependence in the data, or when a model of independent x and y (each side its own mixture)
    fits better by BIC while the 95% interval excludes 0 (``check.independence``,
    :class:`~bayesmi.results.IndependenceComparison`). ``method="ksg"`` returns the KSG estimate with half-sample replicates;
    ``method="mienf"`` (:mod:`bayesmi.estimators.mienf`) the posterior of a Gaussian on cross-fitted
    MIENF latents (normal scores and flows, ``flow_settings``; a ``transform`` other than "auto" or
    "flow" is refused).
    """
    options = FitOptions.resolve(options, **fit_options)
    to_units(1.0, units)  # validates units early
    if y_type not in Y_TYPES:
        raise ValueError(f"y_type must be one of {Y_TYPES}, got {y_type!r}")
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {TRANSFORMS}, got {transform!r}")
    categorical = partial(categorical_mi, options=options, class_concentration=class_concentration, units=units,
                          truth=truth, pointwise_log_likelihood=pointwise_log_likelihood, jitter_ties=jitter_ties,
                          seed=seed, transform=transform)
    if options.method in ("ksg", "mienf"):
        if y_type == "categorical" or (y_type == "auto" and (discrete_levels(x), discrete_levels(y)) != (None, None)):
            raise ValueError(f"method={options.method!r} estimates I(X;Y) of continuous x and y; for class labels or "
                             "discrete values use a mixture method (y_type='categorical') or bayesmi.discrete")
        if options.method == "ksg":
            return ksg_mi(x, y, options, seed=seed, units=units, truth=truth, jitter_ties=jitter_ties)
        if transform not in ("auto", "flow"):
            raise ValueError(f"method='mienf' always maps the columns to normal scores and then through its flows; "
                             f"transform={transform!r} does not apply (leave it at 'auto')")
        return mienf_mi(x, y, options, seed=seed, units=units, truth=truth, jitter_ties=jitter_ties,
                        flow_settings=flow_settings)
    if y_type == "categorical":
        result = categorical(x, y)
        result.diagnostics["route"] = "categorical y"
        return result
    if y_type == "auto" and (levels := (discrete_levels(x), discrete_levels(y))) != (None, None):
        return _discrete_route(x, y, levels, categorical, seed, units, truth)

    xs, ys, info = prepare_xy(x, y, jitter_ties=jitter_ties, seed=seed)
    if transform == "flow" and max(xs.shape[1], ys.shape[1]) < 2:
        raise ValueError("transform='flow' learns maps of 2 or more dimensions; for a 1-D x and y, "
                         "transform='normal_scores' is the best invertible map of each side")
    copula_tested = transform == "auto" and (options.family == "student"
                                             or (options.family == "auto" and options.method == "gibbs"))
    copula = copula_dof(np.concatenate([xs, ys], axis=1), seed) if copula_tested else np.inf
    asked, auto_family, t_failure = options, options.family == "auto", None
    t_scored_rows = t_scores(np.concatenate([xs, ys], axis=1), copula) if np.isfinite(copula) else None
    dof, t_components, options = _t_route(t_scored_rows, copula, options, seed)
    dim_x = xs.shape[1]
    names = [f"x{i}" for i in range(dim_x)] + [f"y{i}" for i in range(ys.shape[1])]
    while True:  # once, or twice where family="auto"'s t components fail and Gaussian ones are fitted instead
        if np.isfinite(dof):
            xf, yf = t_scored_rows[:, :dim_x], t_scored_rows[:, dim_x:]
            scored, t_scored = np.zeros(len(names), bool), True
        else:
            (xf, scored_x), (yf, scored_y) = score_columns(xs, transform), score_columns(ys, transform)
            scored, t_scored = np.concatenate([scored_x, scored_y]), False
        flow_record = None
        if transform == "flow":
            xf, yf, flow_record = _flow_latents(xf, yf, seed, flow_settings)
        z = np.concatenate([xf, yf], axis=1).astype(np.float32)
        try:
            with Progress(options.progress, f"estimate_mi ({options.method})") as progress:
                batch = fit_mixtures([z], options, jax.random.key(seed), progress)
                params = batch.mixture(0)
                integral = integrate(mutual_information, (jax.tree.map(lambda a: a[None], params),), (dim_x,),
                                     options, seed, "I(X;Y)", progress)
            break
        except NonFiniteDrawsError as error:
            if not (auto_family and np.isfinite(dof)):
                raise
            t_failure, dof = str(error), np.inf
            options = dataclasses.replace(asked, family="gaussian")
            warnings.warn(f"family='auto': {error} Gaussian components were fitted instead (diagnostics"
                          "['t_failure']).", ConvergenceWarning, stacklevel=find_stack_level())
    values = integral.values[0]
    dimension_bias = dim_x * ys.shape[1] / z.shape[0]  # nats, first order
    bias_correction = None
    single_gaussian = batch.n_components[0] == 1 and options.family == "gaussian"
    if single_gaussian:  # one Gaussian: its dimension bias is known exactly and removed
        values, bias_correction, _ = recentred_draws(values, z, dim_x)
    elif dimension_bias > values.std():
        warnings.warn(
            f"I(X;Y) with {dim_x} x and {ys.shape[1]} y dimensions from {z.shape[0]} rows: the estimate can sit "
            f"about d_x·d_y/N = {dimension_bias:.3g} nats above the truth, more than the posterior sd "
            f"({values.std():.3g}); the interval may miss. More rows or fewer dimensions (compress first) "
            "reduce it.", DimensionBiasWarning, stacklevel=find_stack_level())
    check = None
    if options.predictive_check and z.shape[1] <= CHECK_MAX_DIM:
        def joint_and_sides(rows: np.ndarray | None) -> tuple[list[np.ndarray], list[np.ndarray]]:
            sample = z if rows is None else z[rows]
            return [sample], [sample[:, :dim_x], sample[:, dim_x:]]

        independence = compare_with_independence(
            *z.shape, joint_and_sides, batch, options, jax.random.fold_in(jax.random.key(seed), 1),
            float(np.quantile(values, 0.025)), nested_gaussian=bool(single_gaussian))
        check = predictive_check(params, z, dim_x, seed)._replace(independence=independence)
    warn_if_misfit(check)
    rank_limit = _warn_beyond_ranks(values, scored | t_scored, dim_x, z.shape[0])
    log_lik = None
    if store_pointwise(pointwise_log_likelihood, type(batch.info).DRAWS, values.size * z.shape[0]):
        log_lik = {"z": row_log_likelihoods(params, z)}
    return quantity_result(
        variable="mi", long_name="I(X;Y)", values=values, integral=integral, batch=batch, parts={"": (0, names)},
        observed={"z": (z, ["obs", "dim"])}, options=options, units=units, truth=truth,
        diagnostics={**{k: info[k] for k in ("n", "dim_x", "dim_y", "jittered_columns")},
                     "normal_scored_columns": [name for name, on in zip(names, scored) if on], "transform": transform,
                     "family": options.family, "copula_dof": copula if copula_tested else None,
                     "t_components": t_components, **({} if t_failure is None else {"t_failure": t_failure}),
                     "rank_limit": rank_limit,
                     "t_scored_columns": names if t_scored else [],
                     **({} if flow_record is None else {"flow": flow_record}),
                     "dimension_bias": dimension_bias, "bias_correction": bias_correction, "route": "joint"},
        coords={"obs": np.arange(z.shape[0])}, log_likelihood=log_lik, model=JointMixtureModel(params, z, dim_x),
        check=check,
    )


def _warn_beyond_ranks(values: np.ndarray, ranked: np.ndarray, dim_x: int, n: int) -> float | None:
    """log N (nats) where every column of x or of y (``ranked`` (D,) bool) was replaced by a score of its
    ranks and the posterior mean of I(X;Y) (``values``, nats) exceeds it, with a MisfitWarning; else None.

    Ranks of N rows take N values, so the ranks of one side carry at most log N nats about the other:
    beyond that the scores' dependence is the ranks' discreteness, not the data's (y = ρx + noise under
    exp margins, N = 1000: 12.2 [12.1, 12.3] nats at a truth of 10, its check passing). The values
    themselves are not so limited (the same pair with normal margins, kept as values: 9.96)."""
    limit = float(np.log(n))
    if not (ranked[:dim_x].all() or ranked[dim_x:].all()) or values.mean() <= limit:
        return None
    warnings.warn(
        f"I(X;Y) came out at {values.mean():.3g} nats from the rank scores of {n} rows, above log N = {limit:.3g} nats, "
        "the most that the ranks of one side can carry about the other: the ranks do not determine a value this "
        "large, and the interval may miss. If the margins allow, keep the values (transform='none'); read the "
        f"result as 'I(X;Y) of at least ~{limit:.3g} nats'.", MisfitWarning, stacklevel=find_stack_level())
    return limit


def _t_route(t_scored_rows: np.ndarray | None, copula: float, options: FitOptions,
             seed: int) -> tuple[float, int | None, FitOptions]:
    """The t scores' ν (inf: none), the K of :func:`~bayesmi.fitting.one_t_component_fits`' verdict (1 or 2;
    None where not asked) and the options of the fit, given the copula test's ν ``copula`` and the rows'
    t scores of that ν (N, D; None where ``copula`` is inf).

    ``family="auto"`` fits t components where the data are the t-copula model: a t copula beats the
    Gaussian one, and one t of the t scores beats two by BIC; then K = 1 (unless ``num_components`` is
    set). Otherwise it fits Gaussian components on normal scores. On the suite one t won on every Student
    and asinh-Student data set, two on every waves and 2 + 1 spiral one but one (the 3 + 3 spirals at
    N = 1000 stay one t; their fits miss, flagged, either way): where t mixtures of K up to 10 had taken
    3-5× as long as Gaussian ones with no better intervals.
    """
    if options.family != "auto":
        return copula, None, options
    t_components = None
    if np.isfinite(copula) and options.num_components == "auto":
        t_components = 1 if one_t_component_fits(t_scored_rows, options,
                                                 jax.random.fold_in(jax.random.key(seed), 2)) else 2
        if t_components == 1:
            options = dataclasses.replace(options, num_components=1)
    dof = copula if t_components in (None, 1) else np.inf
    return dof, t_components, dataclasses.replace(options, family="student" if np.isfinite(dof) else "gaussian")


def _flow_latents(xs: np.ndarray, ys: np.ndarray, seed: int, settings: Any
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Latents (standardised) of the MIENF flows (:func:`bayesmi.flows.flow_folds`) on rows of normal
    scores and the training record. One mixture is fitted, so "cross-fit" rows mean its first fold: the
    flows trained on a random half of the rows map the other half, and the mixture sees rows the flows
    never saw, so its posterior is one of I(f(X); g(Y)) = I(X;Y)."""
    from bayesmi.flows import FlowSettings, flow_folds

    settings = settings or FlowSettings()
    if settings.rows == "cross-fit":
        settings = settings._replace(rows="split")
    [(u, v, record)] = flow_folds(xs, ys, jax.random.key(seed), settings)
    return u, v, record


def _discrete_route(x: Any, y: Any, levels: tuple[int | None, int | None], categorical: Callable[[Any, Any], MIResult],
                    seed: int, units: str, truth: float | None) -> MIResult:
    """I(X;Y) where x and/or y is discrete (``levels``: their numbers of distinct values, None for a
    continuous side): the Dirichlet table posterior for two discrete sides, else the categorical
    estimator with the discrete side as the class label."""
    levels_x, levels_y = levels
    if levels_x is not None and levels_y is not None:
        route, what = "discrete", (f"x and y take {levels_x} and {levels_y} repeated values: estimated as discrete "
                                   "variables by the Dirichlet table posterior (method 'dirichlet'; fit settings "
                                   "do not apply)")
        result = discrete.mutual_information(x, y, seed=seed, units=units, truth=truth)
    elif levels_y is not None:
        route, what = "categorical y", f"y takes {levels_y} repeated values: taken as class labels (y_type='categorical')"
        result = categorical(x, y)
    else:
        route, what = "categorical x", (f"x takes {levels_x} repeated values: taken as class labels of the continuous "
                                        "y (estimate_mi(y, x, y_type='categorical'); I(X;Y) = I(Y;X))")
        result = categorical(y, x)
    warnings.warn(f"{what}, since a Gaussian mixture cannot fit the spikes of discrete data (jittered, they become "
                  "blocks it misfits). Pass y_type='continuous' to fit the joint mixture anyway.",
                  DiscreteDataWarning, stacklevel=find_stack_level())
    result.diagnostics["route"] = route
    return result
