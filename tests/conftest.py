"""Shared settings: a non-interactive plotting backend for every test, XLA's backend optimisation
off (tests are bound by compilation), JAX's compiled programs freed between test files when they
hold many memory maps, the persistent compilation cache (which
the command line turns on) kept in a temporary directory, and a counter of XLA compilations.

Compiled XLA programs keep memory maps of machine code until JAX's caches are cleared (a first
``estimate_mi`` adds ~1700), and a process aborts at the kernel's map limit (65 530 here); a test
worker runs many files that each compile programs for their own data shapes, so it frees them after
a file that leaves more than :data:`MAX_MEMORY_MAPS` (as the coverage-study runner does between
replicates). Below that the programs stay: later files reuse those of the same shapes.
"""

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
# Tests are bound by XLA compilation (~70% of their time), not by running the compiled programs:
# without LLVM's backend optimisation a program compiles in about 40% of the time (measured on the
# NUTS, fit-path and categorical tests: 176 → 71 s of compilation, 231 → 137 s in all) and computes
# the same values (up to floating-point rounding). Set before JAX is imported; notebook kernels
# inherit it, except the run-time-bound ones (test_notebooks.RUN_TIME_BOUND). Users' programs keep
# XLA's default.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()
if "BAYESMI_CACHE_DIR" not in os.environ:  # removed when the process ends (it held a few GB per run)
    os.environ["BAYESMI_CACHE_DIR"] = tempfile.mkdtemp(prefix="bayesmi-test-cache-")
    atexit.register(shutil.rmtree, os.environ["BAYESMI_CACHE_DIR"], ignore_errors=True)


@contextlib.contextmanager
def compilations() -> Iterator[list[str]]:
    """Names of the XLA programs compiled inside the block (JAX's backend-compile event)."""
    import jax

    names: list[str] = []

    def listener(event: str, duration: float, **kwargs: object) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            names.append(str(kwargs.get("fun_name")))

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield names
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


@pytest.fixture
def count_compilations():
    """:func:`compilations`, for tests that check a call compiles nothing new."""
    return compilations


def arviz_summary_table(data, hdi_prob: float, **kwargs):
    """ArviZ's own ``az.summary`` of ``data`` (unrounded) with the HDI at ``hdi_prob``, under ArviZ
    0.2x's column names on both ArviZ lines. ArviZ 1.x takes ``ci_prob``/``ci_kind``, names the HDI
    ``hdi90_lb``/``hdi90_ub``, and takes the tail ESS at its ``ci_prob`` (0.89 by default) where 0.2x
    and Stan (Vehtari et al. 2021) take the 5% and 95% quantiles: that column is recomputed here
    with ``prob=0.95`` (quantiles 0.05 and 0.95), the definition bayesmi.draws follows."""
    from bayesmi.arviz_adapter import arviz, arviz_major

    az = arviz()
    if arviz_major() == 0:
        return az.summary(data, hdi_prob=hdi_prob, round_to="none", **kwargs)
    table = az.summary(data, ci_prob=hdi_prob, ci_kind="hdi", round_to="none", **kwargs)
    label = table.columns[table.columns.str.endswith("_lb")][0][:-3]
    lower, upper = 50 * (1 - hdi_prob), 50 * (1 + hdi_prob)
    table = table.rename(columns={f"{label}_lb": f"hdi_{lower:g}%", f"{label}_ub": f"hdi_{upper:g}%"})
    posterior = data["posterior"].dataset if hasattr(data, "children") else data  # a DataTree or a Dataset
    tail = az.ess(posterior, method="tail", prob=0.95, **{k: v for k, v in kwargs.items() if k == "var_names"})
    table["ess_tail"] = np.concatenate([np.ravel(tail[name].values) for name in tail.data_vars])
    return table


@pytest.fixture
def arviz_summary():
    """:func:`arviz_summary_table`, for tests that compare bayesmi's numbers with ArviZ's."""
    return arviz_summary_table


#: Memory maps above which a worker frees its compiled programs after a test file: less than half
#: the kernel's limit, leaving room for the largest file's programs.
MAX_MEMORY_MAPS = 25_000


def _memory_maps() -> int:
    try:
        with open("/proc/self/maps") as maps:
            return sum(1 for _ in maps)
    except OSError:  # not Linux: free after every file
        return MAX_MEMORY_MAPS + 1


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    yield
    if "jax" in sys.modules and _memory_maps() > MAX_MEMORY_MAPS:
        sys.modules["jax"].clear_caches()


#: Test files in decreasing order of their running time in the default run (measured on 2 cores,
#: 2026-12: test_estimate ~230 s of worker time, then ~150 s down to ~30 s). With ``--dist loadfile``
#: each file runs whole on one worker, and the workers take files in collection order as they become
#: free: longest first keeps them busy to the end (a long file collected last would run alone while
#: the other worker idles). Files not listed follow in their usual order.
LONG_FILES = ("test_estimate.py", "test_interpret_matrix.py", "test_notebooks.py", "test_contract.py",
              "test_compression.py", "test_nuts.py", "test_executors.py", "test_runtime.py", "test_mixture.py",
              "test_new_user.py", "test_ksg.py", "test_discrete.py", "test_categorical.py", "test_information.py",
              "test_fit_path.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FILES)))  # stable: order within files kept
