"""Information-theoretic views of neural networks: MI matrices between representations and
known factors (:func:`mi_matrix`), and neuron importance by information-ordered cumulative
ablation (:func:`neuron_importance`, Amjad, Liu & Geiger 2018)."""

from bayesmi.interpret.ablation import (
    NeuronImportance,
    ablate,
    activation_means,
    cumulative_ablation,
    hidden_activations,
    neuron_importance,
    neuron_information,
    quantile_edges,
    quantize,
    random_orders,
    single_neuron_importance,
    spearman_table,
)
from bayesmi.interpret.matrix import mi_matrix

__all__ = [
    "mi_matrix", "NeuronImportance", "neuron_importance", "neuron_information", "single_neuron_importance",
    "cumulative_ablation", "ablate", "quantize", "quantile_edges", "activation_means", "hidden_activations",
    "random_orders", "spearman_table",
]
