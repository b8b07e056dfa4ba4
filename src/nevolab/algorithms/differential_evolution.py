"""Differential Evolution with binomial crossover, the six mutation variants of the Study A paper's
code (Gobbi & Konotopska, ``src/differential.py``), in evosax's population-based shape.

Every generation each target x_i gets a mutant v_i built by one of these variants (F is
``differential_weight``; a, b, c, d are distinct random members; ``best`` is the current best
member)::

    rand1        v = x_i  + F (a - b)                  # the base is the TARGET, not a random member
    rand2        v = x_i  + F (a - b + c - d)
    best1        v = best + F (a - b)
    best2        v = best + F (a - b + c - d)
    curtobest1   v = x_i  + F (best - x_i + a - b)
    randtobest2  v = a    + F (best - x_i + a - b + c - d)

The formulas are the original's in both modes (its ``rand1``/``rand2`` are not textbook DE/rand/k,
whose base is a random member; they are kept because they are what the paper evaluated). The
offspring is the binomial crossover of target and mutant: each gene comes from the mutant with
probability ``crossover_rate``, and one uniformly drawn gene (``j_rand``) always does. Replacement
is greedy and one-to-one: the offspring replaces its target when its loss is <= the target's.

Two modes:

* **default (corrected), synchronous.** All offspring are built from the current population
  (``best`` is the member with the lowest loss on the previous batch), then the targets are
  evaluated *again* together with the offspring on the same batch, so that the greedy comparison
  is fair under limited evaluation (one batch per generation: a stored loss from an earlier batch is
  not comparable with a fresh one). ``ask`` therefore returns the concatenation ``[targets;
  offspring]`` of shape ``(2 * population_size, num_dims)``, ``tell`` expects the losses of both,
  and ``num_evaluations`` is ``2 * population_size``. a, b, c, d are distinct and also differ from
  the target, except when the population is too small for that (``population_size == 4`` with a
  two-difference variant), where they are drawn from the whole population as in the original.
* **faithful=True**, the original's asynchronous in-place sweep: for i = 0..pop-1 the target is
  evaluated only if it never was (its loss is +inf in the state), the offspring is evaluated on the
  current batch and compared with the target's *stored* (possibly stale) loss, and an accepted
  offspring immediately becomes a donor for the following targets; the best index is updated in
  the sweep. a, b, c, d are distinct but drawn from the whole population, so they may include the
  target. This cannot be an ``ask``/``tell`` pair (they raise); use
  :meth:`DifferentialEvolution.step`, which works in both modes and which the run loop prefers.

The faithful mode is three quirks (:data:`QUIRKS`), which ``quirks`` switches on one at a time
(``faithful=True`` is all three):

* ``de_stale_fitness``: a target is evaluated only the first time it is seen; offspring are compared
  with its stored loss, from whatever batch set it (``population_size`` evaluations a generation
  instead of ``2 * population_size``);
* ``de_in_place_sweep``: the asynchronous sweep; an accepted offspring is a donor for the following
  targets at once, and ``best`` is a running best index updated during the sweep (without it the
  offspring are built from the generation's population and ``best`` is its lowest stored loss);
* ``de_donors_include_target``: a, b, c, d are drawn from the whole population, target included.

With either of the first two, a generation is a sweep (``step``, no ``ask``/``tell``); with the
last alone, it is the corrected ``ask``/``tell`` with other donors.

Why not evosax's ``DifferentialEvolution``: it is DE/best/1/bin (``elitism=True``; a textbook
DE/rand/1 base otherwise, plus a second difference with ``num_diff=2``), compares offspring with the
stored fitness in ``tell`` (stale under one-batch-per-generation evaluation) and draws the
difference vectors excluding the target and base. It can express our ``best1`` and ``best2`` but
not the target-based ``rand1``/``rand2``, ``curtobest1`` or ``randtobest2``, nor the faithful
sweep. One implementation for all six keeps the variants comparable (same index sampling, same
crossover, same replacement); ``tests/test_differential_evolution.py`` checks that our ``best1``
and evosax's DE both converge on a sphere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import jax
import jax.numpy as jnp
from flax import struct

from nevolab.algorithms.base import (
    PopulationAlgorithm,
    PopulationState,
    generation_metrics,
    init_population_state,
    sanitize_fitness,
)
from nevolab.algorithms.quirks import resolve_quirks
from nevolab.xla import materialize

QUIRKS = ("de_stale_fitness", "de_in_place_sweep", "de_donors_include_target")
VARIANTS = ("rand1", "rand2", "best1", "best2", "curtobest1", "randtobest2")
# How many random members (a, b, c, d) each variant uses.
_NUM_RANDOM_MEMBERS = {"rand1": 2, "rand2": 4, "best1": 2, "best2": 4, "curtobest1": 2, "randtobest2": 4}

FitnessFn = Callable[[jax.Array], jax.Array]


@struct.dataclass
class DEParams:
    crossover_rate: float = 0.5  # CR: probability that a gene comes from the mutant
    differential_weight: float = 0.5  # F: scale of the difference vectors


@struct.dataclass
class DEState(PopulationState):
    """:class:`PopulationState` plus the index of the member the variants use as ``best``.

    The faithful sweep keeps the original's running best *index* (which can differ from
    ``argmin(fitness)`` on ties and from ``best_solution`` once that slot is overwritten by an
    equally good offspring), so it lives in the state.
    """

    best_index: jax.Array  # ()


def de_mutant(variant: str, target: jax.Array, best: jax.Array, a: jax.Array, b: jax.Array,
              c: jax.Array, d: jax.Array, differential_weight: float | jax.Array) -> jax.Array:
    """The mutant vector of one ``variant`` (see the module docstring); ``c``, ``d`` are ignored by
    the one-difference variants."""
    f = differential_weight
    if variant == "rand1":
        return target + f * (a - b)
    if variant == "rand2":
        return target + f * (a - b + c - d)
    if variant == "best1":
        return best + f * (a - b)
    if variant == "best2":
        return best + f * (a - b + c - d)
    if variant == "curtobest1":
        return target + f * (best - target + a - b)
    if variant == "randtobest2":
        return a + f * (best - target + a - b + c - d)
    raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}")


def binomial_crossover(target: jax.Array, mutant: jax.Array, crossover_rate: float | jax.Array,
                       uniforms: jax.Array) -> jax.Array:
    """Each gene from the mutant with probability ``crossover_rate``; gene ``j_rand`` always is.

    ``uniforms`` are ``num_dims + 1`` U[0, 1) numbers: the first ``num_dims`` decide the genes, the last
    one picks ``j_rand`` uniformly. (The caller draws them in bulk: every separate PRNG call costs
    seconds of XLA compilation on CPU.)
    """
    num_dims = target.shape[-1]
    j_rand = jnp.minimum((uniforms[num_dims] * num_dims).astype(jnp.int32), num_dims - 1)
    from_mutant = (uniforms[:num_dims] < crossover_rate) | (jnp.arange(num_dims) == j_rand)
    return jnp.where(from_mutant, mutant, target)


def distinct_indices(scores: jax.Array, num: int, exclude: jax.Array | None = None) -> jax.Array:
    """``num`` distinct member indices, uniformly, from U[0, 1) ``scores`` (one per member); never
    ``exclude`` when it is given.

    The members with the ``num`` smallest scores, in ascending order with ties to the lower index:
    the first ``num`` entries of a stable argsort, found by ``num`` successive argmins (a few
    short reductions instead of ranking every member against every other).
    """
    index = jnp.arange(scores.shape[-1])
    if exclude is not None:
        # Uniform scores are < 1, so the excluded member is never among the first num.
        scores = jnp.where(index == exclude, 2.0, scores)
    picked = []
    for _ in range(num):  # num is static and at most 4
        first = jnp.argmin(scores, axis=-1)  # the lowest index among equal minima, as a stable sort
        picked.append(first)
        scores = jnp.where(index == first, jnp.inf, scores)
    return jnp.stack(picked, axis=-1)


class DifferentialEvolution(PopulationAlgorithm):
    """DE/<variant>/bin with greedy one-to-one replacement (see the module docstring)."""

    def __init__(self, population_size: int, num_dims: int, variant: str, faithful: bool = False,
                 quirks: Iterable[str] = ()):
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}")
        if population_size < 4:
            raise ValueError(
                f"population_size must be at least 4 for differential evolution (the two-difference "
                f"variants need 4 distinct members); got {population_size}"
            )
        if num_dims < 1:
            raise ValueError(f"num_dims must be at least 1; got {num_dims}")
        self.population_size = population_size
        self.num_dims = num_dims
        self.variant = variant
        self.quirks = resolve_quirks(QUIRKS, faithful, quirks)
        self.faithful = self.quirks == frozenset(QUIRKS)
        self.stale_fitness = "de_stale_fitness" in self.quirks
        self.in_place = "de_in_place_sweep" in self.quirks
        # Without those two a generation is one batch evaluation of [targets; offspring]: ask/tell.
        self.synchronous = not (self.stale_fitness or self.in_place)
        self.num_random_members = _NUM_RANDOM_MEMBERS[variant]
        # The corrected mode keeps a, b, c, d away from the target whenever the population allows it.
        self.exclude_target = (population_size - 1 >= self.num_random_members
                               and "de_donors_include_target" not in self.quirks)

    @property
    def default_params(self) -> DEParams:
        return DEParams()

    def init(self, key: jax.Array, population: jax.Array, fitness: jax.Array, params: DEParams) -> DEState:
        """Start from an initial population; ``fitness`` may be +inf (not evaluated yet).

        Under ``de_stale_fitness`` (and ``faithful=True``) a +inf loss means "never evaluated": the
        sweep evaluates that target when it first reaches it, as the original does. Before any
        evaluation the ``best`` member of the variants is row 0.
        """
        del key, params
        base = init_population_state(population, fitness)
        return DEState(
            population=base.population,
            fitness=base.fitness,
            best_solution=base.best_solution,
            best_fitness=base.best_fitness,
            generation_counter=base.generation_counter,
            best_index=jnp.argmin(base.fitness),
        )

    # ------------------------------------------------------------------ corrected (synchronous) mode

    def _offspring(self, uniforms: jax.Array, state: DEState, params: DEParams, index: jax.Array,
                   exclude_target: bool) -> jax.Array:
        """Mutant + binomial crossover for target ``index``, from the population in ``state``.

        ``uniforms``: ``population_size + num_dims + 1`` U[0, 1) numbers (member scores, then the
        crossover's).
        """
        n = self.population_size
        members = distinct_indices(uniforms[:n], self.num_random_members, index if exclude_target else None)
        picked = state.population[members]
        a, b = picked[0], picked[1]
        c, d = (picked[2], picked[3]) if self.num_random_members == 4 else (a, a)
        target = state.population[index]
        best = state.population[state.best_index]
        mutant = de_mutant(self.variant, target, best, a, b, c, d, params.differential_weight)
        return binomial_crossover(target, mutant, params.crossover_rate, uniforms[n:])

    @property
    def _num_uniforms(self) -> int:
        return self.population_size + self.num_dims + 1

    def ask(self, key: jax.Array, state: DEState, params: DEParams) -> tuple[jax.Array, DEState]:
        """``[targets; offspring]``, shape ``(2 * population_size, num_dims)``: evaluate all of it on one
        batch, then pass it and its losses to :meth:`tell`."""
        self._require_synchronous("ask")
        # Materialised: fused into its consumers, the PRNG would be recomputed for every gene of every
        # offspring (and every pairwise comparison of the member scores).
        uniforms = materialize(jax.random.uniform(key, (self.population_size, self._num_uniforms)))
        indices = jnp.arange(self.population_size)
        offspring = jax.vmap(lambda u, i: self._offspring(u, state, params, i, self.exclude_target))(
            uniforms, indices)
        return jnp.concatenate([state.population, offspring], axis=0), state

    def tell(self, key: jax.Array, population: jax.Array, fitness: jax.Array, state: DEState,
             params: DEParams) -> tuple[DEState, dict[str, jax.Array]]:
        """Greedy one-to-one replacement with targets and offspring scored on the same batch."""
        self._require_synchronous("tell")
        return super().tell(key, population, fitness, state, params)

    def _survivor_fitness(self, fitness: jax.Array) -> jax.Array:
        """Each target's loss after the replacement: the offspring's where it is no worse."""
        n = self.population_size
        return jnp.where(fitness[n:] <= fitness[:n], fitness[n:], fitness[:n])

    def _metrics(self, state: DEState, fitness: jax.Array) -> dict[str, jax.Array]:
        # Statistics of the surviving population, which like the original's log are the losses
        # every member holds after the generation; both targets and offspring were evaluated.
        return generation_metrics(state, self._survivor_fitness(fitness), 2 * self.population_size)

    def _tell(self, key: jax.Array, population: jax.Array, fitness: jax.Array, state: DEState,
              params: DEParams) -> DEState:
        del key, params
        n = self.population_size
        replace = fitness[n:] <= fitness[:n]
        new_fitness = self._survivor_fitness(fitness)
        return state.replace(population=jnp.where(replace[:, None], population[n:], population[:n]),
                             fitness=new_fitness, best_index=jnp.argmin(new_fitness))

    def _require_synchronous(self, method: str) -> None:
        if not self.synchronous:
            raise ValueError(
                f"{method}() cannot express the sweep of the quirks {sorted(self.quirks)} (faithful=True, "
                "de_stale_fitness or de_in_place_sweep); use step(key, state, params, fitness_fn)"
            )

    # ------------------------------------------------------------------ both modes

    def step(self, key: jax.Array, state: DEState, params: DEParams, fitness_fn: FitnessFn
             ) -> tuple[DEState, dict[str, jax.Array]]:
        """One generation; ``fitness_fn(genotypes (n, num_dims)) -> losses (n,)`` scores on the
        current batch. Corrected mode: ask, evaluate all ``2 * population_size``, tell. Faithful
        mode (or ``de_stale_fitness`` / ``de_in_place_sweep``): a sweep over the targets (a
        ``lax.fori_loop``), the original's in-place one when faithful."""
        if self.synchronous:
            # tell draws no random numbers, so it can share the key.
            candidates, state = self.ask(key, state, params)
            return self.tell(key, candidates, fitness_fn(candidates), state, params)
        return self._sweep(key, state, params, fitness_fn)

    # ------------------------------------------------------------------ faithful (sweep) mode

    def _sweep(self, key: jax.Array, state: DEState, params: DEParams, fitness_fn: FitnessFn
               ) -> tuple[DEState, dict[str, jax.Array]]:
        """One generation target by target; with all quirks on, exactly the original's sweep."""
        def score(genotype: jax.Array) -> jax.Array:
            return sanitize_fitness(fitness_fn(genotype[None, :]))[0]

        def improve_best(s: DEState, index: jax.Array, genotype: jax.Array, loss: jax.Array) -> DEState:
            # The original's running best: strictly better than the best loss seen so far.
            better = loss < s.best_fitness
            return s.replace(
                best_fitness=jnp.where(better, loss, s.best_fitness),
                best_solution=jnp.where(better, genotype, s.best_solution),
                best_index=jnp.where(better, index, s.best_index),
            )

        # All of the sweep's random numbers in one draw (one PRNG call compiles far faster than one
        # per target); row i serves target i.
        uniforms = jax.random.uniform(key, (self.population_size, self._num_uniforms))
        start = state  # without the in-place quirk, donors and best come from here

        def body(i, carry):
            s, evaluations = carry
            target = s.population[i]
            if self.stale_fitness:
                # A target is evaluated only the first time the sweep sees it (+inf = never
                # evaluated); afterwards its stored loss, from whatever batch set it, is what
                # offspring must beat. (A non-finite loss is stored as +inf too, so such a member is
                # simply re-evaluated; the original would keep its NaN and never replace it.)
                unseen = jnp.isinf(s.fitness[i])
                target_loss = jax.lax.cond(unseen, score, lambda _: s.fitness[i], target)
                evaluations = evaluations + unseen.astype(jnp.int32)
            else:  # re-scored on this batch, so the comparison below is fair
                target_loss = score(target)
                evaluations = evaluations + 1
            s = improve_best(s.replace(fitness=s.fitness.at[i].set(target_loss)), i, target, target_loss)
            # In place: donors come from the population as it is now, including offspring accepted
            # earlier in this sweep (and, with de_donors_include_target, possibly the target itself).
            child = self._offspring(uniforms[i], s if self.in_place else start, params, i,
                                    exclude_target=self.exclude_target)
            child_loss = score(child)
            evaluations = evaluations + 1
            accept = child_loss <= s.fitness[i]
            s = s.replace(
                population=s.population.at[i].set(jnp.where(accept, child, target)),
                fitness=s.fitness.at[i].set(jnp.where(accept, child_loss, s.fitness[i])),
            )
            # An accepted child that beats the best is recorded (a rejected one cannot: it lost to a
            # stored loss that is >= the best).
            return improve_best(s, i, child, jnp.where(accept, child_loss, jnp.inf)), evaluations

        state, evaluations = jax.lax.fori_loop(
            0, self.population_size, body, (state, jnp.zeros((), jnp.int32)))
        if not self.in_place:  # the next generation's best, as the corrected mode picks it
            state = state.replace(best_index=jnp.argmin(state.fitness))
        state = state.replace(generation_counter=state.generation_counter + 1)
        # Like the original's log: statistics of the stored (possibly stale) losses after the sweep.
        return state, generation_metrics(state, state.fitness, evaluations)
