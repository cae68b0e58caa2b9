"""I(X;Y) of a continuous x (N,) or (N, d) and a categorical y (class labels).

Model: ``p(x, y = c) = π_c p(x | c)``, with class probabilities π ~ Dirichlet(a·1) and, for
each class, p(x | c) the Bayesian Gaussian mixture of :mod:`bayesmi.models` (its own number of
components, chosen per class). Given the labels the posterior factorises: π | y ~
Dirichlet(counts + a), and each class's mixture depends on that class's x only. So the
classes are fitted independently (:func:`bayesmi.pipeline.fit_mixture`, on x standardised
by one transform pooled over classes, which leaves MI unchanged) and a joint posterior draw
is draw i of every class's mixture with draw i of π, paired by index. Per draw

    I = Σ_c π_c E_{p(x|c)}[log p(x|c) − log Σ_c' π_c' p(x|c')]  nats

(:func:`bayesmi.gmm.categorical_mutual_information`). The default a = 1/2 is Jeffreys'
prior; with hundreds of samples per class its pull is negligible. The class proportions
matter: GMM-MI's categorical estimator (Piras et al. 2023) plugs in uniform π, inside the
log and as the outer weights, which on the 80/20 two-Gaussian example (means ±1, unit sd)
gives 0.337 nats even with the true class densities, against the true I = 0.2326.

With ``method="bootstrap"`` each replicate refits every class on resampled rows (within
the class) and resamples the class proportions as multinomial counts / N.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from bayesmi import gmm, pipeline
from bayesmi.discrete import _encode
from bayesmi.inputs import prepare_variables
from bayesmi.pipeline import FitOptions
from bayesmi.result import MIResult

__all__ = ["categorical_mi", "check_class_sizes", "MIN_CLASS_SAMPLES", "DEFAULT_CLASS_CONCENTRATION"]

#: Fewest samples of x a class may have: its own mixture is fitted to them.
MIN_CLASS_SAMPLES = 10
#: Dirichlet concentration per class of the class-probability prior (Jeffreys).
DEFAULT_CLASS_CONCENTRATION = 0.5


def _class_codes(labels: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (N,) of the labels and the sorted distinct labels (C,), with the input checks."""
    codes, [classes], _ = _encode(labels, "y", None, stacklevel=5)  # warns at the caller of estimate_mi
    if codes.shape[0] != n:
        raise ValueError(f"x and y have different lengths: x has {n} rows, y has {codes.shape[0]} labels; "
                         "they must be paired samples of the same length.")
    names = classes.tolist()  # Python scalars, for messages
    if classes.size < 2:
        raise ValueError(f"y has a single class ({names[0]!r}): I(X;Y) is 0 with one class; "
                         "categorical MI needs labels of at least 2 classes.")
    check_class_sizes(np.bincount(codes[:, 0], minlength=classes.size), classes, "y",
                      "to fit the class's mixture of x")
    return codes[:, 0], classes


def check_class_sizes(counts: np.ndarray, classes: np.ndarray, where: str, purpose: str) -> None:
    """Raise a ValueError naming every class (label and count) of ``where`` with fewer than
    MIN_CLASS_SAMPLES rows; ``purpose`` says what the rows are for."""
    small = np.flatnonzero(counts < MIN_CLASS_SAMPLES)
    if small.size:
        labels = np.asarray(classes).tolist()  # Python scalars, for the message
        listed = ", ".join(f"{labels[c]!r} ({counts[c]})" for c in small)
        raise ValueError(f"class(es) {listed} of {where} have fewer than {MIN_CLASS_SAMPLES} samples, too few "
                         f"{purpose}; drop or merge those classes.")


def _class_probabilities(counts: np.ndarray, lead: tuple[int, ...], method: str, concentration: float,
                         seed: int) -> np.ndarray:
    """Draws (*lead, C) of π: Dirichlet(counts + concentration), or multinomial(N, counts/N)/N for the bootstrap."""
    if method == "bootstrap":
        n = counts.sum()
        return np.random.default_rng(seed).multinomial(n, counts / n, size=lead).astype(np.float32) / n
    key = jax.random.fold_in(jax.random.key(seed), counts.size)
    return np.asarray(jax.random.dirichlet(key, counts + concentration, shape=lead))


def categorical_mi(
    x: Any,
    labels: Any,
    options: FitOptions,
    *,
    class_concentration: float = DEFAULT_CLASS_CONCENTRATION,
    units: str = "nats",
    truth: float | None = None,
    pointwise_log_likelihood: bool | str = "auto",
    jitter_ties: bool = True,
    seed: int = 0,
) -> MIResult:
    """Posterior of I(X;Y) for continuous x (N,) / (N, d) and class labels y (N,) of any hashable type.

    Called by :func:`bayesmi.estimate_mi` with ``y_type="categorical"`` (settings documented there).
    The result's ``idata.posterior`` holds "mi", "class_probs" (class) and each class's mixture as
    ``class{i}_weights``, ``class{i}_means``, ``class{i}_prec_chol``; the coordinate "class" and
    ``diagnostics["classes"]`` give the label of class i; ``n_components`` and ``selection`` are
    keyed "class{i}". ``idata.observed_data`` holds the standardised x and the class codes y, and
    ``idata.log_likelihood["xy"]`` log p(x_i, y_i) per draw.
    """
    if not (np.isfinite(class_concentration) and class_concentration > 0):
        raise ValueError(f"class_concentration must be a finite number > 0, got {class_concentration!r}")
    (xs,), _, jittered = prepare_variables({"x": x}, jitter_ties=jitter_ties, seed=seed)
    xs = xs.astype(np.float32)
    codes, classes = _class_codes(labels, xs.shape[0])
    counts = np.bincount(codes, minlength=classes.size)
    rows = [np.flatnonzero(codes == c) for c in range(classes.size)]
    names = [f"x{i}" for i in range(xs.shape[1])]

    fits = {f"class{c}_": (pipeline.fit_mixture(xs[r], options, jax.random.fold_in(jax.random.key(seed), c)), names)
            for c, r in enumerate(rows)}
    class_params = tuple(fit.posterior.params for fit, _ in fits.values())
    lead = class_params[0].weights.shape[:-1]
    probs = _class_probabilities(counts, lead, options.method, class_concentration, seed)
    integral = pipeline.integrate(gmm.categorical_mutual_information, (probs, class_params), (), options, seed)

    log_lik = None
    if pipeline.store_pointwise(pointwise_log_likelihood, options.method, integral.values.size * xs.shape[0]):
        log_xy = np.empty(lead + (xs.shape[0],), np.float32)
        for c, (params, r) in enumerate(zip(class_params, rows)):
            log_xy[..., r] = pipeline.pointwise_log_likelihood(params, xs[r]) + np.log(probs[..., c:c + 1])
        log_lik = {"xy": log_xy}
    diagnostics = {"n": xs.shape[0], "dim_x": xs.shape[1], "dim_y": 1, "y_type": "categorical",
                   "classes": list(classes.tolist()), "class_counts": counts,
                   "class_concentration": class_concentration, "jittered_columns": jittered}
    return MIResult(**pipeline.result_fields(
        "mi", "I(X;Y)", integral.values, integral, fits,
        {"x": (xs, ["obs", "dim"]), "y": (codes, ["obs"])}, options, units, truth, diagnostics,
        coords={"obs": np.arange(xs.shape[0]), "dim": names, "class": classes}, log_likelihood=log_lik,
        extra_posterior={"class_probs": (probs, ["class"])},
    ))
