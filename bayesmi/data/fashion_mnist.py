"""Fashion-MNIST read from the gzipped IDX files of Debian's ``dataset-fashion-mnist`` package (offline).

The IDX parser is self-contained: it reads the big-endian header (magic number, dimensions)
and checks the magic number and the payload size, so a truncated or foreign file fails
with a readable error instead of silently giving garbage.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from bayesmi.data.digits import Split

__all__ = ["FASHION_MNIST_CLASSES", "FASHION_MNIST_DIR", "fashion_mnist_available", "load_fashion_mnist",
           "read_idx"]

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
# IDX type codes (third byte of the magic number) → big-endian numpy dtypes.
_IDX_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(file: str | os.PathLike, expected_ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (gzipped if its name ends in ``.gz``) into an array of its stored shape.

    The header is two zero bytes, a type code, the number of dimensions, then each dimension
    as a big-endian uint32; the payload follows in C order.

    Raises:
        ValueError: bad magic number, unknown type code, unexpected number of dimensions, or a
            payload whose length does not match the header (truncated or corrupt file).
    """
    file = Path(file)
    opener = gzip.open if file.suffix == ".gz" else open
    try:
        with opener(file, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{file}: cannot read as {'gzipped ' if opener is gzip.open else ''}IDX: {err}") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{file}: not an IDX file (magic number {raw[:4].hex() or 'missing'}; "
                         "expected 0x0000 then a type code and the number of dimensions)")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    if expected_ndim is not None and ndim != expected_ndim:
        raise ValueError(f"{file}: IDX file has {ndim} dimensions, expected {expected_ndim} "
                         f"(magic number {raw[:4].hex()})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{file}: IDX header truncated ({len(raw)} bytes, needs {header})")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{file}: IDX payload has {len(raw) - header} bytes but the header "
                         f"{shape} of {dtype} needs {expected} (truncated or corrupt file)")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def fashion_mnist_available(path: str | os.PathLike = FASHION_MNIST_DIR) -> bool:
    """True when all four Fashion-MNIST IDX files exist under ``path``."""
    return all((Path(path) / name).is_file() for name in _FILES.values())


def _subset(y: np.ndarray, n: int | None, rng: np.random.Generator, which: str) -> np.ndarray:
    """Sorted indices of a class-stratified random subset of size n (all indices if n is None)."""
    if n is None:
        return np.arange(len(y))
    if not 0 < n <= len(y):
        raise ValueError(f"{which} must lie in [1, {len(y)}], got {n}")
    classes, counts = np.unique(y, return_counts=True)
    # Largest-remainder allocation of n over the classes, proportional to their counts.
    quota = counts * n / len(y)
    take = np.floor(quota).astype(int)
    take[np.argsort(-(quota - take), kind="stable")[: n - take.sum()]] += 1
    picks = [rng.choice(np.flatnonzero(y == c), size=k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(picks))


def load_fashion_mnist(path: str | os.PathLike = FASHION_MNIST_DIR, n_train: int | None = None,
                       n_test: int | None = None, flatten: bool = True, seed: int = 0) -> Split:
    """Fashion-MNIST: 28×28 greyscale clothing images in 10 classes (:data:`FASHION_MNIST_CLASSES`).

    Args:
        path: folder with the four gzipped IDX files (Debian: ``apt-get install dataset-fashion-mnist``).
        n_train, n_test: if given, a class-stratified random subset of that size (deterministic
            in ``seed``), kept in the original order; None keeps all 60000 / 10000.
        flatten: images as (N, 784) vectors if True, else (N, 28, 28).
        seed: seed of the subsets.

    Returns:
        :class:`Split` with pixels divided by 255 (float32 in [0, 1]) and int32 labels.

    Raises:
        FileNotFoundError: the files are absent. ValueError: a file is corrupt or inconsistent.
    """
    path = Path(path)
    if not fashion_mnist_available(path):
        missing = [name for name in _FILES.values() if not (path / name).is_file()]
        raise FileNotFoundError(
            f"Fashion-MNIST not found in {path} (missing {', '.join(missing)}). On Debian/Ubuntu run "
            "`apt-get install dataset-fashion-mnist`, or pass path= to a folder holding the gzipped IDX files.")
    arrays = {key: read_idx(path / name, expected_ndim=3 if key.startswith("x") else 1)
              for key, name in _FILES.items()}
    rng = np.random.default_rng(seed)
    out = {}
    for part, n in (("train", n_train), ("test", n_test)):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if len(x) != len(y) or x.shape[1:] != (28, 28):
            raise ValueError(f"{path}: {part} images {x.shape} do not match labels {y.shape} or 28×28")
        if y.max() >= len(FASHION_MNIST_CLASSES):
            raise ValueError(f"{path}: {part} labels exceed {len(FASHION_MNIST_CLASSES) - 1}")
        idx = _subset(y, n, rng, f"n_{part}")
        images = x[idx].astype(np.float32) / 255.0
        out[f"x_{part}"] = images.reshape(len(idx), -1) if flatten else images
        out[f"y_{part}"] = y[idx].astype(np.int32)
    return Split(**out)
