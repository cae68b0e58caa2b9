"""Matrices of mutual information between the columns of two data sets, every cell a posterior.

``mi_matrix(A, B)`` estimates I(A_i; B_j) for every column A_i of A and B_j of B, e.g. the
generative factors of images against the latents of a VAE trained on them (disentanglement,
as in the GMM-MI paper's representation-learning section). A cell's model depends on the
kinds of its two columns:

- continuous × continuous: the Bayesian Gaussian mixture of :func:`bayesmi.estimate_mi` on
  the standardised pair, K chosen by BIC, MI per posterior draw (a cell fitted by one Gaussian
  gets its exactly known dimension bias removed, :mod:`bayesmi.estimators.gaussian_bias`);
- continuous × categorical: one mixture of the continuous column per class plus a Dirichlet
  posterior on the class probabilities, as ``estimate_mi(..., y_type="categorical")``;
- categorical × categorical: the Dirichlet posterior of the contingency table
  (:func:`bayesmi.discrete.pairwise_mutual_information`).

Fitting hundreds of small mixtures one after another would cost a compilation and a Python
round trip each. Every mixture of the same dimension is one set of a batch of the one fit path
(:func:`bayesmi.fitting.fit_mixtures`): EM runs vmapped over all data sets for each K, and one
compiled Gibbs program samples every data set and chain at once, data sets of different sizes
padded with masked rows and mixtures of different K with zero-weight components. The MI
integrals of all cells then run as one vmapped computation, and every cell is diagnosed with
its driver's own checks, as :func:`bayesmi.estimate_mi` is. NUTS and SVI fit the sets of a batch
one after another (use ``cells`` to refit the cells that matter); the bootstrap is batched.
Large matrices split into tasks of ``cells_per_task`` cells, one batch each, that an
``executor`` runs in parallel (:mod:`bayesmi.parallel`) and a ``store`` keeps as they finish.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any, Literal

import jax
import numpy as np

from bayesmi.diagnostics import diagnose
from bayesmi.estimators.categorical import (
    DEFAULT_CLASS_CONCENTRATION,
    check_class_sizes,
    class_probability_draws,
)
from bayesmi.estimators.discrete import pairwise_mutual_information
from bayesmi.estimators.gaussian_bias import recentred_draws
from bayesmi.fitting import MixtureBatch, fit_mixtures, integrate
from bayesmi.inputs import (
    check_aligned,
    check_nondegenerate,
    encode_labels,
    prepare_variables,
)
from bayesmi.mixture import categorical_mutual_information, mutual_information
from bayesmi.options import FitOptions
from bayesmi.parallel import Task, check_executor, content_hash, run_tasks
from bayesmi.results import ConvergenceWarning, MIMatrix
from bayesmi.util import Progress, check_int, find_stack_level, format_values, pandas_object, to_units

__all__ = ["KINDS", "MATRIX_OPTIONS", "mi_matrix", "normal_scores"]

KINDS = ("continuous", "categorical")
Kind = Literal["auto", "continuous", "categorical"]
#: The fit settings of a matrix unless given: ``max_components`` 6 (pairs of scalar columns rarely
#: need more, and a batch pays for the largest K of any cell) and 4 × 250 Gibbs draws after 200
#: warmup sweeps per cell (an ESS of several hundred for MI: mean and sd to about 5%).
MATRIX_OPTIONS = FitOptions(max_components=6, num_warmup=200, num_samples=250)


@dataclass
class _Column:
    """One variable: its name, kind, and the standardised values or normal scores (continuous)
    or integer codes and class labels (categorical)."""

    name: Any
    kind: str
    values: np.ndarray
    classes: np.ndarray | None = None


def _split_columns(data: Any, label: str, kinds: Kind | Sequence[str]) -> tuple[list[Any], list[np.ndarray], list[str]]:
    """Names, raw 1-D arrays and kinds of the columns of ``data`` (DataFrame, (N, n) or (N,) array)."""
    if pandas_object(data) and data.ndim == 1:
        data = data.to_frame()
    if pandas_object(data):
        names, arrays = list(data.columns), [data[c].to_numpy() for c in data.columns]
    else:
        arr = np.asarray(data)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[1] == 0:
            raise ValueError(f"{label} must be a DataFrame or an array of shape (N,) or (N, n_columns), "
                             f"got shape {arr.shape}")
        names, arrays = [f"{label}{j}" for j in range(arr.shape[1])], list(arr.T)
    if isinstance(kinds, str):
        kinds = [kinds] * len(names)
    kinds = list(kinds)
    if len(kinds) != len(names):
        raise ValueError(f"{label}_kinds has {len(kinds)} entries for {len(names)} columns of {label}")
    resolved = []
    for name, a, kind in zip(names, arrays, kinds):
        if kind == "auto":
            kind = "continuous" if a.dtype.kind == "f" else "categorical"
        if kind not in KINDS:
            raise ValueError(f"kind of {label} column {name!r} must be 'auto' or one of {KINDS}, got {kind!r}")
        resolved.append(kind)
    return names, arrays, resolved


def normal_scores(values: np.ndarray) -> np.ndarray:
    """Φ⁻¹((rank − ½) / N) of each value (N,): a monotone map of the column onto N(0, 1) quantiles."""
    import scipy.stats

    ranks = scipy.stats.rankdata(values, method="average")
    return scipy.stats.norm.ppf((ranks - 0.5) / values.size)


def _prepare(sides: list[tuple[str, list[Any], list[np.ndarray], list[str]]], jitter_ties: bool,
             use_normal_scores: bool, seed: int) -> list[list[_Column]]:
    """Validate and encode every column of every side: one call of :func:`prepare_variables` for
    the continuous ones (finite, non-constant, enough rows; heavy ties jittered), then their
    standardised values or normal scores; codes for the categorical ones (at least 2 classes)."""
    continuous = {f"{label}[{name}]": a for label, names, arrays, kinds in sides
                  for name, a, kind in zip(names, arrays, kinds) if kind == "continuous"}
    lengths = {len(a) for _, _, arrays, _ in sides for a in arrays}
    if len(lengths) > 1:
        raise ValueError(f"the columns have different lengths {sorted(lengths)}; rows of A and B must be paired")
    standardised = iter(prepare_variables(continuous, jitter_ties=jitter_ties, seed=seed, joint_dependence=False)[0]
                        if continuous else ())
    out = []
    for label, names, arrays, kinds in sides:
        cols = []
        for name, a, kind in zip(names, arrays, kinds):
            if kind == "continuous":
                z = next(standardised)[:, 0]
                z = normal_scores(z) if use_normal_scores else z
                cols.append(_Column(name, kind, z.astype(np.float32)))
            else:
                codes, [classes], _ = encode_labels(a, f"{label}[{name}]")
                if classes.size < 2:
                    raise ValueError(f"categorical column {name!r} of {label} has a single class "
                                     f"({format_values(classes)}); its MI with anything is 0; drop it.")
                cols.append(_Column(name, kind, codes[:, 0], classes))
        out.append(cols)
    return out


def _cells(n_rows: int, n_cols: int, symmetric: bool, cells: Sequence[tuple[int, int]] | None) -> list[tuple[int, int]]:
    """The (row, column) cells to estimate: ``cells`` if given (checked), else all, or the upper
    triangle without the diagonal for a matrix of a data set with itself."""
    if cells is None:
        return [(i, j) for i in range(n_rows) for j in range(n_cols) if not symmetric or i < j]
    out = []
    for cell in cells:
        i, j = (int(c) for c in cell)
        if not (0 <= i < n_rows and 0 <= j < n_cols):
            raise ValueError(f"cell {cell!r} is outside the {n_rows} x {n_cols} matrix")
        if symmetric and i == j:
            raise ValueError(f"cell {cell!r} is on the diagonal: I(X;X) is the entropy of X (infinite for a "
                             "continuous X) and is not estimated")
        out.append((min(i, j), max(i, j)) if symmetric else (i, j))
    return sorted(set(out))


@dataclass
class _CellDraws:
    """MI draws (cells, chains, draws) in nats of the mixture cells, with per cell the MC s.e., K, the
    driver's own problems, and the batches' Info type and timings."""

    values: np.ndarray
    mc_se: np.ndarray
    n_components: list[Any]
    intrinsic: list[list[str]]
    info_type: type
    timings: dict[str, float]


def _add_timings(timings: dict[str, float], batch: MixtureBatch, integral_seconds: float) -> None:
    for name, seconds in (*batch.timings.items(), ("integral", integral_seconds)):
        timings[name] = timings.get(name, 0.0) + seconds


def _mixture_cells(pairs: list[tuple[_Column, _Column]], options: FitOptions, class_concentration: float,
                   seed: int, task: int, progress: Progress | None = None) -> _CellDraws:
    """Posterior MI draws of the mixture cells of task number ``task``: one batch for the joint
    (continuous × continuous) cells, one for the classes of the continuous × categorical cells.
    The random keys are ``seed``'s with ``task`` folded in; the QMC points are ``seed``'s in every
    task (common random numbers for all cells, as in one batch)."""
    progress = Progress(False, "") if progress is None else progress
    key = jax.random.fold_in(jax.random.key(seed), task)
    joint = [c for c, (_, b) in enumerate(pairs) if b.kind == "continuous"]
    per_class = [c for c, (_, b) in enumerate(pairs) if b.kind == "categorical"]
    values: dict[int, np.ndarray] = {}
    mc_se, k_cell, intrinsic = np.full(len(pairs), np.nan), [None] * len(pairs), [[] for _ in pairs]
    timings: dict[str, float] = {}
    info_type: type | None = None
    if joint:
        sets = [np.column_stack([pairs[c][0].values, pairs[c][1].values]) for c in joint]
        batch = fit_mixtures(sets, options, jax.random.fold_in(key, 2), progress)
        integral = integrate(mutual_information, (batch.params,), (1,), options, seed, "I(A;B)", progress)
        problems = batch.info.problems()
        for s, c in enumerate(joint):
            values[c], mc_se[c], k_cell[c], intrinsic[c] = (integral.values[s], integral.mc_se[s],
                                                            int(batch.n_components[s]), problems[s])
            # One Gaussian: its known dimension bias removed, as estimate_mi does (that formula is not a t's).
            if k_cell[c] == 1 and options.family != "student":
                values[c] = recentred_draws(values[c], sets[s], 1)[0]
        _add_timings(timings, batch, integral.seconds)
        info_type = type(batch.info)
    if per_class:
        sets, owners = [], []
        for c in per_class:
            a, y = pairs[c]
            for label in range(y.classes.size):
                sets.append(a.values[y.values == label][:, None])
                owners.append(c)
        batch = fit_mixtures(sets, options, jax.random.fold_in(key, 1), progress)
        owners = np.asarray(owners)
        problems = batch.info.problems()
        lead = batch.params.weights.shape[1:3]
        integral_seconds = 0.0
        # Cells whose categorical column has the same number of classes share one vmapped integral.
        for n_classes in sorted({pairs[c][1].classes.size for c in per_class}):
            group = [c for c in per_class if pairs[c][1].classes.size == n_classes]
            slots = np.stack([np.flatnonzero(owners == c) for c in group])  # (cells, classes)
            class_params = tuple(jax.tree.map(lambda a, s=slots[:, j]: a[s], batch.params) for j in range(n_classes))
            counts = np.stack([np.bincount(pairs[c][1].values, minlength=n_classes) for c in group])
            probs = class_probability_draws(counts, lead, type(batch.info).DRAWS, class_concentration,
                                            jax.random.fold_in(key, 1000 + n_classes))
            integral = integrate(categorical_mutual_information, (probs, class_params), (), options, seed,
                                 "I(A;B)", progress)
            integral_seconds += integral.seconds
            for g, (c, s) in enumerate(zip(group, slots)):
                values[c], mc_se[c] = integral.values[g], integral.mc_se[g]
                k_cell[c] = tuple(int(k) for k in batch.n_components[s])
                intrinsic[c] = sorted({p for i in s for p in problems[i]})
        _add_timings(timings, batch, integral_seconds)
        info_type = type(batch.info)
    stacked = np.stack([values[c] for c in range(len(pairs))])
    return _CellDraws(stacked, mc_se, k_cell, intrinsic, info_type, timings)


def _fit_in_tasks(pairs: list[tuple[_Column, _Column]], options: FitOptions, class_concentration: float, seed: int,
                  cells_per_task: int | None, executor: Executor | None, store: str | os.PathLike | None,
                  progress: Progress) -> _CellDraws:
    """:func:`_mixture_cells` over consecutive pieces of ``cells_per_task`` cells (None: one piece),
    in this process or on ``executor``, each piece's draws written to ``store`` as it finishes."""
    size = len(pairs) if cells_per_task is None else cells_per_task
    quiet = replace(options, progress=False)
    tasks = []
    for task, start in enumerate(range(0, len(pairs), size)):
        args = (pairs[start: start + size], quiet, class_concentration, seed, task)
        tasks.append(Task(f"mi_matrix/{content_hash(*args)}", _mixture_cells, args,
                          {"progress": progress} if executor is None else {}))
    if executor is not None:
        if cells_per_task is None and len(pairs) > 1:
            warnings.warn(f"mi_matrix: the {len(pairs)} mixture cells are one task (cells_per_task=None), so the "
                          "executor fits them all on one worker; pass cells_per_task to spread them",
                          UserWarning, stacklevel=find_stack_level())
        progress.stage(f"{len(tasks)} tasks on {type(executor).__name__}", len(tasks))
    parts = list(run_tasks(tasks, executor, store=store,
                           on_result=None if executor is None else lambda *_: progress.update()).values())
    timings: dict[str, float] = {}
    for part in parts:
        for name, seconds in part.timings.items():
            timings[name] = timings.get(name, 0.0) + seconds
    return _CellDraws(np.concatenate([p.values for p in parts]), np.concatenate([p.mc_se for p in parts]),
                      [k for p in parts for k in p.n_components], [x for p in parts for x in p.intrinsic],
                      parts[0].info_type, timings)


def mi_matrix(
    A: Any,
    B: Any = None,
    *,
    a_kinds: Kind | Sequence[str] = "auto",
    b_kinds: Kind | Sequence[str] = "auto",
    cells: Sequence[tuple[int, int]] | None = None,
    options: FitOptions | None = None,
    class_concentration: float = DEFAULT_CLASS_CONCENTRATION,
    use_normal_scores: bool = True,
    dims: tuple[str, str] = ("A", "B"),
    units: Literal["nats", "bits"] = "nats",
    jitter_ties: bool = True,
    seed: int = 0,
    executor: Executor | None = None,
    cells_per_task: int | None = None,
    store: str | os.PathLike | None = None,
    **fit_options: Any,
) -> MIMatrix:
    """Posterior of I(A_i; B_j) for every column A_i of A and B_j of B.

    Parameters
    ----------
    A, B : DataFrame or array (N, n_a) / (N, n_b), or (N,) for one column
        Paired rows (DataFrames must have equal indexes). ``B=None`` gives the matrix of A with
        itself: the upper triangle is estimated and mirrored, the diagonal (I(X;X) = H(X), infinite
        for continuous X) is NaN. Names come from DataFrame columns, else "A0", "A1", … / "B0", ….
    a_kinds, b_kinds : "auto", "continuous", "categorical", or one per column
        "auto": float columns are continuous, any other dtype (int, bool, str, category)
        categorical (class labels).
    cells : (i, j) index pairs to estimate; the others are NaN. Default: every cell.
    options : :class:`~bayesmi.FitOptions` of every cell's mixture; default :data:`MATRIX_OPTIONS`
        (``max_components`` 6, 200 warmup sweeps and 4 × 250 draws per cell; raise them for the
        cells that matter).
    **fit_options : fields of :class:`~bayesmi.FitOptions` given directly (e.g. ``method="nuts"``,
        ``num_samples=500``, ``progress=False``); they override ``options``.
    class_concentration : Dirichlet prior concentration of class probabilities (Jeffreys 1/2).
    use_normal_scores : fit each continuous column's normal scores Φ⁻¹((rank − ½)/N) instead of
        its standardised values. MI is unchanged by a monotone map of each variable, and
        Gaussian marginals need far fewer mixture components: a uniform factor (position,
        scale) needs K ≈ 6 on its own scale, where the large K also mixes slowly when the MI is
        near 0, and one component after the map when it is independent of its partner. The
        posterior then conditions on the empirical marginals, whose estimation error is of
        smaller order for MI. False fits the standardised values, as :func:`estimate_mi` does.
    dims : names of the row and column axes of the result.
    units : "nats" (default) or "bits".
    jitter_ties : jitter continuous columns with heavy ties (e.g. ReLU units at 0) instead of
        raising; see :func:`bayesmi.estimate_mi`.
    seed : seed of every random step (same seed, same matrix).
    executor : a :class:`concurrent.futures.Executor` that fits the tasks (``cells_per_task`` mixture
        cells each) in parallel: :class:`bayesmi.parallel.RayExecutor`, a Dask client's
        ``get_executor()``, :func:`bayesmi.parallel.process_pool`. None: in this process.
    cells_per_task : mixture cells per task, consecutive in row-major order (None: all in one
        task, one batch). A cell's draws depend on the seed, its data and its task (the task's
        number and cells), never on the executor: the same ``seed`` and ``cells_per_task`` give
        the same matrix in this process and on any number of workers. Each task pays a batch's
        fixed costs (10 x 10 cells at N = 1000, compiled: tasks of 25 cells take ~1.5x the CPU
        time of one batch, tasks of 50 about the same), and tasks of equal shapes reuse a
        worker's compiled programs.
    store : path of a :class:`bayesmi.parallel.ResultStore` (SQLite) that keeps each finished task;
        a rerun with the same arguments fits only the tasks it lacks.

    Returns
    -------
    MIMatrix
        ``draws`` (n_draws, n_a, n_b) in ``units`` with ``.mean``, ``.sd``, ``.interval(prob)``,
        ``.to_frame()`` and ``.plot()``; ``diagnostics`` holds per-cell arrays (n_a, n_b):
        "kind" ("mixture" / "categorical" / "dirichlet" / ""), "n_components", "rhat", "ess_bulk",
        "ess_tail", "mc_se", "problems" ("; "-joined) and "converged", plus "timings" in seconds
        ("em", "sampling", "integral" summed over the tasks, wherever they ran; "total" wall time).
        A cell fails when its draws fail the checks of its method (R-hat ≤ 1.01 and ESS ≥ 100 per
        chain for Markov chains, divergences for NUTS, an unsettled ELBO for SVI, EM refits at their
        limit for the bootstrap); one ConvergenceWarning names the failing cells and
        ``result.converged`` is False.
    """
    start = time.perf_counter()
    options = FitOptions.resolve(options if options is not None else MATRIX_OPTIONS, **fit_options)
    to_units(1.0, units)
    check_executor(executor)
    if cells_per_task is not None:
        cells_per_task = check_int(cells_per_task, "cells_per_task", 1)
    symmetric = B is None
    if not symmetric:
        check_aligned({"A": A, "B": B})
    a_side = ("A", *_split_columns(A, "A", a_kinds))
    b_side = a_side if symmetric else ("B", *_split_columns(B, "B", b_kinds))
    prepared = _prepare([a_side] if symmetric else [a_side, b_side], jitter_ties, use_normal_scores, seed)
    rows_, cols_ = (prepared[0], prepared[0]) if symmetric else prepared
    todo = _cells(len(rows_), len(cols_), symmetric, cells)

    # Orient every mixture cell as (continuous, partner); categorical x categorical cells are tables.
    mixture_cells, table_cells = [], []
    for i, j in todo:
        a, b = rows_[i], cols_[j]
        if a.kind == b.kind == "categorical":
            table_cells.append((i, j))
            continue
        pair = (a, b) if a.kind == "continuous" else (b, a)
        if pair[1].kind == "categorical":
            labels = pair[1]
            check_class_sizes(np.bincount(labels.values, minlength=labels.classes.size), labels.classes,
                              f"categorical column {labels.name!r}", f"to fit a mixture of {pair[0].name!r} per class")
        else:
            check_nondegenerate({f"{dims[0]}[{rows_[i].name!r}]": rows_[i].values[:, None],
                                 f"{dims[1]}[{cols_[j].name!r}]": cols_[j].values[:, None]})
        mixture_cells.append(((i, j), pair))

    shape = (len(rows_), len(cols_))
    diag: dict[str, np.ndarray] = {"kind": np.full(shape, "", dtype=object),
                                   "n_components": np.full(shape, None, dtype=object),
                                   **{k: np.full(shape, np.nan) for k in ("rhat", "ess_bulk", "ess_tail", "mc_se")},
                                   "problems": np.full(shape, "", dtype=object), "converged": np.ones(shape, bool)}
    timings: dict[str, float] = {}
    draws: np.ndarray | None = None
    with Progress(options.progress, f"mi_matrix ({options.method})") as progress:
        if mixture_cells:
            found = _fit_in_tasks([pair for _, pair in mixture_cells], options, class_concentration, seed,
                                  cells_per_task, executor, store, progress)
            checks = diagnose(found.values, found.info_type, found.intrinsic, "I(A;B)")
            timings.update(found.timings)
            draws = np.full((found.values[0].size,) + shape, np.nan)
            for c, ((i, j), (_, partner)) in enumerate(mixture_cells):
                draws[:, i, j] = found.values[c].reshape(-1)
                diag["kind"][i, j] = "categorical" if partner.kind == "categorical" else "mixture"
                diag["n_components"][i, j] = found.n_components[c]
                diag["mc_se"][i, j] = found.mc_se[c]
                check = checks[c]
                diag["rhat"][i, j], diag["ess_bulk"][i, j], diag["ess_tail"][i, j] = check.rhat, check.ess_bulk, \
                    check.ess_tail
                diag["problems"][i, j] = "; ".join(check.problems)
                diag["converged"][i, j] = check.converged
    n_draws = draws.shape[0] if draws is not None else options.num_chains * options.num_samples
    if draws is None:
        draws = np.full((n_draws,) + shape, np.nan)
    if table_cells:
        rows_idx = sorted({i for i, _ in table_cells})
        cols_idx = sorted({j for _, j in table_cells})
        codes = lambda cols, idx: np.column_stack([cols[k].values for k in idx])
        table = pairwise_mutual_information(codes(rows_, rows_idx), codes(cols_, cols_idx), num_draws=n_draws,
                                            seed=seed)
        for i, j in table_cells:
            draws[:, i, j] = table.draws[:, rows_idx.index(i), cols_idx.index(j)]
            diag["kind"][i, j] = "dirichlet"
    if symmetric:
        upper = np.triu(np.ones(shape, bool), 1)
        draws = np.where(upper, draws, np.swapaxes(draws, 1, 2))
        for name, arr in diag.items():
            diag[name] = np.where(upper, arr, arr.T)

    failed = [(i, j) for i, j in todo if not diag["converged"][i, j]]
    if failed:
        listed = "; ".join(f"({rows_[i].name!r}, {cols_[j].name!r}): {diag['problems'][i, j]}" for i, j in failed[:8])
        warnings.warn(f"{options.method}: {len(failed)} cell(s) of the MI matrix may be unreliable: {listed}"
                      f"{' …' if len(failed) > 8 else ''}. Raise num_warmup/num_samples, or refit those cells with "
                      "method='nuts' and cells=[...].", ConvergenceWarning, stacklevel=find_stack_level())
    timings["total"] = time.perf_counter() - start
    diagnostics = {"n": len(rows_[0].values), "method": options.method, "num_chains": options.num_chains,
                   "num_draws": n_draws, "timings": timings,
                   "kinds": ([c.kind for c in rows_], [c.kind for c in cols_]), **diag}
    return MIMatrix(to_units(draws, units), [c.name for c in rows_], [c.name for c in cols_], options.method, units,
                    dims=dims, quantity="I(A;B)", diagnostics=diagnostics)
