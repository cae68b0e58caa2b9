"""Coverage studies: do each method's intervals cover the true MI as often as they claim?

:func:`run_validation` draws ``replicates`` data sets from every toy at every
sample size, fits every method to each of them with
:func:`~bayesmi.estimate_mi`, and records the estimate, its central
intervals and whether they cover the truth. :meth:`ValidationResult.summary`
reduces the records to bias, RMSE, interval widths and empirical coverage with
an exact binomial confidence band (:func:`coverage_table`, a pure function).

Save a study with ``result.records.to_csv(path, index=False)`` (or
``result.summary().to_csv(...)``); reload it with
``ValidationResult(pd.read_csv(path), probs)``. Long studies take an ``executor`` that spreads
the fits over processes or machines and a ``store`` that keeps each fit as it finishes, so a
study that dies resumes where it stopped (:mod:`bayesmi.parallel`).
"""

from __future__ import annotations

import itertools
import math
import os
import time
import warnings
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Literal

import jax
import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

from bayesmi import toys as toy_lib
from bayesmi.estimators import estimate_mi
from bayesmi.options import METHODS, FitOptions
from bayesmi.parallel import Task, TaskFailure, check_executor, content_hash, run_tasks
from bayesmi.results import ConvergenceWarning, MIResult
from bayesmi.toys import STUDY_TOYS, SUITE, Toy
from bayesmi.util import check_int, find_stack_level, prob_label, to_units

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

#: Fits between clearings of JAX's compilation caches in a process (this one or a worker). Data
#: sets whose shapes change between replicates (class sizes of a categorical y) compile new programs
#: every fit, and compiled programs are never freed: a categorical study died after ~7 min with
#: LLVM unable to map more code memory. 20 fits: 10 replicates of two methods.
CLEAR_CACHES_EVERY = 20
_FITS_IN_PROCESS = itertools.count(1)


def resolve_toys(toys: Mapping[str, Toy] | Sequence[str]) -> dict[str, Toy]:
    """Toys by label: a mapping is checked and copied; names come from :data:`STUDY_TOYS`, the
    benchmark suite :data:`bayesmi.toys.SUITE`, else :data:`bayesmi.toys.TOYS` with default arguments."""
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
    for named in (STUDY_TOYS, SUITE):
        if name in named:
            return named[name]
    if name not in toy_lib.TOYS:
        raise ValueError(f"unknown toy {name!r}; choose from {sorted(STUDY_TOYS)}, the benchmark suite "
                         f"{sorted(SUITE)} or {sorted(toy_lib.TOYS)}")
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
    problems, the predictive check's p-value and verdict (``check_p``, ``check_passed``) and truth of one fit (MI in ``result.units``; ``result.truth`` must be set)."""
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
    check = result.check
    record["check_p"] = math.nan if check is None else check.p_value
    record["check_passed"] = result.check_passed  # None where no check ran (bootstrap off, KSG, ...)
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
    coverage68_lo / _hi (its ``confidence`` Clopper–Pearson band), then frac_check_failed (fits whose
    posterior predictive check failed, NaN where none ran), frac_covered_or_flagged95 (95% interval
    covers the truth or the check failed: the fits that are right or say they may not be; when 0.95
    is among ``probs``), frac_converged and mean_wall_s. Every replicate with an estimate counts, converged or not; failed fits (mean NaN)
    are left out.
    """
    rows = []
    scored = records[records["mean"].notna()]
    for (toy, n, method), group in scored.groupby(["toy", "n", "method"], sort=False):
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
        checked = group["check_passed"].dropna() if "check_passed" in group else pd.Series(dtype=object)
        failed = ~checked.astype(bool)
        row["frac_check_failed"] = failed.mean() if len(checked) else math.nan
        if 0.95 in probs:  # a miss the check flagged is honest: count the fits that cover or warn
            warned = group.index.isin(checked.index[failed])
            row["frac_covered_or_flagged95"] = float(np.mean(group["covers95"].astype(bool) | warned))
        row.update(frac_converged=group["converged"].mean(), mean_wall_s=group["wall_s"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class ValidationResult:
    """The records of :func:`run_validation`: one row per (toy, n, replicate, method) fit.

    Columns: toy, n, replicate, method, data_seed, fit_seed, then :func:`result_record`'s
    (truth, units, mean, sd, lo/hi/covers per prob, converged, problems) and wall_s
    (seconds, JIT compilation included the first time a shape is seen in a process). A fit that
    failed has NaN estimates and wall_s, and "failed: <error>" as its problems.
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

    def plot_intervals(self, n: int | None = None):
        """Every fit's estimate and 95% interval against the truth, per toy and method, at size ``n``
        (default: the largest; :func:`bayesmi.plots.plot_intervals`)."""
        from bayesmi.plots import plot_intervals

        return plot_intervals(self.records, n)


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


def _fit_record(toy: Toy, label: str, n: int, replicate: int, method: str, data_seed: int, fit_seed: int,
                probs: tuple[float, ...], options: FitOptions | None, estimate_kwargs: dict[str, Any]) -> dict[str, Any]:
    """One fit of a coverage study, from drawing its data set to its record (a task of
    :func:`run_validation`, run in this process or in a worker). Every :data:`CLEAR_CACHES_EVERY`
    fits in a process, JAX's compiled programs are freed."""
    x, y = toy.sample(n, seed=data_seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = estimate_mi(x, y, method=method, truth=toy.mi, seed=fit_seed, options=options, progress=False,
                             **estimate_kwargs)
    wall = time.perf_counter() - start
    if next(_FITS_IN_PROCESS) % CLEAR_CACHES_EVERY == 0:
        jax.clear_caches()
    return {"toy": label, "n": n, "replicate": replicate, "method": method, "data_seed": data_seed,
            "fit_seed": fit_seed, **result_record(result, probs), "wall_s": wall}


def _failed_record(failure: TaskFailure, args: tuple, units: str) -> dict[str, Any]:
    """The record of a fit that raised: no estimate (NaN), not converged, the error in ``problems``."""
    toy, label, n, replicate, method, data_seed, fit_seed, probs = args[:8]
    record: dict[str, Any] = {"toy": label, "n": n, "replicate": replicate, "method": method,
                              "data_seed": data_seed, "fit_seed": fit_seed, "truth": to_units(toy.mi, units),
                              "units": units, "mean": math.nan, "sd": math.nan}
    for prob in probs:
        label_p = prob_label(prob)
        record.update({f"lo{label_p}": math.nan, f"hi{label_p}": math.nan, f"covers{label_p}": False})
    return {**record, "converged": False, "problems": f"failed: {failure.message}", "wall_s": math.nan}


def run_validation(
    toys: Mapping[str, Toy] | Sequence[str],
    sizes: Sequence[int] = (200, 2000),
    methods: Sequence[str] = ("gibbs", "svi", "bootstrap"),
    replicates: int = 100,
    probs: Sequence[float] = (0.68, 0.95),
    seed: int = 0,
    progress: bool = True,
    options: FitOptions | None = None,
    *,
    executor: Executor | None = None,
    store: str | os.PathLike | None = None,
    on_error: Literal["record", "raise"] = "record",
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
    executor : a :class:`concurrent.futures.Executor` that runs the fits (one task each) in
        parallel: :class:`bayesmi.parallel.RayExecutor`, a Dask client's ``get_executor()``,
        :func:`bayesmi.parallel.process_pool`. None: one after another in this process. A fit
        depends only on its seeds, so the records are the same on any executor.
    store : path of a :class:`bayesmi.parallel.ResultStore` (SQLite): every finished fit is written
        as it completes, keyed by toy, N, replicate, method and a hash of the study's settings; a
        rerun with the same arguments fits only what the store lacks and returns the same records
        as an uninterrupted run.
    on_error : "record" (default): a fit that raises (or whose worker died more often than the
        engine retries) becomes a record with no estimate (NaN), ``converged`` False and the
        error in ``problems``, left out of :meth:`~ValidationResult.summary` and retried by a
        rerun with the same store (if every fit fails, the first error is raised); "raise": the
        first such error stops the study.

    Returns
    -------
    ValidationResult with one record per fit, in the order toy, N, replicate, method.
    ConvergenceWarnings of single fits are not shown but recorded (``converged``, ``problems``);
    one warning at the end counts them, and the failed fits.
    """
    toys = resolve_toys(toys)
    _check_options(sizes, methods, replicates, probs, seed)
    if on_error not in ("record", "raise"):
        raise ValueError(f"on_error must be 'record' or 'raise', got {on_error!r}")
    check_executor(executor)
    probs = tuple(float(p) for p in probs)
    estimate_kwargs.setdefault("pointwise_log_likelihood", False)
    settings = content_hash(seed, probs, options, estimate_kwargs)
    tasks = []
    for label, toy in toys.items():
        for n in map(int, sizes):
            for replicate in range(int(replicates)):
                data_seed, fit_seed = replicate_seeds(seed, label, n, replicate)
                for method in methods:
                    key = f"validation/{settings}/{content_hash(repr(toy))}/{label}/{n}/{replicate}/{method}"
                    tasks.append(Task(key, _fit_record, (toy, label, n, replicate, method, data_seed, fit_seed,
                                                         probs, options, estimate_kwargs)))
    bar = tqdm(total=len(tasks), disable=not progress, desc="fits", unit="fit")

    def advance(task: Task, _: Any) -> None:
        bar.set_postfix_str(f"{task.args[1]} N={task.args[2]} {task.args[4]}", refresh=False)
        bar.update()

    with bar:
        outcomes = run_tasks(tasks, executor, store=store, on_error=on_error, on_result=advance)
    failures = [outcome for outcome in outcomes.values() if isinstance(outcome, TaskFailure)]
    if failures and len(failures) == len(tasks):
        raise failures[0].error  # every fit failed: a setting is wrong, not a data set
    units = estimate_kwargs.get("units", "nats")
    table = pd.DataFrame([_failed_record(outcome, task.args, units) if isinstance(outcome, TaskFailure) else outcome
                          for task, outcome in zip(tasks, outcomes.values())])
    failed = len(failures)
    if unconverged := int((~table["converged"]).sum()) - failed:
        warnings.warn(f"{unconverged} of {len(table)} fits did not converge; see the converged and problems "
                      "columns of the records", ConvergenceWarning, stacklevel=find_stack_level())
    if failed:
        warnings.warn(f"{failed} of {len(table)} fits failed (their problems column holds the error) and are left "
                      "out of the summary; a rerun with the same store retries them", RuntimeWarning,
                      stacklevel=find_stack_level())
    return ValidationResult(table, probs)
