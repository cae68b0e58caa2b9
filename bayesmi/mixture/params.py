"""A Gaussian (or Student-t) mixture as a parameter pytree, and its densities, marginals and samples (pure JAX).

A mixture of ``K`` components in ``D`` dimensions is a :class:`GMMParams` with the lower Cholesky
factor ``L`` of each component's *precision* matrix (``Λ = L Lᵀ``), so that a log density needs no
matrix solve: ``log N(z | μ, Λ⁻¹) = Σ log diag L − ½‖Lᵀ(z − μ)‖² − D/2 log 2π``. With degrees of
freedom ``dof`` the components are multivariate Student-t, Gaussian scale mixtures
``z | g ~ N(μ, Λ⁻¹/g)``, ``g ~ Gamma(ν/2, rate ν/2)``, whose marginals are t with the same ν
(Kotz & Nadarajah 2004); ``Λ`` is then the inverse scale matrix. Every function is jit-able and
``vmap``-able over leading axes of posterior draws.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import gammaln, logsumexp

__all__ = [
    "GMMParams",
    "component_log_prob",
    "distance_log_prob",
    "mahalanobis",
    "QUADRATIC_FEATURES_MAX_DIM",
    "log_prob",
    "covariances",
    "from_covariances",
    "marginal",
    "pad_components",
    "first_components",
    "component_points",
    "point_dim",
    "mixing_quantile",
    "sample",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


class GMMParams(NamedTuple):
    """Parameters of a Gaussian mixture, or of a Student-t mixture where ``dof`` is set (a JAX pytree).

    weights: (K,) mixture weights, summing to one.
    means: (K, D) component means (centres).
    prec_chol: (K, D, D) lower Cholesky factors of the component precisions (inverse scale
        matrices of t components).
    dof: None for Gaussian components, or (K,) degrees of freedom ν_k > 0 of multivariate t ones.
    """

    weights: jax.Array
    means: jax.Array
    prec_chol: jax.Array
    dof: jax.Array | None = None


def _quadratic_features(z: jax.Array) -> jax.Array:
    """Monomials ``(z_i z_j for i ≤ j, z_i)`` of each point: (N, D) -> (N, D(D+1)/2 + D)."""
    rows, cols = np.triu_indices(z.shape[-1])
    return jnp.concatenate([z[:, rows] * z[:, cols], z], axis=-1)


#: Up to this dimension :func:`component_log_prob` uses the quadratic monomials of the points (their
#: number grows like D²/2: 1325 per point at D = 50, where building them took 30× the direct product).
QUADRATIC_FEATURES_MAX_DIM = 10


def mahalanobis(params: GMMParams, z: jax.Array) -> jax.Array:
    """Squared Mahalanobis distances ``(z_i − μ_k)ᵀ Λ_k (z_i − μ_k)`` of every point to every
    component: (N, D) -> (N, K).

    Up to :data:`QUADRATIC_FEATURES_MAX_DIM` dimensions they come from one matrix product of the
    points' quadratic monomials with per-component coefficients, which on CPU is several times faster
    than contracting the tiny (K, D, D) axes point by point; above it, from ``‖Lᵀ(z − μ)‖²``.

    The monomials are taken in coordinates w = Fᵀz where the weighted mean precision Σ_k w_k Λ_k =
    F Fᵀ is the identity (distances are unchanged by a joint linear map of points and components). In
    the data's coordinates the float32 sum zᵀΛz − 2μᵀΛz + μᵀΛμ cancels to an error of
    ~1e-7 · |z|² · ‖Λ‖: ~8 for two columns with 8 nats of MI (‖Λ‖ ~ 1e7), and distances came out
    negative. In w it is ~1e-7 · |w|² · ‖F⁻¹ Λ_k F⁻ᵀ‖, small unless one component is much thinner than
    their mean, plus the error of w itself, ~1e-7 · |z| · ‖F‖ per coordinate.
    """
    dim = params.means.shape[-1]
    if dim > QUADRATIC_FEATURES_MAX_DIM:
        whitened = jnp.einsum("nd,kde->nke", z, params.prec_chol) - jnp.einsum("kd,kde->ke", params.means,
                                                                                 params.prec_chol)
        return jnp.sum(whitened**2, -1)
    # F from the QR factors of [√w_k L_k]ᵀ: F Fᵀ = Σ w_k L_k L_kᵀ without squaring its condition number.
    # Distances do not depend on F, so no gradient flows through it (that gradient is exactly zero).
    stacked = jnp.sqrt(params.weights)[:, None, None] * jnp.swapaxes(params.prec_chol, -1, -2)  # (K, D, D)
    pooled_chol = jax.lax.stop_gradient(jnp.linalg.qr(stacked.reshape(-1, dim), mode="r").T)  # (D, D) lower
    relative_chol = solve_triangular(pooled_chol, params.prec_chol, lower=True)  # F⁻¹ L_k (K, D, D)
    rows, cols = np.triu_indices(dim)
    prec = relative_chol @ jnp.swapaxes(relative_chol, -1, -2)  # F⁻¹ Λ_k F⁻ᵀ
    means = params.means @ pooled_chol  # (Fᵀ μ_k)ᵀ
    prec_mean = jnp.einsum("kde,ke->kd", prec, means)
    coef = jnp.concatenate(
        [jnp.where(rows == cols, 1.0, 2.0) * prec[:, rows, cols], -2.0 * prec_mean], axis=-1
    )
    return _quadratic_features(z @ pooled_chol) @ coef.T + jnp.sum(means * prec_mean, -1)


def component_log_prob(params: GMMParams, z: jax.Array) -> jax.Array:
    """``log w_k + log p_k(z_i)`` for every point and component: (N, D) -> (N, K); p_k is
    N(μ_k, Λ_k⁻¹), or with ``dof`` the t density
    ``Γ((ν+D)/2) / (Γ(ν/2) (νπ)^(D/2)) · |Λ|^½ · (1 + m/ν)^(−(ν+D)/2)``, m the squared
    Mahalanobis distance (:func:`mahalanobis`)."""
    return distance_log_prob(params, mahalanobis(params, z))


def distance_log_prob(params: GMMParams, distance: jax.Array) -> jax.Array:
    """:func:`component_log_prob` from the squared Mahalanobis distances (N, K) of the points."""
    dim = params.means.shape[-1]
    half_log_det = jnp.sum(jnp.log(jnp.diagonal(params.prec_chol, axis1=-2, axis2=-1)), -1)
    if params.dof is None:
        log_norm = half_log_det - 0.5 * dim * _LOG_2PI
        return jnp.log(params.weights) + log_norm - 0.5 * distance
    nu = params.dof
    log_norm = gammaln(0.5 * (nu + dim)) - gammaln(0.5 * nu) - 0.5 * dim * jnp.log(nu * np.pi) + half_log_det
    return jnp.log(params.weights) + log_norm - 0.5 * (nu + dim) * jnp.log1p(distance / nu)


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
    """The marginal mixture of the coordinates ``dims`` (exact: sliced means and covariances, or
    scale matrices of t components, whose marginals keep their ν)."""
    idx = np.asarray(dims)
    covs = covariances(params)[:, idx[:, None], idx[None, :]]
    return from_covariances(params.weights, params.means[:, idx], covs)._replace(dof=params.dof)


def pad_components(params: GMMParams, n_components: int) -> GMMParams:
    """The same mixture with ``n_components`` ≥ K slots: the added components have weight 0
    (they contribute nothing to any density or expectation), mean 0, unit precision (and ν = 1).
    Leaves may carry leading batch axes; NumPy leaves give NumPy leaves."""
    extra = n_components - params.weights.shape[-1]
    if extra < 0:
        raise ValueError(f"cannot pad a {params.weights.shape[-1]}-component mixture to {n_components}")
    if extra == 0:
        return params
    xp = np if isinstance(params.weights, np.ndarray) else jnp  # NumPy leaves stay on the host
    lead, dim = params.weights.shape[:-1], params.means.shape[-1]
    eye = xp.broadcast_to(xp.eye(dim, dtype=params.prec_chol.dtype), lead + (extra, dim, dim))
    dof = None if params.dof is None else xp.concatenate([params.dof, xp.ones(lead + (extra,), params.dof.dtype)], -1)
    return GMMParams(xp.concatenate([params.weights, xp.zeros(lead + (extra,), params.weights.dtype)], -1),
                     xp.concatenate([params.means, xp.zeros(lead + (extra, dim), params.means.dtype)], -2),
                     xp.concatenate([params.prec_chol, eye], -3), dof)


def first_components(params: GMMParams, n_components: int) -> GMMParams:
    """The first ``n_components`` components (e.g. without the padding of :func:`pad_components`);
    leaves may carry leading batch axes."""
    return GMMParams(params.weights[..., :n_components], params.means[..., :n_components, :],
                     params.prec_chol[..., :n_components, :, :],
                     None if params.dof is None else params.dof[..., :n_components])


def point_dim(params: GMMParams) -> int:
    """Coordinates of the standard-normal points :func:`component_points` maps: D, and one more
    for the mixing variable g of t components."""
    return params.means.shape[-1] + (params.dof is not None)


#: The table of :func:`mixing_quantile`: ``a log g`` (a = ν/2; smooth in ν also in the lower tail of
#: small ν, where ``log g ≈ (log Φ(e) + log Γ(a + 1)) / a − log a``, and 8-15× more accurate there than
#: log g itself) on a lattice of log ν (``_TABLE_DOF``, geometric) by normal scores e (``_TABLE_SCORES``,
#: even), interpolated bilinearly. Newton's method on the incomplete
#: gamma function in every point of every draw made a 3-component t posterior's integral take 226 s
#: (the gamma function's series dominate); the lookup costs what the points' densities cost.
_TABLE_DOF = (0.25, 1000.0, 256)
_TABLE_SCORES = (-8.0, 8.0, 1024)


@functools.cache
def _mixing_table() -> np.ndarray:
    """``a log g`` (n_dof, n_scores) at the lattice points, exact (SciPy's inverse incomplete gamma
    function, each tail from its own side so neither loses digits to 1 − Φ(e))."""
    from scipy import special  # only when a t mixture is integrated

    a = np.geomspace(*_TABLE_DOF)[:, None] / 2.0
    e = np.linspace(*_TABLE_SCORES)[None, :]
    x = np.where(e < 0, special.gammaincinv(a, special.ndtr(e)), special.gammainccinv(a, special.ndtr(-e)))
    return (a * np.log(x / a)).astype(np.float32)


def mixing_quantile(dof: jax.Array, e: jax.Array) -> jax.Array:
    """The mixing variable ``g ~ Gamma(ν/2, rate ν/2)`` of a t component at the quantile ``Φ(e)``
    of standard-normal scores e: ``g = P⁻¹(ν/2, Φ(e)) / (ν/2)``, P the regularised lower incomplete
    gamma function. dof and e broadcast against each other.

    Bilinear interpolation in (log ν, e) on an exact table: relative error below 3e-4 for ν in
    [0.5, 500] and |e| ≤ 5.5, median 2e-5 (tested against SciPy). ν is clipped to [0.25, 1000] and
    e to [−8, 8] (the moment-matched QMC points stay within ±6).
    """
    table = jnp.asarray(_mixing_table())
    (low, high, n_dof), (e_low, e_high, n_scores) = _TABLE_DOF, _TABLE_SCORES
    row = jnp.clip((jnp.log(dof) - np.log(low)) / (np.log(high / low) / (n_dof - 1)), 0.0, n_dof - 1.0)
    col = jnp.clip((e - e_low) / ((e_high - e_low) / (n_scores - 1)), 0.0, n_scores - 1.0)
    row, col = jnp.broadcast_arrays(row, col)
    r0, c0 = jnp.minimum(jnp.floor(row), n_dof - 2).astype(jnp.int32), jnp.minimum(jnp.floor(col), n_scores - 2).astype(jnp.int32)
    fr, fc = row - r0, col - c0
    a_log_g = ((1 - fr) * ((1 - fc) * table[r0, c0] + fc * table[r0, c0 + 1])
               + fr * ((1 - fc) * table[r0 + 1, c0] + fc * table[r0 + 1, c0 + 1]))
    return jnp.exp(a_log_g / (0.5 * jnp.clip(dof, low, high)))


def component_points(params: GMMParams, eps: jax.Array) -> jax.Array:
    """Map standard-normal points (..., :func:`point_dim`) to every component: (K, ..., D),
    ``z = μ_k + L_k⁻ᵀ ε`` (Gaussian), or ``z = μ_k + L_k⁻ᵀ ε / √g`` with g the mixing variable at
    the last coordinate's quantile (:func:`mixing_quantile`; t components).

    ``L_k⁻¹`` is formed once per component (a D×D triangular solve) and applied to all points
    by one matrix product: faster than a triangular solve with every point as right-hand side,
    and that batched solve deadlocked jaxlib 0.10 on CPU for large point sets.
    """
    dim = params.means.shape[-1]
    flat = eps.reshape(-1, eps.shape[-1])
    eye = jnp.broadcast_to(jnp.eye(dim, dtype=params.prec_chol.dtype), params.prec_chol.shape)
    inv_chol = solve_triangular(params.prec_chol, eye, lower=True)  # L⁻¹ (K, D, D)
    offsets = jnp.einsum("nd,kde->kne", flat[:, :dim], inv_chol)  # rows εᵀ L⁻¹ = (L⁻ᵀ ε)ᵀ
    if params.dof is not None:
        # Materialised: fused into the densities' quadratic features instead, the table lookup was
        # recomputed for every monomial, and a t mixture's MI cost 2.2 × its fixed-point evaluation.
        offsets = jax.lax.optimization_barrier(
            offsets / jnp.sqrt(mixing_quantile(params.dof[:, None], flat[None, :, dim]))[..., None])
    pts = params.means[:, None, :] + offsets
    return pts.reshape((params.means.shape[0],) + eps.shape[:-1] + (dim,))


def sample(params: GMMParams, key: jax.Array, n: int) -> jax.Array:
    """Draw ``n`` points from the mixture: (n, D)."""
    key_comp, key_eps = jax.random.split(key)
    comp = jax.random.categorical(key_comp, jnp.log(params.weights), shape=(n,))
    eps = jax.random.normal(key_eps, (n, params.means.shape[-1]), dtype=params.means.dtype)
    means = params.means[comp]
    chol = params.prec_chol[comp]
    shift = solve_triangular(jnp.swapaxes(chol, -1, -2), eps[..., None], lower=False)[..., 0]
    if params.dof is not None:
        half_dof = 0.5 * params.dof[comp]
        shift = shift * jax.lax.rsqrt(jax.random.gamma(jax.random.fold_in(key_eps, 1), half_dof) / half_dof)[:, None]
    return means + shift
