"""bayesmi.interpret.mi_matrix: batched MI matrices against closed-form truths."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import bayesmi
from bayesmi import toys
from bayesmi.estimators.gaussian_bias import gaussian_mi_bias, sample_gaussian_mi
from bayesmi.infer import em, gibbs
from bayesmi.inputs import normal_scores
from bayesmi.interpret import mi_matrix
from bayesmi.mixture import GMMParams, pad_components
from bayesmi.models import GMMPrior
from bayesmi.options import FitOptions
from bayesmi.util import Progress

RHO = np.array([0.0, 0.5, 0.8])
N = 1500


def block_gaussian(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A (n, 3), B (n, 3): corr(A_i, B_i) = RHO[i], every other pair independent."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, RHO.size))
    b = RHO * a + np.sqrt(1 - RHO**2) * rng.standard_normal((n, RHO.size))
    return a, b


@pytest.fixture(scope="module")
def gaussian_matrix():
    a, b = block_gaussian(N, 0)
    return a, b, mi_matrix(a, b, seed=0, progress=False)


def test_block_diagonal_gaussian_structure(gaussian_matrix):
    _, _, m = gaussian_matrix
    truth = -0.5 * np.log(1 - RHO**2)
    assert m.mean.shape == m.sd.shape == (3, 3) and m.draws.shape == (4 * 250, 3, 3)
    assert m.converged and np.all(m.diagnostics["kind"] == "mixture")
    lo, hi = m.interval(0.99)
    # Dependent cells: truth within the 99% interval and within 4 posterior sds.
    for i in (1, 2):
        assert lo[i, i] <= truth[i] <= hi[i, i]
        assert abs(m.mean[i, i] - truth[i]) < 4 * m.sd[i, i]
    # Independent cells: MI near 0, the posterior far below the weakest dependent cell.
    off = ~np.eye(3, dtype=bool)
    off[0, 0] = True
    assert np.all(hi[off] < 0.25 * truth[1])
    assert np.all(m.mean[off] < 4 / N)  # E[plug-in MI] of independent pairs is O(1/N)


def test_one_gaussian_cells_are_centred_on_the_bias_corrected_sample_mi(gaussian_matrix):
    """As in estimate_mi, a cell fitted by one Gaussian has its draws moved onto the sample MI of its
    (normal-scored) pair minus the exactly known bias, and clipped at 0."""
    a, b, m = gaussian_matrix
    ones = [(i, j) for i in range(3) for j in range(3) if m.diagnostics["n_components"][i, j] == 1]
    assert len(ones) >= 6  # Gaussian pairs: BIC picks one component almost everywhere
    lo, _ = m.interval(0.95)
    for i, j in ones:
        centre = sample_gaussian_mi(normal_scores(np.column_stack([a[:, i], b[:, j]])), 1) - gaussian_mi_bias(N, 1, 1)
        if np.all(m.draws[:, i, j] > 0):
            assert m.mean[i, j] == pytest.approx(centre, abs=1e-5)  # float32 scores
        else:  # clipped at 0: the mean rises above the centre, and the interval starts at 0
            assert m.mean[i, j] > centre and lo[i, j] == 0


def test_matches_closed_form_per_cell_sd(gaussian_matrix):
    """The posterior sd of a Gaussian MI is about the asymptotic sd of its MLE, rho * sqrt(1/N)
    per nat (delta method: dI/drho = rho / (1 - rho^2), var(rho_hat) = (1 - rho^2)^2 / N)."""
    _, _, m = gaussian_matrix
    expected = RHO * np.sqrt(1.0 / N)
    for i in (1, 2):
        assert 0.7 * expected[i] < m.sd[i, i] < 1.4 * expected[i]


def test_cell_agrees_with_estimate_mi(gaussian_matrix):
    a, b, m = gaussian_matrix
    single = bayesmi.estimate_mi(a[:, 2], b[:, 2], seed=1, progress=False, num_samples=500)
    tol = 4 * np.hypot(single.sd / np.sqrt(200), m.sd[2, 2] / np.sqrt(100))  # two MC means, ESS >= 100
    assert abs(single.mean - m.mean[2, 2]) < max(tol, 0.1 * single.sd)
    assert single.sd == pytest.approx(m.sd[2, 2], rel=0.2)


def test_mixed_kinds_and_symmetric_matrix():
    """A DataFrame with a categorical column: continuous x categorical cells use per-class
    mixtures, categorical x categorical the Dirichlet table; B=None mirrors the upper triangle."""
    n = 1200
    toy = toys.class_conditional_gaussian()  # means ±1, unit sd, priors (0.8, 0.2)
    x, labels = toy.sample(n, seed=3)
    truth_xc = toy.mi
    labels = labels.astype(int)
    rng = np.random.default_rng(4)
    flip = rng.random(n) < 0.1
    copy = np.where(flip, 1 - labels, labels)  # binary symmetric channel of the class, error 0.1
    frame = pd.DataFrame({"x": np.asarray(x, float).ravel(), "cls": np.asarray(labels, int),
                          "copy": copy.astype(int), "noise": rng.standard_normal(n)})
    m = mi_matrix(frame, seed=0, progress=False)
    kinds = m.diagnostics["kind"]
    assert kinds[0, 1] == kinds[1, 0] == "categorical" and kinds[1, 2] == "dirichlet"
    assert kinds[0, 3] == "mixture"
    assert np.all(np.isnan(np.diagonal(m.mean)))
    np.testing.assert_array_equal(m.draws, np.swapaxes(m.draws, 1, 2))
    lo, hi = m.interval(0.99)
    assert lo[0, 1] <= truth_xc <= hi[0, 1]
    p = 0.2 * 0.9 + 0.8 * 0.1  # P(copy = 1) with P(cls = 1) = 0.2 (truth of the population)
    h = lambda q: -q * np.log(q) - (1 - q) * np.log(1 - q)  # noqa: E731
    truth_copy = h(p) - h(0.1)
    assert lo[1, 2] <= truth_copy <= hi[1, 2]
    assert m.mean[0, 3] < 0.01 and m.mean[1, 3] < 0.01


@pytest.mark.filterwarnings("ignore::bayesmi.ConvergenceWarning")  # 100 draws per chain: flags expected
# ~16 s; seeds and units of mi_matrix are in test_contract (default run)
@pytest.mark.slow
def test_same_seed_same_matrix_and_bits():
    a, b = block_gaussian(300, 1)
    m1 = mi_matrix(a[:, 1:], b[:, 1:], seed=5, progress=False, num_samples=100)
    m2 = mi_matrix(a[:, 1:], b[:, 1:], seed=5, progress=False, num_samples=100, units="bits")
    np.testing.assert_allclose(m1.draws / np.log(2), m2.draws, rtol=1e-6)


def test_cells_subset_and_one_at_a_time_method():
    a, b = block_gaussian(400, 2)
    m = mi_matrix(a, b, cells=[(2, 2)], method="bootstrap", progress=False, num_bootstrap=20)
    assert m.draws.shape == (20, 3, 3)
    assert np.isfinite(m.mean[2, 2]) and np.isnan(m.mean[0, 0])
    assert abs(m.mean[2, 2] - (-0.5 * np.log(1 - 0.64))) < 4 * m.sd[2, 2] + 0.02


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((np.zeros((50, 2)) + np.arange(50)[:, None] * 0.1, np.ones((40, 1)) * np.arange(40)[:, None]), {},
         "different lengths"),
        ((np.c_[np.r_[np.nan, np.arange(49.0)]], np.arange(50.0)), {}, "NaN"),
        ((np.arange(50.0), np.zeros(50, int)), {}, "single class"),
        ((np.arange(50.0), np.r_[np.zeros(45, int), np.ones(5, int)]), {}, "fewer than 10"),
        ((np.arange(50.0), np.arange(50.0) ** 2), {"cells": [(0, 3)]}, "outside"),
        ((np.arange(50.0), np.arange(50.0) ** 2), {"a_kinds": "ordinal"}, "kind of A column"),
        ((np.arange(50.0),), {"cells": [(0, 0)]}, "diagonal"),
        ((np.arange(50.0), np.arange(50.0) ** 2), {"num_step": 10}, "unknown option"),
    ],
)
def test_bad_input_is_named(args, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        mi_matrix(*args, progress=False, **kwargs)


# ~25 s; the exact versions (padded rows, padded component slots) are in test_runtime (default run)
@pytest.mark.slow
def test_batched_gibbs_with_padding_matches_unpadded():
    """A set padded with masked outlying rows and a mixture padded with a zero-weight component
    sample the same posterior as the plain set (posterior means agree within MC error), and the
    padded component stays at weight 0."""
    rng = np.random.default_rng(0)
    z = np.r_[rng.normal(-2, 0.5, (150, 1)), rng.normal(1.5, 0.7, (250, 1))].astype(np.float32)
    prior = GMMPrior()
    fit, _ = em.fit(jnp.asarray(z)[None], jnp.ones((1, 400)), 2, prior, jax.random.key(0))  # leaves (1, K, ...)
    padded_z = jnp.asarray(np.r_[z, np.full((100, 1), 50.0, np.float32)])[None]
    mask = jnp.asarray(np.r_[np.ones(400), np.zeros(100)], jnp.float32)[None]
    options = FitOptions(num_chains=4, num_warmup=200, num_samples=1000, progress=False)
    padded, _ = gibbs.sample(padded_z, mask, pad_components(fit, 3), np.array([2]), prior,
                             jax.random.key(1), options, Progress(False, ""))
    plain, _ = gibbs.sample(jnp.asarray(z)[None], jnp.ones((1, 400)), fit, np.array([2]), prior, jax.random.key(2),
                            options, Progress(False, ""))
    plain = jax.tree.map(lambda a: a[0], plain)  # (chains, draws, K, ...)
    assert np.all(np.asarray(padded.weights[..., 2]) == 0.0)

    def summary(params: GMMParams) -> np.ndarray:
        means, weights = np.asarray(params.means[..., :2, 0]), np.asarray(params.weights[..., :2])
        order = np.argsort(means, -1)  # undo label switching
        return np.r_[np.take_along_axis(means, order, -1).mean((0, 1)),
                     np.take_along_axis(weights, order, -1).mean((0, 1))]

    # Posterior sds: means ~0.05, weights ~0.025; 4000 draws each with ESS >~ 500.
    np.testing.assert_allclose(summary(jax.tree.map(lambda a: a[0], padded)), summary(plain), atol=0.02)


def test_batched_selection_matches_single_selection():
    """Choosing K for a batch of data sets gives each set the K it gets when chosen alone."""
    rng = np.random.default_rng(1)
    three = np.r_[rng.normal((-4, 0), 0.5, (300, 2)), rng.normal((0, 3), 0.5, (300, 2)),
                  rng.normal((4, 0), 0.5, (300, 2))]
    one = rng.standard_normal((900, 2))
    z = jnp.asarray(np.stack([three, one]), jnp.float32)
    batch = em.select_components(z, jnp.ones((2, 900)), GMMPrior(), jax.random.key(0), max_components=6)
    single = [int(em.select_components(z[i : i + 1], jnp.ones((1, 900)), GMMPrior(), jax.random.key(0),
                                       max_components=6).n_components[0]) for i in range(2)]
    assert list(batch.n_components) == single == [3, 1]
    assert batch.scores.shape == (2, 6) and np.isinf(batch.scores[:, -1]).all()
