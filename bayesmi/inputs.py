"""Validation and preparation of user data: every check that turns bad input into a clear error.

- Continuous variables: :func:`prepare_variables` (and its two-variable form :func:`prepare_xy`)
  turns paired variables into standardised ``float64`` arrays of shape ``(n, d)``, with clear
  errors for bad input (:func:`as_2d`), pandas objects whose indexes disagree, too few rows,
  constant columns, (near-)deterministic linear relations, and optional dequantisation (jitter)
  of heavily tied columns.
- Labels: :func:`encode_labels` turns class labels of any hashable type into integer codes,
  refusing missing, infinite and continuous-looking values.

Tie rule
--------
A column of ``n`` rows is *heavily tied* when either

* it has fewer than ``0.5 * n`` distinct values, or
* its most common value occurs in at least 2 rows **and** in more than 5 % of
  the rows.

Continuous floating-point data essentially never repeat a value exactly, so
neither condition triggers for them; integer-valued, rounded or otherwise
quantised data (e.g. a N(0, 1) sample rounded to one decimal place) trigger
both. Exact repeats make a Gaussian-mixture likelihood unbounded: a component
can collapse onto one repeated value with variance tending to zero.

pandas objects are accepted and used by position; paired pandas objects must have equal
indexes (:func:`check_aligned`), so that rows are never paired silently by position when their
labels say otherwise.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayesmi.util import check_int, find_stack_level, format_values, pandas_object

__all__ = [
    "TiesWarning",
    "DISCRETE_MAX_LEVELS",
    "discrete_levels",
    "Standardizer",
    "as_2d",
    "check_aligned",
    "check_nondegenerate",
    "encode_labels",
    "check_categories",
    "prepare_xy",
    "prepare_variables",
    "normal_scores",
    "normality_p_values",
    "score_columns",
    "NORMALITY_LEVEL",
    "TIES_DISTINCT_FRACTION",
    "TIES_MODE_FRACTION",
    "MIN_EIGENVALUE",
]

#: A column is heavily tied if it has fewer than this fraction of ``n`` distinct values ...
TIES_DISTINCT_FRACTION = 0.5
#: ... or if its most common value occurs in more than this fraction of the rows (and >= 2 rows).
TIES_MODE_FRACTION = 0.05
#: Smallest eigenvalue of the joint correlation matrix of paired variables below which they are
#: treated as linearly dependent: some standardised linear combination has variance < 1e-10, a
#: Gaussian MI above ~11 nats, past what the float32 mixture fit resolves.
MIN_EIGENVALUE = 1e-10


#: A 1-D numeric variable with at most this many distinct values, each repeated, counts as discrete
#: (see :func:`discrete_levels`).
DISCRETE_MAX_LEVELS = 20


class TiesWarning(UserWarning):
    """Warned when heavily tied columns were dequantised by adding uniform jitter."""


@dataclass(frozen=True, eq=False)
class Standardizer:
    """Per-column affine map ``z = (a - mean) / scale``.

    Attributes
    ----------
    mean : np.ndarray, shape (d,)
        Column means.
    scale : np.ndarray, shape (d,)
        Column standard deviations (``ddof=0``), all finite and > 0.
    """

    mean: np.ndarray
    scale: np.ndarray

    def __post_init__(self) -> None:
        mean = np.array(self.mean, dtype=np.float64, copy=True).reshape(-1)
        scale = np.array(self.scale, dtype=np.float64, copy=True).reshape(-1)
        if mean.shape != scale.shape:
            raise ValueError(
                f"Standardizer: mean has {mean.size} entries but scale has {scale.size}"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise ValueError("Standardizer: mean must be finite and scale finite and > 0")
        mean.setflags(write=False)
        scale.setflags(write=False)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "scale", scale)

    @property
    def dim(self) -> int:
        """Number of columns ``d``."""
        return int(self.mean.size)

    @classmethod
    def fit(cls, a: np.ndarray) -> "Standardizer":
        """Fit to the columns of ``a`` (n, d); every column must be finite and non-constant.

        Computed on ``a / max|a|`` per column so that very large or very small
        magnitudes neither overflow nor underflow.
        """
        a = np.asarray(a, dtype=np.float64)
        if a.ndim != 2:
            raise ValueError(f"Standardizer.fit expects a 2-D array (n, d), got shape {a.shape}")
        c = np.max(np.abs(a), axis=0)
        c = np.where(c > 0, c, 1.0)
        u = a / c
        mean = c * u.mean(axis=0)
        scale = c * u.std(axis=0)
        return cls(mean=mean, scale=scale)

    def _check(self, a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        if a.ndim == 0 or a.shape[-1] != self.dim:
            raise ValueError(
                f"Standardizer expects an array whose last axis has {self.dim} columns, "
                f"got shape {a.shape}"
            )
        return a

    def transform(self, a: np.ndarray) -> np.ndarray:
        """Standardise: (n, d) -> (n, d) (any leading shape ``(..., d)`` works)."""
        a = self._check(a)
        return (a - self.mean) / self.scale

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`: (n, d) -> (n, d)."""
        z = self._check(z)
        return z * self.scale + self.mean


# --------------------------------------------------------------------------- validation

#: Appended to a non-numeric-data error: where class labels belong.
LABELS_HINT = ("If it holds class labels, pass them as y with y_type='categorical' "
               "(bayesmi.estimate_mi(x, labels, y_type='categorical'); MI is symmetric), or use "
               "bayesmi.discrete.mutual_information for two discrete variables.")


def _object_to_float(arr: np.ndarray, name: str) -> np.ndarray:
    """Convert an object-dtype array element-wise; None / pandas NA become NaN."""
    out = np.empty(arr.shape, dtype=np.float64)
    for idx, v in np.ndenumerate(arr):
        where = f"at index {idx if len(idx) != 1 else idx[0]}"
        if v is None or type(v).__name__ == "NAType":
            out[idx] = np.nan
            continue
        if isinstance(v, (bool, np.bool_)):
            raise TypeError(
                f"{name} contains a boolean value {where}; a continuous variable is "
                f"expected. Cast explicitly if you really mean it, e.g. "
                f"np.asarray({name}, dtype=float)."
            )
        if isinstance(v, (str, bytes)):
            raise TypeError(
                f"{name} contains non-numeric data: {type(v).__name__} {v!r} {where}; "
                f"{name} must hold real numbers. {LABELS_HINT}"
            )
        if isinstance(v, numbers.Complex) and not isinstance(v, numbers.Real):
            raise TypeError(
                f"{name} contains a complex value {where}; take the real part or the "
                f"modulus explicitly (np.real / np.abs)."
            )
        try:
            out[idx] = float(v)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} contains non-numeric data: {type(v).__name__} {v!r} {where}; "
                f"{name} must hold real numbers."
            ) from None
    return out


def as_2d(a: Any, name: str) -> np.ndarray:
    """Validate one variable and return a new float64 array of shape (n, d).

    Accepts array-likes of shape (n,) -> (n, 1) or (n, d): numpy arrays, lists,
    pandas Series/DataFrame (by position; see :func:`check_aligned`). Integer
    input is cast to float. The input is never modified.

    Raises
    ------
    TypeError
        ``None``; strings, objects or other non-numeric data; bool or complex
        dtypes (cast explicitly); datetimes.
    ValueError
        Ragged input; ndim 0 or > 2; zero columns; NaN or +-inf values.
    """
    if a is None:
        raise TypeError(f"{name} is None; expected an array-like of real numbers, shape (n,) or (n, d)")
    try:
        arr = np.asarray(a)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(
            f"{name} could not be converted to a rectangular numeric array ({exc}); "
            f"all rows must have the same length."
        ) from None

    kind = arr.dtype.kind
    if kind == "b":
        raise TypeError(
            f"{name} has boolean dtype; a continuous variable is expected. Cast explicitly "
            f"if you really mean it, e.g. np.asarray({name}, dtype=float)."
        )
    if kind == "c":
        raise TypeError(
            f"{name} has complex dtype {arr.dtype}; mutual information here is for real "
            f"variables. Take the real part or the modulus explicitly (np.real / np.abs)."
        )
    if kind in "USV":
        raise TypeError(
            f"{name} contains non-numeric data (dtype {arr.dtype}); {name} must hold real numbers. {LABELS_HINT}"
        )
    if kind in "mM":
        raise TypeError(
            f"{name} has datetime/timedelta dtype {arr.dtype}; convert it explicitly to "
            f"real numbers first (e.g. seconds as float)."
        )
    if kind not in "iufO":
        raise TypeError(f"{name} has unsupported dtype {arr.dtype}; {name} must hold real numbers.")

    if arr.ndim == 0:
        raise ValueError(
            f"{name} must be 1-D (n,) or 2-D (n, d), got a scalar (0-d array)."
        )
    if arr.ndim > 2:
        raise ValueError(
            f"{name} must be 1-D (n,) or 2-D (n, d), got {arr.ndim}-D array of shape {arr.shape}."
        )

    if kind == "O":
        out = _object_to_float(arr, name)
    else:
        out = np.array(arr, dtype=np.float64, copy=True)  # always a fresh base-class ndarray
    if out.ndim == 1:
        out = out.reshape(-1, 1)
    if out.shape[1] == 0:
        raise ValueError(f"{name} has zero columns (shape {out.shape}); need at least one.")

    finite = np.isfinite(out)
    if not finite.all():
        nan = np.isnan(out)
        if nan.any():
            rows, cols = np.nonzero(nan)
            raise ValueError(
                f"{name} contains {int(nan.sum())} NaN value(s) (first at row {rows[0]}, "
                f"column {cols[0]}); remove those rows from every paired variable, or impute them, first."
            )
        rows, cols = np.nonzero(~finite)
        raise ValueError(
            f"{name} contains {int((~finite).sum())} infinite value(s) (first at row "
            f"{rows[0]}, column {cols[0]}); all values must be finite."
        )
    return out


# --------------------------------------------------------------------------- ties


def _tie_stats(col: np.ndarray) -> tuple[np.ndarray, int]:
    """Sorted distinct values of ``col`` and the count of its most common value."""
    values, counts = np.unique(col, return_counts=True)
    return values, int(counts.max())


def _is_heavily_tied(n_distinct: int, max_count: int, n: int) -> bool:
    return (n_distinct < TIES_DISTINCT_FRACTION * n) or (
        max_count >= 2 and max_count > TIES_MODE_FRACTION * n
    )


def discrete_levels(a: Any) -> int | None:
    """The number of distinct values of ``a`` if it is a discrete variable, else None.

    Discrete here: one numeric column (N,) or (N, 1) of finite values with 2 to
    :data:`DISCRETE_MAX_LEVELS` distinct values, heavily tied by the rule of the TiesWarning (a
    constant column is refused as such by the estimators). A density model sees such data as
    spikes: jittered, they become uniform blocks that a mixture of at most 10 Gaussians cannot fit
    (the MI of a 2 x 3 table came out 0.735 nats for a truth of 0.156),
    while a table of ≤ 20 x 20 cells is what a Dirichlet posterior estimates well from hundreds of
    rows. Rounded continuous data (many distinct values) are not discrete: they are dequantised.
    Anything else (strings, several columns, NaN) returns None and is checked by the estimator.
    """
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf" or arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.shape[1] != 1):
        return None
    col = arr.reshape(-1)
    if col.size < 2 or not np.all(np.isfinite(col)):
        return None
    values, max_count = _tie_stats(col)
    if not 2 <= values.size <= DISCRETE_MAX_LEVELS or not _is_heavily_tied(values.size, max_count, col.size):
        return None
    return int(values.size)


def _jitter_width(values: np.ndarray) -> float:
    """Smallest positive gap between sorted distinct ``values`` (len >= 2).

    Gaps at the level of floating-point rounding (<= 8 ulp of the largest
    magnitude) are ignored, since e.g. ``0.1 * 3`` and ``0.3`` are the same
    quantised value; if every gap is that small the smallest gap is used.
    """
    gaps = np.diff(values)
    tol = 8.0 * np.finfo(np.float64).eps * float(np.max(np.abs(values)))
    real = gaps[gaps > tol]
    return float(real.min() if real.size else gaps.min())


def _handle_ties(
    a: np.ndarray, name: str, jitter_ties: bool, rng: np.random.Generator
) -> list[str]:
    """Detect heavily tied columns of ``a`` (n, d); jitter them in place or raise.

    Returns the labels (``"x[0]"`` ...) of jittered columns.
    """
    n = a.shape[0]
    tied: list[tuple[int, int, int, float]] = []
    for j in range(a.shape[1]):
        values, max_count = _tie_stats(a[:, j])
        if _is_heavily_tied(values.size, max_count, n):
            tied.append((j, values.size, max_count, _jitter_width(values)))
    if not tied:
        return []

    details = "; ".join(
        f"column {j}: {nd} distinct values in {n} rows, most common value in "
        f"{mc} rows ({100.0 * mc / n:.1f}%)"
        for j, nd, mc, _ in tied
    )
    cols = [j for j, *_ in tied]
    why = (
        "Repeated values make a Gaussian-mixture likelihood unbounded (a component can "
        "collapse onto a repeated value with vanishing variance), so the fit and the MI "
        "estimate would be unreliable."
    )
    rule = (
        f"(rule: fewer than {TIES_DISTINCT_FRACTION:g}*n distinct values, or one value in "
        f"more than {100 * TIES_MODE_FRACTION:g}% of rows)"
    )
    if not jitter_ties:
        raise ValueError(
            f"{name} has heavily tied (discrete/rounded) column(s) {cols} {rule}: {details}. "
            f"{why} Pass jitter_ties=True to dequantise them by adding uniform noise on "
            f"(-h/2, h/2), h being the smallest gap between distinct values, or "
            f"dequantise the data yourself."
        )

    for j, _, _, h in tied:
        a[:, j] += rng.uniform(-0.5 * h, 0.5 * h, size=n)
        if not np.all(np.isfinite(a[:, j])):
            raise ValueError(
                f"{name} column {j} overflowed when jittered (values too extreme in "
                f"magnitude for float64); rescale {name} first."
            )
    widths = ", ".join(f"column {j}: h={h:.3g}" for j, _, _, h in tied)
    warnings.warn(
        f"{name} has heavily tied (discrete/rounded) column(s) {cols} {rule}: {details}. "
        f"{why} Dequantised them by adding independent uniform noise on (-h/2, h/2), "
        f"h = smallest gap between distinct values ({widths}). To turn this off pass "
        f"jitter_ties=False (an error is then raised instead) and dequantise the data "
        f"yourself.",
        TiesWarning,
        stacklevel=find_stack_level(),
    )
    return [f"{name}[{j}]" for j in cols]


# --------------------------------------------------------------------------- main entry


def _check_constant(a: np.ndarray, name: str) -> None:
    ptp = np.ptp(a, axis=0)
    const = np.flatnonzero(ptp == 0)
    if const.size:
        j = int(const[0])
        raise ValueError(
            f"{name} column {j} is constant (zero variance, every value is {a[0, j]!r}); "
            f"a constant carries no information, drop that column."
            + (f" Constant columns: {const.tolist()}." if const.size > 1 else "")
        )


def _standardize(a: np.ndarray, name: str) -> tuple[np.ndarray, Standardizer]:
    try:
        st = Standardizer.fit(a)  # raises if an sd under/overflows to 0 or inf
        z = st.transform(a)
        ok = bool(np.all(np.isfinite(z)))
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{name} cannot be standardised in float64 (values too extreme in magnitude, "
            f"so the column sd under- or overflows); rescale {name} first."
        )
    return z, st


def prepare_xy(
    x: Any,
    y: Any,
    *,
    min_samples: int = 20,
    jitter_ties: bool = True,
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Validate and standardise joint samples for a Gaussian-mixture MI fit.

    Parameters
    ----------
    x : array-like, shape (n,) or (n, dx)
    y : array-like, shape (n,) or (n, dy)
        Paired samples, row ``i`` of ``x`` with row ``i`` of ``y`` (pandas
        objects by position; their indexes must be equal). Not modified.
    min_samples : int
        Minimum number of rows (default 20).
    jitter_ties : bool
        If True (default), heavily tied columns (see module docstring: fewer
        than ``0.5 * n`` distinct values, or one value in more than 5 % of the
        rows) get independent Uniform(-h/2, h/2) noise, ``h`` the smallest gap
        between the column's sorted distinct values, and a :class:`TiesWarning`
        is emitted. For genuinely discrete data this noise keeps the original
        value recoverable, so the MI is unchanged. If False, a ValueError is
        raised instead.
    seed : int or None
        Seed for ``np.random.default_rng`` used by the jitter; noise is drawn
        for the tied columns of ``x`` first, then of ``y``. Same seed -> same output.

    Returns
    -------
    x2 : np.ndarray, shape (n, dx), float64, columns with mean 0 and sd 1
    y2 : np.ndarray, shape (n, dy), float64, columns with mean 0 and sd 1
    info : dict
        ``{'n', 'dim_x', 'dim_y', 'standardizer_x', 'standardizer_y',
        'jittered_columns'}``; ``jittered_columns`` is a list like ``['x[0]']``.
        The standardizers map jittered (not original) data to ``x2`` / ``y2``.

    Raises
    ------
    TypeError, ValueError
        See :func:`as_2d`; also mismatched lengths, fewer than ``min_samples``
        rows, constant columns, and heavy ties when ``jitter_ties`` is False.
    """
    (x2, y2), (st_x, st_y), jittered = prepare_variables(
        {"x": x, "y": y}, min_samples=min_samples, jitter_ties=jitter_ties, seed=seed
    )
    info = {
        "n": x2.shape[0],
        "dim_x": x2.shape[1],
        "dim_y": y2.shape[1],
        "standardizer_x": st_x,
        "standardizer_y": st_y,
        "jittered_columns": jittered,
    }
    return x2, y2, info


def prepare_variables(
    variables: Mapping[str, Any],
    *,
    min_samples: int = 20,
    jitter_ties: bool = True,
    seed: int | None = 0,
    paired: bool = True,
    joint_dependence: bool = True,
) -> tuple[list[np.ndarray], list[Standardizer], list[str]]:
    """Validate and standardise variables given as ``{name: array-like (n,) or (n, d)}``.

    The rules are those of :func:`prepare_xy` (which calls this with ``{"x": x, "y": y}``): at
    least ``min_samples`` rows, no constant column, heavy ties jittered (one generator seeded by
    ``seed``, variables in order) or an error, and no linear dependence among the columns
    (:func:`check_nondegenerate`). ``paired`` variables (rows are joint samples) must also have
    equal lengths and, for pandas objects, equal indexes, and are checked for dependence jointly
    (unless ``joint_dependence=False``, when the caller checks the pairs it uses); unpaired ones
    (e.g. the two samples of a KL divergence) each on their own. Returns the
    standardised float64 arrays (n, d_j), their :class:`Standardizer` s and the labels of
    jittered columns (``"name[j]"``).
    """
    min_samples = check_int(min_samples, "min_samples", 1)
    if paired:
        check_aligned(variables)
    arrays = {name: as_2d(a, name) for name, a in variables.items()}
    rows = {name: a.shape[0] for name, a in arrays.items()}
    if paired and len(set(rows.values())) > 1:
        raise ValueError(
            " and ".join(arrays) + " have different lengths: "
            + ", ".join(f"{name} has {r} rows" for name, r in rows.items())
            + "; they must be paired samples of the same length."
        )
    for name, n in rows.items():
        if n < min_samples:
            raise ValueError(
                f"{name} has only {n} rows but at least min_samples={min_samples} are required: a "
                f"Gaussian-mixture fit needs at least ~20 samples to estimate component means and "
                f"covariances (and many more for a tight estimate)."
            )
    for name, a in arrays.items():
        _check_constant(a, name)

    rng = np.random.default_rng(seed)
    jittered = [col for name, a in arrays.items() for col in _handle_ties(a, name, jitter_ties, rng)]
    standardised = {name: _standardize(a, name) for name, a in arrays.items()}
    groups = [list(standardised)] if paired and joint_dependence else [[name] for name in standardised]
    for group in groups:
        check_nondegenerate({name: standardised[name][0] for name in group})
    return [z for z, _ in standardised.values()], [st for _, st in standardised.values()], jittered


# --------------------------------------------------------------------------- pairing and dependence


def check_aligned(variables: Mapping[str, Any]) -> None:
    """Raise if paired pandas objects (Series/DataFrame) have indexes that differ.

    Rows are paired by position; a pandas user whose indexes disagree (one object re-ordered or
    filtered) would otherwise get a silently wrong pairing.
    """
    indexed = {name: a.index for name, a in variables.items() if pandas_object(a)}
    names = list(indexed)
    for other in names[1:]:
        if not indexed[names[0]].equals(indexed[other]):
            raise ValueError(
                f"{names[0]} and {other} are pandas objects whose indexes differ; rows are paired by position, "
                f"so they must be aligned first, e.g. {other} = {other}.reindex({names[0]}.index) (or pass "
                ".to_numpy() of each if the positions already match)."
            )


def check_nondegenerate(standardised: Mapping[str, np.ndarray]) -> None:
    """Raise if the columns of the standardised variables (n, d_j) are linearly dependent.

    A linear combination with (almost) zero variance means a deterministic linear relation: between
    the columns of one variable (a redundant column; the joint density is degenerate), or between
    variables (their mutual information is infinite, e.g. y a copy or a linear function of x).
    The threshold is :data:`MIN_EIGENVALUE` on the joint correlation matrix. Nonlinear monotone
    relations (two columns with the same or reversed ranks in every row) are refused too.
    """
    def smallest(z: np.ndarray) -> float:
        return float(np.linalg.eigvalsh(z.T @ z / z.shape[0])[0]) if z.shape[1] > 1 else 1.0

    for name, z in standardised.items():
        if (lam := smallest(z)) < MIN_EIGENVALUE:
            raise ValueError(
                f"the columns of {name} are linearly dependent (a combination of them is constant: smallest "
                f"eigenvalue of their correlation matrix {lam:.1e}); drop the redundant column(s)."
            )
    if len(standardised) > 1:
        lam = smallest(np.concatenate(list(standardised.values()), axis=1))
        if lam < MIN_EIGENVALUE:
            names = " and ".join(standardised)
            raise ValueError(
                f"{names} are (almost) deterministic linear functions of each other: a linear combination of them "
                f"is constant (smallest eigenvalue of their joint correlation matrix {lam:.1e}), e.g. y is a copy "
                "or a rescaling of x. The mutual information of continuous variables in an exact deterministic "
                "relation is infinite, and this close to one it is beyond what a mixture fit resolves."
            )
    _check_monotone_relations(standardised)


def _check_monotone_relations(standardised: Mapping[str, np.ndarray]) -> None:
    """Raise if two columns have the same (or exactly reversed) ranks in every row: one is a strictly
    monotone function of the other on the sample, e.g. y = x³ (infinite MI, which no linear check sees)."""
    columns = [(f"{name}[{j}]", name, z[:, j]) for name, z in standardised.items() for j in range(z.shape[1])]
    n = columns[0][2].shape[0]
    ranks = [np.argsort(np.argsort(c, kind="stable"), kind="stable") for _, _, c in columns]
    for i, (label_i, name_i, _) in enumerate(columns):
        for j in range(i + 1, len(columns)):
            label_j, name_j, _ = columns[j]
            if np.array_equal(ranks[i], ranks[j]) or np.array_equal(ranks[i], n - 1 - ranks[j]):
                what = ("a column of one variable is a function of another: its joint density is degenerate"
                        if name_i == name_j else
                        f"{name_i} determines {name_j}: continuous variables in a deterministic relation have "
                        "infinite mutual information (any noise is below the gaps between neighbouring values: "
                        f"MI above ~2 log N = {2 * np.log(n):.1f} nats, beyond what {n} rows resolve)")
                raise ValueError(f"{label_i} and {label_j} have the same ranks in all {n} rows (one is a strictly "
                                 f"monotone function of the other, e.g. y = x**3); {what}.")


# --------------------------------------------------------------------------- labels


def _label_array(a: Any, name: str, ndims: tuple[int, ...]) -> np.ndarray:
    """``a`` as an array of labels with ndim in ``ndims``, ≥ 2 rows and no missing or infinite value."""
    import pandas as pd  # labels: pandas' missing-value and factorisation rules (imported when needed)

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
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        first = tuple(int(i[0]) for i in np.nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} contains {int(np.sum(~np.isfinite(arr)))} infinite label(s), first at index "
                         f"{first[0] if len(first) == 1 else first}; infinity is not a category.")
    return arr


def _where(name: str, names: list[Any], j: int) -> str:
    """``name``, or "name column <names[j]>" for a variable with several columns."""
    return name if len(names) == 1 else f"{name} column {names[j]!r}"


def encode_labels(
    a: Any, name: str, levels: Sequence[Any] | None = None, ndims: tuple[int, ...] = (1,)
) -> tuple[np.ndarray, list[np.ndarray], list[Any]]:
    """Integer codes (N, n_vars) of the labels in ``a``, the labels of each column and column names.

    Without ``levels`` the categories are the observed labels, sorted when they can be; with
    ``levels`` they are exactly ``levels`` in that order (so unobserved ones count) and any other
    label is an error. Float labels with more than ``TIES_DISTINCT_FRACTION`` · N distinct
    non-integer values look continuous, not like categories (each value would be its own class and
    the MI about log N): an error says so.
    """
    import pandas as pd

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
            raise ValueError(f"levels must be distinct, non-missing labels, got {format_values(levels)}")
    codes = np.empty(cols.shape, dtype=np.int32)
    labels: list[np.ndarray] = []
    for j in range(cols.shape[1]):
        if levels is None:
            codes[:, j], uniques = pd.factorize(cols[:, j], sort=True)
            uniques = np.asarray(uniques)
            if (cols.dtype.kind == "f" and uniques.size > TIES_DISTINCT_FRACTION * n
                    and np.any(uniques != np.round(uniques))):
                raise ValueError(
                    f"{_where(name, names, j)} holds float values with {uniques.size} distinct non-integer values "
                    f"in {n} rows, e.g. {format_values(uniques[:3], 3)}: it looks continuous, not like labels of "
                    "categories (each value would be its own category and the MI about log N). Discretise it "
                    "(e.g. np.digitize) to treat it as categories, or estimate with a continuous variable: "
                    "bayesmi.estimate_mi(x, y) (y_type='continuous', the default)."
                )
            labels.append(uniques)
        else:
            codes[:, j] = index.get_indexer(cols[:, j])
            if np.any(codes[:, j] < 0):
                unknown = pd.unique(cols[codes[:, j] < 0, j])
                raise ValueError(f"{_where(name, names, j)} has labels not in levels, e.g. {format_values(unknown)}")
            labels.append(np.asarray(index))
    return codes, labels, names


def check_categories(labels: list[np.ndarray], names: list[Any], name: str) -> None:
    """Raise if a variable has a single category: its MI with anything is 0, its selectivity undefined."""
    single = [j for j, lab in enumerate(labels) if lab.size < 2]
    if single:
        raise ValueError(
            f"{_where(name, names, single[0])} has a single category ({format_values(labels[single[0]])}): "
            "its mutual information with anything is 0 and class selectivity is undefined; "
            "drop it, or list its possible categories as levels."
        )


def _rank_probabilities(a: np.ndarray) -> np.ndarray:
    """(mid-rank − ½) / N of every value in its column of ``a`` (N, d): (N, d) in (0, 1), ties sharing one."""
    a = np.asarray(a, np.float64)
    ranks = np.empty_like(a)
    for j in range(a.shape[1]):
        _, inverse, counts = np.unique(a[:, j], return_inverse=True, return_counts=True)
        mid = np.cumsum(counts) - (counts - 1) / 2.0  # mid-rank of each distinct value, 1-based
        ranks[:, j] = mid[inverse]
    return (ranks - 0.5) / a.shape[0]


def normal_scores(a: np.ndarray) -> np.ndarray:
    """Every column of ``a`` (N, d) replaced by the normal quantiles of its mid-ranks, Φ⁻¹((rank − ½) / N).

    A strictly increasing map of each column (tied values share a score), so I(X;Y) is unchanged,
    while heavy tails, skewed or bounded margins become standard normal ones. (N, d) float64.
    """
    from scipy.special import ndtri

    return ndtri(_rank_probabilities(a))


#: Degrees of freedom :func:`copula_dof` chooses among (inf: the Gaussian copula, normal scores).
COPULA_DOF = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 64.0, np.inf)


def copula_probabilities(a: np.ndarray) -> np.ndarray:
    """The probability integral transform of every column of ``a`` (N, d): Φ((a − mean) / sd) where the
    normality test (:func:`normality_p_values`) keeps a normal margin at :data:`NORMALITY_LEVEL`, the
    mid-rank probabilities (rank − ½) / N elsewhere. (N, d) in (0, 1).

    Parametric margins where they fit, ranks where they do not: rank probabilities are off by up to
    1 / (N φ(z)) in the tails, more than the conditional spread of strongly dependent columns (at 5
    nats and N = 2000, 0.11 against 0.007 at z = 3), and a t copula then fits those ranks better
    than the Gaussian copula that made them."""
    from scipy.special import ndtr

    a = np.asarray(a, np.float64)
    normal = normality_p_values(a) >= NORMALITY_LEVEL
    probs = np.empty_like(a)
    probs[:, normal] = ndtr((a[:, normal] - a[:, normal].mean(0)) / a[:, normal].std(0))
    probs[:, ~normal] = _rank_probabilities(a[:, ~normal])
    return probs


def t_scores(a: np.ndarray, dof: float) -> np.ndarray:
    """Every column of ``a`` (N, d) replaced by the Student-t (``dof``) quantiles of its mid-ranks
    (normal scores where ``dof`` is inf): strictly increasing maps, so I(X;Y) is unchanged, and data
    with a t copula of ``dof`` become a multivariate t. (N, d) float64.

    Ranks, not :func:`copula_probabilities`: a column that passes the normality test need not be
    normal (asinh of a t often passes at N = 1000), and t quantiles of its fitted normal CDF biased
    the t fit's MI (0.212 against 0.196 by ranks on asinh-Student 2 + 2, truth 0.193)."""
    return _t_quantiles(_rank_probabilities(a), dof)


def _t_quantiles(probs: np.ndarray, dof: float) -> np.ndarray:
    """Student-t (``dof``; normal where inf) quantiles of the probabilities (N, d): (N, d) float64."""
    from scipy.special import ndtri, stdtrit

    return ndtri(probs) if np.isinf(dof) else stdtrit(dof, probs)


def _t_copula_log_likelihood(scores: np.ndarray, dof: float, iterations: int = 50) -> float:
    """Log-likelihood (nats) of a t copula (``dof``; Gaussian where inf) with its correlation matrix
    fitted to the t scores (N, d): the multivariate t density of the scores with that correlation,
    minus their margins' univariate t densities. The correlation comes from EM for a centred t with
    the scale renormalised to unit diagonal (Demarta & McNeil 2005). −inf where that correlation is
    singular (ranks in an almost deterministic relation)."""
    try:
        return _t_copula_fit(scores, dof, iterations)
    except np.linalg.LinAlgError:
        return -np.inf


def _t_copula_fit(scores: np.ndarray, dof: float, iterations: int) -> float:
    """:func:`_t_copula_log_likelihood`, raising LinAlgError on a singular correlation."""
    from scipy import special

    n, d = scores.shape
    corr = np.corrcoef(scores, rowvar=False).reshape(d, d)
    if np.isinf(dof):
        sign, log_det = np.linalg.slogdet(corr)
        quad = np.einsum("ni,ij,nj->n", scores, np.linalg.inv(corr) - np.eye(d), scores)
        return float(-0.5 * n * log_det - 0.5 * quad.sum()) if sign > 0 else -np.inf
    for _ in range(iterations):
        weight = (dof + d) / (dof + np.einsum("ni,ij,nj->n", scores, np.linalg.inv(corr), scores))
        scale = (weight[:, None] * scores).T @ scores / n
        corr = scale / np.sqrt(np.outer(np.diag(scale), np.diag(scale)))
    sign, log_det = np.linalg.slogdet(corr)
    if sign <= 0:
        return -np.inf
    distance = np.einsum("ni,ij,nj->n", scores, np.linalg.inv(corr), scores)
    joint = (special.gammaln((dof + d) / 2) - special.gammaln(dof / 2) - 0.5 * d * np.log(dof * np.pi)
             - 0.5 * log_det - 0.5 * (dof + d) * np.log1p(distance / dof))
    margins = (special.gammaln((dof + 1) / 2) - special.gammaln(dof / 2) - 0.5 * np.log(dof * np.pi)
               - 0.5 * (dof + 1) * np.log1p(scores**2 / dof))
    return float(joint.sum() - margins.sum())


#: :func:`copula_dof` looks at a random subsample of this many rows of a larger data set (its cost is ~13 t
#: quantile maps and EM fits of all rows; on the suite at N = 1000 every t copula won by ≥ 40 nats).
COPULA_ROWS = 5000


def copula_dof(a: np.ndarray, seed: int = 0, max_rows: int = COPULA_ROWS) -> float:
    """The degrees of freedom of :data:`COPULA_DOF` whose t copula fits the rows ``a`` (N, D) best, by
    the copula likelihood of their :func:`copula_probabilities` (with ranks, the pseudo-likelihood of
    Genest, Ghoudi & Rivest 1995; comparable across ν: each candidate scores the same probabilities,
    and normal margins are parametric where they fit); inf is the Gaussian copula, kept unless
    a t copula beats it by more than BIC's price of its one extra parameter, ½ log N nats. Beyond
    ``max_rows`` rows, on a random subsample of them (``seed``)."""
    a = np.asarray(a, np.float64)
    if len(a) > max_rows:
        a = a[np.random.default_rng(seed).choice(len(a), max_rows, replace=False)]
    probs = copula_probabilities(a)
    fits = np.array([_t_copula_log_likelihood(_t_quantiles(probs, dof), dof) for dof in COPULA_DOF])
    best = int(np.argmax(fits[:-1]))
    return float(COPULA_DOF[best]) if fits[best] - fits[-1] > 0.5 * np.log(len(a)) else np.inf


def normality_p_values(a: np.ndarray) -> np.ndarray:
    """D'Agostino–Pearson omnibus test of a normal margin for every column of ``a`` (N, d), N ≥ 20: (d,) p-values.

    K² = Z_skew² + Z_kurt² ~ χ²₂ under normality (D'Agostino, Belanger & D'Agostino 1990): Z_skew is
    D'Agostino's (1970) transform of the sample skewness, Z_kurt Anscombe & Glynn's (1983) of the
    sample kurtosis; p = exp(−K²/2). The same numbers as ``scipy.stats.normaltest``, without its import.
    """
    a = np.asarray(a, np.float64)
    n = a.shape[0]
    centred = a - a.mean(0)
    m2 = np.mean(centred**2, 0)
    skew = np.mean(centred**3, 0) / m2**1.5
    kurt = np.mean(centred**4, 0) / m2**2
    y = skew * np.sqrt((n + 1) * (n + 3) / (6.0 * (n - 2)))
    beta2 = 3.0 * (n**2 + 27 * n - 70) * (n + 1) * (n + 3) / ((n - 2.0) * (n + 5) * (n + 7) * (n + 9))
    w2 = -1 + np.sqrt(2 * (beta2 - 1))
    delta, alpha = 1 / np.sqrt(0.5 * np.log(w2)), np.sqrt(2.0 / (w2 - 1))
    y = np.where(y == 0, 1, y)
    z_skew = delta * np.log(y / alpha + np.sqrt((y / alpha) ** 2 + 1))
    mean_kurt = 3.0 * (n - 1) / (n + 1)
    var_kurt = 24.0 * n * (n - 2) * (n - 3) / ((n + 1) * (n + 1.0) * (n + 3) * (n + 5))
    x = (kurt - mean_kurt) / np.sqrt(var_kurt)
    root_beta1 = 6.0 * (n * n - 5 * n + 2) / ((n + 7) * (n + 9)) * np.sqrt(6.0 * (n + 3) * (n + 5) / (n * (n - 2) * (n - 3)))
    big_a = 6.0 + 8.0 / root_beta1 * (2.0 / root_beta1 + np.sqrt(1 + 4.0 / root_beta1**2))
    denom = 1 + x * np.sqrt(2 / (big_a - 4.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        term2 = np.sign(denom) * np.cbrt((1 - 2.0 / big_a) / np.abs(denom))
    z_kurt = (1 - 2 / (9.0 * big_a) - term2) / np.sqrt(2 / (9.0 * big_a))
    return np.exp(-0.5 * (z_skew**2 + z_kurt**2))


#: ``score_columns(..., "auto")`` gives a column normal scores when D'Agostino and Pearson's test of
#: skewness and kurtosis rejects a normal margin at this level (a Gaussian column is scored with this
#: probability).
NORMALITY_LEVEL = 1e-3


def score_columns(a: np.ndarray, transform: str, tested: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows a (N, D) with normal scores in the columns ``transform`` picks, and which those are (D,) bool:
    "none" no column, "normal_scores" (or "flow") every column, "auto" the columns whose margin in
    ``tested`` (N, D), default ``a``, the normality test rejects at :data:`NORMALITY_LEVEL`. I(X;Y) is
    invariant to these maps of x or y."""
    if transform == "none":
        scored = np.zeros(a.shape[1], bool)
    elif transform in ("normal_scores", "flow"):
        scored = np.ones(a.shape[1], bool)
    else:
        scored = normality_p_values(a if tested is None else tested) < NORMALITY_LEVEL
    out = np.array(a, copy=True)
    out[:, scored] = normal_scores(a[:, scored])
    return out, scored
