"""The one result type every MI estimator returns."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

__all__ = ["MIResult", "InfoResult", "MIMatrix", "ConvergenceWarning", "to_units", "UNITS"]

UNITS = {"nats": 1.0, "bits": 1.0 / math.log(2.0)}


class ConvergenceWarning(UserWarning):
    """The sampler or optimiser shows signs of not having converged; see ``result.diagnostics``."""


def to_units(value_nats: Any, units: str) -> Any:
    """Convert a quantity in nats to ``units`` ("nats" or "bits")."""
    if units not in UNITS:
        raise ValueError(f"units must be one of {sorted(UNITS)}, got {units!r}")
    return value_nats * UNITS[units]


@dataclass
class MIResult:
    """Posterior (or bootstrap) distribution of a mutual information.

    Attributes
    ----------
    draws : (chains, draws) array of I(X;Y) per posterior draw, in ``units``.
    idata : arviz.InferenceData whose posterior holds "mi" beside the model parameters.
    method : the estimator that produced it ("nuts", "svi", ...).
    units : "nats" or "bits"; every number on the result is in these units.
    mc_se : Monte Carlo standard error of the per-draw MI integral (root mean square over draws).
    diagnostics : R-hat, ESS, divergences, number of components, warnings issued, timings.
    converged : False when any convergence check failed (a ConvergenceWarning was issued).
    truth : the true MI in ``units`` when known (toy data), used by ``plot`` and ``summary``.
    """

    draws: np.ndarray
    idata: az.InferenceData
    method: str
    units: str = "nats"
    mc_se: float = float("nan")
    diagnostics: dict[str, Any] = field(default_factory=dict)
    converged: bool = True
    truth: float | None = None

    @property
    def mean(self) -> float:
        """Posterior mean of I(X;Y)."""
        return float(np.mean(self.draws))

    @property
    def sd(self) -> float:
        """Posterior standard deviation of I(X;Y)."""
        return float(np.std(self.draws, ddof=1))

    def interval(self, prob: float = 0.95) -> tuple[float, float]:
        """Central (equal-tailed) credible interval holding ``prob`` of the draws."""
        if not 0.0 < prob < 1.0:
            raise ValueError(f"prob must lie in (0, 1), got {prob}")
        lo, hi = np.quantile(self.draws, [(1.0 - prob) / 2.0, (1.0 + prob) / 2.0])
        return float(lo), float(hi)

    @property
    def rhat(self) -> float:
        """Rank-normalised split R-hat of MI (Vehtari et al. 2021)."""
        return self.diagnostics["rhat"]

    @property
    def ess(self) -> float:
        """Bulk effective sample size of MI."""
        return self.diagnostics["ess_bulk"]

    def to(self, units: str) -> "MIResult":
        """The same result expressed in other units ("nats" or "bits")."""
        factor = to_units(1.0, units) / to_units(1.0, self.units)
        idata = self.idata.copy()
        idata.posterior["mi"] = idata.posterior["mi"] * factor
        idata.posterior["mi"].attrs["units"] = units
        truth = None if self.truth is None else self.truth * factor
        return MIResult(self.draws * factor, idata, self.method, units, self.mc_se * factor,
                        dict(self.diagnostics), self.converged, truth)

    def summary(self, prob: float = 0.95) -> pd.DataFrame:
        """ArviZ summary of MI (mean, sd, HDI, MCSE, ESS, R-hat) plus the MC error of the integral."""
        table = az.summary(self.idata, var_names=["mi"], hdi_prob=prob, round_to="none")
        table.index = [f"mi [{self.units}]"]
        lo, hi = self.interval(prob)
        table[f"eti_{prob:g}_lo"], table[f"eti_{prob:g}_hi"] = lo, hi
        table["mc_se_integral"] = self.mc_se
        if self.truth is not None:
            table["truth"] = self.truth
        return table

    def plot(self, truth: float | None = None, **kwargs: Any):
        """Posterior density of MI per chain (with the true value when known) and its trace."""
        from bayesmi.plotting import plot_mi

        return plot_mi(self, truth=self.truth if truth is None else truth, **kwargs)

    def __repr__(self) -> str:
        lo, hi = self.interval(0.95)
        flag = "" if self.converged else ", NOT CONVERGED"
        return (f"MIResult(method={self.method!r}, mi={self.mean:.4f} ± {self.sd:.4f} {self.units}, "
                f"95% interval=({lo:.4f}, {hi:.4f}), rhat={self.rhat:.3f}, ess={self.ess:.0f}{flag})")


@dataclass(repr=False)
class InfoResult(MIResult):
    """An :class:`MIResult` for a named information quantity, e.g. "mi" or "entropy".

    ``draws`` are those of ``variable``; ``idata.posterior`` may hold related quantities beside it
    (e.g. the entropies behind an MI). Every posterior variable with a "units" attribute is an
    information quantity: :meth:`to` converts them all and :meth:`summary` lists them all.
    """

    variable: str = "mi"

    def _quantities(self) -> list[str]:
        """Posterior variables in information units, ``variable`` first."""
        post = self.idata.posterior
        others = [v for v in post.data_vars if v != self.variable and "units" in post[v].attrs]
        return [self.variable, *others]

    def to(self, units: str) -> "InfoResult":
        """The same result expressed in other units ("nats" or "bits")."""
        factor = to_units(1.0, units) / to_units(1.0, self.units)
        idata = self.idata.copy()
        for v in self._quantities():
            old = idata.posterior[v]
            idata.posterior[v] = (old * factor).assign_attrs(old.attrs, units=units)
        truth = None if self.truth is None else self.truth * factor
        return replace(self, draws=self.draws * factor, idata=idata, units=units, mc_se=self.mc_se * factor,
                       diagnostics=dict(self.diagnostics), truth=truth)

    def summary(self, prob: float = 0.95) -> pd.DataFrame:
        """ArviZ summary (mean, sd, HDI, MCSE, ESS) of every quantity, with equal-tailed intervals."""
        names = self._quantities()
        table = az.summary(self.idata, var_names=names, hdi_prob=prob, round_to="none")
        table.index = [f"{v} [{self.units}]" for v in names]
        q = [(1.0 - prob) / 2.0, (1.0 + prob) / 2.0]
        lo, hi = np.array([np.quantile(self.idata.posterior[v].values, q) for v in names]).T
        table[f"eti_{prob:g}_lo"], table[f"eti_{prob:g}_hi"] = lo, hi
        table["mc_se_integral"] = self.mc_se
        if self.truth is not None:
            table["truth"] = [self.truth] + [np.nan] * (len(names) - 1)
        return table

    def plot(self, truth: float | None = None, **kwargs: Any):
        """As :meth:`MIResult.plot`, with the axes labelled by the quantity (e.g. H(X))."""
        fig = super().plot(truth, **kwargs)
        label = self.idata.posterior[self.variable].attrs.get("long_name", self.variable)
        for ax in fig.axes:
            ax.set_xlabel(ax.get_xlabel().replace("I(X;Y)", label))
            ax.set_ylabel(ax.get_ylabel().replace("I(X;Y)", label))
        return fig

    def __repr__(self) -> str:
        lo, hi = self.interval(0.95)
        return (f"InfoResult({self.variable}={self.mean:.4f} ± {self.sd:.4f} {self.units}, "
                f"95% interval=({lo:.4f}, {hi:.4f}), method={self.method!r}, ess={self.ess:.0f})")


@dataclass(repr=False)
class MIMatrix:
    """Posterior draws of a matrix of information quantities between two sets of variables.

    Attributes
    ----------
    draws : (n_draws, n_rows, n_cols) array in ``units``; cell (i, j) is the quantity of row
        variable i with column variable j (or, e.g., measure j of unit i).
    row_names, col_names : labels of the rows (n_rows,) and columns (n_cols,).
    method : the estimator that produced it ("dirichlet", ...).
    units : "nats" or "bits".
    dims : names of the row and column axes, e.g. ("x", "y") or ("unit", "measure").
    quantity : what the cells hold, for labels, e.g. "I(X;Y)".
    diagnostics : estimator details (sample size, labels, prior, ...).
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

    def to(self, units: str) -> "MIMatrix":
        """The same matrix expressed in other units ("nats" or "bits")."""
        factor = to_units(1.0, units) / to_units(1.0, self.units)
        return replace(self, draws=self.draws * factor, units=units, diagnostics=dict(self.diagnostics))

    def to_frame(self, prob: float = 0.95) -> pd.DataFrame:
        """Tidy table, one row per cell: the two names, mean, sd, equal-tailed interval and units."""
        lo, hi = self.interval(prob)
        return pd.DataFrame({
            self.dims[0]: [r for r in self.row_names for _ in self.col_names],
            self.dims[1]: self.col_names * len(self.row_names),
            "mean": self.mean.ravel(), "sd": self.sd.ravel(),
            f"eti_{prob:g}_lo": lo.ravel(), f"eti_{prob:g}_hi": hi.ravel(), "units": self.units,
        })

    def plot(self, **kwargs: Any):
        """Heatmap of the posterior means annotated with mean ± sd (:mod:`bayesmi.plot_matrix`)."""
        from bayesmi.plot_matrix import plot_mi_matrix

        return plot_mi_matrix(self, **kwargs)

    def __repr__(self) -> str:
        n_draws, n_rows, n_cols = self.draws.shape
        mean = self.mean
        return (f"MIMatrix({self.quantity}, {n_rows} {self.dims[0]} × {n_cols} {self.dims[1]}, "
                f"{n_draws} draws, method={self.method!r}, posterior means in "
                f"[{mean.min():.4f}, {mean.max():.4f}] {self.units})")


def warn_not_converged(problems: list[str], method: str, variable: str = "mi", label: str = "MI") -> None:
    """Issue one visible ConvergenceWarning listing what failed for the posterior ``variable`` (``label``)."""
    warnings.warn(
        f"{method}: the {label} posterior may be unreliable: " + "; ".join(problems)
        + f". Inspect result.diagnostics and az.plot_trace(result.idata, var_names=[{variable!r}]); "
        "more warmup/samples or a different number of components may help.",
        ConvergenceWarning,
        stacklevel=3,
    )
