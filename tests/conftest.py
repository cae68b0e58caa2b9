"""Shared settings: a non-interactive plotting backend for every test, and JAX's compiled programs
freed after each test file.

Every compiled XLA program keeps ~1000 memory maps of machine code until its cache is cleared, and
a process aborts at the kernel's map limit (65 530 here); a test worker runs many files that each
compile programs for their own data shapes, so it frees them between files (as the coverage-study
runner does between replicates).
"""

import sys

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    yield
    if "jax" in sys.modules:
        sys.modules["jax"].clear_caches()
