"""The result types: :class:`MIResult` (every scalar estimator) and :class:`MIMatrix` (matrices).

An :class:`MIResult` holds the draws of one information quantity ("mi", "entropy", "kl", "cmi")
in its units, the ArviZ ``InferenceData``, the diagnostics and the convergence flag; its
``draws`` are posterior draws, or bootstrap replicates for the frequentist baseline
(``result.draws_kind``), which are summarised as such (no R-hat, ESS or "posterior" labels).
Figures come from :mod:`bayesmi.plots`, imported when a ``plot`` method is called.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from bayesmi.draws import draw_stats, hdi, mcse
from bayesmi.util import find_stack_level, to_units

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MIResult", "MIMatrix", "ConvergenceWarning", "IndependenceComparison", "MisfitWarning", "PointwiseModel",
           "PredictiveCheck"]


class ConvergenceWarning(UserWarning):
    """The sampler or optimiser shows signs of not having converged; see ``result.diagnostics``."""


class MisfitWarning(UserWarning):
    """The fitted mixture does not reproduce the dependence in the data (its posterior predictive
    check failed): the posterior of I(X;Y) is conditional on a model the data contradict and its
    interval may miss the truth; see ``result.check``."""


class IndependenceComparison(NamedTuple):
    """The fitted mixtures against x ⟂ y (:func:`bayesmi.fitting.independence_comparison`).

    With a joint (x, y) the fitted model is the joint mixture and the independent one a mixture of x
    times one of y; with class labels, a mixture of x per class against one mixture of all x. The
    independent model has I(X;Y) = 0 exactly. Each mixture has the K (1 to ``max_components``) of
    lowest BIC, BIC = −2 log-likelihood + parameters × log N in the data's standardised coordinates,
    so the two models are comparable.

    log_bayes_factor : (BIC_fitted − BIC_independent) / 2, Schwarz's approximation of
        log p(data | x ⟂ y) − log p(data | fitted), nats; positive favours independence.
    n_components : the K of each fitted mixture (the joint's; or each class's), then of each
        independent one (x's and y's; or the pooled x's).
    interval_low : the lower end (2.5% quantile) of the fitted posterior's 95% interval of I(X;Y), nats.
    seconds : wall time of the EM selections.
    nested_gaussian : the fitted model is one joint Gaussian, with draws re-centred for their bias.
    """

    log_bayes_factor: float
    n_components: tuple[tuple[int, ...], tuple[int, ...]]
    interval_low: float
    seconds: float
    nested_gaussian: bool = False

    @property
    def probability_independent(self) -> float:
        """P(x ⟂ y | data) at even prior odds of the two models (BIC approximation)."""
        return 0.5 * (1.0 + math.tanh(0.5 * self.log_bayes_factor))

    @property
    def contradicted(self) -> bool:
        """True when BIC prefers independence while the fitted posterior's 95% interval excludes
        I(X;Y) = 0: a model with no dependence at all fits better than the mixtures whose dependence
        the interval reports, so that interval cannot be trusted.

        A single joint Gaussian (``nested_gaussian``) is never contradicted: its independent sub-model
        is nested in it, so BIC's preference is the Occam penalty of d_x·d_y cross-covariances, and its
        draws are re-centred for their dimension bias (:mod:`bayesmi.estimators.gaussian_bias`), which
        already calibrates its interval at I = 0. Weak dependence shows the difference: three pairs
        with ρ = 0.1 (0.015 nats, N = 1000) gave intervals (0.002, 0.026) and (0.009, 0.039), both
        covering, with log Bayes factors +14 and +4 for independence. Class mixtures have no such
        correction, and are not exempt."""
        return self.log_bayes_factor > 0.0 and self.interval_low > 0.0 and not self.nested_gaussian


class PredictiveCheck(NamedTuple):
    """A posterior predictive check of a fit (:func:`bayesmi.checks.predictive_check`).

    statistic : the discrepancy, e.g. "KSG I(X;Y), k = 10"; with several (``z_scores``), the most
        discrepant one, which the next three fields describe.
    observed : its value on (a subset of ``num_rows`` of) the data, in nats.
    replicated : its values on data sets simulated from posterior draws, (S,) nats.
    z_score : (observed − mean(replicated)) / sd(replicated).
    p_value : two-sided, from the normal approximation of the replicated values; with m statistics,
        m times the smallest of their p-values (Bonferroni; at most 1).
    level : the check fails when ``p_value`` < ``level``.
    num_rows : rows per data set.
    seconds : wall time of the check.
    z_scores : the z-score of every statistic, by name.
    independence : the joint mixture against independent sides (:class:`IndependenceComparison`),
        where it was compared (None where independence could not win,
        :func:`bayesmi.fitting.independence_may_win`); the check also fails when that comparison
        contradicts the interval.
    """

    statistic: str
    observed: float
    replicated: np.ndarray
    z_score: float
    p_value: float
    level: float
    num_rows: int
    seconds: float
    z_scores: dict[str, float] = {}
    independence: IndependenceComparison | None = None

    @property
    def replicates_passed(self) -> bool:
        """True when the data's statistics are plausible under the fitted model at ``level``."""
        return self.p_value >= self.level

    @property
    def passed(self) -> bool:
        """True when the replicates pass and no comparison with independence contradicts the interval."""
        return self.replicates_passed and not (self.independence is not None and self.independence.contradicted)

    def __repr__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        independence = self.independence
        return (f"PredictiveCheck({verdict}: {self.statistic} on {self.num_rows} rows = {self.observed:.4f} nats, "
                f"replicates {np.mean(self.replicated):.4f} ± {np.std(self.replicated, ddof=1):.4f}, "
                f"z = {self.z_score:.2f}, p = {self.p_value:.2g}"
                + (f", most discrepant of {len(self.z_scores)} statistics" if len(self.z_scores) > 1 else "")
                + ("" if independence is None else
                   f"; log Bayes factor of x ⟂ y {independence.log_bayes_factor:+.1f}"
                   + (" with an interval that excludes 0" if independence.contradicted else ""))
                + ")")


class PointwiseModel(Protocol):
    """The fitted model behind an MI result, able to evaluate pointwise MI at its data rows."""

    def pointwise_mi(self, draw_index: np.ndarray) -> np.ndarray:
        """log p(x_i, y_i) / (p(x_i) p(y_i)) (nats) at every data row for the flattened draws
        ``draw_index``: (len(draw_index), N)."""


class _BuiltOnFirstUse:
    """A dataclass field that may be given as a function of no arguments: it is called on first
    access and its value kept. ``MIResult.idata`` is one: ArviZ takes ~0.5 s to import and a new
    process's first estimate need not pay it unless the InferenceData is read."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            raise AttributeError(self.slot)  # the field has no default
        value = obj.__dict__[self.slot]
        if isinstance(value, Callable):
            value = obj.__dict__[self.slot] = value()
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value


def _posterior_summary(draws: np.ndarray, prob: float) -> dict[str, float]:
    """ArviZ's summary columns of draws (chains, draws): mean, sd, HDI, MCSE, ESS and R-hat."""
    stats = draw_stats(draws[None])
    lo, hi = hdi(draws, prob)
    mcse_mean, mcse_sd = mcse(draws)
    return {"mean": float(draws.mean()), "sd": float(draws.std(ddof=1)), f"hdi_{50 * (1 - prob):g}%": lo,
            f"hdi_{50 * (1 + prob):g}%": hi, "mcse_mean": mcse_mean, "mcse_sd": mcse_sd,
            "ess_bulk": float(stats.ess_bulk[0]), "ess_tail": float(stats.ess_tail[0]), "r_hat": float(stats.rhat[0])}


def _eti(draws: np.ndarray, prob: float) -> tuple[float, float]:
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must lie in (0, 1), got {prob}")
    lo, hi = np.quantile(draws, [(1.0 - prob) / 2.0, (1.0 + prob) / 2.0])
    return float(lo), float(hi)


@dataclass(repr=False)
class MIResult:
    """Posterior (or bootstrap) distribution of an information quantity; every scalar estimator returns one.

    Attributes
    ----------
    draws : (chains, draws) array of the quantity per posterior draw (or bootstrap replicate), in ``units``.
    idata : arviz.InferenceData: the quantity (``variable``) beside the model parameters, in group
        "posterior" (or "bootstrap" for replicates); may be given as a function of no arguments
        that builds it, called when ``idata`` is first read.
    method : the estimator that produced it ("gibbs", "nuts", "svi", "bootstrap", "dirichlet").
    units : "nats" or "bits"; every number on the result is in these units.
    mc_se : Monte Carlo standard error of the per-draw integral (root mean square over draws).
    diagnostics : R-hat, ESS, the sampler's own checks ("problems"), number of components, timings, ...
    converged : False when any convergence check failed (a ConvergenceWarning was issued).
    truth : the true value in ``units`` when known (toy data), used by ``plot`` and ``summary``.
    variable : the quantity's name in ``idata``: "mi", "entropy", "kl" or "cmi".
    draws_kind : "posterior" draws or bootstrap "replicates".
    related : draws (chains, draws) in ``units`` of further quantities of the same posterior, by
        their names in ``idata`` (e.g. the entropies beside a discrete MI), summarised after ``variable``.
    model : the fitted model, for :func:`bayesmi.pointwise_mi` (None where that does not apply).
    check : the posterior predictive check of the fit (:class:`PredictiveCheck`), None where none ran.
    """

    draws: np.ndarray
    idata: Any = _BuiltOnFirstUse()
    method: str
    units: str = "nats"
    mc_se: float = float("nan")
    diagnostics: dict[str, Any] = field(default_factory=dict)
    converged: bool = True
    truth: float | None = None
    variable: str = "mi"
    draws_kind: str = "posterior"
    model: PointwiseModel | None = None
    related: dict[str, np.ndarray] = field(default_factory=dict)
    check: PredictiveCheck | None = None

    @property
    def check_passed(self) -> bool | None:
        """False when the posterior predictive check failed (a MisfitWarning was issued: the model
        does not reproduce the data's dependence, or fits worse than independent sides while its
        interval excludes 0), True when it passed, None when none ran."""
        return None if self.check is None else self.check.passed

    @property
    def mean(self) -> float:
        """Mean of the draws (the posterior mean, or the bootstrap mean)."""
        return float(np.mean(self.draws))

    @property
    def sd(self) -> float:
        """Standard deviation of the draws."""
        return float(np.std(self.draws, ddof=1))

    def interval(self, prob: float = 0.95) -> tuple[float, float]:
        """Central (equal-tailed) interval holding ``prob`` of the draws."""
        return _eti(self.draws, prob)

    @property
    def rhat(self) -> float:
        """Rank-normalised split R-hat of the quantity (NaN for one chain or bootstrap replicates)."""
        return self.diagnostics["rhat"]

    @property
    def ess(self) -> float:
        """Bulk effective sample size of the quantity (NaN for bootstrap replicates)."""
        return self.diagnostics["ess_bulk"]

    @property
    def long_name(self) -> str:
        """The quantity in symbols, e.g. "I(X;Y)" or "H(X)"."""
        group = self.idata["bootstrap" if self.draws_kind == "replicates" else "posterior"]
        return group[self.variable].attrs.get("long_name", self.variable)

    def _quantities(self) -> dict[str, np.ndarray]:
        """Draws of every information quantity by name, ``variable`` first."""
        return {self.variable: self.draws, **self.related}

    def to(self, units: str) -> MIResult:
        """The same result expressed in other units ("nats" or "bits")."""
        factor = to_units(1.0, units) / to_units(1.0, self.units)
        truth = None if self.truth is None else self.truth * factor
        return replace(self, draws=self.draws * factor, idata=partial(_idata_in_units, self, units),
                       related={name: draws * factor for name, draws in self.related.items()}, units=units,
                       mc_se=self.mc_se * factor, diagnostics=dict(self.diagnostics), truth=truth)

    def summary(self, prob: float = 0.95) -> pd.DataFrame:
        """One row per information quantity: mean, sd and the equal-tailed ``prob`` interval, plus the
        columns of ArviZ's summary (HDI, MCSE, ESS, R-hat; same formulas) for posterior draws, or the
        number of replicates for the bootstrap; the MC error of the integral and the truth when known."""
        import pandas as pd

        quantities = self._quantities()
        names, values = list(quantities), [np.asarray(a, np.float64) for a in quantities.values()]
        q = [(1.0 - prob) / 2.0, (1.0 + prob) / 2.0]
        if self.draws_kind == "replicates":
            table = pd.DataFrame({"mean": [a.mean() for a in values], "sd": [a.std(ddof=1) for a in values],
                                  "replicates": [a.size for a in values]})
        else:
            table = pd.DataFrame([_posterior_summary(a, prob) for a in values])
        table.index = [f"{v} [{self.units}]" for v in names]
        lo, hi = np.array([np.quantile(a, q) for a in values]).T
        table[f"eti_{prob:g}_lo"], table[f"eti_{prob:g}_hi"] = lo, hi
        table["mc_se_integral"] = self.mc_se
        if self.truth is not None:
            table["truth"] = [self.truth] + [np.nan] * (len(names) - 1)
        return table

    def pointwise_mi(self, max_draws: int = 200) -> np.ndarray:
        """Pointwise MI log p(x_i, y_i) / (p(x_i) p(y_i)) at every data row, per draw: (S, N) in ``units``.

        For results of :func:`bayesmi.estimate_mi` (continuous or categorical y; for a class y the
        ratio is log p(x_i | y_i) / p(x_i)), evaluated at the stored standardised rows (PMI is
        invariant to the standardisation). The S = min(max_draws, chains·draws) draws are evenly
        spaced over all chains. The mean over rows of one draw's PMI is a plug-in estimate of that
        draw's MI.
        """
        if self.variable != "mi" or self.model is None:
            raise ValueError("pointwise MI needs the result of bayesmi.estimate_mi (a mixture fit of I(X;Y))")
        n_draws = self.draws.size
        rows = np.unique(np.linspace(0, n_draws - 1, min(max_draws, n_draws)).round().astype(int))
        return to_units(np.asarray(self.model.pointwise_mi(rows), dtype=np.float64), self.units)

    def plot(self, truth: float | None = None, **kwargs: Any):
        """Histogram of the draws per chain (with the truth when known) and their trace
        (:func:`bayesmi.plots.plot_mi`)."""
        from bayesmi.plots import plot_mi

        return plot_mi(self, truth=self.truth if truth is None else truth, **kwargs)

    def __repr__(self) -> str:
        lo, hi = self.interval(0.95)
        flag = ("" if self.converged else ", NOT CONVERGED") + (
            f", CHECK FAILED ({_failure(self.check)})" if self.check_passed is False else "")
        checks = (f"{self.draws.size} {self.diagnostics.get('replicate_kind', 'bootstrap')} replicates"
                  if self.draws_kind == "replicates"
                  else f"rhat={self.rhat:.3f}, ess={self.ess:.0f}")
        return (f"MIResult({self.variable}={self.mean:.4f} ± {self.sd:.4f} {self.units}, 95% interval=({lo:.4f}, "
                f"{hi:.4f}), method={self.method!r}, {checks}{flag})")


def _failure(check: PredictiveCheck) -> str:
    """Why a failed check failed, in a few words."""
    reasons = [] if check.replicates_passed else [f"p={check.p_value:.2g}"]
    if check.independence is not None and check.independence.contradicted:
        reasons.append(f"x ⟂ y preferred, log BF {check.independence.log_bayes_factor:+.1f}")
    return "; ".join(reasons)


def _idata_in_units(result: MIResult, units: str) -> Any:
    """A copy of ``result.idata`` with its information quantities converted to ``units``."""
    factor = to_units(1.0, units) / to_units(1.0, result.units)
    idata = result.idata.copy()
    group = idata["bootstrap" if result.draws_kind == "replicates" else "posterior"]
    for v in result._quantities():
        old = group[v]
        group[v] = (old * factor).assign_attrs(old.attrs, units=units)
    return idata


@dataclass(repr=False)
class MIMatrix:
    """Posterior draws of a matrix of information quantities between two sets of variables.

    Attributes
    ----------
    draws : (n_draws, n_rows, n_cols) array in ``units``; cell (i, j) is the quantity of row
        variable i with column variable j (or, e.g., measure j of unit i).
    row_names, col_names : labels of the rows (n_rows,) and columns (n_cols,).
    method : the estimator that produced it ("gibbs", "dirichlet", ...).
    units : "nats" or "bits".
    dims : names of the row and column axes, e.g. ("x", "y") or ("unit", "measure").
    quantity : what the cells hold, for labels, e.g. "I(X;Y)".
    diagnostics : estimator details; per-cell arrays (n_rows, n_cols) such as "converged", "rhat",
        "problems" where the cells come from a sampler.
    """

    draws: np.ndarray
    row_names: list[Any]
    col_names: list[Any]
    method: str
    units: str = "nats"
    dims: tuple[str, str] = ("x", "y")
    quantity: str = "I(X;Y)"
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        to_units(1.0, self.units)  # validates units
        self.draws = np.asarray(self.draws, dtype=np.float64)
        self.row_names, self.col_names = list(self.row_names), list(self.col_names)
        shape = (len(self.row_names), len(self.col_names))
        if self.draws.ndim != 3 or self.draws.shape[1:] != shape:
            raise ValueError(f"draws must have shape (n_draws, {shape[0]}, {shape[1]}) to match the names, "
                             f"got {self.draws.shape}")

    @property
    def mean(self) -> np.ndarray:
        """Posterior mean (n_rows, n_cols)."""
        return self.draws.mean(axis=0)

    @property
    def sd(self) -> np.ndarray:
        """Posterior standard deviation (n_rows, n_cols)."""
        return self.draws.std(axis=0, ddof=1)

    @property
    def converged(self) -> bool:
        """False when any cell failed its convergence checks (``diagnostics["converged"]``)."""
        return bool(np.all(self.diagnostics.get("converged", True)))

    def interval(self, prob: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Central (equal-tailed) credible intervals: arrays lo, hi of shape (n_rows, n_cols)."""
        if not 0.0 < prob < 1.0:
            raise ValueError(f"prob must lie in (0, 1), got {prob}")
        lo, hi = np.quantile(self.draws, [(1.0 - prob) / 2.0, (1.0 + prob) / 2.0], axis=0)
        return lo, hi

    def to(self, units: str) -> MIMatrix:
        """The same matrix expressed in other units ("nats" or "bits")."""
        factor = to_units(1.0, units) / to_units(1.0, self.units)
        return replace(self, draws=self.draws * factor, units=units, diagnostics=dict(self.diagnostics))

    def to_frame(self, prob: float = 0.95) -> pd.DataFrame:
        """Tidy table, one row per cell: the two names, mean, sd, equal-tailed interval and units."""
        import pandas as pd

        lo, hi = self.interval(prob)
        return pd.DataFrame({
            self.dims[0]: [r for r in self.row_names for _ in self.col_names],
            self.dims[1]: self.col_names * len(self.row_names),
            "mean": self.mean.ravel(), "sd": self.sd.ravel(),
            f"eti_{prob:g}_lo": lo.ravel(), f"eti_{prob:g}_hi": hi.ravel(), "units": self.units,
        })

    def plot(self, **kwargs: Any):
        """Heatmap of the posterior means annotated with mean ± sd (:func:`bayesmi.plots.plot_mi_matrix`)."""
        from bayesmi.plots import plot_mi_matrix

        return plot_mi_matrix(self, **kwargs)

    def __repr__(self) -> str:
        n_draws, n_rows, n_cols = self.draws.shape
        mean = self.mean
        flag = "" if self.converged else ", NOT CONVERGED"
        return (f"MIMatrix({self.quantity}, {n_rows} {self.dims[0]} × {n_cols} {self.dims[1]}, "
                f"{n_draws} draws, method={self.method!r}, posterior means in "
                f"[{np.nanmin(mean):.4f}, {np.nanmax(mean):.4f}] {self.units}{flag})")


def __getattr__(name: str) -> Any:
    if name == "InfoResult":
        warnings.warn("bayesmi.InfoResult is now bayesmi.MIResult (one result type for every information "
                      "quantity); the old name will be removed in the next release", DeprecationWarning,
                      stacklevel=find_stack_level())
        return MIResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
