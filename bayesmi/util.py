"""Small helpers shared by every layer of bayesmi; this module imports nothing else of bayesmi.

- Units: :data:`UNITS`, :func:`to_units` (information quantities are computed in nats).
- Warnings: :func:`find_stack_level` points a warning at the user's line, not at bayesmi's;
  :func:`renamed_arguments` keeps old keyword names working one release, with a warning.
- Messages: :func:`format_values` shows a few values of a long list as plain Python numbers;
  :func:`prob_label` names an interval probability in column labels.
- Arguments: :func:`check_int` for integer settings.
- Batching: :func:`map_chunked` applies a vectorised JAX function a fixed-size chunk at a time.
- Progress: :class:`Progress`, the one progress bar of an estimator call, advanced through stages.
- Slow imports kept off the estimate path: :func:`pandas_object` tells a pandas object without
  importing pandas (ArviZ is imported on first use by :mod:`bayesmi.arviz_adapter`).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import operator
import os
import sys
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "UNITS", "to_units", "find_stack_level", "renamed_arguments", "format_values", "check_int",
    "map_chunked", "lookahead_map", "usable_cores", "Progress", "prob_label", "pandas_object",
]

F = TypeVar("F", bound=Callable[..., Any])

# --------------------------------------------------------------------------- units

#: Factor from nats to each unit.
UNITS = {"nats": 1.0, "bits": 1.0 / math.log(2.0)}


def to_units(value_nats: Any, units: str) -> Any:
    """Convert a quantity in nats to ``units`` ("nats" or "bits")."""
    if units not in UNITS:
        raise ValueError(f"units must be one of {sorted(UNITS)}, got {units!r}")
    return value_nats * UNITS[units]


# --------------------------------------------------------------------------- warnings

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _internal(filename: str) -> bool:
    """A frame of bayesmi itself, or of the import machinery running an ``import`` of bayesmi."""
    return filename.startswith("<frozen importlib") or os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def find_stack_level() -> int:
    """The ``stacklevel`` that makes ``warnings.warn`` report the first frame outside bayesmi.

    Count from the caller of this function outward, so call it at the ``warnings.warn`` site:
    ``warnings.warn(message, Category, stacklevel=find_stack_level())``.
    """
    frame = inspect.currentframe()
    frame = frame.f_back if frame is not None else None  # the frame that will call warnings.warn
    level = 1
    while frame is not None and _internal(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level


def renamed_arguments(**renames: str) -> Callable[[F], F]:
    """Decorator: accept the old keyword names ``old=new`` with a DeprecationWarning.

    The old name is passed on under the new one; giving both is an error.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}() got both {old!r} (the old name) and {new!r}")
                    warnings.warn(f"{fn.__name__}(): the argument {old!r} is now called {new!r}; the old name "
                                  "will be removed in the next release", DeprecationWarning,
                                  stacklevel=find_stack_level())
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


# --------------------------------------------------------------------------- messages and arguments


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar it holds (so messages show ``3.0``, not ``np.float64(3.0)``)."""
    return value.item() if isinstance(value, np.generic) else value


def format_values(values: Iterable[Any], limit: int = 5) -> str:
    """The first ``limit`` values, repr'd as plain Python values, and how many there are in all."""
    items = list(values)
    shown = ", ".join(repr(_plain(v)) for v in items[:limit])
    return shown if len(items) <= limit else f"{shown}, … ({len(items)} in all)"


def prob_label(prob: float) -> str:
    """Column suffix of an interval probability in percent: 0.95 → "95", 0.999 → "99.9"."""
    return f"{100 * prob:g}"


def check_int(value: Any, name: str, low: int | None = None) -> int:
    """``value`` as an int (bools refused), at least ``low``; a TypeError/ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {_plain(value)!r}") from None
    if low is not None and number < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {number}")
    return number


# --------------------------------------------------------------------------- batching


def usable_cores() -> int:
    """CPU cores this process may run on: its affinity mask where the OS keeps one (a worker pinned to
    a core by :func:`bayesmi.parallel.pin_to_cores` gets 1), else the machine's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def lookahead_map(fn: Callable[[Any], Any], items: Iterable[Any], workers: int = 1) -> Iterator[Any]:
    """``fn(item)`` for each of ``items``, in order, with up to ``workers`` calls running at once in
    threads (XLA, NumPy's sorts and SciPy's k-d tree release the GIL). A call starts only once the
    results before it are asked for, so a consumer that stops early (close the generator) leaves at
    most ``workers`` − 1 calls to finish. The calls are those of a plain loop, so the results are too."""
    items = iter(items)
    if workers <= 1:
        yield from map(fn, items)
        return
    pool = ThreadPoolExecutor(workers)
    try:
        pending = deque(pool.submit(fn, item) for item in itertools.islice(items, workers))
        while pending:
            yield pending.popleft().result()
            pending.extend(pool.submit(fn, item) for item in itertools.islice(items, 1))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def map_chunked(fn: Callable[[Any], Any], tree: Any, chunk_size: int, on_chunk: Callable[[], Any] | None = None) -> Any:
    """``fn(tree)`` computed ``chunk_size`` rows at a time along the leading axis.

    ``fn`` must map a pytree with leading axis n to outputs with leading axis n (typically
    ``jax.jit(jax.vmap(f))``). The last chunk is padded by repeating its final row, so every call
    has the same shape and compiles once. (``jax.lax.map(f, xs, batch_size=b)`` would do this
    inside one XLA program, but on jaxlib 0.10 CPU that program deadlocks intermittently when
    ``f`` contains LAPACK calls such as Cholesky or triangular solves.) ``on_chunk()`` is called
    after each chunk (e.g. a progress bar's update). Chunks run one at a time: two in threads hung
    jaxlib 0.10 on CPU (the MI integral's, :func:`bayesmi.fitting.integrate`).
    """
    import jax

    tree = jax.device_get(tree)  # slice on the host: eager device ops would each compile a program
    n = jax.tree.leaves(tree)[0].shape[0]
    size = max(1, min(chunk_size, n))

    def chunk(start: int) -> Any:
        rows = np.minimum(np.arange(start, start + size), n - 1)
        out = jax.device_get(fn(jax.tree.map(lambda a: a[rows], tree)))
        return jax.tree.map(lambda a: a[: min(size, n - start)], out)

    outputs = []
    for out in map(chunk, range(0, n, size)):
        outputs.append(out)
        if on_chunk is not None:
            on_chunk()
    return jax.tree.map(lambda *parts: np.concatenate(parts), *outputs)


# --------------------------------------------------------------------------- pandas


def pandas_object(value: Any) -> bool:
    """Whether ``value`` is a pandas Series or DataFrame, without importing pandas (0.2 s): a
    process that has not imported pandas holds no pandas objects."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, (pd.Series, pd.DataFrame))


# --------------------------------------------------------------------------- progress


class Progress:
    """The one progress bar of an estimator call, reset for each stage of the work.

    ``stage("choose K", total)`` names the stage and its number of steps; ``update()`` advances
    it; ``note("compiling")`` shows what the current step is doing (the first step of a stage
    often compiles). Disabled, every method does nothing. Use as a context manager.
    """

    def __init__(self, enabled: bool, desc: str) -> None:
        from tqdm import tqdm

        self._desc = desc
        self._bar = tqdm(total=0, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True)

    def stage(self, name: str, total: int) -> None:
        self._bar.set_description(f"{self._desc}: {name}", refresh=False)
        self._bar.set_postfix_str("", refresh=False)
        self._bar.reset(total=total)

    def note(self, text: str) -> None:
        self._bar.set_postfix_str(text, refresh=True)

    def update(self, n: int = 1) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
