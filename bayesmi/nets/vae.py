"""β-VAE (equinox) for small greyscale images such as :func:`bayesmi.data.make_shapes`.

An MLP encoder maps an image to the mean and log-variance of a diagonal Gaussian posterior
over ``latent_dim`` latents; an MLP decoder maps a latent to logits per pixel.  The loss is
reconstruction + β·KL to N(0, I) (Higgins et al., 2017); β > 1 presses the posterior toward
the factorised prior, which tends to make single latents track single generative factors.

The pixel likelihood is Bernoulli (cross-entropy against grey levels in [0, 1]) or Gaussian
with mean ``sigmoid(logit)`` and fixed standard deviation ``pixel_std``.  On shape images the
Bernoulli one gives the cleanest one-factor latents (position x, position y, scale) but hardly
encodes brightness, which costs it little; Gaussian with ``pixel_std=0.1`` keeps more of every
factor, spread over more latents.

The model is an equinox pytree, so training, encoding and any edit of its weights
(``eqx.tree_at``) are pure functions — the functional style of NumPyro and BlackJAX.
Everything is deterministic in the seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from bayesmi.nets.mlp import apply_dense, dense_stack
from bayesmi.nets.training import minimise
from bayesmi.util import map_chunked

__all__ = ["BetaVAE", "elbo_loss", "encode", "reconstruct", "train_vae"]


class BetaVAE(eqx.Module):
    """Encoder ``image (S, S) → hidden → (mean, log_var)``, each (latent_dim,); decoder
    ``latent → reversed hidden → logits (S, S)``."""

    encoder: tuple[eqx.nn.Linear, ...]
    decoder: tuple[eqx.nn.Linear, ...]
    image_size: int = eqx.field(static=True)
    latent_dim: int = eqx.field(static=True)
    likelihood: str = eqx.field(static=True)
    pixel_std: float = eqx.field(static=True)

    def __init__(self, image_size: int = 32, latent_dim: int = 8, hidden: Sequence[int] = (256, 128), *,
                 likelihood: str = "bernoulli", pixel_std: float = 0.1, key: jax.Array):
        """Args: image_size S of square images; latent_dim latents; hidden widths of the encoder
        (the decoder mirrors them); likelihood of the pixels, ``"bernoulli"`` or ``"gaussian"``
        with standard deviation ``pixel_std`` (grey levels); key for the initial weights."""
        if image_size < 1 or latent_dim < 1 or any(h < 1 for h in hidden):
            raise ValueError(f"sizes must be positive, got image_size={image_size}, latent_dim={latent_dim}, "
                             f"hidden={tuple(hidden)}")
        if likelihood not in ("gaussian", "bernoulli") or not pixel_std > 0:
            raise ValueError(f"likelihood must be 'gaussian' or 'bernoulli' and pixel_std > 0, "
                             f"got {likelihood!r} and {pixel_std}")
        enc_key, dec_key = jax.random.split(key)
        pixels = image_size * image_size
        self.encoder = dense_stack([pixels, *hidden, 2 * latent_dim], enc_key)
        self.decoder = dense_stack([latent_dim, *reversed(hidden), pixels], dec_key)
        self.image_size, self.latent_dim = image_size, latent_dim
        self.likelihood, self.pixel_std = likelihood, float(pixel_std)

    def encode(self, image: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Posterior mean and log-variance, each (latent_dim,), of one image (S, S)."""
        out = apply_dense(self.encoder, image.reshape(-1))
        return out[: self.latent_dim], out[self.latent_dim:]

    def decode(self, z: jax.Array) -> jax.Array:
        """Logits (S, S) of the pixels given one latent vector (latent_dim,); sigmoid gives the
        Bernoulli probability or the Gaussian mean."""
        return apply_dense(self.decoder, z).reshape(self.image_size, self.image_size)


def _loss_terms(vae: BetaVAE, images: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Batch means of the reconstruction negative log-likelihood (without constants) and of
    KL(q(z|x) ‖ N(0, I)), in nats per image."""
    mean, log_var = jax.vmap(vae.encode)(images)
    z = mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape)
    logits = jax.vmap(vae.decode)(z)
    if vae.likelihood == "gaussian":
        recon = 0.5 * ((images - jax.nn.sigmoid(logits)) / vae.pixel_std) ** 2
    else:
        recon = optax.sigmoid_binary_cross_entropy(logits, images)
    recon = recon.sum(axis=(1, 2))
    kl = 0.5 * (jnp.exp(log_var) + mean**2 - 1.0 - log_var).sum(axis=1)
    return recon.mean(), kl.mean()


def elbo_loss(vae: BetaVAE, images: jax.Array, key: jax.Array, beta: float = 1.0) -> jax.Array:
    """β-VAE loss of a batch images (B, S, S): mean of reconstruction + β·KL, with one
    reparameterised sample per image drawn from ``key``.  With β = 1 it is the negative ELBO
    up to a constant (the Gaussian normaliser, or the entropy of continuous Bernoulli targets)."""
    recon, kl = _loss_terms(vae, images, key)
    return recon + beta * kl


def _check_images(vae: BetaVAE, images: Any) -> np.ndarray:
    """float32 images (N, S, S) in [0, 1] matching the model, with readable errors otherwise."""
    images = np.asarray(images, dtype=np.float32)
    expected = (vae.image_size, vae.image_size)
    if images.ndim != 3 or images.shape[1:] != expected or len(images) == 0:
        raise ValueError(f"images must have shape (N, {expected[0]}, {expected[1]}) with N ≥ 1, got {images.shape}")
    if not np.isfinite(images).all() or images.min() < 0 or images.max() > 1:
        raise ValueError("images must be finite grey levels in [0, 1]")
    return images


def train_vae(vae: BetaVAE, images: Any, *, beta: float = 4.0, epochs: int = 30, batch_size: int = 32,
              learning_rate: float = 1e-3, seed: int = 0,
              progress: bool = True) -> tuple[BetaVAE, dict[str, list[float]]]:
    """Minimise :func:`elbo_loss` with Adam over minibatches reshuffled every epoch.

    Args:
        vae: the model to train. images: (N, S, S) grey levels in [0, 1].
        beta: weight of the KL term. epochs, batch_size, learning_rate: optimiser settings.
        seed: seed of the minibatch order and of the reparameterisation noise.
        progress: tqdm bar over epochs.

    Returns:
        The trained model and per-epoch means ``{"loss", "recon", "kl"}`` (nats per image).
    """
    images = _check_images(vae, images)
    if epochs < 1 or batch_size < 1 or beta < 0:
        raise ValueError(f"need epochs ≥ 1, batch_size ≥ 1 and beta ≥ 0, got {epochs}, {batch_size}, {beta}")
    def loss(vae: BetaVAE, batch: tuple[jax.Array], key: jax.Array) -> tuple[jax.Array, jax.Array]:
        recon, kl = _loss_terms(vae, batch[0], key)
        return recon + beta * kl, jnp.stack([recon + beta * kl, recon, kl])

    return minimise(vae, loss, (images,), optimiser=optax.adam(learning_rate), epochs=epochs,
                    batch_size=batch_size, seed=seed, progress=progress, desc="β-VAE", terms=("loss", "recon", "kl"))


@eqx.filter_jit
def _encode_batch(vae: BetaVAE, images: jax.Array) -> tuple[jax.Array, jax.Array]:
    return jax.vmap(vae.encode)(images)


@eqx.filter_jit
def _reconstruct_batch(vae: BetaVAE, images: jax.Array) -> jax.Array:
    mean, _ = jax.vmap(vae.encode)(images)
    return jax.nn.sigmoid(jax.vmap(vae.decode)(mean))


def encode(vae: BetaVAE, images: Any, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances, each (N, latent_dim), of images (N, S, S).

    Latents whose posterior variance stays near 1 (``exp(log_var).mean(0) ≈ 1``) are unused
    ("collapsed"); their means vary little and carry only faint traces of the factors.
    """
    mean, log_var = map_chunked(lambda b: _encode_batch(vae, b), _check_images(vae, images), batch_size)
    return np.asarray(mean), np.asarray(log_var)


def reconstruct(vae: BetaVAE, images: Any, batch_size: int = 1024) -> np.ndarray:
    """Decoded images (N, S, S) in [0, 1] (Bernoulli probabilities or Gaussian means) at the
    posterior means of images (N, S, S)."""
    return np.asarray(map_chunked(lambda b: _reconstruct_batch(vae, b), _check_images(vae, images), batch_size))
