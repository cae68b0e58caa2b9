"""The module paths of bayesmi 0.1, kept importable for one release by an import hook.

``import bayesmi.gmm`` (and ``from bayesmi.discrete import ...`` etc.) give a DeprecationWarning
naming the new home and a module that forwards every attribute to it. Modules whose API changed
with the move (``bayesmi.em``, ``bayesmi.gibbs``, ``bayesmi.inference``, ``bayesmi.pipeline``)
raise an ImportError that points to their replacement. The names ``bayesmi.compare`` and
``bayesmi.plot_pmi`` are functions of the package namespace, so their old module paths are not
kept (importing a module there would replace the function).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import types
import warnings
from typing import Any

from bayesmi.util import find_stack_level

__all__ = ["MOVED", "REPLACED", "MovedModuleFinder"]

#: Old module path -> new module path (same public names).
MOVED = {
    "bayesmi.gmm": "bayesmi.mixture",
    "bayesmi.result": "bayesmi.results",
    "bayesmi.estimate": "bayesmi.estimators.mi",
    "bayesmi.categorical": "bayesmi.estimators.categorical",
    "bayesmi.information": "bayesmi.estimators.information",
    "bayesmi.discrete": "bayesmi.estimators.discrete",
    "bayesmi.plotting": "bayesmi.plots",
    "bayesmi.plot_matrix": "bayesmi.plots.matrix",
    "bayesmi.batching": "bayesmi.util",
    "bayesmi.validation": "bayesmi.studies.validation",
    "bayesmi.interpret.matrix": "bayesmi.estimators.matrix",
    "bayesmi.interpret.plot_ablation": "bayesmi.plots.ablation",
}
#: Old module path -> what replaced it (a different API).
REPLACED = {
    "bayesmi.em": "bayesmi.infer.em",
    "bayesmi.gibbs": "bayesmi.infer.gibbs",
    "bayesmi.inference": "bayesmi.infer (one module per algorithm: gibbs, nuts, svi, bootstrap)",
    "bayesmi.pipeline": "bayesmi.fitting (fit_mixtures, integrate) and bayesmi.diagnostics",
}


class _Forward(importlib.abc.Loader):
    """Loads an old path as a module that forwards attribute access to its new home."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: Any) -> types.ModuleType:
        warnings.warn(f"{spec.name} has moved to {self.target}; the old path will be removed in the next release",
                      DeprecationWarning, stacklevel=find_stack_level())
        target = importlib.import_module(self.target)
        module = types.ModuleType(spec.name, f"Deprecated alias of :mod:`{self.target}`.")
        module.__getattr__ = lambda name: getattr(target, name)  # type: ignore[method-assign]
        module.__dir__ = lambda: dir(target)  # type: ignore[method-assign]
        module.__all__ = list(getattr(target, "__all__", ()))
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the module forwards to an imported one."""


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the old module paths of :data:`MOVED` and :data:`REPLACED` (installed by ``import bayesmi``)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname in REPLACED:
            raise ImportError(f"{fullname} was reorganised into {REPLACED[fullname]}; see the Design section of "
                              "the README", name=fullname)
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, _Forward(MOVED[fullname]))
        return None
