"""bayesmi: Bayesian mutual-information estimation with Gaussian mixtures, with honest uncertainty.

>>> import bayesmi
>>> x, y = bayesmi.toys.gaussian(rho=0.75).sample(2000, seed=0)
>>> res = bayesmi.estimate_mi(x, y, seed=0)                      # doctest: +SKIP
>>> res.mean, res.sd, res.interval(0.95)                          # doctest: +SKIP

Everything below is reachable from ``import bayesmi`` and loaded on first use (PEP 562), so the
import itself is fast and does not load JAX, NumPyro or the network stack. Layers, bottom up:
``mixture``/``tables`` (pure JAX maths), ``util``, ``inputs``/``options``/``toys``/``plots``/``nets``/
``data``, ``models``, ``infer``, ``results``, ``diagnostics``, ``fitting``, ``estimators``,
``studies``/``interpret``, ``cli`` (enforced by the import-linter contract in ``pyproject.toml``).
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from bayesmi.compat import MovedModuleFinder

__version__ = "0.2.0"

#: Public functions and classes: name -> module that defines it.
_ATTRIBUTES = {
    "estimate_mi": "bayesmi.estimators.mi",
    "estimate_entropy": "bayesmi.estimators.information",
    "estimate_kl": "bayesmi.estimators.information",
    "estimate_cmi": "bayesmi.estimators.information",
    "pointwise_mi": "bayesmi.estimators.information",
    "mi_matrix": "bayesmi.estimators.matrix",
    "compare": "bayesmi.studies.comparison",
    "Comparison": "bayesmi.studies.comparison",
    "FitOptions": "bayesmi.options",
    "GMMPrior": "bayesmi.models",
    "MIResult": "bayesmi.results",
    "MIMatrix": "bayesmi.results",
    "InfoResult": "bayesmi.results",
    "ConvergenceWarning": "bayesmi.results",
    "MisfitWarning": "bayesmi.results",
    "PredictiveCheck": "bayesmi.results",
    "IndependenceComparison": "bayesmi.results",
    "TiesWarning": "bayesmi.inputs",
    "DiscreteDataWarning": "bayesmi.estimators.mi",
    "DimensionBiasWarning": "bayesmi.estimators.mi",
    "plot_pmi": "bayesmi.plots",
    "enable_compilation_cache": "bayesmi.runtime",
}
#: Public sub-namespaces: name -> module.
_SUBMODULES = {
    "toys": "bayesmi.toys",
    "discrete": "bayesmi.estimators.discrete",
    "validation": "bayesmi.studies.validation",
    "studies": "bayesmi.studies",
    "interpret": "bayesmi.interpret",
    "nets": "bayesmi.nets",
    "data": "bayesmi.data",
    "plots": "bayesmi.plots",
    "estimators": "bayesmi.estimators",
    "fitting": "bayesmi.fitting",
    "diagnostics": "bayesmi.diagnostics",
    "results": "bayesmi.results",
    "infer": "bayesmi.infer",
    "models": "bayesmi.models",
    "mixture": "bayesmi.mixture",
    "tables": "bayesmi.tables",
    "inputs": "bayesmi.inputs",
    "options": "bayesmi.options",
    "util": "bayesmi.util",
    "draws": "bayesmi.draws",
    "ksg": "bayesmi.ksg",
    "checks": "bayesmi.checks",
    "flows": "bayesmi.flows",
    "runtime": "bayesmi.runtime",
    "parallel": "bayesmi.parallel",
    "cli": "bayesmi.cli",
}

__all__ = [name for name in _ATTRIBUTES if name != "InfoResult"] + list(_SUBMODULES)

if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
    sys.meta_path.append(MovedModuleFinder())


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        value = importlib.import_module(_SUBMODULES[name])
    elif name in _ATTRIBUTES:
        value = getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    else:
        raise AttributeError(f"module 'bayesmi' has no attribute {name!r}")
    if name != "InfoResult":  # a deprecated alias warns on every access
        globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what static tools see; at run time these load on first use
    from bayesmi import (  # noqa: F401
        checks, cli, data, diagnostics, draws, flows, ksg, estimators, fitting, infer, inputs, interpret, mixture, models, nets, options,
        plots, results, studies, tables, toys, util,
    )
    from bayesmi.estimators import discrete  # noqa: F401
    from bayesmi.estimators.information import estimate_cmi, estimate_entropy, estimate_kl, pointwise_mi  # noqa: F401
    from bayesmi.estimators.matrix import mi_matrix  # noqa: F401
    from bayesmi.estimators.mi import DimensionBiasWarning, DiscreteDataWarning, estimate_mi  # noqa: F401
    from bayesmi.inputs import TiesWarning  # noqa: F401
    from bayesmi.models import GMMPrior  # noqa: F401
    from bayesmi.options import FitOptions  # noqa: F401
    from bayesmi.plots import plot_pmi  # noqa: F401
    from bayesmi.results import (  # noqa: F401
        ConvergenceWarning,
        IndependenceComparison,
        MIMatrix,
        MIResult,
        MisfitWarning,
        PredictiveCheck,
    )
    from bayesmi.studies import validation  # noqa: F401
    from bayesmi.studies.comparison import Comparison, compare  # noqa: F401
