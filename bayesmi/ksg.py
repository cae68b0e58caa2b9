"""The Kraskov–Stögbauer–Grassberger k-nearest-neighbour estimator of I(X;Y), pure NumPy/SciPy.

KSG (Kraskov et al. 2004, estimator 1): with ε_i twice the max-norm distance from row i to its
k-th neighbour in the joint space, n_x(i) and n_y(i) the numbers of other rows strictly within
ε_i / 2 in the x and y spaces,

    Î = ψ(k) + ψ(N) − ⟨ψ(n_x + 1) + ψ(n_y + 1)⟩  (nats).

It is consistent for any continuous joint density, biased towards 0 at strong dependence and
small N, and not invariant to rescaling a coordinate (callers standardise first). Here it is a
baseline (``estimate_mi(method="ksg")``) and the discrepancy of bayesmi's posterior predictive
check (:mod:`bayesmi.checks`). Its sampling spread comes from half-samples without replacement:
for a statistic that is a mean over rows, the variance at N/2 rows drawn without replacement
from N is exactly the variance at N, so the spread of half-sample estimates around their mean
estimates the spread of the full-sample estimate without the duplicates that bootstrap
resampling would create (duplicates put neighbours at distance 0).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

__all__ = ["ksg_mutual_information", "class_mutual_information", "half_sample_estimates", "DEFAULT_NEIGHBOURS"]

#: k of the estimator: 10 trades a little bias (stronger at small k's noise) for a smaller variance,
#: the choice of the Beyond-Normal benchmark (Czyż et al. 2023) and of most comparisons.
DEFAULT_NEIGHBOURS = 10


def _marginal_counts(a: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Number of other rows of ``a`` (N, d) strictly within max-norm ``radius`` (N,) of each row: (N,).

    One column is counted on its sorted values (O(N log N), no tree): the checks' column pairs spent 70%
    of their time in tree queries."""
    if a.shape[1] == 1:
        return _counts_within(a[:, 0], radius)
    inside = np.nextafter(radius, 0.0)  # strict inequality
    return cKDTree(a).query_ball_point(a, inside, p=np.inf, return_length=True, workers=-1) - 1


def _counts_within(a: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """:func:`_marginal_counts` of one column a (N,): the rows j ≠ i with |a_j − a_i| < radius_i, the
    distance rounded and compared as the tree does, so the counts are the tree's exactly."""
    inside = np.nextafter(radius, 0.0)
    s = np.sort(a)
    last = s.size - 1
    lo = np.searchsorted(s, a - inside, "left")  # first value within reach, up to rounding
    hi = np.searchsorted(s, a + inside, "right")  # first value beyond reach above, up to rounding
    while True:  # settle the rounding at both edges (values within an ulp of a_i ± radius_i)
        below, at_lo = s[np.maximum(lo - 1, 0)], s[np.minimum(lo, last)]
        at_hi, above = s[np.maximum(hi - 1, 0)], s[np.minimum(hi, last)]
        down = (lo > 0) & (np.abs(a - below) <= inside)
        up = (lo <= last) & (at_lo < a) & (np.abs(a - at_lo) > inside)
        back = (hi > 0) & (at_hi > a) & (np.abs(at_hi - a) > inside)
        ahead = (hi <= last) & (np.abs(above - a) <= inside)
        if not (down.any() or up.any() or back.any() or ahead.any()):
            return hi - lo - 1
        lo, hi = lo - down + up, hi - back + ahead


def ksg_mutual_information(x: np.ndarray, y: np.ndarray, k: int = DEFAULT_NEIGHBOURS) -> float:
    """KSG estimate of I(X;Y) in nats from rows x (N, dx) and y (N, dy), k < N neighbours.

    Rows must be distinct in the joint space (ties put the k-th neighbour at distance 0).
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    n = len(x)
    if len(y) != n:
        raise ValueError(f"x and y must have the same number of rows, got {n} and {len(y)}")
    if not 1 <= k < n:
        raise ValueError(f"k must lie in [1, N) = [1, {n}), got {k}")
    joint = np.concatenate([x, y], axis=1)
    radius = cKDTree(joint).query(joint, k=k + 1, p=np.inf, workers=-1)[0][:, k]
    n_x, n_y = _marginal_counts(x, radius), _marginal_counts(y, radius)
    return float(digamma(k) + digamma(n) - np.mean(digamma(n_x + 1) + digamma(n_y + 1)))


def class_mutual_information(x: np.ndarray, codes: np.ndarray, k: int = DEFAULT_NEIGHBOURS) -> float:
    """Nearest-neighbour estimate of I(X;C) in nats of continuous rows x (N, d) and class codes (N,)
    (Ross 2014, the KSG idea for a discrete C).

    For row i of class c (N_c rows), d_i is the max-norm distance to its k_c-th neighbour within its
    class (k_c = min(k, N_c − 1)) and m_i the number of other rows of the whole sample within d_i:
    Î = ψ(N) − ⟨ψ(N_c)⟩ + ⟨ψ(k_c)⟩ − ⟨ψ(m_i)⟩, over the N rows of classes with at least two rows.
    """
    x = np.asarray(x, np.float64)
    x = x.reshape(len(x), -1)
    codes = np.asarray(codes)
    if codes.shape != (len(x),):
        raise ValueError(f"codes must hold one class per row, shape ({len(x)},), got {codes.shape}")
    classes, counts = np.unique(codes, return_counts=True)
    keep = np.isin(codes, classes[counts > 1])
    x, codes = x[keep], codes[keep]
    if len(x) < 2:
        raise ValueError("no class has two rows: the estimate needs neighbours within a class")
    radius, k_row, n_class = np.empty(len(x)), np.empty(len(x)), np.empty(len(x))
    for c in np.unique(codes):
        rows = np.flatnonzero(codes == c)
        k_c = min(k, rows.size - 1)
        radius[rows] = cKDTree(x[rows]).query(x[rows], k=k_c + 1, p=np.inf, workers=-1)[0][:, k_c]
        k_row[rows], n_class[rows] = k_c, rows.size
    m = cKDTree(x).query_ball_point(x, radius, p=np.inf, return_length=True, workers=-1) - 1  # others within d_i
    return float(digamma(len(x)) - np.mean(digamma(n_class)) + np.mean(digamma(k_row)) - np.mean(digamma(m)))


def half_sample_estimates(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, num: int, k: int = DEFAULT_NEIGHBOURS
) -> np.ndarray:
    """KSG estimates (num,) in nats on ``num`` random halves (⌊N/2⌋ rows without replacement) of (x, y).

    Their spread around their mean estimates the sampling spread of the estimate on all N rows
    (see the module docstring); their mean is more biased than the full estimate (fewer rows).
    """
    n = len(x)
    half = n // 2
    if half <= k:
        raise ValueError(f"half-samples of {n} rows have {half} rows, too few for k = {k} neighbours")
    rows = [rng.permutation(n)[:half] for _ in range(num)]
    return np.array([ksg_mutual_information(x[r], y[r], k) for r in rows])
