"""One contract for every public estimator and every method (in the spirit of scikit-learn's
``parametrize_with_checks``): the result type, units (bits = nats / ln 2), same seed same answer,
``converged`` semantics (False exactly when a ConvergenceWarning names problems) and clear errors
on bad input. Settings are tiny: this checks the interface, not the statistics."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import bayesmi
from bayesmi import ConvergenceWarning, MIMatrix, MIResult
from bayesmi.arviz_adapter import group_names

N = 150
RNG = np.random.default_rng(0)
X = RNG.standard_normal(N)
Y = 0.6 * X + 0.8 * RNG.standard_normal(N)
Z = RNG.standard_normal(N)
LABELS = np.where(X + 0.5 * RNG.standard_normal(N) > 0, "up", "down")
CODES = (X > 0).astype(int) + (Z > 0).astype(int)

#: Small fits: a few seconds each, whatever the method.
FAST = dict(num_warmup=30, num_samples=30, num_chains=2, max_components=2, num_steps=200, num_bootstrap=8,
            progress=False)


def _mixture(fn: Callable[..., object]) -> Callable[..., object]:
    return lambda method, **kw: fn(method=method, **FAST, **kw)


MIXTURE_ESTIMATORS = {
    "mi": _mixture(lambda **kw: bayesmi.estimate_mi(X, Y, **kw)),
    "mi_categorical": _mixture(lambda **kw: bayesmi.estimate_mi(X, LABELS, y_type="categorical", **kw)),
    "entropy": _mixture(lambda **kw: bayesmi.estimate_entropy(X, **kw)),
    "kl": _mixture(lambda **kw: bayesmi.estimate_kl(X, Y + 0.5, **kw)),
    "cmi": _mixture(lambda **kw: bayesmi.estimate_cmi(X, Y, Z, **kw)),
    "mi_matrix": _mixture(lambda **kw: bayesmi.mi_matrix(X, pd.DataFrame({"y": Y, "label": LABELS}), **kw)),
}
DISCRETE_ESTIMATORS = {
    "discrete_mi": lambda **kw: bayesmi.discrete.mutual_information(CODES, LABELS, num_draws=200, **kw),
    "discrete_entropy": lambda **kw: bayesmi.discrete.entropy(CODES, num_draws=200, **kw),
    "pairwise": lambda **kw: bayesmi.discrete.pairwise_mutual_information(np.column_stack([CODES, X > 1]), LABELS,
                                                                        num_draws=200, **kw),
    "neuron_measures": lambda **kw: bayesmi.discrete.neuron_measures(np.column_stack([X > 0, Z > 0]), LABELS,
                                                                     num_draws=200, **kw),
}
#: NUTS compiles ~8 s of programs for every new (rows, dimension, K); entropy, KL, CMI and categorical
#: MI reach it through the same fit path as "mi" (one data set) and "mi_matrix" (several, joint and per
#: class), so they run with -m slow.
SLOW = {("entropy", "nuts"), ("kl", "nuts"), ("cmi", "nuts"), ("mi_categorical", "nuts")}
CASES = [pytest.param(name, method, marks=[pytest.mark.slow] if (name, method) in SLOW else [])
         for name in MIXTURE_ESTIMATORS for method in bayesmi.options.MIXTURE_METHODS] + \
        [("mi", "ksg")] + [(name, "dirichlet") for name in DISCRETE_ESTIMATORS]
_CACHE: dict = {}


def run(name: str, method: str, units: str) -> tuple[MIResult | MIMatrix, list[warnings.WarningMessage]]:
    """Fit once per (estimator, method, units) with seed 3; warnings recorded."""
    key = (name, method, units)
    if key not in _CACHE:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if method == "dirichlet":
                result = DISCRETE_ESTIMATORS[name](units=units, seed=3)
            else:
                result = MIXTURE_ESTIMATORS[name](method, units=units, seed=3)
        _CACHE[key] = (result, list(caught))
    return _CACHE[key]


def _repeats(name: str, method: str) -> bool:
    """Whether the case is fitted twice (nats, then bits) to check "same seed, same answer": every
    method through estimate_mi and every estimator through Gibbs (and the cheap discrete ones) share
    the code that derives randomness from the seed; the rest convert units with ``to``."""
    return name == "mi" or method in ("gibbs", "dirichlet")


@pytest.mark.parametrize("name, method", CASES)
def test_result_type_units_and_seed(name, method):
    nats, _ = run(name, method, "nats")
    matrix = name in ("mi_matrix", "pairwise", "neuron_measures")
    assert isinstance(nats, MIMatrix if matrix else MIResult)
    assert nats.method == method and nats.units == "nats"
    assert np.isfinite(nats.draws[~np.isnan(nats.draws)]).all() and nats.draws.size > 0
    bits = nats.to("bits")
    assert bits.units == "bits"
    np.testing.assert_allclose(bits.draws, nats.draws / math.log(2.0), rtol=1e-12, equal_nan=True)
    if _repeats(name, method):
        # Same seed, same answer: the bits run repeats the nats run, so its draws are exactly a rescaling.
        again, _ = run(name, method, "bits")
        assert again.units == "bits"
        np.testing.assert_allclose(again.draws, bits.draws, rtol=1e-12, equal_nan=True)
    if not matrix:
        assert nats.draws.ndim == 2
        lo, hi = nats.interval(0.9)
        assert lo <= nats.mean <= hi
        assert bits.mc_se == pytest.approx(nats.mc_se / math.log(2.0), rel=1e-9, abs=1e-15)
        table = nats.summary()
        assert table.index[0] == f"{nats.variable} [nats]" and {"mean", "sd", "mc_se_integral"} <= set(table.columns)
        assert f"[{bits.units}]" in bits.summary().index[0]
        group = bits.idata["bootstrap" if bits.draws_kind == "replicates" else "posterior"]
        assert group[bits.variable].attrs["units"] == "bits"
        assert np.allclose(group[bits.variable].values.ravel(), bits.draws.ravel())


@pytest.mark.parametrize("name, method", CASES)
def test_converged_is_false_exactly_when_a_convergence_warning_names_problems(name, method):
    result, caught = run(name, method, "nats")
    warned = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert bool(warned) == (not result.converged)
    if isinstance(result, MIMatrix):
        problems = [p for p in np.ravel(result.diagnostics.get("problems", [])) if p]
        assert result.converged == (not problems) == bool(np.all(result.diagnostics.get("converged", True)))
    else:
        assert result.converged == (not result.diagnostics["problems"])
        for problem in result.diagnostics["problems"]:
            assert problem in str(warned[0].message)
    for w in warned:
        assert w.filename == __file__, "a ConvergenceWarning must point at the caller's line"


def test_replicates_are_labelled_as_replicates_not_posterior_draws():
    boot, _ = run("mi", "bootstrap", "nats")
    assert boot.draws_kind == "replicates" and math.isnan(boot.rhat) and math.isnan(boot.ess)
    assert "posterior" not in group_names(boot.idata) and "bootstrap" in group_names(boot.idata)
    assert "replicates" in boot.summary().columns and "r_hat" not in boot.summary().columns
    assert "replicates" in repr(boot) and "rhat" not in repr(boot)
    gibbs, _ = run("mi", "gibbs", "nats")
    assert gibbs.draws_kind == "posterior" and "posterior" in group_names(gibbs.idata)


# --------------------------------------------------------------------------- bad input

BAD_X = {
    "NaN": (np.r_[np.nan, X[1:]], ValueError, "NaN"),
    "inf": (np.r_[np.inf, X[1:]], ValueError, "infinite"),
    "too few samples": (X[:5], ValueError, "at least min_samples"),
    "constant column": (np.ones(N), ValueError, "constant"),
    "strings": (LABELS, TypeError, "non-numeric"),
    "3-D": (X.reshape(N, 1, 1), ValueError, r"1-D \(n,\) or 2-D"),
    "complex": (X + 1j, TypeError, "complex"),
}
BAD_CALLS = {
    "mi": lambda bad: bayesmi.estimate_mi(bad, Y[: len(bad)], progress=False),
    "mi_categorical": lambda bad: bayesmi.estimate_mi(bad, LABELS[: len(bad)], y_type="categorical", progress=False),
    "entropy": lambda bad: bayesmi.estimate_entropy(bad, progress=False),
    "kl": lambda bad: bayesmi.estimate_kl(bad, Y, progress=False),
    "cmi": lambda bad: bayesmi.estimate_cmi(bad, Y[: len(bad)], Z[: len(bad)], progress=False),
    "mi_matrix": lambda bad: bayesmi.mi_matrix(pd.DataFrame({"a": bad}), Y[: len(bad)], a_kinds="continuous",
                                               progress=False),
}


@pytest.mark.parametrize("estimator", BAD_CALLS)
@pytest.mark.parametrize("problem", BAD_X)
def test_bad_input_gets_a_clear_error_before_any_fit(estimator, problem):
    bad, error, message = BAD_X[problem]
    if estimator == "mi_matrix" and problem in ("strings", "3-D"):
        pytest.skip("a DataFrame column holds strings as class labels, and has no third axis")
    with pytest.raises(error, match=message):
        BAD_CALLS[estimator](bad)


@pytest.mark.parametrize("call", [
    lambda: bayesmi.estimate_mi(X, Y[:-1], progress=False),
    lambda: bayesmi.estimate_mi(X, LABELS[:-1], y_type="categorical", progress=False),
    lambda: bayesmi.estimate_cmi(X, Y, Z[:-1], progress=False),
    lambda: bayesmi.mi_matrix(X, Y[:-1], progress=False),
    lambda: bayesmi.discrete.mutual_information(CODES, LABELS[:-1]),
    lambda: bayesmi.discrete.pairwise_mutual_information(CODES, LABELS[:-1]),
], ids=["mi", "mi_categorical", "cmi", "mi_matrix", "discrete_mi", "pairwise"])
def test_mismatched_lengths(call):
    with pytest.raises(ValueError, match="different (lengths|numbers of rows)"):
        call()


@pytest.mark.parametrize("call", [
    lambda: bayesmi.estimate_mi(X, np.full(N, "a"), y_type="categorical", progress=False),
    lambda: bayesmi.mi_matrix(X, pd.Series(np.zeros(N, int)), progress=False),
    lambda: bayesmi.discrete.mutual_information(np.zeros(N, int), LABELS),
    lambda: bayesmi.discrete.neuron_measures(np.c_[CODES], np.zeros(N, int)),
], ids=["mi_categorical", "mi_matrix", "discrete_mi", "neuron_measures"])
def test_one_class_only(call):
    with pytest.raises(ValueError, match="single (class|category)"):
        call()


@pytest.mark.parametrize("call", [
    lambda: bayesmi.estimate_mi(X, Y, method="mcmc", progress=False),
    lambda: bayesmi.estimate_entropy(X, num_samples=0, progress=False),
    lambda: bayesmi.estimate_kl(X, Y, num_points=100, progress=False),
    lambda: bayesmi.mi_matrix(X, Y, select_by="loo", progress=False),
    lambda: bayesmi.estimate_mi(X, Y, units="bans", progress=False),
    lambda: bayesmi.discrete.mutual_information(CODES, LABELS, num_draws=2),
], ids=["method", "num_samples", "num_points", "select_by", "units", "num_draws"])
def test_bad_settings_are_refused_before_fitting(call):
    with pytest.raises(ValueError):
        call()


def test_options_object_and_keywords_are_one_path():
    """FitOptions carries the settings to every estimator; keywords override its fields."""
    options = bayesmi.FitOptions(**FAST)
    a = bayesmi.estimate_entropy(X, options=options, seed=1)
    b = bayesmi.estimate_entropy(X, seed=1, **FAST)
    np.testing.assert_array_equal(a.draws, b.draws)
    c = bayesmi.estimate_entropy(X, options=options, num_samples=40, seed=1)
    assert c.draws.shape == (2, 40)
    with pytest.raises(TypeError, match="unknown option"):
        bayesmi.estimate_cmi(X, Y, Z, options=options, num_sample=40)
