"""What a new user hit in bayesmi 0.1, each now a clear error, a correct answer or a visible label."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayesmi
from bayesmi.arviz_adapter import group_names
from bayesmi.cli import load_table, main

ROOT = Path(__file__).resolve().parent.parent
RNG = np.random.default_rng(11)
X = RNG.standard_normal(400)
Y = 0.75 * X + np.sqrt(1 - 0.75**2) * RNG.standard_normal(400)
FAST = dict(num_warmup=50, num_samples=100, num_chains=2, progress=False)


# --------------------------------------------------------------------------- degenerate data


@pytest.mark.parametrize("method", ["svi", "gibbs", "nuts", "bootstrap"])
@pytest.mark.parametrize("noise", [0.0, 1e-7])
def test_deterministic_relation_is_a_clear_error(method, noise):
    """y = x (or x + tiny noise): infinite MI, refused before any fit (SVI died inside NumPyro)."""
    y = X + noise * RNG.standard_normal(X.size)
    with pytest.raises(ValueError, match="deterministic linear functions of each other"):
        bayesmi.estimate_mi(X, y, method=method, progress=False)


def test_redundant_columns_are_a_clear_error():
    with pytest.raises(ValueError, match="columns of x are linearly dependent"):
        bayesmi.estimate_entropy(np.column_stack([X, 2 * X + 1]), progress=False)


def test_svi_start_failure_becomes_a_clear_error(monkeypatch):
    """A start where the model's log density is not finite gives a bayesmi error before any step."""
    from bayesmi.infer import svi

    real = svi.model_sites
    monkeypatch.setattr(svi, "model_sites", lambda params: {**real(params), "means": params.means * np.nan})
    with pytest.raises(ValueError, match="SVI could not start: the model's log density is not finite"):
        bayesmi.estimate_mi(X, Y, method="svi", num_components=1, progress=False)


# --------------------------------------------------------------------------- labels


def test_continuous_floats_as_discrete_labels_are_refused_at_once():
    """0.1 warned and then ran for minutes (N² table cells), returning about log N."""
    start = time.perf_counter()
    with pytest.raises(ValueError, match="looks continuous") as err:
        bayesmi.discrete.mutual_information(X, Y)
    assert time.perf_counter() - start < 5
    assert "np.digitize" in str(err.value) and "np.float64" not in str(err.value)


def test_continuous_floats_as_class_labels_give_a_short_message():
    """0.1 listed every class: 12,476 characters at N = 500."""
    with pytest.raises(ValueError, match="looks continuous") as err:
        bayesmi.estimate_mi(X, Y, y_type="categorical", progress=False)
    message = str(err.value)
    assert len(message) < 600 and "np.float64" not in message and "y_type='continuous'" in message


def test_many_small_classes_are_listed_by_a_few_examples():
    labels = np.r_[np.zeros(300, int), np.arange(100) + 1]  # 100 classes of one sample each
    with pytest.raises(ValueError, match="100 of the 101 classes of y have fewer than 10 samples") as err:
        bayesmi.estimate_mi(X, labels, y_type="categorical", progress=False)
    assert "and 95 more" in str(err.value) and len(str(err.value)) < 400


def test_string_labels_as_a_continuous_variable_point_to_y_type():
    labels = np.where(X > 0, "pos", "neg")
    with pytest.raises(TypeError, match="y_type='categorical'"):
        bayesmi.estimate_mi(X, labels, progress=False)
    with pytest.raises(TypeError, match="y_type='categorical'"):
        bayesmi.estimate_mi(labels, X, progress=False)


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_discrete_labels_are_refused(bad):
    x = np.r_[bad, np.arange(99) % 3].astype(float)
    with pytest.raises(ValueError, match="infinite label"):
        bayesmi.discrete.mutual_information(x, np.arange(100) % 2)


def test_huge_tables_are_refused():
    codes = np.arange(2000) % 400
    with pytest.raises(ValueError, match="MAX_TABLE_CELLS"):
        bayesmi.discrete.mutual_information(codes, (codes * 7) % 397)


# --------------------------------------------------------------------------- pandas


def test_pandas_indexes_that_disagree_are_refused_not_paired_by_position():
    x, y = pd.Series(X), pd.Series(Y)
    with pytest.raises(ValueError, match="indexes differ"):
        bayesmi.estimate_mi(x, y.iloc[::-1], progress=False)
    with pytest.raises(ValueError, match="indexes differ"):
        bayesmi.estimate_mi(x, (y > 0).iloc[::-1], y_type="categorical", progress=False)
    with pytest.raises(ValueError, match="indexes differ"):
        bayesmi.discrete.mutual_information(pd.Series(X > 0), pd.Series(Y > 0).iloc[::-1])
    with pytest.raises(ValueError, match="indexes differ"):
        bayesmi.mi_matrix(pd.DataFrame({"x": X}), pd.DataFrame({"y": Y}).iloc[::-1], progress=False)


def test_aligned_pandas_objects_are_paired_as_numpy_arrays_are():
    x, y = pd.Series(X, index=np.arange(400)[::-1]), pd.Series(Y, index=np.arange(400)[::-1])
    a = bayesmi.estimate_mi(x, y, num_components=1, seed=2, **FAST)
    b = bayesmi.estimate_mi(X, Y, num_components=1, seed=2, **FAST)
    np.testing.assert_array_equal(a.draws, b.draws)


# --------------------------------------------------------------------------- messages and warnings


def test_nan_messages_name_the_right_variables():
    with pytest.raises(ValueError, match="NaN") as err:
        bayesmi.estimate_entropy(np.r_[np.nan, X[1:]], progress=False)
    assert "both x and y" not in str(err.value)
    with pytest.raises(ValueError, match=r"A\[a\] contains 1 NaN") as err:
        bayesmi.mi_matrix(pd.DataFrame({"a": np.r_[np.nan, X[1:]], "b": Y}), progress=False)
    assert "both x and y" not in str(err.value)


def test_ties_warning_points_at_the_callers_line():
    tied = np.round(X, 1)
    with pytest.warns(bayesmi.TiesWarning) as record:
        bayesmi.estimate_mi(tied, Y, num_components=1, **FAST)
    assert record[0].filename == __file__


def test_convergence_warning_points_at_the_callers_line():
    with pytest.warns(bayesmi.ConvergenceWarning) as record:
        bayesmi.estimate_mi(X, Y, num_components=1, num_warmup=5, num_samples=8, num_chains=2, progress=False)
    assert record[0].filename == __file__


# --------------------------------------------------------------------------- ArviZ


def _summary_warnings(idata) -> list[str]:
    """Python warnings and ArviZ's log lines of a plain ``az.summary``. ArviZ 0.2x logs through its
    own Logger object ``az._log`` (not registered with ``logging``; it shows a message once per
    process: its cache is cleared first); ArviZ 1.x through the loggers of its packages."""
    from bayesmi.arviz_adapter import arviz

    az = arviz()
    messages: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    handler = Catch(level=logging.WARNING)
    loggers = {logging.getLogger(name) for name in ("arviz", "arviz_base", "arviz_stats")} | {az._log}
    if hasattr(az._log, "cache"):
        az._log.cache.clear()
    for logger in loggers:
        logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            az.summary(idata)
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    return messages + [str(w.message) for w in caught]


def test_the_summary_check_sees_arviz_warnings():
    """A structurally constant variable (what 0.1 stored) makes ``az.summary`` warn on both lines."""
    from bayesmi.arviz_adapter import from_groups

    constant = from_groups({"posterior": {"zero": np.zeros((2, 50)), "mi": np.ones((2, 50))}})
    assert _summary_warnings(constant)


def test_the_summary_check_sees_arviz_log_lines():
    from bayesmi.arviz_adapter import arviz_major, from_groups

    if arviz_major() >= 1:
        pytest.skip("ArviZ 1.x's summary logs no line for one chain (R-hat is NaN, silently)")
    one_chain = from_groups({"posterior": {"mi": np.random.default_rng(0).normal(size=(1, 50))}})
    assert any("Shape validation failed" in m for m in _summary_warnings(one_chain))


@pytest.mark.parametrize("method, k", [("gibbs", 1), ("gibbs", 2), ("svi", 2)])
def test_plain_arviz_summary_runs_without_warnings(method, k):
    """0.1 stored the fixed zeros of the precision Cholesky factors (and K = 1 weights)."""
    res = bayesmi.estimate_mi(X, Y, method=method, num_components=k, num_steps=300, seed=0, **FAST)
    assert "prec_chol" not in res.idata.posterior and "cov" in res.idata.posterior
    assert ("weights" in res.idata.posterior) == (k > 1)
    assert _summary_warnings(res.idata) == []


def test_bootstrap_replicates_are_not_stored_as_posterior_draws():
    res = bayesmi.estimate_mi(X, Y, method="bootstrap", num_bootstrap=10, seed=0, progress=False)
    assert "posterior" not in group_names(res.idata)
    assert res.idata["bootstrap"]["mi"].dims == ("replicate",)
    assert "replicates" in res.idata["bootstrap"].attrs["draws"]


# --------------------------------------------------------------------------- progress


@pytest.mark.parametrize("method, stages", [
    ("gibbs", ["choosing K by bic", "Gibbs sampling", "I(X;Y) integral"]),
    ("bootstrap", ["choosing K by cv", "bootstrap refits", "I(X;Y) integral"]),
    ("svi", ["choosing K by bic", "SVI optimisation", "I(X;Y) integral"]),
])
def test_one_progress_bar_per_call_through_its_stages(method, stages, capsys):
    bayesmi.estimate_mi(X, Y, method=method, max_components=2, num_warmup=20, num_samples=20, num_chains=2,
                        num_steps=100, num_bootstrap=5, seed=0)
    err = capsys.readouterr().err
    for stage in stages:
        assert f"estimate_mi ({method}): {stage}" in err
    assert err.index(stages[0]) < err.index(stages[1]) < err.index(stages[2])


def test_progress_is_on_by_default_everywhere_and_can_be_switched_off(capsys):
    import inspect

    assert bayesmi.FitOptions().progress is True
    assert "progress" not in inspect.signature(bayesmi.compare).parameters  # a fit option like any other
    bayesmi.compare(X, Y, methods=("bootstrap",), num_bootstrap=5, plot=False)
    assert "estimate_mi (bootstrap)" in capsys.readouterr().err
    bayesmi.compare(X, Y, methods=("bootstrap",), num_bootstrap=5, plot=False, progress=False)
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- command line


def test_csv_with_a_numeric_header_row(tmp_path):
    """``1,0`` above real-valued data is a header (0.1 read it as a data row: n = 501)."""
    path = tmp_path / "numeric_header.csv"
    path.write_text("1,0\n" + "\n".join(f"{a:.6f},{b:.6f}" for a, b in zip(X[:200], Y[:200])) + "\n")
    table = load_table(path)
    assert table.shape == (200, 2) and list(table.columns) == ["1", "0"]
    assert load_table(path, header=False).shape == (201, 2)
    ints = tmp_path / "integer_data.csv"
    ints.write_text("1,0\n" + "\n".join(f"{i % 5},{i % 3}" for i in range(50)) + "\n")
    assert load_table(ints).shape == (51, 2)  # integer data: the first row is data


def test_cli_estimate_with_categorical_y(tmp_path, capsys):
    path = tmp_path / "labels.csv"
    labels = np.where(Y > 0, "high", "low")
    path.write_text("x,label\n" + "\n".join(f"{a:.6f},{b}" for a, b in zip(X, labels)) + "\n")
    code = main(["estimate", str(path), "--x", "x", "--y", "label", "--y-type", "categorical", "--no-progress",
                 "--chains", "2", "--warmup", "50", "--samples", "100", "--json"])
    assert code == 0
    out = capsys.readouterr().out
    assert '"n": 400' in out and '"method": "gibbs"' in out


def test_cli_error_exits_fast_without_loading_jax(tmp_path):
    # Fast means JAX is never imported (that alone took ~3 s); the seconds themselves are not asserted:
    # under CI's load the imports that remain took 0.8-2.8 s, and speed is measured in benchmarks.
    code = ("import sys; from bayesmi.cli import main\n"
            f"rc = main(['estimate', {str(tmp_path / 'missing.csv')!r}, '--x', '0', '--y', '1'])\n"
            "print(rc, 'jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    rc, jax_loaded = out.stdout.split()
    assert rc == "2" and jax_loaded == "False" and "no such file" in out.stderr


def test_bootstrap_report_labels_replicates(capsys):
    code = main(["demo", "--n", "300", "--method", "bootstrap", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    assert "bootstrap mean ± sd of 50 replicates" in out and "posterior mean" not in out
    assert "R-hat" not in out and "ESS" not in out
