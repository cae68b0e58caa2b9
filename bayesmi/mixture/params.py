"""A Gaussian mixture as a parameter pytree, and its densities, marginals and samples (pure JAX).

A mixture of ``K`` components in ``D`` dimensions is a :class:`GMMParams` with the lower Cholesky
factor ``L`` of each component's *precision* matrix (``Λ = L Lᵀ``), so that a log density needs no
matrix solve: ``log N(z | μ, Λ⁻¹) = Σ log diag L − ½‖Lᵀ(z − μ)‖² − D/2 log 2π``. Every function is
jit-able and ``vmap``-able over leading axes of posterior draws.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import logsumexp

__all__ = [
    "GMMParams",
    "component_log_prob",
    "QUADRATIC_FEATURES_MAX_DIM",
    "log_prob",
    "covariances",
    "from_covariances",
    "marginal",
    "pad_components",
    "first_components",
    "component_points",
    "sample",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


class GMMParams(NamedTuple):
    """Parameters of a Gaussian mixture (a JAX pytree).

    weights: (K,) mixture weights, summing to one.
    means: (K, D) component means.
    prec_chol: (K, D, D) lower Cholesky factors of the component precisions.
    """

    weights: jax.Array
    means: jax.Array
    prec_chol: jax.Array


def _quadratic_features(z: jax.Array) -> jax.Array:
    """Monomials ``(z_i z_j for i ≤ j, z_i)`` of each point: (N, D) -> (N, D(D+1)/2 + D)."""
    rows, cols = np.triu_indices(z.shape[-1])
    return jnp.concatenate([z[:, rows] * z[:, cols], z], axis=-1)


#: Up to this dimension :func:`component_log_prob` uses the quadratic monomials of the points (their
#: number grows like D²/2: 1325 per point at D = 50, where building them took 30× the direct product).
QUADRATIC_FEATURES_MAX_DIM = 10


def component_log_prob(params: GMMParams, z: jax.Array) -> jax.Array:
    """``log w_k + log N(z_i | μ_k, Σ_k)`` for every point and component: (N, D) -> (N, K).

    Up to :data:`QUADRATIC_FEATURES_MAX_DIM` dimensions the Mahalanobis terms
    ``(z − μ)ᵀΛ(z − μ)`` of all components come from one matrix product of the points'
    quadratic monomials with per-component coefficients, which on CPU is several times faster
    than contracting the tiny (K, D, D) axes point by point; above it, from ``‖Lᵀ(z − μ)‖²``.
    """
    dim = params.means.shape[-1]
    half_log_det = jnp.sum(jnp.log(jnp.diagonal(params.prec_chol, axis1=-2, axis2=-1)), -1)
    log_norm = half_log_det - 0.5 * dim * _LOG_2PI
    if dim > QUADRATIC_FEATURES_MAX_DIM:
        whitened = jnp.einsum("nd,kde->nke", z, params.prec_chol) - jnp.einsum("kd,kde->ke", params.means,
                                                                                 params.prec_chol)
        return jnp.log(params.weights) + log_norm - 0.5 * jnp.sum(whitened**2, -1)
    rows, cols = np.triu_indices(dim)
    prec = params.prec_chol @ jnp.swapaxes(params.prec_chol, -1, -2)  # (K, D, D)
    prec_mean = jnp.einsum("kde,ke->kd", prec, params.means)
    coef = jnp.concatenate(
        [jnp.where(rows == cols, 1.0, 2.0) * prec[:, rows, cols], -2.0 * prec_mean], axis=-1
    )
    mahalanobis = _quadratic_features(z) @ coef.T + jnp.sum(params.means * prec_mean, -1)
    return jnp.log(params.weights) + log_norm - 0.5 * mahalanobis


def log_prob(params: GMMParams, z: jax.Array) -> jax.Array:
    """Mixture log density (nats) at each point: (N, D) -> (N,)."""
    return logsumexp(component_log_prob(params, z), axis=-1)


def covariances(params: GMMParams) -> jax.Array:
    """Component covariance matrices ``(L Lᵀ)⁻¹``: (..., K, D, D). NumPy leaves give a NumPy array
    (computed on the host, as the diagnostics do for every stored draw)."""
    if isinstance(params.prec_chol, np.ndarray):
        inv_chol = np.linalg.inv(params.prec_chol.astype(np.float64))  # L⁻¹, lower triangular
        return np.einsum("...ji,...jl->...il", inv_chol, inv_chol).astype(params.prec_chol.dtype)
    eye = jnp.broadcast_to(jnp.eye(params.means.shape[-1], dtype=params.prec_chol.dtype), params.prec_chol.shape)
    inv_chol = solve_triangular(params.prec_chol, eye, lower=True)  # L⁻¹
    return jnp.einsum("...ji,...jl->...il", inv_chol, inv_chol)  # L⁻ᵀ L⁻¹


def from_covariances(weights: jax.Array, means: jax.Array, covs: jax.Array) -> GMMParams:
    """Build :class:`GMMParams` from covariance matrices (K, D, D)."""
    prec = jnp.linalg.inv(covs)
    prec = 0.5 * (prec + jnp.swapaxes(prec, -1, -2))
    return GMMParams(weights, means, jnp.linalg.cholesky(prec))


def marginal(params: GMMParams, dims: Sequence[int]) -> GMMParams:
    """The marginal mixture of the coordinates ``dims`` (exact: sliced means and covariances)."""
    idx = np.asarray(dims)
    covs = covariances(params)[:, idx[:, None], idx[None, :]]
    return from_covariances(params.weights, params.means[:, idx], covs)


def pad_components(params: GMMParams, n_components: int) -> GMMParams:
    """The same mixture with ``n_components`` ≥ K slots: the added components have weight 0
    (they contribute nothing to any density or expectation), mean 0 and unit precision.
    Leaves may carry leading batch axes; NumPy leaves give NumPy leaves."""
    extra = n_components - params.weights.shape[-1]
    if extra < 0:
        raise ValueError(f"cannot pad a {params.weights.shape[-1]}-component mixture to {n_components}")
    if extra == 0:
        return params
    xp = np if isinstance(params.weights, np.ndarray) else jnp  # NumPy leaves stay on the host
    lead, dim = params.weights.shape[:-1], params.means.shape[-1]
    eye = xp.broadcast_to(xp.eye(dim, dtype=params.prec_chol.dtype), lead + (extra, dim, dim))
    return GMMParams(xp.concatenate([params.weights, xp.zeros(lead + (extra,), params.weights.dtype)], -1),
                     xp.concatenate([params.means, xp.zeros(lead + (extra, dim), params.means.dtype)], -2),
                     xp.concatenate([params.prec_chol, eye], -3))


def first_components(params: GMMParams, n_components: int) -> GMMParams:
    """The first ``n_components`` components (e.g. without the padding of :func:`pad_components`);
    leaves may carry leading batch axes."""
    return GMMParams(params.weights[..., :n_components], params.means[..., :n_components, :],
                     params.prec_chol[..., :n_components, :, :])


def component_points(params: GMMParams, eps: jax.Array) -> jax.Array:
    """Map standard-normal points (..., D) to every component: (K, ..., D), ``z = μ_k + L_k⁻ᵀ ε``.

    ``L_k⁻¹`` is formed once per component (a D×D triangular solve) and applied to all points
    by one matrix product: faster than a triangular solve with every point as right-hand side,
    and that batched solve deadlocked jaxlib 0.10 on CPU for large point sets.
    """
    flat = eps.reshape(-1, eps.shape[-1])
    eye = jnp.broadcast_to(jnp.eye(eps.shape[-1], dtype=params.prec_chol.dtype), params.prec_chol.shape)
    inv_chol = solve_triangular(params.prec_chol, eye, lower=True)  # L⁻¹ (K, D, D)
    pts = params.means[:, None, :] + jnp.einsum("nd,kde->kne", flat, inv_chol)  # rows εᵀ L⁻¹ = (L⁻ᵀ ε)ᵀ
    return pts.reshape((params.means.shape[0],) + eps.shape)


def sample(params: GMMParams, key: jax.Array, n: int) -> jax.Array:
    """Draw ``n`` points from the mixture: (n, D)."""
    key_comp, key_eps = jax.random.split(key)
    comp = jax.random.categorical(key_comp, jnp.log(params.weights), shape=(n,))
    eps = jax.random.normal(key_eps, (n, params.means.shape[-1]), dtype=params.means.dtype)
    means = params.means[comp]
    chol = params.prec_chol[comp]
    shift = solve_triangular(jnp.swapaxes(chol, -1, -2), eps[..., None], lower=False)
    return means + shift[..., 0]
