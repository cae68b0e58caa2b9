"""The 8×8 handwritten-digits set bundled with scikit-learn (offline), as a train/test :class:`Split`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import sklearn.datasets
from sklearn.model_selection import train_test_split

__all__ = ["Split", "load_digits"]


class Split(NamedTuple):
    """A labelled train/test split: float32 images in [0, 1] and int32 class labels.

    ``x_*`` have shape (N, D) when flattened or (N, H, W) as images; ``y_*`` shape (N,).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits(test_fraction: float = 0.25, seed: int = 0, flatten: bool = True) -> Split:
    """1797 handwritten digits 0–9 (8×8 pixels, 16 grey levels) split by class-stratified sampling.

    Args:
        test_fraction: share of the examples held out for testing, in (0, 1).
        seed: seed of the split; the same seed gives the same split.
        flatten: images as (N, 64) vectors if True, else (N, 8, 8).

    Returns:
        :class:`Split` with pixels divided by 16 (float32 in [0, 1]) and int32 labels.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    bunch = sklearn.datasets.load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int32)
    if not flatten:
        x = x.reshape(-1, 8, 8)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, stratify=y, random_state=seed)
    return Split(x_train, y_train, x_test, y_test)
