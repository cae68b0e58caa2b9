"""Small neural networks in JAX (equinox + optax) whose representations bayesmi measures.

Models are equinox pytrees: training, activations and weight edits (``eqx.tree_at``) are pure
functions of the parameters, in the same functional style as NumPyro and BlackJAX.
"""

from bayesmi.nets.cnn import CNN
from bayesmi.nets.mlp import MLP
from bayesmi.nets.training import accuracy, predict, train_classifier
from bayesmi.nets.vae import BetaVAE, elbo_loss, encode, reconstruct, train_vae

__all__ = ["CNN", "MLP", "BetaVAE", "accuracy", "elbo_loss", "encode", "predict", "reconstruct",
           "train_classifier", "train_vae"]
