"""How bayesmi runs on this machine: the persistent compilation cache, stored programs and row buckets.

- :func:`enable_compilation_cache`: JAX's persistent compilation cache under the user's cache
  directory (``platformdirs.user_cache_dir("bayesmi")``), so a new process loads the compiled
  programs of earlier ones instead of compiling them again (most of a cold start). The command
  line turns it on by default; library users call it once, before their first fit.
- :func:`stored_jit`: ``jax.jit`` for bayesmi's large programs (EM, the samplers, the integral)
  that, with the cache on, also keeps the traced program (:mod:`jax.export`), so that a new
  process neither traces nor lowers it again.
- :func:`bucket_rows`: the padded row count of a data set, so that data sets of nearby sizes
  share one compiled program (rows beyond a set's own carry mask 0).
- :func:`shard_chains`: Markov chains spread over the devices of a machine with several (GPUs,
  TPU cores), one program partitioned by XLA.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import pickle
import tempfile
from collections.abc import Callable, Sequence
from functools import lru_cache, partial, wraps
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "BUCKETS_PER_OCTAVE",
    "bucket_components",
    "bucket_rows",
    "compilation_cache_dir",
    "enable_compilation_cache",
    "shard_chains",
    "stored_jit",
]

#: Row buckets per doubling of N: padding costs at most 1/4 of the rows.
BUCKETS_PER_OCTAVE = 4
#: JAX's loggers that report cache hits, misses and entries not written; quiet unless an error.
_CACHE_LOGGERS = ("jax._src.compilation_cache", "jax._src.compiler", "jax._src.cache_key")
_log = logging.getLogger(__name__)


def compilation_cache_dir() -> Path:
    """Where :func:`enable_compilation_cache` keeps compiled programs by default: ``$BAYESMI_CACHE_DIR``
    if set, else the per-user cache directory of bayesmi (e.g. ``~/.cache/bayesmi/jax`` on Linux)."""
    if os.environ.get("BAYESMI_CACHE_DIR"):
        return Path(os.environ["BAYESMI_CACHE_DIR"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("bayesmi")) / "jax"


def enable_compilation_cache(path: str | os.PathLike | None = None) -> Path:
    """Keep JAX's compiled programs on disk at ``path`` (default :func:`compilation_cache_dir`) and reuse
    them in later processes. Call once, before the first fit of the process (JAX reads the setting
    when it first compiles). Every program is cached however quick its compilation (bayesmi
    compiles many small ones), and JAX's log lines about cache hits and entries it does not write
    are silenced. The traced programs of :func:`stored_jit` go to its ``programs`` folder. Returns
    the directory. Entries are keyed by JAX version, device and program (stored programs also by
    bayesmi's source), so a stale entry is never used; delete the directory to reclaim its space.
    """
    import jax

    directory = Path(path) if path is not None else compilation_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    for name in _CACHE_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    return directory


def bucket_rows(n: int) -> int:
    """The smallest bucket ≥ n rows: n rounded up to a multiple of 2^(⌊log2 n⌋ − 2) (so 1000 → 1024,
    2000 → 2048, 5000 → 5120, 10 000 → 10 240), at most 25% padding; 16 rows at least."""
    if n <= 16:
        return 16
    step = 1 << max(n.bit_length() - 1 - (BUCKETS_PER_OCTAVE.bit_length() - 1), 0)
    return -(-n // step) * step


def bucket_components(k: int) -> int:
    """The smallest component bucket ≥ k: k itself up to 2, then k rounded up to an even number
    (3 → 4, 5 → 6, 9 → 10), at most 33% padding. Samplers that leave weight-0 components inactive
    pad to it, so the fits of a study, whose chosen K wander by one or two, share compiled programs."""
    return k if k <= 2 else k + (k % 2)


def stored_jit(fun: Callable | None = None, *, static_argnames: Sequence[str] = ()) -> Callable:
    """``jax.jit(fun, static_argnames=...)`` whose traced program is also kept on disk, beside the
    compilation cache, so that a new process neither traces nor lowers it again.

    With the persistent compilation cache on (:func:`enable_compilation_cache`), a new process still
    re-traces every program to find its cache entry: Python tracing and lowering to StableHLO were
    1.7 of the 2.2 s that the programs of a cached N = 10⁴ Gibbs fit cost. A stored program is the
    :mod:`jax.export` serialisation of the traced function for one set of static arguments and
    argument shapes/dtypes, under ``<cache>/programs``; a later process deserialises it and compiles
    it (a compilation-cache hit). Entries are keyed by the function, its static arguments, the
    argument structure, shapes and dtypes, the device platform, the versions of JAX, jaxlib and
    NumPyro and a hash of bayesmi's source, so an edit or an upgrade never loads a stale program.
    Without the compilation cache, for a lambda or closure, or for static arguments without a stable
    text form, this is plain ``jax.jit``. Results are identical either way: both run the same StableHLO.
    """
    if fun is None:
        return partial(stored_jit, static_argnames=static_argnames)
    import jax

    static = tuple(static_argnames)
    jitted = jax.jit(fun, static_argnames=static)
    signature = inspect.signature(fun)
    loaded: dict[str, tuple[Callable, Any] | None] = {}  # key -> (compiled call, output treedef); None: not storable

    @wraps(fun)
    def call(*args: Any, **kwargs: Any) -> Any:
        directory = _program_dir()
        if directory is None:
            return jitted(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        static_values = {n: v for n, v in bound.arguments.items() if n in static}
        leaves, in_tree = jax.tree.flatten([v for n, v in bound.arguments.items() if n not in static])
        description = _stable_text((fun, static_values))
        if description is None:
            return jitted(*args, **kwargs)
        avals = ",".join(str(jax.typeof(leaf)) + _partition(leaf) for leaf in leaves)  # "~" marks weak types
        key = hashlib.sha256("|".join((description, str(in_tree), avals, _environment())).encode()).hexdigest()
        if key not in loaded:
            loaded[key] = _load_or_export(directory / f"{fun.__name__}-{key[:32]}.bin",
                                          fun, bound, static, in_tree, leaves)
        if loaded[key] is None:
            return jitted(*args, **kwargs)
        run, out_tree = loaded[key]
        return jax.tree.unflatten(out_tree, run(*leaves))

    return call


def shard_chains(tree: Any, num_chains: int, axis: int) -> Any:
    """``tree`` with the chain axis ``axis`` of its leaves split over the machine's devices, when
    there are several and they divide ``num_chains``; as it is otherwise (one CPU device, say).
    Programs then run each device's chains in parallel (XLA partitions them). Every chain draws
    from its own key, so Gibbs draws are those of one device; NUTS trajectories are chaotic, and
    float32 rounding of the partitioned program (~1e-6) can part a chain from its one-device path
    after some iterations, as vectorised and one-by-one NUTS chains part."""
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = jax.devices()
    if len(devices) < 2 or num_chains % len(devices):
        return tree
    sharding = NamedSharding(Mesh(np.array(devices), ("chains",)), PartitionSpec(*[None] * axis, "chains"))
    return jax.device_put(tree, sharding)


def _partition(leaf: Any) -> str:
    """How a leaf is split over devices, for a stored program's key ("" on one device)."""
    from jax.sharding import NamedSharding

    sharding = getattr(leaf, "sharding", None)
    return f"@{sharding.spec}" if isinstance(sharding, NamedSharding) else ""


def _program_dir() -> Path | None:
    """Where stored programs live: ``programs`` in the compilation cache directory, None when it is off."""
    import jax

    directory = jax.config.jax_compilation_cache_dir
    return Path(directory) / "programs" if directory else None


def _load_or_export(path: Path, fun: Callable, bound: inspect.BoundArguments, static: tuple[str, ...],
                    in_tree: Any, leaves: list) -> tuple[Callable, Any] | None:
    """The compiled call of a stored program and its output treedef: read from ``path``, or traced,
    exported and written there (atomically, so concurrent processes never read half a file)."""
    import jax
    from jax import export

    if path.exists():
        try:
            stored = pickle.loads(path.read_bytes())
            return _named_call(export.deserialize(stored["exported"]), fun), stored["out_tree"]
        except Exception as error:  # a truncated or foreign file: trace again and replace it
            _log.info("stored program %s unreadable (%s); tracing again", path.name, error)
    names = list(bound.arguments)
    out_trees: list = []

    def flat(*dynamic_leaves: Any) -> list:
        dynamic = iter(jax.tree.unflatten(in_tree, dynamic_leaves))
        arguments = [bound.arguments[n] if n in static else next(dynamic) for n in names]
        out_leaves, out_tree = jax.tree.flatten(fun(*arguments))
        out_trees.append(out_tree)
        return out_leaves

    flat.__name__ = flat.__qualname__ = fun.__name__

    try:
        exported = export.export(jax.jit(flat))(*leaves)
        data = pickle.dumps({"exported": exported.serialize(), "out_tree": out_trees[0]})
    except Exception as error:  # e.g. a custom call export does not guarantee stable: plain jit
        _log.info("%s cannot be stored (%s); it will be traced in every process", fun.__qualname__, error)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        handle.write(data)
    os.replace(handle.name, path)
    return _named_call(exported, fun), out_trees[0]


def _named_call(exported: Any, fun: Callable) -> Callable:
    """The jitted call of an exported program, under ``fun``'s name (in profiles and compile logs)."""
    import jax

    def run(*leaves: Any) -> Any:
        return exported.call(*leaves)

    run.__name__ = run.__qualname__ = fun.__name__
    return jax.jit(run)


def _stable_text(value: Any) -> str | None:
    """A text that identifies ``value`` across processes, or None: functions by module and name
    (None for lambdas, local functions and closures, which a name does not identify), other values
    by their repr (None when it carries a memory address)."""
    if callable(value) and hasattr(value, "__qualname__"):
        anonymous = "<" in value.__qualname__ or getattr(value, "__closure__", None)
        return None if anonymous else f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, dict):
        parts = [(_stable_text(k), _stable_text(v)) for k, v in value.items()]
        return None if any(None in p for p in parts) else "{" + ",".join(f"{k}:{v}" for k, v in parts) + "}"
    if isinstance(value, (tuple, list)):
        parts = [_stable_text(v) for v in value]
        return None if None in parts else f"{type(value).__name__}({','.join(parts)})"
    text = repr(value)
    return None if " at 0x" in text else text


@lru_cache(maxsize=1)
def _environment() -> str:
    """Versions, device platform and a hash of bayesmi's source: what a stored program depends on."""
    import jax
    import jaxlib
    import numpyro

    source = hashlib.sha256()
    for file in sorted(Path(__file__).parent.rglob("*.py")):
        source.update(file.read_bytes())
    return (f"jax {jax.__version__} jaxlib {jaxlib.__version__} numpyro {numpyro.__version__} "
            f"{jax.default_backend()} x{jax.device_count()} x64={jax.config.jax_enable_x64} bayesmi {source.hexdigest()}")
