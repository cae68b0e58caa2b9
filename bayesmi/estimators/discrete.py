"""Mutual information and entropies of discrete (labelled) variables under a Dirichlet posterior.

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

The table mathematics (Gamma sampler, exact measures per draw) is :mod:`bayesmi.tables`; this
module turns labelled data into tables and results: :func:`mutual_information`, :func:`entropy`,
:func:`pairwise_mutual_information` (every column of X with every column of y) and
:func:`neuron_measures`. Labels of any hashable type are accepted; continuous-looking floats,
infinities and missing values are refused (:func:`bayesmi.inputs.encode_labels`), and so are tables
of more than :data:`MAX_TABLE_CELLS` cells.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from functools import partial
from typing import Any, Literal

import jax.numpy as jnp
import numpy as np

from bayesmi.arviz_adapter import from_groups
from bayesmi.draws import draw_stats
from bayesmi.inputs import check_aligned, check_categories, encode_labels
from bayesmi.results import MIMatrix, MIResult
from bayesmi.tables import TableMeasures, contingency_table, grid_measures, pair_alphas
from bayesmi.util import check_int, find_stack_level, renamed_arguments, to_units

__all__ = ["mutual_information", "entropy", "pairwise_mutual_information", "neuron_measures", "NEURON_MEASURES",
           "MAX_TABLE_CELLS", "METHOD"]

METHOD = "dirichlet"
NEURON_MEASURES = ("entropy", "mi", "kl_selectivity")
#: Largest table (Kx·Ky cells) accepted: every draw draws a Gamma variate per cell, so the cost is
#: num_draws × cells (4000 draws of a 100 000-cell table are 4e8 variates, about a minute here).
MAX_TABLE_CELLS = 100_000
_LONG_NAMES = {"mi": "I(X;Y)", "h_x": "H(X)", "h_y": "H(Y)", "h_x_given_y": "H(X|Y)", "entropy": "H(X)"}


def _concentration(concentration: float | None, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
    """Concentration per cell (n_a, n_b) of each pair's table: ``concentration`` or Perks 1/(Kx·Ky)."""
    if concentration is None:
        return 1.0 / np.outer(kx, ky)
    if not (isinstance(concentration, (int, float, np.number)) and not isinstance(concentration, bool)
            and math.isfinite(concentration) and concentration > 0):
        raise ValueError(f"concentration must be a finite number > 0 or None (Perks prior), got {concentration!r}")
    return np.full((kx.size, ky.size), float(concentration))


def _draws(
    x: np.ndarray, x_labels: list[np.ndarray], y: np.ndarray, y_labels: list[np.ndarray],
    concentration: float | None, num_draws: int, seed: int, units: str,
) -> tuple[TableMeasures, np.ndarray]:
    """Posterior draws (num_draws, n_a, n_b) of every measure in ``units`` and the concentrations (n_a, n_b)."""
    to_units(1.0, units)  # validates units
    num_draws = check_int(num_draws, "num_draws", 4)
    kx = np.array([lab.size for lab in x_labels])
    ky = np.array([lab.size for lab in y_labels])
    if kx.max() * ky.max() > MAX_TABLE_CELLS:
        raise ValueError(
            f"the tables would have {kx.max()} x {ky.max()} = {kx.max() * ky.max()} cells, more than "
            f"MAX_TABLE_CELLS = {MAX_TABLE_CELLS}: with so many categories most cells are empty, the posterior is "
            "mostly prior and each of the num_draws draws costs a variate per cell. Merge or bin categories first."
        )
    a = _concentration(concentration, kx, ky)
    alpha = pair_alphas(jnp.asarray(x), jnp.asarray(kx), jnp.asarray(y), jnp.asarray(ky), jnp.asarray(a, jnp.float32),
                        shape=(int(kx.max()), int(ky.max())))
    out = grid_measures(seed, alpha, n_draws=num_draws)
    return TableMeasures(*(to_units(np.asarray(v, dtype=np.float64), units) for v in out)), a


def _counts(x: np.ndarray, y: np.ndarray, kx: int, ky: int) -> np.ndarray:
    """Integer counts (kx, ky) of the first columns of the codes x, y (N, 1)."""
    return np.asarray(contingency_table(jnp.asarray(x[:, 0]), jnp.asarray(y[:, 0]), kx, ky)).astype(np.int64)


def _table_idata(posterior: dict[str, np.ndarray], counts: np.ndarray, coords: dict[str, np.ndarray], a: float,
                 units: str) -> Any:
    """InferenceData of table measures (posterior draws (1, num_draws) by name) and their counts."""
    idata = from_groups({"posterior": posterior, "observed_data": {"counts": counts},
                         "constant_data": {"concentration": np.array(a)}}, coords, {"counts": list(coords)})
    for var in posterior:
        idata.posterior[var].attrs.update(units=units, long_name=_LONG_NAMES[var])
    return idata


def _table_result(variable: str, draws: TableMeasures, names: dict[str, str], counts: np.ndarray,
                  coords: dict[str, np.ndarray], a: float, units: str, truth: float | None,
                  diagnostics: dict) -> MIResult:
    """An :class:`MIResult` of the ``names`` fields of ``draws`` (num_draws, 1, 1), main one ``variable``."""
    posterior = {var: getattr(draws, field)[None, :, 0, 0] for var, field in names.items()}
    main = posterior[variable]
    stats = draw_stats(main[None])
    ess_bulk, ess_tail = float(stats.ess_bulk[0]), float(stats.ess_tail[0])
    idata = partial(_table_idata, posterior, counts, coords, a, units)
    diagnostics = dict(
        rhat=float("nan"),  # one chain of i.i.d. draws: nothing to compare
        ess_bulk=ess_bulk, ess_tail=ess_tail, problems=[],
        n=int(counts.sum()), counts=counts, concentration=a, samples_per_cell=float(counts.sum() / counts.size),
        **diagnostics,
    )
    return MIResult(draws=main, idata=idata, method=METHOD, units=units, mc_se=0.0, diagnostics=diagnostics,
                    truth=None if truth is None else to_units(truth, units), variable=variable,
                    related={name: draws for name, draws in posterior.items() if name != variable})


@renamed_arguments(n_draws="num_draws")
def mutual_information(
    x: Any,
    y: Any,
    *,
    concentration: float | None = None,
    x_levels: Sequence[Any] | None = None,
    y_levels: Sequence[Any] | None = None,
    num_draws: int = 4000,
    seed: int = 0,
    units: Literal["nats", "bits"] = "nats",
    truth: float | None = None,
) -> MIResult:
    """Posterior of I(X;Y) for discrete x, y (N,) of any hashable labels, under a Dirichlet table.

    Parameters
    ----------
    x, y : array-like (N,) of labels (ints, strings, ...), paired row by row (pandas objects must have
        equal indexes); no missing or infinite values, no continuous-looking floats.
    concentration : Dirichlet concentration per cell; None (default) is Perks' 1/(Kx·Ky)
        (see the module docstring for the prior's effect on small samples).
    x_levels, y_levels : all categories of x / y in order (unobserved ones included); by default
        the observed labels, sorted.
    num_draws : i.i.d. posterior draws (one chain).
    units : "nats" (default) or "bits" for every number on the result.
    truth : the known MI in nats, if any (toy data).

    Returns
    -------
    MIResult with ``draws`` (1, num_draws) of I(X;Y); ``idata.posterior`` also holds h_x, h_y and
    h_x_given_y, ``idata.observed_data`` the counts (Kx, Ky) with the labels as coordinates.
    ``mc_se`` is 0 (each draw's MI is an exact sum); ``diagnostics`` holds the counts, the labels
    ("x_labels", "y_labels") and ESS (R-hat is NaN: one chain of independent draws).
    """
    check_aligned({"x": x, "y": y})
    (xc, [xl], _), (yc, [yl], _) = encode_labels(x, "x", x_levels), encode_labels(y, "y", y_levels)
    if xc.shape[0] != yc.shape[0]:
        raise ValueError(f"x and y have different lengths ({xc.shape[0]} and {yc.shape[0]}); "
                         "they must be paired samples")
    check_categories([xl], ["x"], "x")
    check_categories([yl], ["y"], "y")
    draws, a = _draws(xc, [xl], yc, [yl], concentration, num_draws, seed, units)
    counts = _counts(xc, yc, xl.size, yl.size)
    names = {"mi": "mi", "h_x": "h_x", "h_y": "h_y", "h_x_given_y": "h_x_given_y"}
    return _table_result("mi", draws, names, counts, {"x": xl, "y": yl}, float(a[0, 0]), units, truth,
                         {"x_labels": xl, "y_labels": yl})


@renamed_arguments(n_draws="num_draws")
def entropy(
    x: Any,
    *,
    concentration: float | None = None,
    levels: Sequence[Any] | None = None,
    num_draws: int = 4000,
    seed: int = 0,
    units: Literal["nats", "bits"] = "nats",
    truth: float | None = None,
) -> MIResult:
    """Posterior of the entropy H(X) of discrete x (N,) under p ~ Dirichlet(counts + a).

    Same settings as :func:`mutual_information`; the default concentration is Perks' 1/K.
    Returns an MIResult with variable "entropy" and ``draws`` (1, num_draws).
    """
    xc, [xl], _ = encode_labels(x, "x", levels)
    yc = np.zeros_like(xc)
    yl = np.array([None], dtype=object)
    draws, a = _draws(xc, [xl], yc, [yl], concentration, num_draws, seed, units)
    counts = _counts(xc, yc, xl.size, 1)[:, 0]
    return _table_result("entropy", draws, {"entropy": "h_x"}, counts, {"x": xl}, float(a[0, 0]), units, truth,
                         {"x_labels": xl})


def _matrix_inputs(
    X: Any, y: Any, levels: Sequence[Any] | None, y_ndims: tuple[int, ...]
) -> tuple[tuple[np.ndarray, list[np.ndarray], list[Any]], tuple[np.ndarray, list[np.ndarray], list[Any]]]:
    """Encoded X (N, n_a) and y (N, n_b) with matching lengths and ≥ 2 classes in every y column."""
    check_aligned({"X": X, "y": y})
    ex = encode_labels(X, "X", levels, ndims=(1, 2))
    ey = encode_labels(y, "y", None, ndims=y_ndims)
    if ex[0].shape[0] != ey[0].shape[0]:
        raise ValueError(f"X and y have different numbers of rows ({ex[0].shape[0]} and {ey[0].shape[0]})")
    check_categories(ey[1], ey[2], "y")
    return ex, ey


@renamed_arguments(n_draws="num_draws")
def pairwise_mutual_information(
    X: Any,
    y: Any,
    *,
    concentration: float | None = None,
    levels: Sequence[Any] | None = None,
    num_draws: int = 1000,
    seed: int = 0,
    units: Literal["nats", "bits"] = "nats",
) -> MIMatrix:
    """Posterior of I(X_i; Y_j) for every discrete column X_i of X (N, n_a) and Y_j of y (N,) or (N, n_b).

    Each pair has its own Dirichlet table posterior (settings as in :func:`mutual_information`;
    ``levels`` applies to every column of X, e.g. (0, 1) for binary units that may never fire).
    A column of X with a single category has MI 0 (up to float32 rounding). Column names come from
    a DataFrame's columns or y's name, else "X0", "X1", ... Returns an :class:`MIMatrix` of draws
    (num_draws, n_a, n_b). For continuous or mixed columns use :func:`bayesmi.mi_matrix`.
    """
    (xc, xl, xn), (yc, yl, yn) = _matrix_inputs(X, y, levels, (1, 2))
    draws, a = _draws(xc, xl, yc, yl, concentration, num_draws, seed, units)
    return MIMatrix(draws.mi, xn, yn, METHOD, units, dims=("x", "y"), quantity="I(X;Y)",
                    diagnostics={"n": xc.shape[0], "x_labels": xl, "y_labels": yl, "concentration": a})


@renamed_arguments(n_draws="num_draws")
def neuron_measures(
    T: Any,
    y: Any,
    *,
    concentration: float | None = None,
    levels: Sequence[Any] | None = None,
    num_draws: int = 1000,
    seed: int = 0,
    units: Literal["nats", "bits"] = "nats",
) -> MIMatrix:
    """Per-unit information measures of discrete activations T (N, n_units) about classes y (N,).

    For each unit T_i, posterior draws of (Amjad et al. 2018): its entropy H(T_i), its MI with the
    class I(T_i;Y) = Σ_y p(y) D(P(T_i|y) ‖ P(T_i)), and its KL class selectivity
    max_y D(P(T_i|y) ‖ P(T_i)), all from the same draw of the (T_i, Y) table. Settings as in
    :func:`pairwise_mutual_information`. Returns an :class:`MIMatrix` (num_draws, n_units, 3) with
    columns ``NEURON_MEASURES`` = ("entropy", "mi", "kl_selectivity").
    """
    (xc, xl, xn), (yc, yl, _) = _matrix_inputs(T, y, levels, (1,))
    draws, a = _draws(xc, xl, yc, yl, concentration, num_draws, seed, units)
    stacked = np.concatenate([draws.h_x, draws.mi, draws.kl_selectivity], axis=2)
    return MIMatrix(stacked, xn, list(NEURON_MEASURES), METHOD, units, dims=("unit", "measure"),
                    quantity="information",
                    diagnostics={"n": xc.shape[0], "x_labels": xl, "y_labels": yl, "concentration": a[:, 0]})


def __getattr__(name: str) -> Any:
    if name == "mi_matrix":
        warnings.warn("bayesmi.discrete.mi_matrix is now bayesmi.discrete.pairwise_mutual_information "
                      "(bayesmi.mi_matrix is the matrix of continuous and mixed columns); the old name will be "
                      "removed in the next release", DeprecationWarning, stacklevel=find_stack_level())
        return pairwise_mutual_information
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
