"""Apply a vectorised JAX function to a long batch in fixed-size chunks.

``jax.lax.map(f, xs, batch_size=b)`` would do this inside one XLA program,
but on jaxlib 0.10 (CPU) that program deadlocks intermittently (about one
run in three, every thread idle) when ``f`` contains LAPACK calls such as
Cholesky or triangular solves. A Python loop over chunks of one padded
shape costs one compilation and keeps memory bounded just the same.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["map_chunked"]


def map_chunked(fn: Callable[[Any], Any], tree: Any, chunk_size: int) -> Any:
    """``fn(tree)`` computed ``chunk_size`` rows at a time along the leading axis.

    ``fn`` must map a pytree with leading axis n to outputs with leading axis n
    (typically ``jax.jit(jax.vmap(f))``). The last chunk is padded by repeating
    its final row, so every call has the same shape and compiles once.
    """
    n = jax.tree.leaves(tree)[0].shape[0]
    size = max(1, min(chunk_size, n))
    outputs = []
    for start in range(0, n, size):
        rows = np.minimum(np.arange(start, start + size), n - 1)
        out = fn(jax.tree.map(lambda a: a[rows], tree))
        outputs.append(jax.tree.map(lambda a: a[: min(size, n - start)], out))
    return jax.tree.map(lambda *parts: jnp.concatenate(parts), *outputs)
