"""How bayesmi runs on this machine: the persistent compilation cache and row buckets.

- :func:`enable_compilation_cache`: JAX's persistent compilation cache under the user's cache
  directory (``platformdirs.user_cache_dir("bayesmi")``), so a new process loads the compiled
  programs of earlier ones instead of compiling them again (most of a cold start). The command
  line turns it on by default; library users call it once, before their first fit.
- :func:`bucket_rows`: the padded row count of a data set, so that data sets of nearby sizes
  share one compiled program (rows beyond a set's own carry mask 0).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = [
    "BUCKETS_PER_OCTAVE",
    "bucket_rows",
    "compilation_cache_dir",
    "enable_compilation_cache",
]

#: Row buckets per doubling of N: padding costs at most 1/4 of the rows.
BUCKETS_PER_OCTAVE = 4
#: JAX's loggers that report cache hits, misses and entries not written; quiet unless an error.
_CACHE_LOGGERS = ("jax._src.compilation_cache", "jax._src.compiler", "jax._src.cache_key")


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
    are silenced. Returns the directory. Entries are keyed by JAX version, device and program, so
    a stale cache is never used; delete the directory to reclaim its space.
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
