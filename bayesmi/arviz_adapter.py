"""The one module that knows which ArviZ line is installed.

bayesmi supports two ArviZ lines, whose containers and constructors differ:

- ArviZ 0.2x (Python 3.11 and later): results are ``arviz.InferenceData``, built by
  ``az.from_dict(posterior=..., sample_stats=..., ...)``; groups are listed by ``idata.groups()``
  and added by ``idata.add_groups``.
- ArviZ 1.x (Python 3.12 and later; ``arviz_base``/``arviz_stats``/``arviz_plots``): results are
  ``xarray.DataTree``, built by ``az.from_dict({"posterior": ..., ...})``; groups are its children.

On both, a group reads as ``idata["posterior"]`` or ``idata.posterior``, a variable as
``idata.posterior["mi"]`` (attributes included), and ``az.summary``, ``az.loo`` and
``az.plot_trace`` take the result directly, so only building a result, adding a group and listing
the groups differ: bayesmi does those through the functions here. ArviZ is imported on first use
(it takes ~0.5 s).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

__all__ = ["arviz", "arviz_major", "from_groups", "add_group", "group_names"]


def arviz() -> Any:
    """The ``arviz`` module, imported on first use without the FutureWarning that ArviZ 0.2x prints
    at import about its coming 1.0 refactor, which says nothing about the user's code."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning)
        import arviz as az
    return az


def arviz_major() -> int:
    """The installed ArviZ's major version: 0 (``InferenceData``) or 1 (``xarray.DataTree``)."""
    return int(arviz().__version__.split(".")[0])


def from_groups(groups: Mapping[str, Mapping[str, Any] | None], coords: Mapping[str, Any] | None = None,
                dims: Mapping[str, list[str]] | None = None) -> Any:
    """A result container from arrays by group: ``groups`` maps a group name (sampled: "posterior",
    "sample_stats", "log_likelihood", arrays leading with (chain, draw); or "observed_data",
    "constant_data") to {variable: array}. Empty or None groups are left out. ``dims`` names each
    variable's dimensions after (chain, draw); ``coords`` gives the coordinates of those dims."""
    az = arviz()
    present = {name: dict(variables) for name, variables in groups.items() if variables}
    options = {"coords": dict(coords or {}), "dims": dict(dims or {})}
    if arviz_major() >= 1:
        return az.from_dict(present, **options)
    return az.from_dict(**present, **options)


def add_group(idata: Any, name: str, dataset: Any) -> None:
    """Add the ``xarray.Dataset`` ``dataset`` to ``idata`` as group ``name`` (in place)."""
    if arviz_major() >= 1:
        idata[name] = dataset
    else:
        idata.add_groups({name: dataset}, warn_on_custom_groups=False)


def group_names(idata: Any) -> list[str]:
    """The names of the groups of ``idata`` (e.g. ["posterior", "sample_stats", ...])."""
    if arviz_major() >= 1:
        return list(idata.children)
    return list(idata.groups())
