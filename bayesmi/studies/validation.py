"""Coverage studies: do each method's intervals cover the true MI as often as they claim?

:func:`run_validation` draws ``replicates`` data sets from every toy at every
sample size, fits every method to each of them with
:func:`~bayesmi.estimate_mi`, and records the estimate, its central
intervals and whether they cover the truth. :meth:`ValidationResult.summary`
reduces the records to bias, RMSE, interval widths and empirical coverage with
an exact binomial confidence band (:func:`coverage_table`, a pure function).

Save a study with ``result.records.to_csv(path, index=False)`` (or
``result.summary().to_csv(...)``); reload it with
``ValidationResult(pd.read_csv(path), probs)``.
"""

from __future__ import annotations

import math
import time
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

from bayesmi import toys as toy_lib
from bayesmi.estimators import estimate_mi
from bayesmi.options import METHODS, FitOptions
from bayesmi.results import ConvergenceWarning, MIResult
from bayesmi.toys import STUDY_TOYS, Toy
from bayesmi.util import check_int, find_stack_level, prob_label

__all__ = [
    "STUDY_TOYS",
    "ValidationResult",
    "binomial_interval",
    "coverage_table",
    "replicate_seeds",
    "resolve_toys",
    "result_record",
    "run_validation",
]

#: Replicates between clearings of JAX's compilation caches. Data sets whose shapes change between
#: replicates (class sizes of a categorical y) compile new programs every fit, and compiled programs
#: are never freed: a categorical study died after ~7 min with LLVM unable to map more code memory.
CLEAR_CACHES_EVERY = 10

def resolve_toys(toys: Mapping[str, Toy] | Sequence[str]) -> dict[str, Toy]:
    """Toys by label: a mapping is checked and copied; names come from :data:`STUDY_TOYS`,
    else from :data:`bayesmi.toys.TOYS` with default arguments."""
    if isinstance(toys, Mapping):
        for label, toy in toys.items():
            if not isinstance(toy, Toy):
                raise TypeError(f"toys[{label!r}] must be a Toy, got {type(toy).__name__}")
        resolved = dict(toys)
    else:
        if isinstance(toys, str):
            raise TypeError("toys must be a sequence of names or a mapping, not a string")
        resolved = {name: _named_toy(name) for name in toys}
        if len(resolved) != len(toys):
            raise ValueError(f"toys must not repeat a name, got {list(toys)}")
    if not resolved:
        raise ValueError("toys must name at least one toy")
    return resolved


def _named_toy(name: str) -> Toy:
    if name in STUDY_TOYS:
        return STUDY_TOYS[name]
    if name not in toy_lib.TOYS:
        raise ValueError(f"unknown toy {name!r}; choose from {sorted(STUDY_TOYS)} or {sorted(toy_lib.TOYS)}")
    try:
        return toy_lib.get(name)
    except TypeError:
        raise ValueError(f"toy {name!r} needs constructor arguments; pass a mapping "
                         f"{{label: bayesmi.toys.get({name!r}, ...)}}") from None


def replicate_seeds(seed: int, toy: str, n: int, replicate: int) -> tuple[int, int]:
    """(data seed, fit seed) of one replicate, both in [0, 2**31).

    Deterministic in (seed, toy label, n, replicate) alone, so a replicate's data set is the
    same for every method and does not change when toys, sizes or methods are added to a study.
    """
    key = (zlib.crc32(toy.encode()), n, replicate)
    data, fit = np.random.SeedSequence(seed, spawn_key=key).generate_state(2)
    return int(data) >> 1, int(fit) >> 1


def result_record(result: MIResult, probs: Sequence[float]) -> dict[str, Any]:
    """Mean, sd, central interval per prob (``lo68``, ``hi68``, ``covers68``, ...), converged,
    problems and truth of one fit (MI in ``result.units``; ``result.truth`` must be set)."""
    if result.truth is None:
        raise ValueError("result.truth is needed to score coverage")
    record: dict[str, Any] = {"truth": result.truth, "units": result.units, "mean": result.mean,
                              "sd": result.sd}
    for prob in probs:
        lo, hi = result.interval(prob)
        label = prob_label(prob)
        record.update({f"lo{label}": lo, f"hi{label}": hi, f"covers{label}": lo <= result.truth <= hi})
    record["converged"] = result.converged
    record["problems"] = "; ".join(result.diagnostics.get("problems", []))
    return record


def binomial_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) confidence interval of a proportion from ``k`` successes in ``n`` trials."""
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


def coverage_table(records: pd.DataFrame, probs: Sequence[float], confidence: float = 0.95) -> pd.DataFrame:
    """Per (toy, n, method): accuracy and calibration of the intervals over the replicates.

    ``records`` has one row per fit with columns toy, n, method, units, truth, mean, sd,
    lo/hi/covers per prob (see :func:`result_record`), converged and wall_s. Columns of the
    result: toy, n, method, units, replicates, truth, bias (mean estimate − truth), rmse,
    sd_reported (mean of the reported sds), sd_empirical (sd of the estimates over replicates),
    then per prob: width68 (mean interval width), coverage68 (fraction covering the truth) and
    coverage68_lo / _hi (its ``confidence`` Clopper–Pearson band), then frac_converged and
    mean_wall_s. Every replicate counts, converged or not.
    """
    rows = []
    for (toy, n, method), group in records.groupby(["toy", "n", "method"], sort=False):
        error = group["mean"] - group["truth"]
        reps = len(group)
        row: dict[str, Any] = {
            "toy": toy, "n": n, "method": method, "units": group["units"].iloc[0], "replicates": reps,
            "truth": group["truth"].iloc[0], "bias": error.mean(), "rmse": math.sqrt((error**2).mean()),
            "sd_reported": group["sd"].mean(), "sd_empirical": group["mean"].std(ddof=1),
        }
        for prob in probs:
            label = prob_label(prob)
            covered = int(group[f"covers{label}"].sum())
            lo, hi = binomial_interval(covered, reps, confidence)
            row.update({f"width{label}": (group[f"hi{label}"] - group[f"lo{label}"]).mean(),
                        f"coverage{label}": covered / reps,
                        f"coverage{label}_lo": lo, f"coverage{label}_hi": hi})
        row.update(frac_converged=group["converged"].mean(), mean_wall_s=group["wall_s"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class ValidationResult:
    """The records of :func:`run_validation`: one row per (toy, n, replicate, method) fit.

    Columns: toy, n, replicate, method, data_seed, fit_seed, then :func:`result_record`'s
    (truth, units, mean, sd, lo/hi/covers per prob, converged, problems) and wall_s
    (seconds, JIT compilation included the first time a shape is seen).
    """

    records: pd.DataFrame
    probs: tuple[float, ...] = (0.68, 0.95)

    def summary(self, confidence: float = 0.95) -> pd.DataFrame:
        """Bias, RMSE, widths and coverage per (toy, n, method); see :func:`coverage_table`."""
        return coverage_table(self.records, self.probs, confidence)

    def plot_calibration(self, confidence: float = 0.95):
        """Empirical vs nominal coverage per method (:func:`bayesmi.plots.plot_calibration`)."""
        from bayesmi.plots import plot_calibration

        return plot_calibration(self.summary(confidence), self.probs)


def _is_int(value: Any, low: int) -> bool:
    try:
        check_int(value, "value", low)
    except (TypeError, ValueError):
        return False
    return True


def _check_options(sizes: Sequence[int], methods: Sequence[str], replicates: int,
                   probs: Sequence[float], seed: int) -> None:
    """ValueError for any malformed study setting, before the first fit."""
    if (isinstance(sizes, str) or len(sizes) == 0 or not all(_is_int(n, 1) for n in sizes)
            or len(set(sizes)) != len(sizes)):
        raise ValueError(f"sizes must be distinct positive integers, got {sizes!r}")
    if isinstance(methods, str) or len(methods) == 0 or len(set(methods)) != len(methods):
        raise ValueError(f"methods must be a non-empty sequence of distinct names, got {methods!r}")
    if unknown := [m for m in methods if m not in METHODS]:
        raise ValueError(f"unknown method(s) {unknown}; choose from {METHODS}")
    if not _is_int(replicates, 1):
        raise ValueError(f"replicates must be a positive integer, got {replicates!r}")
    if (len(probs) == 0 or any(not 0 < p < 1 for p in probs)
            or len({prob_label(p) for p in probs}) != len(probs)):
        raise ValueError(f"probs must be distinct probabilities in (0, 1), got {probs!r}")
    if not _is_int(seed, 0):
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")


def run_validation(
    toys: Mapping[str, Toy] | Sequence[str],
    sizes: Sequence[int] = (200, 2000),
    methods: Sequence[str] = ("gibbs", "svi", "bootstrap"),
    replicates: int = 100,
    probs: Sequence[float] = (0.68, 0.95),
    seed: int = 0,
    progress: bool = True,
    options: FitOptions | None = None,
    **estimate_kwargs: Any,
) -> ValidationResult:
    """Coverage study: every method on ``replicates`` data sets of every toy at every size.

    Parameters
    ----------
    toys : {label: Toy}, or names (:data:`STUDY_TOYS`, else :data:`bayesmi.toys.TOYS` defaults).
    sizes : sample sizes N.
    methods : ``estimate_mi`` methods; all of them see the same data sets.
    replicates : data sets per (toy, N).
    probs : probabilities of the central intervals scored for coverage.
    seed : root seed (int >= 0); each replicate's data and fit seeds derive from
        (seed, toy label, N, replicate) by :func:`replicate_seeds`.
    progress : show one progress bar over all fits (the fits themselves show none).
    options, **estimate_kwargs : the fit settings (:class:`~bayesmi.FitOptions`: ``num_chains``,
        ``num_samples``, ...) and further ``estimate_mi`` arguments (``units``, ``y_type``, ...);
        ``pointwise_log_likelihood`` defaults to False here.

    Returns
    -------
    ValidationResult with one record per fit. ConvergenceWarnings of single fits are not
    shown but recorded (``converged``, ``problems``); one warning at the end counts them.
    """
    toys = resolve_toys(toys)
    _check_options(sizes, methods, replicates, probs, seed)
    probs = tuple(float(p) for p in probs)
    estimate_kwargs.setdefault("pointwise_log_likelihood", False)
    records = []
    bar = tqdm(total=len(toys) * len(sizes) * replicates * len(methods), disable=not progress,
               desc="fits", unit="fit")
    with bar:
        for label, toy in toys.items():
            for n in map(int, sizes):
                for replicate in range(int(replicates)):
                    data_seed, fit_seed = replicate_seeds(seed, label, n, replicate)
                    x, y = toy.sample(n, seed=data_seed)
                    for method in methods:
                        bar.set_postfix_str(f"{label} N={n} {method}")
                        start = time.perf_counter()
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore", ConvergenceWarning)
                            result = estimate_mi(x, y, method=method, truth=toy.mi, seed=fit_seed,
                                                 options=options, progress=False, **estimate_kwargs)
                        wall = time.perf_counter() - start
                        records.append({"toy": label, "n": n, "replicate": replicate, "method": method,
                                        "data_seed": data_seed, "fit_seed": fit_seed,
                                        **result_record(result, probs), "wall_s": wall})
                        bar.update()
                    if (replicate + 1) % CLEAR_CACHES_EVERY == 0:
                        jax.clear_caches()
    table = pd.DataFrame(records)
    if failed := int((~table["converged"]).sum()):
        warnings.warn(f"{failed} of {len(table)} fits did not converge; see the converged and problems "
                      "columns of the records", ConvergenceWarning, stacklevel=find_stack_level())
    return ValidationResult(table, probs)
