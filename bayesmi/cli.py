"""Command-line interface: ``bayesmi demo``, ``bayesmi estimate`` and ``bayesmi validate``.

``bayesmi demo`` samples a built-in toy with known mutual information and
reports the posterior of I(X;Y) next to the truth; ``bayesmi estimate FILE``
does the same for data read from a ``.csv`` or ``.npy`` file. Both print the
report built by :func:`format_report` (``estimate --json`` prints a JSON object
instead). ``bayesmi validate`` runs a coverage study
(:func:`bayesmi.validation.run_validation`) and prints its summary table.
Errors in the input print one ``bayesmi: error: ...`` line to stderr and give
exit status 2. Arguments and files are checked before the estimators (and JAX) are
imported, so a usage error answers at once.
"""

from __future__ import annotations

import argparse
import ast
import csv
import itertools
import json
import math
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesmi import toys
from bayesmi.options import FAMILIES, METHODS, SELECTION_CRITERIA
from bayesmi.results import ConvergenceWarning, MIResult
from bayesmi.util import UNITS

__all__ = ["main", "build_parser", "format_report", "result_to_dict", "load_table", "column_indices",
           "select_columns"]

PROG = "bayesmi"
EXIT_USAGE = 2


class CLIError(Exception):
    """A user error: reported as one ``bayesmi: error: ...`` line, exit status 2."""


# --------------------------------------------------------------------------- reporting


def _num(value: float, fmt: str = ".4f") -> str:
    return "nan" if value is None or not math.isfinite(value) else format(value, fmt)


def format_report(
    result: MIResult,
    *,
    n: int,
    source: str,
    wall_seconds: float | None = None,
    prob: float = 0.95,
) -> str:
    """Human-readable report of an MI posterior (shared by ``demo`` and ``estimate``).

    ``source`` describes the data (a toy or a file); when ``result.truth`` is set
    the true MI and whether the ``prob`` interval covers it are shown as well.
    """
    d = result.diagnostics
    u = result.units
    lo, hi = result.interval(prob)
    lines = [f"Data:          {source}"]
    if result.truth is not None:
        lines.append(f"True MI:       {result.truth:.4f} {u}")
    replicates = result.draws_kind == "replicates"
    spread = (f"bootstrap mean ± sd of {result.draws.size} replicates" if replicates
              else "posterior mean ± sd")
    lines += [
        f"Method:        {result.method}",
        f"N:             {n}",
        f"MI:            {_num(result.mean)} ± {_num(result.sd)} {u} ({spread})",
        f"{prob:.0%} interval:  [{_num(lo)}, {_num(hi)}] {u}" + (" (bootstrap percentiles)" if replicates else ""),
    ]
    if result.truth is not None:
        covered = lo <= result.truth <= hi
        lines.append(f"Covers truth:  {'yes' if covered else 'no'}")
    lines.append(f"Units:         {u}")
    if not replicates:  # R-hat and ESS describe posterior draws, not bootstrap replicates
        lines += [f"R-hat:         {_num(result.rhat, '.3f')}", f"ESS (bulk):    {_num(result.ess, '.0f')}"]
    if "n_components" in d:  # mixture fits (not the Dirichlet table of discrete data)
        lines += [f"Components:    {d['n_components']}" + (" Student-t" if d.get("family") == "student" else ""),
                  f"MC error:      {_num(result.mc_se, '.2g')} {u} (of the MI integral)"]
    if d.get("route", "joint") != "joint":  # estimate_mi took discrete data off the joint mixture
        lines.append(f"Route:         {d['route']}")
    if d.get("normal_scored_columns"):
        lines.append(f"Normal scores: {', '.join(d['normal_scored_columns'])} (non-normal margins)")
    if d.get("t_scored_columns"):
        lines.append(f"t scores:      {', '.join(d['t_scored_columns'])} (a t copula, {d['copula_dof']:g} dof, "
                     "fits the ranks)")
    if (check := result.check) is not None:
        verdict = "passed" if check.replicates_passed else "FAILED: the mixture does not reproduce the dependence"
        lines.append(f"Check:         {verdict} (predictive KSG check, p = {check.p_value:.2g})")
        if (independence := check.independence) is not None:
            verdict = ("FAILED: x ⟂ y fits better, yet the interval excludes 0" if independence.contradicted
                       else "passed")
            lines.append(f"Independence:  {verdict} (log Bayes factor of x ⟂ y {independence.log_bayes_factor:+.1f}, "
                         f"P = {independence.probability_independent:.2f}, BIC)")
    if result.converged:
        lines.append("Converged:     yes")
    else:
        lines.append("Converged:     no")
        lines += [f"  - {p}" for p in d.get("problems", [])]
    if wall_seconds is not None:
        timings = d.get("timings", {})
        parts = ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
        lines.append(f"Wall time:     {wall_seconds:.1f} s" + (f" ({parts})" if parts else ""))
    table = result.summary(prob).T.iloc[:, :1]
    table.columns = [f"mi [{u}]"]
    lines += ["", "Summary:", table.to_string(float_format=lambda v: f"{v:.4g}")]
    return "\n".join(lines)


def _json_number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None  # JSON has no NaN


def result_to_dict(result: MIResult, *, n: int) -> dict[str, Any]:
    """The JSON fields of ``estimate --json`` (non-finite numbers become null)."""
    lo, hi = result.interval(0.95)
    return {
        "mean": _json_number(result.mean),
        "sd": _json_number(result.sd),
        "interval_95": [_json_number(lo), _json_number(hi)],
        "units": result.units,
        "method": result.method,
        "draws": result.draws_kind,
        "rhat": _json_number(result.rhat),
        "ess": _json_number(result.ess),
        "converged": bool(result.converged),
        "check_passed": result.check_passed,
        "check_p": None if result.check is None else _json_number(result.check.p_value),
        "independence_log_bf": (None if result.check is None or result.check.independence is None
                                else _json_number(result.check.independence.log_bayes_factor)),
        "problems": list(result.diagnostics.get("problems", [])),
        "n_components": result.diagnostics["n_components"],
        "mc_se": _json_number(result.mc_se),
        "n": int(n),
    }


# --------------------------------------------------------------------------- data files


#: CSV lines read to decide whether the first line is a header.
HEADER_SNIFF_LINES = 50


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _is_integer(field: str) -> bool:
    return _is_number(field) and float(field).is_integer() and not any(c in field.lower() for c in ".e")


def looks_like_header(rows: list[list[str]]) -> bool:
    """Whether the first of the CSV ``rows`` (fields, first lines of a file) is a header.

    It is if a field is not a number, or if every field is an integer while a column below holds
    non-integer numbers: numeric column names, e.g. ``1,0`` above real-valued data.
    """
    first = [f.strip().strip('"').strip("'") for f in rows[0]]
    if any(f and not _is_number(f) for f in first):
        return True
    if not all(_is_integer(f) for f in first if f):
        return False
    below = [[f.strip() for f in row] for row in rows[1:]]
    return any(_is_number(field) and not _is_integer(field) for row in below for field in row[: len(first)])


def load_table(path: str | Path, delimiter: str = ",", header: bool | None = None) -> pd.DataFrame:
    """Read a ``.csv`` (header row optional) or 2-D ``.npy`` file as a DataFrame.

    ``header``: whether the CSV's first line names the columns; None decides by
    :func:`looks_like_header`. Without a header the columns are labelled 0, 1, ...; raises
    CLIError for a missing file, an unsupported extension or a malformed file.
    """
    path = Path(path)
    if not path.is_file():
        raise CLIError(f"no such file: {str(path)!r}")
    ext = path.suffix.lower()
    if ext == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise CLIError(f"cannot read {str(path)!r} as .npy: {exc}") from None
        if arr.ndim != 2:
            raise CLIError(f"{str(path)!r} must hold a 2-D array (rows, columns), got shape {arr.shape}")
        return pd.DataFrame(arr)
    if ext == ".csv":
        try:
            with path.open(newline="") as fh:
                rows = list(csv.reader(itertools.islice(fh, HEADER_SNIFF_LINES), delimiter=delimiter))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CLIError(f"cannot read {str(path)!r}: {exc}") from None
        if not rows or not any(f.strip() for f in rows[0]):
            raise CLIError(f"{str(path)!r} is empty")
        if header is None:
            header = looks_like_header(rows)
        try:
            table = pd.read_csv(path, sep=delimiter, header=0 if header else None, skipinitialspace=True)
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise CLIError(f"cannot parse {str(path)!r} as CSV: {exc}") from None
        if header:
            table.columns = [str(c).strip() for c in table.columns]
        return table
    raise CLIError(f"unsupported file extension {path.suffix or '(none)'!r} for {str(path)!r}; use .csv or .npy")


_INDEX = re.compile(r"^(\d+)$")
_RANGE = re.compile(r"^(\d+)\s*-\s*(\d+)$")


def column_indices(table: pd.DataFrame, spec: str, option: str) -> list[int]:
    """0-based positions of the columns of ``table`` named by ``spec``.

    ``spec`` is a comma-separated list of column names (when the file has a
    header), 0-based indices, or inclusive index ranges like ``0-2``; a name
    that is also a header entry wins over its reading as an index.
    """
    names = [str(c) for c in table.columns]
    has_names = not all(isinstance(c, (int, np.integer)) for c in table.columns)
    picked: list[int] = []
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            raise CLIError(f"{option}: empty column in {spec!r}")
        if has_names and token in names:
            if names.count(token) > 1:
                raise CLIError(f"{option}: column name {token!r} is ambiguous (it appears {names.count(token)} times)")
            picked.append(names.index(token))
            continue
        if m := _INDEX.match(token):
            idx = [int(m.group(1))]
        elif m := _RANGE.match(token):
            a, b = int(m.group(1)), int(m.group(2))
            if b < a:
                raise CLIError(f"{option}: empty range {token!r}")
            idx = list(range(a, b + 1))
        else:
            known = f"; columns are {names}" if has_names else " (the file has no header: use 0-based indices)"
            raise CLIError(f"{option}: unknown column {token!r}{known}")
        for i in idx:
            if i >= table.shape[1]:
                raise CLIError(f"{option}: column index {i} out of range (the file has {table.shape[1]} columns)")
        picked += idx
    if len(set(picked)) != len(picked):
        raise CLIError(f"{option}: a column is listed twice in {spec!r}")
    return picked


def select_columns(table: pd.DataFrame, picked: list[int], option: str) -> np.ndarray:
    """Columns ``picked`` (positions) of ``table`` as a float64 (n, d) array; empty cells become NaN."""
    try:
        return table.iloc[:, picked].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        for i in picked:
            col = table.iloc[:, i]
            if pd.to_numeric(col, errors="coerce").isna().sum() > col.isna().sum():
                raise CLIError(f"{option}: column {str(table.columns[i])!r} holds non-numeric values") from None
        raise CLIError(f"{option}: columns hold non-numeric values") from None


# --------------------------------------------------------------------------- argument parsing


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _components(text: str) -> int | str:
    return "auto" if text == "auto" else _positive_int(text)


def _param(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        parsed = value.strip()  # a bare string, e.g. fx=log
    return key.strip(), parsed


def _add_estimation_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", choices=METHODS, default="gibbs", help="inference method (default: gibbs)")
    _add_fit_options(p)


def _add_fit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--units", choices=sorted(UNITS), default="nats", help="units of MI (default: nats)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--components", type=_components, default="auto", metavar="K",
                   help="number of mixture components, or 'auto' to choose by --select-by (default: auto)")
    p.add_argument("--family", choices=FAMILIES, default="auto",
                   help="mixture components: gaussian, student (multivariate t, each with its own degrees of "
                        "freedom; gibbs only), or auto: one t component where a t copula fits the ranks of x and y "
                        "better than a Gaussian one and one t beats two, Gaussian ones otherwise (default: auto)")
    p.add_argument("--select-by", choices=SELECTION_CRITERIA, default=None,
                   help="how 'auto' chooses K: BIC, AIC or 2-fold cross-validated likelihood (default: cv for the "
                        "bootstrap, bic otherwise)")
    p.add_argument("--chains", type=_positive_int, default=4, help="number of chains (default: 4)")
    p.add_argument("--warmup", type=_positive_int, default=500, help="warmup iterations per chain (default: 500)")
    p.add_argument("--samples", type=_positive_int, default=1000, help="posterior draws per chain (default: 1000)")
    p.add_argument("--transform", choices=("auto", "none", "normal_scores", "flow"), default="auto",
                   help="maps before the joint mixture: normal scores of the non-normal columns (auto; with --family "
                        "student, t scores of all columns where a t copula fits their ranks better), of all "
                        "(normal_scores), none, or normal scores then MIENF flows trained on half the rows "
                        "(flow; x or y of 2+ dimensions) (default: auto)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    p.add_argument("--no-cache", dest="cache", action="store_false",
                   help="do not keep compiled programs on disk between runs (default: kept in the user's cache "
                        "directory, or $BAYESMI_CACHE_DIR, so a second run skips compilation)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Bayesian mutual-information estimation with Gaussian mixtures."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="estimate MI on a built-in toy with known MI",
                          description="Sample a built-in toy distribution, estimate its MI and compare with the truth.")
    demo.add_argument("--toy", choices=sorted(toys.TOYS), default="gaussian", help="toy name (default: gaussian)")
    demo.add_argument("--n", type=_positive_int, default=2000, help="number of samples (default: 2000)")
    demo.add_argument("--param", type=_param, action="append", default=[], metavar="KEY=VALUE",
                      help="toy constructor argument, e.g. rho=0.5 (repeatable; default toy: gaussian rho=0.75)")
    _add_estimation_options(demo)
    demo.set_defaults(run=_run_demo)

    est = sub.add_parser("estimate", help="estimate MI between columns of a .csv or .npy file",
                         description="Estimate I(X;Y) between column groups of a .csv (header optional) "
                                     "or 2-D .npy file.")
    est.add_argument("file", metavar="FILE", help=".csv or .npy file")
    est.add_argument("--x", required=True, metavar="COLS",
                     help="columns of X: names (CSV with header) or 0-based indices; lists and ranges like 0-2")
    est.add_argument("--y", required=True, metavar="COLS", help="columns of Y, as for --x")
    est.add_argument("--delimiter", default=",", help="CSV field delimiter (default: ',')")
    est.add_argument("--json", action="store_true", help="print a JSON object instead of the report")
    est.add_argument("--y-type", choices=("auto", "continuous", "categorical"), default="auto",
                     help="categorical: the one --y column holds class labels (any values); continuous: a joint "
                          "mixture even for discrete columns; auto: discrete columns (few repeated values) are "
                          "estimated as such (default: auto)")
    header = est.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_true", default=None,
                        help="the CSV's first line names the columns (default: detected)")
    header.add_argument("--no-header", dest="header", action="store_false",
                        help="the CSV's first line is data (default: detected)")
    _add_estimation_options(est)
    est.set_defaults(run=_run_estimate)

    val = sub.add_parser(
        "validate", help="coverage study of the methods' intervals on toys with known MI",
        description="Fit every method to REPLICATES data sets of every toy at every sample size and "
                    "print bias, RMSE, interval widths and empirical coverage (with a 95% Clopper-Pearson "
                    "band) per toy, N and method. The defaults are a small study of a few minutes.")
    val.add_argument("--toys", default="gaussian,student", metavar="NAMES",
                     help=f"comma-separated toys: {', '.join(toys.STUDY_TOYS)} or a bayesmi.toys name "
                          "(default: gaussian,student)")
    val.add_argument("--suite", action="store_true",
                     help=f"study the {len(toys.SUITE)} toys of the Beyond-Normal-style benchmark suite "
                          "(bayesmi.toys.SUITE) instead of --toys")
    val.add_argument("--n", default="200", metavar="SIZES", help="comma-separated sample sizes (default: 200)")
    val.add_argument("--replicates", type=_positive_int, default=20,
                     help="data sets per toy and size (default: 20)")
    val.add_argument("--methods", default="gibbs,svi", metavar="METHODS",
                     help=f"comma-separated methods from {', '.join(METHODS)} (default: gibbs,svi)")
    val.add_argument("--probs", default="0.68,0.95", metavar="PROBS",
                     help="comma-separated probabilities of the central intervals scored (default: 0.68,0.95)")
    val.add_argument("--out", metavar="FILE", help="also write the summary table to this CSV file")
    val.add_argument("--records", metavar="FILE", help="also write the per-fit records to this CSV file")
    val.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    val.add_argument("--store", metavar="FILE",
                     help="SQLite file that keeps every finished fit; rerun the same command to resume a study "
                          "that stopped")
    val.add_argument("--workers", type=_positive_int, default=1,
                     help="fit in this many local worker processes (default: 1, in this process)")
    val.add_argument("--y-type", choices=("auto", "continuous", "categorical"), default="auto",
                     help="categorical: y holds class labels, e.g. --toys class_conditional_gaussian; auto: "
                          "discrete toys are estimated as discrete (default: auto)")
    _add_fit_options(val)
    val.set_defaults(run=_run_validate)
    return parser


def _version() -> str:
    from bayesmi import __version__

    return __version__


# --------------------------------------------------------------------------- commands


def _start_jax(args: argparse.Namespace) -> None:
    """Turn on the persistent compilation cache unless ``--no-cache`` (called only once the arguments
    are checked and a fit will run, so usage errors never load JAX)."""
    if args.cache:
        from bayesmi.runtime import enable_compilation_cache

        enable_compilation_cache()


def _estimate(x: np.ndarray, y: np.ndarray, args: argparse.Namespace, truth: float | None = None,
              y_type: str = "auto") -> tuple[MIResult, float]:
    """Run estimate_mi with the common options; returns the result and wall seconds.

    Warnings other than ConvergenceWarning (whose problems the report lists) go
    to stderr as one line each; ValueError / TypeError become CLIError.
    """
    _start_jax(args)
    from bayesmi.estimators import estimate_mi

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = estimate_mi(
                x, y, y_type=y_type, method=args.method, num_components=args.components, select_by=args.select_by,
                family=args.family,
                num_chains=args.chains, num_warmup=args.warmup, num_samples=args.samples, units=args.units, truth=truth,
                seed=args.seed, progress=args.progress, transform=args.transform,
            )
        except (ValueError, TypeError) as exc:
            raise CLIError(str(exc)) from None
    wall = time.perf_counter() - start
    _print_warnings(caught, ignore=(ConvergenceWarning, DeprecationWarning))
    return result, wall


def _print_warnings(caught: list[warnings.WarningMessage], ignore: tuple[type[Warning], ...]) -> None:
    """Each distinct warning message not of an ``ignore`` category, once, as one stderr line."""
    messages = [_one_line(str(w.message)) for w in caught if not issubclass(w.category, ignore)]
    for message in dict.fromkeys(messages):
        print(f"{PROG}: warning: {message}", file=sys.stderr)


def _run_demo(args: argparse.Namespace) -> int:
    kwargs = dict(args.param)
    try:
        toy = toys.get(args.toy, **kwargs)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"cannot build toy {args.toy!r}: {exc}") from None
    x, y = toy.sample(args.n, seed=args.seed)
    result, wall = _estimate(x, y, args, truth=toy.mi)
    settings = ", ".join(f"{k}={v!r}" for k, v in toy.params().items())
    print(format_report(result, n=args.n, source=f"toy {toy.name}({settings})", wall_seconds=wall))
    return 0


def _run_estimate(args: argparse.Namespace) -> int:
    table = load_table(args.file, args.delimiter, args.header)
    ix = column_indices(table, args.x, "--x")
    iy = column_indices(table, args.y, "--y")
    if shared := sorted(set(ix) & set(iy)):
        labels = [str(table.columns[i]) for i in shared]
        raise CLIError(f"--x and --y share column(s) {labels}; they must be disjoint")
    x = select_columns(table, ix, "--x")
    if args.y_type == "categorical":
        if len(iy) != 1:
            raise CLIError(f"--y: --y-type categorical takes one column of class labels, got {len(iy)}")
        y = table.iloc[:, iy[0]].to_numpy()
    else:
        y = select_columns(table, iy, "--y")
    result, wall = _estimate(x, y, args, y_type=args.y_type)
    n = x.shape[0]
    if args.json:
        print(json.dumps(result_to_dict(result, n=n), indent=2))
    else:
        named = not all(isinstance(c, (int, np.integer)) for c in table.columns)
        source = f"{args.file} (x: {args.x}; y: {args.y}{'; first line read as column names' if named else ''})"
        print(format_report(result, n=n, source=source, wall_seconds=wall))
    return 0


def _split(text: str, option: str) -> list[str]:
    """The items of a comma-separated option value; CLIError for an empty item or a repeat."""
    items = [t.strip() for t in text.split(",")]
    if not all(items):
        raise CLIError(f"{option}: empty item in {text!r}")
    if len(set(items)) != len(items):
        raise CLIError(f"{option}: an item is listed twice in {text!r}")
    return items


def _parse_list(text: str, option: str, parse: Callable[[str], Any], what: str) -> list[Any]:
    """``parse`` applied to every item of ``text``; CLIError naming ``what`` was expected."""
    values = []
    for item in _split(text, option):
        try:
            values.append(parse(item))
        except (ValueError, argparse.ArgumentTypeError):
            raise CLIError(f"{option}: expected {what}, got {item!r}") from None
    return values


def _probability(text: str) -> float:
    p = float(text)
    if not 0 < p < 1:
        raise ValueError(text)
    return p


def _check_writable(path: str | None, option: str) -> None:
    if path is not None and not Path(path).resolve().parent.is_dir():
        raise CLIError(f"{option}: directory of {path!r} does not exist")


def _run_validate(args: argparse.Namespace) -> int:
    names = list(toys.SUITE) if args.suite else _split(args.toys, "--toys")
    methods = _split(args.methods, "--methods")
    sizes = _parse_list(args.n, "--n", _positive_int, "a positive integer")
    probs = _parse_list(args.probs, "--probs", _probability, "a probability in (0, 1)")
    _check_writable(args.out, "--out")
    _check_writable(args.records, "--records")
    _check_writable(args.store, "--store")
    _start_jax(args)
    from bayesmi.parallel import process_pool
    from bayesmi.runtime import compilation_cache_dir
    from bayesmi.studies.validation import run_validation

    # Worker processes share the compilation cache of this one (each still compiles what it lacks).
    executor = (process_pool(args.workers, compilation_cache=compilation_cache_dir() if args.cache else None)
                if args.workers > 1 else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = run_validation(
                names, sizes=sizes, methods=methods, replicates=args.replicates, probs=probs, seed=args.seed,
                progress=args.progress, executor=executor, store=args.store, num_components=args.components,
                select_by=args.select_by, family=args.family,
                num_chains=args.chains, num_warmup=args.warmup, num_samples=args.samples, units=args.units,
                y_type=args.y_type, transform=args.transform,
            )
        except (ValueError, TypeError) as exc:  # run_validation checks every setting before fitting
            raise CLIError(str(exc)) from None
        finally:
            if executor is not None:
                executor.shutdown(cancel_futures=True)
    # Single fits' ConvergenceWarnings are silenced by run_validation; its final count is shown.
    _print_warnings(caught, ignore=(DeprecationWarning,))
    summary = result.summary()
    if args.records:
        result.records.to_csv(args.records, index=False)
    if args.out:
        summary.to_csv(args.out, index=False)
    if args.json:
        print(summary.to_json(orient="records", indent=2))
    else:
        print(f"Coverage study: {len(names)} toy(s) x {len(sizes)} size(s) x {args.replicates} replicates "
              f"x {len(methods)} method(s) = {len(result.records)} fits; MI in {args.units}, "
              "coverage band: 95% Clopper-Pearson")
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bayesmi`` command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (argparse already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return args.run(args)
    except CLIError as exc:
        print(f"{PROG}: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
