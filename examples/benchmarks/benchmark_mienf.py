"""Benchmark: MIENF with a Gaussian posterior on its latents (``estimate_mi(method="mienf")``).

The talk's test (Butakov, Tolmachev et al., NeurIPS 2024): X, Y in R^50 with 50 pairs of correlation
ρ = sqrt(1 − e⁻¹), so I = 25 nats, at N = 10⁴; the same under an invertible nonlinear map of each
side, elementwise (half-cube, which normal scores undo exactly) and mixing (half-cube, then a fixed
random rotation, which the flows must learn). Then the ways of sharing rows between training the flows
and the posterior (FlowSettings.rows: "cross-fit", "split", "same"), and a few curved suite tasks
against the default mixture; "gaussian" is a single Gaussian fitted to all rows without the bias
correction. Prints task, N, method, rows, wall seconds (the first fit of a shape includes
compilation), MI mean, 95% interval, truth, whether it covers the truth, and the flows' own MI (their
base's, on their training rows).

Run: python examples/benchmarks/benchmark_mienf.py [--quick] [--parts talk rows suite]
"""

import argparse
import time
import warnings

import numpy as np

import bayesmi
from bayesmi import toys
from bayesmi.flows import FlowSettings

RHO = float(np.sqrt(1.0 - np.exp(-1.0)))


def rotated_half_cube(dim: int, seed: int):
    """x ↦ Q half_cube(x), Q a fixed random rotation of R^dim: invertible, and it mixes the coordinates,
    so normal scores of the columns do not undo it (of half_cube(Q x) they would: Q x is again white)."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))

    def f(a: np.ndarray) -> np.ndarray:
        return (a * np.sqrt(np.abs(a))) @ q.T

    return f


def talk_tasks(dim: int) -> dict[str, toys.Toy]:
    base = toys.gaussian_pairs([RHO] * dim)
    return {f"gaussian_{dim}x{dim}": base,
            f"half_cube_{dim}x{dim}": toys.transformed(base, "half_cube", "half_cube"),
            f"rotated_half_cube_{dim}x{dim}": toys.embedded(base, rotated_half_cube(dim, 1), rotated_half_cube(dim, 2))}


def run(label: str, toy: toys.Toy, n: int, method: str, rows: str | None, settings: FlowSettings) -> None:
    x, y = toy.sample(n, seed=100)
    kwargs = {"mienf": {"method": "mienf", "flow_settings": settings._replace(rows=rows or "cross-fit")},
              "gaussian": {"num_components": 1, "transform": "none"}, "default": {}}[method]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bayesmi.estimate_mi(x, y, progress=False, seed=0, **kwargs)
    wall = time.perf_counter() - start
    lo, hi = res.interval(0.95)
    flow_mi = res.diagnostics.get("flow_mi", float("nan"))
    print(f"{label:28s} {n:6d} {method:8s} {rows or '-':9s} {wall:7.1f} {res.mean:8.3f} [{lo:7.3f}, {hi:7.3f}] "
          f"{toy.mi:7.3f} {'yes' if lo <= toy.mi <= hi else 'no':6s} {flow_mi:8.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 + 10 dimensions, N = 2000, 300 steps")
    parser.add_argument("--parts", nargs="+", default=["talk", "rows", "suite"])
    args = parser.parse_args()
    dim, n = (10, 2000) if args.quick else (50, 10_000)
    settings = FlowSettings(steps=300) if args.quick else FlowSettings()
    print(f"{'task':28s} {'N':>6s} {'method':8s} {'rows':9s} {'wall_s':>7s} {'MI':>8s} {'interval':>18s} "
          f"{'truth':>7s} covers {'flow_MI':>8s}")
    tasks = talk_tasks(dim)
    if "talk" in args.parts:
        for label, toy in tasks.items():
            run(label, toy, n, "mienf", "cross-fit", settings)
        run(f"gaussian_{dim}x{dim}", tasks[f"gaussian_{dim}x{dim}"], n, "gaussian", None, settings)
    if "rows" in args.parts:
        for label in (f"gaussian_{dim}x{dim}", f"rotated_half_cube_{dim}x{dim}"):
            for rows in ("split", "same"):
                run(label, tasks[label], n, "mienf", rows, settings)
    if "suite" in args.parts:
        for label in ("spiral_3x3_sparse", "spiral_2x1", "waves_3x3_sparse", "asinh_student_3x3_dof2", "student_2x2_dof2"):
            for method in ("default", "mienf"):
                run(label, toys.SUITE[label], 1000 if args.quick else 5000, method,
                    "cross-fit" if method == "mienf" else None, settings)


if __name__ == "__main__":
    main()
