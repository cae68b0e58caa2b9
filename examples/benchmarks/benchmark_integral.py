"""The MI integral of hard fits: the refined-subset shift against every draw at 16 × the points.

``estimate_mi`` integrates every posterior draw with ``num_points`` QMC points per component; where the
MC error is too large against the posterior sd, it refines a thirty-second of the draws with 16 × the
points and shifts all draws by the least-squares line of the differences on the values
(``bayesmi.fitting.integrate``; the column "how" is the points per component of the shifted draws, or
16 × ``num_points`` where they were all recomputed so). This script fits suite tasks at N = 5000 (the
suite's data and fit seeds) and integrates the same posterior draws again with every draw at 4096
points (what the integral did before the shift), in one run:

    python examples/benchmarks/benchmark_integral.py [--tasks spiral_3x3_sparse,...] [--replicates 2]

prints per fit: N, K, wall seconds of the whole fit and of each integral, the MI (posterior mean ±
sd, 95% interval) of each, the MC s.e. of its location and the MC error of one draw that the others do
not share (both over the posterior sd), and the difference of the means in units of the combined MC s.e.
"""

from __future__ import annotations

import argparse
import time
import warnings

import jax
import numpy as np

import bayesmi
from bayesmi import toys
from bayesmi.fitting import integrate
from bayesmi.mixture import mutual_information
from bayesmi.studies.validation import replicate_seeds
from bayesmi.util import Progress


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="student_3x3_dof3,spiral_3x3_sparse,spiral_2x1,waves_3x3_sparse")
    parser.add_argument("--replicates", type=int, default=2)
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    print(f"{'task':18s} {'N':>5s} {'K':>2s} {'fit s':>6s} {'how':>12s} {'integral s':>10s} {'MI':>16s} "
          f"{'95% interval':>18s} {'mcse/sd':>7s} {'unshared/sd':>11s} {'diff/se':>7s}")
    for name in args.tasks.split(","):
        toy = toys.SUITE[name]
        for r in range(args.replicates):
            data_seed, fit_seed = replicate_seeds(0, name, args.n, r)
            x, y = toy.sample(args.n, seed=data_seed)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = bayesmi.estimate_mi(x, y, seed=fit_seed, progress=False, predictive_check=False)
            wall = time.perf_counter() - start
            params = jax.tree.map(lambda a: a[None], res.model.params)
            ref = integrate(mutual_information, (params,), (res.model.dim_x,), bayesmi.FitOptions(num_points=4096),
                            fit_seed, "I(X;Y)", Progress(False, ""), pilot=False)
            draws = ref.values.ravel()
            rows = ((f"shift@{res.diagnostics['num_points']}", res.diagnostics["timings"]["integral"], res.draws.ravel(),
                     res.diagnostics["mc_se_over_sd"], res.diagnostics["mc_spread_over_sd"]),
                    ("all@4096", ref.seconds, draws, ref.mc_se_over_sd[0], ref.spread_over_sd[0]))
            gap = (res.mean - draws.mean()) / np.hypot(res.mc_se, ref.mc_se[0])
            for how, seconds, d, ratio, spread in rows:
                lo, hi = np.quantile(d, [0.025, 0.975])
                print(f"{name:18s} {args.n:5d} {res.diagnostics['n_components']:2d} {wall:6.1f} {how:>12s} {seconds:10.1f} "
                      f"{d.mean():7.4f} ± {d.std():6.4f} [{lo:.4f}, {hi:.4f}] {ratio:7.3f} {spread:11.3f} "
                      f"{gap if how.startswith('shift') else float('nan'):7.2f}", flush=True)
        print(f"{'':18s} truth {toy.mi:.4f} nats")


if __name__ == "__main__":
    main()
