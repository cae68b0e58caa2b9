"""MI of high-dimensional variables through compressed representations (Butakov, Tolmachev et al., ICLR 2024).

A map C applied to one side can only lower MI, I(C(X); Y) ≤ I(X; Y), with equality when C is
injective on the data; images and layer activations often lie near a low-dimensional manifold,
so a few code coordinates can keep almost all of it. :func:`fit_compressor` learns C — PCA, a
dense or a convolutional autoencoder (:mod:`bayesmi.nets.autoencoder`) — on some rows;
:func:`compress` fits on one part of the sample and codes every row; :func:`estimate_mi_compressed`
compresses each high-dimensional side on one part and returns :func:`bayesmi.estimate_mi`'s
posterior on the codes of the other part, with how much of each side's variance the codes lost.

Inputs are centred per feature and divided by one overall scale (the root mean square of the
centred fitting rows), so relative variances stay as they are: PCA's components are those of
the data, and autoencoders train on inputs of order one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np

from bayesmi.results import MIResult
from bayesmi.util import find_stack_level

__all__ = ["COMPRESSORS", "LOST_VARIANCE_WARNING", "Compression", "CompressionWarning", "Compressor", "compress",
           "estimate_mi_compressed", "fit_compressor"]

#: A side whose codes miss more than this share of its variance (on the estimation rows) raises a
#: :class:`CompressionWarning`. Measured (``examples/results/compressed_images/``, N = 5000, true MI
#: 1-6 nats): codes losing 0.2-1.2% of the variance kept the MI (intervals covered), codes losing
#: 8-13% kept 83-90% of it and codes losing 42-56% (PCA) 73-88%, all with intervals that excluded
#: the truth and no other warning; convolutional codes losing 1.2-4.5% kept 89-99% at 1-4 nats.
#: Lost variance does not bound lost MI (a code may drop high-variance noise and keep every bit of
#: dependence), so the warning says "may", not "is".
LOST_VARIANCE_WARNING = 0.05


class CompressionWarning(UserWarning):
    """A compressed side misses a large share of its variance: the posterior is one of
    I(C_x(X); C_y(Y)), a lower bound of I(X; Y) that may lie well below it."""

#: Compression methods: "pca" (principal components), "autoencoder" (dense, any example shape),
#: "conv" (convolutional, single-channel images (H, W)).
COMPRESSORS = ("pca", "autoencoder", "conv")
Method = Literal["pca", "autoencoder", "conv"]


@dataclass(frozen=True)
class Compressor:
    """A fitted map from examples (in_shape) to codes (dim,); see :func:`fit_compressor`.

    mean (in_shape) and scale: the centring and overall scale of the fitting rows. components
    (dim, features): PCA's orthonormal directions (None for autoencoders). model: the trained
    autoencoder (None for PCA). history: its per-epoch training losses (mean squared error per
    coordinate of the scaled inputs).
    """

    method: str
    dim: int
    mean: np.ndarray
    scale: float
    components: np.ndarray | None = None
    model: Any = None
    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def in_shape(self) -> tuple[int, ...]:
        return self.mean.shape

    def _scaled(self, x: Any) -> np.ndarray:
        x = _check_examples(x, "x")
        if x.shape[1:] != self.in_shape:
            raise ValueError(f"this compressor takes examples of shape {self.in_shape}, got rows of {x.shape[1:]}")
        return ((x - self.mean) / self.scale).astype(np.float32)

    def codes(self, x: Any) -> np.ndarray:
        """Codes (N, dim) of examples x (N, *in_shape)."""
        scaled = self._scaled(x)
        if self.method == "pca":
            return scaled.reshape(len(scaled), -1) @ self.components.T
        from bayesmi.nets.autoencoder import codes

        return codes(self.model, scaled).astype(np.float64)

    def reconstruct(self, x: Any) -> np.ndarray:
        """Examples (N, *in_shape) rebuilt from the codes of x (N, *in_shape)."""
        scaled = self._scaled(x)
        if self.method == "pca":
            flat = scaled.reshape(len(scaled), -1)
            rebuilt = ((flat @ self.components.T) @ self.components).reshape(scaled.shape)
        else:
            from bayesmi.nets.autoencoder import reconstructions

            rebuilt = reconstructions(self.model, scaled)
        return rebuilt.astype(np.float64) * self.scale + self.mean

    def lost_variance(self, x: Any) -> float:
        """Share of the variance of rows x (N, *in_shape) that their reconstructions miss:
        Σ‖x − rebuilt‖² / Σ‖x − mean(x)‖² (0: nothing lost; 1: the codes tell nothing)."""
        x = _check_examples(x, "x").astype(np.float64)
        total = np.sum((x - x.mean(0)) ** 2)
        return float(np.sum((x - self.reconstruct(x)) ** 2) / total) if total > 0 else 0.0


class Compression(NamedTuple):
    """Codes (N, dim) of every row, the rows the compressor was fitted on (indices), the share of
    variance lost on the other rows (on the fitting rows when all were used) and the compressor."""

    codes: np.ndarray
    fit_rows: np.ndarray
    lost_variance: float
    compressor: Compressor


def _check_examples(x: Any, name: str) -> np.ndarray:
    """Float rows (N, ...) with at least 2 rows and one feature, finite."""
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric rows (N, ...), got {type(x).__name__}") from err
    if x.ndim < 2 or len(x) < 2 or x[0].size < 1:
        raise ValueError(f"{name} must hold at least 2 examples (N, ...) with N along the first axis, got shape "
                         f"{x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def fit_compressor(x: Any, dim: int = 4, method: Method = "pca", *, seed: int = 0, epochs: int = 50,
                   batch_size: int = 64, learning_rate: float = 1e-3, hidden: tuple[int, ...] = (128, 64),
                   channels: tuple[int, ...] = (16, 32), progress: bool = True) -> Compressor:
    """Fit a compressor to ``dim`` codes on examples x (N, *shape).

    Args:
        x: fitting rows (N, ...): vectors (N, F) for "pca" and "autoencoder", images (N, H, W)
            for "conv" (and any shape for the other two, flattened).
        dim: code coordinates; at most the number of features (and of rows, for PCA).
        method: one of :data:`COMPRESSORS`.
        seed: initial weights and minibatch order of autoencoders.
        epochs, batch_size, learning_rate: Adam settings of autoencoders
            (:func:`bayesmi.nets.train_autoencoder`); hidden: the dense autoencoder's widths;
            channels: the convolutional one's (:class:`bayesmi.nets.ConvAutoencoder`).
        progress: tqdm bar while an autoencoder trains.
    """
    x = _check_examples(x, "x")
    if method not in COMPRESSORS:
        raise ValueError(f"method must be one of {COMPRESSORS}, got {method!r}")
    features = x[0].size
    if not 1 <= dim <= features:
        raise ValueError(f"dim must lie in [1, {features}] (the features of one example), got {dim}")
    mean = x.mean(0)
    centred = x - mean
    scale = float(np.sqrt(np.mean(centred**2)))
    if scale == 0:
        raise ValueError("x is constant: every example is the same, there is nothing to compress")
    scaled = centred / scale
    if method == "pca":
        if dim > len(x):
            raise ValueError(f"PCA gives at most N = {len(x)} components, got dim = {dim}")
        _, _, vt = np.linalg.svd(scaled.reshape(len(x), -1), full_matrices=False)
        return Compressor("pca", dim, mean, scale, components=vt[:dim])
    import jax

    from bayesmi.nets.autoencoder import Autoencoder, ConvAutoencoder, train_autoencoder

    key = jax.random.key(seed)
    if method == "conv":
        if x.ndim != 3:
            raise ValueError(f"method='conv' takes single-channel images (N, H, W), got shape {x.shape}")
        model = ConvAutoencoder(x.shape[1:], dim, channels, key=key)
    else:
        model = Autoencoder(x.shape[1:], dim, hidden, key=key)
    model, history = train_autoencoder(model, scaled.astype(np.float32), epochs=epochs, batch_size=batch_size,
                                       learning_rate=learning_rate, seed=seed, progress=progress)
    return Compressor(method, dim, mean, scale, model=model, history=history)


def _split(n: int, fit_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted random row indices: the fitting rows (round(fit_fraction · n)) and the rest."""
    if not 0 < fit_fraction < 1:
        raise ValueError(f"fit_fraction must lie in (0, 1), got {fit_fraction}")
    n_fit = round(fit_fraction * n)
    if not 2 <= n_fit <= n - 2:
        raise ValueError(f"fit_fraction={fit_fraction} of {n} rows leaves fewer than 2 rows on one side")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:n_fit]), np.sort(order[n_fit:])


def compress(x: Any, dim: int = 4, method: Method = "pca", *, fit_fraction: float = 0.5, seed: int = 0,
             **settings: Any) -> Compression:
    """Fit a compressor (:func:`fit_compressor`, ``settings`` passed on) to a random share
    ``fit_fraction`` of the rows of x (N, ...) and code every row; the lost variance is measured
    on the rows it was not fitted to, so an overfitted autoencoder shows."""
    x = _check_examples(x, "x")
    fit_rows, other = _split(len(x), fit_fraction, seed)
    compressor = fit_compressor(x[fit_rows], dim, method, seed=seed, **settings)
    return Compression(compressor.codes(x), fit_rows, compressor.lost_variance(x[other]), compressor)


def _needs_compression(a: np.ndarray, dim: int) -> bool:
    """True when rows a (N, ...) have more than ``dim`` features."""
    return a.ndim > 2 or (a.ndim == 2 and a.shape[1] > dim)


def estimate_mi_compressed(x: Any, y: Any, *, dim: int | tuple[int, int] = 4, method: Method = "pca",
                           y_type: Literal["auto", "continuous", "categorical"] = "auto",
                           fit_fraction: float = 0.5, fit_on: tuple[Any, Any] | None = None, seed: int = 0,
                           compressor_settings: dict[str, Any] | None = None, **estimate_kwargs: Any) -> MIResult:
    """Posterior of I(C_x(X); C_y(Y)) ≤ I(X; Y) for high-dimensional x, y (images, activations).

    Each side with more than its ``dim`` features (``dim`` may be a pair (dim_x, dim_y)) is
    compressed by ``method``; a side with at most that many columns, or class labels
    (``y_type="categorical"``, or 1-D y that :func:`bayesmi.estimate_mi` routes as discrete), is
    kept as it is. The compressors are fitted to ``fit_on = (x_fit, y_fit)`` when given (then every
    row of x, y enters the estimate), else to a random share ``fit_fraction`` of the rows, the
    posterior then coming from the other rows only: fitting and estimating on the same rows would
    let an autoencoder's memory of those rows count as dependence.

    The result is :func:`bayesmi.estimate_mi`'s (``estimate_kwargs`` passed on: ``seed``,
    ``units``, ``truth``, fit options ...; ``progress`` also shows the autoencoders' training), with ``diagnostics["compression"]`` holding, per
    compressed side, the method, dim, rows fitted and the share of variance lost on the
    estimation rows. A side losing more than :data:`LOST_VARIANCE_WARNING` of its variance raises a
    :class:`CompressionWarning`: the interval is then one of a lower bound that may lie well below
    I(X; Y) (more codes, or a better compressor, move it up).
    """
    from bayesmi.estimators.mi import estimate_mi

    x_arr = _check_examples(x, "x")
    y_arr = np.asarray(y)
    if len(y_arr) != len(x_arr):
        raise ValueError(f"x and y must have the same number of rows, got {len(x_arr)} and {len(y_arr)}")
    dim_x, dim_y = (dim, dim) if np.ndim(dim) == 0 else dim
    labels = y_type == "categorical" or y_arr.ndim == 1
    if fit_on is None:
        fit_rows, rows = _split(len(x_arr), fit_fraction, seed)
        fit_x, fit_y = x_arr[fit_rows], y_arr[fit_rows]
    else:
        fit_x, fit_y = fit_on
        rows = np.arange(len(x_arr))
    settings = {"seed": seed, "progress": estimate_kwargs.get("progress", True), **(compressor_settings or {})}
    sides, record = {}, {}
    for name, data, fit_data, side_dim, keep in (("x", x_arr, fit_x, dim_x, False),
                                                 ("y", y_arr, fit_y, dim_y, labels)):
        if keep or not _needs_compression(data, side_dim):
            sides[name] = data[rows]
            continue
        compressor = fit_compressor(fit_data, side_dim, method, **settings)
        sides[name] = compressor.codes(data[rows])
        record[name] = {"method": method, "dim": side_dim, "fit_rows": len(fit_data),
                        "lost_variance": compressor.lost_variance(data[rows])}
    lossy = {name: side["lost_variance"] for name, side in record.items()
             if side["lost_variance"] > LOST_VARIANCE_WARNING}
    if lossy:
        warnings.warn(f"the codes of {' and '.join(f'{n} miss {v:.1%}' for n, v in lossy.items())} of the variance "
                      f"(more than {LOST_VARIANCE_WARNING:.0%}): the posterior is of the codes' MI, a lower bound "
                      f"of I(X;Y) that may lie well below it; try a larger dim or an autoencoder "
                      f"(diagnostics['compression'])", CompressionWarning, stacklevel=find_stack_level())
    result = estimate_mi(sides["x"], sides["y"], y_type=y_type, seed=seed, **estimate_kwargs)
    result.diagnostics["compression"] = record
    return result
