"""Compressed representations: autoencoders, image pairs with known MI, MI through compressors."""

import warnings

import jax
import numpy as np
import pytest

from bayesmi.data import bump_images, latent_image_pairs, rectangle_images
from bayesmi.data.latent_images import LATENT_DIMS, correlated_latents
from bayesmi.interpret import compress, estimate_mi_compressed, fit_compressor
from bayesmi.interpret.compression import LOST_VARIANCE_WARNING, CompressionWarning
from bayesmi.nets import (
    Autoencoder,
    ConvAutoencoder,
    codes,
    reconstructions,
    train_autoencoder,
)

FAST = {"epochs": 2, "batch_size": 32, "progress": False}


# ----------------------------------------------------------------------------- image pairs with known MI

@pytest.mark.parametrize("dim, mi", [(2, 0.0), (2, 1.5), (4, 6.0)])
def test_correlated_latents_have_the_stated_mi(dim, mi):
    n = 20000
    a, b = correlated_latents(n, dim, mi, seed=3)
    rho = np.array([np.corrcoef(a[:, j], b[:, j])[0, 1] for j in range(dim)])
    estimate = -0.5 * np.sum(np.log1p(-rho**2))
    # The Gaussian MI of a pair with correlation ρ estimated from n rows has sd ≈ |ρ| / √n
    # (delta method on atanh r); near independence it is of order 1 / n instead.
    true_rho = np.sqrt(-np.expm1(-2 * mi / dim))
    tolerance = 4 * np.sqrt(dim) * max(true_rho, 1 / np.sqrt(n)) / np.sqrt(n) + dim / n
    assert abs(estimate - mi) < tolerance
    # only the pairs (a_j, b_j) are dependent
    cross = np.corrcoef(a.T, b.T)[:dim, dim:]
    assert np.all(np.abs(cross - np.diag(np.diag(cross))) < 4 / np.sqrt(n))


def _bump_centre_columns(images: np.ndarray) -> np.ndarray:
    """Centre column of each bump image, exactly, from the log-ratio of neighbouring column sums:
    log p(c + 1) − log p(c) = −(2 (c − centre) + 1) / (2 σ²) for a Gaussian profile p."""
    size = images.shape[1]
    sigma = size / 8
    profile = images.astype(np.float64).sum(axis=1)
    c = np.clip(profile.argmax(axis=1), 0, size - 2)
    rows = np.arange(len(images))
    return c + 0.5 + sigma**2 * (np.log(profile[rows, c + 1]) - np.log(profile[rows, c]))


def test_bump_rendering_is_injective_the_centre_is_read_back_from_the_pixels():
    u = np.random.default_rng(0).uniform(size=(200, 2))
    images = bump_images(u, size=16)
    assert images.shape == (200, 16, 16) and images.dtype == np.float32
    sigma = 2.0
    columns = sigma + (16 - 1 - 2 * sigma) * u[:, 0]
    np.testing.assert_allclose(_bump_centre_columns(images), columns, atol=2e-4)
    # rows: the same on the transposed images
    rows = sigma + (16 - 1 - 2 * sigma) * u[:, 1]
    np.testing.assert_allclose(_bump_centre_columns(images.transpose(0, 2, 1)), rows, atol=2e-4)


def test_rectangle_rendering_is_injective_the_edges_are_read_back_from_the_pixels():
    size = 32
    u = np.random.default_rng(1).uniform(size=(200, 4))
    images = rectangle_images(u, size=size).astype(np.float64)
    for axis, (centre_col, half_col) in enumerate(((0, 2), (1, 3))):
        profile = images.max(axis=1 if axis == 0 else 2)  # coverage of each column (axis 0) or row
        first = (profile > 0).argmax(axis=1)
        last = size - 1 - (profile[:, ::-1] > 0).argmax(axis=1)
        rows = np.arange(len(u))
        low = first + 1 - profile[rows, first]
        high = last + profile[rows, last]
        np.testing.assert_allclose((low + high) / 2, size * (0.3 + 0.4 * u[:, centre_col]), atol=1e-4)
        np.testing.assert_allclose((high - low) / 2, size * (0.1 + 0.15 * u[:, half_col]), atol=1e-4)


def test_latent_image_pairs_render_the_normal_cdf_of_their_latents():
    pairs = latent_image_pairs("rectangles", 2.0, 50, seed=4)
    assert pairs.x.shape == pairs.y.shape == (50, 32, 32) and pairs.mi == 2.0
    assert pairs.latents_x.shape == (50, LATENT_DIMS["rectangles"])
    from scipy.special import ndtr

    np.testing.assert_array_equal(pairs.x, rectangle_images(ndtr(pairs.latents_x)))
    again = latent_image_pairs("rectangles", 2.0, 50, seed=4)
    np.testing.assert_array_equal(again.y, pairs.y)


def test_latent_images_refuse_bad_arguments():
    with pytest.raises(ValueError, match="kind must be one of"):
        latent_image_pairs("circles", 1.0, 10)
    with pytest.raises(ValueError, match="mi ≥ 0"):
        latent_image_pairs("bumps", -1.0, 10)
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        rectangle_images(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        bump_images(np.full((3, 2), 1.5))


# ----------------------------------------------------------------------------- autoencoders

@pytest.mark.parametrize("make", [lambda k: Autoencoder((6, 6), 3, (16,), key=k),
                                  lambda k: ConvAutoencoder((6, 6), 3, (4,), key=k),
                                  lambda k: ConvAutoencoder((8, 8), 3, (4, 4), key=k)])
def test_autoencoders_map_examples_to_codes_and_back(make):
    model = make(jax.random.key(0))
    x = np.random.default_rng(0).normal(size=(40, *model.in_shape)).astype(np.float32)
    assert codes(model, x).shape == (40, 3)
    assert reconstructions(model, x).shape == x.shape
    _, history = train_autoencoder(model, x, **FAST)
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all()


def test_autoencoder_training_learns_a_linear_subspace_and_is_reproducible():
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(600, 2)) @ rng.normal(size=(2, 10))).astype(np.float32)
    x /= x.std()
    model = Autoencoder(10, 2, (32,), key=jax.random.key(1))
    trained, history = train_autoencoder(model, x, epochs=30, learning_rate=3e-3, seed=5, progress=False)
    assert history["loss"][-1] < 0.05 * history["loss"][0]
    again, _ = train_autoencoder(model, x, epochs=30, learning_rate=3e-3, seed=5, progress=False)
    np.testing.assert_array_equal(codes(trained, x), codes(again, x))


def test_autoencoders_refuse_bad_input():
    model = Autoencoder(5, 2, (8,), key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"shape \(N, 5\)"):
        codes(model, np.zeros((4, 6)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        train_autoencoder(model, np.full((4, 5), np.nan), **FAST)
    with pytest.raises(ValueError, match="pixels per side"):
        ConvAutoencoder((4, 4), 2, (4, 4, 4), key=jax.random.key(0))


# ----------------------------------------------------------------------------- compressors

def _linear_manifold(n: int, mi: float, features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x, y (n, features): correlated 2-D Gaussian latents (MI = mi nats) embedded linearly."""
    a, b = correlated_latents(n, 2, mi, seed)
    rng = np.random.default_rng(seed + 1)
    return a @ rng.normal(size=(2, features)), b @ rng.normal(size=(2, features))


def test_pca_of_data_on_a_linear_subspace_loses_nothing_and_keeps_mi_within_the_interval():
    x, y = _linear_manifold(2000, 1.0, 20, seed=6)
    compression = compress(x, dim=2, method="pca", seed=0)
    assert compression.codes.shape == (2000, 2) and len(compression.fit_rows) == 1000
    assert compression.lost_variance < 1e-10
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompressionWarning)  # nothing lost, nothing to warn of
        result = estimate_mi_compressed(x, y, dim=2, method="pca", seed=0, progress=False)
    assert result.diagnostics["compression"]["x"]["lost_variance"] < 1e-10
    assert result.diagnostics["compression"]["y"]["fit_rows"] == 1000
    # estimated on the 1000 rows the compressors were not fitted to
    assert result.diagnostics["n"] == 1000
    assert abs(result.mean - 1.0) < 3 * result.sd


def test_a_lossy_code_gives_a_lower_bound_says_how_much_it_lost_and_warns():
    x, y = _linear_manifold(2000, 1.0, 20, seed=7)
    with pytest.warns(CompressionWarning, match="lower bound") as caught:
        result = estimate_mi_compressed(x, y, dim=1, method="pca", seed=0, progress=False)
    lost = result.diagnostics["compression"]["x"]["lost_variance"]
    assert LOST_VARIANCE_WARNING < lost < 0.99
    assert f"x miss {lost:.1%}" in str(next(w for w in caught if w.category is CompressionWarning).message)
    assert result.mean < 1.0 - 3 * result.sd  # one code of a 2-D latent cannot keep all of it


# trains a dense autoencoder on 1500 images (~55 s); the autoencoders' subspace tests stay in the default run, and
# the image study is examples/compressed_images.py
@pytest.mark.slow
def test_autoencoder_codes_of_bump_images_keep_their_mi():
    """The bumps lie on a curved 2-D manifold of 256 pixels: PCA to 2 codes folds it, a dense
    autoencoder unrolls it; the posterior of the codes' MI covers the latents' MI."""
    mi, n = 1.0, 1500
    data = latent_image_pairs("bumps", mi, n, seed=8)
    fit = latent_image_pairs("bumps", mi, n, seed=9)
    result = estimate_mi_compressed(data.x, data.y, dim=2, method="autoencoder", fit_on=(fit.x, fit.y), seed=0,
                                    progress=False, compressor_settings={"epochs": 40})
    assert all(side["lost_variance"] < 0.02 for side in result.diagnostics["compression"].values())
    assert abs(result.mean - mi) < 3 * result.sd


def test_class_labels_are_kept_and_images_compressed():
    from bayesmi.data import make_shapes

    shapes = make_shapes(1200, size=16, seed=0)
    labels = shapes.factors["shape"].to_numpy()
    with pytest.warns(CompressionWarning, match="x miss"):  # two PCA codes of 256 pixels lose most of them
        result = estimate_mi_compressed(shapes.images, labels, dim=2, method="pca", y_type="categorical", seed=0,
                                        progress=False)
    assert set(result.diagnostics["compression"]) == {"x"} and result.converged
    assert result.diagnostics["route"] == "categorical y"
    # I(codes; shape) ≤ H(shape) = log 3 for three balanced classes
    assert result.interval(0.95)[0] < np.log(3) and result.mean > 0


def test_compressors_refuse_bad_input():
    x = np.random.default_rng(0).normal(size=(50, 6))
    with pytest.raises(ValueError, match="NaN or infinite"):
        fit_compressor(np.where(x > 2, np.nan, x))
    with pytest.raises(ValueError, match="constant"):
        fit_compressor(np.ones((50, 6)))
    with pytest.raises(ValueError, match=r"dim must lie in \[1, 6\]"):
        fit_compressor(x, dim=7)
    with pytest.raises(ValueError, match="method must be one of"):
        fit_compressor(x, method="ica")
    with pytest.raises(ValueError, match=r"images \(N, H, W\)"):
        fit_compressor(x, method="conv")
    with pytest.raises(ValueError, match="same number of rows"):
        estimate_mi_compressed(x, x[:-1])
    with pytest.raises(ValueError, match="fit_fraction"):
        compress(x, fit_fraction=1.0)
    compressor = fit_compressor(x, dim=2)
    with pytest.raises(ValueError, match=r"examples of shape \(6,\)"):
        compressor.codes(np.zeros((3, 5)))


# ----------------------------------------------------------------------------- information plane

@pytest.fixture(scope="module")
def tiny_plane():
    """A 64-12-10 MLP on sklearn's digits, before training and after 4 epochs (2 codes per variable,
    2 chains × 200 draws and K ≤ 3 per fit, to keep the 8 fits quick: ~40 s against ~110 s with
    4 codes and K ≤ 10; Gaussian components, as the t-copula route's EM of one and two t components
    took the fixture from ~43 to ~73 s, and this test is about the plane, not the family). The fits go
    through an executor (a thread here: the task path of a process pool or cluster, without starting
    processes)."""
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    from bayesmi.data import load_digits
    from bayesmi.interpret import information_plane
    from bayesmi.nets import MLP, train_classifier

    digits = load_digits()
    snapshots = {0: MLP(64, [12], 10, jax.random.key(0))}
    train_classifier(snapshots[0], digits.x_train, digits.y_train, epochs=4, learning_rate=1e-2, batch_size=64,
                     progress=False, on_epoch=lambda epoch, model: snapshots.update({epoch: model}) if epoch == 4 else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ThreadPoolExecutor(1) as executor:
            plane = information_plane(snapshots, digits.x_test, digits.y_test, seed=0, progress=False, dim=2,
                                      num_chains=2, num_samples=200, max_components=3, family="gaussian",
                                      executor=executor)
    return plane, caught, digits


def test_layer_outputs_flatten_every_hidden_layer_and_add_the_logits():
    from bayesmi.interpret import layer_outputs
    from bayesmi.nets import CNN, MLP

    x = np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32)
    assert [a.shape for a in layer_outputs(MLP(64, [16, 8], 10, jax.random.key(0)), x)] == [(5, 16), (5, 8), (5, 10)]
    cnn = CNN((8, 8), 10, channels=(4, 6), hidden=12, key=jax.random.key(0))
    assert [a.shape for a in layer_outputs(cnn, x.reshape(5, 8, 8))] == [(5, 64), (5, 24), (5, 12), (5, 10)]


def test_information_plane_holds_a_posterior_per_epoch_layer_and_quantity(tiny_plane):
    plane, caught, digits = tiny_plane
    table = plane.table
    assert len(table) == 2 * 2 * 2 and set(table["quantity"]) == {"I(X;L)", "I(L;Y)"}
    assert list(table["layer_name"].unique()) == ["hidden 1", "output"]
    assert (table["low"] <= table["mean"]).all() and (table["mean"] <= table["high"]).all()
    # I(L;Y) ≤ H(Y): the labels' entropy bounds what any layer can know of them
    p = np.bincount(digits.y_test) / len(digits.y_test)
    label_entropy = -np.sum(p * np.log(p))
    knows = table[table["quantity"] == "I(L;Y)"]
    assert (knows["mean"] < label_entropy + 3 * knows["sd"]).all()
    # training makes the output layer tell the label: I(logits; Y) rises beyond both intervals' noise
    output = knows[knows["layer_name"] == "output"].set_index("epoch")
    assert output.loc[4, "mean"] - output.loc[0, "mean"] > 3 * np.hypot(output.loc[4, "sd"], output.loc[0, "sd"])
    # one summary warning per kind of warning, not one per fit
    categories = [w.category for w in caught if "information_plane" in str(w.message)]
    assert len(categories) == len(set(categories))
    # lossy codes (the inputs' 4 autoencoder codes, PCA of a layer) are said to give lower bounds
    lossy = plane.x_lost_variance > LOST_VARIANCE_WARNING or (table["lost_variance"] > LOST_VARIANCE_WARNING).any()
    assert (CompressionWarning in categories) == lossy
    assert 0 <= plane.x_lost_variance < 1 and (table["lost_variance"] < 1).all()


def test_information_plane_figures_draw(tiny_plane):
    import matplotlib

    matplotlib.use("Agg")
    plane = tiny_plane[0]
    ax = plane.plot()
    assert len(ax.collections) >= 3 and ax.get_xlabel() == "I(X; L) (nats)"
    fig = plane.plot_curves()
    assert len(fig.axes) == 2


def test_information_plane_refuses_bad_input():
    from bayesmi.interpret import information_plane

    with pytest.raises(ValueError, match="snapshots is empty"):
        information_plane({}, np.zeros((10, 4)), np.zeros(10, int))
    from bayesmi.nets import MLP

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    forking = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    with pytest.raises(ValueError, match="forks its workers"):
        information_plane({0: MLP(4, [3], 2, jax.random.key(0))}, np.ones((10, 4)), np.zeros(10, int),
                          executor=forking)
    forking.shutdown()
    with pytest.raises(ValueError, match="one class label per example"):
        information_plane({0: MLP(4, [3], 2, jax.random.key(0))}, np.ones((10, 4)), np.zeros(9, int),
                          x_compressor=fit_compressor(np.random.default_rng(0).normal(size=(10, 4)), 2))
