"""Procedurally generated shape images with known, independent generative factors (dSprites-like).

Every image holds one white-on-black shape drawn from six factors sampled independently
and uniformly (numpy, deterministic in the seed, nothing downloaded):

=============  ==============================  =============================================
factor         range                           meaning
=============  ==============================  =============================================
shape          {0, 1, 2}                       square, ellipse, triangle (:data:`SHAPE_NAMES`)
scale          [0.5, 1.0)                      circumradius / (0.2 × image width)
orientation    [0, π/2) radians                counter-clockwise rotation
pos_x          [0.25, 0.75)                    centre column / image width  (left → right)
pos_y          [0.25, 0.75)                    centre row / image height    (top → bottom)
intensity      [0.5, 1.0)                      grey level of the shape (background 0)
=============  ==============================  =============================================

The ranges keep every shape, including its one-pixel anti-aliased rim, inside the image.
Shapes: a square and an equilateral triangle with circumradius ``r = 0.2 · scale · size``
and an ellipse with semi-axes ``(r, r/2)``, drawn with their long axis / a vertex at
orientation 0 pointing along +x.

Orientation ambiguity: a square rotated by 90°, a triangle by 120° and an ellipse by 180°
give the same image.  Orientations are drawn from [0, π/2), shorter than every symmetry
period, so no two distinct factor vectors draw the same image; for squares [0, π/2) is
exactly one period, so their orientation is a circular factor (0 and π/2 look alike).

Pixels are anti-aliased from a signed distance ``d`` to the outline (in pixels):
``value = intensity · clip(0.5 − d, 0, 1)``, a one-pixel ramp that approximates the
covered area, so pixels vary continuously with every continuous factor.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = ["CONTINUOUS_FACTORS", "FACTOR_NAMES", "FACTOR_RANGES", "SHAPE_NAMES", "ShapesData", "make_shapes"]

SHAPE_NAMES = ("square", "ellipse", "triangle")
FACTOR_RANGES: dict[str, tuple[float, float]] = {
    "scale": (0.5, 1.0),
    "orientation": (0.0, np.pi / 2),
    "pos_x": (0.25, 0.75),
    "pos_y": (0.25, 0.75),
    "intensity": (0.5, 1.0),
}
CONTINUOUS_FACTORS = tuple(FACTOR_RANGES)
FACTOR_NAMES = ("shape", *CONTINUOUS_FACTORS)
_MAX_RADIUS = 0.2  # circumradius at scale 1, as a fraction of the image width
_CHUNK = 2048      # images rendered at once (bounds the temporary arrays to ~ _CHUNK · size² floats)


class ShapesData(NamedTuple):
    """Images (n, size, size) float32 in [0, 1] and their factors, one DataFrame row per image.

    ``factors`` has columns :data:`FACTOR_NAMES`: ``shape`` int codes into :data:`SHAPE_NAMES`,
    the others floats on :data:`FACTOR_RANGES`.
    """

    images: np.ndarray
    factors: pd.DataFrame

    @property
    def factor_names(self) -> tuple[str, ...]:
        """All factor columns: ``("shape", "scale", "orientation", "pos_x", "pos_y", "intensity")``."""
        return FACTOR_NAMES

    @property
    def continuous_factors(self) -> tuple[str, ...]:
        """The float-valued factors (all but ``shape``)."""
        return CONTINUOUS_FACTORS


def _polygon_distance(u: np.ndarray, v: np.ndarray, radius: np.ndarray, n_sides: int) -> np.ndarray:
    """Signed edge distance to a regular polygon with a vertex on +u: max over edges of
    (distance beyond the edge line); exact inside and along edges, slightly less outside corners."""
    apothem = radius * np.cos(np.pi / n_sides)
    normals = np.pi / n_sides + 2 * np.pi * np.arange(n_sides) / n_sides
    return np.max([u * np.cos(a) + v * np.sin(a) for a in normals], axis=0) - apothem


def _ellipse_distance(u: np.ndarray, v: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """First-order signed distance to the ellipse (u/a)² + (v/b)² = 1: f / |∇f| with f = k0 − 1."""
    k0 = np.hypot(u / a, v / b)
    k1 = np.maximum(np.hypot(u / a**2, v / b**2), 1e-12)
    return k0 * (k0 - 1.0) / k1


def _render(shape: np.ndarray, factors: dict[str, np.ndarray], size: int) -> np.ndarray:
    """Images (m, size, size) of m shapes; factor arrays (m,), positions as fractions of the width."""
    centres = (np.arange(size) + 0.5)[None, :]  # pixel centres, in pixels
    col = centres[:, None, :]                     # (1, 1, size)
    row = centres[:, :, None]                     # (1, size, 1)
    column = lambda f: f[:, None, None]  # noqa: E731 - broadcast a per-image factor over pixels
    dx, dy = col - column(factors["pos_x"]) * size, row - column(factors["pos_y"]) * size
    # Rotate pixel offsets into the shape frame; rows grow downward, so +y (up) is −row.
    cos, sin = np.cos(column(factors["orientation"])), np.sin(column(factors["orientation"]))
    u, v = cos * dx - sin * dy, -sin * dx - cos * dy
    radius = column(factors["scale"]) * _MAX_RADIUS * size
    dist = np.where(column(shape) == 0, _polygon_distance(u, v, radius, 4),
                    np.where(column(shape) == 1, _ellipse_distance(u, v, radius, radius / 2),
                             _polygon_distance(u, v, radius, 3)))
    return (column(factors["intensity"]) * np.clip(0.5 - dist, 0.0, 1.0)).astype(np.float32)


def make_shapes(n: int, size: int = 32, seed: int = 0) -> ShapesData:
    """Draw n images of size × size pixels with independent uniform factors (see module docstring).

    Args:
        n: number of images (≥ 1). size: side in pixels (≥ 8). seed: the same seed gives the
            same factors and images.

    Returns:
        :class:`ShapesData` with ``images`` (n, size, size) float32 in [0, 1] indexed
        [image, row, column], and ``factors`` (n rows, columns :data:`FACTOR_NAMES`).
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    if int(size) != size or size < 8:
        raise ValueError(f"size must be an integer ≥ 8 pixels, got {size}")
    n, size = int(n), int(size)
    rng = np.random.default_rng(seed)
    shape = rng.integers(0, len(SHAPE_NAMES), size=n)
    factors = {name: rng.uniform(low, high, size=n) for name, (low, high) in FACTOR_RANGES.items()}
    images = np.empty((n, size, size), np.float32)
    for start in range(0, n, _CHUNK):
        part = slice(start, start + _CHUNK)
        images[part] = _render(shape[part], {k: f[part] for k, f in factors.items()}, size)
    return ShapesData(images, pd.DataFrame({"shape": shape, **factors}))
