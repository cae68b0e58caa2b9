"""Benchmark: K chosen by BIC (the default) against an overfitted mixture with a sparse Dirichlet prior.

Rousseau & Mengersen (2011): with K = 10 components and weights ~ Dirichlet(e0 · 1), e0 small (0.01,
Malsiner-Walli et al. 2016), the posterior empties the components the data do not need, so it
averages over how many are occupied instead of conditioning on one BIC choice. Both run the default
Gibbs sampler and transform on the same data sets of a few benchmark-suite toys (bayesmi.toys.SUITE).
Prints toy, N, method, wall seconds (first fit of a shape includes compilation), MI mean and 95%
interval, whether it covers the truth, R-hat and the median number of components with weight > 1%.

Run: python examples/benchmarks/benchmark_components.py [--n 1000] [--toys normal_1x1 spiral_2x1 ...]
"""

import argparse
import time
import warnings

import numpy as np

import bayesmi
from bayesmi import toys
from bayesmi.models import GMMPrior

SETTINGS = {"bic": {}, "sparse": {"num_components": 10, "prior": GMMPrior(weight_concentration=0.01)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--toys", nargs="+", default=["normal_1x1", "normal_cdf_1x1", "swissroll_2x1",
                                                      "student_3x3_dof3", "waves_2x1", "spiral_2x1"])
    args = parser.parse_args()
    print(f"{'toy':20s} {'N':>5s} {'method':7s} {'wall_s':>7s} {'MI':>7s} {'interval':>17s} covers  rhat  occupied")
    for label in args.toys:
        toy = toys.SUITE[label]
        x, y = toy.sample(args.n, seed=100)
        for method, settings in SETTINGS.items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = bayesmi.estimate_mi(x, y, progress=False, predictive_check=False, **settings)
            wall = time.perf_counter() - start
            k = res.diagnostics["n_components"]
            weights = np.asarray(res.idata.posterior["weights"]).reshape(-1, k) if k > 1 else np.ones((1, 1))
            lo, hi = res.interval(0.95)
            print(f"{label:20s} {args.n:5d} {method:7s} {wall:7.1f} {res.mean:7.3f} [{lo:6.3f}, {hi:6.3f}] "
                  f"{'yes' if lo <= toy.mi <= hi else 'no':6s} {res.rhat:5.3f} {np.median((weights > 0.01).sum(1)):5.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
