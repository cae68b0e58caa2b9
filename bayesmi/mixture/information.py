"""Information quantities of Gaussian (or Student-t) mixtures, each one expectation under a mixture (pure JAX).

Mutual information, entropy, KL divergence, conditional MI and the MI of a continuous x with a
class label, with their pointwise integrands where those are useful on data. Marginals are exact
(sliced means and covariances); expectations use :func:`bayesmi.mixture.quadrature.expectation`.
Every quantity is in nats and returns ``(value, mc_se)`` for one parameter set. A single component
(K = 1, known when the function is traced) has closed forms in log-determinants, used instead of
the quadrature (MC s.e. 0): no points at all, which is what keeps 50-dimensional Gaussian-like
data cheap. A single t has them for the quantities made of marginal entropies (MI, entropy,
conditional MI), its marginals being t with the same ν; its KL divergence takes points.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import digamma, gammaln, logsumexp, xlogy

from bayesmi.mixture.params import GMMParams, component_log_prob, component_points, covariances, log_prob, marginal
from bayesmi.mixture.quadrature import expectation, mc_estimate

__all__ = [
    "closed_form",
    "pointwise_mutual_information",
    "mutual_information",
    "entropy",
    "kl_divergence",
    "pointwise_conditional_mutual_information",
    "conditional_mutual_information",
    "class_log_likelihoods",
    "class_mixture",
    "pointwise_categorical_mutual_information",
    "categorical_mutual_information",
]


_LOG_2PI_E = float(np.log(2.0 * np.pi * np.e))


def _single(params: GMMParams) -> bool:
    """Whether ``params`` is one component (a static shape fact, so a Python branch under jit)."""
    return params.weights.shape[-1] == 1


def _entropy_offsets(params: GMMParams, plus: Sequence[int], minus: Sequence[int]) -> jax.Array | float:
    """``Σ_plus c(k) − Σ_minus c(k)`` (nats), c(k) = h − ½ log det Σ of a single component's
    k-dimensional marginal: 0 for a Gaussian where the dimensions balance (c(k) = (k/2) log 2πe), and
    for a t (ν) ``(k/2) log(νπ) + log Γ(ν/2) − log Γ(a) + a (ψ(a) − ψ(ν/2))``, a = (ν + k)/2
    (Arellano-Valle, Contreras-Reyes & Genton 2013)."""
    if params.dof is None:
        return 0.5 * _LOG_2PI_E * (sum(plus) - sum(minus))
    nu = params.dof[0]

    def offset(k: int) -> jax.Array:
        a = 0.5 * (nu + k)
        return 0.5 * k * jnp.log(nu * np.pi) + gammaln(0.5 * nu) - gammaln(a) + a * (digamma(a) - digamma(0.5 * nu))

    return sum(offset(k) for k in plus) - sum(offset(k) for k in minus)


def _log_det_cov(params: GMMParams, dims: Sequence[int] | np.ndarray | None = None) -> jax.Array:
    """``log det Σ`` (nats) of a single Gaussian's covariance, or of its sub-matrix on ``dims``."""
    if dims is None:
        return -2.0 * jnp.sum(jnp.log(jnp.diagonal(params.prec_chol[0])))
    idx = np.asarray(dims)
    cov = covariances(params)[0][idx[:, None], idx[None, :]]
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(jnp.linalg.cholesky(cov))))


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
    the estimate and its standard error from the spread of the R randomisations. One
    Gaussian: ``½ (log det Σ_x + log det Σ_y − log det Σ)`` exactly, s.e. 0; one t: that plus
    :func:`_entropy_offsets`, the part of I that its ν adds.
    """
    if _single(params):
        dim = params.means.shape[-1]
        mi = 0.5 * (_log_det_cov(params, range(dim_x)) + _log_det_cov(params, range(dim_x, dim))
                    - _log_det_cov(params)) + _entropy_offsets(params, (dim_x, dim - dim_x), (dim,))
        return mi, jnp.zeros_like(mi)
    pmi = lambda z: pointwise_mutual_information(params, dim_x, z)  # noqa: E731
    return mc_estimate(expectation(params, pmi, base_points))


def entropy(params: GMMParams, base_points: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Differential entropy ``H = −E_p[log p(z)]`` (nats) and its MC standard error.

    One Gaussian: ``½ (D log 2πe + log det Σ)`` exactly, s.e. 0 (one t: :func:`_entropy_offsets`).
    """
    if _single(params):
        h = 0.5 * _log_det_cov(params) + _entropy_offsets(params, (params.means.shape[-1],), ())
        return h, jnp.zeros_like(h)
    return mc_estimate(expectation(params, lambda z: -log_prob(params, z), base_points))


def kl_divergence(p: GMMParams, q: GMMParams, base_points: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``KL(P‖Q) = E_P[log p(z) − log q(z)]`` (nats) of two mixtures in the same D dims, and its MC s.e.

    ``base_points`` (R, M, D) are mapped to P's components. Two single Gaussians:
    ``½ (tr(Σ_q⁻¹ Σ_p) + δᵀ Σ_q⁻¹ δ − D + log det Σ_q − log det Σ_p)``, δ = μ_q − μ_p, s.e. 0.
    """
    if _single(p) and _single(q) and p.dof is None and q.dof is None:
        # Λ_q = L Lᵀ: tr(Λ_q Σ_p) = ‖Lᵀ L_p⁻ᵀ‖²_F and δᵀ Λ_q δ = ‖Lᵀ δ‖².
        lq, lp = q.prec_chol[0], p.prec_chol[0]
        cross = lq.T @ jax.scipy.linalg.solve_triangular(lp, jnp.eye(lp.shape[0], dtype=lp.dtype), lower=True).T
        delta = lq.T @ (q.means[0] - p.means[0])
        kl = 0.5 * (jnp.sum(cross**2) + jnp.sum(delta**2) - lp.shape[0] + _log_det_cov(q) - _log_det_cov(p))
        return kl, jnp.zeros_like(kl)
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
    :func:`pointwise_conditional_mutual_information`. One Gaussian:
    ``½ (log det Σ_xw + log det Σ_yw − log det Σ − log det Σ_w)`` exactly, s.e. 0 (one t: plus
    :func:`_entropy_offsets`)."""
    if _single(params):
        dim = params.means.shape[-1]
        x, y, w = np.arange(dim_x), np.arange(dim_x, dim_x + dim_y), np.arange(dim_x + dim_y, dim)
        cmi = 0.5 * (_log_det_cov(params, np.r_[x, w]) + _log_det_cov(params, np.r_[y, w])
                     - _log_det_cov(params) - _log_det_cov(params, w)) + _entropy_offsets(
            params, (dim_x + w.size, dim_y + w.size), (dim, w.size))
        return cmi, jnp.zeros_like(cmi)
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


def class_mixture(class_probs: jax.Array, class_params: Sequence[GMMParams]) -> tuple[GMMParams, np.ndarray]:
    """The x-marginal ``p(x) = Σ_c p(c) p(x | c)`` as one mixture of all classes' components (weights
    ``p(c) w_ck``), and the (start, stop) slice of each class's components in it: (C + 1,) offsets."""
    weights = jnp.concatenate([class_probs[c] * params.weights for c, params in enumerate(class_params)], -1)
    means = jnp.concatenate([params.means for params in class_params], -2)
    prec_chol = jnp.concatenate([params.prec_chol for params in class_params], -3)
    dof = None if class_params[0].dof is None else jnp.concatenate([params.dof for params in class_params], -1)
    offsets = np.cumsum([0] + [params.weights.shape[-1] for params in class_params])
    return GMMParams(weights, means, prec_chol, dof), offsets


def categorical_mutual_information(
    class_probs: jax.Array, class_params: Sequence[GMMParams], base_points: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """I(X;Y) in nats of a class Y ~ Categorical(class_probs) and x | y = c ~ ``class_params[c]``.

    ``I = H(Y) − E_{p(x)}[H(Y | x)]``, ``H(Y | x) = −Σ_c p(c | x) log p(c | x)``: one expectation
    under the x-marginal (:func:`class_mixture`). This averages the pointwise integrand
    ``log p(c | x) − log p(c)`` of ``Σ_c p(c) E_{p(x|c)}[·]`` over the label given x (Rao-Blackwell),
    so it is the same integral with a bounded integrand (in [−log C, 0]) and a smaller error: on a
    10-class Fashion-MNIST plane code (4-D, 38 components) the per-draw MC variance fell 4.7× and
    that of the error shared by all draws 8-20× (64-256 points per component), at the same cost.
    Every point is evaluated once under all classes' components (one (points, K) matrix of component
    log densities, summed per class by a matrix product). The points ``base_points`` (R, M, D) are shared by all components;
    the MC s.e. comes from the R randomisations.
    """
    mix, offsets = class_mixture(class_probs, class_params)
    pts = component_points(mix, base_points)  # (K, R, M, D)
    n_comp, n_classes = pts.shape[0], len(offsets) - 1
    terms = component_log_prob(mix, pts.reshape(-1, pts.shape[-1])).reshape(pts.shape[:-1] + (n_comp,))
    member = jax.nn.one_hot(np.repeat(np.arange(n_classes), np.diff(offsets)), n_classes, dtype=terms.dtype)
    joint = jnp.exp(terms - terms.max(-1, keepdims=True)) @ member  # ∝ p(c, x): (K, R, M, C)
    posterior = joint / joint.sum(-1, keepdims=True)  # p(c | x)
    neg_conditional_entropy = jnp.sum(xlogy(posterior, posterior), -1)
    class_entropy = -jnp.sum(xlogy(class_probs, class_probs))
    return mc_estimate(class_entropy + jnp.einsum("k,kr->r", mix.weights, neg_conditional_entropy.mean(-1)))


#: Quantities computed in closed form, without points, when every mixture they take is one component.
_CLOSED_FORMS = (mutual_information, entropy, conditional_mutual_information)


def closed_form(quantity: Callable, *mixtures: GMMParams) -> bool:
    """Whether ``quantity`` of these parameter sets (any leading batch axes) ignores its base points:
    MI, entropy and conditional MI of single components, KL of single Gaussians (not the categorical
    MI, whose x-marginal is a mixture over the classes)."""
    if quantity is kl_divergence:
        return all(_single(m) and m.dof is None for m in mixtures)
    return quantity in _CLOSED_FORMS and all(_single(m) for m in mixtures)
