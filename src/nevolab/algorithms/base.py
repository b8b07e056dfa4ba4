"""What every hand-written algorithm in NevoLab shares with evosax.

evosax's population-based algorithms have the shape::

    state = algo.init(key, population, fitness, params)
    population, state = algo.ask(key, state, params)
    state, metrics = algo.tell(key, population, fitness, state, params)

with a frozen ``params`` struct (``algo.default_params``) for the tunable numbers and the
structural choices (population size, genotype length, variant names) fixed at construction, so
that ``jit`` can treat ``algo`` as static. Everything minimises. NevoLab's algorithms keep that
shape; the few that evaluate individuals one at a time (the original DE's asynchronous sweep)
additionally expose ``step(key, state, params, fitness_fn)``, which the run loop prefers when present.

``metrics`` always holds at least ``best_fitness`` (the running minimum), ``min_fitness``,
``mean_fitness`` and ``max_fitness`` of the generation, and ``num_evaluations`` (network
evaluations spent in the generation).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

# Longest axis that stable_argsort ranks by pairwise comparisons (n^2 work) rather than by sorting.
SMALL_SORT = 32


@struct.dataclass
class PopulationState:
    """The state shared by NevoLab's population-based algorithms."""

    population: jax.Array  # (population_size, num_dims)
    fitness: jax.Array  # (population_size,), +inf where not evaluated yet
    best_solution: jax.Array  # (num_dims,)
    best_fitness: jax.Array  # ()
    generation_counter: jax.Array  # ()


def sanitize_fitness(fitness: jax.Array) -> jax.Array:
    """NaN and +-inf losses become +inf: the worst value for a minimiser, and ranked last."""
    return jnp.where(jnp.isfinite(fitness), fitness, jnp.inf)


def init_population_state(population: jax.Array, fitness: jax.Array) -> PopulationState:
    """A state for an (optionally evaluated) initial population."""
    fitness = sanitize_fitness(fitness)
    best = jnp.argmin(fitness)
    return PopulationState(
        population=population,
        fitness=fitness,
        best_solution=population[best],
        best_fitness=fitness[best],
        generation_counter=jnp.zeros((), jnp.int32),
    )


def update_best(state: PopulationState, population: jax.Array, fitness: jax.Array) -> PopulationState:
    """Track the best individual ever evaluated."""
    best = jnp.argmin(fitness)
    improved = fitness[best] < state.best_fitness
    return state.replace(
        best_solution=jnp.where(improved, population[best], state.best_solution),
        best_fitness=jnp.where(improved, fitness[best], state.best_fitness),
    )


def generation_metrics(state: PopulationState, fitness: jax.Array, num_evaluations: int | jax.Array
                       ) -> dict[str, jax.Array]:
    """The metrics every algorithm reports for one generation (``fitness`` already sanitized)."""
    finite = jnp.isfinite(fitness)
    mean = jnp.sum(jnp.where(finite, fitness, 0.0)) / jnp.maximum(jnp.sum(finite), 1)
    return {
        "best_fitness": state.best_fitness,
        "min_fitness": jnp.min(fitness),
        "mean_fitness": jnp.where(jnp.any(finite), mean, jnp.inf),
        "max_fitness": jnp.max(fitness),
        "num_evaluations": jnp.asarray(num_evaluations, jnp.int32),
    }


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

    XLA:CPU sorts small arrays slowly (a comparator call per comparison, one sort per column of a
    batch), which dominated whole CoSyNE runs. Up to ``SMALL_SORT`` elements, the ranks are counted
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
    ``tan`` with a scalar library call per element (~18 ns, against ~2 ns for ``exp``), which made
    CoSyNE's Cauchy mutation the costliest kernel of a run although only a few genes mutate. Here
    ``tan`` sees ``0`` wherever no gene mutates (the library's fast path), and the same argument
    as ``jax.random.cauchy`` where one does, so the mutated genes get the same bits.
    """
    dtype = jnp.result_type(float)
    u = jax.random.uniform(key, where.shape, dtype, minval=jnp.finfo(dtype).eps, maxval=1.0)
    angle = jax.lax.mul(jnp.asarray(jnp.pi, dtype), jax.lax.sub(u, jnp.asarray(0.5, dtype)))
    return jnp.where(where, scale * jax.lax.tan(jnp.where(where, angle, 0.0)), 0.0)
