"""Benchmark: wall time, its split, and the MI posterior of every method, as a one-shot user meets them.

Each (N, method) runs in fresh processes, as a user of the command line or a new notebook would:

- ``cold``: a new process with an empty compilation cache: ``import bayesmi`` plus the first
  ``estimate_mi`` (compilation included);
- ``cached``: another new process after the first filled the persistent cache
  (:func:`bayesmi.runtime.enable_compilation_cache`): import plus first estimate;
- ``warm``: a second ``estimate_mi`` in that process, on new data of the same size.

The time split of each call comes from ``result.diagnostics["timings"]`` (EM and the choice of K,
sampling, MI integral); "compile" is cold − warm. The data are the 1-D Gaussian pair of the GMM-MI
paper (rho = 0.75, truth 0.4133 nats); ``--extra`` adds the two hard cases of the speed issue (a
25+25-D Gaussian pair at N = 5000 and a curved 2-D x / 1-D y sample at N = 1000 that BIC fits with
K ≈ 9). With ``--gmm-mi-python PATH`` (the python of a virtualenv holding gmm-mi 0.8.2 and
scikit-learn < 1.6) GMM-MI runs on the same data with its defaults, in a new process, and the
ratio bayesmi-cached / GMM-MI is printed.

Run: python examples/benchmarks/benchmark_core.py [--n 1000 10000 100000 1000000]
     [--methods gibbs nuts svi bootstrap] [--extra] [--gmm-mi-python ~/gmm-venv/bin/python]
By default N = 10⁶ runs SVI only (its minibatch path); the other methods there take minutes.
Timings on a shared machine are noisy: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RHO = 0.75

_CHILD = """
import json, sys, time, warnings
start = time.perf_counter()
import numpy as np
import bayesmi
from bayesmi.runtime import enable_compilation_cache
enable_compilation_cache(sys.argv[1])
case, n, method = sys.argv[2], int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, sys.argv[5])
from benchmark_core import sample
out = []
for seed in (0, 1):
    x, y, truth = sample(case, n, seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = bayesmi.estimate_mi(x, y, method=method, seed=seed, progress=False, pointwise_log_likelihood=False)
    lo, hi = r.interval(0.95)
    out.append({"wall": time.perf_counter() - (start if seed == 0 else t0), **r.diagnostics["timings"],
                "mi": r.mean, "lo": lo, "hi": hi, "rhat": r.rhat, "k": r.diagnostics["n_components"],
                "truth": truth})
print(json.dumps(out))
"""

_GMM_MI = """
import json, sys, time
start = time.perf_counter()
import numpy as np
from gmm_mi.mi import EstimateMI
data = np.load(sys.argv[1])
mi_mean, mi_std = EstimateMI().fit_estimate(data)
print(json.dumps({"wall": time.perf_counter() - start, "mi": float(mi_mean), "sd": float(mi_std)}))
"""


def sample(case: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """x, y and the true MI (nats) of a benchmark case."""
    rng = np.random.default_rng(seed)
    if case == "gaussian":
        x = rng.normal(size=n)
        return x, RHO * x + np.sqrt(1 - RHO**2) * rng.normal(size=n), -0.5 * np.log(1 - RHO**2)
    if case == "gaussian_25+25":
        x = rng.normal(size=(n, 25))
        return x, 0.5 * x + np.sqrt(0.75) * rng.normal(size=(n, 25)), -12.5 * np.log(0.75)
    if case == "curved_2+1":  # truth unknown in closed form
        x = rng.normal(size=(n, 2))
        return x, np.sin(2 * x[:, 0]) + x[:, 1] ** 2 / 2 + 0.3 * rng.normal(size=n), float("nan")
    raise ValueError(case)


def run_child(case: str, n: int, method: str, cache: Path) -> list[dict]:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(cache), case, str(n), method, str(Path(__file__).parent)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--methods", nargs="+", default=["gibbs", "nuts", "svi", "bootstrap"])
    parser.add_argument("--all-methods-at-1e6", action="store_true", help="run every method at N = 10⁶ too")
    parser.add_argument("--extra", action="store_true", help="add the 25+25-D Gaussian and the curved K≈9 case")
    parser.add_argument("--gmm-mi-python", help="python of a virtualenv with gmm-mi installed")
    args = parser.parse_args()
    cases = [("gaussian", n, m) for n in args.n for m in args.methods
             if n < 1_000_000 or m == "svi" or args.all_methods_at_1e6]
    if args.extra:
        cases += [("gaussian_25+25", 5000, "gibbs"), ("curved_2+1", 1000, "gibbs")]
    print(f"{'case':>15} {'N':>8} {'method':>9} {'run':>6} {'wall_s':>7} {'em_s':>6} {'samp_s':>6} {'int_s':>6} "
          f"{'K':>3} {'MI':>7} {'lo95':>7} {'hi95':>7} {'truth':>7} {'rhat':>6}", flush=True)
    gmm_mi: dict[int, float] = {}
    for case, n, method in cases:
        with tempfile.TemporaryDirectory() as cache:
            cold, _ = run_child(case, n, method, Path(cache))
            cached, warm = run_child(case, n, method, Path(cache))
        for label, row in (("cold", cold), ("cached", cached), ("warm", warm)):
            print(f"{case:>15} {n:>8} {method:>9} {label:>6} {row['wall']:7.2f} {row['em']:6.2f} {row['sampling']:6.2f} "
                  f"{row['integral']:6.2f} {row['k']:>3} {row['mi']:7.4f} {row['lo']:7.4f} {row['hi']:7.4f} "
                  f"{row['truth']:7.4f} {row['rhat']:6.3f}", flush=True)
        print(f"{'':>15} {'':>8} {'':>9} compile ≈ {cold['wall'] - warm['wall']:.2f} s (cold − warm); "
              f"the cache saves {cold['wall'] - cached['wall']:.2f} s", flush=True)
        if args.gmm_mi_python and case == "gaussian" and n <= 100_000 and n not in gmm_mi:
            x, y, _ = sample(case, n, 0)
            with tempfile.NamedTemporaryFile(suffix=".npy") as f:
                np.save(f.name, np.column_stack([x, y]))
                start = time.perf_counter()
                out = subprocess.run([args.gmm_mi_python, "-c", _GMM_MI, f.name], capture_output=True, text=True,
                                     check=True)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            gmm_mi[n] = time.perf_counter() - start
            print(f"{case:>15} {n:>8} {'GMM-MI':>9} {'new':>6} {gmm_mi[n]:7.2f} {'':>6} {'':>6} {'':>6} {'':>3} "
                  f"{res['mi']:7.4f} ± {res['sd']:.4f} (mean ± sd)", flush=True)
        if case == "gaussian" and n in gmm_mi:
            print(f"{'':>15} {'':>8} {'':>9} ratio bayesmi {method} cached / GMM-MI = {cached['wall'] / gmm_mi[n]:.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
