"""Benchmark: one MI matrix spread over Ray workers (bayesmi.parallel.RayExecutor) against one worker.

A (N, n) and B (N, n) block-diagonal Gaussian as in benchmark_matrix.py; n = 10 gives 100 pairs.
The matrix is split into tasks of --cells-per-task cells (the same tasks on every engine, so every
engine returns the same draws, checked). One Ray pool per --workers size is started at once; each
fits the matrix "cold" (workers import bayesmi and compile), then the pools take turns at --repeats
"warm" fits (compiled programs reused), so other jobs on the machine slow every pool alike.
Prints N, method, engine, workers, run, wall seconds (the median of the warm fits), the wall time
over that of one worker on the same run, and the machine's 1-minute load average (competing jobs).

Run: python examples/benchmarks/benchmark_executors.py [--n 1000] [--size 10] [--workers 1 2]
Each Ray worker holds one core; on a machine shared with other jobs the ratios are noisy.
"""

import argparse
import os
import time
import warnings

import numpy as np

from bayesmi import mi_matrix
from bayesmi.parallel import RayExecutor


def block_gaussian(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rho = np.linspace(0.0, 0.9, size)
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, size))
    return a, rho * a + np.sqrt(1 - rho**2) * rng.standard_normal((n, size))


def timed(a: np.ndarray, b: np.ndarray, **kwargs) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = mi_matrix(a, b, seed=0, progress=False, **kwargs)
    return time.perf_counter() - start, m.draws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--size", type=int, default=10, help="columns of A and of B (size**2 pairs)")
    parser.add_argument("--method", default="gibbs")
    parser.add_argument("--cells-per-task", type=int, default=25)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3, help="warm fits per pool")
    args = parser.parse_args()

    import ray

    ray.init(num_cpus=sum(args.workers), include_dashboard=False, log_to_driver=False)
    a, b = block_gaussian(args.n, args.size, seed=0)
    settings = {"method": args.method, "cells_per_task": args.cells_per_task}
    pools = {w: RayExecutor(w) for w in args.workers}
    walls: dict[tuple[int, str], list[float]] = {}
    loads: dict[tuple[int, str], list[float]] = {}
    reference = None
    for run in ["cold"] + ["warm"] * args.repeats:
        for workers, executor in pools.items():
            wall, draws = timed(a, b, executor=executor, **settings)
            walls.setdefault((workers, run), []).append(wall)
            loads.setdefault((workers, run), []).append(os.getloadavg()[0])
            if reference is None:
                reference = draws
            elif not np.array_equal(draws, reference, equal_nan=True):
                raise AssertionError(f"{workers} workers gave other draws than {args.workers[0]}")
    for executor in pools.values():
        executor.shutdown()
    ray.shutdown()

    print(f"{args.size}x{args.size} matrix ({args.size**2} pairs), tasks of {args.cells_per_task} cells, "
          f"warm: median of {args.repeats}; same draws on every pool")
    print(f"{'N':>6} {'method':>8} {'engine':>6} {'workers':>7} {'run':>5} {'wall_s':>7} {'vs_1':>5} {'load':>5}")
    for run in ("cold", "warm"):
        one = float(np.median(walls[(args.workers[0], run)]))
        for workers in args.workers:
            wall = float(np.median(walls[(workers, run)]))
            print(f"{args.n:>6} {args.method:>8} {'ray':>6} {workers:>7} {run:>5} {wall:7.1f} {wall / one:5.2f} "
                  f"{np.mean(loads[(workers, run)]):5.1f}")


if __name__ == "__main__":
    main()
