"""The check's comparison with independence: which fits it flags, on the suite and on independent data.

``estimate_mi`` compares by BIC its joint mixture with x ⟂ y, each side fitted by its own mixture
(``bayesmi.fitting.independence_comparison``). The check fails when independence wins (log Bayes
factor > 0) while the joint posterior's 95% interval excludes 0. This script runs the default
``estimate_mi`` on

- the suite's data sets (the data and fit seeds of ``bayesmi validate --suite``, so rows match
  ``examples/results/suite/records_n1000.csv``; the committed output: family="gaussian", the default then), all dependent (0.18 to 2.3 nats);
- data sets made here with MI = 0 or close to it: independent normals (1+1, 3+3, 5+5 dims), independent
  Cauchy columns, independent bent squares (x and y each uniform on a square bent by a parabola), a
  noisy ring in 2-D against an independent normal y, and weak dependence (three pairs with ρ = 0.1,
  I = 0.015 nats), each with its own data seeds 0, 1, 2, …

and prints per fit the truth, the interval, whether it covers, the replicate check's p-value, the log
Bayes factor of x ⟂ y ("skipped" where ``bayesmi.fitting.independence_may_win`` rules it out), the
three K, and whether each part of the check fails; then the counts of
covered, flagged and unflagged-missed fits with and without the comparison:

    python examples/benchmarks/benchmark_independence.py [--replicates 5] [--n 1000] [--toys a,b,...]
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable

import numpy as np

import bayesmi
from bayesmi import toys
from bayesmi.studies.validation import replicate_seeds

Sampler = Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]


def _bent_square(rng: np.random.Generator, n: int) -> np.ndarray:
    u = rng.uniform(-1, 1, (n, 2))
    return np.column_stack([u[:, 0], u[:, 1] + 1.5 * u[:, 0] ** 2])


def _ring(rng: np.random.Generator, n: int) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi, n)
    return np.column_stack([np.cos(angle), np.sin(angle)]) + 0.1 * rng.standard_normal((n, 2))


def _weak_pairs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    toy = toys.gaussian_pairs([0.1, 0.1, 0.1])
    return toy.sample(n, seed=int(rng.integers(2**31)))


#: name -> (true MI in nats, sampler of (x, y) rows).
NEAR_INDEPENDENT: dict[str, tuple[float, Sampler]] = {
    "independent_normal_1x1": (0.0, lambda rng, n: (rng.standard_normal(n), rng.standard_normal(n))),
    "independent_normal_3x3": (0.0, lambda rng, n: (rng.standard_normal((n, 3)), rng.standard_normal((n, 3)))),
    "independent_normal_5x5": (0.0, lambda rng, n: (rng.standard_normal((n, 5)), rng.standard_normal((n, 5)))),
    "independent_cauchy_1x1": (0.0, lambda rng, n: (rng.standard_cauchy(n), rng.standard_cauchy(n))),
    "independent_bent_squares_2x2": (0.0, lambda rng, n: (_bent_square(rng, n), _bent_square(rng, n))),
    "independent_ring_2x1": (0.0, lambda rng, n: (_ring(rng, n), rng.standard_normal(n))),
    "weak_normal_3x3": (toys.gaussian_pairs([0.1, 0.1, 0.1]).mi, _weak_pairs),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toys", default=",".join([*toys.SUITE, *NEAR_INDEPENDENT]))
    parser.add_argument("--replicates", type=int, default=5, help="per suite task (near-independent ones: 3)")
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    print(f"N = {args.n}; lbf = log Bayes factor of x ⟂ y (BIC); K = joint, x, y; "
          "rep fails: replicate check p < 0.01; ind fails: lbf > 0 and the interval excludes 0")
    print(f"{'task':30s} {'rep':>3s} {'truth':>6s} {'lo95':>7s} {'hi95':>7s} {'covers':>6s} {'p':>8s} {'lbf':>8s} "
          f"{'K':>10s} {'rep fails':>9s} {'ind fails':>9s} {'s':>5s}")
    counts = {"fits": 0, "covered": 0, "flagged_before": 0, "flagged_after": 0, "missed_unflagged_before": 0,
              "missed_unflagged_after": 0, "alarms_on_covered": 0}
    for name in args.toys.split(","):
        suite = name in toys.SUITE
        for replicate in range(args.replicates if suite else 3):
            if suite:
                data_seed, fit_seed = replicate_seeds(0, name, args.n, replicate)
                x, y = toys.SUITE[name].sample(args.n, seed=data_seed)
                truth = toys.SUITE[name].mi
            else:
                fit_seed = replicate
                truth, sampler = NEAR_INDEPENDENT[name]
                x, y = sampler(np.random.default_rng(replicate), args.n)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = bayesmi.estimate_mi(x, y, seed=fit_seed, progress=False)
            lo, hi = result.interval(0.95)
            check, independence = result.check, result.check.independence
            covers = lo <= truth <= hi
            before, after = not check.replicates_passed, not check.passed
            counts["fits"] += 1
            counts["covered"] += covers
            counts["flagged_before"] += before
            counts["flagged_after"] += after
            counts["missed_unflagged_before"] += not covers and not before
            counts["missed_unflagged_after"] += not covers and not after
            counts["alarms_on_covered"] += covers and after and not before
            if independence is None:  # independence_may_win: the dependence found outweighs the joint's penalty
                lbf, ks, contradicted, seconds = "skipped", "-", False, 0.0
            else:
                lbf = f"{independence.log_bayes_factor:.1f}"
                ks = ",".join(str(k) for part in independence.n_components for k in part)
                contradicted, seconds = independence.contradicted, independence.seconds
            print(f"{name:30s} {replicate:3d} {truth:6.3f} {lo:7.4f} {hi:7.4f} {str(covers):>6s} {check.p_value:8.2g} "
                  f"{lbf:>8s} {ks:>10s} {str(before):>9s} {str(contradicted):>9s} {seconds:5.1f}", flush=True)
    print("\n" + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
