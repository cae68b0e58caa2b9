"""Information-theoretic views of neural networks: MI matrices between representations and known
factors (:func:`mi_matrix`, the estimator of :mod:`bayesmi.estimators.matrix`), neuron importance
by information-ordered cumulative ablation (:mod:`~bayesmi.interpret.ablation`, Amjad, Liu & Geiger
2018), MI of high-dimensional variables through compressed representations
(:mod:`~bayesmi.interpret.compression`, Butakov, Tolmachev et al. 2024) and the information plane of
a training network (:mod:`~bayesmi.interpret.information_plane`). Networks are
:mod:`bayesmi.nets`, data sets :mod:`bayesmi.data`."""

from bayesmi.estimators.matrix import mi_matrix, normal_scores
from bayesmi.interpret import ablation, compression
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
from bayesmi.interpret.compression import (
    Compression,
    CompressionWarning,
    Compressor,
    compress,
    estimate_mi_compressed,
    fit_compressor,
)
from bayesmi.interpret.information_plane import InformationPlane, information_plane, layer_outputs

__all__ = [
    "mi_matrix", "normal_scores", "ablation", "NeuronImportance", "neuron_importance", "neuron_information",
    "single_neuron_importance", "cumulative_ablation", "ablate", "quantize", "quantile_edges", "activation_means",
    "hidden_activations", "random_orders", "spearman_table", "compression", "Compression", "CompressionWarning", "Compressor", "compress",
    "estimate_mi_compressed", "fit_compressor", "InformationPlane", "information_plane", "layer_outputs",
]
