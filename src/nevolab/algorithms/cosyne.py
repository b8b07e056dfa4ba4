"""CoSyNE (Cooperative Synapse NeuroEvolution; Gomez, Schmidhuber & Miikkulainen 2008), as the
Study A paper's code implements it, in evosax's population-based ``init/ask/tell`` shape.

The population is a (population_size, num_dims) matrix; each column is one weight's
sub-population. Every generation:

1. the whole population is evaluated (on the current batch);
2. the ``children`` worst rows are overwritten, in pairs, by uniform crossover of two parents drawn
   with replacement from the best quarter (each child of a pair gets its own crossover mask);
3. each gene of a child is mutated with probability ``mutation_prob`` by Cauchy(0, gamma) noise;
4. every column of the surviving rows is shuffled independently (CoSyNE's permutation step; the
   paper's code uses the plain random shuffle, with no probabilistic marking).

The original code addresses steps 3 and 4 by *physical index* although the children were written
into the worst-ranked rows wherever they sit. These two quirks (:data:`QUIRKS`) can be switched on
one at a time with ``quirks``, or both with ``faithful=True``:

* ``cosyne_mutates_by_index``: the mutation hits the last ``children`` rows, not the children;
* ``cosyne_permutes_by_index``: the shuffle covers the first ``population_size - children`` rows,
  not the survivors.

The default mutates the children and shuffles the survivors.
"""

from __future__ import annotations

from collections.abc import Iterable

import jax
import jax.numpy as jnp
from flax import struct

from nevolab.algorithms.base import (
    PopulationAlgorithm,
    PopulationState,
    init_population_state,
)
from nevolab.algorithms.quirks import resolve_quirks
from nevolab.xla import (
    inverse_permutation,
    materialize,
    sparse_cauchy,
    stable_argsort,
    take_along_rows,
    take_rows,
)

QUIRKS = ("cosyne_mutates_by_index", "cosyne_permutes_by_index")


@struct.dataclass
class CoSyNEParams:
    mutation_prob: float = 0.05
    gamma: float = 0.25  # scale of the Cauchy mutation


class CoSyNE(PopulationAlgorithm):
    """CoSyNE with uniform crossover, Cauchy mutation and per-column permutation."""

    def __init__(self, population_size: int, num_dims: int, children: int, faithful: bool = False,
                 quirks: Iterable[str] = ()):
        if population_size < 2:
            raise ValueError(f"population_size must be at least 2 for CoSyNE; got {population_size}")
        if children < 2 or children % 2 or children >= population_size:
            raise ValueError(
                f"children must be even, at least 2 and below population_size ({population_size}); "
                f"got {children}"
            )
        self.population_size = population_size
        self.num_dims = num_dims
        self.children = children
        self.quirks = resolve_quirks(QUIRKS, faithful, quirks)
        self.faithful = self.quirks == frozenset(QUIRKS)
        self.num_parents = max(1, int(0.25 * population_size))

    @property
    def default_params(self) -> CoSyNEParams:
        return CoSyNEParams()

    def init(self, key: jax.Array, population: jax.Array, fitness: jax.Array,
             params: CoSyNEParams) -> PopulationState:
        """Start from an initial population; ``fitness`` may be +inf (not evaluated yet)."""
        del key, params
        return init_population_state(population, fitness)

    def ask(self, key: jax.Array, state: PopulationState, params: CoSyNEParams
            ) -> tuple[jax.Array, PopulationState]:
        """CoSyNE evaluates its whole population every generation."""
        del key, params
        return state.population, state

    def _tell(self, key: jax.Array, population: jax.Array, fitness: jax.Array, state: PopulationState,
              params: CoSyNEParams) -> PopulationState:
        """Rank, recombine into the worst rows, mutate, permute."""
        key_parents, key_mask, key_mutate_where, key_noise, key_permute = jax.random.split(key, 5)
        ranking = stable_argsort(fitness)  # best first
        num_pairs = self.children // 2
        # Parents: two per pair, uniformly with replacement from the best quarter.
        parent_ranks = jax.random.randint(key_parents, (num_pairs, 2), 0, self.num_parents)
        parents = take_rows(population, ranking[parent_ranks])  # (pairs, 2, dims)
        take_first = jax.random.bernoulli(key_mask, 0.5, (num_pairs, 2, self.num_dims))
        offspring = jnp.where(take_first, parents[:, :1, :], parents[:, 1:, :])
        offspring = offspring.reshape(self.children, self.num_dims)
        # The original writes pair (sorted[i], sorted[i-1]) for i = -(children-1), ..., -1.
        child_rows = ranking[self.population_size - self.children:]

        mutate = jax.random.bernoulli(key_mutate_where, params.mutation_prob, (self.children, self.num_dims))
        noise = sparse_cauchy(key_noise, mutate, params.gamma)
        # Independent permutation of every column over the surviving rows.
        num_survivors = self.population_size - self.children
        scores = jax.random.uniform(key_permute, (num_survivors, self.num_dims))
        permutation = stable_argsort(scores, axis=0)

        if self.quirks:
            # Row by row, as the original: with both quirks these are exactly its operations.
            population = population.at[child_rows].set(offspring)
            by_index = "cosyne_mutates_by_index" in self.quirks
            mutated_rows = jnp.arange(num_survivors, self.population_size) if by_index else child_rows
            population = population.at[mutated_rows].add(noise)
            by_index = "cosyne_permutes_by_index" in self.quirks
            survivor_rows = jnp.arange(num_survivors) if by_index else ranking[:num_survivors]
            shuffled = jnp.take_along_axis(population[survivor_rows], permutation, axis=0)
            population = population.at[survivor_rows].set(shuffled)
        else:
            # Survivors are the best-ranked rows and children the rest, so the new population in
            # rank order is [shuffled survivors; mutated children]: one gather by each row's rank
            # puts it back in place (three scatters did the same, more slowly).
            survivors = take_rows(population, ranking[:num_survivors])
            shuffled = take_along_rows(survivors, permutation)
            # Materialised: fused into the gather, the mutation's PRNG and tan were recomputed per row.
            in_rank_order = materialize(jnp.concatenate([shuffled, offspring + noise]))
            population = take_rows(in_rank_order, inverse_permutation(ranking))

        # Fitness of the new rows is unknown until the next evaluation.
        return state.replace(population=population, fitness=jnp.full_like(fitness, jnp.inf))
