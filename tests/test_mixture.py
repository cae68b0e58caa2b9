"""Pure mixture mathematics against closed forms and scipy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

from bayesmi import mixture, toys
from bayesmi.toys import gaussian_cmi, gaussian_kl, gaussian_mi


def random_mixture(rng: np.random.Generator, k: int, dim: int) -> mixture.GMMParams:
    weights = rng.dirichlet(np.ones(k) * 2)
    means = rng.normal(0, 1.5, (k, dim))
    a = rng.normal(size=(k, dim, dim))
    covs = a @ np.swapaxes(a, -1, -2) / dim + 0.2 * np.eye(dim)
    return mixture.from_covariances(jnp.asarray(weights, jnp.float32), jnp.asarray(means, jnp.float32),
                                    jnp.asarray(covs, jnp.float32))


BASE = {d: jnp.asarray(mixture.qmc_normal_points(d, 1024, 8, seed=1)) for d in (1, 2, 3, 4, 5)}


def test_log_prob_matches_scipy():
    rng = np.random.default_rng(0)
    params = random_mixture(rng, 3, 3)
    z = rng.normal(size=(50, 3)).astype(np.float32)
    covs = np.asarray(mixture.covariances(params))
    expected = np.log(sum(
        w * multivariate_normal(m, c).pdf(z)
        for w, m, c in zip(np.asarray(params.weights), np.asarray(params.means), covs)
    ))
    np.testing.assert_allclose(np.asarray(mixture.log_prob(params, jnp.asarray(z))), expected, rtol=1e-4, atol=1e-4)


def test_marginal_slices_means_and_covariances():
    rng = np.random.default_rng(1)
    params = random_mixture(rng, 2, 4)
    marg = mixture.marginal(params, (1, 3))
    covs = np.asarray(mixture.covariances(params))
    np.testing.assert_allclose(np.asarray(marg.means), np.asarray(params.means)[:, [1, 3]], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(mixture.covariances(marg)), covs[:, [1, 3]][:, :, [1, 3]],
                               rtol=1e-4, atol=1e-5)


def test_sample_moments_match_mixture():
    rng = np.random.default_rng(2)
    params = random_mixture(rng, 3, 2)
    n = 200_000
    draws = np.asarray(mixture.sample(params, jax.random.key(0), n))
    w, mu = np.asarray(params.weights), np.asarray(params.means)
    covs = np.asarray(mixture.covariances(params))
    mean = w @ mu
    cov = np.einsum("k,kij->ij", w, covs + mu[:, :, None] * mu[:, None, :]) - np.outer(mean, mean)
    se = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(draws.mean(0) - mean) < 5 * se)
    np.testing.assert_allclose(np.cov(draws.T), cov, rtol=0.03, atol=0.01)


@pytest.mark.parametrize("dim_x,dim_y", [(1, 1), (2, 1), (2, 3), (25, 25)])
def test_single_gaussian_mi_is_exact(dim_x, dim_y):
    """K=1 takes the log-determinant closed form (s.e. 0), equal to numpy's, also at 25+25 dims."""
    rng = np.random.default_rng(dim_x * 10 + dim_y)
    params = random_mixture(rng, 1, dim_x + dim_y)
    mi, se = mixture.mutual_information(params, dim_x, BASE[min(dim_x + dim_y, 5)])
    truth = gaussian_mi(np.asarray(mixture.covariances(params))[0].astype(float), dim_x)
    assert abs(float(mi) - truth) < 1e-4 * max(1.0, truth)
    assert float(se) == 0.0


@pytest.mark.parametrize("dim_x,dim_y", [(1, 1), (2, 1), (2, 3)])
def test_single_gaussian_quadrature_matches_the_closed_form(dim_x, dim_y):
    """The moment-matched QMC integral of one Gaussian's pointwise MI (quadratic) is exact: the
    quadrature path used for K > 1 agrees with the K=1 closed form."""
    rng = np.random.default_rng(dim_x * 10 + dim_y)
    params = random_mixture(rng, 1, dim_x + dim_y)
    pmi = lambda z: mixture.pointwise_mutual_information(params, dim_x, z)  # noqa: E731
    mi, se = mixture.mc_estimate(mixture.expectation(params, pmi, BASE[dim_x + dim_y]))
    closed, _ = mixture.mutual_information(params, dim_x, BASE[dim_x + dim_y])
    assert abs(float(mi) - float(closed)) < 1e-4 and float(se) < 1e-4


def test_mixture_mi_matches_plain_monte_carlo():
    """The stratified RQMC integral agrees with an independent plain MC estimate (4 s.e.)."""
    rng = np.random.default_rng(3)
    params = random_mixture(rng, 3, 2)
    mi, se = mixture.mutual_information(params, 1, BASE[2])
    n = 400_000
    z = mixture.sample(params, jax.random.key(1), n)
    pmi = np.asarray(mixture.log_prob(params, z) - mixture.log_prob(mixture.marginal(params, (0,)), z[:, :1])
                     - mixture.log_prob(mixture.marginal(params, (1,)), z[:, 1:]), dtype=float)
    mc_se = pmi.std() / np.sqrt(n)
    assert abs(float(mi) - pmi.mean()) < 4 * np.hypot(mc_se, float(se))


def test_mahalanobis_is_accurate_for_thin_components():
    """Distances to a component of two columns with 8 nats of MI (precision ~1e7) match float64 to
    ~1e-2, and none is negative: float32 distances must not cancel in zᵀΛz − 2μᵀΛz + μᵀΛμ."""
    rho = np.sqrt(1 - np.exp(-16.0))
    cov = np.array([[1.0, rho], [rho, 1.0]])
    z = np.random.default_rng(1).multivariate_normal([0.5, 0.5], cov, 2000)
    exact = np.einsum("ni,ij,nj->n", z - 0.5, np.linalg.inv(cov), z - 0.5)
    prec_chol = np.linalg.cholesky(np.linalg.inv(cov))[None]  # in float64: float32 cannot invert cov
    params = mixture.GMMParams(jnp.ones(1), jnp.full((1, 2), 0.5, jnp.float32), jnp.asarray(prec_chol, jnp.float32))
    distance = np.asarray(mixture.mahalanobis(params, jnp.asarray(z, jnp.float32)))[:, 0]
    assert distance.min() >= 0
    np.testing.assert_allclose(distance, exact, atol=2e-2)


@pytest.mark.parametrize("mi", [4.0, 8.0])
def test_mi_of_strongly_dependent_components_matches_float64_monte_carlo(mi):
    """Two components on one thin ridge (each with ``mi`` nats, means ±(1, 1) along it): the float32
    integral agrees with plain Monte Carlo in float64 within 4 s.e."""
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal, norm

    rho = np.sqrt(1 - np.exp(-2 * mi))
    cov = np.array([[1.0, rho], [rho, 1.0]])
    means, weights = np.array([[-1.0, -1.0], [1.0, 1.0]]), np.array([0.4, 0.6])
    prec_chol = np.linalg.cholesky(np.linalg.inv(np.stack([cov, cov])))  # float64: float32 cannot invert cov
    params = mixture.GMMParams(jnp.asarray(weights, jnp.float32), jnp.asarray(means, jnp.float32),
                               jnp.asarray(prec_chol, jnp.float32))
    estimate, se = mixture.mutual_information(params, 1, BASE[2])

    rng = np.random.default_rng(5)
    n = 200_000
    labels = rng.choice(2, n, p=weights)
    z = means[labels] + rng.multivariate_normal([0, 0], cov, n)
    joint = logsumexp([np.log(w) + multivariate_normal(m, cov).logpdf(z) for w, m in zip(weights, means)], axis=0)
    sides = [logsumexp([np.log(w) + norm(m[j], 1.0).logpdf(z[:, j]) for w, m in zip(weights, means)], axis=0)
             for j in (0, 1)]
    pmi = joint - sides[0] - sides[1]
    assert abs(float(estimate) - pmi.mean()) < 4 * np.hypot(pmi.std() / np.sqrt(n), float(se))


def test_independent_components_give_zero_mi():
    """A product mixture p(x)p(y) written as a grid of components has I = 0."""
    wx, mx, sx = np.array([0.3, 0.7]), np.array([-1.0, 2.0]), np.array([0.5, 1.0])
    wy, my, sy = np.array([0.6, 0.4]), np.array([0.0, 3.0]), np.array([1.0, 0.3])
    weights = np.outer(wx, wy).ravel()
    means = np.array([[a, b] for a in mx for b in my])
    covs = np.array([np.diag([c**2, d**2]) for c in sx for d in sy])
    params = mixture.from_covariances(jnp.asarray(weights, jnp.float32), jnp.asarray(means, jnp.float32),
                                      jnp.asarray(covs, jnp.float32))
    mi, se = mixture.mutual_information(params, 1, BASE[2])
    assert abs(float(mi)) < 5 * float(se) + 1e-5


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 3), dim_x=st.integers(1, 2), dim_y=st.integers(1, 2))
def test_mi_symmetric_nonnegative_and_invariant(seed, k, dim_x, dim_y):
    """I ≥ 0; I(X;Y) = I(Y;X); I unchanged by an invertible affine map of x alone."""
    rng = np.random.default_rng(seed)
    params = random_mixture(rng, k, dim_x + dim_y)
    base = BASE[dim_x + dim_y]
    mi, se = (float(v) for v in mixture.mutual_information(params, dim_x, base))
    tol = 5 * se + 2e-4 * (1 + abs(mi))
    assert mi > -tol
    order = list(range(dim_x, dim_x + dim_y)) + list(range(dim_x))
    covs = mixture.covariances(params)
    swapped = mixture.from_covariances(params.weights, params.means[:, order], covs[:, order][:, :, order])
    mi_swapped, se_swapped = (float(v) for v in mixture.mutual_information(swapped, dim_y, base))
    assert abs(mi - mi_swapped) < 5 * np.hypot(se, se_swapped) + 2e-4 * (1 + abs(mi))
    a = np.eye(dim_x + dim_y)
    a[:dim_x, :dim_x] = rng.normal(size=(dim_x, dim_x)) + 3 * np.eye(dim_x)
    a = jnp.asarray(a, jnp.float32)
    mapped = mixture.from_covariances(params.weights, params.means @ a.T + 1.0, a @ covs @ a.T)
    mi_mapped, se_mapped = (float(v) for v in mixture.mutual_information(mapped, dim_x, base))
    assert abs(mi - mi_mapped) < 5 * np.hypot(se, se_mapped) + 2e-4 * (1 + abs(mi))


def test_qmc_points_are_moment_matched_and_reproducible():
    pts = mixture.qmc_normal_points(3, 256, 4, seed=7)
    assert pts.shape == (4, 256, 3)
    np.testing.assert_allclose(pts.mean(1), 0, atol=1e-5)
    np.testing.assert_allclose(np.einsum("rmi,rmj->rij", pts, pts) / 256, np.broadcast_to(np.eye(3), (4, 3, 3)), atol=1e-4)
    np.testing.assert_array_equal(pts, mixture.qmc_normal_points(3, 256, 4, seed=7))
    with pytest.raises(ValueError, match="power of two"):
        mixture.qmc_normal_points(2, 100, 4, seed=0)


# --------------------------------------------------------------------------- entropy, KL, CMI, categorical MI


def gaussian(rng: np.random.Generator, dim: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A random mean (dim,) and SPD covariance (dim, dim)."""
    a = rng.normal(size=(dim, dim))
    return rng.normal(shift, 1.0, dim), a @ a.T / dim + 0.3 * np.eye(dim)


def single(mean: np.ndarray, cov: np.ndarray) -> mixture.GMMParams:
    return mixture.from_covariances(jnp.ones(1), jnp.asarray(mean[None], jnp.float32),
                                    jnp.asarray(cov[None], jnp.float32))


def test_expectation_of_a_linear_integrand_is_the_mixture_mean():
    """Moment-matched points integrate a linear function exactly, component by component."""
    params = random_mixture(np.random.default_rng(4), 3, 2)
    per_rep = mixture.expectation(params, lambda z: z[:, 1], BASE[2])
    assert per_rep.shape == (8,)
    expected = float(np.asarray(params.weights) @ np.asarray(params.means)[:, 1])
    np.testing.assert_allclose(np.asarray(per_rep), expected, atol=1e-4)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), dim=st.integers(1, 4))
def test_single_gaussian_entropy_is_exact(seed, dim):
    """H of one component is ½ log det(2πe Σ), by the closed form and by the QMC quadrature of its
    quadratic integrand (exact with moment-matched points)."""
    mean, cov = gaussian(np.random.default_rng(seed), dim)
    params = single(mean, cov)
    h, se = mixture.entropy(params, BASE[dim])
    quadrature, _ = mixture.mc_estimate(mixture.expectation(params, lambda z: -mixture.log_prob(params, z), BASE[dim]))
    truth = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1]
    for value in (h, quadrature):
        assert abs(float(value) - truth) < 2e-4 * (1 + abs(truth))
    assert float(se) == 0.0


def test_gaussian_kl_matches_closed_form():
    rng = np.random.default_rng(5)
    for dim in (1, 2, 3):
        (mp, cp), (mq, cq) = gaussian(rng, dim), gaussian(rng, dim, shift=0.5)
        kl, se = mixture.kl_divergence(single(mp, cp), single(mq, cq), BASE[dim])
        assert abs(float(kl) - gaussian_kl(mp, cp, mq, cq)) < 1e-3 and float(se) < 1e-4


@pytest.mark.parametrize("dims", [(1, 1, 1), (1, 2, 1), (2, 1, 2)])
def test_gaussian_cmi_matches_closed_form(dims):
    dim_x, dim_y, dim_z = dims
    dim = sum(dims)
    _, cov = gaussian(np.random.default_rng(sum(dims)), dim)
    cmi, se = mixture.conditional_mutual_information(single(np.zeros(dim), cov), dim_x, dim_y, BASE[dim])
    assert abs(float(cmi) - gaussian_cmi(cov, dim_x, dim_y)) < 2e-4 and float(se) < 1e-4


def test_gaussian_chain_has_zero_conditional_mi():
    """X → Z → Y: X and Y are independent given Z, however strongly each is coupled to Z."""
    # x = e0, z = x + 0.7 e1, y = 0.8 z + 0.6 e2; rows in the order (x, y, z), columns (e0, e1, e2)
    a = np.array([[1.0, 0.0, 0.0], [0.8, 0.56, 0.6], [1.0, 0.7, 0.0]])
    cov = a @ a.T
    assert abs(gaussian_cmi(cov, 1, 1)) < 1e-12
    cmi, se = mixture.conditional_mutual_information(single(np.zeros(3), cov), 1, 1, BASE[3])
    assert abs(float(cmi)) < 1e-4 and float(se) < 1e-4


def _class_params(toy) -> tuple[mixture.GMMParams, ...]:
    return tuple(single(m, c) for m, c in zip(toy.means, toy.covs))


@pytest.mark.parametrize("priors,truth", [((0.8, 0.2), 0.23260303411971622), ((0.5, 0.5), None)])
def test_categorical_mi_of_the_true_classes_matches_the_toy(priors, truth):
    """With the true class densities the integral matches the toy's quadrature; uniform priors
    give GMM-MI's 0.337 nats for the same densities."""
    toy = toys.class_conditional_gaussian(priors=priors)
    truth = toy.mi if truth is None else truth
    mi, se = mixture.categorical_mutual_information(jnp.asarray(priors, jnp.float32), _class_params(toy), BASE[1])
    assert abs(float(mi) - truth) < 5 * float(se) + 2e-4


def test_categorical_mi_averages_the_label_out_of_the_pointwise_integrand():
    """The integral ``H(Y) − E[H(Y|x)]`` equals the mean of the pointwise integrand
    ``log p(c|x) − log p(c)`` over points of each class (the same expectation, estimated separately
    and within their MC errors), and is the more precise of the two on overlapping classes."""
    rng = np.random.default_rng(3)
    probs = jnp.asarray([0.5, 0.3, 0.2], jnp.float32)
    classes = tuple(random_mixture(rng, k, 2) for k in (2, 3, 1))
    mi, se = mixture.categorical_mutual_information(probs, classes, BASE[2])
    per_class = []
    for c, params in enumerate(classes):
        pmi = lambda z, c=c: mixture.pointwise_categorical_mutual_information(probs, classes, z, c)  # noqa: E731
        per_class.append(float(probs[c]) * mixture.expectation(params, pmi, BASE[2]))
    direct, direct_se = mixture.mc_estimate(sum(per_class))
    assert abs(float(mi) - float(direct)) < 5 * float(np.hypot(se, direct_se)) + 1e-5
    assert 0 < float(se) < float(direct_se)


def test_categorical_mi_three_classes_in_two_dimensions():
    toy = toys.class_conditional_gaussian(
        means=[[0.0, 0.0], [1.5, 0.5], [-0.5, 1.5]], priors=[0.5, 0.3, 0.2],
        covs=[np.eye(2), [[1.0, 0.5], [0.5, 1.0]], [[0.6, -0.2], [-0.2, 0.8]]])
    mi, se = mixture.categorical_mutual_information(jnp.asarray(toy.priors, jnp.float32), _class_params(toy), BASE[2])
    assert abs(float(mi) - toy.mi) < 5 * np.hypot(float(se), toy.mi_error) + 2e-4


@settings(max_examples=15, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 3), dim=st.integers(1, 3))
def test_kl_of_a_mixture_with_itself_is_zero_and_otherwise_positive(seed, k, dim):
    rng = np.random.default_rng(seed)
    p, q = random_mixture(rng, k, dim), random_mixture(rng, k + 1, dim)
    base = BASE[dim]
    kl_pp, _ = mixture.kl_divergence(p, p, base)
    assert abs(float(kl_pp)) < 1e-5
    kl_pq, se = mixture.kl_divergence(p, q, base)
    assert float(kl_pq) > -5 * float(se) - 1e-4


@settings(max_examples=15, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 3), dims=st.sampled_from([(1, 1, 1), (1, 1, 2), (2, 1, 1)]))
def test_cmi_of_random_mixtures_is_nonnegative(seed, k, dims):
    params = random_mixture(np.random.default_rng(seed), k, sum(dims))
    cmi, se = mixture.conditional_mutual_information(params, dims[0], dims[1], BASE[sum(dims)])
    assert float(cmi) > -5 * float(se) - 2e-4 * (1 + abs(float(cmi)))


@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), n_classes=st.integers(2, 4))
def test_categorical_mi_lies_between_zero_and_the_class_entropy(seed, n_classes):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(n_classes))
    classes = tuple(random_mixture(rng, int(rng.integers(1, 4)), 2) for _ in range(n_classes))
    mi, se = mixture.categorical_mutual_information(jnp.asarray(probs, jnp.float32), classes, BASE[2])
    h_y = float(-np.sum(probs * np.log(probs)))
    tol = 5 * float(se) + 1e-4
    assert -tol < float(mi) < h_y + tol
