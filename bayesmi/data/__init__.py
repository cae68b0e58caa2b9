"""Offline image datasets: sklearn digits, Fashion-MNIST from local IDX files, procedurally
generated shapes with known generative factors, and image pairs with known MI."""

from bayesmi.data.digits import Split, load_digits
from bayesmi.data.fashion_mnist import (FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, fashion_mnist_available,
                                        load_fashion_mnist)
from bayesmi.data.latent_images import LatentImages, bump_images, latent_image_pairs, rectangle_images
from bayesmi.data.shapes import SHAPE_NAMES, ShapesData, make_shapes

__all__ = ["FASHION_MNIST_CLASSES", "FASHION_MNIST_DIR", "SHAPE_NAMES", "LatentImages", "ShapesData", "Split",
           "bump_images", "fashion_mnist_available", "latent_image_pairs", "load_digits", "load_fashion_mnist",
           "make_shapes", "rectangle_images"]
