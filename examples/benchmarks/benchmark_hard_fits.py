"""Where the time of a hard default fit goes: ``estimate_mi`` on suite tasks at N = 5000, called
repeatedly in one process (the first call of a shape compiles, or loads the cache; later calls are warm).

    python examples/benchmarks/benchmark_hard_fits.py [--tasks waves_3x3_sparse,...] [--calls 3]

prints per call: task, N, K, call number, wall seconds, then the seconds of its stages from
``result.diagnostics["timings"]`` (EM choosing K, the sampler, the MI integral), the predictive check's
KSG replicates and its independence comparison (``result.check``), what is left (transforms, the
result), and the MI with its 95% interval. The data and fit seeds are the suite's (replicate 0). To
compare two versions of bayesmi, run it on both checkouts one after the other on the same machine.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import bayesmi
from bayesmi import toys
from bayesmi.studies.validation import replicate_seeds

TASKS = "waves_3x3_sparse,student_3x3_dof3,asinh_student_3x3_dof2,spiral_3x3_sparse,spiral_2x1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=TASKS)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    print(f"{'task':24s} {'N':>5s} {'K':>2s} {'call':>4s} {'wall s':>6s} {'em':>5s} {'sampler':>7s} {'integral':>8s} "
          f"{'check':>5s} {'indep.':>6s} {'other':>5s}  MI (95% interval), nats")
    for name in args.tasks.split(","):
        data_seed, fit_seed = replicate_seeds(0, name, args.n, 0)
        x, y = toys.SUITE[name].sample(args.n, seed=data_seed)
        for call in range(1, args.calls + 1):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = bayesmi.estimate_mi(x, y, seed=fit_seed, progress=False)
            wall = time.perf_counter() - start
            timings = res.diagnostics["timings"]
            independence = res.check.independence.seconds if res.check.independence is not None else 0.0
            check = res.check.seconds
            other = wall - sum(timings.values()) - check - independence
            lo, hi = np.quantile(res.draws, [0.025, 0.975])
            print(f"{name:24s} {args.n:5d} {res.diagnostics['n_components']:2d} {call:4d} {wall:6.1f} "
                  f"{timings['em']:5.1f} {timings['sampling']:7.1f} {timings['integral']:8.1f} {check:5.1f} "
                  f"{independence:6.1f} {other:5.1f}  {res.mean:.4f} ({lo:.4f}, {hi:.4f})", flush=True)
        print(f"{'':24s} truth {toys.SUITE[name].mi:.4f} nats")


if __name__ == "__main__":
    main()
