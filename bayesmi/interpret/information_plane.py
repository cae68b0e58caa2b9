"""The information plane of a training classifier, with posterior intervals.

For every layer L of a network (each hidden layer and the logits) at chosen training epochs, the
information plane holds I(X; L), how much the layer keeps of the input, and I(L; Y), how much it
knows of the label (Tishby & Zaslavsky 2015; Shwartz-Ziv & Tishby 2017). Following Butakov,
Tolmachev et al. (ICLR 2024), high-dimensional variables are compressed first: the inputs once,
by an autoencoder to a few codes, each layer's activations per epoch by PCA after a small Gaussian
noise (``noise`` times the layer's root-mean-square spread) is added to them, which keeps
I(X; L) finite for a deterministic network and gives dead units a spread. Both are then ordinary
bayesmi posteriors: I(X_c; L_c) of two continuous codes, I(L_c; Y) with class labels.

Compression only lowers MI (I(C(X); L_c) ≤ I(X; L)); the codes' lost variance is in the table, and
codes that miss more than 5% of it raise a :class:`~bayesmi.interpret.compression.CompressionWarning`.
Values are comparable along one layer's trajectory, less so across layers whose compressions
keep different shares (Amjad et al. and Butakov et al. make the same caveat).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Literal

import equinox as eqx
import jax
import numpy as np
import pandas as pd
import tqdm

from bayesmi.interpret.compression import LOST_VARIANCE_WARNING, CompressionWarning, Compressor, fit_compressor
from bayesmi.results import MIResult

__all__ = ["InformationPlane", "QUANTITIES", "information_plane", "layer_outputs"]

#: The two coordinates of the plane, as named in :attr:`InformationPlane.table`.
QUANTITIES = ("I(X;L)", "I(L;Y)")


@eqx.filter_jit
def _batch_outputs(model: Any, batch: jax.Array) -> tuple[jax.Array, ...]:
    """Every layer's flattened activations and the logits of a batch (B, ...), one compiled program
    per model architecture and batch shape (shared by all snapshots of one network)."""
    def one(example: jax.Array) -> tuple[jax.Array, ...]:
        return (*(h.reshape(-1) for h in model.hidden(example)), model(example))
    return jax.vmap(one)(batch)


def layer_outputs(model: Any, x: Any, batch_size: int = 1024) -> list[np.ndarray]:
    """Activations of every layer of a classifier for examples x (N, ...): each hidden layer
    (``model.hidden(example)``, flattened to (N, features)) and the logits (N, n_classes). Works for
    :class:`bayesmi.nets.MLP` and :class:`bayesmi.nets.CNN`."""
    from bayesmi.util import map_chunked

    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 2 or not np.isfinite(x).all():
        raise ValueError(f"x must be finite examples (N, ...), got shape {x.shape}"
                         f"{'' if x.ndim < 2 else ' with NaN or infinite values'}")
    return [np.asarray(a, np.float64) for a in map_chunked(lambda b: _batch_outputs(model, b), x, batch_size)]


@dataclass(frozen=True)
class InformationPlane:
    """Posteriors of I(X; L) and I(L; Y) for each (epoch, layer).

    table: one row per (epoch, layer, quantity) with columns epoch, layer (0-based; the last is
    the logits), layer_name, quantity (:data:`QUANTITIES`), mean, sd, low, high (the ``level``
    interval), converged, check_passed, lost_variance (the share of the layer's variance its PCA
    codes miss), seconds (of the fit; seconds_em, seconds_sampling and seconds_integral of its
    stages: the choice of K, the sampler, the MI integral). units: "nats" or "bits". level: the interval's probability.
    results: the :class:`~bayesmi.MIResult` of each (epoch, layer, quantity).
    x_lost_variance: the share of the inputs' variance the input codes miss.
    """

    table: pd.DataFrame
    units: str
    level: float
    x_lost_variance: float
    results: dict[tuple[int, int, str], MIResult] = field(repr=False, default_factory=dict)

    def plot(self, ax: Any = None) -> Any:
        """The plane: I(L; Y) against I(X; L), one colour per layer, epochs from light to dark,
        interval bars on both axes (:func:`bayesmi.plots.plot_information_plane`)."""
        from bayesmi.plots import plot_information_plane

        return plot_information_plane(self.table, self.units, self.level, ax=ax)

    def plot_curves(self, axes: Any = None) -> Any:
        """I(X; L) and I(L; Y) against the epoch, one line and interval band per layer
        (:func:`bayesmi.plots.plot_information_curves`)."""
        from bayesmi.plots import plot_information_curves

        return plot_information_curves(self.table, self.units, self.level, axes=axes)


def _noisy(a: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """a (N, F) plus Gaussian noise of sd ``noise`` × the root-mean-square spread of a about its
    column means (an absolute ``noise`` when a is constant)."""
    spread = float(np.sqrt(np.mean((a - a.mean(0)) ** 2)))
    return a + noise * (spread if spread > 0 else 1.0) * rng.standard_normal(a.shape)


def _plane_fit(a: np.ndarray, b: np.ndarray, y_type: str, units: str, seed: int, fit_options: dict[str, Any]
               ) -> tuple[MIResult, list[tuple[type[Warning], str]], float]:
    """One point of the plane (a picklable task): the posterior of I(a; b), the warnings its fit issued
    as (category, message), and its wall seconds."""
    from bayesmi.estimators.mi import estimate_mi

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = estimate_mi(a, b, y_type=y_type, units=units, seed=seed, progress=False, **fit_options)
    return result, [(w.category, str(w.message)) for w in caught], time.perf_counter() - start


def information_plane(snapshots: Mapping[int, Any], x: Any, y: Any, *, dim: int = 4, noise: float = 1e-3,
                      x_compressor: Compressor | None = None, layer_names: Sequence[str] | None = None,
                      level: float = 0.95, units: Literal["nats", "bits"] = "nats", seed: int = 0,
                      progress: bool = True, executor: Executor | None = None,
                      **fit_options: Any) -> InformationPlane:
    """I(X; L) and I(L; Y), with posterior intervals, of every layer of every model snapshot.

    Args:
        snapshots: {epoch: classifier} (e.g. collected by ``train_classifier(..., on_epoch=...)``),
            networks with ``hidden`` and ``__call__`` (:func:`layer_outputs`).
        x: evaluation examples (N, ...); y: their class labels (N,).
        dim: codes per compressed variable (inputs and layers with more features than ``dim``).
        noise: Gaussian noise added to each layer's activations before PCA, relative to their
            spread (Butakov, Tolmachev et al. use ~1e-3).
        x_compressor: a fitted compressor of the inputs (:func:`~bayesmi.interpret.fit_compressor`);
            None fits a dense autoencoder with ``dim`` codes to x.
        layer_names: one name per layer (default "hidden 1", …, "output").
        level, units: the intervals' probability and the units of every number.
        seed: noise, compressor and every fit derive from it.
        progress: a bar over the fits.
        executor: fits the points of the plane in parallel, e.g. ``bayesmi.parallel.process_pool(2)``
            on both cores of a laptop, a Ray or Dask executor on a cluster (the fits are independent;
            each worker compiles its own programs). None: one after another in this process. The
            codes, and so the data of every fit, are the same either way.
        fit_options: passed to :func:`bayesmi.estimate_mi`.
    """
    from bayesmi.parallel import Task, check_executor, run_tasks

    if not snapshots:
        raise ValueError("snapshots is empty: give {epoch: model} for at least one epoch")
    check_executor(executor)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if y.shape != (len(x),):
        raise ValueError(f"y must hold one class label per example, shape ({len(x)},), got {y.shape}")
    if x_compressor is None:
        x_compressor = fit_compressor(x, dim, "autoencoder", seed=seed, progress=progress)
    x_codes = x_compressor.codes(x)
    x_lost = x_compressor.lost_variance(x)
    rng = np.random.default_rng(seed)
    points, tasks, lossy = [], [], []
    for epoch in sorted(snapshots):
        outputs = layer_outputs(snapshots[epoch], x)
        names = list(layer_names) if layer_names is not None else [
            *(f"hidden {i + 1}" for i in range(len(outputs) - 1)), "output"]
        if len(names) != len(outputs):
            raise ValueError(f"layer_names has {len(names)} names for {len(outputs)} layers")
        for layer, activations in enumerate(outputs):
            noisy = _noisy(activations, noise, rng)
            if noisy.shape[1] > dim:
                compressor = fit_compressor(noisy, dim, "pca")
                codes, lost = compressor.codes(noisy), compressor.lost_variance(noisy)
            else:
                codes, lost = noisy, 0.0
            if lost > LOST_VARIANCE_WARNING:
                lossy.append(f"{names[layer]} at epoch {epoch} ({lost:.1%})")
            for quantity, (a, b, y_type) in zip(QUANTITIES, ((x_codes, codes, "continuous"), (codes, y, "categorical"))):
                points.append((epoch, layer, names[layer], quantity, lost))
                tasks.append(Task(f"{epoch}/{layer}/{quantity}", _plane_fit, (a, b, y_type, units, seed, fit_options)))
    # Longest first, so that workers finish together: a 10-class I(L;Y) fit costs ~1.4 × an
    # I(X;L) one (measured on the Fashion-MNIST MLP plane).
    longest_first = sorted(tasks, key=lambda task: not task.key.endswith(QUANTITIES[1]))
    with tqdm.tqdm(total=len(tasks), desc="information plane", disable=not progress) as bar:
        outcomes = run_tasks(longest_first, executor, on_result=lambda *_: bar.update())
    rows, results = [], {}
    issued: dict[type[Warning], list[tuple[int, str, str, str]]] = {}
    for (epoch, layer, name, quantity, lost), task in zip(points, tasks):
        result, caught, seconds = outcomes[task.key]
        for category, message in caught:
            issued.setdefault(category, []).append((epoch, name, quantity, message))
        low, high = result.interval(level)
        results[epoch, layer, quantity] = result
        rows.append({"epoch": epoch, "layer": layer, "layer_name": name, "quantity": quantity,
                     "mean": result.mean, "sd": result.sd, "low": low, "high": high,
                     "converged": result.converged, "check_passed": result.check_passed,
                     "lost_variance": lost, "seconds": seconds,
                     **{f"seconds_{stage}": sec for stage, sec in result.diagnostics.get("timings", {}).items()}})
    for category, where in issued.items():  # one warning per kind instead of one per fit
        epoch, name, quantity, message = where[0]
        warnings.warn(f"information_plane: {len(where)} of {len(rows)} fits issued a {category.__name__} (see the "
                      f"table's converged and check_passed columns); the first, {quantity} of {name} at epoch "
                      f"{epoch}: {message}", category, stacklevel=2)
    if x_lost > LOST_VARIANCE_WARNING or lossy:
        parts = ([f"the {x_compressor.dim} input codes miss {x_lost:.1%} of the inputs' variance"]
                 if x_lost > LOST_VARIANCE_WARNING else [])
        if lossy:
            parts.append(f"the {dim} PCA codes of {len(lossy)} of {len(rows) // 2} layer snapshots miss more than "
                         f"{LOST_VARIANCE_WARNING:.0%} of theirs (the first, {lossy[0]}; the table's lost_variance)")
        warnings.warn(f"information_plane: {'; '.join(parts)}. MI of lossy codes is a lower bound that may lie well "
                      "below the uncompressed variables' MI", CompressionWarning, stacklevel=2)
    return InformationPlane(pd.DataFrame(rows), units, level, x_lost, results)
