"""Gaussian-mixture mathematics as pure JAX functions on a parameter pytree.

Everything here is jit-able and ``vmap``-able over a leading axis of posterior
draws; nothing knows about NumPyro, inference or plotting.

A mixture of ``K`` components in ``D`` dimensions is a :class:`GMMParams` with
the lower Cholesky factor ``L`` of each component's *precision* matrix
(``Λ = L Lᵀ``), so that a log density needs no matrix solve:
``log N(z | μ, Λ⁻¹) = Σ log diag L − ½‖Lᵀ(z − μ)‖² − D/2 log 2π``.

Every information quantity is one expectation under a mixture, computed by
:func:`expectation` (component-stratified, moment-matched randomised QMC) and
summarised by :func:`mc_estimate`: mutual information, entropy, KL divergence,
conditional MI and the MI of a continuous x with a class label, each with its
pointwise integrand where that is useful on data.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import logsumexp
from scipy.stats import norm, qmc

__all__ = [
    "GMMParams",
    "component_log_prob",
    "log_prob",
    "covariances",
    "from_covariances",
    "marginal",
    "pad_components",
    "sample",
    "qmc_normal_points",
    "expectation",
    "mc_estimate",
    "pointwise_mutual_information",
    "mutual_information",
    "entropy",
    "kl_divergence",
    "pointwise_conditional_mutual_information",
    "conditional_mutual_information",
    "class_log_likelihoods",
    "pointwise_categorical_mutual_information",
    "categorical_mutual_information",
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


def component_log_prob(params: GMMParams, z: jax.Array) -> jax.Array:
    """``log w_k + log N(z_i | μ_k, Σ_k)`` for every point and component: (N, D) -> (N, K).

    The Mahalanobis terms ``(z − μ)ᵀΛ(z − μ)`` of all components come from one
    matrix product of the points' quadratic monomials with per-component
    coefficients, which on CPU is several times faster than contracting the
    tiny (K, D, D) axes point by point.
    """
    dim = params.means.shape[-1]
    rows, cols = np.triu_indices(dim)
    prec = params.prec_chol @ jnp.swapaxes(params.prec_chol, -1, -2)  # (K, D, D)
    prec_mean = jnp.einsum("kde,ke->kd", prec, params.means)
    coef = jnp.concatenate(
        [jnp.where(rows == cols, 1.0, 2.0) * prec[:, rows, cols], -2.0 * prec_mean], axis=-1
    )
    mahalanobis = _quadratic_features(z) @ coef.T + jnp.sum(params.means * prec_mean, -1)
    half_log_det = jnp.sum(jnp.log(jnp.diagonal(params.prec_chol, axis1=-2, axis2=-1)), -1)
    log_norm = half_log_det - 0.5 * dim * _LOG_2PI
    return jnp.log(params.weights) + log_norm - 0.5 * mahalanobis


def log_prob(params: GMMParams, z: jax.Array) -> jax.Array:
    """Mixture log density (nats) at each point: (N, D) -> (N,)."""
    return logsumexp(component_log_prob(params, z), axis=-1)


def covariances(params: GMMParams) -> jax.Array:
    """Component covariance matrices ``(L Lᵀ)⁻¹``: (..., K, D, D)."""
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
    Leaves may carry leading batch axes."""
    extra = n_components - params.weights.shape[-1]
    if extra < 0:
        raise ValueError(f"cannot pad a {params.weights.shape[-1]}-component mixture to {n_components}")
    lead, dim = params.weights.shape[:-1], params.means.shape[-1]
    eye = jnp.broadcast_to(jnp.eye(dim, dtype=params.prec_chol.dtype), lead + (extra, dim, dim))
    return GMMParams(jnp.concatenate([params.weights, jnp.zeros(lead + (extra,), params.weights.dtype)], -1),
                     jnp.concatenate([params.means, jnp.zeros(lead + (extra, dim), params.means.dtype)], -2),
                     jnp.concatenate([params.prec_chol, eye], -3))


def _component_points(params: GMMParams, eps: jax.Array) -> jax.Array:
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


def qmc_normal_points(dim: int, n_points: int, n_randomizations: int, seed: int) -> np.ndarray:
    """Moment-matched randomised quasi-Monte Carlo standard-normal points: (R, M, dim).

    Each of the ``R`` replicates is an independently scrambled Sobol sequence
    of ``M`` points (``M`` a power of two) mapped through the normal quantile,
    then shifted and linearly transformed so that its sample mean is exactly 0
    and its sample covariance exactly I. An integrand that is quadratic in the
    point — the pointwise MI of a single Gaussian, and nearly so of each
    well-separated component — is then integrated exactly; the spread of the
    ``R`` replicate estimates measures the remaining error.
    """
    if n_points & (n_points - 1) or n_points < 2 * dim:
        raise ValueError(f"n_points must be a power of two and >= 2*dim, got {n_points}")
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_randomizations):
        u = qmc.Sobol(d=dim, scramble=True, seed=rng).random(n_points)
        eps = norm.ppf(np.clip(u, 1e-12, 1.0 - 1e-12))
        eps -= eps.mean(0)
        chol = np.linalg.cholesky(eps.T @ eps / n_points)
        reps.append(np.linalg.solve(chol, eps.T).T)
    return np.stack(reps).astype(np.float32)


def expectation(
    params: GMMParams, integrand: Callable[[jax.Array], jax.Array], base_points: jax.Array
) -> jax.Array:
    """Per-randomisation estimates (R,) of ``E_{z ~ params}[integrand(z)]``.

    The expectation is stratified by component, ``Σ_k w_k E_{N_k}[·]``, and each
    component expectation averages ``integrand`` (points (n, D) -> values (n,),
    e.g. a log-density ratio in nats) over the shared randomised-QMC normal points
    ``base_points`` (R, M, D) mapped to that component: common random numbers
    across posterior draws. Every information quantity here is one such
    expectation; :func:`mc_estimate` turns the R estimates into a value and
    standard error.
    """
    pts = _component_points(params, base_points)  # (K, R, M, D)
    values = integrand(pts.reshape(-1, pts.shape[-1])).reshape(pts.shape[:-1])
    return jnp.einsum("k,kr->r", params.weights, values.mean(-1))


def mc_estimate(per_rep: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean of R independent randomised-QMC estimates (R,) and its standard error."""
    return per_rep.mean(), per_rep.std(ddof=1) / jnp.sqrt(per_rep.shape[0])


def pointwise_mutual_information(params: GMMParams, dim_x: int, z: jax.Array) -> jax.Array:
    """``log p(x,y) − log p(x) − log p(y)`` (nats) at points z = (x, y) (N, D): (N,).

    x is the first ``dim_x`` coordinates; the marginals are exact. Its mean under
    the mixture is I(X;Y).
    """
    dim = params.means.shape[-1]
    px, py = marginal(params, tuple(range(dim_x))), marginal(params, tuple(range(dim_x, dim)))
    return log_prob(params, z) - log_prob(px, z[:, :dim_x]) - log_prob(py, z[:, dim_x:])


def mutual_information(
    params: GMMParams, dim_x: int, base_points: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """I(X;Y) in nats of the mixture over z = (x, y), x the first ``dim_x`` coordinates.

    ``I = E_p[log p(x,y) − log p(x) − log p(y)]`` by :func:`expectation` with
    the randomised-QMC points ``base_points`` (R, M, D). Returns ``(mi, mc_se)``:
    the estimate and its standard error from the spread of the R randomisations.
    """
    pmi = lambda z: pointwise_mutual_information(params, dim_x, z)  # noqa: E731
    return mc_estimate(expectation(params, pmi, base_points))


def entropy(params: GMMParams, base_points: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Differential entropy ``H = −E_p[log p(z)]`` (nats) and its MC standard error.

    With moment-matched points (:func:`qmc_normal_points`) it is exact for one component.
    """
    return mc_estimate(expectation(params, lambda z: -log_prob(params, z), base_points))


def kl_divergence(p: GMMParams, q: GMMParams, base_points: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``KL(P‖Q) = E_P[log p(z) − log q(z)]`` (nats) of two mixtures in the same D dims, and its MC s.e.

    ``base_points`` (R, M, D) are mapped to P's components.
    """
    return mc_estimate(expectation(p, lambda z: log_prob(p, z) - log_prob(q, z), base_points))


def pointwise_conditional_mutual_information(
    params: GMMParams, dim_x: int, dim_y: int, z: jax.Array
) -> jax.Array:
    """``log p(x,y,w) + log p(w) − log p(x,w) − log p(y,w)`` (nats) at points (N, D): (N,).

    The coordinates are x (first ``dim_x``), y (next ``dim_y``) and the conditioning
    w (the rest, at least one). Its mean under the mixture is I(X;Y|W).
    """
    dim = params.means.shape[-1]
    x, y, w = np.arange(dim_x), np.arange(dim_x, dim_x + dim_y), np.arange(dim_x + dim_y, dim)
    pw, pxw, pyw = (marginal(params, tuple(d)) for d in (w, np.r_[x, w], np.r_[y, w]))
    return (log_prob(params, z) + log_prob(pw, z[:, w]) - log_prob(pxw, z[:, np.r_[x, w]])
            - log_prob(pyw, z[:, np.r_[y, w]]))


def conditional_mutual_information(
    params: GMMParams, dim_x: int, dim_y: int, base_points: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """I(X;Y|W) in nats of the mixture over (x, y, w) and its MC s.e.; coordinates as in
    :func:`pointwise_conditional_mutual_information`."""
    pcmi = lambda z: pointwise_conditional_mutual_information(params, dim_x, dim_y, z)  # noqa: E731
    return mc_estimate(expectation(params, pcmi, base_points))


def class_log_likelihoods(class_params: Sequence[GMMParams], x: jax.Array) -> jax.Array:
    """``log p(x | y = c)`` of every point (N, D) under each class's mixture: (N, C).

    The classes may have different numbers of components.
    """
    return jnp.stack([log_prob(params, x) for params in class_params], axis=-1)


def pointwise_categorical_mutual_information(
    class_probs: jax.Array, class_params: Sequence[GMMParams], x: jax.Array, c: int | jax.Array
) -> jax.Array:
    """``log p(x | c) − log Σ_c' p(c') p(x | c')`` (nats) at points x (N, D) of class ``c``: (N,).

    class_probs: (C,) class probabilities p(c); class_params: one mixture p(x | c) per class;
    c: one class for all points, or the class (N,) of each point.
    """
    log_lik = class_log_likelihoods(class_params, x)
    own = jnp.take_along_axis(log_lik, jnp.broadcast_to(c, x.shape[:1])[:, None], axis=1)[:, 0]
    return own - logsumexp(log_lik + jnp.log(class_probs), axis=-1)


def categorical_mutual_information(
    class_probs: jax.Array, class_params: Sequence[GMMParams], base_points: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """I(X;Y) in nats of a class Y ~ Categorical(class_probs) and x | y = c ~ ``class_params[c]``.

    ``I = Σ_c p(c) E_{p(x|c)}[log p(x|c) − log Σ_c' p(c') p(x|c')]``; every class
    expectation uses the same points ``base_points`` (R, M, D), so the MC s.e. comes
    from the R randomisations of the weighted sum.
    """
    per_rep = sum(
        class_probs[c] * expectation(
            params, lambda x, c=c: pointwise_categorical_mutual_information(class_probs, class_params, x, c),
            base_points)
        for c, params in enumerate(class_params)
    )
    return mc_estimate(per_rep)
