"""The Deep GA (Such et al. 2017) as the low-rank paper uses it, in evosax's ``init/ask/tell`` shape,
with Such et al.'s compact seed-list genomes.

Every generation (Jevo.jl: ``TruncationSelector(k)`` -> ``CloneUniformReproducer(N)`` ->
``NBackMutator``):

1. the whole population is evaluated -- the ``num_elites`` survivors of the last generation too
   (they are re-evaluated, as in the original, although on fixed data their loss does not change);
2. truncation: the ``num_elites`` best individuals survive **unmutated** (rows ``0..k-1``);
3. the other ``N - k`` rows are clones of survivors chosen uniformly with replacement, and every
   clone gets one Gaussian mutation of all its genes, ``child = parent + mutation_scales * eps``,
   with the per-gene ``mutation_scales`` of :mod:`nevolab.lowrank` (zero for layer norms);
4. no crossover.

**Seed lists.** Each individual carries the PRNG keys that made it: the key of its initial genotype
followed by one key per mutation in its ancestry, in a fixed-size ``(max_generations + 1, 2)`` uint32
array plus a length. :func:`rebuild_from_seeds` replays them and reproduces the live genotype bit for
bit (the tests check it), so a genome can be stored or shipped as ``8 * length`` bytes instead of
``4 * num_dims``. The live population stays a dense
(population_size, num_dims) array: replaying seed lists every generation would cost
``O(generations)`` per individual for nothing on one device.

The state also records each row's parent (``parent_index``, ``parent_fitness``), so the next
``tell`` reports the fitness effect of the mutations it evaluated (``mean_mutation_effect``,
``deleterious_fraction``; NaN in the first generation, which has no parents).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from nevolab.algorithms.base import (
    PopulationAlgorithm,
    PopulationState,
    generation_metrics,
    init_population_state,
)

__all__ = ["DeepGA", "DeepGAParams", "DeepGAState", "mutation_delta", "rebuild_from_seeds"]

KEY_SHAPE = (2,)  # a raw threefry key: two uint32 words


@struct.dataclass
class DeepGAParams:
    mutation_multiplier: float = 1.0  # multiplies every per-gene mutation scale (1.0: the paper's)


@struct.dataclass
class DeepGAState(PopulationState):
    """The shared population state, plus each member's seed list and its parent."""

    seeds: jax.Array  # (N, max_generations + 1, 2) uint32: init key, then one key per mutation
    seed_length: jax.Array  # (N,) int32: used entries of ``seeds`` (0: ancestry not tracked)
    parent_index: jax.Array  # (N,) int32: row of the parent in the previous population (-1 at init)
    parent_fitness: jax.Array  # (N,) the parent's fitness when it was selected (+inf at init)
    is_elite: jax.Array  # (N,) bool: survived unmutated from the previous generation


def raw_key(key: jax.Array) -> jax.Array:
    """A raw uint32 (2,) threefry key, whether ``key`` is a typed key or already raw."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    if key.shape != KEY_SHAPE:
        raise ValueError(f"expected a threefry key of shape {KEY_SHAPE}; got shape {key.shape}")
    return key.astype(jnp.uint32)


def mutation_delta(key: jax.Array, mutation_scales: jax.Array) -> jax.Array:
    """``mutation_scales * N(0, 1)`` drawn from ``key``.

    Both optimization barriers are needed for the seed-list replay to be bit-identical: without the
    first, XLA folds a constant ``mutation_scales`` into the constant ``sqrt(2)`` inside
    ``jax.random.normal`` (``c1 * (c2 * x) -> (c1 * c2) * x``), which rounds differently in programs
    where the scales are constants (the GA) and where they are arguments (a replay); the second keeps
    the product out of an FMA with the following add.
    """
    noise = jax.lax.optimization_barrier(jax.random.normal(key, mutation_scales.shape, mutation_scales.dtype))
    return jax.lax.optimization_barrier(mutation_scales * noise)


def rebuild_from_seeds(seeds: jax.Array, length: int | jax.Array, init_fn: Callable[[jax.Array], jax.Array],
                       mutation_scales: jax.Array) -> jax.Array:
    """Replay a seed list: ``init_fn(seeds[0])`` plus one mutation per following key.

    ``mutation_scales`` must be the scales the GA used (times ``params.mutation_multiplier`` if that
    was not 1). Jittable; with a concrete ``length`` it is validated first.
    """
    seeds = jnp.asarray(seeds)
    if seeds.ndim != 2 or seeds.shape[1:] != KEY_SHAPE:
        raise ValueError(f"seeds must have shape (capacity, 2); got {seeds.shape}")
    try:
        concrete = int(length)
    except (TypeError, jax.errors.ConcretizationTypeError):
        concrete = None
    if concrete is not None and not 1 <= concrete <= seeds.shape[0]:
        raise ValueError(
            f"length must be in [1, {seeds.shape[0]}] for a seed list of capacity {seeds.shape[0]}; "
            f"got {concrete} (0: the ancestry was not tracked; above capacity: the list overflowed, "
            "raise max_generations)"
        )
    scales = jnp.asarray(mutation_scales)
    genotype = init_fn(seeds[0].astype(jnp.uint32))
    return jax.lax.fori_loop(
        1, length, lambda i, g: g + mutation_delta(seeds[i].astype(jnp.uint32), scales), genotype
    )


class DeepGA(PopulationAlgorithm):
    """Truncation selection, unmutated elites, uniform cloning, per-gene Gaussian mutation."""

    def __init__(self, population_size: int, num_dims: int, num_elites: int, mutation_scales: jax.Array,
                 max_generations: int = 1000):
        if population_size < 2:
            raise ValueError(f"population_size must be at least 2; got {population_size}")
        if not 1 <= num_elites < population_size:
            raise ValueError(
                f"num_elites must be in [1, {population_size - 1}] (below population_size="
                f"{population_size}, or no child would be made); got {num_elites}"
            )
        scales = np.asarray(mutation_scales, dtype=np.float32)
        if scales.shape != (num_dims,):
            raise ValueError(
                f"mutation_scales must have shape (num_dims,) = ({num_dims},); got {scales.shape}"
            )
        if not np.all(np.isfinite(scales)) or np.any(scales < 0):
            raise ValueError("mutation_scales must be finite and non-negative")
        if max_generations < 0:
            raise ValueError(f"max_generations must be non-negative; got {max_generations}")
        self.population_size = population_size
        self.num_dims = num_dims
        self.num_elites = num_elites
        self.mutation_scales = scales
        self.max_generations = max_generations

    @property
    def default_params(self) -> DeepGAParams:
        return DeepGAParams()

    def sample_initial(self, key: jax.Array, init_fn: Callable[[jax.Array], jax.Array]
                       ) -> tuple[jax.Array, jax.Array]:
        """An initial population from ``init_fn`` and the keys that made it: ``(population, init_keys)``."""
        init_keys = jax.random.split(raw_key(key), self.population_size)
        return jax.vmap(init_fn)(init_keys), init_keys

    def init(self, key: jax.Array, population: jax.Array, fitness: jax.Array, params: DeepGAParams,
             init_keys: jax.Array | None = None) -> DeepGAState:
        """Start from an (optionally evaluated, else +inf) population. Pass the ``init_keys`` that
        generated it (see :meth:`sample_initial`) to track seed lists; without them lengths are 0."""
        del key, params
        n = self.population_size
        seeds = jnp.zeros((n, self.max_generations + 1, 2), jnp.uint32)
        if init_keys is None:
            length = jnp.zeros((n,), jnp.int32)
        else:
            seeds = seeds.at[:, 0].set(jnp.asarray(init_keys, jnp.uint32))
            length = jnp.ones((n,), jnp.int32)
        base = init_population_state(population, fitness)
        return DeepGAState(
            population=base.population,
            fitness=base.fitness,
            best_solution=base.best_solution,
            best_fitness=base.best_fitness,
            generation_counter=base.generation_counter,
            seeds=seeds,
            seed_length=length,
            parent_index=jnp.full((n,), -1, jnp.int32),
            parent_fitness=jnp.full((n,), jnp.inf, base.fitness.dtype),
            is_elite=jnp.zeros((n,), bool),
        )

    def ask(self, key: jax.Array, state: DeepGAState, params: DeepGAParams) -> tuple[jax.Array, DeepGAState]:
        """Everyone is evaluated, the unmutated elites included."""
        del key, params
        return state.population, state

    def _metrics(self, state: DeepGAState, fitness: jax.Array) -> dict[str, jax.Array]:
        return {**generation_metrics(state, fitness, self.population_size),
                **self._mutation_effects(fitness, state)}

    def _tell(self, key: jax.Array, population: jax.Array, fitness: jax.Array, state: DeepGAState,
              params: DeepGAParams) -> DeepGAState:
        """Truncate to the elites, refill with mutated uniform clones of them."""
        n, k = self.population_size, self.num_elites

        key_parents, key_mutation = jax.random.split(raw_key(key))
        elites = jnp.argsort(fitness, stable=True)[:k]
        chosen = elites[jax.random.randint(key_parents, (n - k,), 0, k)]
        parent_rows = jnp.concatenate([elites, chosen])

        mutation_keys = jax.random.split(key_mutation, n - k)  # raw (n - k, 2) uint32
        scales = params.mutation_multiplier * jnp.asarray(self.mutation_scales)
        deltas = jax.vmap(mutation_delta, in_axes=(0, None))(mutation_keys, scales)
        new_population = jnp.concatenate([population[elites], population[chosen] + deltas])

        # Seed lists: elites keep theirs; each child appends its mutation key to its parent's list.
        seeds = state.seeds[parent_rows]
        length = state.seed_length[parent_rows]
        child_rows = jnp.arange(k, n)
        tracked = length[k:] > 0
        slot = jnp.where(tracked, length[k:], seeds.shape[1])  # untracked or full: out of range, dropped
        seeds = seeds.at[child_rows, slot].set(mutation_keys, mode="drop")
        length = length.at[k:].add(tracked.astype(jnp.int32))

        return state.replace(
            population=new_population,
            fitness=jnp.concatenate([fitness[elites], jnp.full((n - k,), jnp.inf, fitness.dtype)]),
            seeds=seeds,
            seed_length=length,
            parent_index=parent_rows.astype(jnp.int32),
            parent_fitness=fitness[parent_rows],
            is_elite=jnp.arange(n) < k,
        )

    def _mutation_effects(self, fitness: jax.Array, state: DeepGAState) -> dict[str, jax.Array]:
        """Every row's loss (``child_loss``) and its change against its parent (``child_effect``,
        positive = deleterious; NaN for the unmutated elites and before the first selection), the
        seed-list length of the generation's best row, and the generation's mean effect and
        deleterious fraction over the children whose loss and parent's loss are finite.
        ``fitness`` is sanitised; ``state`` is the state the generation was asked from."""
        mutated = ~state.is_elite & jnp.isfinite(state.parent_fitness)
        child_effect = jnp.where(mutated, fitness - state.parent_fitness, jnp.nan)
        valid = jnp.isfinite(child_effect)
        effect = jnp.where(valid, child_effect, 0.0)
        count = jnp.sum(valid)
        nan = jnp.asarray(jnp.nan, fitness.dtype)
        return {
            "child_loss": fitness,
            "child_effect": child_effect,
            "best_seed_length": state.seed_length[jnp.argmin(fitness)],
            "mean_mutation_effect": jnp.where(count > 0, jnp.sum(effect) / jnp.maximum(count, 1), nan),
            "deleterious_fraction": jnp.where(
                count > 0, jnp.sum(valid & (effect > 0)) / jnp.maximum(count, 1), nan
            ),
        }
