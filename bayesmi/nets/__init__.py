"""Small neural networks in JAX (equinox + optax) whose representations bayesmi measures.

Models are equinox pytrees: training, activations and weight edits (``eqx.tree_at``) are pure
functions of the parameters, in the same functional style as NumPyro and BlackJAX.
"""

from bayesmi.nets.autoencoder import (
           Autoencoder,
           ConvAutoencoder,
           codes,
           reconstructions,
           train_autoencoder,
)
from bayesmi.nets.cnn import CNN
from bayesmi.nets.mlp import MLP
from bayesmi.nets.training import accuracy, minimise, predict, train_classifier
from bayesmi.nets.vae import BetaVAE, elbo_loss, encode, reconstruct, train_vae

__all__ = ["CNN", "MLP", "BetaVAE", "Autoencoder", "ConvAutoencoder", "accuracy", "codes", "elbo_loss", "encode",
           "minimise", "predict", "reconstruct", "reconstructions", "train_autoencoder", "train_classifier", "train_vae"]
