"""Tests for bayesmi.discrete and bayesmi.tables: Dirichlet-posterior MI, entropies and per-unit
measures of discrete data.

Tolerances follow from the method, not from tuning: Monte Carlo means are compared within
Z = 4 standard errors; exact identities within float32 rounding (TOL); coverage within a
binomial acceptance band computed from the number of replicates. JAX compiles once per table
shape, so tests share a few shapes (binary tables, N_DRAWS draws) to stay fast.
"""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special, stats

from bayesmi import discrete, tables, toys
from bayesmi.results import MIMatrix, MIResult

Z = 4.0
N_DRAWS = 1000
TOL = 2e-5  # float32 rounding of sums of O(1) terms


def plug_in_mi(counts: np.ndarray) -> float:
    """Σ p log(p / (p_x p_y)) of the empirical table, in float64."""
    p = np.asarray(counts, dtype=np.float64) / np.sum(counts)
    q = np.outer(p.sum(1), p.sum(0))
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))


def labels_from_counts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes x, y (N,) whose contingency table is exactly ``counts`` (Kx, Ky)."""
    kx, ky = counts.shape
    cells = np.repeat(np.arange(kx * ky), np.asarray(counts).ravel())
    return cells // ky, cells % ky


def core_draws(seed: int, alpha: jax.Array) -> tables.TableMeasures:
    """N_DRAWS draws for one table, through the same compiled function as the public estimators."""
    return jax.tree.map(
        lambda v: v[:, 0, 0], tables.grid_measures(seed, alpha[None, None], n_draws=N_DRAWS)
    )


table_measures = jax.jit(jax.vmap(tables.table_measures))


@jax.jit
def log_dirichlet(key: jax.Array, alpha: jax.Array) -> jax.Array:
    """N_DRAWS log-tables; every core test uses 3×4 tables so that this compiles once."""
    return tables.log_dirichlet(key, alpha, N_DRAWS)


def assert_mean_within_se(draws: np.ndarray, target: float, extra: float = 0.0) -> None:
    draws = np.asarray(draws, dtype=np.float64).ravel()
    se = draws.std(ddof=1) / math.sqrt(draws.size)
    assert abs(draws.mean() - target) <= Z * se + extra, (draws.mean(), target, se)


# --------------------------------------------------------------------------- pure-JAX core


def test_log_gamma_matches_the_gamma_distribution() -> None:
    alphas = np.array([0.02, 0.4, 0.999, 1.0, 3.5, 1e6], dtype=np.float32)
    n = 20_000
    out = np.asarray(jax.jit(tables.log_gamma)(jax.random.key(7), jnp.repeat(jnp.asarray(alphas), n)))
    for a, sample in zip(alphas, out.reshape(len(alphas), n).astype(np.float64)):
        assert np.all(np.isfinite(sample))
        assert stats.kstest(sample, stats.loggamma(float(a)).cdf).pvalue > 1e-3, (
            a
        )  # loggamma(a) = law of log G
        # E[log G] = ψ(a); float32 resolution of log G ~ 1e-7·|log G|
        assert_mean_within_se(sample, float(special.digamma(a)), extra=1e-6 * abs(sample.mean()))


def test_contingency_table_counts_pairs() -> None:
    x, y = jnp.array([0, 1, 1, 2, 2, 2]), jnp.array([1, 0, 0, 1, 1, 0])
    np.testing.assert_array_equal(tables.contingency_table(x, y, 3, 2), [[0, 1], [2, 0], [1, 2]])


def test_structural_zeros_get_no_mass() -> None:
    alpha = jnp.array([[5.0, 0.0, 1.0, 0.5], [2.0, 3.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    log_p = log_dirichlet(jax.random.key(0), alpha)
    assert np.all(np.isneginf(log_p[:, alpha == 0])) and np.all(np.isfinite(log_p[:, alpha > 0]))
    np.testing.assert_allclose(jnp.exp(jax.scipy.special.logsumexp(log_p, axis=(1, 2))), 1.0, rtol=1e-6)


def test_measures_of_a_hand_computed_table() -> None:
    # p = [[3, 1], [1, 3]] / 8: p_x = p_y = 1/2, I = ¾ log(3/2) − ¼ log 2
    mi = 0.75 * math.log(1.5) - 0.25 * math.log(2.0)
    m = tables.table_measures(jnp.log(jnp.array([[3.0, 1.0], [1.0, 3.0]]) / 8))
    np.testing.assert_allclose(m.mi, mi, atol=TOL)
    np.testing.assert_allclose([m.h_x, m.h_y], math.log(2.0), atol=TOL)
    np.testing.assert_allclose(m.h_x_given_y, math.log(2.0) - mi, atol=TOL)
    # D(P(X|y) ‖ P(X)) = ¾ log(3/2) + ¼ log(1/2) for both y
    np.testing.assert_allclose(m.kl_selectivity, mi, atol=TOL)


@pytest.mark.parametrize("scale", [1e2, 1e4, 1e6])
def test_posterior_mean_tends_to_the_plug_in_mi(scale: float) -> None:
    """E[I | counts] (exact) − plug-in ≈ (Kx−1)(Ky−1)/(2N) (Hutter 2002) → 0; the draws' mean agrees."""
    counts = np.array([[3.0, 1.0], [1.0, 3.0]]) * scale
    n = counts.sum()
    exact = float(tables.expected_mi(jnp.asarray(counts)))
    assert exact - plug_in_mi(counts) == pytest.approx(1 / (2 * n), rel=0.05, abs=5e-6)
    assert_mean_within_se(core_draws(0, jnp.asarray(counts)).mi, exact, extra=TOL)


def test_draw_means_match_the_exact_posterior_means() -> None:
    alpha = jnp.asarray(np.array([[4, 0, 1, 7], [2, 9, 3, 0], [1, 1, 5, 2]]) + 1 / 12, dtype=jnp.float32)
    m = table_measures(log_dirichlet(jax.random.key(1), alpha))
    assert_mean_within_se(m.mi, float(tables.expected_mi(alpha)), extra=TOL)
    assert_mean_within_se(m.h_x, float(tables.expected_entropy(alpha.sum(1))), extra=TOL)
    assert_mean_within_se(m.h_y, float(tables.expected_entropy(alpha.sum(0))), extra=TOL)
    h_xy = float(tables.expected_entropy(alpha))
    assert_mean_within_se(m.h_x_given_y, h_xy - float(tables.expected_entropy(alpha.sum(0))), extra=TOL)


counts_3x4 = hnp.arrays(np.int64, (3, 4), elements=st.integers(0, 40))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(counts_3x4, st.sampled_from([1 / 12, 0.5, 1.0]), st.integers(0, 2**31 - 1))
def test_measures_are_consistent_per_draw(counts: np.ndarray, a: float, seed: int) -> None:
    log_p = log_dirichlet(jax.random.key(seed), jnp.asarray(counts + a, jnp.float32))
    m = jax.tree.map(np.asarray, table_measures(log_p))
    assert np.all(m.mi >= 0) and np.all(m.kl_selectivity >= 0)
    assert np.all(m.mi <= np.minimum(m.h_x, m.h_y) + TOL)
    assert np.all(m.kl_selectivity >= m.mi - TOL)  # the max of D_y ≥ its p_y-weighted mean, I
    np.testing.assert_allclose(m.h_x_given_y, m.h_x - m.mi, atol=TOL)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(counts_3x4, st.permutations(range(3)), st.permutations(range(4)), st.integers(0, 2**31 - 1))
def test_measures_are_symmetric_and_invariant_to_relabelling(
    counts: np.ndarray, rows: list[int], cols: list[int], seed: int
) -> None:
    log_p = log_dirichlet(jax.random.key(seed), jnp.asarray(counts + 1 / 12, jnp.float32))
    m = table_measures(log_p)
    swapped = table_measures(jnp.swapaxes(log_p, 1, 2))
    np.testing.assert_allclose(swapped.mi, m.mi, atol=TOL)
    np.testing.assert_allclose(swapped.h_x, m.h_y, atol=TOL)
    relabelled = table_measures(log_p[:, np.array(rows)][:, :, np.array(cols)])
    for got, want in zip(relabelled, m):
        np.testing.assert_allclose(got, want, atol=TOL)


# --------------------------------------------------------------------------- prior and coverage


def binom_band(n: int, p: float, level: float = 1e-3) -> tuple[int, int]:
    """Acceptance region [lo, hi] of a two-sided binomial test at ``level`` for n trials."""
    return int(stats.binom.ppf(level / 2, n, p)), int(stats.binom.isf(level / 2, n, p))


def replicate_intervals(
    toy: toys.Toy, n: int, replicates: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """95% intervals and posterior means of I for ``replicates`` datasets of n samples from a table toy."""
    counts = np.random.default_rng(seed).multinomial(n, toy.table.ravel(), size=replicates)
    alpha = counts.reshape(replicates, 1, *toy.table.shape) + 1 / toy.table.size  # Perks
    mi = np.asarray(tables.grid_measures(seed, jnp.asarray(alpha, jnp.float32), n_draws=N_DRAWS).mi)[
        :, :, 0
    ]
    lo, hi = np.quantile(mi, [0.025, 0.975], axis=0)
    return lo, hi, mi.mean(axis=0)


@pytest.mark.parametrize(("p", "e"), [(0.5, 0.1), (0.2, 0.05), (0.5, 0.45)])
def test_intervals_cover_the_true_mi_at_the_nominal_rate(p: float, e: float) -> None:
    """200 datasets of N = 500 from a binary symmetric channel (I from 0.005 to 0.37 nats).

    The interval endpoints are quantiles of 1000 draws; their MC error (~0.05 posterior sd)
    moves coverage by far less than the binomial band.
    """
    toy, replicates = toys.binary_symmetric_channel(p, e), 200
    lo, hi, _ = replicate_intervals(toy, 500, replicates, seed=11)
    covered = int(np.sum((lo <= toy.mi) & (toy.mi <= hi)))
    band = binom_band(replicates, 0.95)
    assert band[0] <= covered <= band[1], (covered, band)


def test_small_sample_bias_is_upward_at_zero_mi() -> None:
    """Independent X, Y (I = 0): every draw is > 0, so the posterior sits above the truth."""
    lo, hi, mean = replicate_intervals(toys.binary_symmetric_channel(0.5, 0.5), 40, 200, seed=3)
    assert np.all(mean > 0) and np.all(lo > 0)
    # posterior mean ≈ (plug-in, itself ≈ 1/(2N) on average) + 1/(2N): about 1/N
    assert np.mean(mean) == pytest.approx(1 / 40, rel=0.25)


def test_prior_mi_is_positive_and_larger_concentration_pulls_mi_down() -> None:
    assert [round(float(tables.expected_mi(jnp.full((2, 2), a))), 2) for a in (0.25, 0.5, 1.0)] == [
        0.12,
        0.11,
        0.08,
    ]
    counts = jnp.array([[2.0, 1.0], [1.0, 2.0]])
    means = [float(tables.expected_mi(counts + a)) for a in (0.25, 0.5, 1.0, 10.0)]
    assert means[0] > plug_in_mi(np.asarray(counts)) and np.all(np.diff(means) < 0)
    np.testing.assert_allclose(means[:3], [0.096, 0.082, 0.062], atol=1e-3)  # quoted in the module docstring


# --------------------------------------------------------------------------- labelled data

BSC_COUNTS = np.array([[225, 25], [25, 225]])


@pytest.fixture(scope="module")
def bsc_result() -> MIResult:
    x, y = labels_from_counts(BSC_COUNTS)
    return discrete.mutual_information(
        x, y, num_draws=N_DRAWS, seed=0, truth=toys.binary_symmetric_channel().mi
    )


def test_mutual_information_result(bsc_result: MIResult) -> None:
    r = bsc_result
    assert isinstance(r, MIResult) and r.method == "dirichlet" and r.variable == "mi"
    assert r.draws.shape == (1, N_DRAWS) and r.mc_se == 0.0 and math.isnan(r.rhat)
    assert r.ess > 0.8 * N_DRAWS  # i.i.d. draws
    np.testing.assert_array_equal(r.idata.observed_data["counts"], BSC_COUNTS)
    np.testing.assert_array_equal(r.diagnostics["x_labels"], [0, 1])
    assert r.diagnostics["concentration"] == 0.25 and r.diagnostics["samples_per_cell"] == 125
    post = r.idata.posterior
    assert set(post.data_vars) == {"mi", "h_x", "h_y", "h_x_given_y"}
    np.testing.assert_allclose(post["h_x_given_y"], post["h_x"] - post["mi"], atol=TOL)
    assert_mean_within_se(r.draws, float(tables.expected_mi(jnp.asarray(BSC_COUNTS + 0.25))), extra=TOL)
    lo, hi = r.interval()
    assert lo < r.truth < hi
    table = r.summary()
    assert list(table.index) == ["mi [nats]", "h_x [nats]", "h_y [nats]", "h_x_given_y [nats]"]
    assert table["truth"].iloc[0] == r.truth and table["truth"].iloc[1:].isna().all()
    assert repr(r).startswith("MIResult(mi=") and "nats" in repr(r)


def test_large_counts_recover_the_hand_computed_table() -> None:
    x, y = labels_from_counts(np.array([[3, 1], [1, 3]]) * 100_000)
    r = discrete.mutual_information(x, y, num_draws=N_DRAWS)
    mi = 0.75 * math.log(1.5) - 0.25 * math.log(2.0)
    assert_mean_within_se(r.draws, mi, extra=1 / x.size + TOL)  # Hutter offset ≈ 1/(2N)
    post = r.idata.posterior
    assert_mean_within_se(post["h_x_given_y"].values, math.log(2.0) - mi, extra=1 / x.size + TOL)
    assert_mean_within_se(post["h_y"].values, math.log(2.0), extra=1 / x.size + TOL)
    assert r.sd < 1e-3


def test_units_bits(bsc_result: MIResult) -> None:
    x, y = labels_from_counts(BSC_COUNTS)
    bits = discrete.mutual_information(x, y, num_draws=N_DRAWS, seed=0, units="bits", truth=bsc_result.truth)
    np.testing.assert_allclose(bits.draws, bsc_result.draws / math.log(2), rtol=1e-12)
    converted = bsc_result.to("bits")
    np.testing.assert_allclose(converted.draws, bits.draws, rtol=1e-12)
    for name in ("mi", "h_x", "h_y", "h_x_given_y"):
        np.testing.assert_allclose(converted.idata.posterior[name], bits.idata.posterior[name], rtol=1e-12)
        assert converted.idata.posterior[name].attrs["units"] == "bits"
    assert converted.truth == pytest.approx(bsc_result.truth / math.log(2))
    assert bsc_result.idata.posterior["h_x"].attrs["units"] == "nats"  # the original is untouched
    assert list(converted.summary().index)[0] == "mi [bits]"
    with pytest.raises(ValueError, match="units must be one of"):
        discrete.mutual_information(x, y, units="bans")


def test_labels_any_hashable_and_relabelling() -> None:
    x, y = labels_from_counts(np.array([[30, 12], [9, 49]]))
    base = discrete.mutual_information(x, y, num_draws=N_DRAWS, seed=5)
    # order-preserving relabelling: same codes, identical draws
    same = discrete.mutual_information(
        np.where(x == 0, -7, 40), np.array(["a", "b"])[y], num_draws=N_DRAWS, seed=5
    )
    np.testing.assert_array_equal(same.draws, base.draws)
    assert list(same.diagnostics["y_labels"]) == ["a", "b"]
    # order-reversing relabelling: the table is permuted, the posterior of I is the same
    flipped = discrete.mutual_information(np.array(["b", "a"])[x], 1 - y, num_draws=N_DRAWS, seed=6)
    np.testing.assert_array_equal(flipped.idata.observed_data["counts"], [[49, 9], [12, 30]])
    assert_mean_within_se(flipped.draws - base.draws, 0.0)
    # swapping x and y transposes the counts and keeps the posterior of I
    swapped = discrete.mutual_information(y, x, num_draws=N_DRAWS, seed=7)
    np.testing.assert_array_equal(swapped.idata.observed_data["counts"], [[30, 9], [12, 49]])
    assert_mean_within_se(swapped.draws - base.draws, 0.0)


def test_levels_add_unobserved_categories() -> None:
    x = np.array([0, 0, 1, 1, 0, 1, 1, 1])
    with_levels = discrete.entropy(x, levels=[0, 1, 2], num_draws=N_DRAWS)
    np.testing.assert_array_equal(with_levels.idata.observed_data["counts"], [3, 5, 0])
    assert with_levels.diagnostics["concentration"] == pytest.approx(1 / 3)
    assert_mean_within_se(
        with_levels.draws, float(tables.expected_entropy(jnp.array([3, 5, 0]) + 1 / 3)), extra=TOL
    )
    with pytest.raises(ValueError, match="not in levels"):
        discrete.entropy(x, levels=[0, 2])
    with pytest.raises(ValueError, match="levels must be distinct"):
        discrete.entropy(x, levels=[0, 1, 1])


def test_entropy_result_is_labelled_as_an_entropy() -> None:
    r = discrete.entropy(np.array(["a", "b", "a", "c", "a", "b"]), num_draws=N_DRAWS, concentration=0.5)
    assert r.variable == "entropy" and repr(r).startswith("MIResult(entropy=")
    assert list(r.summary().index) == ["entropy [nats]"]
    assert_mean_within_se(r.draws, float(tables.expected_entropy(jnp.array([3, 2, 1]) + 0.5)), extra=TOL)
    fig = r.to("bits").plot()
    assert "H(X) [bits]" in fig.axes[0].get_xlabel()
    plt.close(fig)


# --------------------------------------------------------------------------- per-unit measures


def unit_data(scale: int = 1000) -> tuple[pd.DataFrame, np.ndarray]:
    """Three binary units and 3 balanced classes, 50·scale samples per class.

    "tuned": P(T=1 | y) = 0.2, 0.8, 0.5; "flat": P(T=1 | y) = 0.5 for all y; "dead": always 0.
    """
    per_class = 50 * scale
    y = np.repeat([0, 1, 2], per_class)
    ones = {0: 10 * scale, 1: 40 * scale, 2: 25 * scale}
    tuned = np.concatenate([np.r_[np.zeros(per_class - k), np.ones(k)] for k in ones.values()])
    flat = np.tile([0, 1], y.size // 2)
    return pd.DataFrame({"tuned": tuned.astype(int), "flat": flat, "dead": 0}), y


def test_neuron_measures_match_hand_computed_values() -> None:
    T, y = unit_data()
    m = discrete.neuron_measures(T, y, num_draws=N_DRAWS)
    assert isinstance(m, MIMatrix) and m.draws.shape == (N_DRAWS, 3, 3)
    assert m.row_names == ["tuned", "flat", "dead"] and m.col_names == ["entropy", "mi", "kl_selectivity"]
    # tuned: p(T) = (1/2, 1/2); D(P(T|y) ‖ P(T)) = 0.8 log 1.6 + 0.2 log 0.4 for y = 0, 1 and 0 for y = 2
    kl = 0.8 * math.log(1.6) + 0.2 * math.log(0.4)
    want = {"tuned": [math.log(2), 2 * kl / 3, kl], "flat": [math.log(2), 0.0, 0.0], "dead": [0.0, 0.0, 0.0]}
    mean, sd = m.mean, m.sd
    for i, unit in enumerate(m.row_names):
        for j, value in enumerate(want[unit]):
            assert abs(mean[i, j] - value) < 4 * sd[i, j] + 1e-4, (unit, m.col_names[j], mean[i, j], value)
    assert np.all(m.draws[:, 2] <= TOL)  # a constant unit carries nothing
    assert np.all(m.draws[:, 0, 2] >= m.draws[:, 0, 1])  # selectivity ≥ MI per draw
    # with levels (0, 1) the dead unit has two categories and a small positive entropy
    dead = discrete.neuron_measures(T[["dead"]], y, levels=(0, 1), num_draws=N_DRAWS)
    assert 0 < dead.mean[0, 0] < 1e-3


def test_pairwise_mi_matches_neuron_measures_and_mutual_information() -> None:
    T, y = unit_data(scale=4)
    mm = discrete.pairwise_mutual_information(T, pd.Series(y, name="class"), num_draws=N_DRAWS, seed=2)
    assert mm.draws.shape == (N_DRAWS, 3, 1) and mm.col_names == ["class"] and mm.dims == ("x", "y")
    nm = discrete.neuron_measures(T, y, num_draws=N_DRAWS, seed=2)
    np.testing.assert_array_equal(mm.draws[:, :, 0], nm.draws[:, :, 1])  # same tables, same keys
    single = discrete.mutual_information(T["tuned"], y, num_draws=N_DRAWS, seed=9)
    assert abs(mm.mean[0, 0] - single.mean) < Z * math.sqrt(2 / N_DRAWS) * single.sd
    # a (N, n_b) y gives a matrix (n_a, n_b); columns with fewer categories are padded with
    # structural zeros, and every cell still matches its own exact posterior mean (Perks prior)
    X = T.to_numpy().copy()
    X[:, 1] = np.arange(y.size) % 3
    y2 = np.stack([y, (y + np.arange(y.size)) % 3], axis=1)
    two = discrete.pairwise_mutual_information(X, y2, num_draws=N_DRAWS)
    assert two.draws.shape == (N_DRAWS, 3, 2) and two.row_names == ["X0", "X1", "X2"]
    assert two.col_names == ["y0", "y1"]
    for (i, j), cell in np.ndenumerate(two.mean):
        counts = pd.crosstab(X[:, i], y2[:, j]).to_numpy()
        exact = float(tables.expected_mi(jnp.asarray(counts + 1 / counts.size, jnp.float32)))
        assert_mean_within_se(two.draws[:, i, j], exact, extra=TOL)


def test_pairwise_mi_methods() -> None:
    T, y = unit_data(scale=4)
    m = discrete.pairwise_mutual_information(T, y, num_draws=N_DRAWS)
    lo, hi = m.interval(0.9)
    assert lo.shape == hi.shape == (3, 1) and np.all(lo <= m.mean) and np.all(m.mean <= hi)
    bits = m.to("bits")
    np.testing.assert_allclose(bits.draws, m.draws / math.log(2))
    assert bits.units == "bits" and m.units == "nats"
    frame = m.to_frame(0.9)
    assert list(frame.columns) == ["x", "y", "mean", "sd", "eti_0.9_lo", "eti_0.9_hi", "units"]
    assert list(frame["x"]) == ["tuned", "flat", "dead"] and list(frame["y"]) == ["y"] * 3
    np.testing.assert_allclose(frame["eti_0.9_hi"], hi.ravel())
    assert "3 x × 1 y" in repr(m)
    fig = m.plot()
    assert len(fig.axes[0].texts) == 3 and "±" in fig.axes[0].texts[0].get_text()
    plt.close(fig)
    with pytest.raises(ValueError, match="draws must have shape"):
        MIMatrix(m.draws, ["a"], ["b"], "dirichlet")
    with pytest.raises(ValueError, match="prob must lie"):
        m.interval(1.0)


# --------------------------------------------------------------------------- bad input

X2, Y2 = np.array([0, 1, 0, 1, 1, 0]), np.array([1, 1, 0, 0, 1, 0])

BAD_INPUTS = [
    (
        {"x": [0, 1, np.nan, 1], "y": [0, 1, 0, 1]},
        ValueError,
        r"1 missing label\(s\) \(NaN/None\), first at index 2",
    ),
    ({"x": np.array(["a", None, "b", "a"], dtype=object), "y": [0, 1, 0, 1]}, ValueError, "missing label"),
    ({"x": X2, "y": Y2[:5]}, ValueError, "different lengths"),
    ({"x": X2, "y": np.full(6, 3)}, ValueError, r"y has a single category \(3\)"),
    ({"x": np.full(6, "on"), "y": Y2}, ValueError, "x has a single category"),
    ({"x": X2.reshape(3, 2), "y": Y2}, ValueError, r"x must be 1-D \(N,\) labels, got shape \(3, 2\)"),
    ({"x": 3, "y": Y2}, ValueError, "x must be 1-D"),
    ({"x": [1], "y": [0]}, ValueError, "at least 2 are needed"),
    ({"x": None, "y": Y2}, TypeError, "x is None"),
    ({"x": [[0, 1], [1]], "y": [0, 1]}, ValueError, "rectangular"),
    ({"x": X2, "y": Y2, "concentration": 0.0}, ValueError, "concentration must be a finite number > 0"),
    ({"x": X2, "y": Y2, "concentration": float("nan")}, ValueError, "concentration"),
    ({"x": X2, "y": Y2, "concentration": "jeffreys"}, ValueError, "concentration"),
    ({"x": X2, "y": Y2, "num_draws": 2}, ValueError, "num_draws must be an integer >= 4"),
    ({"x": X2, "y": Y2, "num_draws": 100.0}, TypeError, "num_draws must be an integer"),
    ({"x": X2, "y": Y2, "x_levels": [0]}, ValueError, "not in levels"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_INPUTS)
def test_mutual_information_rejects_bad_input(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        discrete.mutual_information(**kwargs)


@pytest.mark.parametrize("function", [discrete.pairwise_mutual_information, discrete.neuron_measures])
def test_matrix_functions_reject_bad_input(function) -> None:
    X = np.stack([X2, 1 - X2], axis=1)
    with pytest.raises(ValueError, match=r"y has a single category \('a'\)"):
        function(X, np.full(6, "a"))
    with pytest.raises(ValueError, match="different numbers of rows"):
        function(X, Y2[:4])
    with pytest.raises(ValueError, match=r"X must be 1-D \(N,\) or 2-D \(N, n_vars\) labels"):
        function(X[:, :, None], Y2)
    with pytest.raises(ValueError, match="zero columns"):
        function(X[:, :0], Y2)
    with pytest.raises(
        ValueError, match=r"X contains 1 missing label\(s\) \(NaN/None\), first at index \(3, 1\)"
    ):
        function(np.where(np.arange(12).reshape(6, 2) == 7, np.nan, X), Y2)
    with pytest.raises(ValueError, match="y must be 1-D"):
        discrete.neuron_measures(X, X)


def test_continuous_looking_float_labels_are_refused() -> None:
    x = np.random.default_rng(0).normal(size=20)
    # the error comes from label encoding, before any (slow to compile) sampling
    with pytest.raises(ValueError, match="Discretise") as info:
        discrete.mutual_information(x, np.arange(20) % 2)
    assert "estimate_mi" in str(info.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        discrete.mutual_information(X2.astype(float), Y2, num_draws=N_DRAWS)  # integer-valued floats
        discrete.mutual_information(np.where(X2 == 0, 0.5, 1.5), Y2, num_draws=N_DRAWS)  # few distinct values


# --------------------------------------------------------------------------- estimate_mi on discrete data


@pytest.mark.parametrize("toy", [toys.discrete_table(), toys.binary_symmetric_channel()], ids=["table", "bsc"])
def test_estimate_mi_routes_two_discrete_variables_to_the_table_posterior(toy):
    """Jittered into blocks, these gave 0.735 (truth 0.156) and 0.492 (truth 0.368) at N = 500 with
    the joint mixture. Routed to the Dirichlet table they are the discrete estimator's answer, whose
    95% interval covers the truth, with a warning saying what was done."""
    import bayesmi
    from bayesmi.estimators.mi import DiscreteDataWarning

    x, y = toy.sample(500, seed=0)
    with pytest.warns(DiscreteDataWarning, match="Dirichlet table"):
        result = bayesmi.estimate_mi(x, y, seed=1, truth=toy.mi, progress=False)
    direct = discrete.mutual_information(x, y, seed=1)
    assert result.method == "dirichlet" and result.diagnostics["route"] == "discrete"
    np.testing.assert_array_equal(result.draws, direct.draws)
    lo, hi = result.interval(0.95)
    assert lo <= toy.mi <= hi


def test_one_discrete_side_becomes_the_class_label_whichever_side_it_is():
    import bayesmi
    from bayesmi.estimators.mi import DiscreteDataWarning

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 400)
    x = rng.normal(size=400) + labels
    fit = dict(num_warmup=50, num_samples=100, num_chains=2, seed=0, progress=False)
    explicit = bayesmi.estimate_mi(x, labels, y_type="categorical", **fit)
    with pytest.warns(DiscreteDataWarning, match="y takes 3 repeated values"):
        discrete_y = bayesmi.estimate_mi(x, labels, **fit)
    with pytest.warns(DiscreteDataWarning, match="x takes 3 repeated values"):
        discrete_x = bayesmi.estimate_mi(labels.astype(float), x, **fit)
    np.testing.assert_array_equal(discrete_y.draws, explicit.draws)
    np.testing.assert_array_equal(discrete_x.draws, explicit.draws)
    assert (discrete_y.diagnostics["route"], discrete_x.diagnostics["route"]) == ("categorical y", "categorical x")


def test_continuous_y_type_keeps_the_joint_mixture_and_rounded_data_are_not_discrete():
    import bayesmi

    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    y = x + rng.normal(size=300)
    fit = dict(num_components=1, num_warmup=30, num_samples=50, num_chains=2, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forced = bayesmi.estimate_mi(rng.integers(0, 2, 300), rng.integers(0, 2, 300), y_type="continuous", **fit)
        rounded = bayesmi.estimate_mi(np.round(x, 1), np.round(y, 1), **fit)  # ~60 levels: dequantised
    assert forced.diagnostics["route"] == rounded.diagnostics["route"] == "joint"
    assert rounded.diagnostics["jittered_columns"] == ["x[0]", "y[0]"]


@pytest.mark.parametrize("values,levels", [
    (np.repeat([0, 1, 2], 10), 3),
    (np.repeat([True, False], 20), 2),
    (np.repeat([0.5, 1.5, 2.5, 3.5], 5)[:, None], 4),
    (np.repeat(np.arange(21.0), 3), None),  # more levels than a discrete variable
    (np.arange(15.0), None),  # few values, but no repeats
    (np.ones(30), None),  # constant: refused by the estimators as such
    (np.repeat([[0, 1]], 20, axis=0), None),  # two columns
    (np.repeat(["a", "b"], 10), None),  # labels: the estimator checks them
    (np.r_[np.repeat([0.0, 1.0], 10), np.nan], None),
])
def test_discrete_levels(values, levels):
    from bayesmi.inputs import discrete_levels

    assert discrete_levels(values) == levels
    if values.ndim == 1 and values.dtype.kind in "biuf":
        assert discrete_levels(pd.Series(values)) == levels
