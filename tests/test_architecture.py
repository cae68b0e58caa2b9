"""The package's structure: layering (import-linter), no cycles, no private names across modules,
a light ``import bayesmi`` and a namespace in which every documented path resolves."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import bayesmi

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bayesmi"


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_import_linter_contracts_are_kept(tmp_path):
    """The layers of pyproject.toml and acyclic siblings; a broken contract fails CI."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a test dependency (pip install '.[test]')"
    out = subprocess.run([lint, "--no-cache", "--config", str(ROOT / "pyproject.toml")], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 kept, 0 broken" in out.stdout


def test_import_linter_catches_an_upward_import(tmp_path):
    """The contract can fail: a copy of the package whose maths imports the estimators breaks it."""
    copy = tmp_path / "bayesmi"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "mixture" / "params.py"
    target.write_text(target.read_text() + "\nfrom bayesmi.estimators import estimate_mi  # noqa\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    out = subprocess.run([lint, "--no-cache", "--config", str(tmp_path / "pyproject.toml")], capture_output=True,
                         text=True, cwd=tmp_path, timeout=300, env={"PYTHONPATH": str(tmp_path), "PATH": ""})
    assert out.returncode != 0
    assert "BROKEN" in out.stdout and "bayesmi.mixture.params -> bayesmi.estimators" in out.stdout


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        out[name] = ast.parse(path.read_text(), filename=str(path))
    return out


def test_no_module_imports_a_private_name_from_another():
    offenders = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bayesmi"):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if private or any(part.startswith("_") for part in node.module.split(".")):
                    offenders.append(f"{name}: from {node.module} import {', '.join(a.name for a in node.names)}")
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                base = node.value
                if isinstance(base, ast.Name) and base.id in {"em", "gibbs", "nuts", "svi", "bootstrap", "mixture",
                                                              "tables", "inputs", "util", "fitting", "diagnostics"}:
                    offenders.append(f"{name}: {base.id}.{node.attr}")
    assert not offenders, offenders


def test_every_module_opens_with_a_docstring():
    missing = [name for name, tree in _modules().items() if not ast.get_docstring(tree)]
    assert not missing, missing


def test_import_is_light():
    """``import bayesmi`` loads neither JAX, NumPyro, ArviZ nor the network stack (equinox, optax): that is
    what keeps it fast (seconds are measured in benchmarks, not asserted under a test run's load)."""
    out = json.loads(_run(
        "import sys, json\n"
        "import bayesmi\n"
        "heavy = [m for m in ('jax', 'numpyro', 'arviz', 'equinox', 'optax', 'matplotlib') if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy}))"))
    assert out["heavy"] == []


def test_a_first_estimate_leaves_the_slow_imports_for_when_they_are_used():
    """A new process's first estimate (and its printed result) imports neither ArviZ (with xarray and
    matplotlib: ~0.5 s), pandas (0.2 s) nor scipy.stats (0.3 s; QMC points, not needed for one
    Gaussian): ``result.idata`` is built when first read."""
    out = json.loads(_run(
        "import sys, json, bayesmi\n"
        "x, y = bayesmi.toys.gaussian(0.5).sample(200, seed=0)\n"
        "r = bayesmi.estimate_mi(x, y, num_components=1, num_warmup=20, num_samples=30, progress=False)\n"
        "repr(r)\n"
        "slow = [m for m in ('arviz', 'xarray', 'matplotlib', 'pandas', 'scipy.stats') if m in sys.modules]\n"
        "r.idata\n"
        "print(json.dumps({'slow': slow, 'arviz_after_idata': 'arviz' in sys.modules}))"))
    assert out == {"slow": [], "arviz_after_idata": True}


def test_network_stack_loads_only_with_the_interpretability_modules():
    out = json.loads(_run(
        "import sys, json, bayesmi\n"
        "bayesmi.estimate_mi, bayesmi.validation, bayesmi.plots, bayesmi.toys, bayesmi.discrete\n"
        "print(json.dumps([m for m in ('equinox', 'optax') if m in sys.modules]))"))
    assert out == []


@pytest.mark.parametrize("name", bayesmi.__all__)
def test_every_public_name_resolves(name):
    assert getattr(bayesmi, name) is not None
    assert name in dir(bayesmi)


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'estimate_mii'"):
        bayesmi.estimate_mii  # noqa: B018


def _documented_paths() -> set[str]:
    """``bayesmi.a.b`` paths and ``from bayesmi.x import y`` names used in the README and notebooks."""
    texts = [(ROOT / "README.md").read_text()]
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        texts += ["".join(c["source"]) for c in cells]
    paths = set()
    for text in texts:
        paths |= set(re.findall(r"\bbayesmi(?:\.[A-Za-z_]\w*)+", text))
        for module, names in re.findall(r"from (bayesmi[\w.]*) import ([\w, ]+)", text):
            paths |= {f"{module}.{n.split(' as ')[0].strip()}" for n in names.split(",") if n.strip()}
    old = set(bayesmi.compat.MOVED) | set(bayesmi.compat.REPLACED)  # named as the deprecated paths they are
    return {p for p in paths if not p.endswith((".ipynb", ".py", ".md", ".csv")) and p not in old}


def test_every_path_in_the_readme_and_notebooks_resolves_without_deprecation():
    paths = _documented_paths()
    assert len(paths) > 20
    unresolved = []
    for path in sorted(paths):
        obj = bayesmi
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            try:
                for part in path.split(".")[1:]:
                    obj = getattr(obj, part)
            except (AttributeError, DeprecationWarning) as exc:
                unresolved.append(f"{path}: {exc}")
    assert not unresolved, unresolved


def test_old_module_paths_import_with_a_deprecation_warning():
    out = _run(
        "import warnings\n"
        "warnings.simplefilter('error', DeprecationWarning)\n"
        "try:\n"
        "    from bayesmi.gmm import GMMParams\n"
        "except DeprecationWarning as w:\n"
        "    print(w)\n"
        "warnings.simplefilter('ignore', DeprecationWarning)\n"
        "from bayesmi.gmm import GMMParams\n"
        "from bayesmi.mixture import GMMParams as New\n"
        "from bayesmi.discrete import mutual_information\n"
        "import bayesmi\n"
        "assert GMMParams is New and mutual_information is bayesmi.discrete.mutual_information\n"
        "try:\n"
        "    import bayesmi.pipeline\n"
        "except ImportError as e:\n"
        "    print(e)\n")
    assert "bayesmi.gmm has moved to bayesmi.mixture" in out
    assert "bayesmi.pipeline was reorganised into bayesmi.fitting" in out


def test_old_keyword_names_still_work_with_a_deprecation_warning():
    from bayesmi import FitOptions

    with pytest.warns(DeprecationWarning, match="'n_components' is now called 'num_components'"):
        options = FitOptions.resolve(n_components=2, mc_points=512)
    assert options.num_components == 2 and options.num_points == 512
    with pytest.raises(TypeError, match="both 'n_components'"):
        FitOptions.resolve(n_components=2, num_components=3)
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['num_sample'\]"):
        FitOptions.resolve(num_sample=3)
    with pytest.warns(DeprecationWarning, match="InfoResult is now bayesmi.MIResult"):
        assert bayesmi.InfoResult is bayesmi.MIResult


def test_one_name_per_concept_in_public_signatures():
    """Counts of things are num_*, following NumPyro; no public estimator takes an n_* count."""
    import inspect

    functions = [bayesmi.estimate_mi, bayesmi.estimate_entropy, bayesmi.estimate_kl, bayesmi.estimate_cmi,
                 bayesmi.mi_matrix, bayesmi.compare, bayesmi.validation.run_validation,
                 bayesmi.discrete.mutual_information, bayesmi.discrete.entropy,
                 bayesmi.discrete.pairwise_mutual_information, bayesmi.discrete.neuron_measures,
                 bayesmi.interpret.neuron_importance, bayesmi.interpret.neuron_information]
    counts = {"n_components", "n_draws", "n_bootstrap", "n_random", "n_boot", "svi_steps", "mc_points",
              "mc_randomizations", "n_points", "n_randomizations", "criterion"}
    clashes = {f.__qualname__: sorted(counts & set(inspect.signature(f).parameters)) for f in functions}
    assert not any(clashes.values()), clashes
    assert bayesmi.discrete.pairwise_mutual_information is not bayesmi.mi_matrix
