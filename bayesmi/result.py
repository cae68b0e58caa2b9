"""The one result type every MI estimator returns."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

__all__ = ["MIResult", "ConvergenceWarning", "to_units", "UNITS"]

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


def warn_not_converged(problems: list[str], method: str) -> None:
    """Issue one visible ConvergenceWarning listing what failed."""
    warnings.warn(
        f"{method}: the MI posterior may be unreliable: " + "; ".join(problems)
        + ". Inspect result.diagnostics and az.plot_trace(result.idata, var_names=['mi']); "
        "more warmup/samples or a different number of components may help.",
        ConvergenceWarning,
        stacklevel=3,
    )
