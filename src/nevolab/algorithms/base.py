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

The shared skeleton is :class:`PopulationAlgorithm`: its ``tell`` sanitises the fitness (the one
place a generation's fitness is sanitised), updates the best-ever individual, computes the
generation's metrics, lets the subclass update its population (``_tell``) and advances the
generation counter, in that order.

``metrics`` always holds at least ``best_fitness`` (the running minimum), ``min_fitness``,
``mean_fitness`` and ``max_fitness`` of the generation, and ``num_evaluations`` (network
evaluations spent in the generation).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct


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


class PopulationAlgorithm:
    """evosax's ``init/ask/tell`` with one ``tell`` skeleton; subclasses write ``_tell`` (and may
    extend ``_metrics``). Structural choices are attributes fixed at construction, so ``jit`` can
    treat an algorithm as static."""

    population_size: int

    def tell(self, key: jax.Array, population: jax.Array, fitness: jax.Array, state: PopulationState,
             params: Any) -> tuple[PopulationState, dict[str, jax.Array]]:
        """Sanitise → update the best → metrics → the algorithm's own update → count the generation."""
        fitness = sanitize_fitness(fitness)
        state = update_best(state, population, fitness)
        metrics = self._metrics(state, fitness)
        state = self._tell(key, population, fitness, state, params)
        return state.replace(generation_counter=state.generation_counter + 1), metrics

    def _metrics(self, state: PopulationState, fitness: jax.Array) -> dict[str, jax.Array]:
        """The generation's metrics (``state`` has the best updated; ``fitness`` is sanitised)."""
        return generation_metrics(state, fitness, self.population_size)

    def _tell(self, key: jax.Array, population: jax.Array, fitness: jax.Array, state: PopulationState,
              params: Any) -> PopulationState:
        """The algorithm's own update of the population from its sanitised ``fitness``."""
        raise NotImplementedError
