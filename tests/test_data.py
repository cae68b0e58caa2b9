"""Offline datasets: sklearn digits split, the IDX reader and Fashion-MNIST loader, procedural shapes."""

import gzip
import struct

import numpy as np
import pytest

from bayesmi.data import (FASHION_MNIST_CLASSES, SHAPE_NAMES, Split, fashion_mnist_available, load_digits,
                          load_fashion_mnist, make_shapes)
from bayesmi.data.fashion_mnist import read_idx
from bayesmi.data.shapes import CONTINUOUS_FACTORS, FACTOR_RANGES


# --- digits -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits() -> Split:
    return load_digits(seed=0)


def test_digits_shapes_types_and_range(digits):
    assert digits.x_train.shape == (1347, 64) and digits.x_test.shape == (450, 64)
    assert digits.y_train.shape == (1347,) and digits.y_test.shape == (450,)
    assert digits.x_train.dtype == np.float32 and digits.y_train.dtype == np.int32
    for x in (digits.x_train, digits.x_test):
        assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(digits.y_train)) == set(range(10))


def test_digits_split_is_stratified(digits):
    p_train = np.bincount(digits.y_train, minlength=10) / len(digits.y_train)
    p_test = np.bincount(digits.y_test, minlength=10) / len(digits.y_test)
    np.testing.assert_allclose(p_train, p_test, atol=0.01)


def test_digits_deterministic_in_seed_and_unflattened(digits):
    again = load_digits(seed=0)
    for a, b in zip(digits, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(load_digits(seed=1).y_train, digits.y_train)
    images = load_digits(seed=0, flatten=False)
    assert images.x_train.shape == (1347, 8, 8)
    np.testing.assert_array_equal(images.x_train.reshape(-1, 64), digits.x_train)


def test_digits_rejects_bad_test_fraction():
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits(test_fraction=1.0)


# --- IDX reader and Fashion-MNIST loader --------------------------------------------------------

def _write_idx(path, array: np.ndarray, type_code: int = 0x08, magic_prefix: bytes = b"\x00\x00") -> None:
    header = magic_prefix + bytes([type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(">u1").tobytes())


def _fake_fashion_dir(path, n_train: int = 40, n_test: int = 20):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        _write_idx(path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return path


def test_read_idx_round_trip(tmp_path):
    data = np.arange(60, dtype=np.uint8).reshape(5, 3, 4)
    _write_idx(tmp_path / "x.gz", data)
    out = read_idx(tmp_path / "x.gz", expected_ndim=3)
    np.testing.assert_array_equal(out, data)
    assert out.dtype == np.uint8


def test_read_idx_rejects_wrong_magic_truncation_and_ndim(tmp_path):
    data = np.zeros((2, 3), np.uint8)
    _write_idx(tmp_path / "magic.gz", data, magic_prefix=b"\x1f\x8b")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "magic.gz")
    with gzip.open(tmp_path / "short.gz", "wb") as fh:
        fh.write(b"\x00\x00\x08\x02" + struct.pack(">2I", 2, 3) + b"\x00" * 5)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx(tmp_path / "short.gz")
    _write_idx(tmp_path / "ndim.gz", data)
    with pytest.raises(ValueError, match="expected 3"):
        read_idx(tmp_path / "ndim.gz", expected_ndim=3)
    (tmp_path / "plain.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="cannot read"):
        read_idx(tmp_path / "plain.gz")


def test_fashion_loader_on_synthetic_files(tmp_path):
    path = _fake_fashion_dir(tmp_path)
    assert fashion_mnist_available(path)
    full = load_fashion_mnist(path, flatten=False)
    assert full.x_train.shape == (40, 28, 28) and full.x_test.shape == (20, 28, 28)
    assert full.x_train.dtype == np.float32 and 0 <= full.x_train.min() and full.x_train.max() <= 1
    sub = load_fashion_mnist(path, n_train=20, n_test=10, seed=3)
    assert sub.x_train.shape == (20, 784)
    np.testing.assert_array_equal(np.bincount(sub.y_train), np.full(10, 2))  # stratified
    again = load_fashion_mnist(path, n_train=20, n_test=10, seed=3)
    np.testing.assert_array_equal(sub.x_train, again.x_train)
    with pytest.raises(ValueError, match="n_train"):
        load_fashion_mnist(path, n_train=41)


def test_fashion_loader_missing_files_says_how_to_install(tmp_path):
    assert not fashion_mnist_available(tmp_path)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path)


def test_real_fashion_mnist():
    if not fashion_mnist_available():
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    data = load_fashion_mnist(n_train=1000, n_test=500, seed=0)
    assert data.x_train.shape == (1000, 784) and data.x_test.shape == (500, 784)
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    np.testing.assert_array_equal(np.bincount(data.y_train, minlength=10), np.full(10, 100))
    assert len(FASHION_MNIST_CLASSES) == 10


# --- shapes -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shapes():
    return make_shapes(3000, size=32, seed=0)


def test_shapes_deterministic_in_seed():
    a, b, c = make_shapes(50, seed=7), make_shapes(50, seed=7), make_shapes(50, seed=8)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.factors.equals(b.factors)
    assert not np.array_equal(a.images, c.images)


def test_shapes_value_ranges(shapes):
    images, factors = shapes.images, shapes.factors
    assert images.shape == (3000, 32, 32) and images.dtype == np.float32
    assert list(factors.columns) == list(shapes.factor_names) == ["shape", *CONTINUOUS_FACTORS]
    assert set(factors["shape"]) == set(range(len(SHAPE_NAMES)))
    for name, (low, high) in FACTOR_RANGES.items():
        assert low <= factors[name].min() and factors[name].max() < high
    assert images.min() == 0.0
    # The brightest pixel of each image lies fully inside the shape: it equals the intensity.
    np.testing.assert_allclose(images.max(axis=(1, 2)), factors["intensity"], rtol=1e-6)
    # Shapes stay inside: the border rows and columns are empty.
    border = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], axis=1)
    assert border.max() == 0.0


def test_shapes_factors_independent(shapes):
    corr = np.corrcoef(shapes.factors.to_numpy(dtype=float), rowvar=False)
    off_diagonal = corr[~np.eye(len(corr), dtype=bool)]
    assert np.abs(off_diagonal).max() < 0.08  # 3000 draws: sd of a null correlation ≈ 0.018


def test_shapes_mass_grows_with_scale(shapes):
    mass = shapes.images.sum(axis=(1, 2)) / shapes.factors["intensity"].to_numpy()
    for code in range(len(SHAPE_NAMES)):
        rows = (shapes.factors["shape"] == code).to_numpy()
        # Area ∝ scale²: relation is monotone and nearly exact within a shape.
        assert np.corrcoef(mass[rows], shapes.factors["scale"][rows] ** 2)[0, 1] > 0.99


def test_shapes_centroid_tracks_position(shapes):
    images = shapes.images
    centres = (np.arange(32) + 0.5) / 32
    mass = images.sum(axis=(1, 2))
    centroid_x = (images.sum(axis=1) * centres).sum(axis=1) / mass
    centroid_y = (images.sum(axis=2) * centres).sum(axis=1) / mass
    assert np.corrcoef(centroid_x, shapes.factors["pos_x"])[0, 1] > 0.9
    assert np.corrcoef(centroid_y, shapes.factors["pos_y"])[0, 1] > 0.9


def test_shapes_reject_bad_input():
    with pytest.raises(ValueError, match="n must be"):
        make_shapes(0)
    with pytest.raises(ValueError, match="size must be"):
        make_shapes(5, size=4)
