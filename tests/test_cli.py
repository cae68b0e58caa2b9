"""Tests for the command line (bayesmi.cli), run in-process through ``main``.

Estimation runs are kept small (N = 300, 2 short chains, one mixture component)
so the whole file stays well under a
minute; the first run pays the JIT compilation.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bayesmi import MIResult, toys
from bayesmi.cli import EXIT_USAGE, CLIError, column_indices, load_table, main, select_columns
from bayesmi.studies import validation

N = 300
RHO = 0.75
# One component (right for the Gaussian toy) skips the BIC search over K = 1..10, whose
# compilation would dominate the run time; the library tests cover "auto".
FAST = ["--no-progress", "--components", "1", "--chains", "2", "--warmup", "150", "--samples", "250"]


@pytest.fixture(scope="module")
def gaussian_data() -> tuple[np.ndarray, np.ndarray, float]:
    toy = toys.gaussian(rho=RHO)
    x, y = toy.sample(N, seed=1)
    return x, y, toy.mi


@pytest.fixture
def csv_with_header(tmp_path, gaussian_data):
    x, y, _ = gaussian_data
    noise = np.random.default_rng(2).standard_normal(N)
    path = tmp_path / "data.csv"
    lines = ["noise,alpha,beta"] + [f"{n:.17g},{a:.17g},{b:.17g}" for n, a, b in zip(noise, x, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def npy_file(tmp_path, gaussian_data):
    x, y, _ = gaussian_data
    path = tmp_path / "data.npy"
    np.save(path, np.column_stack([y, np.ones(N), x]))
    return path


def test_demo_prints_report(capsys):
    code = main(["demo", "--n", str(N), "--seed", "3", *FAST])
    out = capsys.readouterr().out
    assert code == 0
    assert "toy gaussian(rho=0.75)" in out
    assert "True MI:       0.4133 nats" in out
    assert "MI:" in out and "±" in out
    assert "95% interval:" in out
    assert "Covers truth:" in out
    assert "Components:" in out and "R-hat:" in out and "ESS (bulk):" in out
    assert "Converged:" in out and "Wall time:" in out and "Check:         passed" in out
    assert "Summary:" in out and "mcse_mean" in out


def test_demo_of_discrete_data_uses_the_table_posterior_and_covers(capsys):
    """0.1 printed "Covers truth: no" here: the joint mixture misfit the jittered table."""
    code = main(["demo", "--toy", "discrete_table", "--n", "500", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0 and "Dirichlet table" in captured.err
    assert "Method:        dirichlet" in captured.out and "Covers truth:  yes" in captured.out
    assert "Route:         discrete" in captured.out and "Components:" not in captured.out


def test_estimate_csv_header_by_name(capsys, csv_with_header):
    code = main(["estimate", str(csv_with_header), "--x", "alpha", "--y", "beta",
                 "--units", "bits", *FAST])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "N:             300" in captured.out
    assert "95% interval:" in captured.out
    assert "Units:         bits" in captured.out
    assert "True MI" not in captured.out and "Covers truth" not in captured.out


def test_estimate_npy_by_index_json_covers_truth(capsys, npy_file, gaussian_data):
    _, _, truth = gaussian_data
    code = main(["estimate", str(npy_file), "--x", "2", "--y", "0", "--json", *FAST])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    res = json.loads(captured.out)
    assert set(res) >= {"mean", "sd", "interval_95", "units", "method", "rhat", "ess",
                        "converged", "n_components", "mc_se", "n"}
    assert res["n"] == N and res["units"] == "nats" and res["method"] == "gibbs"
    assert res["n_components"] == 1
    assert res["check_passed"] is True and 0.01 <= res["check_p"] <= 1  # Gaussian data: the mixture fits
    assert res["independence_log_bf"] is None  # its ~N·I ≈ 120 nats of dependence leave independence no chance
    lo, hi = res["interval_95"]
    assert lo < res["mean"] < hi
    assert 0 < res["sd"] < 0.1
    assert abs(res["mean"] - truth) < 4 * res["sd"]


@pytest.mark.parametrize("command", ["estimate", "validate"])
def test_select_by_reaches_the_fit(monkeypatch, capsys, npy_file, command):
    """--select-by is passed to the fit as FitOptions.select_by (and refused outside bic, aic, cv)."""
    seen = {}

    def capture(*args, **kwargs):
        seen.update(kwargs)
        raise ValueError("stop here")

    from bayesmi import estimators

    monkeypatch.setattr(estimators, "estimate_mi", capture)
    monkeypatch.setattr(validation, "run_validation", capture)
    argv = (["estimate", str(npy_file), "--x", "2", "--y", "0"] if command == "estimate"
            else ["validate", "--toys", "gaussian", "--n", "100", "--replicates", "1"])
    assert main([*argv, "--no-progress", "--select-by", "cv"]) == EXIT_USAGE
    assert seen["select_by"] == "cv" and "stop here" in capsys.readouterr().err
    assert main([*argv, "--no-progress", "--select-by", "loo"]) == EXIT_USAGE
    assert "invalid choice: 'loo'" in capsys.readouterr().err


def test_validate_prints_summary_and_writes_csv(capsys, tmp_path):
    out, records = tmp_path / "summary.csv", tmp_path / "records.csv"
    code = main(["validate", "--toys", "gaussian", "--n", str(N), "--replicates", "2", "--methods", "gibbs",
                 "--probs", "0.5,0.9", "--out", str(out), "--records", str(records), *FAST])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = captured.out.splitlines()
    assert lines[0].startswith("Coverage study: 1 toy(s) x 1 size(s) x 2 replicates x 1 method(s) = 2 fits")
    assert "coverage50" in lines[1] and "coverage90_hi" in lines[1] and "frac_converged" in lines[1]
    assert lines[2].split()[:5] == ["gaussian", str(N), "gibbs", "nats", "2"]
    (row,) = pd.read_csv(out).to_dict("records")
    assert row["truth"] == pytest.approx(toys.gaussian(rho=RHO).mi)
    for label in ("50", "90"):
        assert 0 <= row[f"coverage{label}_lo"] <= row[f"coverage{label}"] <= row[f"coverage{label}_hi"] <= 1
    assert row["width50"] < row["width90"]
    table = pd.read_csv(records)
    assert table.shape[0] == 2 and list(table["replicate"]) == [0, 1]


def test_validate_categorical_toy_passes_y_type(capsys, monkeypatch):
    seen = []

    def fake_estimate(x, y, *, method, truth, seed, y_type="continuous", **kwargs):
        seen.append((y_type, set(np.unique(y))))
        return MIResult(draws=np.full((1, 40), truth), idata=None, method=method, truth=truth, converged=True)

    monkeypatch.setattr(validation, "estimate_mi", fake_estimate)
    code = main(["validate", "--toys", "class_conditional_gaussian", "--methods", "gibbs", "--replicates", "2",
                 "--y-type", "categorical", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert [t for t, _ in seen] == ["categorical", "categorical"] and seen[0][1] == {0.0, 1.0}


def test_validate_json(capsys, monkeypatch):
    def fake_estimate(x, y, *, method, truth, seed, **kwargs):  # skip the fits: this tests the output
        draws = np.linspace(truth - 0.1, truth + 0.3, 400)[None]
        return MIResult(draws=draws, idata=None, method=method, truth=truth, converged=method == "gibbs")

    monkeypatch.setattr(validation, "estimate_mi", fake_estimate)
    code = main(["validate", "--toys", "gaussian,student", "--methods", "gibbs,svi", "--replicates", "3",
                 "--json", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err.strip() == "bayesmi: warning: 6 of 12 fits did not converge; see the converged and " \
                                   "problems columns of the records"
    rows = json.loads(captured.out)
    assert [(r["toy"], r["method"]) for r in rows] == [
        ("gaussian", "gibbs"), ("gaussian", "svi"), ("student", "gibbs"), ("student", "svi")]
    assert all(r["coverage95"] == 1.0 and r["replicates"] == 3 and r["n"] == 200 for r in rows)
    assert [r["frac_converged"] for r in rows] == [1.0, 0.0, 1.0, 0.0]


@pytest.mark.parametrize("argv, fragment", [
    (["--toys", "gaussian,nope"], "unknown toy 'nope'"),
    (["--toys", "gaussian,"], "--toys: empty item"),
    (["--methods", "gibbs,magic"], "unknown method(s) ['magic']"),
    (["--methods", "svi,svi"], "listed twice"),
    (["--n", "200,x"], "--n: expected a positive integer, got 'x'"),
    (["--n", "0"], "--n: expected a positive integer"),
    (["--probs", "0.95,1"], "--probs: expected a probability in (0, 1), got '1'"),
    (["--out", "/no/such/dir/summary.csv"], "--out: directory"),
])
def test_validate_errors(capsys, argv, fragment):
    _assert_error(capsys, ["validate", *argv, "--no-progress"], fragment)


def test_csv_without_header_ranges_and_delimiter(tmp_path):
    data = np.arange(24.0).reshape(6, 4)
    path = tmp_path / "plain.csv"
    np.savetxt(path, data, delimiter=";")
    table = load_table(path, delimiter=";")
    assert table.shape == (6, 4)  # first row is data, not a header
    assert column_indices(table, "0-2", "--x") == [0, 1, 2]
    assert column_indices(table, "3, 1", "--y") == [3, 1]
    np.testing.assert_array_equal(select_columns(table, [3, 1], "--y"), data[:, [3, 1]])


def test_csv_header_names_and_indices_mix(csv_with_header):
    table = load_table(csv_with_header)
    assert list(table.columns) == ["noise", "alpha", "beta"]
    assert column_indices(table, "beta,0", "--x") == [2, 0]
    with pytest.raises(CLIError, match="listed twice"):
        column_indices(table, "alpha,1", "--x")


def _assert_error(capsys, argv, *fragments):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    err = captured.err.strip()
    assert err.startswith("bayesmi: error:") and "\n" not in err, err
    assert "Traceback" not in captured.err
    for fragment in fragments:
        assert fragment in err, err


def test_error_missing_file(capsys, tmp_path):
    _assert_error(capsys, ["estimate", str(tmp_path / "nope.csv"), "--x", "0", "--y", "1"], "no such file")


def test_error_unknown_column(capsys, csv_with_header):
    _assert_error(capsys, ["estimate", str(csv_with_header), "--x", "alpha", "--y", "gamma"],
                  "unknown column 'gamma'")


def test_error_column_index_out_of_range(capsys, npy_file):
    _assert_error(capsys, ["estimate", str(npy_file), "--x", "0", "--y", "3"], "out of range")


def test_error_names_on_npy(capsys, npy_file):
    _assert_error(capsys, ["estimate", str(npy_file), "--x", "alpha", "--y", "0"], "unknown column")


def test_error_bad_extension(capsys, tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("1,2\n3,4\n")
    _assert_error(capsys, ["estimate", str(path), "--x", "0", "--y", "1"], "unsupported file extension")


def test_error_overlapping_columns(capsys, csv_with_header):
    _assert_error(capsys, ["estimate", str(csv_with_header), "--x", "alpha,beta", "--y", "2"], "disjoint")


def test_error_nan_in_data(capsys, tmp_path, gaussian_data):
    x, y, _ = gaussian_data
    x = x.copy()
    x[5] = np.nan
    path = tmp_path / "nan.csv"
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="a,b", comments="")
    _assert_error(capsys, ["estimate", str(path), "--x", "a", "--y", "b", "--no-progress"], "NaN")


def test_error_empty_cell_is_nan(capsys, tmp_path):
    rows = ["a,b"] + [f"{i},{(i * 7) % 11}" for i in range(40)]
    rows[10] = "9,"
    path = tmp_path / "gap.csv"
    path.write_text("\n".join(rows) + "\n")
    _assert_error(capsys, ["estimate", str(path), "--x", "a", "--y", "b", "--no-progress"], "NaN")


def test_error_non_numeric_column(capsys, tmp_path):
    path = tmp_path / "text.csv"
    path.write_text("a,b\n1,x\n2,y\n")
    _assert_error(capsys, ["estimate", str(path), "--x", "a", "--y", "b"], "non-numeric")


def test_error_bad_toy_param(capsys):
    _assert_error(capsys, ["demo", "--param", "rho=1.5", "--no-progress"], "rho")


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["demo", "--method", "nope"]) == 2
    assert main(["demo", "--param", "rho"]) == 2
    assert main(["estimate", "f.csv", "--x", "0"]) == 2  # --y missing
    capsys.readouterr()


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "demo" in capsys.readouterr().out
    assert main(["estimate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--samples" in out and "--json" in out
    assert main(["validate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--replicates" in out and "--methods" in out and "gamma_exp" in out


def test_python_dash_m(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bayesmi", "estimate", str(tmp_path / "x.csv"),
                           "--x", "0", "--y", "1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("bayesmi: error: no such file")
