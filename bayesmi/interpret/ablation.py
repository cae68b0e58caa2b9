"""Neuron importance by information-ordered cumulative ablation (Amjad, Liu & Geiger 2018, arXiv 1804.06679).

Method
------
1. Quantise each hidden neuron's activation T_i (:func:`quantize`; 1 bit by default: active or not).
2. Per neuron, posterior draws of its entropy H(T_i), its mutual information with the class
   I(T_i;Y) = Σ_y p(y) D(P(T_i|y) ‖ P(T_i)) and its KL class selectivity max_y D(P(T_i|y) ‖ P(T_i))
   (:func:`neuron_information`, Dirichlet posterior of :func:`bayesmi.discrete.neuron_measures`).
3. Remove neurons one at a time in the order of a measure (ascending and descending), or in random
   orders, and record the test accuracy after each removal (:func:`cumulative_ablation`), within one
   hidden layer or over the whole network. A removed neuron is replaced by its mean activation on the
   fit set, folded into the next layer's bias (:func:`ablate`), so the downstream layer keeps its
   average input and only the neuron's *variation* is lost.
4. Importance of a neuron alone: the accuracy drop when only it is removed
   (:func:`single_neuron_importance`); Spearman correlations of each measure with it, per layer and
   pooled over layers (:func:`neuron_importance` ties everything together).

Vectorisation
-------------
Replacing neuron j of hidden layer l by its mean μ_j changes the next layer's pre-activation by the
rank-1 term (μ_j − h_j(x)) W[:, j]. Curves are therefore one ``lax.scan`` over the removal order that
carries that pre-activation (N, n_{l+1}) and adds one rank-1 term per step, then runs only the layers
after it (vmapped over many orders at once); single-neuron drops are one batched map over j. No
network is rebuilt, and the layers before the ablated one run once.

Everything here is a pure function of the :class:`bayesmi.nets.MLP` pytree; plotting lives in
:mod:`bayesmi.plots.ablation` and is imported only by the ``plot`` methods.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import tqdm
from scipy import stats

from bayesmi.estimators.discrete import NEURON_MEASURES, neuron_measures
from bayesmi.nets.training import accuracy
from bayesmi.util import check_int, map_chunked, renamed_arguments

__all__ = [
    "NeuronImportance",
    "ablate",
    "activation_means",
    "cumulative_ablation",
    "hidden_activations",
    "neuron_importance",
    "neuron_information",
    "quantile_edges",
    "quantize",
    "random_orders",
    "single_neuron_importance",
    "spearman_table",
]

#: Orders of removal built from each measure: lowest first / highest first.
DIRECTIONS = ("ascending", "descending")
#: Importance targets the correlations are computed against.
IMPORTANCE = ("accuracy_drop", "loss_increase")


# --------------------------------------------------------------------------- validation


def _n_hidden(mlp: Any) -> int:
    layers = getattr(mlp, "layers", None)
    if not isinstance(layers, tuple) or not all(isinstance(layer, eqx.nn.Linear) for layer in layers):
        raise TypeError("expected a bayesmi.nets.MLP (a tuple of eqx.nn.Linear in .layers), "
                        f"got {type(mlp).__name__}")
    if len(layers) < 2:
        raise ValueError("the network has no hidden layer: there is no neuron to ablate")
    return len(layers) - 1


def _hidden_sizes(mlp: Any) -> list[int]:
    return [layer.weight.shape[0] for layer in mlp.layers[:_n_hidden(mlp)]]


def _check_layer(mlp: Any, layer: Any) -> int:
    n_hidden = _n_hidden(mlp)
    layer = check_int(layer, "layer")
    if not 0 <= layer < n_hidden:
        raise ValueError(
            f"layer must be a hidden-layer index in [0, {n_hidden}) (the network has {n_hidden} hidden "
            f"layer(s); the output layer cannot be ablated), got {layer}")
    return layer


def _check_neurons(neurons: Any, n: int, where: str) -> np.ndarray:
    """Distinct neuron indices (k,) int in [0, n) of ``where``."""
    arr = np.asarray(neurons)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"neurons must be a 1-D sequence of indices, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"neurons must be integer indices, got dtype {arr.dtype}")
    bad = arr[(arr < 0) | (arr >= n)]
    if bad.size:
        raise ValueError(f"neuron index {int(bad[0])} out of range: {where} has {n} neurons "
                         f"(indices 0..{n - 1})")
    values, counts = np.unique(arr, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(f"neuron {int(values[counts > 1][0])} of {where} is listed more than once")
    return arr.astype(np.int64)


def _check_means(means: Any, n: int, where: str) -> np.ndarray:
    arr = np.asarray(means, dtype=np.float32)
    if arr.shape != (n,):
        raise ValueError(f"means for {where} must have shape ({n},) (one mean activation per neuron), "
                         f"got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"means for {where} contain NaN or infinite values")
    return arr


def _check_layer_means(mlp: Any, means: Any) -> list[np.ndarray]:
    sizes = _hidden_sizes(mlp)
    if isinstance(means, np.ndarray) or not isinstance(means, Sequence) or len(means) != len(sizes):
        raise ValueError(f"means must be a sequence of {len(sizes)} arrays, one per hidden layer "
                         f"(e.g. activation_means(mlp, x_fit)), got {type(means).__name__}")
    return [_check_means(m, n, f"hidden layer {l}") for l, (m, n) in enumerate(zip(means, sizes))]


def _check_x(mlp: Any, x: Any, name: str = "x") -> np.ndarray:
    _n_hidden(mlp)
    arr = np.asarray(x, dtype=np.float32)
    d = mlp.layers[0].weight.shape[1]
    if arr.ndim != 2 or arr.shape[1] != d or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, {d}) with N ≥ 1 to fit the network's input, "
                         f"got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _check_xy(mlp: Any, x: Any, y: Any, names: tuple[str, str] = ("x", "y")) -> tuple[np.ndarray, np.ndarray]:
    arr = _check_x(mlp, x, names[0])
    lab = np.asarray(y)
    if lab.shape != (arr.shape[0],):
        raise ValueError(f"{names[1]} must have shape ({arr.shape[0]},) to match {names[0]} {arr.shape}, "
                         f"got {lab.shape}")
    if lab.dtype.kind not in "iu":
        raise TypeError(f"{names[1]} must hold integer class labels, got dtype {lab.dtype}")
    k = mlp.layers[-1].weight.shape[0]
    if lab.min() < 0 or lab.max() >= k:
        raise ValueError(f"{names[1]} labels must lie in [0, {k}) for a network with {k} outputs, "
                         f"got range [{lab.min()}, {lab.max()}]")
    return arr, lab.astype(np.int32)


# --------------------------------------------------------------------------- activations and quantisation


@eqx.filter_jit
def _batch_hidden(mlp: Any, x: jax.Array) -> tuple[jax.Array, ...]:
    return jax.vmap(mlp.hidden)(x)


def hidden_activations(mlp: Any, x: Any, batch_size: int = 4096) -> list[np.ndarray]:
    """Post-ReLU activations (N, hidden[l]) of every hidden layer l for examples x (N, in_features)."""
    x = _check_x(mlp, x)
    return [np.asarray(h) for h in map_chunked(lambda xb: _batch_hidden(mlp, xb), x, batch_size)]


def activation_means(mlp: Any, x: Any) -> list[np.ndarray]:
    """Mean activation (hidden[l],) of every hidden neuron on x: the values that replace removed neurons."""
    return [h.mean(axis=0) for h in hidden_activations(mlp, x)]


def _check_activations(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be a 2-D array (N, n_units) with N, n_units ≥ 1, "
                         f"got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def quantile_edges(reference: Any, bins: int) -> np.ndarray:
    """Equal-frequency bin edges (n_units, bins − 1): the k/bins quantiles (k = 1..bins−1) of each column.

    With ties (e.g. ReLU units that are 0 on most examples) several edges coincide and some bins stay
    empty; the codes still range over 0..bins−1, so every unit has the same ``bins`` levels.
    """
    ref = _check_activations(reference, "reference")
    bins = check_int(bins, "bins")
    if bins < 2:
        raise ValueError(f"bins must be ≥ 2, got {bins}")
    return np.quantile(ref, np.arange(1, bins) / bins, axis=0).T


def quantize(activations: Any, bins: int | None = None, *, threshold: float | None = None,
             thresholds: Any = None, reference: Any = None) -> np.ndarray:
    """Integer codes (N, n_units) in [0, bins) of activations (N, n_units): code = #edges strictly below.

    Binary by default (``bins=2``): code 1 when the activation exceeds ``threshold`` (default 0), i.e.
    the ReLU unit is active. For ReLU networks this is the natural 1-bit summary: a ReLU unit is
    exactly 0 on a large share of inputs (it "does not fire") and positive elsewhere, so "active or
    not" needs no data-dependent choice and is the same threshold for every unit and every data split;
    it is the quantisation of Amjad et al. (2018). Pass another ``threshold`` for other activations.

    ``bins > 2`` (or ``bins=2`` with a ``reference``: a median split): equal-frequency edges from
    :func:`quantile_edges` computed on ``reference`` (activations of the same units, e.g. on the
    training set; default: ``activations`` themselves),
    so that test data are binned with the training edges. ``thresholds``: explicit edges, shape
    (bins − 1,) shared by all units or (n_units, bins − 1), non-decreasing; ``bins`` is then inferred.
    """
    act = _check_activations(activations, "activations")
    n_units = act.shape[1]
    if thresholds is not None:
        if threshold is not None or reference is not None:
            raise ValueError("give either thresholds, or threshold (bins=2), or reference (bins>2), "
                             "not several")
        edges = np.asarray(thresholds, dtype=np.float64)
        if edges.ndim == 1:
            edges = np.broadcast_to(edges, (n_units, edges.size))
        if edges.ndim != 2 or edges.shape[0] != n_units or edges.shape[1] == 0:
            raise ValueError(f"thresholds must have shape (bins-1,) or ({n_units}, bins-1), "
                             f"got {np.shape(thresholds)}")
        if not np.isfinite(edges).all() or np.any(np.diff(edges, axis=1) < 0):
            raise ValueError("thresholds must be finite and non-decreasing along each unit's edges")
        if bins is not None and check_int(bins, "bins") != edges.shape[1] + 1:
            raise ValueError(f"bins={bins} does not match {edges.shape[1]} thresholds "
                             "(bins = thresholds + 1)")
    else:
        bins = 2 if bins is None else check_int(bins, "bins")
        if bins < 2:
            raise ValueError(f"bins must be ≥ 2, got {bins}")
        if bins == 2 and reference is None:
            t = 0.0 if threshold is None else float(threshold)
            if not np.isfinite(t):
                raise ValueError(f"threshold must be finite, got {threshold!r}")
            edges = np.full((n_units, 1), t)
        else:
            if threshold is not None:
                raise ValueError("threshold applies to bins=2 without reference; bins>2 uses quantile edges")
            ref = act if reference is None else _check_activations(reference, "reference")
            if ref.shape[1] != n_units:
                raise ValueError(f"reference has {ref.shape[1]} units, activations have {n_units}")
            edges = quantile_edges(ref, bins)
    return (act[:, :, None] > edges[None, :, :]).sum(axis=2).astype(np.int32)


# --------------------------------------------------------------------------- ablation of a network


def ablate(mlp: Any, layer: int, neurons: Any, means: Any) -> Any:
    """The network with the given neurons of hidden layer ``layer`` replaced by their mean activation.

    Column j of ``layers[layer + 1].weight`` is zeroed and ``weight[:, j] · means[j]`` is added to
    ``layers[layer + 1].bias``: the next layer receives the constant μ_j instead of h_j(x).
    ``means`` (hidden[layer],) holds the mean activation of every neuron of the layer (e.g.
    ``activation_means(mlp, x_fit)[layer]``). No neuron removed gives an equal network; removing an
    already removed neuron again changes nothing (its column is already 0).
    """
    layer = _check_layer(mlp, layer)
    n = mlp.layers[layer].weight.shape[0]
    idx = _check_neurons(neurons, n, f"hidden layer {layer}")
    mu = _check_means(means, n, f"hidden layer {layer}")
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    nxt = mlp.layers[layer + 1]
    w, b = nxt.weight, nxt.bias
    w_new = jnp.where(jnp.asarray(mask)[None, :], 0.0, w).astype(w.dtype)
    b_new = (b + w @ jnp.where(jnp.asarray(mask), jnp.asarray(mu), 0.0)).astype(b.dtype)
    return eqx.tree_at(lambda m: (m.layers[layer + 1].weight, m.layers[layer + 1].bias), mlp, (w_new, b_new))


# --------------------------------------------------------------------------- vectorised ablation core


def _tail(weights: tuple[jax.Array, ...], biases: tuple[jax.Array, ...], means: tuple[jax.Array, ...],
          masks: tuple[jax.Array, ...], z: jax.Array) -> jax.Array:
    """Logits from the pre-activation z of hidden layer l0+1 (or logits if l0 is the last hidden layer).

    weights/biases: layers l0+2 .. output; means/masks: hidden layers l0+1 .. last (one per weight).
    """
    for w, b, mu, m in zip(weights, biases, means, masks):
        h = jnp.where(m, mu, jax.nn.relu(z))
        z = h @ w.T + b
    return z


def _scores(logits: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Accuracy and mean cross-entropy (nats) of logits (N, K) for labels y (N,)."""
    acc = jnp.mean(jnp.argmax(logits, axis=1) == y)
    loss = jnp.mean(jax.nn.logsumexp(logits, axis=1) - jnp.take_along_axis(logits, y[:, None], 1)[:, 0])
    return acc, loss


@partial(jax.jit, static_argnames=("sizes",))
def _curves(w_next: jax.Array, b_next: jax.Array, weights: tuple[jax.Array, ...],
            biases: tuple[jax.Array, ...], mu0: jax.Array, means: tuple[jax.Array, ...], h0: jax.Array,
            y: jax.Array, orders: jax.Array, sizes: tuple[int, ...]) -> jax.Array:
    """Accuracy (n_orders, n_steps + 1) after removing orders[:, :k] for k = 0..n_steps.

    The flat neuron index g indexes the concatenation of hidden layers l0, l0+1, ... (sizes). Layer-l0
    removals add a rank-1 term to the carried pre-activation z of layer l0+1; later ones set a mask.
    """
    z0 = h0 @ w_next.T + b_next
    n0, total = sizes[0], sum(sizes)
    splits = tuple(np.cumsum(sizes)[:-1][1:] - n0)

    def logits(z, mask):
        rest = jnp.split(mask[n0:], splits) if len(sizes) > 1 else ()
        return _tail(weights, biases, means, tuple(rest), z)

    def one(order):
        def step(carry, g):
            z, mask = carry
            is0 = g < n0
            j = jnp.where(is0, g, 0)
            delta = jnp.where(is0, mu0[j] - h0[:, j], 0.0)
            z = z + delta[:, None] * w_next[:, j][None, :]
            mask = mask.at[g].set(True)
            return (z, mask), _scores(logits(z, mask), y)[0]

        mask = jnp.zeros(total, dtype=bool)
        _, acc = jax.lax.scan(step, (z0, mask), order)
        return jnp.concatenate([_scores(logits(z0, mask), y)[0][None], acc])

    return jax.lax.map(one, orders, batch_size=4)


@jax.jit
def _single(w_next: jax.Array, b_next: jax.Array, weights: tuple[jax.Array, ...],
            biases: tuple[jax.Array, ...], mu0: jax.Array, means: tuple[jax.Array, ...], h0: jax.Array,
            y: jax.Array) -> tuple[jax.Array, ...]:
    """Accuracy and loss (n0,) with each neuron j of layer l0 removed alone, plus the intact ones."""
    z0 = h0 @ w_next.T + b_next
    masks = tuple(jnp.zeros(m.shape, dtype=bool) for m in means)

    def one(j):
        z = z0 + (mu0[j] - h0[:, j])[:, None] * w_next[:, j][None, :]
        return _scores(_tail(weights, biases, means, masks, z), y)

    acc, loss = jax.lax.map(one, jnp.arange(h0.shape[1]), batch_size=8)
    acc0, loss0 = _scores(_tail(weights, biases, means, masks, z0), y)
    return acc, loss, acc0, loss0


def _layer_args(mlp: Any, l0: int, means: list[np.ndarray], h0: np.ndarray) -> tuple[Any, ...]:
    """Arguments of the core for ablations starting at hidden layer l0."""
    layers = mlp.layers
    return (layers[l0 + 1].weight, layers[l0 + 1].bias,
            tuple(layer.weight for layer in layers[l0 + 2:]), tuple(layer.bias for layer in layers[l0 + 2:]),
            jnp.asarray(means[l0]), tuple(jnp.asarray(m) for m in means[l0 + 1:]), jnp.asarray(h0))


def _flat_orders(mlp: Any, orders: Any, layer: int | None) -> tuple[int, np.ndarray, tuple[int, ...]]:
    """Validated orders as flat indices over hidden layers l0.. : (l0, (n_orders, n_steps), sizes)."""
    sizes = _hidden_sizes(mlp)
    if layer is not None:
        layer = _check_layer(mlp, layer)
        arr = np.asarray(orders)
        single = arr.ndim <= 1
        arr = arr.reshape(1, -1) if single else arr
        if arr.ndim != 2:
            raise ValueError(f"order for one layer must be neuron indices (n_steps,) or (n_orders, n_steps), "
                             f"got shape {arr.shape}")
        if arr.size == 0:
            arr = np.zeros((arr.shape[0], 0), dtype=np.int64)
        flat = np.stack([_check_neurons(o, sizes[layer], f"hidden layer {layer}") for o in arr]) \
            if arr.shape[1] else arr.astype(np.int64)
        return layer, flat, tuple(sizes[layer:])
    arr = np.asarray(orders)
    if arr.ndim == 2 and arr.shape[1] == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[2] != 2:
        raise ValueError("a network-wide order must be (layer, neuron) pairs, shape (n_steps, 2) or "
                         f"(n_orders, n_steps, 2); got shape {arr.shape}. Pass layer= for a single layer.")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"order must hold integer (layer, neuron) pairs, got dtype {arr.dtype}")
    layers, neurons = arr[..., 0], arr[..., 1]
    for l in np.unique(layers):
        _check_layer(mlp, int(l))
        bad = neurons[(layers == l) & ((neurons < 0) | (neurons >= sizes[l]))]
        if bad.size:
            raise ValueError(f"neuron index {int(bad[0])} out of range: hidden layer {l} "
                             f"has {sizes[l]} neurons")
    l0 = int(layers.min()) if layers.size else 0
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    flat = offsets[layers] - offsets[l0] + neurons
    for o, row in zip(arr, flat):
        values, counts = np.unique(row, return_counts=True)
        if np.any(counts > 1):
            dup = o[np.nonzero(row == values[counts > 1][0])[0][0]]
            raise ValueError(f"(layer, neuron) = ({int(dup[0])}, {int(dup[1])}) is listed more than once "
                             "in an order")
    return l0, flat.astype(np.int64), tuple(sizes[l0:])


def cumulative_ablation(mlp: Any, x: Any, y: Any, order: Any, means: Any, *,
                        layer: int | None = None) -> np.ndarray:
    """Accuracy on (x, y) after removing the first k neurons of ``order``, for k = 0..len(order).

    ``layer`` an int: ``order`` lists neuron indices of that hidden layer. ``layer=None``
    (network-wide): ``order`` lists (layer, neuron) pairs, shape (n_steps, 2). Several orders at once:
    (n_orders, n_steps) resp. (n_orders, n_steps, 2), computed in one vectorised pass. ``means`` holds
    the mean activation of every hidden layer (``activation_means(mlp, x_fit)``); removed neurons are
    replaced by them as in :func:`ablate`. Returns (n_steps + 1,) or (n_orders, n_steps + 1).
    """
    x, y = _check_xy(mlp, x, y)
    means = _check_layer_means(mlp, means)
    single = (np.ndim(order) <= 1) if layer is not None else (np.ndim(order) == 2)
    l0, flat, sizes = _flat_orders(mlp, order, layer)
    h0 = hidden_activations(mlp, x)[l0]
    acc = np.asarray(_curves(*_layer_args(mlp, l0, means, h0), jnp.asarray(y),
                             jnp.asarray(flat, dtype=jnp.int32), sizes))
    return acc[0] if single else acc


def single_neuron_importance(mlp: Any, x: Any, y: Any, means: Any | None = None, *,
                             x_fit: Any = None) -> pd.DataFrame:
    """Accuracy drop and loss increase on (x, y) when each hidden neuron alone is removed.

    ``means``: per-layer mean activations used for the replacement (``activation_means(mlp, x_fit)``);
    given ``x_fit`` instead, they are computed on it; with neither, on x itself. Returns one row per
    neuron: layer, neuron, accuracy (after removal), accuracy_drop = intact − ablated accuracy,
    loss (mean cross-entropy, nats), loss_increase = ablated − intact loss.
    """
    x, y = _check_xy(mlp, x, y)
    if means is not None and x_fit is not None:
        raise ValueError("give means or x_fit, not both")
    means = activation_means(mlp, x if x_fit is None else _check_x(mlp, x_fit, "x_fit")) if means is None \
        else _check_layer_means(mlp, means)
    hidden = hidden_activations(mlp, x)
    rows = []
    for l, h in enumerate(hidden):
        acc, loss, acc0, loss0 = (np.asarray(v, dtype=np.float64)
                                  for v in _single(*_layer_args(mlp, l, means, h), jnp.asarray(y)))
        rows.append(pd.DataFrame({"layer": l, "neuron": np.arange(h.shape[1]), "accuracy": acc,
                                  "accuracy_drop": acc0 - acc, "loss": loss, "loss_increase": loss - loss0}))
    return pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------- information measures


@renamed_arguments(n_draws="num_draws")
def neuron_information(mlp: Any, x: Any, y: Any, *, bins: int | None = None, threshold: float | None = None,
                       x_reference: Any = None, concentration: float | None = None, num_draws: int = 1000,
                       seed: int = 0, units: str = "nats", prob: float = 0.95) -> pd.DataFrame:
    """Posterior of entropy, MI with the class and KL selectivity of every hidden neuron, on (x, y).

    Activations are quantised by :func:`quantize` (``bins``, ``threshold``; for bins > 2 the
    equal-frequency edges come from the activations on ``x_reference``, default x). Every unit gets all
    ``bins`` levels, so a unit that never fires still has two states (its entropy and MI are ≈ 0).
    Returns a tidy frame, one row per (layer, neuron, measure): mean, sd, equal-tailed ``prob``
    interval, units, and the share of examples on which the neuron is active (activation > 0).
    """
    x, y = _check_xy(mlp, x, y)
    if len(np.unique(y)) < 2:
        raise ValueError("y has a single class: the information of a neuron about the class is undefined")
    hidden = hidden_activations(mlp, x)
    refs = hidden_activations(mlp, _check_x(mlp, x_reference, "x_reference")) if x_reference is not None \
        else [None] * len(hidden)
    k = 2 if bins is None else check_int(bins, "bins")
    # one posterior call for all layers: one compiled shape per network (units are drawn independently)
    codes = np.concatenate([quantize(h, bins, threshold=threshold, reference=ref if k > 2 else None)
                            for h, ref in zip(hidden, refs)], axis=1)
    res = neuron_measures(codes, y, concentration=concentration, levels=range(k), num_draws=num_draws, seed=seed,
                          units=units)
    lo, hi = res.interval(prob)
    layer = np.concatenate([np.full(h.shape[1], l) for l, h in enumerate(hidden)])
    neuron = np.concatenate([np.arange(h.shape[1]) for h in hidden])
    active = np.concatenate([(h > 0).mean(axis=0) for h in hidden])
    n_m = len(res.col_names)
    frame = pd.DataFrame({
        "layer": np.repeat(layer, n_m), "neuron": np.repeat(neuron, n_m),
        "measure": res.col_names * len(layer),
        "mean": res.mean.ravel(), "sd": res.sd.ravel(), f"eti_{prob:g}_lo": lo.ravel(),
        f"eti_{prob:g}_hi": hi.ravel(), "units": units, "active_fraction": np.repeat(active, n_m),
    })
    return frame


# --------------------------------------------------------------------------- orders and correlations


def random_orders(n: int, num_random: int, seed: int | np.random.SeedSequence) -> np.ndarray:
    """(num_random, n) random permutations of range(n), reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n) for _ in range(num_random)]) if num_random else np.zeros((0, n), np.int64)


def _measure_order(values: np.ndarray, direction: str) -> np.ndarray:
    """Indices sorting ``values`` (stable: ties keep index order)."""
    key = values if direction == "ascending" else -values
    return np.argsort(key, kind="stable")


@renamed_arguments(n_boot="num_bootstrap")
def spearman_table(measures: pd.DataFrame, single: pd.DataFrame, *, num_bootstrap: int = 1000, seed: int = 0,
                   prob: float = 0.95) -> pd.DataFrame:
    """Spearman correlation of each measure's posterior mean with each importance target, per layer.

    Rows per (layer, measure, importance): rho, its two-sided p-value (scipy; ties handled by average
    ranks), a percentile bootstrap ``prob`` interval over neurons (resampled with replacement, ``num_bootstrap``
    times), and n. ``layer = "all"`` pools the neurons of every layer (the network-wide question;
    measures are then compared across layers, which Amjad et al. warn against). rho is NaN when
    either side is constant (e.g. no single removal changes the accuracy).
    """
    wide = measures.pivot_table(index=["layer", "neuron"], columns="measure", values="mean").reset_index()
    data = wide.merge(single, on=["layer", "neuron"])
    others = [m for m in wide.columns if m not in NEURON_MEASURES and m not in ("layer", "neuron")]
    names = [m for m in NEURON_MEASURES if m in wide.columns] + others
    rng = np.random.default_rng(seed)
    groups = list(data.groupby("layer")) + ([("all", data)] if data["layer"].nunique() > 1 else [])
    rows = []
    for l, g in groups:
        idx = rng.integers(0, len(g), size=(num_bootstrap, len(g)))
        for m in names:
            for target in IMPORTANCE:
                a, b = g[m].to_numpy(float), g[target].to_numpy(float)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rho, p = stats.spearmanr(a, b) if len(g) > 2 else (np.nan, np.nan)
                    boot = _spearman_rows(a[idx], b[idx])
                lo, hi = np.nanquantile(boot, [(1 - prob) / 2, (1 + prob) / 2]) if np.isfinite(boot).any() \
                    else (np.nan, np.nan)
                rows.append({"layer": l, "measure": m, "importance": target, "rho": float(rho),
                             "p_value": float(p), f"boot_{prob:g}_lo": float(lo),
                             f"boot_{prob:g}_hi": float(hi), "n": len(g)})
    return pd.DataFrame(rows)


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rho of every row pair of a, b (num_bootstrap, n); NaN where a row is constant."""
    ra, rb = stats.rankdata(a, axis=1), stats.rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    den = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (ra * rb).sum(1) / np.where(den > 0, den, 1.0), np.nan)


# --------------------------------------------------------------------------- driver and result


@dataclass
class NeuronImportance:
    """Result of :func:`neuron_importance`.

    Attributes
    ----------
    measures : tidy posterior summaries per (layer, neuron, measure) on the fit set
        (:func:`neuron_information`).
    curves : tidy accuracy curves: scope ("layer"/"network"), layer (int, or "all" network-wide),
        measure (a measure name or "random"), order ("ascending"/"descending"/"random"), repeat (index
        of the random order, 0 otherwise), n_removed, fraction_removed, accuracy (on the test set).
    single : single-neuron removal (:func:`single_neuron_importance`) on the test set.
    correlations : Spearman correlations of measures with importance (:func:`spearman_table`).
    accuracy : intact test accuracy.
    settings : the arguments and data sizes used.
    """

    measures: pd.DataFrame
    curves: pd.DataFrame
    single: pd.DataFrame
    correlations: pd.DataFrame
    accuracy: float
    settings: dict[str, Any] = field(default_factory=dict)

    def random_band(self, lo: float = 0.05, hi: float = 0.95) -> pd.DataFrame:
        """Mean and [lo, hi] quantiles of the random-order accuracy per (scope, layer, n_removed)."""
        rand = self.curves[self.curves["measure"] == "random"]
        g = rand.groupby(["scope", "layer", "n_removed"], sort=False)["accuracy"]
        out = pd.DataFrame({"mean": g.mean(), "lo": g.quantile(lo), "hi": g.quantile(hi)}).reset_index()
        frac = rand.groupby(["scope", "layer", "n_removed"], sort=False)["fraction_removed"].first()
        frac = frac.to_numpy()
        return out.assign(fraction_removed=frac)

    def summary(self) -> pd.DataFrame:
        """Area under each curve (mean accuracy over n_removed = 0..n) and where it falls among random orders.

        ``random_quantile``: share of random orders with a smaller area. A removal order that hits the
        important neurons first (accuracy falls fast) has a quantile near 0; one that keeps them to the
        end, near 1; an uninformative order, anywhere in between.
        """
        keys = ["scope", "layer", "measure", "order", "repeat"]
        auc = self.curves.groupby(keys, sort=False)["accuracy"].mean().rename("auc").reset_index()
        rand = auc[auc["measure"] == "random"]
        rows = []
        for _, r in auc[auc["measure"] != "random"].iterrows():
            ref = rand[(rand["scope"] == r["scope"]) & (rand["layer"] == r["layer"])]["auc"].to_numpy()
            rows.append({**{k: r[k] for k in ("scope", "layer", "measure", "order")}, "auc": r["auc"],
                         "random_auc_mean": ref.mean() if ref.size else np.nan,
                         "random_auc_lo": np.quantile(ref, 0.05) if ref.size else np.nan,
                         "random_auc_hi": np.quantile(ref, 0.95) if ref.size else np.nan,
                         "random_quantile": (ref < r["auc"]).mean() if ref.size else np.nan})
        return pd.DataFrame(rows)

    def plot(self, **kwargs: Any):
        """Accuracy vs neurons removed, one panel per layer plus network-wide.

        Keyword arguments go to :func:`bayesmi.plots.plot_ablation_curves`.
        """
        from bayesmi.plots import plot_ablation_curves

        return plot_ablation_curves(self, **kwargs)

    def plot_scatter(self, **kwargs: Any):
        """Each measure against the single-neuron accuracy drop, one panel per (layer, measure)."""
        from bayesmi.plots import plot_importance_scatter

        return plot_importance_scatter(self, **kwargs)

    def __repr__(self) -> str:
        n = self.single.groupby("layer").size().tolist()
        n_curves = self.curves[["scope", "layer", "measure", "order", "repeat"]].drop_duplicates().shape[0]
        return (f"NeuronImportance(hidden sizes {n}, test accuracy {self.accuracy:.4f}, {n_curves} curves, "
                f"measures {sorted(self.measures['measure'].unique())})")


@renamed_arguments(n_random="num_random", n_draws="num_draws", n_boot="num_bootstrap")
def neuron_importance(mlp: Any, x_fit: Any, y_fit: Any, x_test: Any, y_test: Any, *,
                      measures: Sequence[str] = NEURON_MEASURES, scope: Sequence[str] = ("layer", "network"),
                      num_random: int = 20, bins: int | None = None, threshold: float | None = None,
                      concentration: float | None = None, num_draws: int = 1000, num_bootstrap: int = 1000,
                      seed: int = 0, units: str = "nats", progress: bool = True) -> NeuronImportance:
    """Information measures of every hidden neuron, cumulative ablation curves and their correlation.

    Where things are computed:

    * measures, mean activations (for the bias balancing) and quantile edges (bins > 2) on the **fit
      set** (x_fit, y_fit): held-out data not used to train the weights, e.g. a validation split. Not
      the training set, on which the network's units are fitted to (and can memorise) the labels, so
      their class information would be overstated; not the test set, so that the removal order is
      independent of the sampling noise of the accuracy it is judged on (ordering by measures counted
      on the very examples that score the ablation would favour the measures).
    * ablation curves and single-neuron drops on the **test set** (x_test, y_test).

    ``scope``: "layer" (each hidden layer alone, orders within it) and/or "network" ((layer, neuron)
    pairs of all layers ranked together). Orders: each measure ascending (lowest first) and descending
    (highest first), plus ``num_random`` random orders per scope and layer, seeded from ``seed``
    (reproducible). Ties in a measure keep the neuron order. Measures are ranked by posterior mean.
    """
    unknown = [m for m in measures if m not in NEURON_MEASURES]
    if unknown or not measures:
        raise ValueError(f"measures must be a non-empty subset of {NEURON_MEASURES}, got {tuple(measures)!r}")
    scopes = (scope,) if isinstance(scope, str) else tuple(scope)
    if not scopes or any(s not in ("layer", "network") for s in scopes):
        raise ValueError(f"scope must be 'layer', 'network' or both, got {scope!r}")
    num_random = check_int(num_random, "num_random")
    if num_random < 0:
        raise ValueError(f"num_random must be ≥ 0, got {num_random}")
    x_fit, y_fit = _check_xy(mlp, x_fit, y_fit, ("x_fit", "y_fit"))
    x_test, y_test = _check_xy(mlp, x_test, y_test, ("x_test", "y_test"))
    sizes = _hidden_sizes(mlp)

    jobs = ["measures", "single"] + [f"layer {l}" for l in range(len(sizes)) if "layer" in scopes] \
        + (["network"] if "network" in scopes else [])
    bar = tqdm.tqdm(jobs, desc="neuron importance", disable=not progress)
    bar.set_postfix_str("measures")
    info = neuron_information(mlp, x_fit, y_fit, bins=bins, threshold=threshold, concentration=concentration,
                              num_draws=num_draws, seed=seed, units=units)
    info = info[info["measure"].isin(measures)].reset_index(drop=True)
    means = activation_means(mlp, x_fit)
    bar.update()
    bar.set_postfix_str("single")
    single = single_neuron_importance(mlp, x_test, y_test, means)
    bar.update()

    wide = {m: info[info["measure"] == m].sort_values(["layer", "neuron"]) for m in measures}
    seeds = np.random.SeedSequence(seed).spawn(len(sizes) + 1)
    frames = []

    def run(scope_name: str, layer: Any, labels: list[tuple[str, str, int]], orders: np.ndarray,
            order_arg: np.ndarray, layer_arg: int | None, n: int) -> None:
        acc = cumulative_ablation(mlp, x_test, y_test, order_arg, means, layer=layer_arg)
        steps = np.arange(acc.shape[1])
        for (m, d, r), a in zip(labels, acc):
            frames.append(pd.DataFrame({"scope": scope_name, "layer": layer, "measure": m, "order": d,
                                        "repeat": r, "n_removed": steps, "fraction_removed": steps / n,
                                        "accuracy": a}))

    labels = [(m, d, 0) for m in measures for d in DIRECTIONS]
    labels += [("random", "random", r) for r in range(num_random)]
    if "layer" in scopes:
        for l, n in enumerate(sizes):
            bar.set_postfix_str(f"layer {l}")
            orders = [_measure_order(wide[m][wide[m]["layer"] == l]["mean"].to_numpy(), d)
                      for m in measures for d in DIRECTIONS]
            orders = np.concatenate([np.stack(orders), random_orders(n, num_random, seeds[l])])
            run("layer", l, labels, orders, orders, l, n)
            bar.update()
    if "network" in scopes:
        bar.set_postfix_str("network")
        pairs = np.array([(l, j) for l, n in enumerate(sizes) for j in range(n)])
        orders = [_measure_order(wide[m]["mean"].to_numpy(), d) for m in measures for d in DIRECTIONS]
        orders = np.concatenate([np.stack(orders), random_orders(len(pairs), num_random, seeds[-1])])
        run("network", "all", labels, orders, pairs[orders], None, len(pairs))
        bar.update()
    bar.close()

    curves = pd.concat(frames, ignore_index=True)
    curves["layer"] = curves["layer"].astype(object)  # ints, and "all" network-wide, whatever the scopes
    correlations = spearman_table(info, single, num_bootstrap=num_bootstrap, seed=seed)
    intact = accuracy(mlp, x_test, y_test)
    settings = {"measures": tuple(measures), "scope": scopes, "num_random": num_random,
                "bins": 2 if bins is None else bins, "threshold": threshold,
                "concentration": concentration, "num_draws": num_draws, "seed": seed, "units": units,
                "n_fit": len(x_fit), "n_test": len(x_test), "hidden_sizes": tuple(sizes)}
    return NeuronImportance(info, curves, single, correlations, intact, settings)
