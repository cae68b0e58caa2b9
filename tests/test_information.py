"""Entropy, KL divergence, conditional MI and pointwise MI estimators against closed forms."""

import math
import warnings

import numpy as np
import pytest
from scipy import stats

import bayesmi
from bayesmi import toys
from bayesmi.toys import gaussian_cmi, gaussian_kl

FAST = dict(num_samples=500, num_warmup=300, progress=False)


def gaussian_entropy(cov: np.ndarray) -> float:
    return 0.5 * np.linalg.slogdet(2 * np.pi * np.e * np.atleast_2d(cov))[1]


SCALED_COV = np.array([[9.0, 0.24], [0.24, 0.04]])  # sds 3 and 0.2, correlation 0.4
N = 1000  # every 2-D sample below has N rows, so one compiled fit serves them all


def test_entropy_undoes_the_standardisation():
    """H is not scale-invariant: a 2-D Gaussian with sds 3 and 0.2 has H = ½ log det(2πe Σ)."""
    x = np.random.default_rng(0).multivariate_normal([10.0, -1.0], SCALED_COV, N)
    res = bayesmi.estimate_entropy(x, truth=gaussian_entropy(SCALED_COV), **FAST)
    lo, hi = res.interval(0.95)
    assert lo < res.truth < hi, res
    assert res.diagnostics["log_jacobian"] == pytest.approx(np.log(x.std(0)).sum())
    assert res.variable == "entropy" and res.idata.posterior["entropy"].attrs["long_name"] == "H(X)"
    bits = res.to("bits")
    np.testing.assert_allclose(bits.draws, res.draws / math.log(2), rtol=1e-6)
    assert "entropy [bits]" in bits.summary().index[0]
    with pytest.raises(ValueError, match="estimate_mi"):
        bayesmi.pointwise_mi(res)


@pytest.mark.slow  # a coverage study over repeated samples
def test_entropy_posterior_coverage_in_repeated_samples():
    """50 replicates of N = 500 from a 1-D Gaussian (sd 3): the 95% and 50% intervals cover the
    true entropy at their nominal rates, within a binomial band (each side P < 0.01).
    K is fixed at 1, so every replicate reuses one compiled fit (~0.1 s each)."""
    truth = gaussian_entropy(9.0)
    rng = np.random.default_rng(1)
    hits = {0.95: 0, 0.5: 0}
    for rep in range(50):
        with warnings.catch_warnings():  # chains of 250 draws: R-hat may just exceed 1.01
            warnings.simplefilter("ignore", bayesmi.ConvergenceWarning)
            res = bayesmi.estimate_entropy(5.0 + 3.0 * rng.normal(size=500), num_components=1, num_chains=2,
                                           num_warmup=100, num_samples=250, progress=False, seed=rep)
        for prob in hits:
            lo, hi = res.interval(prob)
            hits[prob] += lo < truth < hi
    for prob, n_hit in hits.items():
        lo, hi = stats.binom.ppf([0.01, 0.99], 50, prob)
        assert lo <= n_hit <= hi, (prob, n_hit, (lo, hi))


def test_kl_of_two_gaussians_matches_closed_form():
    rng = np.random.default_rng(2)
    mp, cp = np.array([0.0, 0.0]), np.array([[1.0, 0.3], [0.3, 0.5]])
    mq, cq = np.array([0.8, -0.3]), np.array([[1.5, -0.2], [-0.2, 0.8]])
    truth = gaussian_kl(mp, cp, mq, cq)
    x_p, x_q = rng.multivariate_normal(mp, cp, N), rng.multivariate_normal(mq, cq, N)
    res = bayesmi.estimate_kl(x_p, x_q, truth=truth, **FAST)
    lo, hi = res.interval(0.95)
    assert lo < truth < hi, (res, truth)
    assert res.variable == "kl" and set(res.diagnostics["n_components"]) == {"p", "q"}
    assert {"p_means", "p_cov", "q_means", "q_cov"} <= set(res.idata.posterior.data_vars)
    for part, k in res.diagnostics["n_components"].items():  # weights are stored only for K > 1
        assert (f"{part}_weights" in res.idata.posterior) == (k > 1)
    assert res.idata.log_likelihood["x_p"].shape == (4, 500, N)
    # KL is invariant to a shared affine map: rescaling both samples changes nothing
    scaled = bayesmi.estimate_kl(100 * x_p + 7, 100 * x_q + 7, **FAST)
    np.testing.assert_allclose(scaled.draws, res.draws, rtol=1e-3, atol=1e-4)


def test_kl_of_a_sample_with_itself_is_near_zero():
    x = np.random.default_rng(3).normal(size=(N, 2))
    res = bayesmi.estimate_kl(x, x, **FAST)
    assert res.mean < 0.01 and res.interval(0.95)[0] < 0.003


def chain_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X → Z → Y: z = x + 0.7 e1, y = 0.8 z + 0.6 e2, so I(X;Y|Z) = 0 while I(X;Y) > 0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z = x + 0.7 * rng.normal(size=n)
    return x, 0.8 * z + 0.6 * rng.normal(size=n), z


def test_conditional_mi_of_a_markov_chain_is_zero():
    x, y, z = chain_sample(1500, 4)
    res = bayesmi.estimate_cmi(x, y, z, truth=0.0, **FAST)
    assert res.interval(0.95)[0] < 0.003 and res.mean < 0.01, res
    assert res.variable == "cmi" and res.idata.posterior["cmi"].attrs["long_name"] == "I(X;Y|Z)"


def test_conditional_mi_of_a_gaussian_matches_closed_form():
    """(x, y, z) Gaussian with x and y dependent given z; columns on very different scales."""
    a = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.5, 0.3, 0.7]])
    cov = a @ a.T
    truth = gaussian_cmi(cov, 1, 1)
    w = np.random.default_rng(7).multivariate_normal(np.zeros(3), cov, 1500) * [1.0, 50.0, 0.01]
    res = bayesmi.estimate_cmi(w[:, 0], w[:, 1], w[:, 2], truth=truth, **FAST)
    lo, hi = res.interval(0.95)
    assert lo < truth < hi, (res, truth)
    # and it tracks this sample: the Gaussian plug-in CMI of the sample covariance lies well inside
    assert abs(res.mean - gaussian_cmi(np.cov(w.T), 1, 1)) < 0.5 * res.sd
    assert res.diagnostics["dim_z"] == 1 and res.idata.observed_data["z"].shape == (1500, 3)


def test_pointwise_mi_and_its_plot():
    import matplotlib.pyplot as plt

    from bayesmi.plots import plot_pmi

    toy = toys.gaussian(rho=0.6)
    x, y = toy.sample(N, seed=6)
    res = bayesmi.estimate_mi(x, y, seed=6, **FAST)
    pmi = bayesmi.pointwise_mi(res, max_draws=50)
    assert pmi.shape == (50, N)
    # a Gaussian's PMI at (x, y) in closed form, evaluated at the posterior-mean level
    rho = toy.settings["rho"]
    zx, zy = (x - x.mean()) / x.std(), (y - y.mean()) / y.std()
    exact = -0.5 * np.log(1 - rho**2) - (rho**2 * (zx**2 + zy**2) - 2 * rho * zx * zy) / (2 * (1 - rho**2))
    assert np.corrcoef(pmi.mean(0), exact)[0, 1] > 0.99
    assert abs(pmi.mean() - res.mean) < 0.02
    fig = plot_pmi(res, max_draws=50)
    assert len(fig.axes) == 1 and "pointwise MI" in fig.axes[0].get_xlabel()
    plt.close(fig)


def test_unknown_option_and_bad_input_raise_clear_errors():
    x = np.random.default_rng(7).normal(size=(100, 2))
    with pytest.raises(TypeError, match="unknown option.*num_sample"):
        bayesmi.estimate_entropy(x, num_sample=10)
    with pytest.raises(ValueError, match="method"):
        bayesmi.estimate_entropy(x, method="mcmc")
    with pytest.raises(ValueError, match="same number of columns"):
        bayesmi.estimate_kl(x, x[:, 0])
    with pytest.raises(ValueError, match="x and y and z have different lengths"):
        bayesmi.estimate_cmi(x[:, 0], x[:50, 1], x[:, 1])
    with pytest.raises(ValueError, match="z column 0 is constant"):
        bayesmi.estimate_cmi(x[:, 0], x[:, 1], np.ones(100))
    with pytest.raises(ValueError, match="x_q contains 1 NaN"):
        bayesmi.estimate_kl(x, np.r_[x[:-1], [[np.nan, 0.0]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="only 10 rows"):
            bayesmi.estimate_entropy(x[:10])
