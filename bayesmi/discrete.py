"""Mutual information and entropies of discrete variables under a Dirichlet posterior.

Model: the N pairs (x, y) are i.i.d. draws from an unknown joint table p (Kx, Ky)
over the categories; p has the prior Dirichlet(a, ..., a) with one concentration
``a`` per cell, so its posterior is Dirichlet(counts + a). Every posterior draw of
p gives the information quantities exactly (finite sums, no integration error):

    I(X;Y) = Σ p_xy log(p_xy / (p_x p_y)),  H(X) = −Σ p_x log p_x,  H(X|Y) = H(X,Y) − H(Y),
    KL selectivity of X for the classes Y = max_y D(P(X|Y=y) ‖ P(X)),

and I(X;Y) = Σ_y p_y D(P(X|Y=y) ‖ P(X)) (Amjad et al. 2018). The draws are
i.i.d. (no Markov chain), one table per draw from normalised Gamma variates.

Prior
-----
The default is Perks' prior a = 1/(Kx·Ky): the prior weighs as one observation
whatever the size of the table, so it never swamps the data, even when the table
has more cells than samples (Jeffreys' a = 1/2 adds Kx·Ky/2 pseudo-counts, the
Bayes–Laplace a = 1 adds Kx·Ky). No fixed ``a`` is uninformative about MI
(Archer, Park & Pillow 2013): the MI of a table drawn from the prior is > 0
(2×2 table: prior mean 0.12 nats for Perks' a = 1/4, 0.11 for Jeffreys' 1/2,
0.08 for a = 1), and with few samples per cell the posterior stays near the prior.
A larger ``a`` pulls the table toward uniform, hence MI toward 0: counts [[2, 1], [1, 2]] (plug-in MI 0.057
nats) give posterior means 0.096, 0.082 and 0.062 nats for a = 1/4, 1/2, 1.
For large N the posterior mean is the plug-in MI + (Kx−1)(Ky−1)/(2N) + O(N⁻²)
whatever ``a`` (Hutter 2002), and the plug-in MI itself exceeds the truth by
(Kx−1)(Ky−1)/(2N) on average: the posterior is shifted up by ≈ (Kx−1)(Ky−1)/N.
That is negligible next to the posterior sd, O(N^-1/2), when I > 0, so the
intervals have their nominal coverage; but at I = 0 the sd is O(1/N) too:
every draw is > 0 and no interval covers the truth (``tests/test_discrete.py``).

Precision: JAX computes in float32 unless ``jax_enable_x64`` is set, so per-draw
quantities carry absolute errors of ~1e-6 nats.

Pure-JAX core (jit/vmap-able): :func:`contingency_table`, :func:`log_gamma`,
:func:`log_dirichlet`, :func:`table_measures`, :func:`posterior_measures`, :func:`expected_entropy`,
:func:`expected_mi`. Public estimators on labelled data: :func:`mutual_information`,
:func:`entropy`, :func:`mi_matrix`, :func:`neuron_measures`.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Sequence
from functools import partial
from typing import Any, Literal, NamedTuple

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.scipy.special import digamma, logsumexp

from bayesmi.inputs import TIES_DISTINCT_FRACTION
from bayesmi.result import InfoResult, MIMatrix, to_units

__all__ = [
    "NEURON_MEASURES",
    "ContinuousLabelsWarning",
    "TableMeasures",
    "contingency_table",
    "entropy",
    "expected_entropy",
    "expected_mi",
    "log_dirichlet",
    "log_gamma",
    "mi_matrix",
    "mutual_information",
    "neuron_measures",
    "posterior_measures",
    "table_measures",
]

METHOD = "dirichlet"
#: Gamma variates per pair and per block of draws: bounds memory (float32 arrays of this size).
BLOCK_SIZE = 2**22


class ContinuousLabelsWarning(UserWarning):
    """Float labels look continuous: discretise them or use :func:`bayesmi.estimate_mi`."""


class TableMeasures(NamedTuple):
    """Information quantities of a joint table (nats); each field has the table's batch shape."""

    mi: jax.Array
    h_x: jax.Array
    h_y: jax.Array
    h_x_given_y: jax.Array
    kl_selectivity: jax.Array


# --------------------------------------------------------------------------- pure-JAX core


def contingency_table(x: jax.Array, y: jax.Array, kx: int, ky: int) -> jax.Array:
    """Counts (kx, ky) float of the integer codes x (N,) in [0, kx) and y (N,) in [0, ky)."""
    return jnp.bincount(x * ky + y, length=kx * ky).reshape(kx, ky).astype(jnp.float32)


def log_gamma(key: jax.Array, alpha: jax.Array) -> jax.Array:
    """log of independent Gamma(alpha, 1) variates, one per entry of ``alpha`` (any shape, > 0).

    Marsaglia & Tsang's (2000) exact rejection sampler, vectorised over the whole
    array: every entry gets one proposal (accepted with probability > 0.95),
    then the rejected entries are redrawn in compacted batches until all are
    accepted. alpha < 1 uses Gamma(alpha) = Gamma(alpha + 1)·U^(1/alpha), in logs
    so that tiny alpha does not underflow. On CPU this is ~20× faster than
    ``jax.random.loggamma``, which runs a rejection loop per entry.
    """
    shape, a = alpha.shape, alpha.reshape(-1)
    n = a.size
    small = a < 1
    d = jnp.where(small, a + 1, a) - 1.0 / 3.0
    c = jax.lax.rsqrt(9.0 * d)
    tiny = jnp.finfo(d.dtype).tiny
    key_first, key_rest = jax.random.split(key)

    def propose(key: jax.Array, d: jax.Array, c: jax.Array, n_uniform: int = 1) -> tuple[jax.Array, ...]:
        """One proposal per entry: acceptance, log Gamma(d + 1/3), the (n_uniform, m) uniforms used."""
        key_z, key_u = jax.random.split(key)
        z = jax.random.normal(key_z, d.shape, d.dtype)
        u = jax.random.uniform(key_u, (n_uniform, *d.shape), d.dtype, minval=tiny)
        t = c * z
        ok = t > -1
        log_v = 3.0 * jnp.log1p(jnp.where(ok, t, 0.0))  # v = (1 + c z)³
        accept = ok & (jnp.log(u[0]) < 0.5 * z**2 + d * (log_v - jnp.expm1(log_v)))
        return accept, jnp.log(d) + log_v, u

    done, out, u = propose(key_first, d, c, n_uniform=2)  # u[1]: the alpha < 1 boost
    batch = min(n, max(64, n // 16))

    def redraw(state: tuple[jax.Array, jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array, jax.Array]:
        key, done, out = state
        key, sub = jax.random.split(key)
        idx = jnp.nonzero(~done, size=batch, fill_value=n)[0]
        safe = jnp.minimum(idx, n - 1)
        accept, value, _ = propose(sub, d[safe], c[safe])
        idx = jnp.where(accept, idx, n)  # index n is out of bounds: dropped
        return key, done.at[idx].set(True, mode="drop"), out.at[idx].set(value, mode="drop")

    _, _, out = jax.lax.while_loop(lambda s: ~jnp.all(s[1]), redraw, (key_rest, done, out))
    return (out + jnp.where(small, jnp.log(u[1]) / a, 0.0)).reshape(shape)


def log_dirichlet(key: jax.Array, alpha: jax.Array, n_draws: int) -> jax.Array:
    """log-probabilities (n_draws, *alpha.shape) of Dirichlet(alpha) draws over all cells of alpha.

    Cells with alpha == 0 are structural zeros (log p = −inf), e.g. padding.
    """
    alpha = jnp.broadcast_to(alpha, (n_draws,) + alpha.shape)
    g = jnp.where(alpha > 0, log_gamma(key, jnp.where(alpha > 0, alpha, 1.0)), -jnp.inf)
    return g - logsumexp(g, axis=tuple(range(1, g.ndim)), keepdims=True)


def _sum_p_log(log_p: jax.Array, log_q: jax.Array, axis: Any = None) -> jax.Array:
    """Σ p log q over ``axis``, with 0 · log 0 = 0."""
    return jnp.sum(jnp.where(log_p > -jnp.inf, jnp.exp(log_p) * log_q, 0.0), axis=axis)


def table_measures(log_p: jax.Array) -> TableMeasures:
    """Exact information quantities (nats, scalars) of one joint table log p (Kx, Ky).

    All are ≥ 0 analytically and clipped at 0, so that float rounding never makes them negative.
    """
    log_px = logsumexp(log_p, axis=1)
    log_py = logsumexp(log_p, axis=0)
    log_ratio = log_p - log_px[:, None] - log_py[None, :]  # log p(x,y)/(p(x)p(y)) = log p(x|y)/p(x)
    kl = _sum_p_log(log_p - log_py[None, :], log_ratio, axis=0)  # D(P(X|y) ‖ P(X)) per y
    measures = TableMeasures(
        mi=_sum_p_log(log_p, log_ratio),
        h_x=-_sum_p_log(log_px, log_px),
        h_y=-_sum_p_log(log_py, log_py),
        h_x_given_y=-_sum_p_log(log_p, log_p - log_py[None, :]),
        kl_selectivity=jnp.max(kl),
    )
    return TableMeasures(*(jnp.maximum(v, 0.0) for v in measures))


def expected_entropy(alpha: jax.Array) -> jax.Array:
    """Exact posterior mean (nats) of the entropy of p ~ Dirichlet(alpha) over all cells of alpha.

    E[H] = ψ(A + 1) − Σ_i (α_i / A) ψ(α_i + 1), A = Σ α_i (Wolpert & Wolf 1995).
    """
    total = jnp.sum(alpha)
    return digamma(total + 1) - jnp.sum(alpha * digamma(alpha + 1)) / total


def expected_mi(alpha: jax.Array) -> jax.Array:
    """Exact posterior mean (nats) of I(X;Y) for a table p ~ Dirichlet(alpha), alpha (Kx, Ky) (Hutter 2002).

    The marginals of a Dirichlet are Dirichlet with summed parameters, so
    E[I] = E[H(X)] + E[H(Y)] − E[H(X,Y)].
    """
    return expected_entropy(alpha.sum(1)) + expected_entropy(alpha.sum(0)) - expected_entropy(alpha)


def posterior_measures(
    key: jax.Array, alpha: jax.Array, n_draws: int, chunk: int | None = None
) -> TableMeasures:
    """Draws (n_draws,) of the measures of a table p ~ Dirichlet(alpha), alpha (Kx, Ky).

    Cells with alpha == 0 are structural zeros (e.g. padding). The draws are taken ``chunk``
    at a time (default: all at once), chunk i with key fold_in(key, i), to bound memory.
    """
    chunk = n_draws if chunk is None else chunk

    def draw_chunk(i: jax.Array) -> TableMeasures:
        return jax.vmap(table_measures)(log_dirichlet(jax.random.fold_in(key, i), alpha, chunk))

    out = jax.lax.map(draw_chunk, jnp.arange(-(-n_draws // chunk)))
    return jax.tree.map(lambda v: v.reshape(-1)[:n_draws], out)


@partial(jax.jit, static_argnames=("shape",))
def _pair_alphas(
    x: jax.Array, kx: jax.Array, y: jax.Array, ky: jax.Array, a: jax.Array, shape: tuple[int, int]
) -> jax.Array:
    """Posterior concentrations (n_a, n_b, *shape) of each column of codes x (N, n_a) with each of y (N, n_b).

    kx (n_a,), ky (n_b,): category counts; a (n_a, n_b): prior concentration per cell. The
    tables are padded to ``shape``; rows ≥ kx and columns ≥ ky get 0 (structural zeros).
    """

    def one(xi: jax.Array, kxi: jax.Array, yj: jax.Array, kyj: jax.Array, aij: jax.Array) -> jax.Array:
        mask = (jnp.arange(shape[0]) < kxi)[:, None] & (jnp.arange(shape[1]) < kyj)[None, :]
        return jnp.where(mask, contingency_table(xi, yj, *shape) + aij, 0.0)

    over_y = jax.vmap(one, in_axes=(None, None, 1, 0, 0))
    return jax.vmap(over_y, in_axes=(1, 0, None, None, 0))(x, kx, y, ky, a)


@partial(jax.jit, static_argnames=("n_draws",))
def _grid_measures(seed: jax.Array, alpha: jax.Array, n_draws: int) -> TableMeasures:
    """Measures (n_draws, n_a, n_b) of independent tables p_ij ~ Dirichlet(alpha[i, j]).

    alpha: (n_a, n_b, Kx, Ky). Table (i, j) draws with key fold_in(key(seed), i·n_b + j), whatever
    the batching, so its draws do not depend on the other tables.
    """
    n_a, n_b, *shape = alpha.shape
    n_pairs, cells = n_a * n_b, shape[0] * shape[1]
    chunk = max(1, min(n_draws, BLOCK_SIZE // cells))
    n_batches = -(-n_pairs // max(1, BLOCK_SIZE // (chunk * cells)))
    batch = -(-n_pairs // n_batches)
    # pad with dummy tables to n_batches · batch pairs: one compiled body, no remainder batch
    alpha = jnp.concatenate([alpha.reshape(n_pairs, *shape), jnp.ones((n_batches * batch - n_pairs, *shape))])
    key = jax.random.key(seed)

    def one(args: tuple[jax.Array, jax.Array]) -> TableMeasures:
        p, alpha_p = args
        return posterior_measures(jax.random.fold_in(key, p), alpha_p, n_draws, chunk)

    out = jax.lax.map(one, (jnp.arange(n_batches * batch), alpha), batch_size=batch)
    return jax.tree.map(lambda v: v[:n_pairs].reshape(n_a, n_b, n_draws).transpose(2, 0, 1), out)


# --------------------------------------------------------------------------- labelled data


def _label_array(a: Any, name: str, ndims: tuple[int, ...]) -> np.ndarray:
    """``a`` as an array of labels with ndim in ``ndims``, ≥ 2 rows and no missing value."""
    if a is None:
        raise TypeError(f"{name} is None; expected an array-like of labels")
    try:
        arr = np.asarray(a)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} could not be converted to a rectangular array ({exc})") from None
    if arr.ndim not in ndims:
        want = " or ".join(["1-D (N,)", "2-D (N, n_vars)"][d - 1] for d in ndims)
        raise ValueError(f"{name} must be {want} labels, got shape {arr.shape}")
    if arr.shape[0] < 2:
        raise ValueError(f"{name} has {arr.shape[0]} sample(s); at least 2 are needed")
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"{name} has zero columns (shape {arr.shape}); need at least one")
    missing = pd.isna(arr)
    if np.any(missing):
        first = tuple(int(i[0]) for i in np.nonzero(missing))
        raise ValueError(
            f"{name} contains {int(np.sum(missing))} missing label(s) (NaN/None), first at index "
            f"{first[0] if len(first) == 1 else first}; drop those rows from every variable first."
        )
    return arr


def _encode(
    a: Any, name: str, levels: Sequence[Any] | None, ndims: tuple[int, ...] = (1,), stacklevel: int = 3
) -> tuple[np.ndarray, list[np.ndarray], list[Any]]:
    """Integer codes (N, n_vars) of the labels in ``a``, the labels of each column and column names.

    Without ``levels`` the categories are the observed labels, sorted when they can be; with
    ``levels`` they are exactly ``levels`` in that order (so unobserved ones count) and any
    other label is an error. Warns (:class:`ContinuousLabelsWarning`, at ``stacklevel``) for
    float columns whose distinct non-integer values exceed half the rows.
    """
    arr = _label_array(a, name, ndims)
    if arr.ndim == 1:
        names = [getattr(a, "name", None) or name]
    else:
        names = list(getattr(a, "columns", [f"{name}{j}" for j in range(arr.shape[1])]))
    cols = arr.reshape(arr.shape[0], -1)
    n = cols.shape[0]
    if levels is not None:
        index = pd.Index(list(levels))
        if index.has_duplicates or index.hasnans or index.size == 0:
            raise ValueError(f"levels must be distinct, non-missing labels, got {list(levels)!r}")
    codes = np.empty(cols.shape, dtype=np.int32)
    labels: list[np.ndarray] = []
    continuous = []
    for j in range(cols.shape[1]):
        if levels is None:
            codes[:, j], uniques = pd.factorize(cols[:, j], sort=True)
            labels.append(np.asarray(uniques))
            if (
                cols.dtype.kind == "f"
                and uniques.size > TIES_DISTINCT_FRACTION * n
                and np.any(uniques != np.round(uniques))
            ):
                continuous.append(names[j])
        else:
            codes[:, j] = index.get_indexer(cols[:, j])
            if np.any(codes[:, j] < 0):
                unknown = pd.unique(cols[codes[:, j] < 0, j])[:5].tolist()
                raise ValueError(f"{_where(name, names, j)} has labels not in levels, e.g. {unknown!r}")
            labels.append(np.asarray(index))
    if continuous:
        warnings.warn(
            f"{name}{f' column(s) {continuous[:5]!r}' if arr.ndim == 2 else ''} holds float labels "
            f"with more than {TIES_DISTINCT_FRACTION:g}·N distinct non-integer values: it looks "
            "continuous, and each value would be its own category (MI up to log N). Discretise it "
            "(e.g. np.digitize) or use bayesmi.estimate_mi for continuous variables.",
            ContinuousLabelsWarning,
            stacklevel=stacklevel,
        )
    return codes, labels, names


def _where(name: str, names: list[Any], j: int) -> str:
    """``name``, or "name column <names[j]>" for a variable with several columns."""
    return name if len(names) == 1 else f"{name} column {names[j]!r}"


def _check_classes(labels: list[np.ndarray], names: list[Any], name: str) -> None:
    """Raise if a variable has a single category: its MI with anything is 0, its selectivity undefined."""
    single = [j for j, lab in enumerate(labels) if lab.size < 2]
    if single:
        label = labels[single[0]][0]
        label = label.item() if isinstance(label, np.generic) else label
        raise ValueError(
            f"{_where(name, names, single[0])} has a single category ({label!r}): "
            "its mutual information with anything is 0 and class selectivity is undefined; "
            "drop it, or list its possible categories as levels."
        )


def _concentration(concentration: float | None, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
    """Concentration per cell (n_a, n_b) of each pair's table: ``concentration`` or Perks 1/(Kx·Ky)."""
    if concentration is None:
        return 1.0 / np.outer(kx, ky)
    if not (
        isinstance(concentration, (int, float, np.number))
        and not isinstance(concentration, bool)
        and math.isfinite(concentration)
        and concentration > 0
    ):
        raise ValueError(
            f"concentration must be a finite number > 0 or None (Perks prior), got {concentration!r}"
        )
    return np.full((kx.size, ky.size), float(concentration))


def _n_draws(n_draws: int) -> int:
    try:
        if isinstance(n_draws, bool):
            raise TypeError
        n = operator.index(n_draws)
    except TypeError:
        raise TypeError(f"n_draws must be an integer, got {n_draws!r}") from None
    if n < 4:
        raise ValueError(f"n_draws must be >= 4, got {n}")
    return n


def _draws(
    x: np.ndarray,
    x_labels: list[np.ndarray],
    y: np.ndarray,
    y_labels: list[np.ndarray],
    concentration: float | None,
    n_draws: int,
    seed: int,
    units: str,
) -> tuple[TableMeasures, np.ndarray]:
    """Posterior draws (n_draws, n_a, n_b) of every measure in ``units`` and the concentrations (n_a, n_b)."""
    to_units(1.0, units)  # validates units
    n_draws = _n_draws(n_draws)
    kx = np.array([lab.size for lab in x_labels])
    ky = np.array([lab.size for lab in y_labels])
    a = _concentration(concentration, kx, ky)
    alpha = _pair_alphas(
        jnp.asarray(x),
        jnp.asarray(kx),
        jnp.asarray(y),
        jnp.asarray(ky),
        jnp.asarray(a, jnp.float32),
        shape=(int(kx.max()), int(ky.max())),
    )
    out = _grid_measures(seed, alpha, n_draws=n_draws)
    return TableMeasures(*(to_units(np.asarray(v, dtype=np.float64), units) for v in out)), a


def _counts(x: np.ndarray, y: np.ndarray, kx: int, ky: int) -> np.ndarray:
    """Integer counts (kx, ky) of the first columns of the codes x, y (N, 1)."""
    return np.asarray(contingency_table(jnp.asarray(x[:, 0]), jnp.asarray(y[:, 0]), kx, ky)).astype(np.int64)


def _info_result(
    variable: str,
    draws: TableMeasures,
    names: dict[str, str],
    counts: np.ndarray,
    coords: dict[str, np.ndarray],
    a: float,
    units: str,
    truth: float | None,
    diagnostics: dict,
) -> InfoResult:
    """An :class:`InfoResult` of the ``names`` fields of ``draws`` (n_draws, 1, 1), main one ``variable``."""
    posterior = {var: getattr(draws, field)[None, :, 0, 0] for var, field in names.items()}
    idata = az.from_dict(
        posterior=posterior,
        observed_data={"counts": counts},
        constant_data={"concentration": np.array(a)},
        coords=coords,
        dims={"counts": list(coords)},
    )
    for var in posterior:
        idata.posterior[var].attrs.update(units=units, long_name=_LONG_NAMES[var])
    main = posterior[variable]
    diagnostics = dict(
        rhat=float("nan"),  # one chain of i.i.d. draws: nothing to compare
        ess_bulk=float(az.ess(main, method="bulk")),
        ess_tail=float(az.ess(main, method="tail")),
        n=int(counts.sum()),
        counts=counts,
        concentration=a,
        samples_per_cell=float(counts.sum() / counts.size),
        **diagnostics,
    )
    return InfoResult(
        draws=main,
        idata=idata,
        method=METHOD,
        units=units,
        mc_se=0.0,
        diagnostics=diagnostics,
        truth=None if truth is None else to_units(truth, units),
        variable=variable,
    )


_LONG_NAMES = {"mi": "I(X;Y)", "h_x": "H(X)", "h_y": "H(Y)", "h_x_given_y": "H(X|Y)", "entropy": "H(X)"}


def mutual_information(
    x: Any,
    y: Any,
    *,
    concentration: float | None = None,
    x_levels: Sequence[Any] | None = None,
    y_levels: Sequence[Any] | None = None,
    n_draws: int = 4000,
    seed: int = 0,
    units: Literal["nats", "bits"] = "nats",
    truth: float | None = None,
) -> InfoResult:
    """Posterior of I(X;Y) for discrete x, y (N,) of any hashable labels, under a Dirichlet table.

    Parameters
    ----------
    x, y : array-like (N,) of labels (ints, strings, ...), paired row by row; no missing values.
    concentration : Dirichlet concentration per cell; None (default) is Perks' 1/(Kx·Ky)
        (see the module docstring for the prior's effect on small samples).
    x_levels, y_levels : all categories of x / y in order (unobserved ones included); by default
        the observed labels, sorted.
    n_draws : i.i.d. posterior draws (one chain).
    units : "nats" (default) or "bits" for every number on the result.
    truth : the known MI in nats, if any (toy data).

    Returns
    -------
    InfoResult with ``draws`` (1, n_draws) of I(X;Y); ``idata.posterior`` also holds h_x, h_y and
    h_x_given_y, ``idata.observed_data`` the counts (Kx, Ky) with the labels as coordinates.
    ``mc_se`` is 0 (each draw's MI is an exact sum); ``diagnostics`` holds the counts, the labels
    ("x_labels", "y_labels") and ESS (R-hat is NaN: one chain of independent draws).
    """
    (xc, [xl], _), (yc, [yl], _) = _encode(x, "x", x_levels), _encode(y, "y", y_levels)
    if xc.shape[0] != yc.shape[0]:
        raise ValueError(
            f"x and y have different lengths ({xc.shape[0]} and {yc.shape[0]}); they must be paired samples"
        )
    _check_classes([xl], ["x"], "x")
    _check_classes([yl], ["y"], "y")
    draws, a = _draws(xc, [xl], yc, [yl], concentration, n_draws, seed, units)
    counts = _counts(xc, yc, xl.size, yl.size)
    names = {"mi": "mi", "h_x": "h_x", "h_y": "h_y", "h_x_given_y": "h_x_given_y"}
    return _info_result(
        "mi",
        draws,
        names,
        counts,
        {"x": xl, "y": yl},
        float(a[0, 0]),
        units,
        truth,
        {"x_labels": xl, "y_labels": yl},
    )


def entropy(
    x: Any,
    *,
    concentration: float | None = None,
    levels: Sequence[Any] | None = None,
    n_draws: int = 4000,
    seed: int = 0,
    units: Literal["nats", "bits"] = "nats",
    truth: float | None = None,
) -> InfoResult:
    """Posterior of the entropy H(X) of discrete x (N,) under p ~ Dirichlet(counts + a).

    Same settings as :func:`mutual_information`; the default concentration is Perks' 1/K.
    Returns an InfoResult with variable "entropy" and ``draws`` (1, n_draws).
    """
    xc, [xl], _ = _encode(x, "x", levels)
    yc = np.zeros_like(xc)
    yl = np.array([None], dtype=object)
    draws, a = _draws(xc, [xl], yc, [yl], concentration, n_draws, seed, units)
    counts = _counts(xc, yc, xl.size, 1)[:, 0]
    return _info_result(
        "entropy",
        draws,
        {"entropy": "h_x"},
        counts,
        {"x": xl},
        float(a[0, 0]),
        units,
        truth,
        {"x_labels": xl},
    )


def _matrix_inputs(
    X: Any, y: Any, levels: Sequence[Any] | None, y_ndims: tuple[int, ...]
) -> tuple[tuple[np.ndarray, list[np.ndarray], list[Any]], tuple[np.ndarray, list[np.ndarray], list[Any]]]:
    """Encoded X (N, n_a) and y (N, n_b) with matching lengths and ≥ 2 classes in every y column."""
    ex = _encode(X, "X", levels, ndims=(1, 2), stacklevel=4)
    ey = _encode(y, "y", None, ndims=y_ndims, stacklevel=4)
    if ex[0].shape[0] != ey[0].shape[0]:
        raise ValueError(f"X and y have different numbers of rows ({ex[0].shape[0]} and {ey[0].shape[0]})")
    _check_classes(ey[1], ey[2], "y")
    return ex, ey


def mi_matrix(
    X: Any,
    y: Any,
    *,
    concentration: float | None = None,
    levels: Sequence[Any] | None = None,
    n_draws: int = 1000,
    seed: int = 0,
    units: Literal["nats", "bits"] = "nats",
) -> MIMatrix:
    """Posterior of I(X_i; Y_j) for every column X_i of X (N, n_a) and Y_j of y (N,) or (N, n_b).

    Each pair has its own Dirichlet table posterior (settings as in :func:`mutual_information`;
    ``levels`` applies to every column of X, e.g. (0, 1) for binary units that may never fire).
    A column of X with a single category has MI 0 (up to float32 rounding). Column names come from
    a DataFrame's columns or y's name, else "X0", "X1", ... Returns an :class:`MIMatrix` of draws
    (n_draws, n_a, n_b).
    """
    (xc, xl, xn), (yc, yl, yn) = _matrix_inputs(X, y, levels, (1, 2))
    draws, a = _draws(xc, xl, yc, yl, concentration, n_draws, seed, units)
    return MIMatrix(
        draws.mi,
        xn,
        yn,
        METHOD,
        units,
        dims=("x", "y"),
        quantity="I(X;Y)",
        diagnostics={"n": xc.shape[0], "x_labels": xl, "y_labels": yl, "concentration": a},
    )


NEURON_MEASURES = ("entropy", "mi", "kl_selectivity")


def neuron_measures(
    T: Any,
    y: Any,
    *,
    concentration: float | None = None,
    levels: Sequence[Any] | None = None,
    n_draws: int = 1000,
    seed: int = 0,
    units: Literal["nats", "bits"] = "nats",
) -> MIMatrix:
    """Per-unit information measures of discrete activations T (N, n_units) about classes y (N,).

    For each unit T_i, posterior draws of (Amjad et al. 2018): its entropy H(T_i), its MI with the
    class I(T_i;Y) = Σ_y p(y) D(P(T_i|y) ‖ P(T_i)), and its KL class selectivity
    max_y D(P(T_i|y) ‖ P(T_i)), all from the same draw of the (T_i, Y) table. Settings as in
    :func:`mi_matrix`. Returns an :class:`MIMatrix` (n_draws, n_units, 3) with columns
    ``NEURON_MEASURES`` = ("entropy", "mi", "kl_selectivity").
    """
    (xc, xl, xn), (yc, yl, _) = _matrix_inputs(T, y, levels, (1,))
    draws, a = _draws(xc, xl, yc, yl, concentration, n_draws, seed, units)
    stacked = np.concatenate([draws.h_x, draws.mi, draws.kl_selectivity], axis=2)
    return MIMatrix(
        stacked,
        xn,
        list(NEURON_MEASURES),
        METHOD,
        units,
        dims=("unit", "measure"),
        quantity="information",
        diagnostics={"n": xc.shape[0], "x_labels": xl, "y_labels": yl, "concentration": a[:, 0]},
    )
