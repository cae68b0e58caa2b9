"""Power and false alarms of the predictive check as KSG's number of neighbours k changes.

The check (``bayesmi.checks.predictive_check``) compares KSG estimates (k = 10) on the data with their
values on data simulated from the posterior. A smaller k resolves finer structure with more noise. This
script fits the default ``estimate_mi`` to the suite's data sets (the same data and fit seeds as
``bayesmi validate --suite``, so rows match ``examples/results/suite/records_n1000.csv``; the committed output was made under the earlier default, family="gaussian", and matches ``records_n1000_family_gaussian.csv``) and reruns
the check on the same posterior with k = 3, 5 and 10:

    python examples/benchmarks/benchmark_check_neighbours.py [--toys spiral_2x1,...] [--replicates 5]

prints per fit: truth, posterior mean, whether the 95% interval covers, the check's Bonferroni p-value
for each k, and that of k = 5 and k = 10 together (twice the smaller). The check fails below 0.01.
"""

from __future__ import annotations

import argparse
import warnings

import bayesmi
from bayesmi import toys
from bayesmi.checks import CHECK_LEVEL, predictive_check
from bayesmi.ksg import DEFAULT_NEIGHBOURS
from bayesmi.studies.validation import replicate_seeds

NEIGHBOURS = (3, 5, 10)
TOYS = ("spiral_2x1", "waves_2x1", "waves_3x3_sparse", "student_3x3_dof3", "swissroll_2x1", "half_cube_3x3_sparse",
        "normal_3x3_sparse", "normal_cdf_3x3_sparse", "normal_5x5_dense")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toys", default=",".join(TOYS))
    parser.add_argument("--replicates", type=int, default=5)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    print(f"N = {args.n}; check p-values (Bonferroni over its statistics); fails below {CHECK_LEVEL}")
    print(f"{'task':24s} {'rep':>3s} {'truth':>6s} {'mean':>6s} {'covers':>6s} "
          + " ".join(f"{'p k=' + str(k):>9s}" for k in NEIGHBOURS) + f" {'p k=5,10':>9s}")
    for name in args.toys.split(","):
        for replicate in range(args.replicates):
            data_seed, fit_seed = replicate_seeds(0, name, args.n, replicate)
            x, y = toys.SUITE[name].sample(args.n, seed=data_seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = bayesmi.estimate_mi(x, y, seed=fit_seed, progress=False, truth=toys.SUITE[name].mi)
            lo, hi = result.interval(0.95)
            model = result.model
            p = {k: (result.check if k == DEFAULT_NEIGHBOURS else
                     predictive_check(model.params, model.z, model.dim_x, fit_seed, k=k)).p_value for k in NEIGHBOURS}
            both = min(1.0, 2 * min(p[5], p[10]))
            print(f"{name:24s} {replicate:3d} {result.truth:6.3f} {result.mean:6.3f} {str(lo <= result.truth <= hi):>6s} "
                  + " ".join(f"{p[k]:9.2g}" for k in NEIGHBOURS) + f" {both:9.2g}", flush=True)


if __name__ == "__main__":
    main()
