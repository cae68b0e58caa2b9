"""Benchmark: wall time and MI posterior of each method on the 2-D Gaussian toy (rho = 0.75).

"bootstrap" is the frequentist GMM-MI baseline (ML-EM, K by 2-fold CV, 50 bootstrap refits).

Run: python examples/benchmarks/benchmark_core.py [--n 1000 10000 100000] [--methods gibbs nuts svi bootstrap]
Each setting is run twice in one process; the second ("warm") run excludes JIT compilation.
Timings on a shared machine are noisy: compare ratios within one run.
"""

import argparse
import time
import warnings

import bayesmi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--methods", nargs="+", default=["gibbs", "nuts", "svi", "bootstrap"])
    args = parser.parse_args()
    toy = bayesmi.toys.gaussian(rho=0.75)
    print(f"truth {toy.mi:.4f} nats")
    print(f"{'N':>7} {'method':>9} {'run':>5} {'wall_s':>7} {'em_s':>6} {'samp_s':>6} {'int_s':>6} "
          f"{'MI':>7} {'lo95':>7} {'hi95':>7} {'rhat':>6} {'mc_se':>8}")
    for n in args.n:
        x, y = toy.sample(n, seed=0)
        for method in args.methods:
            for run in ("cold", "warm"):
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = bayesmi.estimate_mi(x, y, method=method, seed=0, progress=False,
                                              pointwise_log_likelihood=False)
                wall = time.perf_counter() - start
                t = res.diagnostics["timings"]
                lo, hi = res.interval(0.95)
                print(f"{n:>7} {method:>9} {run:>5} {wall:7.2f} {t['em']:6.2f} {t['sampling']:6.2f} "
                      f"{t['integral']:6.2f} {res.mean:7.4f} {lo:7.4f} {hi:7.4f} {res.rhat:6.3f} {res.mc_se:8.1e}",
                      flush=True)


if __name__ == "__main__":
    main()
