"""Supervised training and prediction for single-example equinox classifiers (MLP, CNN).

Models are equinox pytrees, so training is a pure function ``(model, data, seed) → model``:
one ``eqx.filter_jit`` optimiser step vmaps the model over a minibatch, and per-neuron
ablation elsewhere (``eqx.tree_at`` on the weights) and activations are plain functions of
the same pytree — the functional style of NumPyro and BlackJAX.  Everything is deterministic
in ``seed``: the same seed gives bit-identical parameters on the same machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import tqdm

from bayesmi.util import map_chunked

__all__ = ["accuracy", "minimise", "predict", "train_classifier"]

Model = TypeVar("Model", bound=eqx.Module)


def _check_inputs(x: Any, y: Any | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """float32 examples (N, ...) and int32 labels (N,), with readable errors for bad input."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty batch of examples (N, ...), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("x contains NaN or infinite values")
    if y is None:
        return x, None
    y = np.asarray(y)
    if y.shape != (len(x),):
        raise ValueError(f"y must have shape ({len(x)},) to match x {x.shape}, got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    return x, y.astype(np.int32)


def _n_classes(model: eqx.Module, x: np.ndarray) -> int:
    """Number of logits the model outputs for one example (checks that x fits the model)."""
    try:
        out = eqx.filter_eval_shape(model, jax.ShapeDtypeStruct(x.shape[1:], jnp.float32))
    except Exception as err:  # noqa: BLE001 - re-raised with the shapes that explain it
        raise ValueError(f"model cannot take one example of shape {x.shape[1:]}: {err}") from err
    if out.ndim != 1:
        raise ValueError(f"model must return logits of shape (n_classes,), got {out.shape}")
    return out.shape[0]


def _loss(model: eqx.Module, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of a batch x (B, ...) with labels y (B,)."""
    logits = jax.vmap(model)(x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def train_classifier(model: Model, x: Any, y: Any, *, epochs: int = 20, batch_size: int = 128,
                     learning_rate: float = 1e-3, weight_decay: float = 0.0, seed: int = 0,
                     progress: bool = True, on_epoch: Callable[[int, Model], None] | None = None
                     ) -> tuple[Model, dict[str, list[float]]]:
    """Minimise softmax cross-entropy with AdamW over minibatches reshuffled every epoch.

    Args:
        model: equinox module mapping ONE example (x.shape[1:]) to logits (n_classes,).
        x: training examples (N, ...), finite floats. y: int labels (N,) in [0, n_classes).
        epochs: passes over the data. batch_size: examples per step (the last batch of an
            epoch may be smaller). learning_rate, weight_decay: AdamW settings (decoupled
            weight decay; 0 gives plain Adam).
        seed: seed of the minibatch order. progress: tqdm bar over epochs.
        on_epoch: called as ``on_epoch(epoch, model)`` after each epoch (1, 2, …), e.g. to keep
            snapshots of the model for :func:`bayesmi.interpret.information_plane`.

    Returns:
        The trained model and ``{"loss": [mean training loss of each epoch]}`` (nats).
    """
    x, y = _check_inputs(x, y)
    n_classes = _n_classes(model, x)
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must lie in [0, {n_classes}) for a model with {n_classes} outputs, "
                         f"got range [{y.min()}, {y.max()}]")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    def loss(model: eqx.Module, batch: tuple[jax.Array, ...], key: jax.Array) -> tuple[jax.Array, jax.Array]:
        value = _loss(model, *batch)
        return value, value[None]

    return minimise(model, loss, (x, y), optimiser=optax.adamw(learning_rate, weight_decay=weight_decay),
                    epochs=epochs, batch_size=batch_size, seed=seed, progress=progress, desc="train", on_epoch=on_epoch)


def minimise(model: Model, loss: Callable[[Model, tuple[jax.Array, ...], jax.Array], tuple[jax.Array, jax.Array]],
             data: tuple[np.ndarray, ...], *, optimiser: optax.GradientTransformation, epochs: int, batch_size: int,
             seed: int, progress: bool, desc: str, terms: tuple[str, ...] = ("loss",),
             on_epoch: Callable[[int, Model], None] | None = None) -> tuple[Model, dict[str, list[float]]]:
    """Minibatch gradient descent shared by every trainer of :mod:`bayesmi.nets`.

    ``loss(model, batch, key)`` returns the scalar to minimise and a vector of ``len(terms)`` batch
    means to record (the first usually the loss itself); ``batch`` holds the rows of each array of
    ``data`` (all (N, ...)) in one minibatch, ``key`` a fresh JAX key per step (for losses that sample).
    Rows are reshuffled every epoch (numpy, ``seed``); the last batch of an epoch may be smaller.
    Returns the trained model and per-epoch, row-weighted means of the terms; ``progress`` shows a
    tqdm bar labelled ``desc``; ``on_epoch(epoch, model)`` is called after each epoch (1, 2, …).
    """
    opt_state = optimiser.init(eqx.filter(model, eqx.is_inexact_array))

    @eqx.filter_jit
    def step(model, opt_state, batch, key):
        (_, recorded), grads = eqx.filter_value_and_grad(loss, has_aux=True)(model, batch, key)
        updates, opt_state = optimiser.update(grads, opt_state, eqx.filter(model, eqx.is_inexact_array))
        return eqx.apply_updates(model, updates), opt_state, recorded

    n = len(data[0])
    rng = np.random.default_rng(seed)
    key = jax.random.key(seed)
    history: dict[str, list[float]] = {name: [] for name in terms}
    bar = tqdm.trange(epochs, desc=desc, disable=not progress)
    for epoch in bar:
        order = rng.permutation(n)
        totals = np.zeros(len(terms))
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            key, sub = jax.random.split(key)
            model, opt_state, recorded = step(model, opt_state, tuple(a[idx] for a in data), sub)
            totals += np.asarray(recorded) * len(idx)
        for name, value in zip(terms, totals / n):
            history[name].append(float(value))
        bar.set_postfix({name: f"{values[-1]:.4g}" for name, values in history.items()})
        if on_epoch is not None:
            on_epoch(epoch + 1, model)
    return model, history


@eqx.filter_jit
def _batch_logits(model: eqx.Module, x: jax.Array) -> jax.Array:
    return jax.vmap(model)(x)


def predict(model: eqx.Module, x: Any, batch_size: int = 1024) -> np.ndarray:
    """Logits (N, n_classes) of examples x (N, ...), computed in jitted batches of ``batch_size``
    (one compiled shape: :func:`bayesmi.util.map_chunked`)."""
    x, _ = _check_inputs(x)
    _n_classes(model, x)
    return np.asarray(map_chunked(lambda xb: _batch_logits(model, xb), x, batch_size))


def accuracy(model: eqx.Module, x: Any, y: Any) -> float:
    """Share of examples x (N, ...) whose arg-max logit equals the label y (N,)."""
    x, y = _check_inputs(x, y)
    return float((predict(model, x).argmax(axis=1) == y).mean())
