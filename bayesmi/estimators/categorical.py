"""I(X;Y) of a continuous x (N,) or (N, d) and a categorical y (class labels).

Model: ``p(x, y = c) = π_c p(x | c)``, with class probabilities π ~ Dirichlet(a·1) and, for
each class, p(x | c) the Bayesian Gaussian mixture of :mod:`bayesmi.models` (its own number of
components, chosen per class). Given the labels the posterior factorises: π | y ~
Dirichlet(counts + a), and each class's mixture depends on that class's x only. So the
classes are fitted independently (one batch of :func:`bayesmi.fitting.fit_mixtures`, on x standardised
by one transform pooled over classes, which leaves MI unchanged) and a joint posterior draw
is draw i of every class's mixture with draw i of π, paired by index. Per draw

    I = Σ_c π_c E_{p(x|c)}[log p(x|c) − log Σ_c' π_c' p(x|c')]  nats

(:func:`bayesmi.mixture.categorical_mutual_information`). The default a = 1/2 is Jeffreys'
prior; with hundreds of samples per class its pull is negligible. The class proportions
matter: GMM-MI's categorical estimator (Piras et al. 2023) plugs in uniform π, inside the
log and as the outer weights, which on the 80/20 two-Gaussian example (means ±1, unit sd)
gives 0.337 nats even with the true class densities, against the true I = 0.2326.

With ``method="bootstrap"`` each replicate refits every class on resampled rows (within
the class) and resamples the class proportions as multinomial counts / N. The pieces
(:func:`class_codes`, :func:`class_probability_draws`, :class:`ClassMixtureModel`) are shared
with the categorical cells of :func:`bayesmi.mi_matrix`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bayesmi.checks import CHECK_MAX_DIM, class_predictive_check, warn_if_misfit
from bayesmi.estimators.posterior import quantity_result
from bayesmi.fitting import compare_with_independence, fit_mixtures, integrate, row_log_likelihoods, store_pointwise
from bayesmi.inputs import check_aligned, encode_labels, prepare_variables, score_columns
from bayesmi.mixture import GMMParams, categorical_mutual_information, pointwise_categorical_mutual_information
from bayesmi.options import FitOptions
from bayesmi.results import MIResult
from bayesmi.util import Progress, format_values, map_chunked

__all__ = ["categorical_mi", "class_codes", "check_class_sizes", "class_probability_draws", "ClassMixtureModel",
           "MIN_CLASS_SAMPLES", "DEFAULT_CLASS_CONCENTRATION"]

#: Fewest samples of x a class may have: its own mixture is fitted to them.
MIN_CLASS_SAMPLES = 10
#: Dirichlet concentration per class of the class-probability prior (Jeffreys).
DEFAULT_CLASS_CONCENTRATION = 0.5

_categorical_pmi_per_draw = jax.jit(jax.vmap(pointwise_categorical_mutual_information, in_axes=(0, 0, None, None)))


def class_codes(labels: Any, n: int, where: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (N,) of the class labels and the sorted distinct labels (C,), with the input checks:
    N labels, at least 2 classes, every class with at least :data:`MIN_CLASS_SAMPLES` rows."""
    codes, [classes], _ = encode_labels(labels, where)
    if codes.shape[0] != n:
        raise ValueError(f"x and {where} have different lengths: x has {n} rows, {where} has {codes.shape[0]} labels; "
                         "they must be paired samples of the same length.")
    if classes.size < 2:
        raise ValueError(f"{where} has a single class ({format_values(classes)}): I(X;Y) is 0 with one class; "
                         "categorical MI needs labels of at least 2 classes.")
    check_class_sizes(np.bincount(codes[:, 0], minlength=classes.size), classes, where,
                      "to fit the class's mixture of x")
    return codes[:, 0], classes


def check_class_sizes(counts: np.ndarray, classes: np.ndarray, where: str, purpose: str) -> None:
    """Raise a ValueError naming the classes (label and count, the first few) of ``where`` with fewer
    than MIN_CLASS_SAMPLES rows; ``purpose`` says what the rows are for."""
    small = np.flatnonzero(counts < MIN_CLASS_SAMPLES)
    if small.size:
        labels = np.asarray(classes).tolist()  # Python scalars, for the message
        listed = ", ".join(f"{labels[c]!r} ({counts[c]})" for c in small[:5])
        more = f" and {small.size - 5} more" if small.size > 5 else ""
        raise ValueError(f"{small.size} of the {len(labels)} classes of {where} have fewer than {MIN_CLASS_SAMPLES} "
                         f"samples, too few {purpose}: {listed}{more}. Drop or merge those classes.")


def class_probability_draws(counts: np.ndarray, lead: tuple[int, int], draws_kind: str, concentration: float,
                            key: jax.Array) -> np.ndarray:
    """Draws (P, chains, draws, C) of the class probabilities of P tables of class counts (P, C):
    Dirichlet(counts + concentration) posteriors, or multinomial(N, counts/N)/N resamples for bootstrap
    replicates."""
    counts = np.asarray(counts, np.float64)
    if draws_kind == "replicates":
        rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel())
        n = counts.sum(1, keepdims=True)
        out = np.stack([rng.multinomial(int(m), c / m, size=lead) for c, m in zip(counts, n[:, 0])])
        return (out / n[:, None, None, :]).astype(np.float32)
    draws = jax.random.dirichlet(key, counts + concentration, shape=lead + (counts.shape[0],))
    return np.moveaxis(np.asarray(draws), 2, 0)


@dataclass(frozen=True)
class ClassMixtureModel:
    """Class probabilities (chains, draws, C) and one mixture per class (leaves (chains, draws, K_c, ...))
    of a categorical-y MI, with the standardised x (N, D) and class codes (N,) they were fitted to."""

    class_probs: np.ndarray
    class_params: tuple[GMMParams, ...]
    x: np.ndarray
    codes: np.ndarray

    def pointwise_mi(self, draw_index: np.ndarray) -> np.ndarray:
        """log p(x_i | y_i) / p(x_i) (nats) at every row for the flattened draws ``draw_index``: (S, N)."""
        flat = lambda a: jnp.asarray(a.reshape((-1,) + a.shape[2:])[draw_index])  # noqa: E731
        draws = (flat(self.class_probs), tuple(jax.tree.map(flat, p) for p in self.class_params))
        x, codes = jnp.asarray(self.x, jnp.float32), jnp.asarray(self.codes)
        return np.asarray(map_chunked(lambda d: _categorical_pmi_per_draw(*d, x, codes), draws, 64))


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
    transform: str = "auto",
) -> MIResult:
    """Posterior of I(X;Y) for continuous x (N,) / (N, d) and class labels y (N,) of any hashable type.

    Called by :func:`bayesmi.estimate_mi` with ``y_type="categorical"`` (settings documented there).
    The result's ``idata.posterior`` holds "mi", "class_probs" (class) and each class's mixture as
    ``class{i}_weights``, ``class{i}_means``, ``class{i}_cov``; the coordinate "class" and
    ``diagnostics["classes"]`` give the label of class i; ``n_components`` and ``selection`` are
    keyed "class{i}". ``idata.observed_data`` holds the standardised x (normal scores in the columns
    ``transform`` picks, :func:`bayesmi.inputs.score_columns`, listed in
    ``diagnostics["normal_scored_columns"]``; "auto" tests normality within classes; "flow" is for the
    joint route only) and the class codes y, and ``idata.log_likelihood["xy"]`` log p(x_i, y_i) per draw.
    """
    if not (np.isfinite(class_concentration) and class_concentration > 0):
        raise ValueError(f"class_concentration must be a finite number > 0, got {class_concentration!r}")
    check_aligned({"x": x, "y": labels})
    if transform == "flow":
        raise ValueError("transform='flow' learns maps of a joint (x, y); with class labels use 'auto', "
                         "'normal_scores' or 'none'")
    (xs,), _, jittered = prepare_variables({"x": x}, jitter_ties=jitter_ties, seed=seed)
    codes, classes = class_codes(labels, xs.shape[0])
    # "auto" tests the margins of x within classes (deviations from the class means): class-conditional
    # Gaussians are what the mixtures fit best, however non-normal their pooled margin.
    means = np.stack([xs[codes == c].mean(0) for c in range(classes.size)])
    xs, scored = score_columns(xs, transform, tested=xs - means[codes])
    xs = xs.astype(np.float32)
    counts = np.bincount(codes, minlength=classes.size)
    rows = [np.flatnonzero(codes == c) for c in range(classes.size)]
    names = [f"x{i}" for i in range(xs.shape[1])]
    key = jax.random.key(seed)
    with Progress(options.progress, f"estimate_mi categorical ({options.method})") as progress:
        batch = fit_mixtures([xs[r] for r in rows], options, key, progress)
        class_params = tuple(batch.mixture(c) for c in range(classes.size))
        lead = class_params[0].weights.shape[:2]
        draws_kind = type(batch.info).DRAWS
        probs = class_probability_draws(counts[None], lead, draws_kind, class_concentration,
                                        jax.random.fold_in(key, classes.size))
        draws = (probs, tuple(jax.tree.map(lambda a: a[None], p) for p in class_params))
        integral = integrate(categorical_mutual_information, draws, (), options, seed, "I(X;Y)", progress)
    values, probs = integral.values[0], probs[0]
    check = None
    if options.predictive_check and xs.shape[1] + 1 <= CHECK_MAX_DIM:
        def classes_and_pooled(rows: np.ndarray | None) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
            x_rows, c_rows = (xs, codes) if rows is None else (xs[rows], codes[rows])
            class_rows = [x_rows[c_rows == c] for c in range(classes.size)]
            if min(len(r) for r in class_rows) < MIN_CLASS_SAMPLES:  # a subsample may thin a rare class
                return None
            return class_rows, [x_rows]

        independence = compare_with_independence(
            *xs.shape, classes_and_pooled, batch, options, jax.random.fold_in(key, classes.size + 1),
            float(np.quantile(values, 0.025)))
        check = class_predictive_check(class_params, xs, codes, seed)._replace(independence=independence)
    warn_if_misfit(check, "Compare with a nearest-neighbour estimate, bayesmi.ksg.class_mutual_information(x, codes).")

    log_lik = None
    if store_pointwise(pointwise_log_likelihood, draws_kind, values.size * xs.shape[0]):
        log_xy = np.empty(lead + (xs.shape[0],), np.float32)
        for c, (params, r) in enumerate(zip(class_params, rows)):
            log_xy[..., r] = row_log_likelihoods(params, xs[r]) + np.log(probs[..., c:c + 1])
        log_lik = {"xy": log_xy}
    diagnostics = {"n": xs.shape[0], "dim_x": xs.shape[1], "dim_y": 1, "y_type": "categorical",
                   "classes": list(classes.tolist()), "class_counts": counts,
                   "class_concentration": class_concentration, "jittered_columns": jittered,
                   "normal_scored_columns": [name for name, on in zip(names, scored) if on], "transform": transform}
    return quantity_result(
        variable="mi", long_name="I(X;Y)", values=values, integral=integral, batch=batch,
        parts={f"class{c}_": (c, names) for c in range(classes.size)},
        observed={"x": (xs, ["obs", "dim"]), "y": (codes, ["obs"])}, options=options, units=units, truth=truth,
        diagnostics=diagnostics, coords={"obs": np.arange(xs.shape[0]), "dim": names, "class": classes},
        log_likelihood=log_lik, extra_posterior={"class_probs": (probs, ["class"])},
        model=ClassMixtureModel(probs, class_params, xs, codes), check=check,
    )
