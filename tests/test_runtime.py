"""How bayesmi runs: row buckets shared by nearby data sizes, the persistent compilation cache across
processes, minibatch SVI on a large sample, closed forms at K = 1 in many dimensions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bayesmi
from bayesmi.estimators.mi import DimensionBiasWarning
from bayesmi.runtime import bucket_components, bucket_rows, compilation_cache_dir


@pytest.mark.parametrize("n", [1, 15, 16, 17, 100, 999, 1000, 1024, 1025, 4097, 10_000, 123_456, 1_000_000])
def test_row_buckets_hold_every_size_with_at_most_a_quarter_padding(n):
    bucket = bucket_rows(n)
    assert bucket >= n and (bucket <= 16 or bucket <= 1.25 * n)
    assert bucket_rows(bucket) == bucket  # a bucket is its own bucket


def test_buckets_are_few_per_doubling():
    assert len({bucket_rows(n) for n in range(1025, 2049)}) == 4
    assert bucket_rows(2000) == bucket_rows(1900) == 2048


def test_component_buckets_pad_by_at_most_one_slot():
    assert [bucket_components(k) for k in range(1, 11)] == [1, 2, 4, 4, 6, 6, 8, 8, 10, 10]
    assert all(bucket_components(bucket_components(k)) == bucket_components(k) for k in range(1, 40))


def test_gibbs_draws_with_padded_component_slots_equal_the_unpadded_draws():
    """A K = 3 batch runs in 4 slots (the 4th of weight 0, inactive) and is cut back to 3: JAX's
    partitionable PRNG draws the same numbers for the real components, so the draws agree with a run
    in exactly 3 slots to float32 rounding (the weights are renormalised over the active slots)."""
    import jax

    from bayesmi.fitting import fit_mixtures
    from bayesmi.infer import gibbs
    from bayesmi.options import FitOptions
    from bayesmi.util import Progress

    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(c, 0.5, (100, 2)) for c in (-2, 0, 2)]).astype(np.float32)
    z = (z - z.mean(0)) / z.std(0)
    options = FitOptions(method="gibbs", num_components=3, num_warmup=30, num_samples=40, num_chains=2,
                         progress=False)
    with Progress(False, "") as progress:
        padded = fit_mixtures([z], options, jax.random.key(0), progress)
    original = gibbs.bucket_components
    try:
        gibbs.bucket_components = lambda k: k
        with Progress(False, "") as progress:
            plain = fit_mixtures([z], options, jax.random.key(0), progress)
    finally:
        gibbs.bucket_components = original
    assert padded.params.means.shape == plain.params.means.shape == (1, 2, 40, 3, 2)
    for a, b in zip(jax.tree.leaves(padded.params), jax.tree.leaves(plain.params)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)


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
                      "compiled": events.count("/jax/core/compile/backend_compile_duration"),
                      "traced": events.count("/jax/core/compile/jaxpr_trace_duration"), "mean": r.mean}))
""")


def test_a_new_process_loads_compiled_programs_from_the_persistent_cache(tmp_path):
    """The second process finds (nearly) every program on disk: it compiles a small fraction of what
    the first compiled, it does not trace the stored programs (EM, Gibbs, the integral) again, and
    its numbers are the same."""
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
    assert {p.name.split("-")[0] for p in (cache / "programs").iterdir()} >= {"_fit_starts", "_advance", "_per_draw"}
    assert second["traced"] < first["traced"] / 2, runs  # only small eager operations are traced again
    assert first["mean"] == second["mean"]  # a cached program computes the same numbers


def test_no_dimension_bias_warning_for_a_scalar_pair(recwarn):
    x, y = bayesmi.toys.gaussian(0.5).sample(300, seed=0)
    result = bayesmi.estimate_mi(x, y, num_components=1, num_warmup=30, num_samples=50, num_chains=2,
                                 progress=False)
    assert not any(issubclass(w.category, DimensionBiasWarning) for w in recwarn)
    assert result.diagnostics["dimension_bias"] == pytest.approx(1 / 300)


@pytest.mark.slow  # a width study on 300k rows (15-30 s); run with `pytest -m slow`
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
    (no quadrature, MC s.e. 0) on the draw's covariance, less one shift: a Gaussian's MI sits about
    d_x·d_y/N above the truth in many dimensions (here more than the posterior sd), and with K = 1
    that bias is known exactly and removed (bayesmi.estimators.gaussian_bias), so the interval
    covers and no DimensionBiasWarning is issued."""
    from bayesmi.estimators.gaussian_bias import gaussian_mi_bias

    rng = np.random.default_rng(0)
    n, d, rho = 2000, 25, 0.3
    x = rng.normal(size=(n, d))
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=(n, d))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DimensionBiasWarning)
        warnings.simplefilter("ignore", bayesmi.ConvergenceWarning)  # 10 draws per chain
        result = bayesmi.estimate_mi(x, y, num_components=1, num_warmup=20, num_samples=10, num_chains=2,
                                     progress=False)
    truth = -0.5 * d * np.log(1 - rho**2)
    lo, hi = result.interval(0.95)
    assert lo <= truth <= hi and result.diagnostics["dimension_bias"] == pytest.approx(d * d / n)
    shift = result.diagnostics["bias_correction"]
    assert shift == pytest.approx(2 * gaussian_mi_bias(n, d, d), rel=0.25)  # sample bias + as much from the posterior
    assert result.mc_se == 0.0 and result.diagnostics["mc_se_over_sd"] == 0.0
    cov = result.idata.posterior["cov"].values[:, :, 0].astype(float)  # (chains, draws, D, D)
    logdet = lambda a: np.linalg.slogdet(a)[1]
    expected = 0.5 * (logdet(cov[..., :d, :d]) + logdet(cov[..., d:, d:]) - logdet(cov))
    np.testing.assert_allclose(result.draws, expected - shift, rtol=2e-3, atol=2e-3)


@pytest.mark.slow  # ~16 s of fits in many dimensions
def test_several_components_in_many_dimensions_warn_of_the_dimension_bias():
    """With K > 1 the bias has no closed form: the user is told the estimate can sit d_x·d_y/N high."""
    rng = np.random.default_rng(1)
    n, d = 300, 10
    x = rng.normal(size=(n, d))
    y = 0.3 * x + rng.normal(size=(n, d))
    with pytest.warns(DimensionBiasWarning, match="d_x·d_y/N = 0.333"):
        result = bayesmi.estimate_mi(x, y, num_components=2, num_warmup=20, num_samples=10, num_chains=2,
                                     progress=False, predictive_check=False)
    assert result.diagnostics["bias_correction"] is None


class _Pair(NamedTuple):
    a: jax.Array
    b: jax.Array


_traced: list[int] = []


def _scaled_noise(pair: _Pair, key: jax.Array, scale: float, repeat: int) -> tuple[_Pair, jax.Array]:
    """A program with a NamedTuple in and out, a PRNG key and two static arguments."""
    _traced.append(repeat)  # runs only while JAX traces the function
    noise = jax.random.normal(key, pair.a.shape)
    return _Pair(pair.a * scale + noise, jnp.tile(pair.b, repeat)), jnp.linalg.cholesky(pair.b @ pair.b.T + 1.0)


@pytest.fixture
def program_dir(tmp_path, monkeypatch):
    """Stored programs written under tmp_path, as when the compilation cache is on."""
    from bayesmi import runtime

    monkeypatch.setattr(runtime, "_program_dir", lambda: tmp_path)
    return tmp_path


def test_a_stored_program_computes_what_jit_computes_and_a_new_process_skips_tracing(program_dir):
    """The first call traces, exports and writes the program; a fresh wrapper (what a new process
    has) reads it and never runs the Python body; both give jax.jit's numbers exactly."""
    from bayesmi.runtime import stored_jit

    pair, key = _Pair(jnp.arange(3.0), jnp.eye(2)), jax.random.key(4)
    expected = jax.jit(_scaled_noise, static_argnames=("scale", "repeat"))(pair, key, 2.0, 3)
    _traced.clear()
    first = stored_jit(_scaled_noise, static_argnames=("scale", "repeat"))(pair, key, scale=2.0, repeat=3)
    assert len(_traced) == 1 and len(list(program_dir.iterdir())) == 1
    _traced.clear()
    again = stored_jit(_scaled_noise, static_argnames=("scale", "repeat"))
    second = again(pair, key, 2.0, 3)
    assert _traced == []
    for out in (first, second):
        assert isinstance(out[0], _Pair)
        for got, want in zip(jax.tree.leaves(out), jax.tree.leaves(expected)):
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    again(pair, key, 2.0, 2)  # another static value: another program
    again(_Pair(jnp.arange(4.0), jnp.eye(2)), key, 2.0, 3)  # another shape: another program
    assert len(_traced) == 2 and len(list(program_dir.iterdir())) == 3


def test_a_damaged_stored_program_is_traced_again_and_replaced(program_dir):
    from bayesmi.runtime import stored_jit

    pair, key = _Pair(jnp.arange(3.0), jnp.eye(2)), jax.random.key(0)
    expected = stored_jit(_scaled_noise, static_argnames=("scale", "repeat"))(pair, key, 1.0, 1)
    [path] = program_dir.iterdir()
    path.write_bytes(b"half a file")
    _traced.clear()
    got = stored_jit(_scaled_noise, static_argnames=("scale", "repeat"))(pair, key, 1.0, 1)
    assert len(_traced) == 1 and path.stat().st_size > 100
    np.testing.assert_array_equal(np.asarray(got[1]), np.asarray(expected[1]))


def test_static_arguments_without_a_stable_text_are_not_stored(program_dir):
    """A static argument whose repr holds a memory address cannot key a program across processes:
    the call is plain jax.jit and nothing is written."""
    from bayesmi.runtime import stored_jit

    class Opaque:
        pass

    opaque = Opaque()
    double = stored_jit(lambda x, tag: 2 * x, static_argnames=("tag",))
    assert float(double(jnp.float32(1.5), opaque)) == 3.0
    assert list(program_dir.iterdir()) == []


def test_an_edit_of_bayesmi_or_an_upgrade_keys_a_new_program(program_dir, monkeypatch):
    from bayesmi import runtime

    pair, key = _Pair(jnp.arange(3.0), jnp.eye(2)), jax.random.key(0)
    runtime.stored_jit(_scaled_noise, static_argnames=("scale", "repeat"))(pair, key, 1.0, 1)
    monkeypatch.setattr(runtime, "_environment", lambda: "jax 99 bayesmi edited")
    _traced.clear()
    runtime.stored_jit(_scaled_noise, static_argnames=("scale", "repeat"))(pair, key, 1.0, 1)
    assert len(_traced) == 1 and len(list(program_dir.iterdir())) == 2


def test_closures_are_never_stored(program_dir):
    """Two closures share a name but not their captured values: neither may load the other's program."""
    from bayesmi.runtime import stored_jit

    def scaler(factor: float):
        def scale(x):
            return factor * x
        return stored_jit(scale)

    assert float(scaler(2.0)(jnp.float32(1.0))) == 2.0 and float(scaler(3.0)(jnp.float32(1.0))) == 3.0
    assert list(program_dir.iterdir()) == []


_DEVICE_FIT = dict(num_components=2, num_chains=2, num_warmup=20, num_samples=20, max_components=2, seed=0,
                   progress=False)
_DEVICES_SCRIPT = textwrap.dedent(f"""
    import json, warnings, jax, jax.numpy as jnp
    import bayesmi
    from bayesmi.runtime import shard_chains
    split = shard_chains(jnp.zeros((1, 2, 3)), 2, axis=1)
    x, y = bayesmi.toys.gaussian(0.5).sample(100, seed=0)
    out = {{"devices": jax.device_count(), "holders": len(split.sharding.device_set)}}
    for method in ("gibbs", "nuts"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[method] = bayesmi.estimate_mi(x, y, method=method, **{_DEVICE_FIT!r}).draws.tolist()
    print(json.dumps(out))
""")


@pytest.mark.slow  # a second process with two forced CPU devices (~40 s); CI machines have one device
def test_chains_spread_over_several_devices_give_the_numbers_of_one():
    """With two devices (forced on the CPU) the Gibbs and NUTS chains are split between them. Every
    Gibbs draw equals this one-device process's (each chain has its own key). NUTS trajectories are
    chaotic: float32 rounding of the partitioned program (~1e-6 here) can part a chain from its
    one-device path after some iterations, so its draws are checked as draws of the same posterior."""
    out = subprocess.run([sys.executable, "-c", _DEVICES_SCRIPT], capture_output=True, text=True, check=True,
                         timeout=600, env={**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    two = json.loads(out.stdout.strip().splitlines()[-1])
    assert (two["devices"], two["holders"]) == (2, 2)
    x, y = bayesmi.toys.gaussian(0.5).sample(100, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = bayesmi.estimate_mi(x, y, method="gibbs", **_DEVICE_FIT).draws
    np.testing.assert_allclose(two["gibbs"], one, rtol=1e-5, atol=1e-7)
    nuts = np.asarray(two["nuts"])
    assert np.all(np.isfinite(nuts))
    assert abs(nuts.mean() - one.mean()) < 3 * one.std()  # 40 autocorrelated draws of each sampler


def test_lookahead_map_keeps_order_and_stops_starting_calls_when_the_consumer_stops():
    import contextlib
    import threading
    import time

    from bayesmi.util import lookahead_map

    started, lock = [], threading.Lock()

    def slow_square(i: int) -> int:
        with lock:
            started.append(i)
        time.sleep(0.01 * (i % 3))  # later items may finish first
        return i * i

    assert list(lookahead_map(slow_square, range(10), workers=3)) == [i * i for i in range(10)]
    assert list(lookahead_map(slow_square, range(10), workers=1)) == [i * i for i in range(10)]
    started.clear()
    with contextlib.closing(lookahead_map(slow_square, range(100), workers=3)) as results:
        assert [r for _, r in zip(range(4), results)] == [0, 1, 4, 9]
    assert len(started) <= 4 + 2  # the four asked for, and at most workers - 1 started ahead
