"""Statistics of the draws of a quantity from several chains (NumPy only; no JAX, no ArviZ).

:func:`draw_stats` gives the rank-normalised split R-hat and the bulk and tail effective sample
sizes of Vehtari et al. (2021, "Rank-normalization, folding, and localization: an improved R-hat"),
:func:`mcse` the Monte Carlo standard errors of the mean and sd, :func:`hdi` the highest-density
interval. They are ArviZ's formulas (equal to ~1e-12 on both ArviZ lines, tested), computed here
because ArviZ, with xarray and matplotlib, takes ~0.5 s to import and a first estimate in a new
process needs only these numbers; ``result.idata`` still holds everything for ArviZ. The tail ESS
is Stan's and ArviZ 0.2x's (the 5% and 95% quantiles); ArviZ 1.x's ``az.summary`` takes it at its
``ci_prob`` setting instead (0.89 by default: the 11% and 89% quantiles), so that one column
differs there unless ``az.ess(..., method="tail", prob=0.95)`` is asked for.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import ndtri

__all__ = ["DrawStats", "draw_stats", "mcse", "hdi"]


class DrawStats(NamedTuple):
    """R-hat and bulk/tail ESS of the draws (chains, draws) of a quantity, one entry per posterior (P,)."""

    rhat: np.ndarray
    ess_bulk: np.ndarray
    ess_tail: np.ndarray


def draw_stats(values: np.ndarray) -> DrawStats:
    """:class:`DrawStats` of draws (P, chains, draws): rank-normalised split R-hat (NaN with one chain),
    bulk and tail ESS (Vehtari et al. 2021), NaN with < 4 draws or non-finite draws."""
    values = np.asarray(values, np.float64)
    n_sets, chains, draws = values.shape
    rhat, bulk, tail = (np.full(n_sets, np.nan) for _ in range(3))
    if draws < 4:
        return DrawStats(rhat, bulk, tail)
    for p, v in enumerate(values):
        if not np.isfinite(v).all():
            continue
        split = _split_chains(v)
        if chains > 1:
            rhat[p] = max(_rhat(_z_scale(split)), _rhat(_z_scale(np.abs(split - np.median(split)))))
        bulk[p] = _ess(_z_scale(split))
        tail[p] = min(_ess(_split_chains(v <= np.quantile(v, q))) for q in (0.05, 0.95))
    return DrawStats(rhat, bulk, tail)


def mcse(values: np.ndarray) -> tuple[float, float]:
    """Monte Carlo standard errors of the mean and of the sd of draws (chains, draws), from the ESS of
    the draws and of their squared deviations (ArviZ's ``mcse_mean``/``mcse_sd``); NaN with < 4
    draws or non-finite draws."""
    v = np.asarray(values, np.float64)
    if v.shape[1] < 4 or not np.isfinite(v).all():
        return float("nan"), float("nan")
    squares = (v - v.mean()) ** 2
    variance = squares.mean()
    var_of_variance = ((squares**2).mean() - variance**2) / _ess(_split_chains(squares))
    return (float(np.std(v, ddof=1) / np.sqrt(_ess(_split_chains(v)))),
            float(np.sqrt(var_of_variance / variance / 4.0)))


def _split_chains(v: np.ndarray) -> np.ndarray:
    """Each chain (chains, draws) cut into its first and last halves: (2·chains, draws // 2)."""
    half = v.shape[1] // 2
    return np.concatenate([v[:, :half], v[:, -half:]])


def _z_scale(v: np.ndarray) -> np.ndarray:
    """Normal scores of the average ranks r of all draws: Φ⁻¹((r − 3/8) / (S + 1/4)) for S draws."""
    flat = v.ravel()
    order = np.argsort(flat, kind="stable")
    _, first, counts = np.unique(flat[order], return_index=True, return_counts=True)
    ranks = np.empty(flat.size)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    return ndtri((ranks - 0.375) / (flat.size + 0.25)).reshape(v.shape)


def _rhat(v: np.ndarray) -> float:
    """Potential scale reduction of chains (chains, draws): √((B/W + n − 1)/n)."""
    n = v.shape[1]
    between = n * np.var(v.mean(1), ddof=1)
    within = np.mean(np.var(v, axis=1, ddof=1))
    return float(np.sqrt((between / within + n - 1) / n))


def _ess(v: np.ndarray) -> float:
    """Effective sample size of chains (chains, draws) by Geyer's initial monotone sequence of the
    multi-chain autocorrelations (Stan's estimator, as in Vehtari et al. 2021)."""
    v = np.asarray(v, np.float64)
    chains, n = v.shape
    if np.ptp(v) < np.finfo(float).resolution:
        return float(v.size)
    centred = v - v.mean(1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=2 * n, axis=1)
    acov = np.fft.irfft(spectrum * np.conjugate(spectrum), n=2 * n, axis=1)[:, :n] / n
    mean_var = np.mean(acov[:, 0]) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n + (np.var(v.mean(1), ddof=1) if chains > 1 else 0.0)
    rho = np.zeros(n)
    rho_even, rho_odd = 1.0, 1.0 - (mean_var - np.mean(acov[:, 1])) / var_plus
    rho[0], rho[1] = rho_even, rho_odd
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0.0:  # initial positive sequence
        rho_even = 1.0 - (mean_var - np.mean(acov[:, t + 1])) / var_plus
        rho_odd = 1.0 - (mean_var - np.mean(acov[:, t + 2])) / var_plus
        if rho_even + rho_odd >= 0:
            rho[t + 1], rho[t + 2] = rho_even, rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        rho[max_t + 1] = rho_even
    t = 1
    while t <= max_t - 2:  # made monotone
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    tau = -1.0 + 2.0 * np.sum(rho[:max_t + 1]) + np.sum(rho[max_t + 1:max_t + 2])
    return float(v.size / max(tau, 1.0 / np.log10(v.size)))


def hdi(draws: np.ndarray, prob: float) -> tuple[float, float]:
    """Shortest interval holding ``prob`` of the draws (any shape, pooled); ArviZ's ``hdi``."""
    ordered = np.sort(draws, axis=None)
    inside = int(np.floor(prob * ordered.size))
    start = int(np.argmin(ordered[inside:] - ordered[:ordered.size - inside]))
    return float(ordered[start]), float(ordered[start + inside])
