"""The one fit path: mixture posteriors for a batch of data sets, and a quantity integrated per draw.

Every mixture-based estimator goes through the same two steps; a single fit is a batch of one.

1. :func:`fit_mixtures`: pad the data sets (n_s, D) to one array with a row mask (rows rounded up
   to a bucket, so nearby sizes share compiled programs), choose each
   set's K by one batched EM (:func:`bayesmi.infer.em.select_components`) or take the fixed K,
   and draw the posteriors with the method's driver (:data:`bayesmi.infer.DRIVERS`). Returns a
   :class:`MixtureBatch`.
2. :func:`integrate`: evaluate an information quantity of :mod:`bayesmi.mixture` for every draw
   of every posterior with common randomised-QMC points, multiplying the points until the Monte
   Carlo error is small against each posterior's spread.

Diagnosis and InferenceData are :mod:`bayesmi.diagnostics`'; the estimators combine the pieces.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bayesmi.infer import DRIVERS, em, svi
from bayesmi.mixture import GMMParams, closed_form, first_components, log_prob, point_dim, qmc_normal_points
from bayesmi.models import GMMPrior
from bayesmi.options import MC_SE_TARGET, FitOptions
from bayesmi.results import IndependenceComparison
from bayesmi.runtime import bucket_rows, stored_jit
from bayesmi.util import Progress, find_stack_level, lookahead_map, map_chunked, usable_cores

__all__ = [
    "DRAW_CHUNK_VALUES",
    "MAX_POINTWISE_VALUES",
    "MAX_SELECTION_ROWS",
    "Integral",
    "MixtureBatch",
    "NonFiniteDrawsError",
    "default_prior",
    "fit_mixtures",
    "compare_with_independence",
    "independence_comparison",
    "independence_may_win",
    "integrate",
    "one_t_component_fits",
    "row_log_likelihoods",
    "store_pointwise",
]

#: Above this many float32 values the pointwise log-likelihood is not stored.
MAX_POINTWISE_VALUES = 50_000_000
#: Values of the largest intermediate of one compiled call of a per-draw integral (draws × points ×
#: components): the draws per call follow from it. Calls that stay in the CPU caches ran 1.5-5× faster
#: per draw than 256 draws per call (K = 10, D = 3: 2.0 against 10 ms per draw, on 2 loaded cores). At 2²¹
#: an 8-D, K = 10 MI took 10 draws per call and 5.7 ms per draw, against 3.2-3.7 ms with 1-4; the best
#: draws per call held ~10⁶ values at every size measured (D = 2, K = 3: 64; D = 4, K = 5: 16; D = 8, K = 10: 4).
DRAW_CHUNK_VALUES = 1 << 20
#: Two-sided 95% normal quantile: how far (in sd) the ends of a 95% interval lie from its centre.
Z_95 = 1.959964
#: Draws per posterior integrated again with 16 × the points to measure the MC error that all draws
#: share (:func:`integrate`): a thirty-second of the draws, rounded up to a power of two and kept within
#: these bounds. 32 draws estimate the sd of the per-draw differences to ~13% and the shift to 1/√32 of
#: that sd; the shared error, which the shift removes, does not average over the subset at all (the
#: refined draws share their points too), so more draws buy little.
#:
#: The 16 × the points are one point set where one draw's values then stay within
#: :data:`DRAW_CHUNK_VALUES`, else as few sets as do: a set too large for the CPU caches cost up to ~2 ×
#: as much per point (a 10-class, 35-component integral: 10 ms per draw at 2048 points per component,
#: 335 ms at 16 ×), but one large set is the more accurate, for randomised QMC converges faster than
#: independent sets average. On 128 draws of a 3 + 3-D Student-t fit (N = 5000, K = 2) one set of 4096
#: points had an MC s.e. of 0.00015 nats, 16 sets of 256 0.00051. That error is the shift's own, shared
#: by every refined draw, so it must sit well below the target: with 16 sets it did not, on this fit or
#: on a spiral 3 + 3 (K = 3), and every draw was integrated again at 16 × the points (integral 51 and
#: 91 s; 20 and 25 s with one set, shifted at 4 ×).
REFINED_DRAWS = (32, 256)
#: A pilot integrates this many evenly spaced draws of each posterior with a quarter, then a half of
#: ``num_points``; the first pass over all draws uses the smallest of them whose MC s.e. is within
#: :data:`PILOT_MARGIN` × the target on the pilot (:func:`integrate`). It costs at most ~2.5% of a first
#: pass, and saves three quarters of it where the integrand varies little: the categorical MI's
#: (label averaged out) on a 10-class, 38-component Fashion-MNIST code met the target at 64 points
#: (ratio 0.08), 4.4 s instead of 16.6 s; a continuous 8-D MI of the same plane needed 256 (0.06 at
#: 256, twice the MC error at 64) and keeps it.
PILOT_DRAWS = 32
#: The pilot's s.e. and sd come from 32 draws (the sd to ~13%): a reduced first pass must meet this
#: share of the target on them, so that it rarely misses on all draws (it is then redone with
#: ``num_points``, the quarter pass lost).
PILOT_MARGIN = 0.8
#: Draws per compiled call of a closed-form quantity (single Gaussians), whatever their dimension.
CLOSED_FORM_CHUNK = 256
#: K is chosen (and the samplers' MAP start fitted) on a random subsample of this many rows of a
#: larger data set: BIC on 10⁵ rows already resolves any mixture of ≤ 10 components that low-dimensional
#: data can show, and EM on a million rows would cost ten times as much for the same K.
MAX_SELECTION_ROWS = 100_000


def default_prior(options: FitOptions) -> GMMPrior | None:
    """``options.prior``, or ``GMMPrior()`` for the Bayesian methods (the bootstrap's None is maximum likelihood)."""
    if options.prior is None and options.method != "bootstrap":
        return GMMPrior()
    return options.prior


@dataclass(frozen=True)
class MixtureBatch:
    """Mixture posteriors of a batch of data sets, draws paired by index across sets.

    params: draws with leaves (S, chains, draws, K_max, ...); components beyond a set's K have weight 0.
    n_components: (S,) the K of each set. scores: (S, max_components) value of the ``select_by``
    criterion per K tried (inf where not tried), None when K was fixed. info: the driver's ``Info``
    (leaves lead with S). timings: seconds of "em" (the choice of K) and "sampling" (the driver).
    """

    params: GMMParams
    n_components: np.ndarray
    select_by: str | None
    scores: np.ndarray | None
    info: Any
    timings: dict[str, float] = field(default_factory=dict)

    def mixture(self, i: int) -> GMMParams:
        """Draws of set i without padding: leaves (chains, draws, K_i, ...)."""
        return first_components(jax.tree.map(lambda a: a[i], self.params), int(self.n_components[i]))

    def selection(self, i: int) -> dict[str, Any]:
        """How set i's K was chosen: {"select_by", "scores" {K: score}}."""
        if self.scores is None:
            return {"select_by": None, "scores": {}}
        return {"select_by": self.select_by,
                "scores": {k + 1: float(s) for k, s in enumerate(self.scores[i]) if np.isfinite(s)}}


class NonFiniteDrawsError(FloatingPointError):
    """A sampler returned NaN or infinite mixture parameters (no estimate is made from them)."""


def _pad_sets(sets: Sequence[np.ndarray]) -> tuple[jax.Array, jax.Array]:
    """Sets (n_s, D) stacked to (S, N, D), each set's rows first, with a row mask (S, N); N is the
    row bucket of the largest set (:func:`bayesmi.runtime.bucket_rows`), so that data sets of
    nearby sizes reuse the compiled programs of EM and the samplers."""
    n_max, dim = bucket_rows(max(len(s) for s in sets)), sets[0].shape[1]
    z = np.zeros((len(sets), n_max, dim), np.float32)
    mask = np.zeros((len(sets), n_max), np.float32)
    for i, s in enumerate(sets):
        z[i, : len(s)], mask[i, : len(s)] = s, 1.0
    return z, mask


def _subsample_rows(sets: Sequence[np.ndarray], max_rows: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Every set with more than ``max_rows`` rows replaced by a random ``max_rows`` of them."""
    return [s[rng.choice(len(s), max_rows, replace=False)] if len(s) > max_rows else s for s in sets]


#: EM iterations of :func:`_cauchy_scatter` (it converges linearly; 50 settle it to ~1e-4 relative).
CAUCHY_ITERATIONS = 50


def _cauchy_scatter(z: np.ndarray) -> np.ndarray:
    """The scatter matrix (D, D) of the maximum-likelihood multivariate Cauchy (t with ν = 1) fitted to
    rows z (N, D), location included: a robust scale that exists for any tails (Kent & Tyler 1991),
    where the covariance of heavy-tailed rows is set by a few extreme ones."""
    centre, scatter = np.median(z, 0), np.atleast_2d(np.cov(z, rowvar=False, bias=True))
    for _ in range(CAUCHY_ITERATIONS):
        centred = z - centre
        weight = (1.0 + z.shape[1]) / (1.0 + np.einsum("ni,ij,nj->n", centred, np.linalg.pinv(scatter), centred))
        centre = weight @ z / weight.sum()
        scatter = (weight[:, None] * centred).T @ centred / len(z)
    return scatter


def _covariance_factors(sets: Sequence[np.ndarray], student: bool = False) -> list[np.ndarray]:
    """Lower Cholesky factor C (D, D) of each set's covariance, or with t components (``student``) of
    its Cauchy scatter (:func:`_cauchy_scatter`), float64 (the identity where that is singular: the
    prior's scale is then the identity of the standardised coordinates).

    The prior's scale follows C (:func:`fit_mixtures`), so it must measure the bulk of the rows: on
    t-scored Cauchy margins (N = 1000) the variances were ~1000 (the Cauchy scatter's 1.0), the
    prior's four pseudo-observations of that spread outweighed the rows, and BIC chose 3 t components
    for one."""
    factors = []
    for s in sets:
        s = np.asarray(s, np.float64)
        cov = _cauchy_scatter(s) if student else np.atleast_2d(np.cov(s, rowvar=False, bias=True))
        try:
            factors.append(np.linalg.cholesky(cov))
        except np.linalg.LinAlgError:
            factors.append(np.eye(cov.shape[0]))
    return factors


def _in_data_coordinates(params: GMMParams, factors: Sequence[np.ndarray]) -> GMMParams:
    """Draws (leaves (S, ...)) of mixtures fitted to the whitened sets C⁻¹z mapped back to z = C w:
    means C μ, precisions C⁻ᵀ Λ C⁻¹ (re-factored in float64, so the thin directions of strongly
    dependent data keep their precision)."""
    means, chols = [], []
    for m, p, c in zip(np.asarray(params.means, np.float64), np.asarray(params.prec_chol, np.float64), factors):
        c_inv_t = np.linalg.inv(c).T
        means.append(m @ c.T)
        chols.append(np.linalg.cholesky(c_inv_t @ p @ np.swapaxes(p, -1, -2) @ c_inv_t.T))
    dtype = params.means.dtype
    return GMMParams(params.weights, np.stack(means).astype(dtype), np.stack(chols).astype(dtype), params.dof)


def fit_mixtures(sets: Sequence[np.ndarray], options: FitOptions, key: jax.Array, progress: Progress) -> MixtureBatch:
    """Mixture posteriors of the standardised data sets ``sets`` (each (n_s, D), one D for all).

    K per set by ``options.effective_select_by`` (or ``options.num_components``), EM batched
    over all sets (on a subsample of :data:`MAX_SELECTION_ROWS` rows of larger sets), then the
    method's driver on the whole batch.

    With a prior (every method but the bootstrap) each set is fitted in the coordinates w = C⁻¹z
    that whiten it (C Cᵀ its covariance) and the draws are mapped back to z. A Normal-Wishart prior
    of scale I/K^(2/D) in w is the same prior with scale C Cᵀ/K^(2/D) in z: the data's covariance,
    as Fraley & Raftery (2007) set it. With the identity in z instead, the prior added about one
    pseudo-observation of *uncorrelated* spread and held 1 − ρ² above ~2/N: y = x + small noise
    with MI 5 nats came out at 4.4 (N = 2000) and a single Gaussian at ½ log(N/2). Minibatch SVI
    (above :data:`bayesmi.infer.svi.FULL_BATCH_ROWS` rows) keeps the standardised coordinates and
    the identity scale: its guide fitted in whitened coordinates came out 19% wider than the exact
    posterior at N = 3·10⁵ (1-3% in standardised ones; full-batch SVI is right in both), and with
    that many rows the prior's cap sits above ½ log(N/2) > 6 nats.
    """
    if options.method not in DRIVERS:
        raise ValueError(f"method {options.method!r} fits no mixture: it estimates I(X;Y) of continuous x and y "
                         f"only (estimate_mi, compare, validation); use one of {sorted(DRIVERS)} here")
    dims = {s.shape[1] for s in sets}
    if len(dims) != 1:
        raise ValueError(f"the data sets of one batch must have one dimension, got {sorted(dims)}")
    prior = default_prior(options)
    minibatch = options.method == "svi" and svi.subsamples(max(len(s) for s in sets))
    factors = None if prior is None or minibatch else _covariance_factors(sets, options.family == "student")
    if factors is not None:
        sets = [np.linalg.solve(c, np.asarray(s, np.float64).T).T.astype(np.float32) for s, c in zip(sets, factors)]
    z, mask = _pad_sets(sets)
    key_em, key_fit = jax.random.split(key)
    start = time.perf_counter()
    z_em, mask_em = (z, mask) if max(len(s) for s in sets) <= MAX_SELECTION_ROWS else _pad_sets(
        _subsample_rows(sets, MAX_SELECTION_ROWS, np.random.default_rng(np.asarray(jax.random.key_data(key_em)))))
    if options.num_components == "auto":
        select_by = options.effective_select_by
        chosen = em.select_components(z_em, mask_em, prior, key_em, options.max_components, select_by,
                                      progress=progress, student=options.family == "student")
        ks, init, scores = chosen.n_components, chosen.params, chosen.scores
    else:
        select_by, scores = None, None
        progress.stage("EM", 1)
        init, _ = em.fit(z_em, mask_em, options.num_components, prior, key_em,
                         student=options.family == "student")
        ks = np.full(len(sets), options.num_components)
        progress.update()
    timings = {"em": time.perf_counter() - start}
    start = time.perf_counter()
    params, info = DRIVERS[options.method].sample(z, mask, init, ks, prior, key_fit, options, progress)
    params = jax.device_get(params)  # host arrays: slicing them between programs compiles nothing
    broken = [i for i in range(len(sets)) if not all(np.isfinite(leaf[i]).all() for leaf in jax.tree.leaves(params))]
    if broken:
        raise NonFiniteDrawsError(
            f"the {options.method} sampler produced non-finite mixture parameters for data set(s) {broken} "
            f"({options.family} components, K = {[int(ks[i]) for i in broken]}): float32 arithmetic broke down, "
            "typically on columns in an almost deterministic relation. Fewer dimensions, or family='gaussian', "
            "may fit; no estimate is given from these draws.")
    if factors is not None:
        params = _in_data_coordinates(params, factors)
    timings["sampling"] = time.perf_counter() - start
    return MixtureBatch(params, ks, select_by, scores, info, timings)


def _lowest_bic(z: np.ndarray, prior: GMMPrior | None, key: jax.Array, max_components: int,
                workers: int | None = None, student: bool = False) -> tuple[float, int]:
    """The lowest BIC over K = 1, …, ``max_components`` of MAP-EM mixtures (of t components if
    ``student``) of the rows z (N, D), in z's coordinates, and its K (``workers`` K fitted at once). EM
    runs on the whitened rows C⁻¹z, as :func:`fit_mixtures` does."""
    [factor] = _covariance_factors([z], student)
    whitened = np.linalg.solve(factor, np.asarray(z, np.float64).T).T.astype(np.float32)
    chosen = em.select_components(*_pad_sets([whitened]), prior, key, max_components, "bic", workers=workers,
                                  student=student)
    return _in_data_units(chosen.scores[0], factor, len(z)), int(chosen.n_components[0])


def one_t_component_fits(z: np.ndarray, options: FitOptions, key: jax.Array) -> bool:
    """Whether one multivariate t fits the rows z (N, D) better than a mixture of two, by BIC of MAP-EM
    under the prior of ``options``: the t-copula model of ``family="auto"`` (t scores of the ranks are
    one multivariate t) holds. Where two components fit better, the dependence is not one t copula
    (the copula test only weighed t copulas against the Gaussian one, and heavy joint tails of curved
    dependence win it too)."""
    return _lowest_bic(z, default_prior(options), key, 2, student=True)[1] == 1


def _in_data_units(scores: np.ndarray, factor: np.ndarray, n: int) -> float:
    """The lowest finite BIC of ``scores`` (one per K) of n rows whitened by ``factor`` C, in the rows' own
    coordinates: log p(z) = log p(C⁻¹z) − log|C| per row."""
    return float(scores[np.isfinite(scores)].min() + 2.0 * n * np.log(np.abs(np.diag(factor))).sum())


def independence_may_win(n: int, dim: int, n_components: Sequence[int], interval_low: float,
                         student: bool = False) -> bool:
    """Whether :func:`independence_comparison` is worth its cost for a model of mixtures of
    ``n_components`` (one K per mixture: the joint's, or each class's) in ``dim`` coordinates, fitted to
    n rows, whose I(X;Y) posterior starts at ``interval_low`` nats (2.5%).

    Independence wins only if its mixtures fit better than the model's own margins by about N·I(X;Y),
    the log-likelihood the model's dependence is worth. It is not compared where N × ``interval_low``
    exceeds the BIC penalty of all the model's parameters (p · log N): independence would have to
    out-fit the margins by more than everything the model may spend, and the comparison would cost
    most (dependent fits of many rows and components: 4 + 4-D codes of 5000 rows took ~7 s each, a
    third of the fit). In the benchmark (``benchmark_independence.py``) every fit that independence
    contradicted had N × ``interval_low`` below 0.41 of that penalty, and every fit that passed the
    replicate check with N × ``interval_low`` above it favoured the joint by hundreds of nats.
    """
    return n * interval_low <= sum(em.n_parameters(int(k), dim, student) for k in n_components) * np.log(n)


def _comparison_rows(n: int, key: jax.Array) -> np.ndarray | None:
    """Sorted indices of a random :data:`MAX_SELECTION_ROWS` of n rows for :func:`independence_comparison`,
    or None for all of them."""
    if n <= MAX_SELECTION_ROWS:
        return None
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)))
    return np.sort(rng.choice(n, MAX_SELECTION_ROWS, replace=False))


def compare_with_independence(
    n: int, dim: int, sets_of: Callable[[np.ndarray | None], tuple[list[np.ndarray], list[np.ndarray]] | None],
    batch: MixtureBatch, options: FitOptions, key: jax.Array, interval_low: float, nested_gaussian: bool = False,
) -> IndependenceComparison | None:
    """:func:`independence_comparison` of a fitted model of n rows in ``dim`` coordinates, or None where
    :func:`independence_may_win` rules it out or ``sets_of`` returns None.

    ``sets_of(rows)`` gives the fitted and the independent model's sets (as
    :func:`independence_comparison` takes them) on the given row indices, None meaning all rows; the
    rows are a random :data:`MAX_SELECTION_ROWS` beyond that many. ``batch``, the fit of the sets of
    all rows, is reused where no rows were dropped.
    """
    if not independence_may_win(n, dim, batch.n_components, interval_low, options.family == "student"):
        return None
    rows = _comparison_rows(n, key)
    sets = sets_of(rows)
    if sets is None:
        return None
    return independence_comparison(*sets, options, key, interval_low, batch if rows is None else None,
                                   nested_gaussian=nested_gaussian)


def independence_comparison(fitted: Sequence[np.ndarray], independent: Sequence[np.ndarray], options: FitOptions,
                            key: jax.Array, interval_low: float, batch: MixtureBatch | None = None,
                            nested_gaussian: bool = False) -> IndependenceComparison:
    """Compare by BIC the fitted model, a mixture of each set of ``fitted`` (the joint rows (N, D); or
    each class's x), with one in which x and y are independent, a mixture of each set of ``independent``
    (x and y, each (N, d); or all rows of x), each K ≤ ``options.max_components`` by BIC.

    Both lists must hold the same N rows, and ``independent[0]`` all of them
    (:func:`compare_with_independence` picks at most :data:`MAX_SELECTION_ROWS`); each model's BIC
    charges its parameters log N, and class probabilities, common to both, cancel. ``interval_low`` (nats) is the fitted posterior's 2.5%
    quantile of I(X;Y). ``batch``: the fit of ``fitted`` by :func:`fit_mixtures` with ``options``,
    whose choice of K by BIC is reused (it is otherwise made again: half the cost at N = 5000, D = 6).
    ``nested_gaussian``: the fitted model is one joint Gaussian whose draws were re-centred for their
    dimension bias (:attr:`IndependenceComparison.contradicted`).

    Measured at N = 1000 (``examples/benchmarks/benchmark_independence.py``, 3 data sets a task): on
    the 54 suite fits that passed the replicate check the joint mixture won by 82 to 2373 nats; the
    15 that failed it (multivariate Student-t, spirals) ranged from −166 to +55; on independent sides
    that a joint mixture of K > 1 components couples (bent squares, a noisy ring against a normal y)
    independence won by 86 to 142 nats, with every interval excluding 0.
    """
    start = time.perf_counter()
    prior = default_prior(options)
    n_rows = len(independent[0])
    keys = jax.random.split(key, len(fitted) + len(independent))
    reusable = (batch is not None and batch.select_by == "bic" and prior is not None
                and all(len(s) <= MAX_SELECTION_ROWS for s in fitted)
                and not (options.method == "svi" and svi.subsamples(max(len(s) for s in fitted))))
    # The sets' choices of K are independent: in threads they share the cores (XLA releases the GIL), and
    # x's and y's of a 3 + 3-D Student-t fit (N = 5000) took 3.8 s on 2 cores instead of 6.6 s.
    jobs = ([] if reusable else list(zip(fitted, keys))) + list(zip(independent, keys[len(fitted):]))
    cores = usable_cores()
    student = options.family == "student"  # both models' mixtures of one family
    bics = list(lookahead_map(lambda job: _lowest_bic(job[0], prior, job[1], options.max_components,
                                                      max(1, cores // len(jobs)), student), jobs, cores))
    if reusable:  # fit_mixtures' EM ran on the same sets, whitened by the same factors
        fitted_bics = [(_in_data_units(batch.scores[i], c, len(s)), int(batch.n_components[i]))
                       for i, (s, c) in enumerate(zip(fitted, _covariance_factors(fitted, student)))]
    else:
        fitted_bics, bics = bics[:len(fitted)], bics[len(fitted):]
    independent_bics = bics

    def total(bics: list[tuple[float, int]], sets: Sequence[np.ndarray]) -> float:
        """Σ BIC with every set's parameters charged log n_rows (a set's own BIC charged log of its rows)."""
        return sum(b + em.n_parameters(k, s.shape[1], student) * (np.log(n_rows) - np.log(len(s)))
                   for (b, k), s in zip(bics, sets))

    return IndependenceComparison(
        log_bayes_factor=float(0.5 * (total(fitted_bics, fitted) - total(independent_bics, independent))),
        n_components=(tuple(k for _, k in fitted_bics), tuple(k for _, k in independent_bics)),
        interval_low=float(interval_low), seconds=time.perf_counter() - start, nested_gaussian=nested_gaussian)


def _next_power_of_two(n: int) -> int:
    """The smallest power of two ≥ n (n ≥ 1)."""
    return 1 << (n - 1).bit_length()


@stored_jit(static_argnames=("quantity", "static"))
def _per_draw(quantity: Callable, static: tuple, draws: tuple, base: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``quantity(*draw, *static, base)`` for every draw along the leading axis of ``draws``' leaves."""
    return jax.vmap(lambda d: quantity(*d, *static, base))(draws)


@dataclass(frozen=True)
class Integral:
    """A quantity per draw for P posteriors: values (P, chains, draws) in nats; per posterior (P,): the
    MC s.e. of the posterior's location (the error all draws share, where a shift measured and removed
    it; else the root-mean-square s.e. of one draw's integral, which bounds it), the QMC points per
    component used, that s.e. over the posterior sd, and the error of one draw that the others do not
    share over the sd (the rms s.e. where it was not measured apart); the wall time in seconds."""

    values: np.ndarray
    mc_se: np.ndarray
    num_points: np.ndarray
    mc_se_over_sd: np.ndarray
    spread_over_sd: np.ndarray
    seconds: float


def integrate(
    quantity: Callable[..., tuple[jax.Array, jax.Array]], draws: tuple, static: tuple, options: FitOptions,
    seed: int, label: str, progress: Progress, pilot: bool = True,
) -> Integral:
    """``quantity(*draw, *static, base_points) -> (value, mc_se)`` for every draw of P posteriors.

    The leaves of ``draws`` lead with (P, chains, draws), e.g. ``(params,)`` for
    :func:`bayesmi.mixture.mutual_information` with ``static=(dim_x,)``. All draws share the same
    randomised-QMC points (common random numbers), ``options.num_points`` per component to begin
    with, or a quarter or half of them where a pilot on :data:`PILOT_DRAWS` draws shows that these
    meet the target (:data:`PILOT_MARGIN`; a first pass that then misses it is redone with
    ``num_points``; ``pilot=False`` starts every posterior at ``num_points``, e.g. for a reference
    integral). Where the pilot misses even at half of them, the first pass uses half, and step 1 below
    follows: the shift costs the same whatever the first pass's points, and it met the target after
    half passes on curved and Student-t 3 + 3-D fits (N = 5000) whose full passes needed it too.
    A posterior whose MC s.e. exceeds ``MC_SE_TARGET`` × its sd is refined in two steps:

    1. Most of that error is shared by all draws (the same points; measured on a 3 + 3-D spiral fit:
       73% of its variance), and a shift removes it: a thirty-second of the draws (:data:`REFINED_DRAWS`),
       evenly spaced, are integrated again with 16 × the points (in one point set, or in as few as keep
       the values in the CPU caches). The shared error varies smoothly with the draw, so it also scales
       the draws' spread a little (32-point integrals of a 2-D mixture posterior came out 9% too wide):
       the shift is linear in the draw's value, the least-squares fit of the refined-minus-first
       differences on the subset. It leaves the shift's own error (the subset's mean and the refined
       integrals' s.e.), which moves the posterior, and the residual sd r, which changes its spread in
       quadrature: each end of the 95% interval moves by about 1.96 sd (1 − √(1 − r²) + r/√n), the
       last term the slope's error on n refined draws. If both are within ``MC_SE_TARGET`` × the sd
       (else after recomputing every draw with ``num_points``, then 4 × them), the posterior is done.
    2. Otherwise every draw gets 16 × the points, as the subset did.

    A warning names ``label`` if a posterior still misses the target. A quantity in closed form for
    these mixtures (:func:`bayesmi.mixture.closed_form`, single Gaussians) gets no points (``num_points`` 0).
    """
    start = time.perf_counter()
    lead = jax.tree.leaves(draws)[0].shape[:3]
    mixtures = jax.tree.leaves(draws, is_leaf=lambda a: isinstance(a, GMMParams))
    dim = point_dim(next(m for m in mixtures if isinstance(m, GMMParams)))  # the points' dimension
    n_components = sum(m.weights.shape[-1] for m in mixtures if isinstance(m, GMMParams))  # densities per point
    exact = closed_form(quantity, *(m for m in mixtures if isinstance(m, GMMParams)))
    first = 0 if exact else max(options.num_points, 1 << (2 * dim - 1).bit_length())  # moment matching: >= 2D points

    def evaluate(posteriors: np.ndarray, draw_index: np.ndarray | None, points: int, points_seed: int,
                 repeats: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Values and s.e. (len(posteriors), draws) of the flattened draws ``draw_index`` (all: None),
        averaged over ``repeats`` independent point sets (seeds ``points_seed`` + 0, 1, …)."""
        part = jax.tree.map(lambda a: a[posteriors].reshape((posteriors.size, -1) + a.shape[3:]), draws)
        if draw_index is not None:
            part = jax.tree.map(lambda a: a[:, draw_index], part)
        width = jax.tree.leaves(part)[0].shape[1]
        part = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), part)
        n_draws = jax.tree.leaves(part)[0].shape[0]
        chunk = max(1, DRAW_CHUNK_VALUES // (options.num_randomizations * max(points, 1) * n_components**2))
        if exact:
            # Closed forms factorise D × D matrices per draw: thousands of draws in one call hung jaxlib
            # 0.10 on CPU (8000 draws of K = 1 fits in 20 and 100 dimensions, after a Gibbs run).
            chunk = min(chunk, CLOSED_FORM_CHUNK)
        how = "closed form" if exact else f"{points} points per component{f' × {repeats}' if repeats > 1 else ''}"
        progress.stage(f"{label} integral ({how})", repeats * -(-n_draws // chunk))
        v, e = np.zeros((2, n_draws))
        for r in range(repeats):
            base = (np.zeros((options.num_randomizations, 0, dim), np.float32) if exact
                    else jnp.asarray(qmc_normal_points(dim, points, options.num_randomizations, points_seed + r)))
            # One chunk at a time: with two in threads, notebook 07's information plane hung in 2 of 2 runs
            # (jaxlib 0.10, CPU; both threads waiting on XLA, nothing running) once the distances' QR and
            # triangular solve (LAPACK, batched over the chunk's draws) were in these programs; in one
            # thread it ran through. Cost: a waves 3 + 3 integral (N = 1000, K = 6) 6.9 -> 9.7 s warm.
            # Moving every LAPACK call into a program of its own, run in this thread, with only the points in
            # threads (b8dbdfb, reverted) is not safe either: with the factorisations in calls of 256 draws, a
            # waves 3 + 3 integral (N = 5000, K = 9) stopped in 2 of 2 runs inside that program after threaded
            # point calls, and ran through with the threads off (with calls of 72 draws it had run through 7
            # times). On 2 cores the threads had gained 13%: XLA already spreads one program's loops.
            v_r, e_r = map_chunked(lambda d: _per_draw(quantity, static, d, base), part, chunk, progress.update)
            v, e = v + np.asarray(v_r, np.float64), e + np.asarray(e_r, np.float64) ** 2
        return (v / repeats).reshape(posteriors.size, width), np.sqrt(e / repeats**2).reshape(posteriors.size, width)

    def within(values: np.ndarray, se: np.ndarray, margin: float = 1.0) -> np.ndarray:
        """Whether each posterior's rms MC s.e. is within ``margin`` × the target share of its sd."""
        return np.sqrt(np.mean(se**2, axis=1)) <= margin * MC_SE_TARGET * values.std(axis=1)

    every, per_posterior = np.arange(lead[0]), int(np.prod(lead[1:]))
    num_points = np.full(lead[0], first)
    shift_bound = np.zeros(lead[0], bool)  # the pilot says even ``first`` points need the shift
    if pilot and not exact and per_posterior > 2 * PILOT_DRAWS:
        pilot_draws = np.unique(np.linspace(0, per_posterior - 1, PILOT_DRAWS).round().astype(int))
        undecided = every
        for points in (first // 4, first // 2):
            if points < 2 * dim or not undecided.size:
                continue
            meets = within(*evaluate(undecided, pilot_draws, points, seed), PILOT_MARGIN)
            num_points[undecided[meets]] = points
            undecided = undecided[~meets]
        if first // 2 >= 2 * dim:  # missed at half the points: shifted after a pass at half of them
            num_points[undecided], shift_bound[undecided] = first // 2, True
    values, se = np.zeros((2, lead[0], per_posterior))  # (P, chains × draws)
    for points in np.unique(num_points):
        group = np.flatnonzero(num_points == points)
        values[group], se[group] = evaluate(group, None, int(points), seed)
    redo = np.flatnonzero((num_points < first) & ~shift_bound & ~within(values, se))
    if redo.size:
        values[redo], se[redo] = evaluate(redo, None, first, seed)
        num_points[redo] = first
    sd = values.std(axis=1)
    mc_se = np.sqrt(np.mean(se**2, axis=1))
    spread = mc_se / np.maximum(sd, 1e-12)  # replaced where a shift measures the unshared error apart
    todo = np.flatnonzero(mc_se > MC_SE_TARGET * sd)
    if todo.size:
        low, high = REFINED_DRAWS
        n_refined = min(values.shape[1], max(low, min(high, _next_power_of_two(-(-values.shape[1] // 32)))))
        subset = np.unique(np.linspace(0, values.shape[1] - 1, n_refined).round().astype(int))
        cached = DRAW_CHUNK_VALUES // (options.num_randomizations * n_components**2)  # points of one draw
        set_points = max(first, min(16 * first, 1 << max(cached.bit_length() - 1, 0)))
        refined, refined_se = np.zeros((2, lead[0], subset.size))
        refined[todo], refined_se[todo] = evaluate(todo, subset, set_points, seed + 1,
                                                   repeats=16 * first // set_points)
        rungs = (first, 4 * first)  # the passes over every draw tried in turn until the shift meets the target
        while todo.size:
            # The shift a + b (value − centre): least squares on the subset. The residual sd holds the
            # refined draws' own unshared error too; the shift's own error is the subset mean's and the
            # refined integrals' shared part (at most their s.e.).
            coarse = values[todo][:, subset]
            diff, centre = refined[todo] - coarse, coarse.mean(axis=1, keepdims=True)
            slope = np.sum(diff * (coarse - centre), 1) / np.maximum(np.sum((coarse - centre) ** 2, 1), 1e-30)
            residual = diff - diff.mean(axis=1, keepdims=True) - slope[:, None] * (coarse - centre)
            unshared = np.sqrt(np.sum(residual**2, 1) / max(subset.size - 2, 1))
            location = np.sqrt(unshared**2 / subset.size + np.mean(refined_se[todo] ** 2, axis=1))
            sd = values[todo].std(axis=1)
            r = np.minimum(unshared / np.maximum(sd, 1e-12), 1.0)
            ends = Z_95 * (1 - np.sqrt(1 - r**2) + r / np.sqrt(subset.size))
            done = (location <= MC_SE_TARGET * sd) & (ends <= MC_SE_TARGET)
            values[todo[done]] += (diff[done].mean(axis=1, keepdims=True)
                                   + slope[done, None] * (values[todo[done]] - centre[done]))
            mc_se[todo[done]], spread[todo[done]] = location[done], r[done]
            todo = todo[~done]
            rung = np.array([min((p for p in rungs if p > n), default=16 * first) for n in num_points[todo]], int)
            for points in np.unique(rung):
                group = todo[rung == points]
                values[group], se[group] = evaluate(group, None, int(points), seed)
                num_points[group] = points
                if points == 16 * first:  # no shift met the target: every draw at the refined subset's points
                    mc_se[group] = np.sqrt(np.mean(se[group] ** 2, axis=1))
                    spread[group] = mc_se[group] / np.maximum(values[group].std(axis=1), 1e-12)
            todo = todo[rung < 16 * first]
    sd = values.std(axis=1)
    ratio = mc_se / np.maximum(sd, 1e-12)
    if np.any(ratio > MC_SE_TARGET):
        warnings.warn(f"MC error of the {label} integral is {np.max(ratio):.2f} × the posterior sd (target "
                      f"{MC_SE_TARGET}); raise num_points.", UserWarning, stacklevel=find_stack_level())
    return Integral(values.reshape(lead), mc_se, num_points, ratio, spread, time.perf_counter() - start)


_log_prob_per_draw = jax.jit(jax.vmap(log_prob, in_axes=(0, None)))


def row_log_likelihoods(params: GMMParams, z: np.ndarray) -> np.ndarray:
    """``log p(z_i | draw)`` (nats) for every draw (leaves (..., K, ...)) and row of z (N, D): (..., N).

    The rows are padded to their bucket (:func:`bayesmi.runtime.bucket_rows`) so that nearby N share
    the compiled program."""
    lead, n = params.weights.shape[:-1], z.shape[0]
    flat = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[len(lead):]), params)
    padded = np.zeros((bucket_rows(n), z.shape[1]), np.float32)
    padded[:n] = z
    log_lik = map_chunked(lambda p: _log_prob_per_draw(p, jnp.asarray(padded)), flat, 64)
    return np.asarray(log_lik)[:, :n].reshape(lead + (n,))


def store_pointwise(setting: bool | str, draws_kind: str, n_values: int) -> bool:
    """Resolve ``pointwise_log_likelihood="auto"``: store it for posterior draws (not bootstrap
    replicates, on which LOO would mean nothing) when it has at most MAX_POINTWISE_VALUES values."""
    if setting == "auto":
        return draws_kind == "posterior" and n_values <= MAX_POINTWISE_VALUES
    if not isinstance(setting, bool):
        raise ValueError(f"pointwise_log_likelihood must be True, False or 'auto', got {setting!r}")
    if setting and draws_kind == "replicates":
        raise ValueError("pointwise_log_likelihood=True needs posterior draws; bootstrap replicates have none "
                         "(LOO on refits of resampled data means nothing)")
    return setting
