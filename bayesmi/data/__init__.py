"""Offline image datasets: sklearn digits, Fashion-MNIST from local IDX files, and procedurally
generated shapes with known generative factors."""

from bayesmi.data.digits import Split, load_digits
from bayesmi.data.fashion_mnist import (FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, fashion_mnist_available,
                                        load_fashion_mnist)
from bayesmi.data.shapes import SHAPE_NAMES, ShapesData, make_shapes

__all__ = ["FASHION_MNIST_CLASSES", "FASHION_MNIST_DIR", "SHAPE_NAMES", "ShapesData", "Split",
           "fashion_mnist_available", "load_digits", "load_fashion_mnist", "make_shapes"]
