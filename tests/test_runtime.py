"""How bayesmi runs: row buckets shared by nearby data sizes, the persistent compilation cache across
processes, minibatch SVI on a large sample, closed forms at K = 1 in many dimensions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import bayesmi
from bayesmi.estimators.mi import DimensionBiasWarning
from bayesmi.runtime import bucket_rows, compilation_cache_dir


@pytest.mark.parametrize("n", [1, 15, 16, 17, 100, 999, 1000, 1024, 1025, 4097, 10_000, 123_456, 1_000_000])
def test_row_buckets_hold_every_size_with_at_most_a_quarter_padding(n):
    bucket = bucket_rows(n)
    assert bucket >= n and (bucket <= 16 or bucket <= 1.25 * n)
    assert bucket_rows(bucket) == bucket  # a bucket is its own bucket


def test_buckets_are_few_per_doubling():
    assert len({bucket_rows(n) for n in range(1025, 2049)}) == 4
    assert bucket_rows(2000) == bucket_rows(1900) == 2048


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BAYESMI_CACHE_DIR", str(tmp_path / "c"))
    assert compilation_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("BAYESMI_CACHE_DIR")
    assert compilation_cache_dir().parts[-2:] == ("bayesmi", "jax")


def test_padding_to_a_bucket_leaves_the_fixed_seed_result_unchanged():
    """Rows are padded to the bucket with mask 0, and JAX's partitionable PRNG draws the same numbers
    for the real rows whatever the padded length: a size just below a bucket boundary and the same
    rows fitted alone agree exactly with a direct (unpadded) fit through the same drivers."""
    import jax

    from bayesmi import fitting
    from bayesmi.fitting import fit_mixtures
    from bayesmi.options import FitOptions
    from bayesmi.util import Progress

    x, y = bayesmi.toys.gaussian(0.6).sample(300, seed=1)
    z = np.column_stack([x, y]).astype(np.float32)
    z = (z - z.mean(0)) / z.std(0)
    options = FitOptions(num_warmup=30, num_samples=40, num_chains=2, progress=False)
    with Progress(False, "") as progress:
        bucketed = fit_mixtures([z], options, jax.random.key(0), progress)
    original = fitting.bucket_rows
    try:
        fitting.bucket_rows = lambda n: n  # the unpadded fit
        with Progress(False, "") as progress:
            plain = fit_mixtures([z], options, jax.random.key(0), progress)
    finally:
        fitting.bucket_rows = original
    assert bucketed.n_components[0] == plain.n_components[0]
    np.testing.assert_allclose(np.asarray(bucketed.params.means), np.asarray(plain.params.means), rtol=1e-4,
                               atol=1e-5)


def test_a_categorical_fit_with_new_class_sizes_compiles_nothing(count_compilations):
    """Class sizes 300/200 and then 290/210: other sizes in the same row buckets (320 and 224), same K:
    the second fit reuses every program."""
    rng = np.random.default_rng(0)

    def data(n0: int, n1: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.r_[np.zeros(n0, int), np.ones(n1, int)]
        return rng.normal(size=n0 + n1) + 0.8 * labels, labels

    options = dict(y_type="categorical", num_components=1, num_warmup=50, num_samples=100, num_chains=2,
                   progress=False)
    bayesmi.estimate_mi(*data(300, 200), **options)
    with count_compilations() as second:
        result = bayesmi.estimate_mi(*data(290, 210), **options)
    assert second == [], second
    assert np.isfinite(result.mean)


_CACHE_SCRIPT = textwrap.dedent("""
    import json, sys, jax
    import bayesmi
    from bayesmi.runtime import enable_compilation_cache
    enable_compilation_cache(sys.argv[1])
    events = []
    jax.monitoring.register_event_listener(lambda event, **kw: events.append(event))
    jax.monitoring.register_event_duration_secs_listener(lambda event, duration, **kw: events.append(event))
    x, y = bayesmi.toys.gaussian(0.5).sample(200, seed=0)
    r = bayesmi.estimate_mi(x, y, num_components=1, num_warmup=20, num_samples=30, num_chains=2, progress=False)
    print(json.dumps({"hits": events.count("/jax/compilation_cache/cache_hits"),
                      "compiled": events.count("/jax/core/compile/backend_compile_duration"), "mean": r.mean}))
""")


def test_a_new_process_loads_compiled_programs_from_the_persistent_cache(tmp_path):
    """The second process finds (nearly) every program on disk: it compiles a small fraction of what
    the first compiled, and its numbers are the same."""
    cache = tmp_path / "cache"
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT, str(cache)], capture_output=True, text=True,
                             check=True, timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        assert "cache" not in out.stderr.lower(), out.stderr  # JAX's cache log lines stay quiet
    assert any(cache.iterdir())
    first, second = runs
    assert first["compiled"] > 20 and first["hits"] < 0.25 * first["compiled"], runs
    assert second["hits"] >= second["compiled"] - 2, runs  # every compilation request answered from disk
    assert first["mean"] == second["mean"]  # a cached program computes the same numbers


def test_no_dimension_bias_warning_for_a_scalar_pair(recwarn):
    x, y = bayesmi.toys.gaussian(0.5).sample(300, seed=0)
    result = bayesmi.estimate_mi(x, y, num_components=1, num_warmup=30, num_samples=50, num_chains=2,
                                 progress=False)
    assert not any(issubclass(w.category, DimensionBiasWarning) for w in recwarn)
    assert result.diagnostics["dimension_bias"] == pytest.approx(1 / 300)


def test_minibatch_svi_on_300k_rows_has_the_exact_posterior_width():
    """Above FULL_BATCH_ROWS each SVI step sees 10⁴ rows weighted N/B. On a Gaussian pair the posterior
    sd of MI is ρ/√N to first order (the sd of the maximum-likelihood estimate); the minibatch
    posterior must match it within 15% (the sd of an sd from 4000 guide draws is ~1%, the rest is
    optimisation noise) and the mean must sit within 4 sd of the truth."""
    from bayesmi.infer import svi

    n, rho = 300_000, 0.75
    assert n > svi.FULL_BATCH_ROWS
    x, y = bayesmi.toys.gaussian(rho).sample(n, seed=3)
    result = bayesmi.estimate_mi(x, y, method="svi", num_components=1, seed=0, progress=False)
    expected_sd = rho / np.sqrt(n)
    assert abs(result.sd / expected_sd - 1) < 0.15, (result.sd, expected_sd)
    truth = -0.5 * np.log(1 - rho**2)
    assert abs(result.mean - truth) < 4 * expected_sd
    assert result.converged


def test_k1_in_50_dimensions_is_the_closed_form_of_every_draw():
    """A 25+25-D Gaussian pair with one component: the MI of every draw is the log-determinant formula
    (no quadrature, MC s.e. 0), equal to numpy's on the draw's covariance. The posterior itself sits
    about d_x·d_y/N above the truth here (the known upward bias of Gaussian MI in many dimensions),
    more than its own sd: the user is warned, and the truth is indeed outside the interval."""
    rng = np.random.default_rng(0)
    n, d, rho = 2000, 25, 0.3
    x = rng.normal(size=(n, d))
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(n, d))
    with pytest.warns(DimensionBiasWarning, match="d_x·d_y/N = 0.312"):
        result = bayesmi.estimate_mi(x, y, num_components=1, num_warmup=20, num_samples=10, num_chains=2,
                                     progress=False)
    truth = -0.5 * d * np.log(1 - rho**2)
    lo, hi = result.interval(0.95)
    assert not lo <= truth <= hi and result.diagnostics["dimension_bias"] == pytest.approx(d * d / n)
    assert result.mc_se == 0.0 and result.diagnostics["mc_se_over_sd"] == 0.0
    cov = result.idata.posterior["cov"].values[:, :, 0].astype(float)  # (chains, draws, D, D)
    logdet = lambda a: np.linalg.slogdet(a)[1]
    expected = 0.5 * (logdet(cov[..., :d, :d]) + logdet(cov[..., d:, d:]) - logdet(cov))
    np.testing.assert_allclose(result.draws, expected, rtol=2e-3, atol=2e-3)
