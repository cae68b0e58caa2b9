"""Small convolutional classifier (equinox) for single-channel images, with its hidden activations.

Like :class:`bayesmi.nets.mlp.MLP` it is an equinox pytree, so training
(:func:`bayesmi.nets.training.train_classifier`), per-channel or per-neuron ablation
(``eqx.tree_at`` on the weights) and activations are pure functions of the parameters,
in the same functional style as NumPyro and BlackJAX.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["CNN"]


class CNN(eqx.Module):
    """``[conv3×3 → ReLU → max-pool 2×2] × len(channels) → flatten → Linear(hidden) → ReLU → Linear``.

    Convolutions keep the spatial size (padding 1); each pool halves it (rounding down), so an
    8×8 input with two blocks ends at 2×2 and a 28×28 one at 7×7.
    Calls take ONE example, (H, W) or (1, H, W); vmap for batches.
    """

    convs: tuple[eqx.nn.Conv2d, ...]
    dense: eqx.nn.Linear
    head: eqx.nn.Linear
    in_shape: tuple[int, int] = eqx.field(static=True)

    def __init__(self, in_shape: tuple[int, int], n_classes: int, channels: Sequence[int] = (8, 16),
                 hidden: int = 32, *, key: jax.Array):
        """Args: in_shape (H, W) of the single-channel images; n_classes logits; channels of
        each conv block; hidden units of the dense layer; key for the initial weights."""
        height, width = (int(s) for s in in_shape)
        if len(channels) == 0 or min(height, width) < 2 ** len(channels):
            raise ValueError(f"in_shape {in_shape} too small for {len(channels)} pooling blocks "
                             f"(needs at least {2 ** len(channels)} pixels per side and one block)")
        keys = jax.random.split(key, len(channels) + 2)
        sizes = [1, *channels]
        self.convs = tuple(eqx.nn.Conv2d(a, b, kernel_size=3, padding=1, key=k)
                           for a, b, k in zip(sizes[:-1], sizes[1:], keys[:-2]))
        self.in_shape = (height, width)
        flat = channels[-1] * (height >> len(channels)) * (width >> len(channels))
        self.dense = eqx.nn.Linear(flat, hidden, key=keys[-2])
        self.head = eqx.nn.Linear(hidden, n_classes, key=keys[-1])

    def hidden(self, x: jax.Array) -> tuple[jax.Array, ...]:
        """Post-ReLU activations of one example: each conv block after pooling (C_l, H_l, W_l),
        then the dense layer (hidden,)."""
        x = jnp.asarray(x)
        if x.shape == self.in_shape:
            x = x[None]
        if x.shape != (1, *self.in_shape):
            raise ValueError(f"CNN expects one image of shape {self.in_shape} or (1, *{self.in_shape}), "
                             f"got {x.shape} (vmap for batches)")
        out = []
        for conv in self.convs:
            x = jax.nn.relu(conv(x))
            x = eqx.nn.MaxPool2d(kernel_size=2, stride=2)(x)
            out.append(x)
        out.append(jax.nn.relu(self.dense(x.reshape(-1))))
        return tuple(out)

    def __call__(self, x: jax.Array) -> jax.Array:
        """Logits (n_classes,) of one image (H, W) or (1, H, W)."""
        return self.head(self.hidden(x)[-1])
