"""Many fits across processes (bayesmi.parallel): the same matrix and study on every executor,
resumable stores, worker deaths, and refusal of pools that fork a JAX process.

The matrix is 12 x 12 at N = 100 with K = 2 and 2 x 20 draws per cell, in tasks of 36 cells, so
what costs here is each worker's start and compilation: the process-pool worker compiles into a
JAX compilation cache that the Ray workers (same flags) then load from.
"""

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from bayesmi import mi_matrix
from bayesmi.parallel import (
    RayExecutor,
    ResultStore,
    Task,
    TaskFailure,
    content_hash,
    process_pool,
    run_tasks,
    worker_environment,
)
from bayesmi.studies.validation import run_validation

SETTINGS = {"seed": 3, "cells_per_task": 36, "num_components": 2, "num_chains": 2, "num_warmup": 20,
            "num_samples": 20, "progress": False}
# Draws this short do not converge; Ray starts its processes by fork + exec, which JAX warns of.
pytestmark = [pytest.mark.filterwarnings("ignore::bayesmi.ConvergenceWarning"),
              pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((100, 12))
    return a, 0.6 * a[:, ::-1] + rng.standard_normal((100, 12))


@pytest.fixture(scope="module")
def in_process(data):
    return mi_matrix(*data, **SETTINGS)


@pytest.fixture(scope="module")
def compilation_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("jax-compilation-cache")


def assert_same_matrix(m, reference) -> None:
    np.testing.assert_array_equal(m.draws, reference.draws)
    for name in ("rhat", "ess_bulk", "mc_se", "n_components", "problems", "converged"):
        np.testing.assert_array_equal(m.diagnostics[name], reference.diagnostics[name])


def test_spawned_process_pool_and_dask_give_the_same_matrix(data, in_process, compilation_cache):
    """One spawned worker runs the 4 tasks (and fills the compilation cache the Ray workers read);
    Dask's executor runs them on threads of this process."""
    with process_pool(1, compilation_cache=compilation_cache) as executor:
        flags, threads = (executor.submit(os.getenv, name).result() for name in ("XLA_FLAGS", "OMP_NUM_THREADS"))
        assert_same_matrix(mi_matrix(*data, executor=executor, **SETTINGS), in_process)
    assert "--xla_cpu_multi_thread_eigen=false" in flags and threads == "1"
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        assert_same_matrix(mi_matrix(*data, executor=client.get_executor(), **SETTINGS), in_process)


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


# ~60-100 s on 2 cores (Ray's start and its actors' compilations); the executor protocol is tested on a spawned
# process pool and Dask in the default run
@pytest.mark.slow
def test_ray_workers_give_the_in_process_matrix(ray_cluster, data, in_process, compilation_cache):
    """4 tasks on 2 Ray actors: the draws are bit-identical to the in-process run (a task's draws
    depend on its cells, index and seed only, and XLA's CPU programs are deterministic)."""
    with RayExecutor(2, compilation_cache=compilation_cache) as executor:
        assert executor.num_workers == 2
        m = mi_matrix(*data, executor=executor, **SETTINGS)
        pids = set(executor.map(lambda _: os.getpid(), range(4)))
    assert_same_matrix(m, in_process)
    assert len(pids) == 2 and os.getpid() not in pids  # two worker processes, neither this one


def test_matrix_store_resumes_from_finished_tasks(data, in_process, tmp_path):
    path = tmp_path / "matrix.sqlite"
    cells = [(i, j) for i in range(12) for j in range(12)][:72]  # the first two tasks
    mi_matrix(*data, cells=cells, store=path, **SETTINGS)
    with ResultStore(path) as store:
        assert len(store) == 2
    with Recording(1) as executor:
        assert_same_matrix(mi_matrix(*data, executor=executor, store=path, **SETTINGS), in_process)
    assert executor.submitted == [2, 3]  # the task numbers of the two tasks the store lacked


class Recording(ThreadPoolExecutor):
    """A thread pool that records the last argument (for mi_matrix, the task number) of each task."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.submitted = []

    def submit(self, fn, /, *args, **kwargs):
        self.submitted.append(fn.args[-1])  # run_tasks submits functools.partial(task.fn, *task.args)
        return super().submit(fn, *args, **kwargs)


def test_fork_pools_and_non_executors_are_refused(data, in_process):
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        with pytest.raises(ValueError, match="forks its workers"):
            mi_matrix(*data, executor=pool, **SETTINGS)
        with pytest.raises(ValueError, match="forks its workers"):
            run_validation(["gaussian"], sizes=(50,), methods=("gibbs",), replicates=1, executor=pool)
    with pytest.raises(TypeError, match="concurrent.futures.Executor"):
        mi_matrix(*data, executor="ray", **SETTINGS)
    with pytest.raises(ValueError, match="cells_per_task"):
        mi_matrix(*data, **{**SETTINGS, "cells_per_task": 0})
    first_task = [(i, j) for i in range(3) for j in range(12)]  # one task of the shapes compiled above
    with ThreadPoolExecutor(1) as pool, pytest.warns(UserWarning, match="one task"):
        mi_matrix(*data, cells=first_task, executor=pool, **{**SETTINGS, "cells_per_task": None})


# --------------------------------------------------------------------------- tasks, stores, failures


def test_run_tasks_store_and_failures(tmp_path):
    def square(x):
        if x == 3:
            raise ValueError("three")
        return x * x

    tasks = [Task(f"t{x}", square, (x,)) for x in range(5)]
    path = tmp_path / "tasks.sqlite"
    out = run_tasks(tasks, store=path, on_error="record")
    assert list(out) == [t.key for t in tasks]
    assert isinstance(out["t3"], TaskFailure) and out["t3"].message == "ValueError: three"
    with ResultStore(path) as store:
        assert store.keys() == ["t0", "t1", "t2", "t4"] and store.get("t4") == 16  # failures are not stored
    seen = []
    with ThreadPoolExecutor(2) as pool:
        again = run_tasks(tasks, pool, store=path, on_error="record", on_result=lambda t, r: seen.append(t.key))
    assert sorted(seen) == sorted(out) and again["t2"] == 4 and isinstance(again["t3"], TaskFailure)
    with pytest.raises(ValueError, match="three"):
        run_tasks(tasks, on_error="raise")
    with pytest.raises(ValueError, match="unique"):
        run_tasks([tasks[0], tasks[0]])


def test_content_hash_and_worker_environment():
    a = np.arange(6.0)
    assert content_hash(a, {"b": 1, "a": [2, 3]}) == content_hash(a.copy(), {"a": [2, 3], "b": 1})
    assert content_hash(a) != content_hash(a.astype(np.float32)) != content_hash(a.reshape(2, 3))
    frame = pd.DataFrame({"x": np.arange(100.0), "label": ["u"] * 100})  # its repr elides rows
    changed = frame.copy()
    changed.loc[50, "x"] = -1.0
    assert content_hash(frame) == content_hash(frame.copy()) != content_hash(changed)
    env = worker_environment(1, base={"XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    assert env["XLA_FLAGS"] == "--xla_force_host_platform_device_count=2 --xla_cpu_multi_thread_eigen=false"
    assert worker_environment(4, base={})["MKL_NUM_THREADS"] == "4" and "XLA_FLAGS" not in worker_environment(4, base={})


def test_ray_retries_a_dead_worker_and_records_what_keeps_dying(ray_cluster, tmp_path):
    """A worker that dies mid-task is restarted and the task rerun (max_task_retries); a task that
    kills every worker it meets fails alone, and a fresh actor takes the dead one's place; a task
    whose arguments cannot be sent fails alone."""
    marker = str(tmp_path / "died-once")

    def die_once(path):
        if not os.path.exists(path):
            open(path, "w").close()
            os._exit(1)
        return "survived"

    def always_die():
        os._exit(1)

    tasks = [Task("dies", always_die), Task("once", die_once, (marker,)), Task("unpicklable", len, (threading.Lock(),)),
             Task("ok", os.getpid)]
    with RayExecutor(1, max_restarts=1, max_task_retries=1) as executor:
        out = run_tasks(tasks, executor, on_error="record")
    assert isinstance(out["dies"], TaskFailure) and isinstance(out["dies"].error, ray_cluster.exceptions.RayActorError)
    assert isinstance(out["unpicklable"], TaskFailure) and "lock" in out["unpicklable"].message
    assert out["once"] == "survived" and isinstance(out["ok"], int)


# --------------------------------------------------------------------------- a study killed midway


STUDY = ["--toys", "gaussian", "--n", "60", "--replicates", "6", "--methods", "gibbs", "--components", "1",
         "--chains", "2", "--warmup", "20", "--samples", "40", "--no-progress"]


def study(store=None):
    """The study of STUDY, as ``bayesmi validate`` runs it."""
    return run_validation(["gaussian"], sizes=[60], methods=["gibbs"], replicates=6, probs=[0.68, 0.95], seed=0,
                          progress=False, store=store, num_components=1, select_by=None, num_chains=2, num_warmup=20,
                          num_samples=40, units="nats", y_type="auto", transform="auto", family="auto")


WORKER_CACHE_SCRIPT = """
import sys
import jax  # imported by the main module, so a spawned worker has JAX before its initializer runs
import jax.numpy as jnp
from bayesmi.parallel import process_pool

def compile_one():
    jax.jit(lambda a: jnp.cos(a) @ a.T)(jnp.ones((8, 8))).block_until_ready()
    return jax.config.jax_compilation_cache_dir

if __name__ == "__main__":
    with process_pool(1, compilation_cache=sys.argv[1], pin_cores=False) as pool:
        print(pool.submit(compile_one).result())
"""


def test_spawned_workers_use_the_compilation_cache_when_the_main_module_imported_jax(tmp_path):
    """A script that imports JAX at the top: its spawned workers import it too (as the parent's main
    module) before their initializer sets the environment, and used to compile without the cache."""
    script, cache = tmp_path / "plane_like.py", tmp_path / "cache"
    script.write_text(WORKER_CACHE_SCRIPT)
    out = subprocess.run([sys.executable, str(script), str(cache)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == str(cache.resolve())
    assert any(cache.iterdir()), "the worker wrote no compiled program to the cache"


def test_study_killed_midway_resumes_to_the_same_table(tmp_path):
    """``bayesmi validate --store`` killed by SIGKILL after its first fits; the same study rerun
    with that store fits only the rest and returns the table of an uninterrupted run."""
    path = tmp_path / "study.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "bayesmi", "validate", *STUDY, "--store", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and stored(path) < 2:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    done = stored(path)
    assert 2 <= done < 6, f"the study stored {done} of 6 fits before it was killed"

    resumed = study(path).records
    uninterrupted = study().records
    pd.testing.assert_frame_equal(resumed.drop(columns="wall_s"), uninterrupted.drop(columns="wall_s"))
    with ResultStore(path) as store:
        assert len(store) == 6
        first = [store.get(k)["wall_s"] for k in store.keys()[:done]]
    assert first == list(resumed["wall_s"].iloc[:done])  # the killed run's fits were not redone


def stored(path) -> int:
    """Results in the store at ``path`` (0 before it exists)."""
    if not path.exists():
        return 0
    with ResultStore(path) as store:
        return len(store)


def test_a_failed_fit_is_recorded_not_fatal(monkeypatch, tmp_path):
    """A fit that raises becomes a record without an estimate, left out of the summary and not
    stored (a rerun retries it); a study whose every fit fails raises the error."""
    from bayesmi.results import MIResult
    from bayesmi.studies import validation

    def estimate(x, y, *, method, truth, seed, progress, **kwargs):
        if broken in (seed, "every"):
            raise FloatingPointError("NaN in the sampler")
        draws = 0.4 + 0.05 * np.random.default_rng(seed).standard_normal((1, 200))
        return MIResult(draws=draws, idata=None, method=method, truth=truth)

    monkeypatch.setattr(validation, "estimate_mi", estimate)
    broken = validation.replicate_seeds(0, "gaussian", 50, 1)[1]  # the fit seed of replicate 1
    path = tmp_path / "study.sqlite"
    with pytest.warns(RuntimeWarning, match="1 of 3 fits failed"):
        result = run_validation(["gaussian"], sizes=(50,), methods=("gibbs",), replicates=3, progress=False,
                                store=path)
    failed = result.records.iloc[1]
    assert np.isnan(failed["mean"]) and not failed["converged"]
    assert failed["problems"] == "failed: FloatingPointError: NaN in the sampler"
    assert result.summary()["replicates"].tolist() == [2]
    assert stored(path) == 2
    broken = None
    assert not run_validation(["gaussian"], sizes=(50,), methods=("gibbs",), replicates=3, progress=False,
                              store=path).records["mean"].isna().any()
    broken = "every"
    with pytest.raises(FloatingPointError):
        run_validation(["gaussian"], sizes=(50,), methods=("gibbs",), replicates=3, progress=False)
    with pytest.raises(FloatingPointError):
        run_validation(["gaussian"], sizes=(50,), methods=("gibbs",), replicates=1, progress=False, on_error="raise")


_PIN = ("import sys; from bayesmi.parallel import pin_to_cores; import os\n"
        "print(pin_to_cores(1, sys.argv[1]), sorted(os.sched_getaffinity(0)), flush=True); sys.stdin.read()")


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux-only")
def test_workers_claim_cores_of_their_own_and_a_finished_worker_frees_its_core(tmp_path):
    """Living workers hold different cores (round-robin once every core is taken); a worker that
    exits releases its claim for the next one."""
    cores = sorted(os.sched_getaffinity(0))
    workers = []

    def start() -> list[int]:
        proc = subprocess.Popen([sys.executable, "-c", _PIN, str(tmp_path)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        workers.append(proc)
        claimed, allowed = proc.stdout.readline().split("] [")
        claimed = [int(c) for c in claimed.strip("[] \n").split(",") if c]
        assert [int(c) for c in allowed.strip("[] \n").split(",")] == claimed  # pinned to what it claimed
        return claimed

    try:
        first = [start()[0] for _ in range(len(cores) + 1)]
        assert first == cores + cores[:1]  # every core once, then round two
        workers[1].communicate("")  # the second worker exits
        assert start() == [cores[1 % len(cores)]]
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.communicate("")
