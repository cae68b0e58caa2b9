"""Shared settings: a non-interactive plotting backend for every test, JAX's compiled programs
freed after each test file, the persistent compilation cache (which the command line turns on) kept
in a temporary directory, and a counter of XLA compilations.

Every compiled XLA program keeps ~1000 memory maps of machine code until its cache is cleared, and
a process aborts at the kernel's map limit (65 530 here); a test worker runs many files that each
compile programs for their own data shapes, so it frees them between files (as the coverage-study
runner does between replicates).
"""

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("BAYESMI_CACHE_DIR", tempfile.mkdtemp(prefix="bayesmi-test-cache-"))


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


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    yield
    if "jax" in sys.modules:
        sys.modules["jax"].clear_caches()
