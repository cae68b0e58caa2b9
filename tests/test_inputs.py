"""Tests for bayesmi.inputs: validation and preparation of joint samples."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bayesmi.inputs import Standardizer, TiesWarning, as_2d, prepare_xy

N = 50


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def xy(rng):
    return rng.normal(size=N), rng.normal(size=(N, 3))


# --------------------------------------------------------------------------- shapes


def test_shapes_1d_and_2d(xy):
    x, y = xy
    x2, y2, info = prepare_xy(x, y)
    assert x2.shape == (N, 1) and y2.shape == (N, 3)
    assert x2.dtype == np.float64 and y2.dtype == np.float64
    assert info["n"] == N and info["dim_x"] == 1 and info["dim_y"] == 3
    assert isinstance(info["standardizer_x"], Standardizer)
    assert isinstance(info["standardizer_y"], Standardizer)
    assert info["jittered_columns"] == []


def test_as_2d_shapes_and_lists():
    assert as_2d([1, 2, 3], "x").shape == (3, 1)
    a = as_2d([[1, 2], [3, 4], [5, 6]], "x")
    assert a.shape == (3, 2) and a.dtype == np.float64
    assert as_2d(np.arange(4, dtype=np.int32), "x").dtype == np.float64
    assert as_2d(np.arange(4, dtype=np.float32), "x").dtype == np.float64


def test_integer_and_list_input(rng):
    x = list(rng.normal(size=30))
    y = rng.normal(size=(30, 2)).tolist()
    x2, y2, _ = prepare_xy(x, y)
    assert x2.shape == (30, 1) and y2.shape == (30, 2)


def test_pandas_input(rng):
    pd = pytest.importorskip("pandas")
    xs = pd.Series(rng.normal(size=N), name="a", index=np.arange(N) + 100)
    ydf = pd.DataFrame(rng.normal(size=(N, 2)), columns=["b", "c"], index=np.arange(N) + 100)
    x2, y2, info = prepare_xy(xs, ydf)
    assert x2.shape == (N, 1) and y2.shape == (N, 2)
    np.testing.assert_allclose(x2[:, 0], info["standardizer_x"].transform(xs.to_numpy()[:, None])[:, 0])
    # paired pandas objects whose indexes differ are refused rather than paired silently by position
    with pytest.raises(ValueError, match="indexes differ"):
        prepare_xy(xs, ydf.reset_index(drop=True))
    # nullable dtype with a missing value is reported as NaN
    s = pd.Series([1.0] * 10 + [None] + [2.0] * 10, dtype="Float64")
    with pytest.raises(ValueError, match=r"x contains 1 NaN value.*row 10"):
        as_2d(s, "x")
    with pytest.raises(TypeError, match="non-numeric"):
        as_2d(pd.DataFrame({"a": [1, 2], "b": ["u", "v"]}), "y")


# --------------------------------------------------------------------------- standardisation


def test_standardised_mean0_sd1(rng):
    x = 5.0 + 3.0 * rng.normal(size=(N, 2))
    y = -1e6 + 1e4 * rng.standard_t(3, size=N)
    x2, y2, info = prepare_xy(x, y)
    for a in (x2, y2):
        np.testing.assert_allclose(a.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(a.std(axis=0), 1.0, rtol=1e-12)
    sx = info["standardizer_x"]
    np.testing.assert_allclose(sx.mean, x.mean(axis=0))
    np.testing.assert_allclose(sx.scale, x.std(axis=0))
    np.testing.assert_allclose(sx.transform(x), x2)
    np.testing.assert_allclose(sx.inverse_transform(x2), x)


def test_standardizer_is_frozen():
    s = Standardizer(mean=np.zeros(2), scale=np.ones(2))
    with pytest.raises(Exception):
        s.mean = np.ones(2)  # type: ignore[misc]
    with pytest.raises(ValueError):
        s.mean[0] = 1.0
    with pytest.raises(ValueError, match="2 columns"):
        s.transform(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="scale"):
        Standardizer(mean=np.zeros(1), scale=np.zeros(1))


def test_extreme_magnitudes_standardise(rng):
    x = 1e300 * rng.normal(size=N)
    y = 1e-300 * rng.normal(size=N)
    x2, y2, _ = prepare_xy(x, y)
    assert np.all(np.isfinite(x2)) and np.all(np.isfinite(y2))
    np.testing.assert_allclose(x2.std(), 1.0, rtol=1e-9)
    np.testing.assert_allclose(y2.std(), 1.0, rtol=1e-9)


# --------------------------------------------------------------------------- not mutated


def test_inputs_not_mutated(rng):
    x = np.round(rng.normal(size=(200, 2)), 1)  # tied -> jitter path
    y = rng.normal(size=200)
    x0, y0 = x.copy(), y.copy()
    with pytest.warns(TiesWarning):
        x2, y2, _ = prepare_xy(x, y)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)
    assert not np.shares_memory(x2, x) and not np.shares_memory(y2, y)
    xl = x.tolist()
    with pytest.warns(TiesWarning):
        prepare_xy(xl, y)
    assert xl == x0.tolist()


# --------------------------------------------------------------------------- type errors


@pytest.mark.parametrize(
    "bad, phrase",
    [
        (None, "x is None"),
        (np.array(["a", "b", "c"] * 10), "non-numeric"),
        (["1.0", "2.0"] * 15, "non-numeric"),
        (np.array([1.0, "a"] * 15, dtype=object), "non-numeric"),
        (np.array([object()] * 30), "non-numeric"),
        (np.ones(30, dtype=bool), "boolean.*[Cc]ast explicitly"),
        (np.array([1.0, True] * 15, dtype=object), "boolean.*[Cc]ast explicitly"),
        (np.ones(30, dtype=complex), "complex"),
        (np.array([1.0, 2j] * 15, dtype=object), "complex"),
        (np.arange(30).astype("datetime64[D]"), "datetime"),
    ],
)
def test_type_errors(bad, phrase, rng):
    with pytest.raises(TypeError, match=phrase):
        prepare_xy(bad, rng.normal(size=30))


def test_type_error_names_y(rng):
    with pytest.raises(TypeError, match="^y has boolean"):
        prepare_xy(rng.normal(size=30), np.zeros(30, dtype=bool))
    with pytest.raises(TypeError, match="y is None"):
        prepare_xy(rng.normal(size=30), None)


def test_numeric_object_array_accepted(rng):
    x = np.array(list(rng.normal(size=30)), dtype=object)
    x2, _, _ = prepare_xy(x, rng.normal(size=30))
    assert x2.dtype == np.float64 and x2.shape == (30, 1)


# --------------------------------------------------------------------------- value errors


def test_ndim_errors(rng):
    with pytest.raises(ValueError, match=r"x must be 1-D .* scalar"):
        prepare_xy(3.0, rng.normal(size=30))
    with pytest.raises(ValueError, match=r"y must be 1-D .* 3-D"):
        prepare_xy(rng.normal(size=30), rng.normal(size=(30, 2, 2)))


def test_ragged(rng):
    with pytest.raises(ValueError, match="x could not be converted to a rectangular"):
        as_2d([[1.0, 2.0], [3.0]], "x")


def test_zero_columns(rng):
    with pytest.raises(ValueError, match="y has zero columns"):
        prepare_xy(rng.normal(size=30), np.empty((30, 0)))


def test_nan_reports_count_and_first_row(rng):
    x = rng.normal(size=(40, 2))
    x[[7, 20, 33], [1, 0, 1]] = np.nan
    with pytest.raises(ValueError, match=r"x contains 3 NaN value\(s\) \(first at row 7, column 1\)"):
        prepare_xy(x, rng.normal(size=40))
    y = list(rng.normal(size=40))
    y[5] = None
    with pytest.raises(ValueError, match=r"y contains 1 NaN.*row 5"):
        prepare_xy(rng.normal(size=40), y)


@pytest.mark.parametrize("val", [np.inf, -np.inf])
def test_inf(val, rng):
    y = rng.normal(size=40)
    y[11] = val
    with pytest.raises(ValueError, match=r"y contains 1 infinite value\(s\) \(first at row 11"):
        prepare_xy(rng.normal(size=40), y)


def test_mismatched_lengths(rng):
    with pytest.raises(ValueError, match="x has 30 rows, y has 31"):
        prepare_xy(rng.normal(size=30), rng.normal(size=(31, 2)))


def test_too_few_samples(rng):
    with pytest.raises(ValueError, match=r"only 15 rows .* min_samples=20.*~20 samples"):
        prepare_xy(rng.normal(size=15), rng.normal(size=15))
    x2, _, _ = prepare_xy(rng.normal(size=15), rng.normal(size=15), min_samples=10)
    assert x2.shape == (15, 1)
    with pytest.raises(ValueError, match="min_samples must be an integer >= 1"):
        prepare_xy(rng.normal(size=30), rng.normal(size=30), min_samples=0)


def test_constant_column(rng):
    y = rng.normal(size=(30, 3))
    y[:, 2] = 4.2
    with pytest.raises(ValueError, match="y column 2 is constant"):
        prepare_xy(rng.normal(size=30), y)
    with pytest.raises(ValueError, match="x column 0 is constant"):
        prepare_xy(np.zeros(30), rng.normal(size=30))


@pytest.mark.filterwarnings("ignore::bayesmi.inputs.TiesWarning")
def test_unstandardisable_raises():
    x = np.array([5e-324, 0.0] * 15)  # sd underflows to 0 in float64
    with pytest.raises(ValueError, match="x cannot be standardised"):
        prepare_xy(x, np.arange(30.0))


# --------------------------------------------------------------------------- ties


def test_rounded_data_warns_and_jitters():
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=2000), 1)
    y = rng.normal(size=(2000, 2))
    y[:, 1] = np.round(y[:, 1], 1)
    with pytest.warns(TiesWarning) as rec:
        x2, y2, info = prepare_xy(x, y)
    msgs = [str(w.message) for w in rec]
    assert len(msgs) == 2
    assert msgs[0].startswith("x has heavily tied") and "[0]" in msgs[0]
    assert msgs[1].startswith("y has heavily tied") and "[1]" in msgs[1]
    assert all("jitter_ties=False" in m for m in msgs)
    assert info["jittered_columns"] == ["x[0]", "y[1]"]
    # jittered column now has (almost surely) all distinct values, within h/2 of the originals
    assert np.unique(x2).size == 2000
    xj = info["standardizer_x"].inverse_transform(x2)[:, 0]
    assert np.max(np.abs(xj - x)) <= 0.05 + 1e-12
    assert np.array_equal(np.round(xj, 1), x) or np.mean(np.round(xj, 1) == x) > 0.99
    # untouched column is just standardised
    np.testing.assert_allclose(y2[:, 0], (y[:, 0] - y[:, 0].mean()) / y[:, 0].std())


def test_discrete_values_recoverable_after_jitter(rng):
    x = rng.integers(0, 5, size=300).astype(float) * 2.0  # values 0, 2, ..., 8
    with pytest.warns(TiesWarning, match="h=2"):
        x2, _, info = prepare_xy(x, rng.normal(size=300))
    xj = info["standardizer_x"].inverse_transform(x2)[:, 0]
    np.testing.assert_array_equal(np.round(xj / 2.0) * 2.0, x)


def test_single_spike_triggers_mode_rule(rng):
    x = rng.normal(size=400)
    x[:40] = 0.0  # 10% of rows share one value, but 361 distinct values
    with pytest.warns(TiesWarning, match=r"most common value in 40 rows \(10.0%\)"):
        prepare_xy(x, rng.normal(size=400))


def test_jitter_reproducible_with_seed():
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=500), 1)
    y = rng.integers(0, 10, size=(500, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TiesWarning)
        a = prepare_xy(x, y, seed=7)
        b = prepare_xy(x, y, seed=7)
        c = prepare_xy(x, y, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_ties_error_when_jitter_disabled():
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    y = np.round(rng.normal(size=2000), 1)
    with pytest.raises(ValueError, match=r"y has heavily tied .*column\(s\) \[0\].*jitter_ties=True"):
        prepare_xy(x, y, jitter_ties=False)


@pytest.mark.parametrize("n", [20, 200, 5000])
def test_no_warning_on_continuous_data(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 2))
    y = rng.exponential(size=n).astype(np.float32)  # float32 continuous data too
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, _, info = prepare_xy(x, y)
    assert info["jittered_columns"] == []


# --------------------------------------------------------------------------- property


finite = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False, allow_infinity=False,
                   allow_subnormal=False)


@st.composite
def xy_arrays(draw):
    n = draw(st.integers(20, 60))
    dx = draw(st.integers(1, 3))
    dy = draw(st.integers(1, 3))
    x = draw(arrays(np.float64, (n, dx), elements=finite))
    y = draw(arrays(np.float64, (n, dy), elements=finite))
    flat_x = draw(st.booleans())
    if flat_x and dx == 1:
        x = x[:, 0]
    return x, y


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(xy_arrays(), st.integers(0, 2**32 - 1))
def test_property_finite_output(data, seed):
    x, y = data
    x2d = x.reshape(len(x), -1)
    assume(np.all(np.ptp(x2d, axis=0) > 0) and np.all(np.ptp(y, axis=0) > 0))
    x0, y0 = x.copy(), y.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TiesWarning)
        try:
            x2, y2, info = prepare_xy(x, y, seed=seed)
        except ValueError as err:  # e.g. one extreme value in the same row of x and y: collinear columns
            assert "linearly dependent" in str(err) or "deterministic linear functions" in str(err)
            return
    assert x2.shape == x2d.shape and y2.shape == y.shape
    assert np.all(np.isfinite(x2)) and np.all(np.isfinite(y2))
    assert info["n"] == len(x)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


def test_normality_p_values_equal_scipys_normaltest() -> None:
    from scipy import stats

    from bayesmi.inputs import normality_p_values

    rng = np.random.default_rng(0)
    for n in (20, 300, 5000):
        a = np.column_stack([rng.normal(size=n), rng.standard_cauchy(n), rng.uniform(size=n), rng.exponential(size=n)])
        np.testing.assert_allclose(normality_p_values(a), stats.normaltest(a, axis=0).pvalue, rtol=1e-9, atol=1e-15)
