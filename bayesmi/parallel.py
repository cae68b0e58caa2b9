"""Many fits across processes and machines: tasks, executors, and a store that lets long runs resume.

A :class:`Task` is a picklable function with plain arguments (numpy arrays, numbers, strings,
bayesmi's dataclasses) and a key that names its result. :func:`run_tasks` runs tasks in this
process one after another (``executor=None``) or on any :class:`concurrent.futures.Executor`,
collecting results as they complete; with a ``store`` (:class:`ResultStore`, one SQLite row per
finished task) each result is written the moment it arrives and a rerun with the same tasks runs
only the ones missing, so a run killed midway loses only the tasks in flight. The engines:
:class:`RayExecutor` (a pool of Ray actors, long-lived worker processes that import bayesmi once
and keep JAX's compiled programs warm; Ray restarts a dead actor and retries its task), Dask
(``distributed.Client(...).get_executor()``), and :func:`process_pool` (a local pool of processes
started by spawn). Workers run one thread each (:func:`worker_environment`) on cores of their own
(:func:`pin_to_cores`): parallelism comes from the workers, not from threads competing inside
each. This module imports no JAX: a worker sets its environment before JAX is first used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import multiprocessing
import os
import pickle
import sqlite3
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np

from bayesmi.util import check_int, pandas_object

__all__ = [
    "RayExecutor",
    "ResultStore",
    "Task",
    "TaskFailure",
    "check_executor",
    "content_hash",
    "pin_to_cores",
    "process_pool",
    "run_tasks",
    "worker_environment",
]

#: Variables that set the thread count of the numerical libraries a worker may load.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: XLA flag that keeps Eigen (XLA's matrix kernels on CPU) to the calling thread.
SINGLE_THREAD_XLA_FLAG = "--xla_cpu_multi_thread_eigen=false"


@dataclass(frozen=True)
class Task:
    """One unit of work, ``fn(*args, **kwargs)``; ``key`` names its result: unique within a run, the
    same in a rerun with the same arguments (so a store can recognise it), and different when they
    differ (put a :func:`content_hash` of them in it)."""

    key: str
    fn: Callable[..., Any]
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskFailure:
    """The outcome of a task that raised (or whose worker died more often than the engine retries)."""

    key: str
    error: BaseException

    @property
    def message(self) -> str:
        """``"ErrorType: message"`` on one line."""
        return " ".join(f"{type(self.error).__name__}: {self.error}".split())


def content_hash(*parts: Any) -> str:
    """Hex SHA-256 (16 characters) of ``parts``: arrays (numpy, JAX, ...) by dtype, shape and values,
    DataFrames and Series by labels and columns, mappings by sorted items, sequences and
    dataclasses by their items, anything else by ``repr``. Equal inputs give equal hashes in every
    process and on every machine (unlike ``hash``)."""
    digest = hashlib.sha256()

    def feed(obj: Any) -> None:
        if isinstance(obj, np.ndarray):
            digest.update(f"array{obj.dtype.str}{obj.shape}".encode())
            if obj.dtype.hasobject:
                for item in obj.ravel():
                    feed(item)
            else:
                digest.update(np.ascontiguousarray(obj).tobytes())
        elif pandas_object(obj):
            digest.update(type(obj).__name__.encode())
            feed(obj.index.to_numpy())
            if hasattr(obj, "columns"):
                for column in obj.columns:
                    feed(column)
                    feed(obj[column].to_numpy())
            else:
                feed(obj.name)
                feed(obj.to_numpy())
        elif hasattr(obj, "__array__") and not isinstance(obj, (str, bytes)):
            feed(np.asarray(obj))
        elif isinstance(obj, Mapping):
            digest.update(b"map")
            for k in sorted(obj, key=repr):
                feed(k)
                feed(obj[k])
        elif isinstance(obj, (list, tuple)):
            digest.update(f"seq{len(obj)}".encode())
            for item in obj:
                feed(item)
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            digest.update(type(obj).__qualname__.encode())
            for f in dataclasses.fields(obj):
                feed(f.name)
                feed(getattr(obj, f.name))
        else:
            digest.update(f"{type(obj).__qualname__}:{obj!r};".encode())

    for part in parts:
        feed(part)
    return digest.hexdigest()[:16]


class ResultStore:
    """Finished task results on disk: one row (key, pickled value) of an SQLite table per task.

    Each :meth:`put` is its own committed transaction, so a process killed at any moment leaves
    every earlier result readable and none half-written. One file may hold many runs: keys carry
    a hash of the settings that produced them. Values are pickles: read a store only with the
    bayesmi (and Python) that wrote it, and only one you trust.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ValueError(f"store: directory of {str(self.path)!r} does not exist")
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        self._db.commit()

    def __contains__(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM results WHERE key = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def get(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM results WHERE key = ?", (key,)).fetchone()
        return default if row is None else pickle.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)",
                             (key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)))

    def keys(self) -> list[str]:
        return [k for (k,) in self._db.execute("SELECT key FROM results ORDER BY rowid")]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r}, {len(self)} results)"


def check_executor(executor: Executor | None) -> None:
    """TypeError for something that is not a :class:`concurrent.futures.Executor`; ValueError for a
    process pool that forks: JAX runs threads, and a process forked from one that has started
    them may deadlock. Use :func:`process_pool`, or a pool with a "spawn" or "forkserver" context."""
    if executor is None:
        return
    if not isinstance(executor, Executor):
        raise TypeError(f"executor must be a concurrent.futures.Executor (or None), got {type(executor).__name__}")
    if isinstance(executor, ProcessPoolExecutor):
        context = getattr(executor, "_mp_context", None)
        if context is not None and context.get_start_method() == "fork":
            raise ValueError("executor: this ProcessPoolExecutor forks its workers, and JAX must not be forked "
                             "after it has started its threads; use bayesmi.parallel.process_pool(max_workers) "
                             "or ProcessPoolExecutor(mp_context=multiprocessing.get_context('spawn'))")


def run_tasks(
    tasks: Iterable[Task],
    executor: Executor | None = None,
    *,
    store: str | os.PathLike | ResultStore | None = None,
    on_error: Literal["raise", "record"] = "raise",
    on_result: Callable[[Task, Any], None] | None = None,
) -> dict[str, Any]:
    """Run ``tasks``, in this process one after another (``executor=None``) or on ``executor``.

    Results are collected as they complete (:func:`concurrent.futures.as_completed`); each is
    written to ``store`` (a path or :class:`ResultStore`) at once, and tasks whose key the store
    already holds are not run again. ``on_error="record"`` turns a task that raises into a
    :class:`TaskFailure` (not stored, so a rerun retries it) instead of stopping the run; with
    "raise" the pending tasks are cancelled and the error propagates. ``on_result(task, result)``
    is called in this process for every task, stored ones included, in completion order.

    Returns {key: result or TaskFailure} in the order of ``tasks``.
    """
    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record', got {on_error!r}")
    check_executor(executor)
    tasks = list(tasks)
    if len({t.key for t in tasks}) != len(tasks):
        raise ValueError("the keys of the tasks must be unique")
    own_store = store is not None and not isinstance(store, ResultStore)
    db = ResultStore(store) if own_store else store
    results: dict[str, Any] = {}
    try:
        todo = []
        for task in tasks:
            if db is not None and task.key in db:
                results[task.key] = db.get(task.key)
                if on_result is not None:
                    on_result(task, results[task.key])
            else:
                todo.append(task)
        for task, outcome in _outcomes(todo, executor, on_error):
            results[task.key] = outcome
            if db is not None and not isinstance(outcome, TaskFailure):
                db.put(task.key, outcome)
            if on_result is not None:
                on_result(task, outcome)
    finally:
        if own_store:
            db.close()
    return {t.key: results[t.key] for t in tasks}


def _outcomes(tasks: list[Task], executor: Executor | None, on_error: str) -> Iterator[tuple[Task, Any]]:
    """(task, result or TaskFailure) as each task finishes."""
    if executor is None:
        for task in tasks:
            try:
                result = task.fn(*task.args, **task.kwargs)
            except Exception as exc:
                if on_error == "raise":
                    raise
                result = TaskFailure(task.key, exc)
            yield task, result
        return
    # One callable without arguments per task: no task argument can clash with an executor's own
    # keywords (Dask's submit takes ``key``, ``workers``, ``priority``, ...).
    futures = {executor.submit(partial(task.fn, *task.args, **task.kwargs)): task for task in tasks}
    try:
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:
                if on_error == "raise":
                    raise
                result = TaskFailure(task.key, exc)
            yield task, result
    finally:  # on an error, or when the caller stops early: do not leave work queued
        for future in futures:
            future.cancel()


# --------------------------------------------------------------------------- workers


def worker_environment(threads: int = 1, compilation_cache: str | os.PathLike | None = None,
                       base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment variables for a worker, to set before it first uses JAX.

    ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` = ``threads``; with one
    thread also ``XLA_FLAGS`` += ``--xla_cpu_multi_thread_eigen=false`` (keeping the flags already
    in ``base``, default ``os.environ``). XLA's own thread pool follows the CPU affinity of the
    process (``taskset``), which is the engine's to set. ``compilation_cache``: a directory
    (``JAX_COMPILATION_CACHE_DIR``) where workers with the same flags share compiled programs,
    so a restarted worker or a resumed run loads them instead of compiling again. Use one per
    machine type: programs are compiled for the host's CPU (XLA refuses, and recompiles, an
    entry built for other CPU features).
    """
    threads = check_int(threads, "threads", 1)
    base = os.environ if base is None else base
    env = {name: str(threads) for name in THREAD_VARIABLES}
    flags = base.get("XLA_FLAGS", "")
    if threads == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        flags = f"{flags} {SINGLE_THREAD_XLA_FLAG}".strip()
    if flags:
        env["XLA_FLAGS"] = flags
    if compilation_cache is not None:
        env["JAX_COMPILATION_CACHE_DIR"] = str(Path(compilation_cache).resolve())
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"  # bayesmi compiles many small programs
    return env


#: Open lock files of the cores this process holds (see :func:`pin_to_cores`); closed when it exits.
_held_cores: list[Any] = []


def pin_to_cores(count: int = 1, lock_dir: str | os.PathLike | None = None) -> list[int]:
    """Restrict this process to ``count`` CPU cores that other bayesmi workers on the machine do not
    hold, and return them; [] (nothing changed) where CPU affinity cannot be set (not Linux) or the
    process may use fewer than ``count`` cores.

    A worker given one CPU by its engine otherwise lets XLA's thread pool, sized by the cores the
    process may use, spread over every core: one worker already occupies part of a second core and
    several workers contend for all of them. Measured on 2 cores, a 50-pair ``mi_matrix``: one
    unpinned worker 2.74 s, one pinned 3.14 s; so two unpinned workers cannot halve the time.

    Cores are claimed with advisory locks on files in ``lock_dir`` (default: a per-user folder in
    the temporary directory), which the OS releases when the process exits, so a dead worker frees
    its core. With more workers than cores the claims go round again: worker k of n on c cores
    gets core k mod c, so the load stays even. Call before JAX is first used in the process.
    """
    count = check_int(count, "count", 1)
    if not hasattr(os, "sched_setaffinity"):
        return []
    import fcntl

    cores = sorted(os.sched_getaffinity(0))
    if count > len(cores):
        return []
    directory = Path(lock_dir) if lock_dir is not None else Path(tempfile.gettempdir()) / f"bayesmi-cores-{os.getuid()}"
    directory.mkdir(parents=True, exist_ok=True)
    for round_ in itertools.count():  # every round has free cores eventually
        held = []
        for core in cores:
            handle = open(directory / f"core{core}-round{round_}.lock", "w")  # noqa: SIM115 (held open)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            held.append((core, handle))
            if len(held) == count:
                os.sched_setaffinity(0, [c for c, _ in held])
                _held_cores.extend(h for _, h in held)
                return [c for c, _ in held]
        for _, handle in held:
            handle.close()
    return []  # not reached


def _start_worker(env: Mapping[str, str], pin_cores: int) -> None:
    """Process-pool initializer: set ``env`` and claim ``pin_cores`` cores (0: none) before any task runs.

    A spawned worker imports the parent's main module before this runs; if that imported JAX, JAX
    has already read its settings from the environment, so the compilation cache is also set in
    JAX's config (without it, a script that imports bayesmi at the top ran its workers uncached)."""
    os.environ.update(env)
    jax = sys.modules.get("jax")
    if jax is not None and "JAX_COMPILATION_CACHE_DIR" in env:
        jax.config.update("jax_compilation_cache_dir", env["JAX_COMPILATION_CACHE_DIR"])
        jax.config.update("jax_persistent_cache_min_compile_time_secs",
                          float(env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))
    if pin_cores:
        pin_to_cores(pin_cores)


def process_pool(max_workers: int, threads_per_worker: int = 1, compilation_cache: str | os.PathLike | None = None,
                 pin_cores: bool = True, **kwargs: Any) -> ProcessPoolExecutor:
    """A :class:`~concurrent.futures.ProcessPoolExecutor` of ``max_workers`` processes started by
    spawn, each with :func:`worker_environment` (``threads_per_worker``, ``compilation_cache``) and,
    with ``pin_cores``, ``threads_per_worker`` cores of its own (:func:`pin_to_cores`); ``kwargs``
    go to the pool (e.g. ``max_tasks_per_child``). A worker that dies breaks the whole pool: the
    tasks still pending fail (a rerun with the same store runs them); Ray and Dask retry instead."""
    env = worker_environment(threads_per_worker, compilation_cache)
    return ProcessPoolExecutor(check_int(max_workers, "max_workers", 1), mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(env, threads_per_worker if pin_cores else 0),
                               **kwargs)


class _Worker:
    """A Ray actor: a worker process that runs tasks, keeping what they import and compile; it
    claims ``pin_cores`` cores of its node when it starts (0: none)."""

    def __init__(self, pin_cores: int) -> None:
        if pin_cores:
            pin_to_cores(pin_cores)

    def run(self, fn: Callable[..., Any], args: tuple, kwargs: Mapping[str, Any]) -> Any:
        return fn(*args, **kwargs)


class RayExecutor(Executor):
    """A :class:`concurrent.futures.Executor` over a pool of Ray actors.

    Each actor is a worker process started by Ray (never forked from this one) with
    :func:`worker_environment` set before it imports anything, that lives as long as the executor:
    bayesmi is imported and every program JAX compiles is kept, so the second task of the same
    shapes runs at once. A task goes to the next idle actor. A worker that dies is restarted
    (``max_restarts``) and its task run again (``max_task_retries``) by Ray; past those limits the
    task's future raises the Ray error and the actor is replaced.

    Parameters
    ----------
    num_workers : actors; default: the cluster's CPUs // ``threads_per_worker``.
    threads_per_worker : threads (and Ray CPUs) of each actor.
    pin_cores : give each actor ``threads_per_worker`` cores of its node that no other bayesmi
        worker holds (:func:`pin_to_cores`); Ray itself only counts CPUs.
    compilation_cache : directory where the actors share JAX's compiled programs (see
        :func:`worker_environment`); on a cluster, a path every node can reach.
    max_restarts, max_task_retries : Ray's fault-tolerance settings of the actors.
    **actor_options : further Ray actor options (e.g. ``resources``, ``scheduling_strategy``,
        ``memory``); ``runtime_env["env_vars"]`` is merged with the thread settings.

    Connect to a cluster first (``ray.init(address="auto")``); otherwise Ray starts a local one.
    """

    def __init__(self, num_workers: int | None = None, *, threads_per_worker: int = 1, pin_cores: bool = True,
                 compilation_cache: str | os.PathLike | None = None, max_restarts: int = 2, max_task_retries: int = 2,
                 **actor_options: Any) -> None:
        try:
            import ray
        except ImportError:
            raise ImportError("RayExecutor needs Ray: pip install 'bayesmi[cluster]'") from None
        self._ray = ray
        env = worker_environment(threads_per_worker, compilation_cache)
        if not ray.is_initialized():
            ray.init()
        if num_workers is None:
            num_workers = max(1, int(ray.cluster_resources().get("CPU", 1)) // threads_per_worker)
        num_workers = check_int(num_workers, "num_workers", 1)
        runtime_env = dict(actor_options.pop("runtime_env", None) or {})
        runtime_env["env_vars"] = {**env, **runtime_env.get("env_vars", {})}
        self._actor_class = ray.remote(_Worker).options(
            num_cpus=threads_per_worker, max_restarts=max_restarts, max_task_retries=max_task_retries,
            runtime_env=runtime_env, **actor_options)
        self._pin_cores = threads_per_worker if pin_cores else 0
        self._idle = deque(self._actor_class.remote(self._pin_cores) for _ in range(num_workers))
        self._queue: deque[tuple[Future, Callable, tuple, dict]] = deque()
        self._running: dict[Any, tuple[Any, Future]] = {}
        self._wake = threading.Condition()
        self._shutdown = False
        self._thread = threading.Thread(target=self._dispatch, name="bayesmi-ray-executor", daemon=True)
        self._thread.start()

    @property
    def num_workers(self) -> int:
        with self._wake:
            return len(self._idle) + len(self._running)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        with self._wake:
            if self._shutdown:
                raise RuntimeError("cannot submit to a RayExecutor after shutdown")
            self._queue.append((future, fn, args, kwargs))
            self._wake.notify()
        return future

    def _dispatch(self) -> None:
        """Give queued tasks to idle actors and complete futures as results arrive; if Ray itself
        fails, every pending future gets the error."""
        try:
            while self._step():
                pass
        except BaseException as exc:
            with self._wake:
                self._shutdown = True
                pending = [f for _, f in self._running.values()] + [item[0] for item in self._queue]
                self._running.clear()
                self._queue.clear()
            for future in pending:
                if not future.done():
                    future.set_exception(exc)
            raise
        for actor in self._idle:
            self._ray.kill(actor)
        self._idle.clear()

    def _step(self) -> bool:
        """Start what the idle actors can take, then collect one result (waiting up to 50 ms).
        False once shut down with nothing left to do."""
        ray = self._ray
        with self._wake:
            while self._queue and self._idle:
                future, fn, args, kwargs = self._queue.popleft()
                if not future.set_running_or_notify_cancel():
                    continue
                try:  # arguments are serialised here: an unpicklable one fails its task alone
                    ref = self._idle[0].run.remote(fn, args, kwargs)
                except Exception as exc:  # noqa: BLE001 (handed to the task's future)
                    future.set_exception(exc)
                    continue
                self._running[ref] = (self._idle.popleft(), future)
            if not self._running:
                if self._shutdown and not self._queue:
                    return False
                self._wake.wait()
                return True
            refs = list(self._running)
        ready, _ = ray.wait(refs, num_returns=1, timeout=0.05)
        for ref in ready:
            actor, future = self._running.pop(ref)
            try:
                future.set_result(ray.get(ref))
            except ray.exceptions.ActorDiedError as exc:
                actor = self._actor_class.remote(self._pin_cores)  # restarts exhausted: a fresh worker takes its place
                future.set_exception(exc)
            except Exception as exc:  # noqa: BLE001 (the task's error, handed to its future)
                future.set_exception(exc)
            with self._wake:
                self._idle.append(actor)
        return True

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking tasks; cancel the queued ones if asked; the actors end once the rest are done."""
        with self._wake:
            self._shutdown = True
            if cancel_futures:
                while self._queue:
                    self._queue.popleft()[0].cancel()
            self._wake.notify()
        if wait:
            self._thread.join()

