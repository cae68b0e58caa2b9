"""Pairs of synthetic images with known mutual information (Butakov, Tolmachev et al., ICLR 2024).

Each side of a pair is rendered from a low-dimensional latent vector; the two latent vectors are
jointly Gaussian with d independent pairs (a_j, b_j) of correlation ρ, so their MI is
I = −(d/2) log(1 − ρ²) nats, and ρ = √(1 − e^(−2I/d)) gives any I ≥ 0. A latent a is mapped
through the normal CDF to u = Φ(a) ∈ (0, 1)^d and u to an image by a smooth injective rendering,
so I(image_x; image_y) = I(a; b): MI is invariant under injective maps of each side.

Renderings (pixels are float32 in [0, 1]):

- ``"bumps"`` (d = 2, 16 × 16 by default): a Gaussian bump exp(−‖p − c‖² / (2 σ²)) of width
  σ = size / 8 pixels whose centre c spans [σ, size − 1 − σ] in each axis as u goes over (0, 1).
- ``"rectangles"`` (d = 4, 32 × 32 by default): an axis-aligned white rectangle with centre
  size · (0.3 + 0.4 u) and half-sides size · (0.1 + 0.15 u) (so it stays inside the image),
  anti-aliased exactly: a pixel's value is the area of it the rectangle covers, continuous and
  piecewise linear in u, and every edge's position can be read back from its pixels.

Nothing is downloaded; everything is deterministic in the seed.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
from scipy.special import ndtr

__all__ = ["LATENT_DIMS", "LatentImages", "bump_images", "correlated_latents", "latent_image_pairs",
           "rectangle_images"]

#: Latent dimension per side of each rendering.
LATENT_DIMS = {"bumps": 2, "rectangles": 4}
_DEFAULT_SIZES = {"bumps": 16, "rectangles": 32}


class LatentImages(NamedTuple):
    """Paired images x, y (N, S, S) rendered from latents (N, d) each, and their MI (nats)."""

    x: np.ndarray
    y: np.ndarray
    latents_x: np.ndarray
    latents_y: np.ndarray
    mi: float


def correlated_latents(n: int, dim: int, mi: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standard normal latents a, b (n, dim) whose pairs (a_j, b_j) have correlation
    ρ = √(1 − e^(−2 mi / dim)), the rest independent: I(a; b) = mi nats."""
    if n < 1 or dim < 1 or not (np.isfinite(mi) and mi >= 0):
        raise ValueError(f"need n ≥ 1, dim ≥ 1 and a finite mi ≥ 0 (nats), got n={n}, dim={dim}, mi={mi}")
    rho = np.sqrt(-np.expm1(-2.0 * mi / dim))
    a, noise = np.random.default_rng(seed).standard_normal((2, n, dim))
    return a, rho * a + np.sqrt(np.exp(-2.0 * mi / dim)) * noise


def _unit_params(u: np.ndarray, dim: int, name: str) -> np.ndarray:
    u = np.asarray(u, dtype=np.float64)
    if u.ndim != 2 or u.shape[1] != dim:
        raise ValueError(f"{name} needs parameters of shape (N, {dim}), got {u.shape}")
    if not (np.isfinite(u).all() and (u >= 0).all() and (u <= 1).all()):
        raise ValueError(f"{name} parameters must lie in [0, 1]")
    return u


def bump_images(u: np.ndarray, size: int = 16) -> np.ndarray:
    """Gaussian bumps (N, size, size) whose centres (column, row) are set by u (N, 2) in [0, 1]."""
    u = _unit_params(u, 2, "bump_images")
    sigma = size / 8
    centres = sigma + (size - 1 - 2 * sigma) * u  # (N, 2): column, row in pixels
    grid = np.arange(size, dtype=np.float64)
    along_columns = np.exp(-((grid - centres[:, :1]) ** 2) / (2 * sigma**2))  # (N, size)
    along_rows = np.exp(-((grid - centres[:, 1:]) ** 2) / (2 * sigma**2))
    return (along_rows[:, :, None] * along_columns[:, None, :]).astype(np.float32)


def rectangle_images(u: np.ndarray, size: int = 32) -> np.ndarray:
    """Anti-aliased rectangles (N, size, size) set by u (N, 4) in [0, 1]: centre column, centre row,
    half-width, half-height (see the module's docstring for the ranges)."""
    u = _unit_params(u, 4, "rectangle_images")
    centre = size * (0.3 + 0.4 * u[:, :2])
    half = size * (0.1 + 0.15 * u[:, 2:])
    low, high = centre - half, centre + half  # (N, 2) edges in pixels; pixel j covers [j, j + 1]
    grid = np.arange(size, dtype=np.float64)

    def coverage(axis: int) -> np.ndarray:
        return np.clip(np.minimum(grid + 1, high[:, axis:axis + 1]) - np.maximum(grid, low[:, axis:axis + 1]), 0, 1)

    return (coverage(1)[:, :, None] * coverage(0)[:, None, :]).astype(np.float32)


def latent_image_pairs(kind: Literal["bumps", "rectangles"], mi: float, n: int, seed: int = 0,
                       size: int | None = None) -> LatentImages:
    """n pairs of images whose MI is ``mi`` nats: latents from :func:`correlated_latents` with the
    rendering's dimension (:data:`LATENT_DIMS`), Φ of each latent rendered by :func:`bump_images`
    or :func:`rectangle_images` (``size`` pixels a side; 16 and 32 by default)."""
    if kind not in LATENT_DIMS:
        raise ValueError(f"kind must be one of {tuple(LATENT_DIMS)}, got {kind!r}")
    render = bump_images if kind == "bumps" else rectangle_images
    size = size or _DEFAULT_SIZES[kind]
    a, b = correlated_latents(n, LATENT_DIMS[kind], mi, seed)
    return LatentImages(render(ndtr(a), size), render(ndtr(b), size), a, b, float(mi))
