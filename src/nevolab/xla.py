"""Every XLA:CPU tuning NevoLab uses, in one place: compiler options keyed by run kind, and the
array helpers that compute exactly what a plain JAX expression computes, only faster on XLA:CPU.

Each helper must return the same bits as the expression it replaces (``tests/test_xla.py``); only
the speed changes. Their measured effect is recorded in the benchmark notes (README, Benchmarks),
not here.

:func:`unroll_threefry_on_cpu` is the one global change: ``import nevolab`` calls it (and turns on
JAX's persistent compilation cache); the README says so.
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp

# Longest axis that stable_argsort ranks by pairwise comparisons (n^2 work) rather than by sorting.
SMALL_SORT = 32

RUN_KINDS = ("init", "ae_ff", "ae_lstm", "prune", "ppo")


def compiler_options(kind: str) -> dict[str, Any] | None:
    """The XLA compiler options of a run kind (None: XLA's defaults).

    * ``init``: programs that run once (population initialisation): no LLVM optimisation, which
      would spend tens of seconds on inlined threefry kernels for nothing.
    * ``ae_ff``: Study A's feed-forward runs on CPU: no YNNPACK fusions (its per-call cost exceeds
      XLA's own loops at these tiny layer sizes) and 512-bit vectors preferred where the CPU has
      them. Sums round differently, so this is part of those runs' version.
    * ``ae_lstm``: Study A's LSTM runs: XLA's defaults (their committed numbers were computed so).
    * ``prune``: Study B's pruning step: cheap to run, slow to optimise (threefry re-initialisation,
      per-layer argsorts): no LLVM optimisation.
    * ``ppo``: the PPO programs on CPU: LLVM level 1 (about half the compile time, same speed).
    """
    if kind not in RUN_KINDS:
        raise ValueError(f"unknown run kind {kind!r}; valid: {', '.join(RUN_KINDS)}")
    on_cpu = jax.default_backend() == "cpu"
    if kind in ("init", "prune"):
        return {"xla_backend_optimization_level": 0}
    if kind == "ae_ff" and on_cpu:
        return {"xla_cpu_experimental_ynn_fusion_type": "", "xla_cpu_prefer_vector_width": 512}
    if kind == "ppo" and on_cpu:
        return {"xla_backend_optimization_level": 1}
    return None


def keep_large_allocations() -> bool:
    """Ask glibc's malloc to keep freed buffers up to 1 GiB instead of returning them to the kernel.
    Returns whether it took (only on glibc).

    With its defaults, a program whose intermediates are tens of MB (Study C's population forward)
    gets them from fresh ``mmap`` pages on every call and spends over a second per generation in page
    faults; keeping them is pure allocator policy, so every result keeps its bits. Both thresholds
    are needed: raising one alone made the page faults worse when measured.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_mmap_threshold, m_trim_threshold = -3, -1
    return bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 1 << 30))


def unroll_threefry_on_cpu() -> bool:
    """Lower ``threefry2x32`` on CPU with JAX's unrolled (non-loop) rule. Returns whether it took.

    JAX lowers threefry on CPU as a rolled loop to keep compile times short; inside a compiled run
    that draws small random arrays every generation each loop is a separate XLA ``while`` with its
    own dispatch. The unrolled rule (JAX's choice on every other platform) computes the same rounds
    in one fused kernel: same bits. This reaches into JAX internals; if they have moved, nothing
    changes except speed, and a warning says so.
    """
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32 as threefry
    except ImportError:  # pragma: no cover - depends on the JAX version
        warnings.warn("nevolab: JAX's threefry lowering moved; PRNG kernels stay rolled on CPU",
                      stacklevel=2)
        return False
    rule = getattr(threefry, "_threefry2x32_lowering_rule", None)
    primitive = getattr(threefry, "threefry2x32_p", None)
    if rule is None or primitive is None:  # pragma: no cover - depends on the JAX version
        warnings.warn("nevolab: JAX's threefry lowering moved; PRNG kernels stay rolled on CPU",
                      stacklevel=2)
        return False
    mlir.register_lowering(primitive, rule, platform="cpu")
    return True


@jax.custom_batching.custom_vmap
def materialize(values: jax.Array) -> jax.Array:
    """``values``, computed into a buffer of their own instead of fused into their consumers.

    XLA fuses an elementwise producer into each consumer, even one that reads every element many
    times (a pairwise comparison reads it n times, a gather of rows reads a row index once per
    column), and then recomputes the producer that often: ruinous when it is a PRNG kernel.
    ``lax.optimization_barrier`` does not prevent this on XLA:CPU (it is expanded before fusion); a
    conditional does, as XLA never fuses across one. The result always equals ``values``: the
    predicate is False only for a NaN first element, whose branch returns ``values + 0`` (equal
    elementwise); for integers and booleans it is always True. The branches must differ, or XLA
    removes the conditional.
    """
    first = values.reshape(-1)[:1]
    if jnp.issubdtype(values.dtype, jnp.inexact):
        return jax.lax.cond(jnp.all(first == first), lambda v: v, lambda v: v + 0, values)
    if values.dtype == jnp.bool_:
        return materialize(values.astype(jnp.int8)).astype(jnp.bool_)
    if jnp.issubdtype(values.dtype, jnp.unsignedinteger):  # XLA folds "unsigned >= 0"
        signed = jnp.dtype(f"int{values.dtype.itemsize * 8}")
        as_signed = jax.lax.bitcast_convert_type(values, signed)
        return jax.lax.bitcast_convert_type(materialize(as_signed), values.dtype)
    # Always True for a signed integer; the other branch is never taken.
    always = jnp.all(first >= jnp.iinfo(values.dtype).min)
    return jax.lax.cond(always, lambda v: v, jnp.zeros_like, values)


@materialize.def_vmap
def _materialize_vmap(axis_size: int, in_batched: list[bool], values: jax.Array):
    # Materialise the whole batch with one unbatched predicate: a batched one would turn the
    # conditional into a select, which XLA fuses.
    del axis_size
    return materialize(values), in_batched[0]


def stable_argsort(values: jax.Array, axis: int = -1) -> jax.Array:
    """``jnp.argsort(values, axis=axis, stable=True)`` for NaN-free floating-point ``values``,
    without a sort when the axis is short.

    XLA:CPU sorts small arrays with a comparator call per comparison and one sort per column of a
    batch. Up to ``SMALL_SORT`` elements, the ranks are counted
    from all pairwise comparisons instead (ties broken by index, as a stable sort does): elementwise
    work that XLA fuses into one loop, giving the same permutation.
    """
    axis = axis % values.ndim
    length = values.shape[axis]
    if length > SMALL_SORT:
        return jnp.argsort(values, axis=axis, stable=True)
    # Materialise ``values`` first: otherwise XLA fuses their producer (often a PRNG kernel) into
    # the comparisons below and recomputes it for every pair.
    values = materialize(values)
    # The compared element k gets its own axis right after ``axis`` (which holds i), so that the
    # sums below run over a non-minor axis when ``axis`` is not the last one: vector work over the
    # trailing axis, rather than a transposed copy and short sequential sums.
    v_i = jnp.expand_dims(values, axis + 1)
    v_k = jnp.expand_dims(values, axis)
    i_index, k_index = _pair_indices(values.ndim, axis, length)
    # rank[i] = #{k: v_k < v_i} + #{k < i: v_k == v_i}: where element i lands in sorted order.
    before = (v_k < v_i) | ((v_k == v_i) & (k_index < i_index))
    rank = jnp.sum(before, axis=axis + 1, dtype=jnp.int32)
    # order[r] = the i whose rank is r.
    return inverse_permutation(rank, axis)


def _pair_indices(ndim: int, axis: int, length: int) -> tuple[jax.Array, jax.Array]:
    """Index grids for all pairs along ``axis`` of an ``ndim``-array: the first index on ``axis``,
    the second on a new axis inserted right after it (size 1 on every other axis)."""
    shape = [1] * (ndim + 1)
    shape[axis], shape[axis + 1] = length, length
    return (jax.lax.broadcasted_iota(jnp.int32, shape, axis),
            jax.lax.broadcasted_iota(jnp.int32, shape, axis + 1))


def inverse_permutation(permutation: jax.Array, axis: int = -1) -> jax.Array:
    """``inverse[permutation[i]] = i`` for a permutation of ``0..n-1`` along ``axis``, by a
    scatter-free comparison (fused elementwise work, fast for the small n of CoSyNE's rankings)."""
    axis = axis % permutation.ndim
    # r: the output position (at ``axis``); i: the input position (on the axis inserted after it).
    r_index, i_index = _pair_indices(permutation.ndim, axis, permutation.shape[axis])
    hits = jnp.expand_dims(permutation, axis) == r_index
    return jnp.sum(jnp.where(hits, i_index, 0), axis=axis + 1, dtype=jnp.int32)


def take_rows(values: jax.Array, rows: jax.Array) -> jax.Array:
    """``values[rows]`` for a short leading axis, as a chain of selects (exact, like a gather).

    XLA:CPU gathers element by element with index arithmetic per element; for the few rows of a
    small population a fused chain of ``where`` over the candidate rows is several times faster.
    """
    expand = (slice(None),) * rows.ndim + (None,) * (values.ndim - 1)
    return take_along_rows(values, jnp.broadcast_to(rows[expand], rows.shape + values.shape[1:]))


def take_along_rows(values: jax.Array, indices: jax.Array) -> jax.Array:
    """``jnp.take_along_axis(values, indices, axis=0)`` for a short leading axis, as a chain of
    selects: ``out[i, j] = values[indices[i, j], j]`` (see :func:`take_rows`)."""
    chosen = jnp.broadcast_to(values[0], indices.shape)
    for row in range(1, values.shape[0]):
        chosen = jnp.where(indices == row, values[row], chosen)
    return chosen


def sparse_cauchy(key: jax.Array, where: jax.Array, scale: jax.Array | float = 1.0) -> jax.Array:
    """``jnp.where(where, scale * jax.random.cauchy(key, where.shape), 0.0)``, bit for bit, faster.

    ``jax.random.cauchy`` is ``tan(pi * (u - 1/2))`` with ``u ~ U[eps, 1)``. XLA:CPU evaluates
    ``tan`` with a scalar library call per element, although only a few genes mutate. Here
    ``tan`` sees ``0`` wherever no gene mutates (the library's fast path), and the same argument
    as ``jax.random.cauchy`` where one does, so the mutated genes get the same bits.
    """
    dtype = jnp.result_type(float)
    u = jax.random.uniform(key, where.shape, dtype, minval=jnp.finfo(dtype).eps, maxval=1.0)
    angle = jax.lax.mul(jnp.asarray(jnp.pi, dtype), jax.lax.sub(u, jnp.asarray(0.5, dtype)))
    return jnp.where(where, scale * jax.lax.tan(jnp.where(where, angle, 0.0)), 0.0)
