"""The NUTS driver: reproducible, compiled once per padded shape, blind to padding rows, correct
on a Gaussian toy, and its divergences reach the diagnosis."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bayesmi
from bayesmi.infer import em, nuts
from bayesmi.draws import draw_stats
from bayesmi.models import GMMPrior
from bayesmi.options import FitOptions
from bayesmi.util import Progress

PRIOR = GMMPrior()
#: Short runs, shared by the tests so that they share compiled programs where the shapes agree.
SMALL = FitOptions(method="nuts", num_warmup=100, num_samples=200, num_chains=2)
N_MAX = 200


def pair(n: int, seed: int, rho: float = 0.6) -> np.ndarray:
    """n standardised rows (n, 2) of a correlated Gaussian pair, float32."""
    x, y = bayesmi.toys.gaussian(rho).sample(n, seed=seed)
    z = np.column_stack([x, y])
    return ((z - z.mean(0)) / z.std(0)).astype(np.float32)


def batch(*sets: np.ndarray, n_max: int | None = None) -> tuple[jax.Array, jax.Array]:
    """Sets (n_s, D) padded with rows of 7.0 (far outliers were they counted) to (S, n_max, D), and the mask."""
    n_max = n_max or max(len(s) for s in sets)
    z = np.full((len(sets), n_max, sets[0].shape[1]), 7.0, np.float32)
    mask = np.zeros((len(sets), n_max), np.float32)
    for i, s in enumerate(sets):
        z[i, : len(s)], mask[i, : len(s)] = s, 1.0
    return jnp.asarray(z), jnp.asarray(mask)


def run(z: jax.Array, mask: jax.Array, ks: list[int], seed: int = 1, options: FitOptions = SMALL,
        prior: GMMPrior = PRIOR) -> tuple:
    """EM start with K_max = max(ks) components (zero weights beyond each set's K), then NUTS."""
    init, _ = em.fit(z, mask, max(ks), prior, jax.random.key(0))
    active = jnp.arange(max(ks))[None] < jnp.asarray(ks)[:, None]
    weights = jnp.where(active, init.weights, 0.0)
    init = init._replace(weights=weights / weights.sum(-1, keepdims=True))
    with Progress(False, "test") as progress:
        return nuts.sample(z, mask, init, np.asarray(ks), prior, jax.random.key(seed), options, progress)


def mc_se(draws: np.ndarray) -> float:
    """Monte Carlo standard error of the mean of draws (chains, draws)."""
    return float(draws.std() / np.sqrt(draw_stats(draws[None]).ess_bulk[0]))


# ~50 s of NUTS compilation; NUTS's seeds are in test_contract, its Info in the divergence test (default run)
@pytest.mark.slow
def test_same_key_same_draws_and_the_output_contract():
    z, mask = batch(pair(150, 0), pair(120, 1), n_max=N_MAX)
    a, info_a = run(z, mask, [1, 2])
    b, info_b = run(z, mask, [1, 2])
    for leaf_a, leaf_b in zip(jax.tree.leaves((a, info_a)), jax.tree.leaves((b, info_b))):
        np.testing.assert_array_equal(leaf_a, leaf_b)
    assert a.weights.shape == (2, 2, 200, 2) and a.prec_chol.shape == (2, 2, 200, 2, 2, 2)
    assert info_a.diverging.shape == (2, 2, 200) and np.all(info_a.step_size > 0)
    assert np.all(a.weights[0, ..., 1] == 0) and np.allclose(a.weights[1].sum(-1), 1, atol=1e-5)
    c, _ = run(z, mask, [1, 2], seed=2)
    assert not np.array_equal(a.means, c.means)


def test_a_new_data_set_of_the_same_shape_compiles_nothing(count_compilations):
    z1, mask1 = batch(pair(123, 3))
    z2, mask2 = batch(pair(123, 4))
    init1, _ = em.fit(z1, mask1, 2, PRIOR, jax.random.key(0))
    init2, _ = em.fit(z2, mask2, 2, PRIOR, jax.random.key(0))
    jax.clear_caches()  # another test file on this worker may have compiled this shape already
    with Progress(False, "test") as progress:
        with count_compilations() as first:
            nuts.sample(z1, mask1, init1, np.array([2]), PRIOR, jax.random.key(0), SMALL, progress)
        with count_compilations() as second:
            draws, _ = nuts.sample(z2, mask2, init2, np.array([2]), PRIOR, jax.random.key(5), SMALL, progress)
    assert any("_advance" in name for name in first)  # the counter sees a compilation
    assert second == []
    assert np.all(np.isfinite(draws.means))


@pytest.mark.slow  # ~20 s; the same padding is checked for Gibbs in the default run
def test_masked_padding_rows_leave_the_posterior_unchanged():
    """The potential is the same function with or without padding rows (floating-point summation
    order aside, which makes the trajectories part after a while); the draws agree statistically,
    where the 50 padding rows at 7.0, were they counted, would move the mean by 1.75."""
    rows = pair(150, 6, rho=0.3)
    z_plain, mask_plain = batch(rows)
    z_pad, mask_pad = batch(rows, n_max=N_MAX)
    # An unconstrained point of the one-component model: no free weight, a mean, a precision Cholesky factor.
    position = {"weights": jnp.zeros(0), "means": jnp.array([[0.1, -0.2]]), "prec_chol": jnp.array([[0.2, 0.1, -0.3]])}
    energy = jax.jit(lambda z, mask: jax.value_and_grad(nuts._potential_fn(z, mask, 1, PRIOR))(position))
    plain, padded = energy(z_plain[0], mask_plain[0]), energy(z_pad[0], mask_pad[0])
    np.testing.assert_allclose(padded[0], plain[0], rtol=1e-6)
    for g_pad, g_plain in zip(jax.tree.leaves(padded[1]), jax.tree.leaves(plain[1])):
        np.testing.assert_allclose(g_pad, g_plain, rtol=1e-4, atol=1e-4)
    assert abs(float(energy(z_pad[0], jnp.ones(N_MAX))[0] - plain[0])) > 100  # the padding rows, counted

    a, _ = run(z_plain, mask_plain, [1])
    b, _ = run(z_pad, mask_pad, [1])
    means_a, means_b = np.asarray(a.means[0, ..., 0, :]), np.asarray(b.means[0, ..., 0, :])  # (chains, draws, D)
    for d in range(2):
        se = np.hypot(mc_se(means_a[..., d]), mc_se(means_b[..., d]))
        assert abs(means_a[..., d].mean() - means_b[..., d].mean()) < 4 * se
        assert means_b[..., d].std() == pytest.approx(means_a[..., d].std(), rel=0.25)


def test_mi_posterior_covers_the_gaussian_truth_with_small_rhat():
    toy = bayesmi.toys.gaussian(rho=0.75)
    x, y = toy.sample(1000, seed=0)
    result = bayesmi.estimate_mi(x, y, method="nuts", seed=0, progress=False)
    lo, hi = result.interval(0.95)
    assert lo < toy.mi < hi, result
    assert result.rhat <= 1.01 and result.converged
    assert result.draws.shape == (4, 1000)


def test_divergences_reach_nuts_info_problems():
    """An overfitted mixture under a sparse Dirichlet prior has the funnel geometry NUTS cannot
    follow (27 divergences at this seed, measured)."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal(200)
    z = np.column_stack([a, 0.5 * a + np.sqrt(0.75) * rng.standard_normal(200)])
    z, mask = batch(((z - z.mean(0)) / z.std(0)).astype(np.float32))
    options = FitOptions(method="nuts", num_warmup=60, num_samples=100, num_chains=2)
    _, info = run(z, mask, [3], seed=0, options=options, prior=GMMPrior(weight_concentration=0.01))
    count = int(info.diverging.sum())
    assert count > 0 and info.problems() == [[f"{count} divergent transitions"]]
    assert info.facts(0)["divergences"] == count
