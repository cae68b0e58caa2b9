"""Neuron importance by information-ordered ablation (bayesmi.interpret.ablation)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from bayesmi.data import load_digits
from bayesmi.interpret import ablation as ab
from bayesmi.nets import MLP, accuracy, predict, train_classifier


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def digits():
    """Digits: train (50 %), fit (half of the rest) and test (the other half)."""
    s = load_digits(test_fraction=0.5, seed=0)
    half = len(s.x_test) // 2
    return s.x_train, s.y_train, s.x_test[:half], s.y_test[:half], s.x_test[half:], s.y_test[half:]


@pytest.fixture(scope="module")
def mlp(digits):
    """64-24-16-10 MLP trained for a few epochs (≈ 90 % test accuracy)."""
    x_train, y_train = digits[:2]
    model = MLP(64, [24, 16], 10, jax.random.key(0))
    model, _ = train_classifier(model, x_train, y_train, epochs=25, batch_size=64, learning_rate=3e-3,
                                progress=False)
    return model


@pytest.fixture(scope="module")
def means(mlp, digits):
    return ab.activation_means(mlp, digits[2])


def _set_row(model, layer, j, bias):
    """The network with neuron j of hidden layer ``layer`` made constant (= relu(bias)) on every input."""
    w = model.layers[layer].weight.at[j].set(0.0)
    b = model.layers[layer].bias.at[j].set(bias)
    return eqx.tree_at(lambda m: (m.layers[layer].weight, m.layers[layer].bias), model, (w, b))


# --------------------------------------------------------------------------- quantisation


def test_quantize_binary_threshold_zero_and_custom():
    a = np.array([[0.0, 0.5], [1.2, 0.0], [-0.1, 3.0]])
    np.testing.assert_array_equal(ab.quantize(a), [[0, 1], [1, 0], [0, 1]])
    np.testing.assert_array_equal(ab.quantize(a, threshold=0.6), [[0, 0], [1, 0], [0, 1]])
    assert ab.quantize(a).dtype == np.int32


def test_quantize_quantile_edges_from_reference():
    ref = np.arange(1.0, 9.0)[:, None]  # 1..8: numpy's linear quantiles at 1/4, 1/2, 3/4 are 2.75, 4.5, 6.25
    np.testing.assert_allclose(ab.quantile_edges(ref, 4), [[2.75, 4.5, 6.25]])
    test = np.array([0.0, 2.75, 3.0, 4.5, 5.0, 7.0, 100.0])[:, None]
    np.testing.assert_array_equal(ab.quantize(test, 4, reference=ref)[:, 0], [0, 0, 1, 1, 2, 3, 3])
    # without a reference the edges come from the data themselves: equal frequency
    codes = ab.quantize(np.arange(12.0)[:, None], 3)[:, 0]
    np.testing.assert_array_equal(np.bincount(codes), [4, 4, 4])


def test_quantize_explicit_thresholds_per_unit():
    a = np.array([[0.5, 0.5], [1.5, 1.5], [2.5, 2.5]])
    codes = ab.quantize(a, thresholds=[[1.0, 2.0], [0.0, 3.0]])
    np.testing.assert_array_equal(codes, [[0, 1], [1, 1], [2, 1]])


@pytest.mark.parametrize("kwargs, match", [
    ({"bins": 1}, "bins must be"),
    ({"bins": 3, "threshold": 0.5}, "threshold applies to bins=2"),
    ({"thresholds": [0.0, 1.0], "bins": 2}, "does not match"),
    ({"thresholds": [1.0, 0.0]}, "non-decreasing"),
    ({"thresholds": [[0.0]] * 3}, "thresholds must have shape"),
])
def test_quantize_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ab.quantize(np.zeros((4, 2)), **kwargs)


def test_quantize_rejects_nan_and_1d():
    with pytest.raises(ValueError, match="NaN"):
        ab.quantize(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="2-D"):
        ab.quantize(np.zeros(5))


# --------------------------------------------------------------------------- measures against plug-in values


def _plugin(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Hand plug-in entropy, MI and KL selectivity (nats) of a binary unit t and labels y."""
    classes = np.unique(y)
    p = np.array([[np.mean((t == a) & (y == c)) for c in classes] for a in (0, 1)])
    pt, py = p.sum(1), p.sum(0)
    h = -sum(q * np.log(q) for q in pt if q > 0)
    kl = []
    for c in range(len(classes)):
        cond = p[:, c] / py[c]
        kl.append(sum(q * np.log(q / pt[a]) for a, q in enumerate(cond) if q > 0))
    return h, float(np.dot(py, kl)), max(kl)


def test_neuron_information_matches_plugin_values_for_large_n():
    # identity first layer: hidden layer 0 reproduces the (non-negative) inputs; its binary codes are x > 0.
    # Shapes (24 + 16 units, 10 classes, 200 draws) as in the driver tests: one compilation for both.
    rng = np.random.default_rng(0)
    n = 6000
    y = np.repeat(np.arange(10), n // 10).astype(np.int32)
    x = (rng.random((n, 24)) < 0.3).astype(np.float32)
    x[:, 0] = rng.permutation(np.tile([0, 1], n // 2))  # balanced, unrelated to y: H = log 2, MI ≈ 0
    x[:, 1] = (y == 1)                                  # fires exactly for class 1
    x[:, 2] = rng.random(n) < np.linspace(0.05, 0.95, 10)[y]  # graded class dependence
    x[:, 3] = 0                                         # never fires: H = MI = selectivity = 0
    model = MLP(24, [24, 16], 10, jax.random.key(1))
    model = eqx.tree_at(lambda m: (m.layers[0].weight, m.layers[0].bias), model, (jnp.eye(24), jnp.zeros(24)))
    info = ab.neuron_information(model, x, y, num_draws=200)
    got = info[info["layer"] == 0].pivot(index="neuron", columns="measure", values="mean")
    for j in range(6):
        h, mi, kl = _plugin((x[:, j] > 0).astype(int), y)
        # posterior mean − plug-in = O(cells / N) ≈ 1e-3 here; 0.01 nats leaves room for the draws' noise
        assert got.loc[j, "entropy"] == pytest.approx(h, abs=0.01)
        assert got.loc[j, "mi"] == pytest.approx(mi, abs=0.01)
        assert got.loc[j, "kl_selectivity"] == pytest.approx(kl, abs=0.03)
    # closed forms of the exact units: unit 1 is the indicator of a class of prior 1/10
    h10 = -(0.1 * np.log(0.1) + 0.9 * np.log(0.9))
    assert got.loc[1, "entropy"] == pytest.approx(h10, abs=0.01)
    assert got.loc[1, "mi"] == pytest.approx(h10, abs=0.01)  # deterministic: I(T;Y) = H(T)
    # D(δ_1 ‖ P(T)) = −log P(T = 1) = log 10
    assert got.loc[1, "kl_selectivity"] == pytest.approx(np.log(10), abs=0.03)
    assert got.loc[0, "entropy"] == pytest.approx(np.log(2), abs=0.01)
    assert got.loc[3].max() < 0.01
    assert set(info.columns) >= {"layer", "neuron", "measure", "mean", "sd", "eti_0.95_lo", "eti_0.95_hi"}
    assert (info["eti_0.95_lo"] <= info["mean"]).all() and (info["mean"] <= info["eti_0.95_hi"]).all()
    assert info.loc[(info["layer"] == 0) & (info["neuron"] == 3), "active_fraction"].eq(0).all()


# --------------------------------------------------------------------------- ablation


def test_ablate_nothing_is_identity(mlp, means, digits):
    same = ab.ablate(mlp, 0, [], means[0])
    for a, b in zip(jax.tree.leaves(mlp), jax.tree.leaves(same)):
        np.testing.assert_array_equal(a, b)
    x, y = digits[4:]
    assert accuracy(same, x, y) == accuracy(mlp, x, y)
    curve = ab.cumulative_ablation(mlp, x, y, np.arange(5), means, layer=1)
    assert curve[0] == pytest.approx(accuracy(mlp, x, y), abs=1e-7)


@pytest.mark.parametrize("layer", [0, 1])
def test_removing_a_constant_neuron_changes_nothing(mlp, digits, layer):
    x = digits[4]
    model = _set_row(mlp, layer, 3, 0.7)  # neuron 3 outputs relu(0.7) = 0.7 on every input
    mu = ab.activation_means(model, digits[2])[layer]
    assert mu[3] == pytest.approx(0.7)
    removed = ab.ablate(model, layer, [3], mu)
    np.testing.assert_allclose(predict(removed, x), predict(model, x), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(removed.layers[layer + 1].weight[:, 3]), 0.0)


def test_removing_a_whole_layer_gives_constant_predictions(mlp, means, digits):
    x, y = digits[4:]
    for layer, n in enumerate([24, 16]):
        logits = predict(ab.ablate(mlp, layer, np.arange(n), means[layer]), x)
        np.testing.assert_allclose(logits, np.broadcast_to(logits[0], logits.shape), atol=1e-5)
        curve = ab.cumulative_ablation(mlp, x, y, np.arange(n)[::-1], means, layer=layer)
        assert curve[-1] == pytest.approx(np.mean(y == logits[0].argmax()), abs=1e-7)


def test_cumulative_ablation_equals_rebuilt_networks(mlp, means, digits):
    x, y = digits[4:]
    order = np.random.default_rng(3).permutation(24)
    curve = ab.cumulative_ablation(mlp, x, y, order, means, layer=0)
    for k in (0, 1, 7, 15, 24):
        assert curve[k] == pytest.approx(accuracy(ab.ablate(mlp, 0, order[:k], means[0]), x, y), abs=1e-7)
    pairs = np.array([(l, j) for l, n in enumerate([24, 16]) for j in range(n)])
    pairs = pairs[np.random.default_rng(4).permutation(len(pairs))]
    both = ab.cumulative_ablation(mlp, x, y, np.stack([pairs, pairs[::-1]]), means)
    assert both.shape == (2, 41)
    for k in (5, 20, 33):
        model = mlp
        for l in range(2):
            model = ab.ablate(model, l, pairs[:k][pairs[:k, 0] == l, 1], means[l])
        assert both[0, k] == pytest.approx(accuracy(model, x, y), abs=1e-7)


def test_single_neuron_importance_matches_rebuilt_networks(mlp, means, digits):
    x, y = digits[4:]
    single = ab.single_neuron_importance(mlp, x, y, means)
    assert len(single) == 40 and list(single["layer"].unique()) == [0, 1]
    intact = accuracy(mlp, x, y)
    for layer, j in [(0, 0), (0, 11), (1, 5)]:
        row = single[(single["layer"] == layer) & (single["neuron"] == j)].iloc[0]
        rebuilt = ab.ablate(mlp, layer, [j], means[layer])
        assert row["accuracy"] == pytest.approx(accuracy(rebuilt, x, y), abs=1e-7)
        assert row["accuracy_drop"] == pytest.approx(intact - row["accuracy"], abs=1e-7)


@pytest.mark.parametrize("layer, neurons, mu, exc, match", [
    (2, [0], None, ValueError, r"hidden-layer index in \[0, 2\)"),
    (-1, [0], None, ValueError, "hidden-layer index"),
    (0.5, [0], None, TypeError, "layer must be an integer"),
    (0, [24], None, ValueError, "neuron index 24 out of range"),
    (0, [-1], None, ValueError, "out of range"),
    (0, [1, 1], None, ValueError, "more than once"),
    (0, [0.5], None, TypeError, "integer indices"),
    (0, [0], np.zeros(16), ValueError, r"shape \(24,\)"),
])
def test_ablate_bad_input(mlp, means, layer, neurons, mu, exc, match):
    with pytest.raises(exc, match=match):
        ab.ablate(mlp, layer, neurons, means[0] if mu is None else mu)


def test_cumulative_ablation_bad_input(mlp, means, digits):
    x, y = digits[4:]
    with pytest.raises(ValueError, match=r"y must have shape"):
        ab.cumulative_ablation(mlp, x, y[:-1], [0, 1], means, layer=0)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 64\)"):
        ab.cumulative_ablation(mlp, x[:, :10], y, [0, 1], means, layer=0)
    with pytest.raises(ValueError, match="one per hidden layer"):
        ab.cumulative_ablation(mlp, x, y, [0, 1], means[0], layer=0)
    with pytest.raises(ValueError, match="pairs"):
        ab.cumulative_ablation(mlp, x, y, [0, 1], means)
    with pytest.raises(ValueError, match=r"\(1, 3\) is listed more than once"):
        ab.cumulative_ablation(mlp, x, y, [[1, 3], [0, 3], [1, 3]], means)
    with pytest.raises(ValueError, match="hidden layer 1 has 16 neurons"):
        ab.cumulative_ablation(mlp, x, y, [[1, 16]], means)
    with pytest.raises(ValueError, match="labels must lie"):
        ab.single_neuron_importance(mlp, x, y + 10, means)


# --------------------------------------------------------------------------- driver


def test_random_orders_reproducible():
    a, b, c = ab.random_orders(10, 3, 7), ab.random_orders(10, 3, 7), ab.random_orders(10, 3, 8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert all(sorted(row) == list(range(10)) for row in a)


def _importance(mlp, digits, seed=5, **kwargs):
    """Driver on the digits fit/test sets with small settings."""
    return ab.neuron_importance(mlp, *digits[2:], num_random=4, num_draws=200, num_bootstrap=200, seed=seed,
                                progress=False, **kwargs)


@pytest.fixture(scope="module")
def result(mlp, digits):
    return _importance(mlp, digits)


def test_neuron_importance_tables(result, mlp, digits):
    curves = result.curves
    assert list(curves.columns[:6]) == ["scope", "layer", "measure", "order", "repeat", "n_removed"]
    # per layer: (3 measures × 2 directions + 4 random) curves of n + 1 points; network: the same of 41
    assert len(curves) == 10 * (25 + 17 + 41)
    assert (curves.groupby(["scope", "layer", "measure", "order", "repeat"])["n_removed"].max()
            .to_numpy() == np.repeat([24, 16, 40], 10)).all()
    assert np.allclose(curves.loc[curves["n_removed"] == 0, "accuracy"], result.accuracy)
    assert result.accuracy == pytest.approx(accuracy(mlp, *digits[4:]))
    assert len(result.measures) == 40 * 3
    corr = result.correlations
    assert set(corr["layer"]) == {0, 1, "all"} and len(corr) == 3 * 3 * 2
    assert ((corr["rho"].abs() <= 1) | corr["rho"].isna()).all()
    summary = result.summary()
    assert len(summary) == 3 * 6 and summary["random_quantile"].between(0, 1).all()
    band = result.random_band()
    assert (band["lo"] <= band["mean"] + 1e-12).all() and (band["mean"] <= band["hi"] + 1e-12).all()
    assert "NeuronImportance" in repr(result)


def test_neuron_importance_orders_follow_measures(result, mlp, means, digits):
    x_test, y_test = digits[4:]
    m = result.measures
    mi = m[(m["layer"] == 1) & (m["measure"] == "mi")].sort_values("neuron")["mean"].to_numpy()
    expected = ab.cumulative_ablation(mlp, x_test, y_test, np.argsort(-mi, kind="stable"), means, layer=1)
    c = result.curves
    got = c[(c["scope"] == "layer") & (c["layer"] == 1) & (c["measure"] == "mi")
            & (c["order"] == "descending")]
    np.testing.assert_allclose(got["accuracy"], expected, atol=1e-7)


def test_neuron_importance_seed_reproducible(result, mlp, digits):
    again = _importance(mlp, digits, seed=5, scope="layer", measures=("mi",))
    other = _importance(mlp, digits, seed=6, scope="layer", measures=("mi",))

    def rand(r):
        return r.curves[(r.curves["measure"] == "random") & (r.curves["scope"] == "layer")]

    pd.testing.assert_frame_equal(rand(again).reset_index(drop=True), rand(result).reset_index(drop=True))
    assert not np.array_equal(rand(other)["accuracy"], rand(result)["accuracy"])


@pytest.mark.parametrize("kwargs, match", [
    ({"measures": ("mi", "variance")}, "measures must be"),
    ({"scope": "everything"}, "scope must be"),
    ({"num_random": -1}, "num_random"),
])
def test_neuron_importance_bad_input(mlp, digits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ab.neuron_importance(mlp, *digits[2:], progress=False, **kwargs)
    with pytest.raises(ValueError, match="x_test"):
        ab.neuron_importance(mlp, digits[2], digits[3], digits[4][:, :5], digits[5], progress=False)


def test_plots(result):
    import matplotlib.pyplot as plt

    fig = result.plot()
    assert len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["hidden layer 0", "hidden layer 1", "network-wide"]
    fig2 = result.plot_scatter()
    assert len(fig2.axes) == 2 * 3
    plt.close("all")
