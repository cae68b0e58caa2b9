"""Matrices of mutual information between the columns of two data sets, every cell a posterior.

``mi_matrix(A, B)`` estimates I(A_i; B_j) for every column A_i of A and B_j of B, e.g. the
generative factors of images against the latents of a VAE trained on them (disentanglement,
as in the GMM-MI paper's representation-learning section). A cell's model depends on the
kinds of its two columns:

- continuous × continuous: the Bayesian Gaussian mixture of :func:`bayesmi.estimate_mi` on
  the standardised pair, K chosen by BIC, MI per posterior draw;
- continuous × categorical: one mixture of the continuous column per class plus a Dirichlet
  posterior on the class probabilities, as ``estimate_mi(..., y_type="categorical")``;
- categorical × categorical: the Dirichlet posterior of the contingency table
  (:func:`bayesmi.discrete.mi_matrix`).

Fitting hundreds of small mixtures one after another would cost a compilation and a Python
round trip each. Here every mixture of the same dimension is one row of a batch: EM runs
vmapped over all data sets for each K, and one compiled Gibbs program samples every data set
and chain at once, data sets of different sizes padded with masked rows and mixtures of
different K with zero-weight components (:mod:`bayesmi.gibbs`). The MI integrals of all cells
then run as one vmapped computation. ``method="nuts"`` (or "svi", "bootstrap") instead fits the
chosen ``cells`` one at a time with :func:`bayesmi.estimate_mi`, for the cells that matter.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import scipy.stats
import tqdm

from bayesmi import discrete, em, gibbs, gmm
from bayesmi.categorical import DEFAULT_CLASS_CONCENTRATION, check_class_sizes
from bayesmi.estimate import estimate_mi
from bayesmi.inputs import prepare_variables
from bayesmi.models import GMMPrior
from bayesmi.pipeline import fit_options, integrate
from bayesmi.result import ConvergenceWarning, MIMatrix, to_units

__all__ = ["mi_matrix", "normal_scores", "KINDS"]

KINDS = ("continuous", "categorical")
Kind = Literal["auto", "continuous", "categorical"]


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
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, pd.DataFrame):
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
    standardised = iter(prepare_variables(continuous, jitter_ties=jitter_ties, seed=seed)[0]) if continuous else None
    out = []
    for label, names, arrays, kinds in sides:
        cols = []
        for name, a, kind in zip(names, arrays, kinds):
            if kind == "continuous":
                z = next(standardised)[:, 0]
                z = normal_scores(z) if use_normal_scores else z
                cols.append(_Column(name, kind, z.astype(np.float32)))
            else:
                codes, [classes], _ = discrete._encode(a, f"{label}[{name}]", None, stacklevel=5)
                if classes.size < 2:
                    raise ValueError(f"categorical column {name!r} of {label} has a single class "
                                     f"({classes[0]!r}); its MI with anything is 0; drop it.")
                cols.append(_Column(name, kind, codes[:, 0], classes))
        out.append(cols)
    return out


def _fit_batch(sets: list[np.ndarray], options, key: jax.Array) -> tuple[gmm.GMMParams, np.ndarray, float]:
    """Mixture posteriors of many data sets of one dimension D in one batch.

    sets: arrays (n_s, D). K per set by ``options.select_by`` (BIC/AIC) or fixed; EM for every
    set and K vmapped; then one Gibbs program for all sets and chains, sets padded to the
    longest with masked rows and to the largest K with zero-weight components. Returns draws
    with leaves (sets, chains, draws, K_max, ...), the K of each set (sets,) and the EM seconds.
    """
    n_max, dim = max(len(s) for s in sets), sets[0].shape[1]
    z = np.zeros((len(sets), n_max, dim), np.float32)
    mask = np.zeros((len(sets), n_max), np.float32)
    for i, s in enumerate(sets):
        z[i, : len(s)], mask[i, : len(s)] = s, 1.0
    z, mask = jnp.asarray(z), jnp.asarray(mask)
    key_em, key_gibbs = jax.random.split(key)
    start = time.perf_counter()
    if options.n_components == "auto":
        ks, fits, _ = em.select_components_batch(z, mask, options.prior, key_em, options.max_components,
                                                 criterion=options.select_by)
    else:
        ks = np.full(len(sets), options.n_components)
        fits = {options.n_components: em.fit_em_batch(z, mask, options.n_components, options.prior, key_em)}
    k_max = int(ks.max())
    order = sorted(k for k in fits if k <= k_max)  # every K a set chose, padded to K_max
    padded = [gmm.pad_components(fits[k].params, k_max) for k in order]
    rows = np.searchsorted(order, ks)
    init = jax.tree.map(lambda *a: jnp.stack(a)[rows, np.arange(len(sets))], *padded)
    init = jax.tree.map(lambda a: jnp.broadcast_to(a[:, None], (a.shape[0], options.num_chains) + a.shape[1:]), init)
    seconds = time.perf_counter() - start
    params, _ = gibbs.sample_batch(z, mask, init, options.prior, key_gibbs, options.num_warmup,
                                   options.num_samples, options.progress)
    return jax.block_until_ready(params), ks, seconds


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


def _gibbs_cells(pairs: list[tuple[_Column, _Column]], options, class_concentration: float,
                 seed: int) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, float]]:
    """Draws (cells, chains, draws) in nats of the mixture cells, batched; with per-cell K and MC s.e."""
    key = jax.random.key(seed)
    joint = [(c, p) for c, p in enumerate(pairs) if p[1].kind == "continuous"]
    per_class = [(c, p) for c, p in enumerate(pairs) if p[1].kind == "categorical"]
    values = np.full((len(pairs), options.num_chains, options.num_samples), np.nan)
    mc_se = np.full(len(pairs), np.nan)
    k_cell = np.empty(len(pairs), dtype=object)
    timings = {"em": 0.0, "gibbs": 0.0, "integral": 0.0}
    if joint:
        start = time.perf_counter()
        sets = [np.column_stack([a.values, b.values]) for _, (a, b) in joint]
        params, ks, em_seconds = _fit_batch(sets, options, jax.random.fold_in(key, 2))
        timings["em"] += em_seconds
        timings["gibbs"] += time.perf_counter() - start - em_seconds
        integral = integrate(gmm.mutual_information, (params,), (1,), options, seed, n_batch=1)
        timings["integral"] += integral.seconds
        idx = [c for c, _ in joint]
        values[idx], mc_se[idx] = integral.values, integral.mc_se
        for c, k in zip(idx, ks):
            k_cell[c] = int(k)
    if per_class:
        start = time.perf_counter()
        sets, owners = [], []
        for c, (a, y) in per_class:
            for label in range(y.classes.size):
                sets.append(a.values[y.values == label][:, None])
                owners.append(c)
        params, ks, em_seconds = _fit_batch(sets, options, jax.random.fold_in(key, 1))
        timings["em"] += em_seconds
        timings["gibbs"] += time.perf_counter() - start - em_seconds
        owners = np.asarray(owners)
        # Cells whose categorical column has the same number of classes share one vmapped integral.
        for n_classes in sorted({y.classes.size for _, (_, y) in per_class}):
            group = [c for c, (_, y) in per_class if y.classes.size == n_classes]
            slots = np.stack([np.flatnonzero(owners == c) for c in group])  # (cells, classes)
            class_params = tuple(jax.tree.map(lambda a, s=slots[:, j]: a[s], params) for j in range(n_classes))
            alphas = np.stack([np.bincount(pairs[c][1].values, minlength=n_classes) for c in group])
            probs = jax.random.dirichlet(jax.random.fold_in(key, 1000 + n_classes), alphas + class_concentration,
                                         shape=(options.num_chains, options.num_samples, len(group)))
            probs = np.moveaxis(np.asarray(probs), 2, 0)  # (cells, chains, draws, classes)
            integral = integrate(gmm.categorical_mutual_information, (probs, class_params), (), options, seed,
                                 n_batch=1)
            timings["integral"] += integral.seconds
            values[group], mc_se[group] = integral.values, integral.mc_se
            for c, s in zip(group, slots):
                k_cell[c] = tuple(int(k) for k in ks[s])
    return values, {"mc_se": mc_se, "n_components": k_cell}, timings


def _single_cell(a: _Column, b: _Column, method: str, estimate_kwargs: dict,
                 seed: int) -> tuple[np.ndarray, float, Any]:
    """One mixture cell by :func:`estimate_mi` (NUTS, SVI or bootstrap): draws (chains, draws) in
    nats, MC s.e. and K."""
    y_type = "categorical" if b.kind == "categorical" else "continuous"
    res = estimate_mi(a.values, b.values, method=method, y_type=y_type, seed=seed, units="nats", **estimate_kwargs)
    return res.draws, res.mc_se, res.diagnostics["n_components"]


def _diagnose(values: np.ndarray, mixture: np.ndarray, method: str, min_ess_per_chain: int = 100) -> dict[str, np.ndarray]:
    """R-hat and bulk/tail ESS of every mixture cell's MI draws (cells, chains, draws) and a
    per-cell convergence flag (R-hat ≤ 1.01 and ESS ≥ 100 per chain for MCMC)."""
    n = values.shape[0]
    rhat, ess_bulk, ess_tail = (np.full(n, np.nan) for _ in range(3))
    idx = np.flatnonzero(mixture)
    if idx.size:
        data = az.convert_to_dataset({"mi": np.moveaxis(values[idx], 0, -1)})
        if values.shape[1] > 1 and values.shape[2] >= 4:
            rhat[idx] = az.rhat(data)["mi"].values
        ess_bulk[idx] = az.ess(data, method="bulk")["mi"].values
        ess_tail[idx] = az.ess(data, method="tail")["mi"].values
    converged = np.ones(n, bool)
    if method in ("gibbs", "nuts"):
        converged[idx] = (np.nan_to_num(rhat[idx]) <= 1.01) & (
            np.minimum(ess_bulk[idx], ess_tail[idx]) >= min_ess_per_chain * values.shape[1])
    return {"rhat": rhat, "ess_bulk": ess_bulk, "ess_tail": ess_tail, "converged": converged}


def mi_matrix(
    A: Any,
    B: Any = None,
    *,
    a_kinds: Kind | Sequence[str] = "auto",
    b_kinds: Kind | Sequence[str] = "auto",
    method: Literal["gibbs", "nuts", "svi", "bootstrap"] = "gibbs",
    cells: Sequence[tuple[int, int]] | None = None,
    n_components: int | Literal["auto"] = "auto",
    max_components: int = 6,
    select_by: Literal["bic", "aic"] = "bic",
    prior: GMMPrior | None = None,
    num_chains: int = 4,
    num_warmup: int = 200,
    num_samples: int = 250,
    mc_points: int = 256,
    class_concentration: float = DEFAULT_CLASS_CONCENTRATION,
    use_normal_scores: bool = True,
    dims: tuple[str, str] = ("A", "B"),
    units: Literal["nats", "bits"] = "nats",
    jitter_ties: bool = True,
    seed: int = 0,
    progress: bool = True,
    **estimate_kwargs: Any,
) -> MIMatrix:
    """Posterior of I(A_i; B_j) for every column A_i of A and B_j of B.

    Parameters
    ----------
    A, B : DataFrame or array (N, n_a) / (N, n_b), or (N,) for one column
        Paired rows. ``B=None`` gives the matrix of A with itself: the upper triangle is
        estimated and mirrored, the diagonal (I(X;X) = H(X), infinite for continuous X) is NaN.
        Names come from DataFrame columns, else "A0", "A1", … / "B0", ….
    a_kinds, b_kinds : "auto", "continuous", "categorical", or one per column
        "auto": float columns are continuous, any other dtype (int, bool, str, category)
        categorical (class labels).
    method : "gibbs" fits every cell in one batch (the default, fast); "nuts", "svi" or
        "bootstrap" fit each of ``cells`` one at a time with :func:`bayesmi.estimate_mi`.
    cells : (i, j) index pairs to estimate; the others are NaN. Default: every cell.
    n_components, max_components, select_by, prior : the mixture of every cell, as in
        :func:`bayesmi.estimate_mi` (``max_components`` 6: pairs of scalar columns rarely
        need more, and the batch pays for the largest K of any cell).
    num_chains, num_warmup, num_samples : Gibbs (or NUTS) chains per cell and draws per chain.
        4 × 250 exact Gibbs draws give an ESS of several hundred for MI per cell, enough for a
        mean and sd to about 5% and a 95% interval; raise them for the cells that matter.
    mc_points : randomised-QMC points per component for each draw's MI integral (more are
        added until the MC error is below 0.1 × the posterior sd in every cell).
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
    progress : show progress bars.
    **estimate_kwargs : further settings for :func:`bayesmi.estimate_mi` with the one-at-a-time
        methods (e.g. ``svi_steps``, ``n_bootstrap``).

    Returns
    -------
    MIMatrix
        ``draws`` (n_draws, n_a, n_b) in ``units`` with ``.mean``, ``.sd``, ``.interval(prob)``,
        ``.to_frame()`` and ``.plot()``; ``diagnostics`` holds per-cell arrays (n_a, n_b):
        "kind" ("mixture" / "categorical" / "dirichlet" / ""), "n_components", "rhat",
        "ess_bulk", "ess_tail", "mc_se", "converged", plus "timings" in seconds. Cells whose
        chains fail R-hat ≤ 1.01 or ESS ≥ 100 per chain raise one ConvergenceWarning naming them
        and ``result.converged`` is False.
    """
    if method == "gibbs" and estimate_kwargs:
        raise TypeError(f"{sorted(estimate_kwargs)} apply only to method='nuts', 'svi' or 'bootstrap'")
    start = time.perf_counter()
    options = fit_options(method=method, n_components=n_components, max_components=max_components,
                          select_by=select_by, prior=prior, num_chains=num_chains, num_warmup=num_warmup,
                          num_samples=num_samples, mc_points=mc_points, progress=progress)
    symmetric = B is None
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
        else:
            pair = (a, b) if a.kind == "continuous" else (b, a)
            if pair[1].kind == "categorical":
                labels = pair[1]
                check_class_sizes(np.bincount(labels.values, minlength=labels.classes.size), labels.classes,
                                  f"categorical column {labels.name!r}",
                                  f"to fit a mixture of {pair[0].name!r} per class")
            mixture_cells.append(((i, j), pair))

    n_draws = num_chains * num_samples if method != "bootstrap" else estimate_kwargs.get("n_bootstrap", 50)
    shape = (len(rows_), len(cols_))
    draws = np.full((n_draws,) + shape, np.nan)
    diag: dict[str, np.ndarray] = {"kind": np.full(shape, "", dtype=object),
                                   "n_components": np.full(shape, None, dtype=object),
                                   **{k: np.full(shape, np.nan) for k in ("rhat", "ess_bulk", "ess_tail", "mc_se")},
                                   "converged": np.ones(shape, bool)}
    timings: dict[str, float] = {}
    if mixture_cells:
        pairs = [pair for _, pair in mixture_cells]
        if method == "gibbs":
            values, extra, timings = _gibbs_cells(pairs, options, class_concentration, seed)
        else:
            kwargs = dict(n_components=n_components, max_components=max_components, select_by=select_by,
                          prior=prior, num_chains=num_chains, num_warmup=num_warmup, num_samples=num_samples,
                          mc_points=mc_points, progress=False, jitter_ties=jitter_ties,
                          class_concentration=class_concentration, **estimate_kwargs)
            results = [_single_cell(a, b, method, kwargs, seed + c)
                       for c, (a, b) in enumerate(tqdm.tqdm(pairs, desc=method, disable=not progress))]
            values = np.stack([r[0] for r in results])
            extra = {"mc_se": np.array([r[1] for r in results]),
                     "n_components": np.array([r[2] for r in results] + [None], dtype=object)[:-1]}
            timings = {method: time.perf_counter() - start}
        checks = _diagnose(values, np.ones(len(pairs), bool), method)
        for c, ((i, j), (_, partner)) in enumerate(mixture_cells):
            draws[:, i, j] = values[c].reshape(-1)
            diag["kind"][i, j] = "categorical" if partner.kind == "categorical" else "mixture"
            diag["n_components"][i, j] = extra["n_components"][c]
            diag["mc_se"][i, j] = extra["mc_se"][c]
            for name, arr in checks.items():
                diag[name][i, j] = arr[c]
    if table_cells:
        rows_idx = sorted({i for i, _ in table_cells})
        cols_idx = sorted({j for _, j in table_cells})
        codes = lambda cols, idx: np.column_stack([cols[k].values for k in idx])  # noqa: E731
        table = discrete.mi_matrix(codes(rows_, rows_idx), codes(cols_, cols_idx), n_draws=n_draws,
                                   concentration=None, seed=seed)
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
        listed = "; ".join(f"({rows_[i].name!r}, {cols_[j].name!r}) R-hat {diag['rhat'][i, j]:.3f}, "
                           f"ESS {diag['ess_bulk'][i, j]:.0f}" for i, j in failed[:8])
        warnings.warn(f"{method}: {len(failed)} cell(s) of the MI matrix may be unreliable: {listed}"
                      f"{' …' if len(failed) > 8 else ''}. Raise num_warmup/num_samples, or refit those cells "
                      "with method='nuts' and cells=[...].", ConvergenceWarning, stacklevel=2)
    timings["total"] = time.perf_counter() - start
    diagnostics = {"n": len(rows_[0].values), "method": method, "num_chains": num_chains,
                   "num_samples": num_samples if method != "bootstrap" else n_draws, "timings": timings,
                   "kinds": ([c.kind for c in rows_], [c.kind for c in cols_]), **diag}
    return MIMatrix(to_units(draws, units), [c.name for c in rows_], [c.name for c in cols_], method, units,
                    dims=dims, quantity="I(A;B)", diagnostics=diagnostics)
