"""The KSG baseline (bayesmi.ksg, estimate_mi(method="ksg")) and the posterior predictive check.

Statistical tolerances come from the estimator's own spread (half-sample replicates, checked
here against the spread over independent data sets) or from binomial counts; seeds are fixed.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bayesmi
from bayesmi import toys
from bayesmi.checks import CHECK_LEVEL, predictive_check
from bayesmi.inputs import normal_scores
from bayesmi.ksg import half_sample_estimates, ksg_mutual_information

FAST = {"num_samples": 300, "num_warmup": 200, "num_chains": 2, "progress": False}


def _rows(toy: toys.Toy, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = toy.sample(n, seed)
    return x.reshape(n, -1), y.reshape(n, -1)


def test_ksg_recovers_gaussian_mi_within_its_spread() -> None:
    toy = toys.gaussian(0.75)
    x, y = _rows(toy, 4000, 3)
    halves = half_sample_estimates(x, y, np.random.default_rng(0), 40)
    assert abs(ksg_mutual_information(x, y) - toy.mi) < 4 * halves.std(ddof=1)


def test_ksg_of_independent_variables_is_near_zero() -> None:
    x, y = _rows(toys.independent(2, 1), 2000, 5)
    halves = half_sample_estimates(x, y, np.random.default_rng(1), 40)
    assert abs(ksg_mutual_information(x, y)) < 4 * halves.std(ddof=1)


def test_half_samples_estimate_the_spread_over_data_sets() -> None:
    """Half-samples without replacement have the variance of the full-sample estimate: their sd,
    averaged over data sets, matches the sd of the estimate over 40 independent data sets within
    the sampling error of an sd from 40 values (relative se 1/sqrt(78) ≈ 0.11; 3 se allowed)."""
    toy = toys.gaussian_pairs([0.6, 0.3])
    estimates, spreads = [], []
    for seed in range(40):
        x, y = _rows(toy, 400, seed)
        estimates.append(ksg_mutual_information(x, y))
        if seed < 10:
            spreads.append(half_sample_estimates(x, y, np.random.default_rng(seed), 40).std(ddof=1))
    ratio = np.mean(spreads) / np.std(estimates, ddof=1)
    assert 1 - 3 * 0.11 < ratio < 1 + 3 * 0.11, ratio


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), power=st.sampled_from([1, 3]), shift=st.floats(-5, 5))
def test_ksg_is_symmetric_and_its_normal_scores_ignore_monotone_maps(seed: int, power: int, shift: float) -> None:
    x, y = _rows(toys.gaussian_pairs([0.5, 0.2]), 200, seed)
    assert ksg_mutual_information(x, y) == pytest.approx(ksg_mutual_information(y, x), abs=1e-12)
    scores = normal_scores(np.concatenate([x, y], axis=1))
    mapped = normal_scores(np.concatenate([np.exp(x) + shift, y**power], axis=1))
    np.testing.assert_allclose(mapped, scores, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 400), values=st.sampled_from(["normal", "ties", "cauchy"]),
       radii=st.sampled_from(["distances", "random", "zero"]))
def test_one_column_counts_on_sorted_values_equal_the_tree_counts(seed: int, n: int, values: str, radii: str) -> None:
    """The sorted-value count of rows strictly within each radius is the k-d tree's, exactly: on ties,
    zero radii and radii that equal a distance (the KSG radius is the distance to a neighbour)."""
    from scipy.spatial import cKDTree

    from bayesmi.ksg import _counts_within

    rng = np.random.default_rng(seed)
    a = {"normal": lambda: rng.normal(size=n), "ties": lambda: rng.integers(0, 7, n) * 0.1,
         "cauchy": lambda: 1e3 * rng.standard_cauchy(n)}[values]()
    radius = {"distances": lambda: np.abs(a - a[rng.integers(0, n, n)]), "random": lambda: rng.exponential(size=n),
              "zero": lambda: np.zeros(n)}[radii]()
    tree = cKDTree(a[:, None]).query_ball_point(a[:, None], np.nextafter(radius, 0.0), p=np.inf, return_length=True)
    np.testing.assert_array_equal(_counts_within(a, radius), tree - 1)


def test_ksg_rejects_bad_settings() -> None:
    x = np.arange(10.0)[:, None]
    with pytest.raises(ValueError, match="k must lie"):
        ksg_mutual_information(x, x, k=10)
    with pytest.raises(ValueError, match="same number of rows"):
        ksg_mutual_information(x, x[:5])


def test_estimate_mi_ksg_is_a_replicate_result_that_covers_a_gaussian() -> None:
    toy = toys.gaussian(0.6)
    x, y = toy.sample(2000, 11)
    result = bayesmi.estimate_mi(x, y, method="ksg", truth=toy.mi, progress=False)
    assert result.method == "ksg" and result.draws_kind == "replicates" and result.check is None
    assert result.draws.shape == (1, 50)
    lo, hi = result.interval(0.99)
    assert lo <= toy.mi <= hi
    assert result.mean == pytest.approx(result.diagnostics["estimate"], abs=1e-12)  # centred on the full estimate
    assert "half-sample replicates" in repr(result)
    bits = bayesmi.estimate_mi(x, y, method="ksg", units="bits", progress=False)
    assert bits.mean == pytest.approx(result.mean / math.log(2))
    table = bayesmi.compare(x, y, methods=("gibbs", "ksg"), plot=False, truth=toy.mi, **FAST).table
    assert list(table["method"]) == ["gibbs", "ksg"]


def test_ksg_method_refuses_what_it_cannot_estimate() -> None:
    x, y = toys.gaussian(0.6).sample(200, 1)
    with pytest.raises(ValueError, match="continuous x and y"):
        bayesmi.estimate_mi(x, (y > 0).astype(float), method="ksg")
    with pytest.raises(ValueError, match="fits no mixture"):
        bayesmi.estimate_entropy(x, method="ksg", progress=False)


# --------------------------------------------------------------------------- predictive check


def test_check_passes_on_well_specified_data() -> None:
    """Gaussian data fitted by a mixture: the check fails with probability at most CHECK_LEVEL
    (posterior predictive p-values are conservative); of 8 data sets at most 1 may fail
    (P(≥ 2 failures) ≤ 0.003 at the nominal level)."""
    failures = 0
    for seed in range(8):
        x, y = toys.gaussian_pairs([0.7, 0.3]).sample(500, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bayesmi.ConvergenceWarning)
            result = bayesmi.estimate_mi(x, y, seed=seed, **FAST)
        check = result.check
        assert check is not None and check.num_rows == 500 and check.replicated.shape == (20,)
        failures += not result.check_passed
    assert failures <= 1


def test_check_flags_a_spiral_the_mixture_cannot_fit() -> None:
    """A 3 + 3-D Gaussian with two correlated pairs (1.02 nats) under the spiral diffeomorphism: a
    few Gaussians flatten the curved dependence; the check must fail and say so."""
    toy = toys.SUITE["spiral_3x3_sparse"]
    x, y = toy.sample(1000, 100)
    with pytest.warns(bayesmi.MisfitWarning, match="does not reproduce the dependence"):
        result = bayesmi.estimate_mi(x, y, truth=toy.mi, **FAST)
    assert result.check_passed is False and result.check.p_value < CHECK_LEVEL
    assert "CHECK FAILED" in repr(result) and "FAILED" in repr(result.check)
    assert result.interval(0.95)[1] < toy.mi  # the miss the check is there to flag


def test_check_sees_a_column_pair_the_joint_estimate_blurs() -> None:
    """y0 = x0² + noise beside four independent columns (3 + 3-D): a Gaussian fitted to the normal
    scores (zero correlation there) has no dependence where the data have some. The 6-D KSG estimate
    barely sees it (|z| = 1.5 here, p = 0.13 alone), the pair (x0, y0) clearly does; the check's
    p-value is the Bonferroni bound over the 1 + 9 statistics."""
    import jax
    import jax.numpy as jnp

    from bayesmi.mixture import from_covariances

    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((1000, 3)), rng.standard_normal((1000, 3))
    y[:, 0] = x[:, 0] ** 2 + 3.5 * y[:, 0]
    z = normal_scores(np.column_stack([x, y]))
    gaussian = from_covariances(jnp.ones(1), jnp.asarray(z.mean(0)[None], jnp.float32),
                                jnp.asarray(np.cov(z.T)[None], jnp.float32))
    draws = jax.tree.map(lambda a: np.broadcast_to(np.asarray(a), (1, 20) + a.shape), gaussian)  # 20 equal draws
    check = predictive_check(draws, z, 3, seed=0)
    assert len(check.z_scores) == 10 and not check.passed
    assert check.statistic.startswith("KSG I(x0;y0)") and check.z_score == check.z_scores["I(x0;y0)"] > 5
    assert math.erfc(abs(check.z_scores["I(X;Y)"]) / math.sqrt(2)) > CHECK_LEVEL  # the joint estimate alone passes
    assert check.p_value == pytest.approx(10 * math.erfc(check.z_score / math.sqrt(2)))
    assert max(abs(v) for name, v in check.z_scores.items() if name not in ("I(X;Y)", "I(x0;y0)")) < 3


def test_check_can_be_switched_off_and_is_reproducible() -> None:
    x, y = toys.gaussian(0.5).sample(300, 2)
    assert bayesmi.estimate_mi(x, y, predictive_check=False, **FAST).check is None
    a = bayesmi.estimate_mi(x, y, seed=4, **FAST).check
    b = bayesmi.estimate_mi(x, y, seed=4, **FAST).check
    assert a.p_value == b.p_value and np.array_equal(a.replicated, b.replicated)


def test_predictive_check_subsamples_large_data() -> None:
    x, y = toys.gaussian(0.5).sample(300, 2)
    params = bayesmi.estimate_mi(x, y, **FAST).model.params  # a shape the tests above compiled
    z = np.column_stack(toys.gaussian(0.5).sample(3000, 3))
    check = predictive_check(params, (z - z.mean(0)) / z.std(0), 1, seed=0, num_rows=400, num_replicates=12)
    assert check.num_rows == 400 and check.replicated.shape == (12,)


def test_check_rows_shrink_with_the_dimension_and_stop_beyond_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from bayesmi.checks import CHECK_MAX_DIM, CHECK_ROWS, check_rows

    assert check_rows(10_000, 6) == CHECK_ROWS and check_rows(800, 4) == 800
    assert check_rows(10_000, 12) == CHECK_ROWS // 4
    # Beyond the limit no check runs: shown on 4-D data (shapes compiled above) with the limit at 3.
    monkeypatch.setattr("bayesmi.estimators.mi.CHECK_MAX_DIM", 3)
    x, y = toys.gaussian_pairs([0.7, 0.3]).sample(500, 0)
    assert bayesmi.estimate_mi(x, y, **FAST).check is None


def test_class_mutual_information_matches_a_known_mixture_of_classes():
    """Ross's (2014) kNN estimate of I(X;C), x | c ~ N(μ_c, 1) with three unequal classes: truth by
    Monte Carlo on 2·10⁵ rows; the estimate's sd at N = 5000 is ~0.01 nats (measured over replicates)."""
    from scipy.special import logsumexp
    from scipy.stats import norm

    from bayesmi.ksg import class_mutual_information

    rng = np.random.default_rng(0)
    p, mu = np.array([0.5, 0.3, 0.2]), np.array([-1.0, 0.5, 2.0])
    c = rng.choice(3, 200_000, p=p)
    x = rng.normal(mu[c], 1.0)
    log_joint = norm.logpdf(x[:, None], mu, 1.0) + np.log(p)
    truth = np.mean(log_joint[np.arange(x.size), c] - np.log(p[c]) - logsumexp(log_joint, axis=1))
    assert abs(class_mutual_information(x[:5000, None], c[:5000]) - truth) < 0.04
    independent = [class_mutual_information(rng.normal(size=(1000, 2)), rng.choice(3, 1000)) for _ in range(5)]
    assert abs(np.mean(independent)) < 0.02


@pytest.mark.slow  # ~35 s; the check's flag is tested on continuous pairs in the default run
def test_categorical_fits_are_checked_and_a_too_simple_mixture_is_flagged():
    """Class 0 of x is bimodal (±2.5), class 1 unimodal: one Gaussian per class cannot tell them apart
    well (its MI is far too low) and the class check says so; the default K fits both and passes."""
    rng = np.random.default_rng(1)
    n = 1200
    c = rng.choice(2, n)
    x = np.where(c == 0, rng.choice([-2.5, 2.5], n) + 0.5 * rng.normal(size=n), rng.normal(size=n))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrong = bayesmi.estimate_mi(x, c, y_type="categorical", num_components=1, seed=0, progress=False)
    assert wrong.check is not None and wrong.check_passed is False and "Ross 2014" in wrong.check.statistic
    assert any(issubclass(w.category, bayesmi.MisfitWarning) for w in caught)
    right = bayesmi.estimate_mi(x, c, y_type="categorical", seed=0, progress=False)
    assert right.check_passed is True
