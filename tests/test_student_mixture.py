"""Student-t mixture components: densities, marginals, samples and information against scipy and closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special
from scipy.stats import multivariate_t

from bayesmi import mixture, toys

from test_mixture import random_mixture


def student_mixture(rng: np.random.Generator, k: int, dim: int) -> mixture.GMMParams:
    return random_mixture(rng, k, dim)._replace(dof=jnp.asarray(rng.uniform(1.0, 8.0, k), jnp.float32))


def test_mixing_quantile_matches_scipy_over_the_degrees_of_freedom_and_tails():
    dof = np.array([0.5, 1, 2, 3, 10, 50, 500], np.float32)[:, None]
    e = np.linspace(-5.5, 5.5, 45, dtype=np.float32)[None, :]
    lower = special.gammaincinv(dof / 2, special.ndtr(e))
    upper = special.gammainccinv(dof / 2, special.ndtr(-e))
    expected = np.where(e < 0, lower, upper) / (dof / 2)
    np.testing.assert_allclose(np.asarray(jax.jit(mixture.mixing_quantile)(dof, e)), expected, rtol=3e-4)


def test_student_log_prob_and_marginal_match_scipy():
    rng = np.random.default_rng(0)
    params = student_mixture(rng, 3, 3)
    z = (3 * rng.standard_t(2, size=(60, 3))).astype(np.float32)
    scales = np.asarray(mixture.covariances(params))
    w, mu, nu = (np.asarray(a) for a in (params.weights, params.means, params.dof))

    def expected(dims):
        return np.log(sum(wk * multivariate_t(mk[dims], sk[np.ix_(dims, dims)], df=nk).pdf(z[:, dims])
                          for wk, mk, sk, nk in zip(w, mu, scales, nu)))

    np.testing.assert_allclose(np.asarray(mixture.log_prob(params, jnp.asarray(z))), expected([0, 1, 2]),
                               rtol=1e-4, atol=1e-4)
    marg = mixture.marginal(params, (0, 2))
    np.testing.assert_allclose(np.asarray(mixture.log_prob(marg, jnp.asarray(z[:, [0, 2]]))), expected([0, 2]),
                               rtol=1e-4, atol=1e-4)


def test_student_samples_and_component_points_follow_the_t_distribution():
    """Sampled points and QMC points mapped to a t component: Mahalanobis distances m follow
    m / D ~ F(D, ν) (Kolmogorov-Smirnov; the QMC points are more even than random ones)."""
    from scipy.stats import f as f_dist, kstest

    rng = np.random.default_rng(1)
    params = student_mixture(rng, 1, 3)._replace(dof=jnp.asarray([3.0], jnp.float32))
    draws = mixture.sample(params, jax.random.key(0), 20_000)
    distance = np.asarray(mixture.mahalanobis(params, draws))[:, 0] / 3
    assert kstest(distance, f_dist(3, 3.0).cdf).pvalue > 0.01
    points = mixture.component_points(params, jnp.asarray(mixture.qmc_normal_points(4, 4096, 1, seed=0)))[0, 0]
    distance = np.asarray(mixture.mahalanobis(params, points))[:, 0] / 3
    assert kstest(distance, f_dist(3, 3.0).cdf).statistic < 1.36 / np.sqrt(distance.size)  # the 5% KS bound


@pytest.mark.parametrize("dim_x,dim_y,dof", [(1, 1, 1.0), (2, 2, 2.0), (3, 3, 3.0)])
def test_single_student_mi_is_the_toys_closed_form_and_its_quadrature(dim_x, dim_y, dof):
    """One t component with the identity scale: the closed form equals the suite's truth, and the
    quadrature over points of D + 1 coordinates agrees within its MC error."""
    dim = dim_x + dim_y
    toy = toys.student_t(dof=dof, cov=np.eye(dim), dim_x=dim_x)
    params = mixture.GMMParams(jnp.ones(1), jnp.zeros((1, dim)), jnp.eye(dim)[None], jnp.asarray([dof]))
    exact, se = mixture.mutual_information(params, dim_x, None)
    assert float(se) == 0.0
    np.testing.assert_allclose(float(exact), toy.mi, rtol=1e-4)
    two = params._replace(weights=jnp.asarray([0.5, 0.5]), means=jnp.zeros((2, dim)),
                          prec_chol=jnp.repeat(params.prec_chol, 2, 0), dof=jnp.asarray([dof, dof]))
    value, se = mixture.mutual_information(two, dim_x, jnp.asarray(mixture.qmc_normal_points(dim + 1, 4096, 8, 0)))
    assert abs(float(value) - toy.mi) < 4 * float(se) + 2e-3


def test_student_mixture_mi_matches_plain_monte_carlo():
    rng = np.random.default_rng(3)
    params = student_mixture(rng, 3, 3)
    value, se = mixture.mutual_information(params, 1, jnp.asarray(mixture.qmc_normal_points(4, 2048, 8, 0)))
    draws = mixture.sample(params, jax.random.key(1), 400_000)
    pmi = np.asarray(mixture.pointwise_mutual_information(params, 1, draws))
    assert abs(float(value) - pmi.mean()) < 4 * np.hypot(float(se), pmi.std() / np.sqrt(pmi.size))


def test_single_student_entropy_and_conditional_mi_are_closed_forms_of_their_quadratures():
    rng = np.random.default_rng(4)
    params = student_mixture(rng, 1, 4)
    points = jnp.asarray(mixture.qmc_normal_points(5, 4096, 8, 0))
    twin = params._replace(weights=jnp.asarray([0.5, 0.5]), **{f: jnp.repeat(getattr(params, f), 2, 0)
                                                                 for f in ("means", "prec_chol", "dof")})
    for quantity, args in ((mixture.entropy, ()), (mixture.conditional_mutual_information, (1, 2))):
        assert mixture.closed_form(quantity, params)
        exact, _ = quantity(params, *args, points)
        value, se = quantity(twin, *args, points)
        assert abs(float(value) - float(exact)) < 4 * float(se) + 2e-3, quantity.__name__
    assert not mixture.closed_form(mixture.kl_divergence, params, params)


def test_padding_keeps_the_degrees_of_freedom_and_leaves_the_density_alone():
    rng = np.random.default_rng(5)
    params = student_mixture(rng, 2, 2)
    padded = mixture.pad_components(params, 4)
    assert padded.dof.shape == (4,)
    z = jnp.asarray(rng.normal(size=(20, 2)), jnp.float32)
    np.testing.assert_allclose(np.asarray(mixture.log_prob(padded, z)), np.asarray(mixture.log_prob(params, z)),
                               rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(mixture.first_components(padded, 2).dof), np.asarray(params.dof))


# --- inference: Gibbs, EM, the copula's degrees of freedom, and estimate_mi(family="student") ---------------


def _student_rows(dim: int, dof: float, n: int, seed: int) -> np.ndarray:
    """n rows of a centred t (``dof``) with the identity scale in ``dim`` dimensions."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, dim)) / np.sqrt(rng.chisquare(dof, (n, 1)) / dof)


def test_gibbs_posterior_of_one_t_component_covers_its_dof_and_its_mi():
    """One t component (K = 1): the posterior of ν and of I(X;Y) (closed form per draw) cover the truth."""
    from bayesmi.infer import gibbs
    from bayesmi.models import GMMPrior
    from bayesmi.options import FitOptions
    from bayesmi.util import Progress

    z = _student_rows(4, 3.0, 2000, seed=0).astype(np.float32)
    start = mixture.from_covariances(jnp.ones(1), jnp.zeros((1, 4)), jnp.eye(4)[None])._replace(dof=jnp.asarray([20.0]))
    draws, _ = gibbs.sample(jnp.asarray(z)[None], jnp.ones((1, len(z))), jax.tree.map(lambda a: a[None], start),
                            np.array([1]), GMMPrior(), jax.random.key(0),
                            FitOptions(num_chains=2, num_warmup=200, num_samples=500, progress=False), Progress(False, ""))
    flat = jax.tree.map(lambda a: a[0].reshape((-1,) + a.shape[3:]), draws)
    dof = np.asarray(flat.dof)[:, 0]
    assert np.quantile(dof, 0.005) < 3.0 < np.quantile(dof, 0.995)
    mi = np.asarray(jax.vmap(lambda p: mixture.mutual_information(p, 2, None)[0])(flat))
    truth = toys.student_t(dof=3.0, cov=np.eye(4), dim_x=2).mi
    assert np.quantile(mi, 0.005) < truth < np.quantile(mi, 0.995)


def test_em_with_t_components_chooses_one_for_t_rows_and_finds_its_dof():
    from bayesmi.infer import em
    from bayesmi.models import GMMPrior

    z = _student_rows(3, 2.0, 3000, seed=1).astype(np.float32)
    mask = np.ones((1, len(z)), np.float32)
    gaussian = em.select_components(jnp.asarray(z)[None], mask, GMMPrior(), jax.random.key(0), 6)
    student = em.select_components(jnp.asarray(z)[None], mask, GMMPrior(), jax.random.key(0), 6, student=True)
    assert gaussian.n_components[0] > 1  # Gaussian components spend K on the tails
    assert student.n_components[0] == 1
    assert 1.6 < float(student.params.dof[0, 0]) < 2.5
    assert np.nanmin(student.scores) < np.nanmin(gaussian.scores)  # and t components fit better, by BIC


def test_copula_dof_finds_a_t_copula_whatever_the_margins_and_a_gaussian_one():
    from bayesmi.inputs import copula_dof, t_scores

    rows = _student_rows(4, 2.0, 1500, seed=2)
    assert copula_dof(rows) == 2.0
    assert copula_dof(np.arcsinh(rows) ** 3) == 2.0  # increasing maps of the columns keep the copula
    gaussian = np.random.default_rng(3).multivariate_normal(np.zeros(3), [[1, .6, 0], [.6, 1, .3], [0, .3, 1]], 1500)
    assert copula_dof(np.exp(gaussian)) == np.inf
    scores = t_scores(np.exp(gaussian), 4.0)  # ranks kept, margins t_4
    np.testing.assert_array_equal(np.argsort(scores, 0), np.argsort(gaussian, 0))


# The Gaussian case fits a t mixture with K chosen by t-mixture EM (~35 s in the default run); the
# default family never fits t mixtures, so it runs on demand with the slow tier.
@pytest.mark.parametrize("name", ["asinh_student_2x2_dof2", pytest.param("normal_3x3_sparse", marks=pytest.mark.slow)])
def test_estimate_mi_with_t_components_covers_t_copula_and_gaussian_data(name):
    """Gaussian components alone miss the asinh-Student task by a factor 3 (suite records); t
    components with t scores cover it, and on Gaussian data the copula's ν is ∞ and they cover too."""
    from bayesmi import estimate_mi

    toy = toys.SUITE[name]
    x, y = toy.sample(1000, seed=1)
    result = estimate_mi(x, y, family="student", progress=False, seed=0)
    low, high = np.quantile(result.draws, [0.025, 0.975])
    assert low < toy.mi < high
    assert result.converged and result.check_passed
    assert result.diagnostics["copula_dof"] == (2.0 if "student" in name else np.inf)
    assert "dof" in result.idata.posterior


def test_t_components_are_refused_by_the_other_mixture_methods():
    from bayesmi.options import FitOptions

    with pytest.raises(ValueError, match="family='student' is sampled by method='gibbs' only"):
        FitOptions(method="nuts", family="student")
    with pytest.raises(ValueError, match="family must be one of"):
        FitOptions(family="t")
    FitOptions(method="ksg", family="student")  # no mixture: nothing to refuse
