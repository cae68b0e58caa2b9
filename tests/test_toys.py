"""Tests for bayesmi.toys: every closed-form MI against an independent computation.

Two kinds of check, each with a tolerance fixed by the method rather than tuned:

* numerical integration (scipy.integrate) requested to ~1e-10 absolute; the
  comparison allows QUAD_TOL = 1e-7, far above the integration error and far
  below any real formula error (a wrong term or sign is O(1e-2) or more);
* Monte Carlo with the toy's own samples: the mean of log p(x, y) − log p(x) −
  log p(y) from exact scipy.stats densities must be within Z = 4 standard errors
  of ``toy.mi``; sample moments and probabilities likewise within Z s.e.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from bayesmi import toys

Z = 4.0  # tolerance in standard errors
N_MC = 200_000  # Monte Carlo sample size
QUAD_TOL = 1e-7
QUAD = {"epsabs": 1e-11, "epsrel": 1e-11, "limit": 200}


def assert_within_se(values: np.ndarray, target: float) -> None:
    """Sample mean of ``values`` within Z standard errors of ``target``."""
    values = np.asarray(values, dtype=np.float64)
    assert np.all(np.isfinite(values))
    se = values.std(ddof=1) / math.sqrt(values.size)
    assert abs(values.mean() - target) < Z * se, (values.mean(), target, se)


def assert_probability(hits: np.ndarray, p: float) -> None:
    """Frequency of ``hits`` within Z binomial standard errors of ``p``."""
    se = math.sqrt(p * (1 - p) / hits.size)
    assert abs(hits.mean() - p) < Z * se, (hits.mean(), p, se)


def assert_mc_mi(toy: toys.Toy, log_ratio: Callable, seed: int = 1) -> None:
    """E[log p(x,y) − log p(x) − log p(y)] over the toy's samples matches toy.mi."""
    x, y = toy.sample(N_MC, seed)
    assert_within_se(log_ratio(x, y), toy.mi)


def random_spd(d: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(d, d))
    return a @ a.T + 0.5 * np.eye(d)


def normal_log_ratio(cov: np.ndarray, dx: int) -> Callable:
    joint = stats.multivariate_normal(np.zeros(len(cov)), cov)
    px = stats.multivariate_normal(np.zeros(dx), cov[:dx, :dx])
    py = stats.multivariate_normal(np.zeros(len(cov) - dx), cov[dx:, dx:])
    return lambda x, y: joint.logpdf(np.column_stack([x, y])) - px.logpdf(x) - py.logpdf(y)


# --------------------------------------------------------------------------- Gaussian


@pytest.mark.parametrize("rho", [0.75, -0.3])
def test_gaussian_mi_matches_double_integral(rho: float) -> None:
    toy = toys.gaussian(rho)
    joint = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]])

    def integrand(y: float, x: float) -> float:
        logp = joint.logpdf([x, y])
        return math.exp(logp) * (logp - stats.norm.logpdf(x) - stats.norm.logpdf(y))

    value, _ = integrate.dblquad(integrand, -12, 12, -12, 12, epsabs=1e-10, epsrel=1e-10)
    assert value == pytest.approx(toy.mi, abs=QUAD_TOL)
    assert toy.mi == pytest.approx(-0.5 * math.log1p(-(rho**2)), rel=1e-12)
    assert_mc_mi(toy, normal_log_ratio(np.array([[1, rho], [rho, 1]]), 1))


def test_multivariate_gaussian_mi_matches_canonical_correlations_and_mc() -> None:
    cov = random_spd(5, seed=3)
    toy = toys.multivariate_gaussian(cov, dim_x=2)
    assert (toy.dim_x, toy.dim_y) == (2, 3)
    # Independent closed form: I = −½ Σ log(1 − ρ_i²) over canonical correlations ρ_i.
    def inv_sqrt(m: np.ndarray) -> np.ndarray:
        w, v = np.linalg.eigh(m)
        return v @ np.diag(w**-0.5) @ v.T

    whitened = inv_sqrt(cov[:2, :2]) @ cov[:2, 2:] @ inv_sqrt(cov[2:, 2:])
    canon = np.linalg.svd(whitened, compute_uv=False)
    assert toy.mi == pytest.approx(-0.5 * np.sum(np.log1p(-(canon**2))), rel=1e-10)
    assert toy.mi == pytest.approx(toys.gaussian_mi(cov, 2), rel=0)
    assert_mc_mi(toy, normal_log_ratio(cov, 2))


def test_gaussian_pairs_closed_form_and_sample_correlations() -> None:
    rhos = np.array([0.2, -0.6, 0.9])
    toy = toys.gaussian_pairs(rhos)
    assert toy.mi == pytest.approx(-0.5 * np.sum(np.log1p(-(rhos**2))), rel=1e-12)
    cov = np.block([[np.eye(3), np.diag(rhos)], [np.diag(rhos), np.eye(3)]])
    assert toy.mi == pytest.approx(toys.multivariate_gaussian(cov, 3).mi, rel=1e-12)
    assert toys.gaussian_pairs([0.75]).mi == pytest.approx(toys.gaussian(0.75).mi, rel=1e-12)
    x, y = toy.sample(N_MC, seed=2)
    corr = np.corrcoef(x, y, rowvar=False)[:3, 3:]
    target = np.diag(rhos)
    se = (1 - target**2) / math.sqrt(N_MC)  # s.e. of a normal sample correlation
    assert np.all(np.abs(corr - target) < Z * se)


def test_gaussian_sample_moments() -> None:
    rho = 0.75
    x, y = toys.gaussian(rho).sample(N_MC, seed=4)
    assert abs(np.corrcoef(x, y)[0, 1] - rho) < Z * (1 - rho**2) / math.sqrt(N_MC)
    for v in (x, y):
        assert_within_se(v, 0.0)
        assert abs(v.var() - 1) < Z * math.sqrt(2 / N_MC)


def test_independent_has_zero_mi() -> None:
    toy = toys.independent(2, 3)
    assert toy.mi == 0.0
    x, y = toy.sample(N_MC, seed=5)
    corr = np.corrcoef(x, y, rowvar=False)[:2, 2:]
    assert np.all(np.abs(corr) < Z / math.sqrt(N_MC))


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.integers(1, 3))
def test_gaussian_mi_invariant_under_blockwise_linear_maps(seed: int, dx: int, dy: int) -> None:
    rng = np.random.default_rng(seed)
    cov = random_spd(dx + dy, seed)
    b = np.zeros((dx + dy, dx + dy))
    b[:dx, :dx] = rng.normal(size=(dx, dx)) + 3 * np.eye(dx)
    b[dx:, dx:] = rng.normal(size=(dy, dy)) + 3 * np.eye(dy)
    mi = toys.gaussian_mi(cov, dx)
    assert mi >= 0
    assert toys.gaussian_mi(b @ cov @ b.T, dx) == pytest.approx(mi, rel=1e-7, abs=1e-10)
    swap = np.r_[np.arange(dx, dx + dy), np.arange(dx)]  # I(X;Y) = I(Y;X)
    assert toys.gaussian_mi(cov[np.ix_(swap, swap)], dy) == pytest.approx(mi, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- Student-t


def t_entropy(scale: np.ndarray, dof: float) -> float:
    """Entropy of a multivariate t by quadrature, independent of the digamma closed form.

    log p(z) = log p(0) − (ν + k)/2 · log(1 + Q/ν) with Q = zᵀΣ⁻¹z, and
    U = (Q/ν)/(1 + Q/ν) ~ Beta(k/2, ν/2), so h = −log p(0) + (ν + k)/2 · E[−log(1 − U)].
    """
    k = len(scale)
    log_p0 = stats.multivariate_t(np.zeros(k), scale, df=dof).logpdf(np.zeros(k))
    # E[−log(1 − U)]; the weight u^(a−1) (1 − u)^(b−1) log(1 − u) takes the singularities
    a, b = k / 2, dof / 2
    e_log, _ = integrate.quad(
        lambda u: -1 / special.beta(a, b), 0, 1, weight="alg-logb", wvar=(a - 1, b - 1), **QUAD
    )
    return -log_p0 + (dof + k) / 2 * e_log


T_CASES = [(dof, dx, scale) for dof in (1.0, 5.0) for dx, scale in [(1, "rho"), (2, "cov")]]


def make_t(dof: float, dx: int, scale: str) -> tuple[toys.Toy, np.ndarray]:
    if scale == "rho":
        return toys.student_t(dof, rho=0.6), np.array([[1, 0.6], [0.6, 1]])
    cov = random_spd(3, seed=7)
    return toys.student_t(dof, cov=cov, dim_x=dx), cov


@pytest.mark.parametrize(("dof", "dx", "scale"), T_CASES)
def test_student_t_mi_matches_entropy_quadrature(dof: float, dx: int, scale: str) -> None:
    toy, cov = make_t(dof, dx, scale)
    h = t_entropy(cov[:dx, :dx], dof) + t_entropy(cov[dx:, dx:], dof) - t_entropy(cov, dof)
    assert toy.mi == pytest.approx(h, abs=QUAD_TOL)
    assert toy.mi > toys.gaussian_mi(cov, dx)  # the shared χ² mixing adds dependence


@pytest.mark.parametrize(("dof", "dx", "scale"), T_CASES)
def test_student_t_mi_matches_monte_carlo(dof: float, dx: int, scale: str) -> None:
    toy, cov = make_t(dof, dx, scale)
    d = len(cov)
    joint = stats.multivariate_t(np.zeros(d), cov, df=dof)
    px = stats.multivariate_t(np.zeros(dx), cov[:dx, :dx], df=dof)
    py = stats.multivariate_t(np.zeros(d - dx), cov[dx:, dx:], df=dof)
    assert_mc_mi(
        toy, lambda x, y: joint.logpdf(np.column_stack([x, y])) - px.logpdf(x) - py.logpdf(y)
    )


def test_student_t_samples_have_t_marginal_and_elliptical_orthant_probability() -> None:
    rho, dof = 0.6, 3.0
    x, y = toys.student_t(dof, rho=rho).sample(N_MC, seed=8)
    q = stats.t(dof).ppf(0.9)
    assert_probability(x <= q, 0.9)
    assert_probability(y <= q, 0.9)
    # Holds for every centred elliptical law (Sheppard's formula).
    assert_probability((x > 0) & (y > 0), 0.25 + math.asin(rho) / (2 * math.pi))


def test_student_t_diagonal_scale_is_dependent_and_tends_to_gaussian() -> None:
    assert toys.student_t(2.0, rho=0.0).mi > 0
    assert toys.student_t(1e6, rho=0.5).mi == pytest.approx(toys.gaussian(0.5).mi, abs=1e-6)


# --------------------------------------------------------------------------- gamma-exponential

ALPHAS = list(np.logspace(-1, 2, 4))


@pytest.mark.parametrize("alpha", ALPHAS)
def test_gamma_exponential_mi_matches_quadrature(alpha: float) -> None:
    toy = toys.gamma_exponential(alpha)
    gamma = stats.gamma(alpha)
    lomax = stats.lomax(alpha)
    # The Y-marginal ∫ p(x) x e^{−xy} dx is the Lomax density α (1 + y)^{−(α+1)}.
    for y in (0.1, 1.0, 10.0):
        p, _ = integrate.quad(lambda x: gamma.pdf(x) * x * math.exp(-x * y), 0, np.inf, **QUAD)
        assert p == pytest.approx(lomax.pdf(y), rel=1e-7)
    # h(Y) with u = log(1 + y), which makes the heavy tail exponential.
    def neg_plogp(u: float) -> float:
        logp = lomax.logpdf(math.expm1(u))
        return -logp * math.exp(logp + u)

    h_y, _ = integrate.quad(neg_plogp, 0, 60 / alpha, **QUAD)
    # h(Y | X = x) = 1 − log x (exponential with rate x); E[log X] with x = e^t.
    lo, hi = np.log(gamma.ppf(1e-16)), np.log(gamma.isf(1e-16))
    def t_density_of_log_x(t: float) -> float:
        return t * math.exp(gamma.logpdf(math.exp(t)) + t)

    e_log_x, _ = integrate.quad(t_density_of_log_x, lo, hi, points=[math.log(alpha)], **QUAD)
    assert toy.mi == pytest.approx(h_y - (1 - e_log_x), abs=QUAD_TOL)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_gamma_exponential_mi_matches_monte_carlo(alpha: float) -> None:
    lomax = stats.lomax(alpha)
    assert_mc_mi(toys.gamma_exponential(alpha), lambda x, y: np.log(x) - x * y - lomax.logpdf(y))


def test_gamma_exponential_sample_moments() -> None:
    alpha = 2.5
    x, y = toys.gamma_exponential(alpha).sample(N_MC, seed=9)
    assert abs(x.mean() - alpha) < Z * math.sqrt(alpha / N_MC)
    assert_probability(y > 1.0, 2.0**-alpha)  # Lomax survival (1 + y)^−α


# --------------------------------------------------------------------------- Weinman exponential

THETAS = [0.2, 0.5, 2.0]


def weinman_y_density(y: float, theta: float) -> float:
    """p_Y(y) = ∫_0^y p(x, y) dx by quadrature from the joint density."""
    value, _ = integrate.quad(
        lambda x: 2 / theta * math.exp(-2 * x - (y - x) / theta), 0, y, **QUAD
    )
    return value


def hypoexponential_logpdf(y: np.ndarray, theta: float) -> np.ndarray:
    if theta == 0.5:
        return stats.gamma(2, scale=0.5).logpdf(y)
    a, b = 2.0, 1 / theta
    return np.log(a * b / (b - a) * (np.exp(-a * y) - np.exp(-b * y)))


@pytest.mark.parametrize("theta", THETAS)
def test_weinman_mi_matches_quadrature(theta: float) -> None:
    toy = toys.weinman_exponential(theta)

    def neg_plogp(y: float) -> float:
        p = weinman_y_density(y, theta)
        return -p * math.log(p) if p > 0 else 0.0

    h_y, _ = integrate.quad(neg_plogp, 0, 60 * max(theta, 0.5), **QUAD)
    assert toy.mi == pytest.approx(h_y - (1 + math.log(theta)), abs=QUAD_TOL)


@pytest.mark.parametrize("theta", THETAS)
def test_weinman_mi_matches_monte_carlo(theta: float) -> None:
    for y in (0.05, 1.0, 7.0):  # the closed-form Y density used below
        assert math.exp(hypoexponential_logpdf(y, theta)) == pytest.approx(
            weinman_y_density(y, theta), rel=1e-8
        )
    noise = stats.expon(scale=theta)
    assert_mc_mi(
        toys.weinman_exponential(theta),
        lambda x, y: noise.logpdf(y - x) - hypoexponential_logpdf(y, theta),
    )


def test_weinman_is_continuous_at_half() -> None:
    at_half = toys.weinman_exponential(0.5).mi
    assert at_half == pytest.approx(np.euler_gamma, rel=1e-15)
    for theta in (0.5 - 1e-6, 0.5 + 1e-6):
        # |dI/dθ| < 2 near θ = 1/2, so a 1e-6 step moves I by less than 2e-6.
        assert toys.weinman_exponential(theta).mi == pytest.approx(at_half, abs=2e-6)


def test_weinman_sample_moments() -> None:
    theta = 2.0
    x, y = toys.weinman_exponential(theta).sample(N_MC, seed=10)
    assert np.all(y > x) and np.all(x > 0)
    assert abs(x.mean() - 0.5) < Z * 0.5 / math.sqrt(N_MC)
    assert abs((y - x).mean() - theta) < Z * theta / math.sqrt(N_MC)


# --------------------------------------------------------------------------- additive noise

EPSILONS = [0.3, 0.5, 0.8]


def uniform_sum_density(y: np.ndarray, eps: float) -> np.ndarray:
    """p_Y(y) = |[y − eps, y + eps] ∩ [0, 1]| / (2 eps), straight from the convolution."""
    overlap = np.minimum(y + eps, 1.0) - np.maximum(y - eps, 0.0)
    return np.clip(overlap, 0.0, None) / (2 * eps)


@pytest.mark.parametrize("eps", EPSILONS)
def test_additive_noise_mi_matches_quadrature(eps: float) -> None:
    def neg_plogp(y: float) -> float:
        p = float(uniform_sum_density(np.float64(y), eps))
        return -p * math.log(p) if p > 0 else 0.0

    kinks = sorted({-eps, eps, 1 - eps, 1 + eps})
    h_y, _ = integrate.quad(neg_plogp, -eps, 1 + eps, points=kinks[1:-1], **QUAD)
    assert toys.additive_noise(eps).mi == pytest.approx(h_y - math.log(2 * eps), abs=QUAD_TOL)


@pytest.mark.parametrize("eps", EPSILONS)
def test_additive_noise_mi_matches_monte_carlo(eps: float) -> None:
    toy = toys.additive_noise(eps)
    assert_mc_mi(toy, lambda x, y: -math.log(2 * eps) - np.log(uniform_sum_density(y, eps)))
    x, y = toy.sample(N_MC, seed=11)
    assert np.all((x >= 0) & (x <= 1)) and np.all(np.abs(y - x) <= eps)
    assert abs((y - x).mean()) < Z * eps / math.sqrt(3 * N_MC)


# --------------------------------------------------------------------------- all toys

ALL_TOYS: dict[str, Callable[[], toys.Toy]] = {
    "gaussian": lambda: toys.gaussian(0.5),
    "multivariate_gaussian": lambda: toys.multivariate_gaussian(random_spd(5, 0), dim_x=2),
    "gaussian_pairs": lambda: toys.gaussian_pairs([0.3, 0.8]),
    "student_t": lambda: toys.student_t(4.0, rho=0.5),
    "student_t_cov": lambda: toys.student_t(2.0, cov=random_spd(3, 1), dim_x=1),
    "gamma_exponential": lambda: toys.gamma_exponential(0.7),
    "weinman_exponential": lambda: toys.weinman_exponential(0.3),
    "additive_noise": lambda: toys.additive_noise(0.7),
    "independent": lambda: toys.independent(2, 1),
    "transformed": lambda: toys.transformed(toys.gaussian_pairs([0.5, 0.5]), "cube", np.arctan),
}


@pytest.fixture(params=list(ALL_TOYS), ids=list(ALL_TOYS))
def toy(request: pytest.FixtureRequest) -> toys.Toy:
    return ALL_TOYS[request.param]()


def test_samples_have_documented_shapes_and_are_reproducible(toy: toys.Toy) -> None:
    x, y = toy.sample(50, seed=3)
    for a, d in ((x, toy.dim_x), (y, toy.dim_y)):
        assert a.dtype == np.float64 and a.flags.c_contiguous
        assert a.shape == ((50,) if d == 1 else (50, d))
    x2, y2 = toy.sample(50, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, y3 = toy.sample(50, seed=4)
    assert not np.array_equal(x, x3) and not np.array_equal(y, y3)
    x4, y4 = toy.sample(50, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(x, x4)
    np.testing.assert_array_equal(y, y4)
    assert toy.sample(0)[0].shape[0] == 0
    assert np.isfinite(toy.mi) and toy.mi >= 0
    assert repr(toy).startswith(toy.name)


def test_params_rebuild_the_toy_through_the_registry(toy: toys.Toy) -> None:
    name = "transformed" if toy.name.startswith("transformed_") else toy.name
    clone = toys.get(name, **toy.params())
    assert clone.mi == toy.mi and clone.params() == toy.params()
    np.testing.assert_array_equal(clone.sample(20, 1)[1], toy.sample(20, 1)[1])


def test_registry_has_every_constructor_with_defaults() -> None:
    assert set(toys.TOYS) == {
        "gaussian", "multivariate_gaussian", "gaussian_pairs", "student_t", "gamma_exponential",
        "weinman_exponential", "additive_noise", "transformed", "embedded", "independent",
        "class_conditional_gaussian", "discrete_table", "binary_symmetric_channel",
    }  # fmt: skip
    for name in set(toys.TOYS) - {"multivariate_gaussian", "gaussian_pairs", "transformed", "embedded"}:
        made = toys.get(name)
        assert made.name == name and made.mi >= 0
    assert toys.get("gaussian", rho=0.1).params() == {"rho": 0.1}


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    st.floats(1e-3, 1e3),
    st.floats(1e-2, 1e3),
    st.floats(1e-3, 1e3),
    st.floats(0.05, 1e4),
    st.floats(-0.99, 0.99),
)
def test_mi_is_finite_and_nonnegative(
    theta: float, alpha: float, eps: float, dof: float, rho: float
) -> None:
    for made in (
        toys.weinman_exponential(theta),
        toys.gamma_exponential(alpha),
        toys.additive_noise(eps),
        toys.student_t(dof, rho=rho),
        toys.gaussian(rho),
    ):
        assert np.isfinite(made.mi) and made.mi >= 0


# --------------------------------------------------------------------------- transformed


def test_transformed_keeps_mi_and_maps_the_samples() -> None:
    base = toys.student_t(3.0, cov=random_spd(3, 2), dim_x=2)
    toy = toys.transformed(base, fx="arcsinh", fy=lambda v: 2 * v + 1)
    assert toy.mi == base.mi and (toy.dim_x, toy.dim_y) == (2, 1)
    assert toy.name == "transformed_student_t"
    bx, by = base.sample(100, seed=6)
    tx, ty = toy.sample(100, seed=6)
    np.testing.assert_array_equal(tx, np.arcsinh(bx))
    np.testing.assert_allclose(ty, 2 * by + 1)
    assert not np.allclose(tx, bx) and not np.allclose(ty, by)
    only_y = toys.transformed(base, fy="exp", name="lognormal-ish")
    np.testing.assert_array_equal(only_y.sample(100, seed=6)[0], bx)
    assert only_y.name == "lognormal-ish"
    assert toys.transformed(**toy.params()).mi == toy.mi


@pytest.mark.parametrize("name", sorted(toys.MAPS))
def test_named_maps_are_strictly_increasing(name: str) -> None:
    grid = np.linspace(0.1, 5.0, 101)  # inside every map's domain and non-saturated range
    assert np.all(np.diff(toys.MAPS[name](grid)) > 0)


def test_gamma_exponential_log_scale_version() -> None:
    base = toys.gamma_exponential(2.0)
    toy = toys.transformed(base, "log", "log")
    x, y = toy.sample(10, seed=0)
    np.testing.assert_allclose(np.exp(x), base.sample(10, seed=0)[0])
    assert toy.mi == base.mi


def test_transformed_rejects_bad_maps() -> None:
    base = toys.gaussian()
    with pytest.raises(ValueError, match="unknown fx map 'square'"):
        toys.transformed(base, fx="square")
    with pytest.raises(TypeError, match="fy must be"):
        toys.transformed(base, fy=3)
    with pytest.raises(TypeError, match="base must be a Toy"):
        toys.transformed("gaussian", fx="cube")
    with pytest.raises(ValueError, match=r"fx must map rows of shape \(5, 1\) to \(5, 1\)"):
        toys.transformed(base, fx=lambda v: v[:1]).sample(5)
    with pytest.raises(ValueError, match="needs at least 2 dimensions"):
        toys.embedded(base, fx=toys.Spiral()).sample(5)


# --------------------------------------------------------------------------- validation

BAD_ARGUMENTS = [
    (toys.gaussian, {"rho": 1.0}, r"\|rho\| < 1"),
    (toys.gaussian, {"rho": float("nan")}, "rho must be finite"),
    (toys.gaussian, {"rho": "0.5"}, "rho must be a real number"),
    (toys.multivariate_gaussian, {"cov": [[1, 0.5], [0.4, 1]], "dim_x": 1}, "symmetric"),
    (toys.multivariate_gaussian, {"cov": [[1, 2], [2, 1]], "dim_x": 1}, "positive definite"),
    (toys.multivariate_gaussian, {"cov": np.eye(3)[:2], "dim_x": 1}, "square"),
    (toys.multivariate_gaussian, {"cov": np.eye(3), "dim_x": 3}, r"dim_x must be in \[1, 2\]"),
    (toys.multivariate_gaussian, {"cov": np.eye(3), "dim_x": 1.0}, "dim_x must be an integer"),
    (toys.gaussian_pairs, {"rhos": []}, "non-empty"),
    (toys.gaussian_pairs, {"rhos": [0.5, -1.0]}, r"rhos\[1\]"),
    (toys.student_t, {"dof": 0.0}, "dof must be > 0"),
    (toys.student_t, {"dof": np.inf}, "dof must be finite"),
    (toys.student_t, {"dof": 3.0, "rho": 0.5, "cov": np.eye(2)}, "either rho or cov"),
    (toys.student_t, {"dof": 3.0, "rho": 0.5, "dim_x": 2}, "dim_x must be 1"),
    (toys.student_t, {"dof": 3.0, "cov": -np.eye(2)}, "positive definite"),
    (toys.gamma_exponential, {"alpha": -1.0}, "alpha must be > 0"),
    (toys.weinman_exponential, {"theta": 0.0}, "theta must be > 0"),
    (toys.additive_noise, {"eps": -0.1}, "eps must be > 0"),
    (toys.independent, {"dim_x": 0}, "dim_x must be >= 1"),
    (toys.gaussian_mi, {"cov": np.eye(2), "dim_x": 0}, "dim_x"),
    (toys.get, {"name": "banana"}, "unknown toy 'banana'"),
]


@pytest.mark.parametrize(("function", "kwargs", "match"), BAD_ARGUMENTS)
def test_invalid_arguments_raise_value_error(function: Callable, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        function(**kwargs)


def test_sample_rejects_negative_n() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        toys.gaussian().sample(-1)


# --------------------------------------------------------------------------- categorical toys

#: I(X;Y) of X | Y=c ~ N(±1, 1), P(Y=1) = 0.2 (the default class_conditional_gaussian): adaptive
#: quadrature of H(Y) − E[H(Y|X)], confirmed below by Monte Carlo. With balanced classes it
#: would be BALANCED_MI: an estimator that ignores the 80/20 prior is off by 45%.
UNBALANCED_MI = 0.23260303411971622
BALANCED_MI = 0.33683082034683165


def class_log_ratio(toy: toys.Toy) -> Callable:
    """log p(y | x) − log p(y) from scipy.stats densities (1-D class-conditional Gaussians)."""
    means = np.array(toy.params()["means"])[:, 0]
    sds, priors = np.array(toy.params()["sds"]), np.array(toy.params()["priors"])

    def log_ratio(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        log_joint = np.log(priors) + stats.norm.logpdf(x[:, None], means, sds)
        c = y.astype(int)
        return log_joint[np.arange(x.size), c] - special.logsumexp(log_joint, axis=1) - np.log(priors[c])

    return log_ratio


def test_unbalanced_class_conditional_gaussian_mi() -> None:
    toy = toys.class_conditional_gaussian()
    assert toy.params() == {"means": ((-1.0,), (1.0,)), "sds": (1.0, 1.0), "priors": (0.8, 0.2)}
    assert toy.mi == pytest.approx(UNBALANCED_MI, abs=QUAD_TOL) and toy.mi_error < QUAD_TOL
    assert_mc_mi(toy, class_log_ratio(toy))
    balanced = toys.class_conditional_gaussian(priors=(0.5, 0.5))
    assert balanced.mi == pytest.approx(BALANCED_MI, abs=QUAD_TOL)
    assert_mc_mi(balanced, class_log_ratio(balanced))


def test_class_conditional_gaussian_1d_quadrature_matches_monte_carlo() -> None:
    toy = toys.class_conditional_gaussian(means=[-2.0, 0.5, 1.0], sds=[0.5, 2.0, 1.0], priors=[0.1, 0.6, 0.3])
    assert 0 < toy.mi < math.log(3)
    assert_mc_mi(toy, class_log_ratio(toy), seed=2)


def test_class_conditional_gaussian_mc_in_3d_matches_1d_quadrature() -> None:
    """Classes that differ along one direction only: the 3-D MI is the 1-D one along it."""
    one_d = toys.class_conditional_gaussian(sds=[1.0, 2.0])
    rotation = np.linalg.qr(np.random.default_rng(5).normal(size=(3, 3)))[0]
    axis = rotation[:, 0]
    covs = [rotation @ np.diag([s**2, 1.0, 1.0]) @ rotation.T for s in (1.0, 2.0)]
    toy = toys.class_conditional_gaussian(means=[-axis, axis], covs=covs, priors=(0.8, 0.2))
    assert toy.dim_x == 3 and 0 < toy.mi_error < 1e-3
    assert abs(toy.mi - one_d.mi) < Z * toy.mi_error, (toy.mi, one_d.mi, toy.mi_error)


def test_class_conditional_gaussian_samples() -> None:
    toy = toys.class_conditional_gaussian(means=[[0.0, 0.0], [3.0, -1.0]], sds=[1.0, 0.5], priors=[0.3, 0.7])
    x, y = toy.sample(N_MC, seed=4)
    assert x.shape == (N_MC, 2) and set(np.unique(y)) == {0.0, 1.0}
    assert_probability(y == 1, 0.7)
    assert_within_se(x[y == 1, 0], 3.0)
    assert_within_se((x[y == 1, 1] + 1) ** 2, 0.25)


@pytest.mark.parametrize(("p", "e"), [(0.5, 0.1), (0.2, 0.05), (0.9, 0.5), (0.3, 0.0)])
def test_binary_symmetric_channel_closed_form(p: float, e: float) -> None:
    toy = toys.binary_symmetric_channel(p, e)
    q = p * (1 - e) + (1 - p) * e
    h_b = lambda v: float(special.entr(v) + special.entr(1 - v))  # noqa: E731
    assert toy.mi == pytest.approx(h_b(q) - h_b(e), abs=1e-12)
    x, y = toy.sample(N_MC, seed=1)
    assert_probability(x == 1, p)
    if 0 < e < 1:
        assert_probability(x != y, e)


def test_discrete_table_mi_and_frequencies() -> None:
    table = np.array([[0.3, 0.1, 0.1], [0.05, 0.15, 0.3]])
    toy = toys.discrete_table(table)
    q = np.outer(table.sum(1), table.sum(0))
    assert toy.mi == pytest.approx(float(np.sum(table * np.log(table / q))), abs=1e-12)
    x, y = toy.sample(N_MC, seed=2)
    for (i, j), p in np.ndenumerate(table):
        assert_probability((x == i) & (y == j), p)
    assert toys.discrete_table([[0.5, 0.0], [0.0, 0.5]]).mi == pytest.approx(math.log(2))


NEW_TOYS: dict[str, Callable[[], toys.Toy]] = {
    "class_conditional_gaussian": lambda: toys.class_conditional_gaussian([0, 1, 3], 0.7, (0.2, 0.4, 0.4)),
    "discrete_table": toys.discrete_table,
    "binary_symmetric_channel": lambda: toys.binary_symmetric_channel(0.3, 0.2),
}


@pytest.mark.parametrize("name", list(NEW_TOYS))
def test_new_toys_follow_the_toy_contract(name: str) -> None:
    test_samples_have_documented_shapes_and_are_reproducible(NEW_TOYS[name]())
    test_params_rebuild_the_toy_through_the_registry(NEW_TOYS[name]())


NEW_BAD_ARGUMENTS = [
    (toys.class_conditional_gaussian, {"means": [0.0]}, "C >= 2 classes"),
    (toys.class_conditional_gaussian, {"priors": (0.5, 0.6)}, "summing to 1"),
    (toys.class_conditional_gaussian, {"priors": (0.2, 0.3, 0.5)}, "priors has 3 entries but means has 2"),
    (toys.class_conditional_gaussian, {"sds": [1.0, 0.0]}, r"sds\[1\] must be > 0"),
    (toys.class_conditional_gaussian, {"sds": 1.0, "covs": np.ones((2, 1, 1))}, "either sds or covs"),
    (toys.class_conditional_gaussian, {"covs": np.ones((2, 1, 1))}, "d >= 2"),
    (toys.class_conditional_gaussian, {"means": np.eye(2), "covs": [np.eye(2), -np.eye(2)]}, r"covs\[1\]"),
    (toys.discrete_table, {"p_xy": [[0.5, 0.5]]}, "at least 2 entries per axis"),
    (toys.discrete_table, {"p_xy": [[0.5, -0.1], [0.3, 0.3]]}, "probabilities >= 0"),
    (toys.binary_symmetric_channel, {"e": 1.5}, r"e must lie in \[0, 1\]"),
]


@pytest.mark.parametrize(("function", "kwargs", "match"), NEW_BAD_ARGUMENTS)
def test_new_toys_reject_invalid_arguments(function: Callable, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        function(**kwargs)


# --------------------------------------------------------------------------- benchmark suite


def test_suite_maps_are_invertible_so_the_base_mi_is_the_truth() -> None:
    """Each suite toy's MI is its base law's; that needs every map to be injective: invert the
    spiral (it keeps the radius), the waves (triangular) and the swiss roll (its radius t is
    monotone in the latent) on samples, and check the elementwise maps are strictly increasing."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2000, 3)) * 2
    spiral = toys.Spiral(speed=0.5)
    b = spiral(a)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), np.linalg.norm(a, axis=1), rtol=1e-12)
    np.testing.assert_allclose(toys.Spiral(speed=-0.5)(b), a, atol=1e-9)  # rotating back by the same angle
    waves = toys.Waves()
    b = waves(a)
    undone = b.copy()
    undone[:, :-1] -= waves.amplitude * np.sin(waves.frequency * b[:, -1:])
    np.testing.assert_allclose(undone, a, atol=1e-12)
    roll = toys.SwissRoll()(a[:, :1])
    t = 21.0 * np.linalg.norm(roll, axis=1)
    np.testing.assert_allclose(special.ndtri(t / (3 * np.pi) - 0.5), a[:, 0], rtol=1e-4)  # Φ⁻¹ loses digits far out
    grid = np.linspace(-6, 6, 100_001)[:, None]  # beyond ~8 sd the normal CDF rounds to 1 in float64
    for name in ("half_cube", "normal_cdf", "wiggly", "arcsinh"):
        assert np.all(np.diff(toys.MAPS[name](grid)[:, 0]) > 0), name


def test_suite_toys_have_their_declared_shapes_and_truths() -> None:
    assert len(toys.SUITE) >= 20
    for label, toy in toys.SUITE.items():
        assert toy.name == label
        x, y = toy.sample(50, 1)
        assert x.shape == ((50,) if toy.dim_x == 1 else (50, toy.dim_x)), label
        assert y.shape == ((50,) if toy.dim_y == 1 else (50, toy.dim_y)), label
        assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))
        base = toy.base if hasattr(toy, "base") else toy
        assert toy.mi == base.mi > 0.1
    # Two closed forms spelled out: two pairs at 0.8 and the 2 x 2 Student-t with 2 dof (identity scale).
    assert toys.SUITE["spiral_3x3_sparse"].mi == pytest.approx(-math.log(1 - 0.64), rel=1e-12)
    assert toys.SUITE["student_2x2_dof2"].mi == pytest.approx(toys._student_t_correction(2.0, 2, 2), rel=1e-12)


def test_student_suite_toy_mi_matches_monte_carlo() -> None:
    """The 2 + 2-D t with 2 dof (dependent only through the shared χ²): MC of the log density ratio."""
    toy = toys.SUITE["student_2x2_dof2"]
    joint = stats.multivariate_t(np.zeros(4), np.eye(4), df=2)
    margin = stats.multivariate_t(np.zeros(2), np.eye(2), df=2)
    assert_mc_mi(toy, lambda x, y: joint.logpdf(np.column_stack([x, y])) - margin.logpdf(x) - margin.logpdf(y))
