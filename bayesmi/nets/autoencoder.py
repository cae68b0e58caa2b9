"""Deterministic autoencoders (equinox) that compress examples to a few code coordinates.

Two architectures with one interface, ``encode(example) → code (code_dim,)`` and
``decode(code) → example``: :class:`Autoencoder`, dense layers on flattened examples of any
shape (layer activations, images), and :class:`ConvAutoencoder`, convolutions for single-channel
images. Both are trained by :func:`train_autoencoder` (mean squared reconstruction error) and
applied to many rows by :func:`codes` and :func:`reconstructions`. They are the learned
compressors of :mod:`bayesmi.interpret.compression` (Butakov, Tolmachev et al., ICLR 2024: an
injective encoder keeps I(X;Y); a lossy one can only lower it).
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

__all__ = ["Autoencoder", "ConvAutoencoder", "codes", "reconstructions", "train_autoencoder"]


class Autoencoder(eqx.Module):
    """Dense autoencoder: example (in_shape) → flatten → hidden → code (code_dim,) → reversed
    hidden → example. Linear code and output, ReLU in between."""

    encoder: tuple[eqx.nn.Linear, ...]
    decoder: tuple[eqx.nn.Linear, ...]
    in_shape: tuple[int, ...] = eqx.field(static=True)
    code_dim: int = eqx.field(static=True)

    def __init__(self, in_shape: int | Sequence[int], code_dim: int, hidden: Sequence[int] = (128, 64), *,
                 key: jax.Array):
        """Args: in_shape of one example (an int for vectors); code_dim code coordinates; hidden
        widths of the encoder (the decoder mirrors them); key for the initial weights."""
        in_shape = (int(in_shape),) if np.ndim(in_shape) == 0 else tuple(int(s) for s in in_shape)
        if code_dim < 1 or min(in_shape) < 1 or any(h < 1 for h in hidden):
            raise ValueError(f"sizes must be positive, got in_shape={in_shape}, code_dim={code_dim}, "
                             f"hidden={tuple(hidden)}")
        encoder_key, decoder_key = jax.random.split(key)
        features = int(np.prod(in_shape))
        self.encoder = dense_stack([features, *hidden, code_dim], encoder_key)
        self.decoder = dense_stack([code_dim, *reversed(hidden), features], decoder_key)
        self.in_shape, self.code_dim = in_shape, int(code_dim)

    def encode(self, x: jax.Array) -> jax.Array:
        """Code (code_dim,) of one example (in_shape)."""
        return apply_dense(self.encoder, x.reshape(-1))

    def decode(self, code: jax.Array) -> jax.Array:
        """Reconstructed example (in_shape) of one code (code_dim,)."""
        return apply_dense(self.decoder, code).reshape(self.in_shape)


class ConvAutoencoder(eqx.Module):
    """Convolutional autoencoder for single-channel images (H, W).

    Encoder: ``[conv 3×3 → ReLU → average-pool 2×2] × len(channels) → flatten → Linear → code``.
    Decoder: ``Linear → ReLU → reshape → [upsample ×2 (nearest) → conv 3×3 → ReLU] × len(channels)
    → conv 3×3 to one channel → resize to (H, W)``. Upsampling then convolving (instead of a
    transposed convolution) avoids checkerboard artefacts.
    """

    encoder_convs: tuple[eqx.nn.Conv2d, ...]
    encoder_dense: eqx.nn.Linear
    decoder_dense: eqx.nn.Linear
    decoder_convs: tuple[eqx.nn.Conv2d, ...]
    in_shape: tuple[int, int] = eqx.field(static=True)
    code_dim: int = eqx.field(static=True)
    channels: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, in_shape: tuple[int, int], code_dim: int, channels: Sequence[int] = (16, 32), *,
                 key: jax.Array):
        """Args: in_shape (H, W) of the images; code_dim code coordinates; channels of each conv
        block (each halves the resolution); key for the initial weights."""
        height, width = (int(s) for s in in_shape)
        channels = tuple(int(c) for c in channels)
        if code_dim < 1 or not channels or min(channels) < 1 or min(height, width) < 2 ** len(channels):
            raise ValueError(f"in_shape {in_shape} with {len(channels)} pooling blocks needs at least "
                             f"{2 ** len(channels)} pixels per side, positive channels and code_dim ≥ 1; "
                             f"got channels={channels}, code_dim={code_dim}")
        keys = iter(jax.random.split(key, 2 * len(channels) + 3))
        sizes = (1, *channels)
        self.encoder_convs = tuple(eqx.nn.Conv2d(a, b, 3, padding=1, key=next(keys))
                                   for a, b in zip(sizes[:-1], sizes[1:]))
        flat = channels[-1] * (height >> len(channels)) * (width >> len(channels))
        self.encoder_dense = eqx.nn.Linear(flat, code_dim, key=next(keys))
        self.decoder_dense = eqx.nn.Linear(code_dim, flat, key=next(keys))
        back = sizes[::-1]  # (channels[-1], …, channels[0], 1): the last conv gives the one channel
        self.decoder_convs = tuple(eqx.nn.Conv2d(a, b, 3, padding=1, key=next(keys))
                                   for a, b in zip((back[0], *back[:-1]), back))
        self.in_shape, self.code_dim, self.channels = (height, width), int(code_dim), channels

    def encode(self, image: jax.Array) -> jax.Array:
        """Code (code_dim,) of one image (H, W)."""
        x = image.reshape(1, *self.in_shape)
        for conv in self.encoder_convs:
            x = eqx.nn.AvgPool2d(kernel_size=2, stride=2)(jax.nn.relu(conv(x)))
        return self.encoder_dense(x.reshape(-1))

    def decode(self, code: jax.Array) -> jax.Array:
        """Reconstructed image (H, W) of one code (code_dim,)."""
        blocks = len(self.channels)
        h, w = self.in_shape[0] >> blocks, self.in_shape[1] >> blocks
        x = jax.nn.relu(self.decoder_dense(code)).reshape(self.channels[-1], h, w)
        for conv in self.decoder_convs[:-1]:
            x = jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)
            x = jax.nn.relu(conv(x))
        x = self.decoder_convs[-1](x)[0]
        return x if x.shape == self.in_shape else jax.image.resize(x, self.in_shape, "linear")


AnyAutoencoder = Autoencoder | ConvAutoencoder


def _check_rows(model: AnyAutoencoder, x: Any) -> np.ndarray:
    """float32 rows (N, *in_shape), with readable errors for bad input."""
    x = np.asarray(x, dtype=np.float32)
    if x.shape[1:] != model.in_shape or len(x) == 0:
        raise ValueError(f"x must have shape (N, {', '.join(map(str, model.in_shape))}) with N ≥ 1 for this "
                         f"autoencoder, got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("x contains NaN or infinite values")
    return x


def _reconstruction_loss(model: AnyAutoencoder, batch: tuple[jax.Array], key: jax.Array
                         ) -> tuple[jax.Array, jax.Array]:
    """Mean squared error per coordinate of a batch (B, *in_shape)."""
    x = batch[0]
    error = jnp.mean((jax.vmap(lambda a: model.decode(model.encode(a)))(x) - x) ** 2)
    return error, error[None]


def train_autoencoder(model: AnyAutoencoder, x: Any, *, epochs: int = 30, batch_size: int = 64,
                      learning_rate: float = 1e-3, seed: int = 0, progress: bool = True
                      ) -> tuple[AnyAutoencoder, dict[str, list[float]]]:
    """Minimise the mean squared reconstruction error with Adam over minibatches reshuffled every
    epoch (:func:`bayesmi.nets.training.minimise`).

    Args:
        model: the autoencoder. x: rows (N, *model.in_shape), finite; scale them to order one.
        epochs, batch_size, learning_rate: optimiser settings. seed: minibatch order.
        progress: tqdm bar over epochs.

    Returns:
        The trained model and ``{"loss": [mean squared error per coordinate, each epoch]}``.
    """
    x = _check_rows(model, x)
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    return minimise(model, _reconstruction_loss, (x,), optimiser=optax.adam(learning_rate), epochs=epochs,
                    batch_size=batch_size, seed=seed, progress=progress, desc="autoencoder")


@eqx.filter_jit
def _map(model: AnyAutoencoder, method: str, batch: jax.Array) -> jax.Array:
    if method == "encode":
        return jax.vmap(model.encode)(batch)
    return jax.vmap(lambda a: model.decode(model.encode(a)))(batch)


def codes(model: AnyAutoencoder, x: Any, batch_size: int = 1024) -> np.ndarray:
    """Codes (N, code_dim) of rows x (N, *in_shape), in jitted batches of one shape."""
    return np.asarray(map_chunked(lambda b: _map(model, "encode", b), _check_rows(model, x), batch_size))


def reconstructions(model: AnyAutoencoder, x: Any, batch_size: int = 1024) -> np.ndarray:
    """Decoded codes (N, *in_shape) of rows x (N, *in_shape)."""
    return np.asarray(map_chunked(lambda b: _map(model, "reconstruct", b), _check_rows(model, x), batch_size))
