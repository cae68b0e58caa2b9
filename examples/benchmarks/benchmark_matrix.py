"""Benchmark: batched MI matrices (bayesmi.mi_matrix) on a block-diagonal Gaussian.

A (N, n) and B (N, n) with corr(A_i, B_i) = rho_i evenly spaced in [0, 0.9] and every other pair
independent, so the truth is -0.5 log(1 - rho_i^2) on the diagonal and 0 elsewhere. Prints, per
setting and run (cold: with XLA compilation; warm: compiled programs reused), the wall time and
its parts, and how well the matrix recovers the truth: diagonal cells inside their 95% interval,
the largest off-diagonal mean, the worst R-hat.

Run: python examples/benchmarks/benchmark_matrix.py [--n 1000 5000] [--size 10] [--samples 250]
Timings on a shared machine are noisy: compare ratios within one run.
"""

import argparse
import time
import warnings

import numpy as np

from bayesmi import mi_matrix


def block_gaussian(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rho = np.linspace(0.0, 0.9, size)
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, size))
    b = rho * a + np.sqrt(1 - rho**2) * rng.standard_normal((n, size))
    return a, b, -0.5 * np.log(1 - rho**2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--samples", type=int, default=250, help="Gibbs draws per chain (4 chains)")
    args = parser.parse_args()
    print(f"{'N':>6} {'cells':>6} {'run':>5} {'wall_s':>7} {'em_s':>6} {'samp_s':>7} {'mi_s':>6} "
          f"{'diag_cov95':>10} {'max_off':>8} {'max_rhat':>8}")
    for n in args.n:
        a, b, truth = block_gaussian(n, args.size, seed=0)
        for run in ("cold", "warm"):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = mi_matrix(a, b, num_samples=args.samples, seed=0, progress=False)
            wall = time.perf_counter() - start
            t = m.diagnostics["timings"]
            lo, hi = m.interval(0.95)
            covered = np.mean((np.diag(lo) <= truth) & (truth <= np.diag(hi)))
            off = m.mean[~np.eye(args.size, dtype=bool)]
            print(f"{n:>6} {m.mean.size:>6} {run:>5} {wall:7.1f} {t['em']:6.1f} {t['sampling']:7.1f} "
                  f"{t['integral']:6.1f} {covered:10.2f} {off.max():8.4f} {np.nanmax(m.diagnostics['rhat']):8.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
