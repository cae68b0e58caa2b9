"""Multilayer perceptron classifier (equinox) with access to its hidden activations.

The network is a pytree of :class:`equinox.nn.Linear` layers with ReLU between them, so
hidden activations, per-neuron ablation (:mod:`bayesmi.interpret.ablation`) and training
(:mod:`bayesmi.nets.training`) are plain functions of the parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax

__all__ = ["MLP", "apply_dense", "dense_stack"]


def dense_stack(sizes: Sequence[int], key: jax.Array) -> tuple[eqx.nn.Linear, ...]:
    """Linear layers sizes[0] → sizes[1] → … → sizes[-1] (one key per layer, split from ``key``)."""
    keys = jax.random.split(key, len(sizes) - 1)
    return tuple(eqx.nn.Linear(a, b, key=k) for a, b, k in zip(sizes[:-1], sizes[1:], keys))


def apply_dense(layers: tuple[eqx.nn.Linear, ...], x: jax.Array) -> jax.Array:
    """Linear layers with ReLU between them (none after the last), on one example."""
    for layer in layers[:-1]:
        x = jax.nn.relu(layer(x))
    return layers[-1](x)


class MLP(eqx.Module):
    """``in_features → hidden[0] → … → hidden[-1] → n_classes`` with ReLU after every hidden layer.

    ``layers[l]`` for l < len(layers) − 1 produces hidden layer l; ``layers[-1]`` the logits.
    Calls take one example (in_features,); vmap for batches.
    """

    layers: tuple[eqx.nn.Linear, ...]

    def __init__(self, in_features: int, hidden: Sequence[int], n_classes: int, key: jax.Array):
        self.layers = dense_stack([in_features, *hidden, n_classes], key)

    def hidden(self, x: jax.Array) -> tuple[jax.Array, ...]:
        """Post-ReLU activations of every hidden layer for one example: shapes (hidden[l],)."""
        out = []
        for layer in self.layers[:-1]:
            x = jax.nn.relu(layer(x))
            out.append(x)
        return tuple(out)

    def __call__(self, x: jax.Array) -> jax.Array:
        """Logits (n_classes,) of one example (in_features,)."""
        hidden = self.hidden(x)
        return self.layers[-1](hidden[-1] if hidden else x)

