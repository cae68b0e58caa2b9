"""Tests for the coverage-study runner (bayesmi.studies.validation).

The counting is checked on synthetic records whose coverage is known by
construction, and on a Gaussian-mean problem with exact intervals whose
coverage must match the nominal level within the exact binomial band for the
number of replicates. The runner's seeding and warning handling are checked
with a stub estimator; one tiny real study (N = 200, 2 replicates, 2 short
Gibbs chains, one mixture component) checks the plumbing end to end.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayesmi import ConvergenceWarning, MIResult, toys
from bayesmi.studies import validation
from bayesmi.studies.validation import (
    ValidationResult, binomial_interval, coverage_table, replicate_seeds, resolve_toys, run_validation,
)
from bayesmi.toys import STUDY_TOYS
from bayesmi.util import prob_label

PROBS = (0.68, 0.95)
#: Confidence of the binomial bands in the statistical checks: a correct implementation fails one
#: check with probability at most 1e-3.
BAND = 0.999


def records(truth: float, means, intervals: dict[float, tuple], *, toy="t", n=100, method="m",
            sd=1.0, converged=True, wall_s=1.0) -> pd.DataFrame:
    """Synthetic records: one row per replicate, intervals given per prob as (lo array, hi array)."""
    means = np.asarray(means, dtype=float)
    table = pd.DataFrame({"toy": toy, "n": n, "method": method, "replicate": np.arange(means.size),
                          "units": "nats", "truth": truth, "mean": means, "sd": sd,
                          "converged": converged, "wall_s": wall_s})
    for prob, (lo, hi) in intervals.items():
        label = prob_label(prob)
        table[f"lo{label}"], table[f"hi{label}"] = lo, hi
        table[f"covers{label}"] = (table[f"lo{label}"] <= truth) & (truth <= table[f"hi{label}"])
    return table


def covering_first(k: int, r: int, truth: float) -> tuple[np.ndarray, np.ndarray]:
    """Intervals of which exactly the first k (of r) contain ``truth``; all have width 1."""
    lo = np.where(np.arange(r) < k, truth - 0.5, truth + 0.5)
    return lo, lo + 1.0


# --------------------------------------------------------------------------- pure counting


def test_prob_label():
    assert [prob_label(p) for p in (0.68, 0.95, 0.5, 0.999)] == ["68", "95", "50", "99.9"]


def test_binomial_interval_is_clopper_pearson():
    n, alpha = 20, 0.05
    assert binomial_interval(0, n) == pytest.approx((0.0, 1 - (alpha / 2) ** (1 / n)))
    assert binomial_interval(n, n) == pytest.approx(((alpha / 2) ** (1 / n), 1.0))
    lo, hi = binomial_interval(7, n)
    assert lo == pytest.approx(stats.beta.ppf(alpha / 2, 7, n - 7 + 1))
    assert hi == pytest.approx(stats.beta.ppf(1 - alpha / 2, 7 + 1, n - 7))


@pytest.mark.parametrize("k68, k95", [(0, 40), (13, 29), (40, 0)])
def test_coverage_is_k_of_r_by_construction(k68, k95):
    r, truth = 40, 0.3
    table = coverage_table(
        records(truth, np.full(r, truth), {0.68: covering_first(k68, r, truth),
                                           0.95: covering_first(k95, r, truth)}), PROBS)
    (row,) = table.to_dict("records")
    assert row["replicates"] == r
    for prob, k in ((0.68, k68), (0.95, k95)):
        label = prob_label(prob)
        assert row[f"coverage{label}"] == k / r
        assert (row[f"coverage{label}_lo"], row[f"coverage{label}_hi"]) == binomial_interval(k, r)
        assert row[f"width{label}"] == pytest.approx(1.0)


def test_bias_rmse_and_spreads():
    truth = 1.0
    offsets = np.array([-0.2, 0.1, 0.4, 0.3])
    sds = np.array([0.1, 0.2, 0.3, 0.2])
    lo, hi = covering_first(4, 4, truth)
    table = records(truth, truth + offsets, {0.95: (lo, hi)}, sd=sds, converged=[True, False, True, True],
                    wall_s=[1.0, 2.0, 3.0, 6.0])
    (row,) = coverage_table(table, (0.95,)).to_dict("records")
    assert row["bias"] == pytest.approx(offsets.mean())
    assert row["rmse"] == pytest.approx(math.sqrt(np.mean(offsets**2)))
    assert row["sd_empirical"] == pytest.approx(np.std(offsets, ddof=1))
    assert row["sd_reported"] == pytest.approx(sds.mean())
    assert row["frac_converged"] == 0.75 and row["mean_wall_s"] == 3.0
    assert row["truth"] == truth and row["units"] == "nats"


def test_one_row_per_toy_n_method_in_order():
    lo, hi = covering_first(2, 3, 0.0)
    parts = [records(0.0, np.zeros(3), {0.95: (lo, hi)}, toy=t, n=n, method=m)
             for t in ("b", "a") for n in (50, 10) for m in ("svi", "gibbs")]
    table = coverage_table(pd.concat(parts, ignore_index=True), (0.95,))
    assert list(zip(table["toy"], table["n"], table["method"])) == [
        (t, n, m) for t in ("b", "a") for n in (50, 10) for m in ("svi", "gibbs")]
    assert (table["coverage95"] == 2 / 3).all()


def test_exact_gaussian_mean_intervals_have_nominal_coverage():
    """Known-variance z-intervals for a normal mean cover with probability exactly ``prob``."""
    r, n, mu, sigma = 2000, 25, 1.5, 2.0
    rng = np.random.default_rng(12345)
    xbar = rng.normal(mu, sigma, size=(r, n)).mean(axis=1)
    se = sigma / math.sqrt(n)

    def z_intervals(shrink: float) -> dict[float, tuple]:
        z = {p: stats.norm.ppf((1 + p) / 2) * se * shrink for p in PROBS}
        return {p: (xbar - z[p], xbar + z[p]) for p in PROBS}

    (row,) = coverage_table(records(mu, xbar, z_intervals(1.0), sd=se), PROBS, BAND).to_dict("records")
    for prob in PROBS:
        label = prob_label(prob)
        assert row[f"coverage{label}_lo"] <= prob <= row[f"coverage{label}_hi"], row
        assert row[f"width{label}"] == pytest.approx(2 * stats.norm.ppf((1 + prob) / 2) * se)
    assert abs(row["bias"]) < 4 * se / math.sqrt(r)
    # Intervals half as wide as they should be are caught by the same band.
    (bad,) = coverage_table(records(mu, xbar, z_intervals(0.5), sd=se), PROBS, BAND).to_dict("records")
    for prob in PROBS:
        assert bad[f"coverage{prob_label(prob)}_hi"] < prob


# --------------------------------------------------------------------------- seeds, toys, options


def test_replicate_seeds_deterministic_and_distinct():
    assert replicate_seeds(0, "gaussian", 200, 3) == replicate_seeds(0, "gaussian", 200, 3)
    variants = [(0, "gaussian", 200, 3), (1, "gaussian", 200, 3), (0, "student", 200, 3),
                (0, "gaussian", 2000, 3), (0, "gaussian", 200, 4)]
    seeds = [replicate_seeds(*v) for v in variants]
    flat = [s for pair in seeds for s in pair]
    assert len(set(flat)) == len(flat)
    assert all(0 <= s < 2**31 for s in flat)


def test_resolve_toys():
    resolved = resolve_toys(["gaussian", "gamma_exp", "weinman_exponential"])
    assert list(resolved) == ["gaussian", "gamma_exp", "weinman_exponential"]
    assert resolved["gaussian"] is STUDY_TOYS["gaussian"]
    assert resolved["weinman_exponential"].mi == pytest.approx(toys.weinman_exponential().mi)
    assert any(t.dim_x > 1 and t.dim_y > 1 for t in STUDY_TOYS.values())  # a multivariate option
    mine = {"g": toys.gaussian(rho=0.3)}
    assert resolve_toys(mine) == mine
    with pytest.raises(ValueError, match="unknown toy 'nope'"):
        resolve_toys(["nope"])
    with pytest.raises(ValueError, match="needs constructor arguments"):
        resolve_toys(["transformed"])
    with pytest.raises(TypeError, match="not a string"):
        resolve_toys("gaussian")
    with pytest.raises(TypeError, match="must be a Toy"):
        resolve_toys({"g": "gaussian"})
    with pytest.raises(ValueError, match="repeat"):
        resolve_toys(["gaussian", "gaussian"])


@pytest.mark.parametrize("kwargs, match", [
    ({"sizes": ()}, "sizes"), ({"sizes": (200, 0)}, "sizes"), ({"sizes": (200, 200)}, "sizes"),
    ({"methods": ("gibbs", "magic")}, "unknown method"), ({"methods": "gibbs"}, "methods"),
    ({"replicates": 0}, "replicates"), ({"probs": (0.5, 1.0)}, "probs"), ({"probs": (0.95, 0.95)}, "probs"),
    ({"seed": -1}, "seed"),
])
def test_bad_settings_raise_before_fitting(monkeypatch, kwargs, match):
    monkeypatch.setattr(validation, "estimate_mi", lambda *a, **k: pytest.fail("fitted"))
    with pytest.raises(ValueError, match=match):
        run_validation(["gaussian"], **{"sizes": (200,), "methods": ("gibbs",), **kwargs})


# --------------------------------------------------------------------------- runner (stub estimator)


def stub_estimator(calls: list):
    """An estimate_mi stand-in: draws centred on corr(x, y)², "svi" never converges."""

    def estimate(x, y, *, method, truth, seed, progress, **kwargs):
        calls.append((method, seed, x.tobytes() + y.tobytes()))
        centre = np.corrcoef(x, y)[0, 1] ** 2
        draws = centre + 0.05 * np.random.default_rng(seed).standard_normal((1, 400))
        converged = method != "svi"
        if not converged:
            warnings.warn("svi: not converged", ConvergenceWarning, stacklevel=2)
        return MIResult(draws=draws, idata=None, method=method, truth=truth, converged=converged,
                        diagnostics={"problems": [] if converged else ["ELBO still changing"]})

    return estimate


def test_runner_same_data_for_every_method_and_reproducible(monkeypatch):
    calls: list = []
    monkeypatch.setattr(validation, "estimate_mi", stub_estimator(calls))
    settings = dict(sizes=(30, 60), methods=("gibbs", "svi"), replicates=3, progress=False)
    with pytest.warns(ConvergenceWarning) as caught:
        res = run_validation(["gaussian", "student"], **settings)
    assert len(caught) == 1 and "12 of 24 fits did not converge" in str(caught[0].message)

    rec = res.records
    assert len(rec) == 2 * 2 * 3 * 2 == len(calls)
    data = pd.Series([c[2] for c in calls])
    per_dataset = data.groupby([rec["toy"], rec["n"], rec["replicate"]]).nunique()
    assert (per_dataset == 1).all()  # every method saw the same data set
    assert data.nunique() == 2 * 2 * 3  # and data sets differ between replicates
    assert (rec["fit_seed"] == [c[1] for c in calls]).all()
    expected = [replicate_seeds(0, t, n, r) for t, n, r in zip(rec["toy"], rec["n"], rec["replicate"])]
    assert list(zip(rec["data_seed"], rec["fit_seed"])) == expected
    assert (rec["converged"] == (rec["method"] == "gibbs")).all()
    assert set(rec.loc[rec["method"] == "svi", "problems"]) == {"ELBO still changing"}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again = run_validation(["gaussian", "student"], **settings)
        other = run_validation(["gaussian", "student"], seed=1, **settings)
    pd.testing.assert_frame_equal(again.records.drop(columns="wall_s"), rec.drop(columns="wall_s"))
    assert not np.isin(other.records["data_seed"], rec["data_seed"]).any()


def test_calibration_plot_has_a_panel_per_method(monkeypatch):
    monkeypatch.setattr(validation, "estimate_mi", stub_estimator([]))
    res = run_validation(["gaussian"], sizes=(40,), methods=("gibbs", "nuts"), replicates=4, progress=False)
    fig = res.plot_calibration()
    assert [ax.get_title() for ax in fig.axes] == ["gibbs", "nuts"]
    for ax in fig.axes:
        assert len(ax.containers) == 1  # one (toy, N) series with binomial error bars
        x, y = ax.lines[0].get_data()  # the diagonal
        np.testing.assert_array_equal(x, y)


# --------------------------------------------------------------------------- a tiny real study


def test_tiny_real_study():
    res = run_validation(["gaussian"], sizes=(200,), methods=("gibbs",), replicates=2, progress=False,
                         num_components=1, num_chains=2, num_warmup=200, num_samples=200)
    assert isinstance(res, ValidationResult) and res.probs == PROBS
    rec = res.records
    assert rec.shape[0] == 2
    assert list(rec.columns) == [
        "toy", "n", "replicate", "method", "data_seed", "fit_seed", "truth", "units", "mean", "sd",
        "lo68", "hi68", "covers68", "lo95", "hi95", "covers95", "converged", "problems", "check_p", "check_passed",
        "wall_s"]
    assert (rec["lo95"] < rec["lo68"]).all() and (rec["lo68"] < rec["mean"]).all()
    assert (rec["mean"] < rec["hi68"]).all() and (rec["hi68"] < rec["hi95"]).all()
    summary = res.summary()
    assert summary.shape[0] == 1
    assert list(summary.columns) == [
        "toy", "n", "method", "units", "replicates", "truth", "bias", "rmse", "sd_reported", "sd_empirical",
        "width68", "coverage68", "coverage68_lo", "coverage68_hi",
        "width95", "coverage95", "coverage95_lo", "coverage95_hi", "frac_check_failed", "frac_covered_or_flagged95",
        "frac_converged", "mean_wall_s"]
    row = summary.iloc[0]
    assert row["truth"] == pytest.approx(toys.gaussian(rho=0.75).mi)
    assert row["replicates"] == 2 and 0 <= row["coverage95"] <= 1
    assert row["rmse"] >= abs(row["bias"])


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_gibbs_intervals_are_calibrated_on_the_gaussian():
    """Full-size study (about 5 minutes): on the well-specified Gaussian, the nominal 95% must lie in
    the 99% Clopper-Pearson band of the empirical coverage of 100 replicates, at N=200 and N=2000."""
    result = run_validation(["gaussian"], sizes=(200, 2000), methods=("gibbs",), replicates=100,
                            probs=(0.95,), progress=False, num_samples=500)
    table = coverage_table(result.records, (0.95,), confidence=0.99)
    for _, row in table.iterrows():
        assert row["coverage95_lo"] <= 0.95 <= row["coverage95_hi"], row
