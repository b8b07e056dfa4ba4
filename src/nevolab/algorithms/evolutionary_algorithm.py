"""The Study A paper's (mu, rho, lambda) evolutionary algorithm (Gobbi & Konotopska, ``src/ea.py``),
in evosax's population-based ``init/ask/tell`` shape.

lambda = ``population_size`` individuals are evaluated every generation (on the current batch), then:

1. **selection** of a parent pool of mu = ``max(1, int(population_size * best_rate))`` individuals:

   * ``"truncation"``: the mu best;
   * ``"rank"``: mu draws *without repetition*, the r-th best (r = 1..n) with weight
     1 - r / (n (n + 1) / 2), as the original;
   * ``"fitness_proportional"``: mu draws without repetition, weights below;
   * ``"none"``: no selection, the whole population is the pool (and elitism is off).

2. **elitism** (only when selection is on, as the original): the best individual ever evaluated
   overwrites the last slot of the pool. It is mutated like everyone else afterwards.
3. **recombination**: each of the lambda children is a left fold over rho = ``num_parents`` parents
   drawn uniformly with replacement from the pool, ``child = op(...op(op(p1, p2), p3)..., p_rho)``:

   * ``"uniform"``: each gene from either side with probability 1/2;
   * ``"single_point"``: genes before a uniform cut point j in [0, num_dims) from the left side, the
     rest from the right (j = 0 gives the right side whole, as the original);
   * ``"arithmetic"``: the mean of the two sides; folded, so for rho > 2 later parents weigh more
     (p3 gets 1/2, p1 and p2 1/4 each) -- the original's behaviour, kept;
   * ``"none"``: each child is a copy of one uniformly drawn pool member.

4. **mutation**: an individual is mutated with probability ``mutation_prob``; a mutated individual
   gets N(0, sigma^2) noise on *all* genes.
5. **comma replacement**: the children are the next population; the old one is discarded.

The original code has two quirks (:data:`QUIRKS`), switched on one at a time with ``quirks`` or
both with ``faithful=True``:

* ``ea_mutation_prob_inverted``: mutation happens with probability **1 - mutation_prob** (it samples
  ``Categorical([p, 1 - p]) > 0.5``), so the paper's tabulated ``mutation_prob`` values are really
  "probability of *not* being mutated";
* ``ea_fitness_selection_prefers_high_loss``: fitness-proportional selection weights are the raw
  **losses** (``w_i = loss_i``), so it favours the *worse* individuals (inert under the other
  selection methods).

By default fitness-proportional selection minimises: ``w_i = (max_loss - loss_i) + eps`` with
``eps = 1e-3 (max_loss - min_loss) + 1e-12`` ("windowing"). We chose it over ``1 / loss`` because it
is invariant to shifting and scaling the loss (``1 / loss`` depends on the loss's arbitrary offset and
is undefined for losses <= 0, e.g. negated rewards), the ``eps`` term keeps the worst individual
selectable, and an all-equal population is sampled uniformly. Non-finite losses get weight 0 in both
modes.
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
from nevolab.xla import materialize, stable_argsort

QUIRKS = ("ea_mutation_prob_inverted", "ea_fitness_selection_prefers_high_loss")
SELECTIONS = ("truncation", "fitness_proportional", "rank", "none")
CROSSOVERS = ("none", "single_point", "uniform", "arithmetic")


@struct.dataclass
class EAParams:
    mutation_prob: float = 0.2  # probability that an individual is mutated (1 - this, inverted quirk)
    sigma: float = 0.1  # std of the Gaussian mutation


# The crossover operators take pre-drawn U[0, 1) numbers instead of a key: drawing a whole
# generation's randomness in a few bulk PRNG calls keeps XLA's CPU compile time down (each separate
# threefry call costs seconds to compile).


def uniform_crossover(left: jax.Array, right: jax.Array, uniforms: jax.Array) -> jax.Array:
    """Each gene from ``left`` or ``right`` with probability 1/2 (``uniforms``: one per gene)."""
    return jnp.where(uniforms < 0.5, left, right)


def single_point_crossover(left: jax.Array, right: jax.Array, uniforms: jax.Array) -> jax.Array:
    """``left[:j]`` followed by ``right[j:]``, for a cut point ``j`` uniform in ``[0, num_dims)`` made
    from ``uniforms[0]``."""
    num_dims = left.shape[-1]
    cut = jnp.minimum((uniforms[0] * num_dims).astype(jnp.int32), num_dims - 1)
    return jnp.where(jnp.arange(num_dims) < cut, left, right)


def arithmetic_crossover(left: jax.Array, right: jax.Array, uniforms: jax.Array) -> jax.Array:
    """The mean of the two sides (``uniforms`` unused; kept for a common signature)."""
    del uniforms
    return (left + right) / 2


_CROSSOVER_OPS = {
    "uniform": uniform_crossover,
    "single_point": single_point_crossover,
    "arithmetic": arithmetic_crossover,
}


def fold_crossover(parents: jax.Array, uniforms: jax.Array, method: str) -> jax.Array:
    """Left fold of a binary crossover over ``parents`` (rho, num_dims), as the original:
    ``op(...op(op(p1, p2), p3)..., p_rho)``; ``uniforms`` (rho - 1, num_dims) feed the rho - 1 steps."""
    if method not in _CROSSOVER_OPS:
        raise ValueError(f"crossover must be one of {tuple(_CROSSOVER_OPS)} here; got {method!r}")
    op = _CROSSOVER_OPS[method]
    child = parents[0]
    for index in range(1, parents.shape[0]):  # rho is static and small
        child = op(child, parents[index], uniforms[index - 1])
    return child


def selection_weights(fitness: jax.Array, faithful: bool) -> jax.Array:
    """Fitness-proportional selection weights (unnormalised); ``faithful``: the original's, which
    prefer high loss (see the module docstring)."""
    finite = jnp.isfinite(fitness)
    if faithful:
        # The original: probability proportional to the loss itself (worse is likelier). Losses are
        # MSE / cross-entropy, >= 0; clip anything negative so the weights stay valid.
        weights = jnp.maximum(fitness, 0.0)
    else:
        worst = jnp.max(jnp.where(finite, fitness, -jnp.inf))
        best = jnp.min(jnp.where(finite, fitness, jnp.inf))
        weights = (worst - fitness) + 1e-3 * (worst - best) + 1e-12
    return jnp.where(finite, weights, 0.0)


def sample_without_replacement(key: jax.Array, weights: jax.Array, num: int) -> jax.Array:
    """``num`` indices drawn one after another without repetition, each with probability
    proportional to ``weights`` among those not drawn yet (Gumbel-top-k), in draw order."""
    gumbel = jax.random.gumbel(key, weights.shape)
    scores = jnp.where(weights > 0, jnp.log(jnp.where(weights > 0, weights, 1.0)) + gumbel, -jnp.inf)
    return jax.lax.top_k(scores, num)[1]


class MuRhoLambdaEA(PopulationAlgorithm):
    """(mu, rho, lambda)-EA with selection, elitism, folded crossover and Gaussian mutation."""

    def __init__(self, population_size: int, num_dims: int, best_rate: float, num_parents: int,
                 selection: str, crossover: str, elitism: bool, faithful: bool = False,
                 quirks: Iterable[str] = ()):
        if selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {SELECTIONS}; got {selection!r}")
        if crossover not in CROSSOVERS:
            raise ValueError(f"crossover must be one of {CROSSOVERS}; got {crossover!r}")
        if population_size < 2:
            raise ValueError(f"population_size must be at least 2; got {population_size}")
        if num_dims < 1:
            raise ValueError(f"num_dims must be at least 1; got {num_dims}")
        if not 0.0 < best_rate <= 1.0:
            raise ValueError(f"best_rate must be in (0, 1]; got {best_rate}")
        if num_parents < 1:
            raise ValueError(f"num_parents (rho) must be at least 1; got {num_parents}")
        self.population_size = population_size
        self.num_dims = num_dims
        self.best_rate = best_rate
        self.num_parents = num_parents
        self.selection = selection
        self.crossover = crossover
        self.elitism = elitism
        self.quirks = resolve_quirks(QUIRKS, faithful, quirks)
        self.faithful = self.quirks == frozenset(QUIRKS)
        # mu exactly as the original computes it.
        self.num_selected = max(1, int(population_size * best_rate))

    @property
    def default_params(self) -> EAParams:
        return EAParams()

    @property
    def pool_size(self) -> int:
        """Size of the parent pool: mu with selection, lambda without."""
        return self.population_size if self.selection == "none" else self.num_selected

    def init(self, key: jax.Array, population: jax.Array, fitness: jax.Array, params: EAParams
             ) -> PopulationState:
        """Start from an initial population; ``fitness`` may be +inf (not evaluated yet)."""
        del key, params
        return init_population_state(population, fitness)

    def ask(self, key: jax.Array, state: PopulationState, params: EAParams
            ) -> tuple[jax.Array, PopulationState]:
        """The whole population is evaluated every generation."""
        del key, params
        return state.population, state

    def select(self, key: jax.Array, population: jax.Array, fitness: jax.Array,
               best_solution: jax.Array) -> jax.Array:
        """The parent pool, ``(pool_size, num_dims)``; ``fitness`` already sanitized."""
        if self.selection == "none":
            return population
        mu = self.num_selected
        ranking = stable_argsort(fitness)  # best first
        if self.selection == "truncation":
            chosen = ranking[:mu]
        elif self.selection == "rank":
            n = self.population_size
            ranks = jnp.arange(1, n + 1, dtype=jnp.float32)
            chosen = ranking[sample_without_replacement(key, 1.0 - ranks / (n * (n + 1) / 2), mu)]
        else:  # fitness_proportional
            prefer_high_loss = "ea_fitness_selection_prefers_high_loss" in self.quirks
            chosen = sample_without_replacement(key, selection_weights(fitness, prefer_high_loss), mu)
        pool = population[chosen]
        if self.elitism:
            pool = pool.at[mu - 1].set(best_solution)
        return pool

    def recombine(self, key: jax.Array, pool: jax.Array) -> jax.Array:
        """lambda children from the pool, ``(population_size, num_dims)``."""
        pool_size = pool.shape[0]

        def pick(u: jax.Array) -> jax.Array:  # uniform pool index from U[0, 1)
            return jnp.minimum((u * pool_size).astype(jnp.int32), pool_size - 1)

        if self.crossover == "none":
            return pool[pick(jax.random.uniform(key, (self.population_size,)))]
        rho, dims = self.num_parents, self.num_dims
        # One bulk draw: rho parent picks, then (rho - 1) * num_dims numbers for the crossover steps.
        # Materialised, or XLA recomputes the PRNG for every gene that reads a shared cut point.
        uniforms = materialize(jax.random.uniform(key, (self.population_size, rho + (rho - 1) * dims)))
        parent_ids = pick(uniforms[:, :rho])
        step_uniforms = uniforms[:, rho:].reshape(self.population_size, rho - 1, dims)
        children = jax.vmap(lambda ids, u: fold_crossover(pool[ids], u, self.crossover))
        return children(parent_ids, step_uniforms)

    def mutate(self, key: jax.Array, population: jax.Array, params: EAParams) -> jax.Array:
        """Gaussian noise on all genes of each individual picked for mutation."""
        key_which, key_noise = jax.random.split(key)
        inverted = "ea_mutation_prob_inverted" in self.quirks
        probability = 1.0 - params.mutation_prob if inverted else params.mutation_prob
        # Both materialised: fused into the crossover's gather, each gene would recompute its row's
        # mutation draw and its own normal (two threefry calls and an erfinv per gene).
        mutated = materialize(jax.random.uniform(key_which, (population.shape[0],)) < probability)
        noise = materialize(params.sigma * jax.random.normal(key_noise, population.shape))
        return population + jnp.where(mutated[:, None], noise, 0.0)

    def _tell(self, key: jax.Array, population: jax.Array, fitness: jax.Array, state: PopulationState,
              params: EAParams) -> PopulationState:
        """Select, recombine, mutate; the children replace the population (comma strategy)."""
        key_select, key_recombine, key_mutate = jax.random.split(key, 3)
        pool = self.select(key_select, population, fitness, state.best_solution)
        children = self.mutate(key_mutate, self.recombine(key_recombine, pool), params)
        return state.replace(population=children, fitness=jnp.full_like(fitness, jnp.inf))
