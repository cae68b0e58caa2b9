"""The one fit path: every driver's Info owns its checks, and every estimator (mi_matrix included)
reports them through the same diagnosis."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayesmi
from bayesmi.diagnostics import diagnose
from bayesmi.infer import DRIVERS
from bayesmi.infer.bootstrap import MAX_ITER, BootstrapInfo
from bayesmi.infer.gibbs import GibbsInfo
from bayesmi.infer.nuts import NUTSInfo
from bayesmi.infer.svi import MAX_RELATIVE_LOSS_CHANGE, SVIInfo
from bayesmi.models import GMMPrior


def test_every_method_has_a_driver_with_an_info_that_owns_its_checks():
    assert set(DRIVERS) == set(bayesmi.options.MIXTURE_METHODS)
    for name, driver in DRIVERS.items():
        info = next(v for k, v in vars(driver).items() if k.endswith("Info"))
        assert info.DRAWS in ("posterior", "replicates"), name
        assert callable(info.check_draws) and callable(info.problems), name
        assert callable(driver.sample), name


def test_nuts_info_reports_divergences_per_set():
    diverging = np.zeros((2, 4, 10), bool)
    diverging[1, 2, 3:5] = True
    info = NUTSInfo(diverging, *(np.ones((2, 4, 10)) for _ in range(5)))
    assert info.problems() == [[], ["2 divergent transitions"]]
    assert info.facts(1)["divergences"] == 2


def test_svi_info_reports_an_unsettled_elbo():
    info = SVIInfo(np.zeros((2, 100)), np.array([0.0, 10 * MAX_RELATIVE_LOSS_CHANGE]))
    assert info.problems() == [[], ["ELBO still changing by 1.0e-02 (relative) over the last 10% of steps"]]


def test_bootstrap_info_reports_refits_at_their_iteration_limit():
    iterations = np.full((2, 1, 50), 20)
    iterations[0, 0, :3] = MAX_ITER
    info = BootstrapInfo(iterations)
    assert info.problems() == [["EM hit its iteration limit in 3 bootstrap replicates"], []]
    assert diagnose(np.ones((2, 1, 50)), BootstrapInfo, info.problems(), "I(X;Y)")[1].converged


def test_markov_draws_are_checked_by_rhat_and_ess_but_independent_draws_are_not():
    rng = np.random.default_rng(0)
    stuck = rng.normal(size=(1, 4, 100)) + np.arange(4)[None, :, None]  # chains disagree
    [gibbs] = diagnose(stuck, GibbsInfo, [[]], "I(X;Y)")
    assert not gibbs.converged and any("R-hat" in p for p in gibbs.problems)
    [svi] = diagnose(stuck, SVIInfo, [[]], "I(X;Y)")
    assert svi.converged  # SVI's check is its ELBO, not chains


@pytest.mark.slow  # ~25 s; NUTS's divergences reach its Info in test_nuts (default run)
def test_mi_matrix_reports_nuts_divergences_of_a_cell():
    """0.1 re-checked only R-hat/ESS for NUTS cells, so divergences never reached ``converged``.

    An overfitted mixture under a sparse Dirichlet prior (weight concentration 0.01) has the funnel
    geometry NUTS cannot follow: at this seed it diverges (37 times in ``estimate_mi``, measured)."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal(200)
    b = 0.5 * a + np.sqrt(0.75) * rng.standard_normal(200)
    with pytest.warns(bayesmi.ConvergenceWarning, match="divergent transitions"):
        m = bayesmi.mi_matrix(a, b, method="nuts", num_components=3, prior=GMMPrior(weight_concentration=0.01),
                              num_warmup=60, num_samples=100, num_chains=2, seed=0, progress=False)
    assert not m.converged and not m.diagnostics["converged"][0, 0]
    assert "divergent transitions" in m.diagnostics["problems"][0, 0]


@pytest.mark.slow  # ~30 s of SVI fits
def test_mi_matrix_reports_an_unsettled_svi_cell_joint_or_per_class():
    """A joint cell is one mixture; a cell of a continuous column with a class column is one mixture
    per class: the driver's problems of every mixture behind a cell reach that cell."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 300)
    a = rng.standard_normal(300) + labels
    frame = pd.DataFrame({"b": a + rng.standard_normal(300), "label": labels})
    with pytest.warns(bayesmi.ConvergenceWarning, match="ELBO still changing"):
        m = bayesmi.mi_matrix(a, frame, method="svi", num_components=2, num_steps=20, num_samples=50, num_chains=2,
                              seed=0, progress=False)
    assert list(m.diagnostics["kind"][0]) == ["mixture", "categorical"]
    assert all("ELBO" in p for p in m.diagnostics["problems"][0]) and not m.converged


def test_a_single_fit_is_a_batch_of_one():
    """estimate_mi and a one-cell mi_matrix run the same program on the same standardised pair:
    with the same K, settings and no normal scores they agree within Monte Carlo error."""
    x, y = bayesmi.toys.gaussian(0.6).sample(800, seed=4)
    kw = dict(num_components=1, num_warmup=100, num_samples=300, progress=False)
    single = bayesmi.estimate_mi(x, y, seed=0, **kw)
    cell = bayesmi.mi_matrix(x, y, use_normal_scores=False, seed=0, **kw)
    se = np.hypot(single.sd / np.sqrt(single.ess), cell.sd[0, 0] / np.sqrt(cell.diagnostics["ess_bulk"][0, 0]))
    assert abs(single.mean - cell.mean[0, 0]) < 4 * se
    assert cell.sd[0, 0] == pytest.approx(single.sd, rel=0.15)


def test_prior_density_ignores_padding_components():
    """EM compares its starts by log posterior with spare (weight-0) components in the program: the
    prior must be that of the active components alone, or the wrong start wins (a 4th component
    was chosen for three well-separated clusters when it was not)."""
    import jax.numpy as jnp

    from bayesmi.mixture import from_covariances, pad_components

    rng = np.random.default_rng(0)
    covs = np.stack([0.5 * np.eye(2), [[1.0, 0.3], [0.3, 1.0]], np.eye(2)])
    params = from_covariances(jnp.array([0.2, 0.5, 0.3]), jnp.asarray(rng.normal(size=(3, 2)), jnp.float32),
                              jnp.asarray(covs, jnp.float32))
    prior = GMMPrior(weight_concentration=0.7)
    weights, prec_chol = prior.distributions(3, 2)
    expected = (weights.log_prob(params.weights) + prec_chol.log_prob(params.prec_chol).sum()
                + prior.mean_distribution(params.prec_chol).log_prob(params.means).sum())
    assert float(prior.log_prob(params)) == pytest.approx(float(expected), rel=1e-6)
    assert float(prior.log_prob(pad_components(params, 6))) == pytest.approx(float(expected), rel=1e-6)


def _ar1_chains(rng: np.random.Generator, chains: int, draws: int, phi: float) -> np.ndarray:
    """AR(1) chains (chains, draws) with chain offsets: autocorrelated, sometimes not mixed."""
    noise = rng.normal(size=(chains, draws))
    out = np.zeros_like(noise)
    for t in range(draws):
        out[:, t] = (phi * out[:, t - 1] if t else 0.0) + noise[:, t]
    return out + rng.normal(size=(chains, 1)) * rng.uniform(0, 1)


def test_draw_stats_and_summary_are_arviz_numbers_without_importing_arviz(arviz_summary):
    """R-hat (rank-normalised, folded), bulk/tail ESS, MCSE and HDI are computed by bayesmi (ArviZ
    takes ~0.5 s to import) with ArviZ's formulas: equal to 1e-10 on chains with autocorrelation,
    offsets between chains and ties, and NaN where ArviZ gives NaN."""
    from bayesmi.arviz_adapter import arviz
    from bayesmi.draws import draw_stats, hdi, mcse

    az = arviz()
    rng = np.random.default_rng(0)
    for trial in range(12):
        chains, draws = int(rng.integers(1, 5)), int(rng.integers(4, 500))
        values = _ar1_chains(rng, chains, draws, rng.uniform(-0.5, 0.98))
        if trial % 4 == 0:
            values = np.round(values, 1)  # ties
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = arviz_summary(az.convert_to_dataset({"q": values[:, :, None]}), hdi_prob=0.9)
        stats = draw_stats(values[None])
        got = [stats.ess_bulk[0], stats.ess_tail[0], stats.rhat[0], *mcse(values), *hdi(values, 0.9)]
        expected = want[["ess_bulk", "ess_tail", "r_hat", "mcse_mean", "mcse_sd", "hdi_5%", "hdi_95%"]].values[0]
        np.testing.assert_allclose(got, expected, rtol=1e-10, equal_nan=True, err_msg=f"{chains}x{draws}")
        assert np.isnan(stats.rhat[0]) == (chains == 1)


def test_result_summary_matches_arviz_summary_and_builds_no_inference_data(arviz_summary):
    import sys

    x, y = bayesmi.toys.gaussian(0.5).sample(300, seed=0)
    result = bayesmi.estimate_mi(x, y, num_components=1, num_warmup=50, num_samples=200, progress=False)
    table = result.summary(0.9)
    assert callable(result.__dict__["_idata"])  # summary did not need the InferenceData
    want = arviz_summary(result.idata, hdi_prob=0.9, var_names=["mi"])
    np.testing.assert_allclose(table[want.columns].values, want.values, rtol=1e-10)
    assert "arviz" in sys.modules and result.idata.posterior["mi"].attrs["units"] == "nats"
