"""Small equinox networks: classifier training on digits, determinism, prediction, and the β-VAE."""

import jax
import numpy as np
import pytest

from bayesmi.data import load_digits, make_shapes
from bayesmi.nets import CNN, MLP, accuracy, predict, train_classifier
from bayesmi.nets.vae import BetaVAE, elbo_loss, encode, reconstruct, train_vae

FAST = dict(epochs=15, batch_size=32, learning_rate=3e-3, progress=False)


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


@pytest.fixture(scope="module")
def trained_mlp(digits):
    return train_classifier(MLP(64, [32], 10, jax.random.key(0)), digits.x_train, digits.y_train, **FAST)


def _same_params(a, b) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_mlp_learns_digits(trained_mlp, digits):
    model, history = trained_mlp
    assert len(history["loss"]) == FAST["epochs"]
    assert history["loss"][-1] < 0.3 * history["loss"][0]
    assert accuracy(model, digits.x_test, digits.y_test) > 0.9


def test_cnn_learns_digits():
    images = load_digits(seed=0, flatten=False)
    model, _ = train_classifier(CNN((8, 8), 10, key=jax.random.key(0)), images.x_train, images.y_train, **FAST)
    assert accuracy(model, images.x_test, images.y_test) > 0.9
    x = images.x_test[0]
    np.testing.assert_array_equal(model(x), model(x[None]))
    assert [a.shape for a in model.hidden(x)] == [(8, 4, 4), (16, 2, 2), (32,)]
    with pytest.raises(ValueError, match="one image of shape"):
        model(np.zeros((9, 9), np.float32))


def test_same_seed_gives_identical_parameters(trained_mlp, digits):
    def fit(seed):
        return train_classifier(MLP(64, [32], 10, jax.random.key(0)), digits.x_train, digits.y_train,
                                **{**FAST, "seed": seed})[0]

    assert _same_params(fit(0), trained_mlp[0])
    assert not _same_params(fit(1), trained_mlp[0])


def test_predict_matches_vmap_with_ragged_batches(trained_mlp, digits):
    model = trained_mlp[0]
    logits = predict(model, digits.x_test, batch_size=100)  # 450 = 4 full batches + 50
    assert logits.shape == (450, 10)
    np.testing.assert_allclose(logits, jax.vmap(model)(digits.x_test), rtol=1e-5, atol=1e-5)


def test_training_rejects_bad_input(digits):
    model = MLP(64, [8], 10, jax.random.key(0))
    x, y = digits.x_train[:20], digits.y_train[:20]
    with pytest.raises(ValueError, match="y must have shape"):
        train_classifier(model, x, y[:-1], progress=False)
    with pytest.raises(ValueError, match="NaN"):
        train_classifier(model, np.where(x == 0, np.nan, x), y, progress=False)
    with pytest.raises(ValueError, match="labels must lie"):
        train_classifier(model, x, y + 10, progress=False)
    with pytest.raises(ValueError, match="cannot take one example"):
        predict(model, x[:, :10])


# --- β-VAE --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shapes16():
    return make_shapes(512, size=16, seed=0).images


def test_vae_loss_decreases_and_encode_shapes(shapes16):
    vae = BetaVAE(image_size=16, latent_dim=4, hidden=(64,), key=jax.random.key(0))
    initial = float(elbo_loss(vae, shapes16, jax.random.key(1), beta=4.0))
    vae, history = train_vae(vae, shapes16, beta=4.0, epochs=4, batch_size=64, seed=0, progress=False)
    assert set(history) == {"loss", "recon", "kl"} and len(history["loss"]) == 4
    assert history["loss"][-1] < history["loss"][0] < initial
    assert float(elbo_loss(vae, shapes16, jax.random.key(1), beta=4.0)) < initial
    mean, log_var = encode(vae, shapes16, batch_size=200)
    assert mean.shape == log_var.shape == (512, 4)
    assert np.isfinite(mean).all() and np.isfinite(log_var).all()
    recon = reconstruct(vae, shapes16[:10])
    assert recon.shape == (10, 16, 16) and 0 <= recon.min() and recon.max() <= 1
    with pytest.raises(ValueError, match="images must have shape"):
        encode(vae, shapes16[:, :8])


def test_vae_gaussian_likelihood_and_bad_settings(shapes16):
    vae = BetaVAE(image_size=16, latent_dim=2, hidden=(16,), likelihood="gaussian", pixel_std=0.2,
                  key=jax.random.key(0))
    key = jax.random.key(1)
    assert float(elbo_loss(vae, shapes16[:8], key, beta=2.0)) > float(elbo_loss(vae, shapes16[:8], key, beta=1.0)) > 0
    with pytest.raises(ValueError, match="likelihood"):
        BetaVAE(image_size=16, likelihood="poisson", key=key)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        encode(vae, shapes16[:4] * 2.0)
