"""MIENF flows (Butakov, Tolmachev et al., NeurIPS 2024): invertible maps that make a joint law Gaussian.

Two normalizing flows, f for x (dx ≥ 2 coordinates) and g for y, are trained jointly by maximum
likelihood of (u, v) = (f(x), g(y)) under the Gaussian base whose only dependence is a
correlation ρ_j between u_j and v_j (j < min(dx, dy)); every other coordinate is standard normal.
Under that model I(X;Y) = −½ Σ_j log(1 − ρ_j²) nats (:func:`base_mutual_information`). A 1-D side
gets no flow: the caller gives it normal scores, which Gaussianise any 1-D margin.

bayesmi uses the flows as a *transform*: MI is invariant under invertible maps of each side, so
whatever the flows learned, I(f(X); g(Y)) = I(X;Y); trained on one part of the sample and applied
to another, they hand the Bayesian mixture a joint it can fit (``estimate_mi(transform="flow")``).
Flows are flowjax coupling flows with rational-quadratic spline transformers (Durkan et al. 2019).
Training is deterministic given its key: Adam on minibatches, the parameters kept at the best loss
on a validation part of the training rows.
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = ["FlowSettings", "MIENF", "train_mienf", "latents", "flow_folds", "base_mutual_information", "ROWS"]

#: How :func:`flow_folds` shares rows between training and mapping.
ROWS = ("cross-fit", "split", "same")

_LOG_2PI = math.log(2.0 * math.pi)


class FlowSettings(NamedTuple):
    """Architecture and training of the MIENF flows.

    layers, knots, width: coupling layers per flow, spline knots per coordinate (on [−interval,
    interval]; identity outside) and the conditioner's hidden width. Small by design: the
    inputs are normal scores, so the flows only have to undo the dependence's curvature.
    steps, batch_size, learning_rate: Adam steps on minibatches of the training rows.
    validation_fraction: training rows held out to choose the parameters (best loss, checked every
    ``check_every`` steps); training stops early once ``patience`` steps have not improved it.
    rows: which rows train the flows and which are mapped for the estimate (:func:`flow_folds`):
    "cross-fit" (two halves, each mapped by the flows trained on the other), "split" (the first of
    those folds only) or "same" (all rows both train and are mapped).
    """

    layers: int = 6
    knots: int = 8
    interval: float = 5.0
    width: int = 32
    steps: int = 2000
    batch_size: int = 256
    learning_rate: float = 1e-3
    validation_fraction: float = 0.2
    check_every: int = 50
    patience: int = 500
    rows: str = "cross-fit"


class MIENF(eqx.Module):
    """The transform (x, y) ↦ (f(A x), g(B y)): fixed linear maps A, B that put the data's canonical
    correlations on the base's pairs (CCA of the training rows), flows f, g (None for a 1-D side)
    and the base's correlation logits (ρ = tanh(logit))."""

    linear_x: jax.Array  # (dx, dx)
    linear_y: jax.Array  # (dy, dy)
    flow_x: Any
    flow_y: Any
    rho_logits: jax.Array  # (min(dx, dy),)

    @property
    def rho(self) -> jax.Array:
        return jnp.tanh(self.rho_logits)


def base_mutual_information(rho: jax.Array) -> jax.Array:
    """I = −½ Σ log(1 − ρ_j²) nats of the base Gaussian with pair correlations ``rho``."""
    return -0.5 * jnp.sum(jnp.log1p(-rho**2))


def _to_latent(linear: jax.Array, flow: Any, a: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Latents (N, d) of rows a (N, d) and the log |det| of the flow per row (N,) (the linear map's
    constant log |det| is left out: it does not depend on the parameters)."""
    a = a @ jax.lax.stop_gradient(linear).T
    if flow is None:
        return a, jnp.zeros(a.shape[0], a.dtype)
    import paramax

    return jax.vmap(paramax.unwrap(flow).transform_and_log_det)(a)


def _base_log_prob(u: jax.Array, v: jax.Array, rho: jax.Array) -> jax.Array:
    """Log density (nats) per row of the base: pairs (u_j, v_j) with correlation ρ_j, the rest N(0, 1)."""
    m = rho.shape[0]
    one_minus = 1.0 - rho**2
    pu, pv = u[:, :m], v[:, :m]
    paired = -_LOG_2PI - 0.5 * jnp.log(one_minus) - (pu**2 - 2 * rho * pu * pv + pv**2) / (2 * one_minus)
    rest = -0.5 * (jnp.sum(u[:, m:] ** 2, 1) + jnp.sum(v[:, m:] ** 2, 1)) - 0.5 * _LOG_2PI * (
        u.shape[1] + v.shape[1] - 2 * m)
    return jnp.sum(paired, 1) + rest


def _mean_log_likelihood(model: MIENF, x: jax.Array, y: jax.Array) -> jax.Array:
    u, log_det_x = _to_latent(model.linear_x, model.flow_x, x)
    v, log_det_y = _to_latent(model.linear_y, model.flow_y, y)
    return jnp.mean(_base_log_prob(u, v, model.rho) + log_det_x + log_det_y)


def _canonical_maps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CCA of rows x (N, dx), y (N, dy): A (dx, dx), B (dy, dy) with A x, B y white and
    cov(A x, B y) = diag(ρ) on the first min(dx, dy) pairs; returns A, B, ρ (float64)."""
    def inverse_sqrt(c: np.ndarray) -> np.ndarray:
        w, v = np.linalg.eigh(c)
        return (v / np.sqrt(w)) @ v.T

    cov = np.cov(np.concatenate([x, y], axis=1), rowvar=False)
    dx = x.shape[1]
    wx, wy = inverse_sqrt(cov[:dx, :dx]), inverse_sqrt(cov[dx:, dx:])
    left, rho, right = np.linalg.svd(wx @ cov[:dx, dx:] @ wy, full_matrices=True)
    return left.T @ wx, right @ wy, rho


def _initial(key: jax.Array, x: np.ndarray, y: np.ndarray, settings: FlowSettings) -> MIENF:
    """Linear maps from CCA, flows at the identity (conditioners' last layers zero), ρ the canonical
    correlations: for Gaussian data the optimum already."""
    from flowjax.bijections import Chain, Coupling, Flip, RationalQuadraticSpline

    def identity_coupling(k: jax.Array, dim: int) -> Any:
        layer = Coupling(k, transformer=RationalQuadraticSpline(knots=settings.knots, interval=settings.interval),
                         untransformed_dim=dim // 2, dim=dim, nn_width=settings.width, nn_depth=1)
        last = layer.conditioner.layers[-1]
        return eqx.tree_at(lambda b: (b.conditioner.layers[-1].weight, b.conditioner.layers[-1].bias), layer,
                           (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)))

    def flow(k: jax.Array, dim: int) -> Any:
        if dim < 2:
            return None
        # Each coupling is followed by a reversal; an even number of them leaves the coordinates in
        # place, so the base's pairs stay those of the canonical correlations.
        layers = [b for kk in jax.random.split(k, 2 * math.ceil(settings.layers / 2))
                  for b in (identity_coupling(kk, dim), Flip((dim,)))]
        return Chain(layers)

    linear_x, linear_y, rho = _canonical_maps(x, y)
    key_x, key_y = jax.random.split(key)
    return MIENF(jnp.asarray(linear_x, jnp.float32), jnp.asarray(linear_y, jnp.float32), flow(key_x, x.shape[1]),
                 flow(key_y, y.shape[1]), jnp.asarray(np.arctanh(np.clip(rho, 0.0, 0.999)), jnp.float32))


#: The static (non-array) part of the model per architecture (dx, dy, layers, knots, interval, width).
_STATIC_PARTS: dict[tuple, Any] = {}


@functools.cache
def _optimiser(learning_rate: float) -> optax.GradientTransformation:
    """Adam with ``learning_rate``, one object per rate, so compiled training chunks are reused."""
    return optax.adam(learning_rate)


def _loss(params: Any, static: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    return -_mean_log_likelihood(eqx.combine(params, static), x, y)


_validation_loss = eqx.filter_jit(_loss)


@eqx.filter_jit
def _latents(model: MIENF, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    return _to_latent(model.linear_x, model.flow_x, x)[0], _to_latent(model.linear_y, model.flow_y, y)[0]


@eqx.filter_jit
def _train_chunk(params: Any, static: Any, state: Any, optimiser: optax.GradientTransformation, x: jax.Array,
                 y: jax.Array, train: jax.Array, val: jax.Array, keys: jax.Array, batch: int
                 ) -> tuple[Any, Any, jax.Array]:
    """Adam steps on minibatches of the rows ``train``, one per key; returns the parameters, the
    optimiser state and the loss (minus the mean log-likelihood, nats per row) on the rows ``val``."""
    def step(carry: tuple[Any, Any], key: jax.Array) -> tuple[tuple[Any, Any], None]:
        p, s = carry
        rows = train[jax.random.choice(key, train.shape[0], (batch,), replace=False)]
        grads = jax.grad(_loss)(p, static, x[rows], y[rows])
        updates, s = optimiser.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), None

    (params, state), _ = jax.lax.scan(step, (params, state), keys)
    return params, state, _loss(params, static, x[val], y[val])


def train_mienf(x: np.ndarray, y: np.ndarray, key: jax.Array, settings: FlowSettings | None = None
                ) -> tuple[MIENF, dict[str, Any]]:
    """Train MIENF flows on rows x (N, dx), y (N, dy) (normal scores, ideally): the model at the best
    validation loss and a record {"steps", "best_step", "validation_log_lik" (nats per row),
    "mi" (the base's MI, nats)}; ``settings`` default to :class:`FlowSettings`'s."""
    import paramax

    settings = settings or FlowSettings()
    key_init, key_split, key_batches = jax.random.split(key, 3)
    model = _initial(key_init, np.asarray(x, np.float64), np.asarray(y, np.float64), settings)
    x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    n = x.shape[0]
    order = jax.random.permutation(key_split, n)
    n_val = max(1, round(settings.validation_fraction * n))
    val, train = order[:n_val], order[n_val:]
    params, static = eqx.partition(model, eqx.is_inexact_array,
                                   is_leaf=lambda leaf: isinstance(leaf, paramax.NonTrainable))
    # flowjax's couplings hold per-instance closures (unravelling the conditioner's output), which a
    # jit cache hashes by identity: reuse the first static part of each architecture, so a second
    # fit of the same shape compiles nothing (measured: 11 s of a 12 s 300-step training).
    static = _STATIC_PARTS.setdefault((x.shape[1], y.shape[1], settings.layers, settings.knots,
                                       settings.interval, settings.width), static)
    optimiser = _optimiser(settings.learning_rate)
    batch = min(settings.batch_size, train.shape[0])
    state = optimiser.init(params)
    best, best_loss, best_step = params, float(_validation_loss(params, static, x[val], y[val])), 0
    chunks = jax.random.split(key_batches, (max(settings.steps // settings.check_every, 1), settings.check_every))
    steps = 0
    for keys in chunks:
        params, state, val_loss = _train_chunk(params, static, state, optimiser, x, y, train, val, keys, batch)
        steps += settings.check_every
        if float(val_loss) < best_loss:
            best, best_loss, best_step = params, float(val_loss), steps
        elif steps - best_step >= settings.patience:
            break
    model = eqx.combine(best, static)
    return model, {"steps": steps, "best_step": best_step, "validation_log_lik": -best_loss,
                   "mi": float(base_mutual_information(np.tanh(np.asarray(best.rho_logits, np.float64))))}


def latents(model: MIENF, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f(x), g(y)) of rows x (N, dx), y (N, dy) as float64 arrays."""
    u, v = _latents(model, jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32))
    return np.asarray(u, np.float64), np.asarray(v, np.float64)


def flow_folds(x: np.ndarray, y: np.ndarray, key: jax.Array, settings: FlowSettings
               ) -> list[tuple[np.ndarray, np.ndarray, dict[str, Any]]]:
    """Latents of rows x (N, dx), y (N, dy) (normal scores) by flows trained as ``settings.rows`` says:
    one (u, v, record) per fold, u and v standardised (float64), record that of :func:`train_mienf`
    with the fold's "train_rows", "mapped_rows" and "seconds". "cross-fit": a random half of the rows
    trains the flows that map the other half, and then the other way round; "split": the first of
    those folds; "same": all rows."""
    if settings.rows not in ROWS:
        raise ValueError(f"FlowSettings.rows must be one of {ROWS}, got {settings.rows!r}")
    n = x.shape[0]
    key_rows, key_train = jax.random.split(key)
    order = np.asarray(jax.random.permutation(key_rows, n))
    halves = [order[: n // 2], order[n // 2:]]
    # Both folds train on n // 2 rows (an odd n leaves one row of the larger half out of its training
    # set), so the second fold reuses the first one's compiled training programs.
    pairs = {"cross-fit": [(halves[0], halves[1]), (halves[1][: n // 2], halves[0])],
             "split": [(halves[0], halves[1])], "same": [(order, order)]}[settings.rows]
    folds = []
    for i, (train, mapped) in enumerate(pairs):
        start = time.perf_counter()
        model, record = train_mienf(x[train], y[train], jax.random.fold_in(key_train, i), settings)
        u, v = latents(model, x[mapped], y[mapped])
        u, v = ((a - a.mean(0)) / a.std(0) for a in (u, v))
        folds.append((u, v, {**record, "train_rows": int(train.size), "mapped_rows": int(mapped.size),
                             "seconds": time.perf_counter() - start}))
    return folds
