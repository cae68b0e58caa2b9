"""Execute every notebook in ``notebooks/`` and fail on the first cell that raises.

Notebooks are committed executed, with their figures, so a reader sees the results without
running them (checked below); this test re-runs them top to bottom in memory with nbclient
(cwd = ``notebooks/``, 600 s per cell, matplotlib backend Agg), leaving the files as they are (the
studies of :data:`SLOW_NOTEBOOKS` only with ``pytest -m slow``);
kernels of :data:`RUN_TIME_BOUND` notebooks keep XLA's default optimisation, the others inherit the
test session's (off).

The kernel is always the Python running pytest: a ``python3`` kernelspec whose
argv starts with ``sys.executable`` is written to a temporary directory and
handed to the kernel manager, so an installed user/system ``python3`` kernelspec
(which may point at another interpreter without bayesmi) is never used. A
prepended cell checks that the kernel's ``sys.prefix`` is ours, then is dropped
from the error messages' numbering.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from ipykernel.kernelspec import write_kernel_spec  # noqa: E402
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "python3"
CELL_TIMEOUT = 600
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
#: The flag tests/conftest.py adds to XLA_FLAGS (compile-bound tests run faster without LLVM's backend
#: optimisation).
NO_BACKEND_OPTIMISATION = "--xla_backend_optimization_level=0"
#: Notebooks whose time goes into running compiled programs (training networks, many large
#: integrals), not into compiling them: their kernels get XLA's default optimisation back. Measured
#: with two runs side by side on 2 cores: notebook 04 137 s with it against 173 s without, 07 262 s
#: against 286 s.
RUN_TIME_BOUND = {"04_latent_disentanglement.ipynb", "07_information_plane.ipynb"}

CHECK_KERNEL = f"""\
import sys
assert sys.prefix == {sys.prefix!r}, (
    f"notebook kernel runs {{sys.executable}} (prefix {{sys.prefix}}), expected prefix {sys.prefix!r}")
"""


@pytest.fixture(scope="module")
def kernel_spec_manager(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """A KernelSpecManager that only knows a ``python3`` kernel running ``sys.executable``."""
    kernels = tmp_path_factory.mktemp("jupyter") / "kernels"
    write_kernel_spec(kernels / KERNEL_NAME)  # argv: [sys.executable, "-m", "ipykernel_launcher", ...]
    ksm = KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)
    argv = ksm.get_kernel_spec(KERNEL_NAME).argv
    assert argv[0] == sys.executable, argv
    return ksm


#: Notebooks that run studies (training networks, many fits): 1-4 min each on 2 cores, 11 min together,
#: two thirds of what was the default run. They are re-executed with ``pytest -m slow``, before they are
#: committed; the default run re-executes the others and checks that every notebook is committed executed.
SLOW_NOTEBOOKS = {"02_bayes_vs_bootstrap.ipynb", "03_categorical_and_divergences.ipynb",
                  "04_latent_disentanglement.ipynb", "06_hard_dependence.ipynb", "07_information_plane.ipynb"}


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.name in SLOW_NOTEBOOKS else p
                                  for p in NOTEBOOKS], ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, kernel_spec_manager: KernelSpecManager,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")  # inherited by the kernel process
    if path.name in RUN_TIME_BOUND:
        monkeypatch.setenv("XLA_FLAGS", os.environ.get("XLA_FLAGS", "").replace(NO_BACKEND_OPTIMISATION, "").strip())
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(CHECK_KERNEL))
    km = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=kernel_spec_manager)
    client = nbclient.NotebookClient(
        nb, km=km, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    try:
        client.execute()
    except CellExecutionError as err:
        error = ANSI_ESCAPE.sub("", str(err))
    else:
        return
    finally:  # nbclient leaves a kernel it was handed running (a few GB with JAX loaded)
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    failed = [i for i, cell in enumerate(nb.cells)
              if any(out.get("output_type") == "error" for out in cell.get("outputs", []))]
    if failed == [0]:
        where = "the kernel check"
    elif failed:
        where = f"cell {failed[0] - 1} (0-based, markdown cells included)"
    else:
        where = "a cell"
    pytest.fail(f"{path.name}: {where} raised:\n{error}", pytrace=False)


def test_notebooks_exist() -> None:
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_executed_with_figures(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    unexecuted = [i for i, cell in enumerate(code) if cell.get("execution_count") is None]
    assert not unexecuted, f"{path.name}: code cells {unexecuted} have no outputs; commit the executed notebook"
    errors = [i for i, cell in enumerate(code) for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, f"{path.name}: code cells {errors} were committed with an error"
    images = sum("image/png" in out.get("data", {}) for cell in code for out in cell.get("outputs", []))
    assert images >= 1, f"{path.name}: no figure in the committed outputs"
