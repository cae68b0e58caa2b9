"""Toy joint distributions of (X, Y) whose mutual information is known in closed form.

Every toy is a :class:`Toy`: ``toy.mi`` is the true I(X;Y) in nats, and
``toy.sample(n, seed)`` draws ``n`` i.i.d. pairs as float64 arrays of shape
``(n,)`` for a one-dimensional variable and ``(n, d)`` for a d-dimensional one.
Toys are built by the module-level constructors (``gaussian``, ``student_t``,
...), also reachable by name through :data:`TOYS` and :func:`get`;
``get(toy.name, **toy.params())`` rebuilds any toy except a ``transformed`` one.

All closed forms are derived in the docstrings below and checked against
numerical integration and Monte Carlo in ``tests/test_toys.py``. The one toy
without a closed form, ``class_conditional_gaussian``, computes its MI by
quadrature (d = 1) or a fixed-seed Monte Carlo (d > 1), with ``toy.mi_error``.
"""

from __future__ import annotations

import abc
import functools
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate, linalg, special

__all__ = [
    "MAPS",
    "STUDY_TOYS",
    "TOYS",
    "Toy",
    "additive_noise",
    "binary_symmetric_channel",
    "class_conditional_gaussian",
    "discrete_table",
    "gamma_exponential",
    "gaussian",
    "gaussian_mi",
    "gaussian_kl",
    "gaussian_cmi",
    "gaussian_pairs",
    "get",
    "independent",
    "multivariate_gaussian",
    "student_t",
    "transformed",
    "embedded",
    "Spiral",
    "Waves",
    "SwissRoll",
    "SUITE",
    "weinman_exponential",
]

Seed = int | np.random.Generator | np.random.SeedSequence | None
ElementwiseMap = Callable[[np.ndarray], np.ndarray]

# Toys compare by identity (they may hold arrays and callables) and share Toy.__repr__.
_toy = dataclass(frozen=True, eq=False, repr=False)


# --------------------------------------------------------------------------- validation


def _real(value: Any, name: str) -> float:
    """``value`` as a finite float, else ValueError naming ``name``."""
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def _positive(value: Any, name: str) -> float:
    """``value`` as a finite float > 0."""
    v = _real(value, name)
    if v <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return v


def _correlation(value: Any, name: str) -> float:
    """``value`` as a float in (−1, 1)."""
    v = _real(value, name)
    if not abs(v) < 1:
        raise ValueError(f"{name} must satisfy |{name}| < 1, got {value!r}")
    return v


def _integer(value: Any, name: str, low: int, high: int | None = None) -> int:
    """``value`` as an int in [low, high] (bools rejected)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        v = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if v < low or (high is not None and v > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bounds}, got {v}")
    return v


def _spd(cov: ArrayLike, name: str) -> np.ndarray:
    """Validated read-only float64 copy of a symmetric positive-definite matrix."""
    try:
        a = np.array(cov, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real matrix, got {cov!r}") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 2:
        raise ValueError(f"{name} must be a square matrix of size >= 2, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must have finite entries")
    if not np.allclose(a, a.T, rtol=1e-10, atol=1e-12 * np.abs(a).max()):
        raise ValueError(f"{name} must be symmetric")
    a = (a + a.T) / 2
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be positive definite") from None
    a.setflags(write=False)
    return a


def _nested_tuple(a: np.ndarray) -> tuple:
    """A matrix as a tuple of row tuples (immutable, printable settings)."""
    return tuple(map(tuple, a.tolist()))


# --------------------------------------------------------------------------- closed forms


def _logdet(a: np.ndarray) -> float:
    """log det of an SPD matrix via its Cholesky factor."""
    return 2.0 * float(np.sum(np.log(np.diag(np.linalg.cholesky(a)))))


def gaussian_mi(cov: ArrayLike, dim_x: int) -> float:
    """I(X;Y) in nats of a joint normal with covariance ``cov`` (shape (d, d), SPD).

    X is the first ``dim_x`` coordinates and Y the remaining ``d - dim_x``:
    I = ½ (log det Σ_xx + log det Σ_yy − log det Σ). The value is unchanged if
    ``cov`` is any scale matrix of an elliptical law (only ratios of
    determinants enter). Raises ValueError for a non-SPD ``cov`` or a ``dim_x``
    outside [1, d − 1].
    """
    a = _spd(cov, "cov")
    dx = _integer(dim_x, "dim_x", 1, a.shape[0] - 1)
    mi = 0.5 * (_logdet(a[:dx, :dx]) + _logdet(a[dx:, dx:]) - _logdet(a))
    return max(mi, 0.0)  # clip rounding below the bound I >= 0


def gaussian_kl(mean_p: ArrayLike, cov_p: ArrayLike, mean_q: ArrayLike, cov_q: ArrayLike) -> float:
    """KL(N(mean_p, cov_p) ‖ N(mean_q, cov_q)) in nats."""
    mp, mq = np.asarray(mean_p, float), np.asarray(mean_q, float)
    cp, cq = np.asarray(cov_p, float), np.asarray(cov_q, float)
    inv_q = np.linalg.inv(cq)
    diff = mq - mp
    return float(0.5 * (np.trace(inv_q @ cp) + diff @ inv_q @ diff - len(mp)
                        + np.linalg.slogdet(cq)[1] - np.linalg.slogdet(cp)[1]))


def gaussian_cmi(cov: ArrayLike, dim_x: int, dim_y: int) -> float:
    """I(X;Y|Z) in nats of a joint normal over (x, y, z) with covariance ``cov``:
    ½ log(det Σ_xz det Σ_yz / (det Σ_z det Σ_xyz)); z is what follows the first dim_x + dim_y coordinates."""
    cov = np.asarray(cov, float)
    dim = cov.shape[0]
    x, y, z = np.arange(dim_x), np.arange(dim_x, dim_x + dim_y), np.arange(dim_x + dim_y, dim)

    def logdet(idx: np.ndarray) -> float:
        return np.linalg.slogdet(cov[np.ix_(idx, idx)])[1]

    return float(0.5 * (logdet(np.r_[x, z]) + logdet(np.r_[y, z]) - logdet(z) - logdet(np.arange(dim))))


def _student_t_correction(dof: float, dim_x: int, dim_y: int) -> float:
    """I_t − I_Gauss (nats) for a multivariate t with ``dof`` split into dim_x + dim_y.

    The entropy of a k-dimensional t with scale Σ is
    ½ log det Σ + (k/2) log(νπ) + log Γ(ν/2) − log Γ(a_k) + a_k [ψ(a_k) − ψ(ν/2)],
    a_k = (ν + k)/2, and its marginals are t with the same ν, so
    I = h_x + h_y − h_xy = I_Gauss + g(0) + g(d) − g(dx) − g(dy) with
    g(k) = log Γ(a_k) − a_k ψ(a_k) (Arellano-Valle, Contreras-Reyes & Genton 2013).
    """

    def g(k: int) -> float:
        a = (dof + k) / 2
        return special.gammaln(a) - a * special.digamma(a)

    return float(g(0) + g(dim_x + dim_y) - g(dim_x) - g(dim_y))


def _hypoexponential_entropy(a: float, b: float) -> float:
    """Differential entropy (nats) of E_a + E_b, independent exponentials with rates a, b.

    With c = |a − b| > 0 and the density ab/(b − a) (e^{−ay} − e^{−by}),
    expanding log(1 − e^{−cy}) in powers of e^{−cy} and summing the series gives
        h = 1 + γ + log(c / (ab)) + ψ(max(a, b) / c),
    whose limit as c → 0 is the Gamma(2, rate a) entropy 1 + γ − log a.
    """
    c = abs(a - b)
    if c == 0:
        return 1 + np.euler_gamma - math.log(a)
    return float(1 + np.euler_gamma + math.log(c / (a * b)) + special.digamma(max(a, b) / c))


# --------------------------------------------------------------------------- toys


@_toy
class Toy(abc.ABC):
    """A joint law of (X, Y), X in R^dim_x and Y in R^dim_y, with known I(X;Y) in nats.

    ``name`` labels the toy (the :data:`TOYS` key of its constructor unless
    renamed) and ``settings`` holds the constructor arguments (see :meth:`params`).
    """

    name: str
    dim_x: int
    dim_y: int
    settings: Mapping[str, Any]

    @property
    @abc.abstractmethod
    def mi(self) -> float:
        """True mutual information I(X;Y) in nats."""

    @abc.abstractmethod
    def _draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` pairs as arrays of shape (n, dim_x) and (n, dim_y)."""

    def sample(self, n: int, seed: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. pairs (x, y) as float64 arrays.

        Shapes are (n,) for a one-dimensional variable and (n, d) otherwise.
        ``seed`` is anything :func:`numpy.random.default_rng` accepts; the same
        int seed always gives identical arrays, a Generator is advanced in place.
        """
        n = _integer(n, "n", 0)
        x, y = self._draw(np.random.default_rng(seed), n)
        return _as_samples(x, n, self.dim_x), _as_samples(y, n, self.dim_y)

    def params(self) -> dict[str, Any]:
        """The constructor settings (matrices as nested tuples), e.g. ``{"rho": 0.75}``."""
        return dict(self.settings)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={_label(v)}" for k, v in self.settings.items())
        return (
            f"{self.name}({args}) [dim_x={self.dim_x}, dim_y={self.dim_y}, "
            f"mi={self.mi:.6g} nats]"
        )


def _label(value: Any) -> str:
    """Short repr of a setting: callables by name."""
    if callable(value) and not isinstance(value, Toy):
        return getattr(value, "__name__", repr(value))
    return repr(value)


def _as_samples(a: ArrayLike, n: int, dim: int) -> np.ndarray:
    """Contiguous float64 array of shape (n,) if dim == 1 else (n, dim)."""
    a = np.asarray(a, dtype=np.float64)
    return np.ascontiguousarray(a.reshape(n) if dim == 1 else a.reshape(n, dim))


@_toy
class _Gaussian(Toy):
    """Zero-mean joint normal with covariance ``cov``; X is the first dim_x coordinates."""

    cov: np.ndarray

    @property
    def mi(self) -> float:
        return gaussian_mi(self.cov, self.dim_x)

    def _draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        z = rng.standard_normal((n, self.dim_x + self.dim_y)) @ np.linalg.cholesky(self.cov).T
        return z[:, : self.dim_x], z[:, self.dim_x :]


@_toy
class _StudentT(_Gaussian):
    """Multivariate t with scale ``cov``: the normal above times sqrt(dof / χ²_dof)."""

    dof: float

    @property
    def mi(self) -> float:
        return super().mi + _student_t_correction(self.dof, self.dim_x, self.dim_y)

    def _draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = super()._draw(rng, n)
        w = np.sqrt(self.dof / rng.chisquare(self.dof, size=(n, 1)))
        return x * w, y * w


@_toy
class _GammaExponential(Toy):
    """X ~ Gamma(alpha, rate 1), Y | X ~ Exponential(rate X); see :func:`gamma_exponential`."""

    alpha: float

    @property
    def mi(self) -> float:
        a = self.alpha
        return float(special.digamma(a) - math.log(a) + 1 / a)

    def _draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.gamma(self.alpha, 1.0, size=n)
        return x, rng.standard_exponential(n) / x


@_toy
class _Weinman(Toy):
    """X ~ Exp(rate 2), Y = X + Exp(mean theta); see :func:`weinman_exponential`."""

    theta: float

    @property
    def mi(self) -> float:
        return _hypoexponential_entropy(2.0, 1 / self.theta) - (1 + math.log(self.theta))

    def _draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.exponential(0.5, size=n)
        return x, x + rng.exponential(self.theta, size=n)


@_toy
class _AdditiveNoise(Toy):
    """X ~ U(0, 1), Y = X + U(−eps, eps); see :func:`additive_noise`."""

    eps: float

    @property
    def mi(self) -> float:
        e = self.eps
        return e - math.log(2 * e) if e <= 0.5 else 1 / (4 * e)

    def _draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(0.0, 1.0, size=n)
        return x, x + rng.uniform(-self.eps, self.eps, size=n)


@_toy
class _Transformed(Toy):
    """``base`` with injective maps fx, fy applied to its samples (n, d) -> (n, dim_x) and
    (n, dim_y); see :func:`transformed` and :func:`embedded`."""

    base: Toy
    fx: ElementwiseMap
    fy: ElementwiseMap

    @property
    def mi(self) -> float:
        return self.base.mi

    def _draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.base._draw(rng, n)
        x, y = np.reshape(x, (n, self.base.dim_x)), np.reshape(y, (n, self.base.dim_y))
        return _apply(self.fx, x, self.dim_x, "fx"), _apply(self.fy, y, self.dim_y, "fy")


def _apply(f: ElementwiseMap, a: np.ndarray, dim: int, name: str) -> np.ndarray:
    """f(a) for rows a (n, d) as float64, checked to have shape (n, dim)."""
    out = np.asarray(f(a), dtype=np.float64)
    if out.shape != (a.shape[0], dim):
        raise ValueError(f"{name} must map rows of shape {a.shape} to ({a.shape[0]}, {dim}), got {out.shape}")
    return out


# --------------------------------------------------------------------------- constructors


def gaussian(rho: float = 0.75) -> Toy:
    """Bivariate standard normal with correlation ``rho`` (|rho| < 1); X, Y of shape (n,).

    I = −½ log(1 − rho²) nats.
    """
    rho = _correlation(rho, "rho")
    cov = _spd([[1.0, rho], [rho, 1.0]], "cov")
    return _Gaussian(name="gaussian", dim_x=1, dim_y=1, settings={"rho": rho}, cov=cov)


def multivariate_gaussian(cov: ArrayLike, dim_x: int) -> Toy:
    """Zero-mean joint normal with SPD covariance ``cov`` (d, d); X = first ``dim_x`` coordinates.

    I = ½ log(det Σ_xx det Σ_yy / det Σ) nats (:func:`gaussian_mi`).
    """
    cov = _spd(cov, "cov")
    dx = _integer(dim_x, "dim_x", 1, cov.shape[0] - 1)
    settings = {"cov": _nested_tuple(cov), "dim_x": dx}
    return _Gaussian(
        name="multivariate_gaussian", dim_x=dx, dim_y=cov.shape[0] - dx, settings=settings, cov=cov
    )


def gaussian_pairs(rhos: Sequence[float] | ArrayLike) -> Toy:
    """X, Y in R^k standard normal with corr(X_i, Y_i) = rhos[i], all else independent.

    I = −½ Σ_i log(1 − rhos[i]²) nats; samples have shape (n, k) ((n,) when k = 1).
    """
    r = np.atleast_1d(np.asarray(rhos, dtype=np.float64))
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"rhos must be a non-empty 1-D sequence, got shape {r.shape}")
    r = np.array([_correlation(v, f"rhos[{i}]") for i, v in enumerate(r)])
    k = r.size
    cov = _spd(np.block([[np.eye(k), np.diag(r)], [np.diag(r), np.eye(k)]]), "cov")
    return _Gaussian(
        name="gaussian_pairs", dim_x=k, dim_y=k, settings={"rhos": tuple(r.tolist())}, cov=cov
    )


def student_t(
    dof: float = 3.0,
    rho: float | None = None,
    cov: ArrayLike | None = None,
    dim_x: int = 1,
) -> Toy:
    """Multivariate Student-t with ``dof`` degrees of freedom, split into X and Y.

    Give either ``rho`` (bivariate, unit scales, scale-matrix correlation rho;
    default 0.75) or a (d, d) SPD scale matrix ``cov`` with X = its first
    ``dim_x`` coordinates. Both parts share the same χ² mixing variable, so X
    and Y are dependent even when the scale matrix is diagonal:
    I = gaussian_mi(scale, dim_x) + c(dof, dx, dy) nats, where with d = dx + dy
    c = log Γ(ν/2) + log Γ((ν+d)/2) − log Γ((ν+dx)/2) − log Γ((ν+dy)/2)
        + (ν+dx)/2 ψ((ν+dx)/2) + (ν+dy)/2 ψ((ν+dy)/2)
        − (ν+d)/2 ψ((ν+d)/2) − ν/2 ψ(ν/2).
    """
    dof = _positive(dof, "dof")
    if cov is None:
        rho = _correlation(0.75 if rho is None else rho, "rho")
        if dim_x != 1:
            raise ValueError(f"dim_x must be 1 with rho (bivariate), got {dim_x!r}; use cov")
        scale = _spd([[1.0, rho], [rho, 1.0]], "cov")
        settings: dict[str, Any] = {"dof": dof, "rho": rho}
    elif rho is not None:
        raise ValueError("give either rho or cov, not both")
    else:
        scale = _spd(cov, "cov")
        dim_x = _integer(dim_x, "dim_x", 1, scale.shape[0] - 1)
        settings = {"dof": dof, "cov": _nested_tuple(scale), "dim_x": dim_x}
    return _StudentT(
        name="student_t",
        dim_x=dim_x,
        dim_y=scale.shape[0] - dim_x,
        settings=settings,
        cov=scale,
        dof=dof,
    )


def gamma_exponential(alpha: float = 1.0) -> Toy:
    """X ~ Gamma(shape alpha, rate 1), Y | X ~ Exponential(rate X); X, Y of shape (n,).

    h(Y | X) = E[1 − log X] = 1 − ψ(alpha) and Y is Lomax with density
    alpha (1 + y)^−(alpha+1), h(Y) = 1 + 1/alpha − log alpha, so
    I = ψ(alpha) − log(alpha) + 1/alpha nats. For alpha ≲ 0.05 some draws of X
    underflow to 0 (and Y to inf); ``transformed(toy, "log", "log")`` gives the
    usual log-scale version of this toy.
    """
    alpha = _positive(alpha, "alpha")
    return _GammaExponential(
        name="gamma_exponential", dim_x=1, dim_y=1, settings={"alpha": alpha}, alpha=alpha
    )


def weinman_exponential(theta: float = 1.0) -> Toy:
    """Ordered Weinman exponential: p(x, y) = (2/theta) exp(−2x − (y − x)/theta), 0 < x < y.

    X ~ Exp(rate 2) and Y = X + W with W ~ Exp(mean theta) independent; shapes (n,).
    I = h(Y) − h(W) with h(W) = 1 + log theta and h(Y) the entropy of a
    hypoexponential with rates 2 and 1/theta, which simplifies to
    I = γ + log(|1 − 2θ| / (2θ)) + ψ(max(1, 2θ) / |1 − 2θ|) nats for θ ≠ 1/2,
    and I = γ (Euler's constant) at θ = 1/2, where Y ~ Gamma(2, rate 2).
    """
    theta = _positive(theta, "theta")
    return _Weinman(
        name="weinman_exponential", dim_x=1, dim_y=1, settings={"theta": theta}, theta=theta
    )


def additive_noise(eps: float = 0.25) -> Toy:
    """X ~ U(0, 1), Y = X + N with N ~ U(−eps, eps) independent; shapes (n,).

    Y has a trapezoidal density, so I = h(Y) − log(2 eps) =
    eps − log(2 eps) for eps ≤ 1/2 and 1/(4 eps) for eps > 1/2 (nats).
    """
    eps = _positive(eps, "eps")
    return _AdditiveNoise(name="additive_noise", dim_x=1, dim_y=1, settings={"eps": eps}, eps=eps)


def independent(dim_x: int = 1, dim_y: int = 1) -> Toy:
    """Independent standard normals X in R^dim_x and Y in R^dim_y; I = 0 nats."""
    dx = _integer(dim_x, "dim_x", 1)
    dy = _integer(dim_y, "dim_y", 1)
    cov = np.eye(dx + dy)
    cov.setflags(write=False)
    return _Gaussian(
        name="independent", dim_x=dx, dim_y=dy, settings={"dim_x": dx, "dim_y": dy}, cov=cov
    )


# --------------------------------------------------------------------------- transforms


def _identity(a: np.ndarray) -> np.ndarray:
    """x ↦ x."""
    return a


def _cube(a: np.ndarray) -> np.ndarray:
    """x ↦ x³."""
    return a**3


def _half_cube(a: np.ndarray) -> np.ndarray:
    """x ↦ sign(x) |x|^(3/2), Beyond Normal's "half-cube": heavier tails, a cusp-free kink at 0."""
    return np.sign(a) * np.abs(a) ** 1.5


def _wiggly(a: np.ndarray) -> np.ndarray:
    """x ↦ x + 0.4 sin x + 0.2 sin(1.7x + 1) + 0.15 sin(0.4x + 0.3): slope ≥ 1 − 0.4 − 0.34 − 0.06 = 0.2 > 0,
    so strictly increasing, with wiggles at several scales (Beyond Normal's "wiggly" kind)."""
    return a + 0.4 * np.sin(a) + 0.2 * np.sin(1.7 * a + 1.0) + 0.15 * np.sin(0.4 * a + 0.3)


#: Named strictly increasing elementwise maps for :func:`transformed`. "log" suits
#: positive variables only; "exp", "sinh", "tanh" and "sigmoid" overflow or
#: saturate far in the tails in float64 (the law is unchanged in exact arithmetic).
MAPS: dict[str, ElementwiseMap] = {
    "identity": _identity,
    "cube": _cube,
    "cbrt": np.cbrt,
    "exp": np.exp,
    "log": np.log,
    "sinh": np.sinh,
    "arcsinh": np.arcsinh,
    "tanh": np.tanh,
    "sigmoid": special.expit,
    "half_cube": _half_cube,
    "normal_cdf": special.ndtr,
    "wiggly": _wiggly,
}


def _resolve_map(f: str | ElementwiseMap | None, name: str) -> ElementwiseMap:
    """The callable for a :data:`MAPS` name, a callable or None (identity)."""
    if f is None:
        return _identity
    if isinstance(f, str):
        if f not in MAPS:
            raise ValueError(f"unknown {name} map {f!r}; choose from {sorted(MAPS)} or a callable")
        return MAPS[f]
    if not callable(f):
        raise TypeError(f"{name} must be a map name, a callable or None, got {type(f).__name__}")
    return f


def transformed(
    base: Toy,
    fx: str | ElementwiseMap | None = None,
    fy: str | ElementwiseMap | None = None,
    name: str | None = None,
) -> Toy:
    """``base`` with X ↦ fx(X) and Y ↦ fy(Y) applied to every sample; I unchanged (nats).

    Each map is a :data:`MAPS` name, a callable or None (identity); it is applied
    elementwise (to every coordinate) and must be strictly monotone on the
    variable's support, which is the caller's promise for a callable. Shapes
    are those of ``base``; ``name`` defaults to ``"transformed_" + base.name``.
    """
    if not isinstance(base, Toy):
        raise TypeError(f"base must be a Toy, got {type(base).__name__}")
    settings = {"base": base, "fx": fx or "identity", "fy": fy or "identity"}
    return _Transformed(
        name=f"transformed_{base.name}" if name is None else str(name),
        dim_x=base.dim_x,
        dim_y=base.dim_y,
        settings=settings,
        base=base,
        fx=_resolve_map(fx, "fx"),
        fy=_resolve_map(fy, "fy"),
    )


@dataclass(frozen=True)
class Spiral:
    """x ↦ exp(speed · ‖x‖² · A) x on R^d (d ≥ 2), A the skew generator rotating every plane of consecutive
    coordinates (A[i, i+1] = −1, A[i+1, i] = 1): a rotation whose angle grows with the squared radius.
    It keeps ‖x‖, so x = exp(−speed · ‖y‖² · A) y inverts it: a diffeomorphism (Beyond Normal's spiral)."""

    speed: float = 0.5

    def __call__(self, a: np.ndarray) -> np.ndarray:
        d = a.shape[1]
        if d < 2:
            raise ValueError(f"the spiral needs at least 2 dimensions, got {d}")
        gen = np.diag(np.ones(d - 1), -1) - np.diag(np.ones(d - 1), 1)
        freq, vec = np.linalg.eig(gen)  # purely imaginary eigenvalues i·ω
        angle = self.speed * np.sum(a**2, axis=1, keepdims=True)
        return np.real((np.exp(freq * angle) * (a @ np.linalg.inv(vec).T)) @ vec.T)


@dataclass(frozen=True)
class Waves:
    """x ↦ (x_1 + amplitude · sin(frequency · x_d), ..., x_{d−1} + amplitude · sin(frequency · x_d), x_d) on R^d,
    d ≥ 2: every coordinate but the last shifted by a wave in the last; triangular with a unit
    diagonal, so invertible (subtract the wave of the unchanged last coordinate)."""

    amplitude: float = 1.0
    frequency: float = 2.0

    def __call__(self, a: np.ndarray) -> np.ndarray:
        if a.shape[1] < 2:
            raise ValueError(f"the waves map needs at least 2 dimensions, got {a.shape[1]}")
        out = a.copy()
        out[:, :-1] += self.amplitude * np.sin(self.frequency * a[:, -1:])
        return out


@dataclass(frozen=True)
class SwissRoll:
    """A 1-D x ↦ (t cos t, t sin t) / 21 with t = 1.5π (1 + 2 Φ(x)): an injective embedding of the line
    as a swiss roll in R² (the radius t grows along it), so the law has no density in R² but the MI
    is that of x (Beyond Normal's swiss-roll embedding)."""

    def __call__(self, a: np.ndarray) -> np.ndarray:
        if a.shape[1] != 1:
            raise ValueError(f"the swiss roll embeds a 1-D variable, got {a.shape[1]} dimensions")
        t = 1.5 * np.pi * (1.0 + 2.0 * special.ndtr(a[:, 0]))
        return np.column_stack([t * np.cos(t), t * np.sin(t)]) / 21.0


def embedded(
    base: Toy,
    fx: str | ElementwiseMap | None = None,
    fy: str | ElementwiseMap | None = None,
    dim_x: int | None = None,
    dim_y: int | None = None,
    name: str | None = None,
) -> Toy:
    """``base`` with injective maps of whole rows, X ↦ fx(X) in R^dim_x and Y ↦ fy(Y) in R^dim_y; I unchanged.

    Each map is a :data:`MAPS` name, a callable on rows (n, d) or None (identity), e.g. :class:`Spiral`,
    :class:`Waves`, :class:`SwissRoll`; injectivity is the caller's promise. ``dim_x``, ``dim_y``
    default to the base's; ``name`` to ``"embedded_" + base.name``.
    """
    if not isinstance(base, Toy):
        raise TypeError(f"base must be a Toy, got {type(base).__name__}")
    dx = base.dim_x if dim_x is None else _integer(dim_x, "dim_x", 1)
    dy = base.dim_y if dim_y is None else _integer(dim_y, "dim_y", 1)
    settings = {"base": base, "fx": fx or "identity", "fy": fy or "identity", "dim_x": dx, "dim_y": dy}
    return _Transformed(name=f"embedded_{base.name}" if name is None else str(name), dim_x=dx, dim_y=dy,
                        settings=settings, base=base, fx=_resolve_map(fx, "fx"), fy=_resolve_map(fy, "fy"))


# --------------------------------------------------------------------------- categorical toys

#: Monte Carlo samples per class for the MI of a d > 1 class-conditional Gaussian.
CLASS_MC_SAMPLES = 2**20
#: Fixed seed of that Monte Carlo, so that ``mi`` is a deterministic number.
CLASS_MC_SEED = 20180101


def _probability(value: Any, name: str) -> float:
    """``value`` as a float in [0, 1]."""
    v = _real(value, name)
    if not 0 <= v <= 1:
        raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return v


def _distribution(p: ArrayLike, name: str, ndim: int) -> np.ndarray:
    """Read-only float64 copy of an ``ndim``-D array of probabilities summing to 1 (within 1e-9)."""
    try:
        a = np.array(p, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of probabilities, got {p!r}") from None
    if a.ndim != ndim or min(a.shape) < 2:
        raise ValueError(f"{name} must be {ndim}-D with at least 2 entries per axis, got shape {a.shape}")
    if not (np.all(np.isfinite(a)) and np.all(a >= 0)) or abs(a.sum() - 1) > 1e-9:
        raise ValueError(f"{name} must hold finite probabilities >= 0 summing to 1, got sum {a.sum()!r}")
    a = a / a.sum()
    a.setflags(write=False)
    return a


@_toy
class _ClassConditionalGaussian(Toy):
    """Y ~ Categorical(priors), X | Y = c ~ N(means[c], covs[c]); see :func:`class_conditional_gaussian`."""

    means: np.ndarray
    covs: np.ndarray
    priors: np.ndarray

    def log_joint(self, x: np.ndarray) -> np.ndarray:
        """log p(x, Y = c) for x (n, d): array (n, C)."""
        out = np.empty((x.shape[0], self.priors.size))
        for c, (mu, cov) in enumerate(zip(self.means, self.covs)):
            chol = np.linalg.cholesky(cov)
            z = linalg.solve_triangular(chol, (x - mu).T, lower=True)
            out[:, c] = -0.5 * np.sum(z**2, axis=0) - np.sum(np.log(np.diag(chol)))
        return out + np.log(self.priors) - 0.5 * self.dim_x * math.log(2 * math.pi)

    def conditional_entropy(self, x: np.ndarray) -> np.ndarray:
        """H(Y | X = x) in nats for x (n, d): array (n,)."""
        lj = self.log_joint(x)
        log_r = lj - special.logsumexp(lj, axis=1, keepdims=True)
        return -np.sum(np.exp(log_r) * log_r, axis=1)

    @functools.cached_property
    def _mi_and_error(self) -> tuple[float, float]:
        h_y = float(np.sum(special.entr(self.priors)))
        if self.dim_x == 1:
            sds = np.sqrt(self.covs[:, 0, 0])
            mu = self.means[:, 0]
            lo, hi = float(np.min(mu - 12 * sds)), float(np.max(mu + 12 * sds))

            def weighted(t: float) -> float:  # p(x) H(Y | X = x)
                lj = self.log_joint(np.array([[t]]))[0]
                return float(-np.sum(np.exp(lj) * (lj - special.logsumexp(lj))))

            h, err = integrate.quad(
                weighted, lo, hi, points=np.unique(mu), epsabs=1e-12, epsrel=1e-10, limit=200
            )
            return max(h_y - h, 0.0), err
        rng = np.random.default_rng(CLASS_MC_SEED)
        chol = np.linalg.cholesky(self.covs)
        mean_h, var_h = [], []
        for mu, lc in zip(self.means, chol):
            h = self.conditional_entropy(mu + rng.standard_normal((CLASS_MC_SAMPLES, self.dim_x)) @ lc.T)
            mean_h.append(h.mean())
            var_h.append(h.var(ddof=1))
        se = math.sqrt(float(np.sum(self.priors**2 * np.array(var_h))) / CLASS_MC_SAMPLES)
        return max(h_y - float(np.dot(self.priors, mean_h)), 0.0), se

    @property
    def mi(self) -> float:
        return self._mi_and_error[0]

    @property
    def mi_error(self) -> float:
        """Numerical error of ``mi`` (nats): quad's error estimate (d = 1) or MC standard error (d > 1)."""
        return self._mi_and_error[1]

    def _draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.choice(self.priors.size, size=n, p=self.priors)
        z = rng.standard_normal((n, self.dim_x))
        x = self.means[y] + np.einsum("nij,nj->ni", np.linalg.cholesky(self.covs)[y], z)
        return x, y


@_toy
class _DiscreteTable(Toy):
    """(X, Y) on codes {0..Kx−1} × {0..Ky−1} with joint probabilities ``table``; see discrete_table."""

    table: np.ndarray

    @property
    def mi(self) -> float:
        p = self.table
        q = np.outer(p.sum(1), p.sum(0))
        nz = p > 0
        return max(float(np.sum(p[nz] * np.log(p[nz] / q[nz]))), 0.0)

    def _draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        return np.divmod(rng.choice(self.table.size, size=n, p=self.table.ravel()), self.table.shape[1])


def class_conditional_gaussian(
    means: ArrayLike = (-1.0, 1.0),
    sds: float | ArrayLike | None = None,
    priors: ArrayLike = (0.8, 0.2),
    covs: ArrayLike | None = None,
) -> Toy:
    """Continuous X in R^d and a class Y ~ Categorical(priors) on {0, ..., C−1}; X | Y = c ~ N(means[c], Σ_c).

    ``means`` is (C,) for d = 1 or (C, d); give either ``sds`` (a scalar or (C,): Σ_c = sds[c]² I;
    default 1) or ``covs`` (C, d, d) SPD with d ≥ 2. The default is the unbalanced
    binary case means ±1, unit sd, priors (0.8, 0.2), where a uniform class prior is wrong.
    Samples: x (n,) or (n, d) and y (n,) float64 class codes 0.0 ... C−1.

    I(X;Y) = H(Y) − E_X[H(Y|X)] nats, H(Y|X = x) the entropy of the class posterior at x. For
    d = 1 the expectation is an adaptive quadrature (scipy.integrate.quad on the means ± 12 sd,
    error ~1e-10); for d > 1 a Monte Carlo with CLASS_MC_SAMPLES draws per class and the fixed
    seed CLASS_MC_SEED (standard error ``toy.mi_error``, ~1e-4 nats). ``mi`` is computed on first use.
    """
    mu = np.array(means, dtype=np.float64)
    if mu.ndim == 1:
        mu = mu[:, None]
    if mu.ndim != 2 or mu.shape[0] < 2 or not np.all(np.isfinite(mu)):
        raise ValueError(
            f"means must be finite, (C,) or (C, d) with C >= 2 classes, got shape {np.shape(means)}"
        )
    n_classes, d = mu.shape
    pri = _distribution(priors, "priors", 1)
    if pri.size != n_classes:
        raise ValueError(f"priors has {pri.size} entries but means has {n_classes} classes")
    if sds is not None and covs is not None:
        raise ValueError("give either sds or covs, not both")
    if covs is None:
        sd = np.broadcast_to(np.asarray(1.0 if sds is None else sds, dtype=np.float64), (n_classes,))
        sd = np.array([_positive(v, f"sds[{c}]") for c, v in enumerate(sd)])
        cov = sd[:, None, None] ** 2 * np.eye(d)
        settings: dict[str, Any] = {"means": _nested_tuple(mu), "sds": tuple(sd.tolist())}
    else:
        cov = np.array(covs, dtype=np.float64)
        if cov.shape != (n_classes, d, d) or d < 2:
            raise ValueError(
                f"covs must have shape (C, d, d) = {(n_classes, d, d)} with d >= 2, got {cov.shape}"
            )
        cov = np.stack([_spd(c, f"covs[{i}]") for i, c in enumerate(cov)])
        settings = {"means": _nested_tuple(mu), "covs": tuple(_nested_tuple(c) for c in cov)}
    settings["priors"] = tuple(pri.tolist())
    for a in (mu, cov):
        a.setflags(write=False)
    return _ClassConditionalGaussian(
        name="class_conditional_gaussian", dim_x=d, dim_y=1, settings=settings, means=mu, covs=cov, priors=pri
    )


def discrete_table(p_xy: ArrayLike = ((0.3, 0.1, 0.1), (0.05, 0.15, 0.3))) -> Toy:
    """Discrete X, Y with joint probabilities ``p_xy`` (Kx, Ky), Kx, Ky ≥ 2, summing to 1.

    Samples are float64 codes x in {0, ..., Kx−1} (the row) and y in {0, ..., Ky−1}, shapes (n,).
    I = Σ p_xy log(p_xy / (p_x p_y)) nats (0 log 0 = 0).
    """
    table = _distribution(p_xy, "p_xy", 2)
    return _DiscreteTable(name="discrete_table", dim_x=1, dim_y=1, settings={"p_xy": _nested_tuple(table)},
                          table=table)


def binary_symmetric_channel(p: float = 0.5, e: float = 0.1) -> Toy:
    """X ~ Bernoulli(p), Y = X flipped with probability ``e``; float64 codes 0/1 of shape (n,).

    P(Y = 1) = q = p(1 − e) + (1 − p)e, so I = H_b(q) − H_b(e) nats, H_b the binary entropy.
    """
    p, e = _probability(p, "p"), _probability(e, "e")
    table = np.array([[(1 - p) * (1 - e), (1 - p) * e], [p * e, p * (1 - e)]])
    table.setflags(write=False)
    return _DiscreteTable(name="binary_symmetric_channel", dim_x=1, dim_y=1, settings={"p": p, "e": e},
                          table=table)


# --------------------------------------------------------------------------- registry

#: Constructors by name; every toy's ``name`` defaults to its key here.
TOYS: dict[str, Callable[..., Toy]] = {
    "gaussian": gaussian,
    "multivariate_gaussian": multivariate_gaussian,
    "gaussian_pairs": gaussian_pairs,
    "student_t": student_t,
    "gamma_exponential": gamma_exponential,
    "weinman_exponential": weinman_exponential,
    "additive_noise": additive_noise,
    "transformed": transformed,
    "embedded": embedded,
    "independent": independent,
    "class_conditional_gaussian": class_conditional_gaussian,
    "discrete_table": discrete_table,
    "binary_symmetric_channel": binary_symmetric_channel,
}


def get(name: str, **kwargs: Any) -> Toy:
    """Build the toy registered as ``name`` in :data:`TOYS` with constructor ``kwargs``."""
    try:
        constructor = TOYS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown toy {name!r}; choose from {sorted(TOYS)}") from None
    return constructor(**kwargs)


#: Named toys of the coverage study (their MI in nats is ``toy.mi``); the study runner
#: (:mod:`bayesmi.studies.validation`) looks any other name up in :data:`TOYS`.
STUDY_TOYS: dict[str, Toy] = {
    "gaussian": gaussian(rho=0.75),
    "student": student_t(dof=5, rho=0.6),
    # The log-scale gamma-exponential: the raw Y has infinite mean; logs leave MI unchanged.
    "gamma_exp": transformed(gamma_exponential(alpha=1.0), "log", "log", name="gamma_exp"),
    "cube": transformed(gaussian(rho=0.75), "cube", "cube", name="gaussian_cube"),
    # X, Y in R^2: corr(X1, Y1) = 0.6, corr(X2, Y2) = 0.4.
    "gaussian_2d": gaussian_pairs([0.6, 0.4]),
}


def _equicorrelated(dim_x: int, dim_y: int, corr: float) -> Toy:
    """A zero-mean normal in R^(dim_x + dim_y) with unit variances and every correlation ``corr``."""
    d = dim_x + dim_y
    return multivariate_gaussian((1.0 - corr) * np.eye(d) + corr * np.ones((d, d)), dim_x)


def _student(dim: int, dof: float) -> Toy:
    """A dim × dim multivariate t with identity scale: dependent only through the shared χ²."""
    return student_t(dof=dof, cov=np.eye(2 * dim), dim_x=dim)


def _suite() -> dict[str, Toy]:
    """The benchmark suite (see :data:`SUITE`)."""
    sparse_3 = gaussian_pairs([0.8, 0.8, 0.0])  # two interacting pairs of three
    sparse_5 = gaussian_pairs([0.8, 0.8, 0.0, 0.0, 0.0])
    xy_2x1 = multivariate_gaussian([[1.0, 0.0, 0.6], [0.0, 1.0, 0.4], [0.6, 0.4, 1.0]], 2)
    named = {
        "normal_1x1": gaussian(rho=0.75),
        "normal_2x2_dense": _equicorrelated(2, 2, 0.5),
        "normal_3x3_sparse": sparse_3,
        "normal_5x5_sparse": sparse_5,
        "normal_5x5_dense": _equicorrelated(5, 5, 0.5),
        "normal_2x2_strong": gaussian_pairs([0.95, 0.95]),
        "student_1x1_dof1": _student(1, 1.0),
        "student_2x2_dof2": _student(2, 2.0),
        "student_3x3_dof3": _student(3, 3.0),
        "half_cube_1x1": transformed(gaussian(rho=0.75), "half_cube", "half_cube"),
        "half_cube_3x3_sparse": transformed(sparse_3, "half_cube", "half_cube"),
        "asinh_student_1x1_dof1": transformed(_student(1, 1.0), "arcsinh", "arcsinh"),
        "asinh_student_2x2_dof2": transformed(_student(2, 2.0), "arcsinh", "arcsinh"),
        "asinh_student_3x3_dof2": transformed(_student(3, 2.0), "arcsinh", "arcsinh"),
        "wiggly_1x1": transformed(gaussian(rho=0.75), "wiggly", "wiggly"),
        "wiggly_3x3_sparse": transformed(sparse_3, "wiggly", "wiggly"),
        "normal_cdf_1x1": transformed(gaussian(rho=0.75), "normal_cdf", "normal_cdf"),
        "normal_cdf_3x3_sparse": transformed(sparse_3, "normal_cdf", "normal_cdf"),
        "swissroll_2x1": embedded(gaussian(rho=0.75), SwissRoll(), None, dim_x=2),
        "spiral_2x1": embedded(xy_2x1, Spiral()),
        "spiral_3x3_sparse": embedded(sparse_3, Spiral(), Spiral()),
        "waves_2x1": embedded(xy_2x1, Waves()),
        "waves_3x3_sparse": embedded(sparse_3, Waves(), Waves()),
    }
    return {label: replace(toy, name=label) for label, toy in named.items()}


#: The benchmark suite, Beyond-Normal style (Czyż et al., NeurIPS 2023), written from its definitions:
#: Gaussians (sparse: a few interacting pairs; dense: equal correlations), multivariate Student-t
#: dependent only through their shared χ² (heavy tails), and invertible or injective maps of them
#: (half-cube, asinh, wiggly, normal CDF, the swiss-roll embedding, spiral and waves diffeomorphisms),
#: 1 to 5 dimensions a side; MI 0.18 to 2.3 nats, each from the base law's closed form. Labels
#: read ``<kind>_<dx>x<dy>[_<base>]``. The settings were fixed before any estimator ran on them.
SUITE: dict[str, Toy] = _suite()
