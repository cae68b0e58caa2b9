"""Tests for ``bayesmi.compare``: several methods on one data set, tabulated and plotted.

One real comparison (Gibbs and SVI on N = 500 Gaussian pairs, one mixture
component, 2 short chains, 1500 SVI steps) is shared by the tests; the rest
uses its results. Most of its time is JIT compilation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import bayesmi
from bayesmi.studies import comparison as compare_module
from bayesmi.studies.comparison import Comparison, comparison_table

TOY = bayesmi.toys.gaussian(rho=0.75)
METHODS = ("gibbs", "svi")
COLUMNS = ["method", "mean", "sd", "lo95", "hi95", "width95", "wall_s", "converged", "units",
           "truth", "covers_truth"]


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    x, y = TOY.sample(500, seed=1)
    return bayesmi.compare(x, y, methods=METHODS, truth=TOY.mi, seed=1, num_components=1,
                           num_chains=2, num_warmup=150, num_samples=250, num_steps=1500, progress=False)


def test_table(comparison):
    table = comparison.table
    assert list(table.columns) == COLUMNS
    assert list(table["method"]) == list(METHODS) == list(comparison.results)
    for row, res in zip(table.to_dict("records"), comparison.results.values()):
        lo, hi = res.interval(0.95)
        assert (row["mean"], row["sd"], row["lo95"], row["hi95"]) == (res.mean, res.sd, lo, hi)
        assert row["width95"] == pytest.approx(hi - lo)
        assert row["covers_truth"] == (lo <= TOY.mi <= hi)
        assert row["units"] == "nats" and row["truth"] == pytest.approx(TOY.mi)
        assert row["wall_s"] > 0 and row["converged"] == res.converged
    assert comparison.results["gibbs"].draws.shape == (2, 250)
    assert comparison.results["svi"].draws.shape == (2, 250)  # (num_chains, num_samples)


def test_figure_overlays_methods_and_truth(comparison):
    (ax,) = comparison.figure.axes
    truth_lines = [line for line in ax.lines if line.get_label() == "truth"]
    assert len(truth_lines) == 1
    np.testing.assert_allclose(truth_lines[0].get_xdata(), [TOY.mi, TOY.mi])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [lab.split(":")[0] for lab in labels[:-1]] == list(METHODS) and labels[-1] == "truth"
    assert ax.get_xlabel() == "I(X;Y) [nats]"


def test_table_in_bits_and_without_truth(comparison):
    bits = {m: r.to("bits") for m, r in comparison.results.items()}
    table = comparison_table(bits, {m: 1.0 for m in bits})
    assert (table["units"] == "bits").all()
    assert table["truth"].to_numpy() == pytest.approx(TOY.mi / math.log(2))
    blind = {m: r.to("nats") for m, r in comparison.results.items()}
    for r in blind.values():
        r.truth = None
    assert "covers_truth" not in comparison_table(blind, {m: 1.0 for m in blind}).columns


def test_arguments_pass_through_and_plot_off(monkeypatch, comparison):
    seen = []

    def fake(x, y, *, method, **kwargs):
        seen.append((method, kwargs))
        return comparison.results["gibbs"]

    monkeypatch.setattr(compare_module, "estimate_mi", fake)
    out = bayesmi.compare([0.0], [0.0], methods=("bootstrap", "gibbs"), seed=7, plot=False,
                          num_bootstrap=20, progress=False)
    assert out.figure is None and list(out.table["method"]) == ["bootstrap", "gibbs"]
    assert [m for m, _ in seen] == ["bootstrap", "gibbs"]
    assert all(k == {"truth": None, "seed": 7, "options": None, "progress": False, "num_bootstrap": 20}
               for _, k in seen)


@pytest.mark.parametrize("methods", [(), ("gibbs", "gibbs")])
def test_bad_methods(methods):
    with pytest.raises(ValueError, match="methods"):
        bayesmi.compare([0.0], [0.0], methods=methods)
