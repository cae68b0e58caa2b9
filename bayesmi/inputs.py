"""Validation and preparation of joint samples ``(x, y)`` before a Gaussian-mixture fit.

The public entry point is :func:`prepare_xy`. It turns the user's two variables
into standardised ``float64`` arrays of shape ``(n, d)``, with clear errors for
bad input and optional dequantisation (jitter) of heavily tied columns.

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

Only numpy is used; pandas objects are accepted through ``np.asarray`` and are
used *positionally* (their index is ignored, so ``x`` and ``y`` must already be
aligned row by row).
"""

from __future__ import annotations

import numbers
import operator
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "TiesWarning",
    "Standardizer",
    "as_2d",
    "prepare_xy",
    "prepare_variables",
    "TIES_DISTINCT_FRACTION",
    "TIES_MODE_FRACTION",
]

#: A column is heavily tied if it has fewer than this fraction of ``n`` distinct values ...
TIES_DISTINCT_FRACTION = 0.5
#: ... or if its most common value occurs in more than this fraction of the rows (and >= 2 rows).
TIES_MODE_FRACTION = 0.05


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
                f"{name} must hold real numbers."
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
    pandas Series/DataFrame (via ``np.asarray``; the index is ignored). Integer
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
            f"{name} contains non-numeric data (dtype {arr.dtype}); {name} must hold real numbers."
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
                f"column {cols[0]}); remove or impute missing rows in both x and y first."
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
        stacklevel=3,
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
        objects are used positionally). Not modified.
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
) -> tuple[list[np.ndarray], list[Standardizer], list[str]]:
    """Validate and standardise paired variables given as ``{name: array-like (n,) or (n, d)}``.

    The rules are those of :func:`prepare_xy` (which calls this with ``{"x": x, "y": y}``):
    equal lengths, at least ``min_samples`` rows, no constant column, heavy ties jittered
    (one generator seeded by ``seed``, variables in order) or an error. Returns the
    standardised float64 arrays (n, d_j), their :class:`Standardizer` s and the labels of
    jittered columns (``"name[j]"``).
    """
    try:
        min_samples = operator.index(min_samples)
    except TypeError:
        raise TypeError(f"min_samples must be an integer, got {type(min_samples).__name__}") from None
    if min_samples < 1:
        raise ValueError(f"min_samples must be >= 1, got {min_samples}")

    arrays = {name: as_2d(a, name) for name, a in variables.items()}
    names = " and ".join(arrays)
    rows = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(rows.values())) > 1:
        raise ValueError(
            f"{names} have different lengths: "
            + ", ".join(f"{name} has {r} rows" for name, r in rows.items())
            + "; they must be paired samples of the same length."
        )
    n = next(iter(rows.values()))
    if n < min_samples:
        verb = "has" if len(arrays) == 1 else "have"
        raise ValueError(
            f"{names} {verb} only {n} rows but at least min_samples={min_samples} are "
            f"required: a Gaussian-mixture fit needs at least ~20 samples to estimate "
            f"component means and covariances (and many more for a tight estimate)."
        )
    for name, a in arrays.items():
        _check_constant(a, name)

    rng = np.random.default_rng(seed)
    jittered = [col for name, a in arrays.items() for col in _handle_ties(a, name, jitter_ties, rng)]
    standardised = [_standardize(a, name) for name, a in arrays.items()]
    return [z for z, _ in standardised], [st for _, st in standardised], jittered
