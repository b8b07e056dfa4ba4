"""Study A's compiled runs: one frozen :class:`AERun` per (case, algorithm), and ``make_train(run)``,
which gives the runner everything it needs (purejaxrl's shape)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nevolab import xla
from nevolab.algorithms import cosyne, differential_evolution, evolutionary_algorithm
from nevolab.algorithms.base import sanitize_fitness
from nevolab.algorithms.cosyne import CoSyNE
from nevolab.algorithms.differential_evolution import DifferentialEvolution
from nevolab.algorithms.evolutionary_algorithm import MuRhoLambdaEA
from nevolab.config import RunConfig
from nevolab.encodings import Encoding, make_encoding
from nevolab.runner import (
    Program,
    compile_chunk,
    evaluate_population,
    initial_arguments,
    make_generation_step,
)
from nevolab.studies.a.cases import ALGORITHMS, Problem, get_case, make_problem
from nevolab.tasks.autoencoders import DATA_SEED

# Bump when a change to the library changes the numbers of a run, per model kind (even a change of
# rounding alone: every bump changes the results key).
RUNS_VERSION = {"ff": 3, "lstm": 1}
# The Study A figure tables are built from these runs: their spec version moves with any bump above.
TABLES_VERSION = 1 + sum(version - 1 for version in RUNS_VERSION.values())

# LSTM runs take minutes to hours: they run in chunks of this many generations and checkpoint after
# each, so a killed run resumes (same numbers). Feed-forward runs take seconds and run in one scan.
LSTM_CHUNK_GENERATIONS = 250

# The quirks of the original code that each algorithm can switch on one at a time (originals.md
# §3.3); ``faithful=True`` is all of an algorithm's quirks. The IDCT genotype adds the encoding's:
# the original's ``fftpack.dct(w, n=k)`` truncates ``w`` to its first k weights.
IDCT_QUIRK = "idct_init_truncates_weights"
_ALGORITHM_QUIRKS = {"cosyne": cosyne.QUIRKS, "de": differential_evolution.QUIRKS,
                     "ea": evolutionary_algorithm.QUIRKS, "backprop": ()}


def algorithm_quirks(algorithm: str) -> tuple[str, ...]:
    """Every quirk ``algorithm`` (e.g. ``"de_idct"``) can switch on, in a fixed order."""
    base = algorithm.removesuffix("_idct")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; valid: {', '.join(ALGORITHMS)}")
    return (*_ALGORITHM_QUIRKS[base], *((IDCT_QUIRK,) if algorithm.endswith("_idct") else ()))


@dataclasses.dataclass(frozen=True)
class AERun(RunConfig):
    """All repeats of one algorithm on one case: the cache key of one ``study_a_runs`` table."""

    KIND: ClassVar[str] = "study_a_runs"
    DATA_SEED: ClassVar[int] = DATA_SEED

    case: str
    algorithm: str
    hyperparameters: Mapping[str, Any]
    repeats: int
    generations: int
    seed: int
    faithful: bool = False
    per_layer_dct: bool = False
    # Quirks switched on one at a time (names from algorithm_quirks); empty with faithful=True, which
    # is all of them. A set naming every quirk is normalised to faithful=True: the same run, one key.
    quirks: tuple[str, ...] = ()
    # An LSTM case's population through the fused-gate loss (cases.make_problem); its losses differ
    # from the plain loss's by float rounding, which a long run that ranks near-equal losses can
    # amplify, so it is part of the key. Always False on the feed-forward cases, which have no LSTM.
    fast_lstm: bool = False

    def __post_init__(self) -> None:
        if self.fast_lstm and get_case(self.case).kind != "lstm":
            object.__setattr__(self, "fast_lstm", False)
        known = algorithm_quirks(self.algorithm)
        quirks = tuple(self.quirks)
        unknown = [quirk for quirk in quirks if quirk not in known]
        if unknown:
            raise ValueError(f"{self.algorithm} has no quirk {unknown[0]!r}; "
                             f"valid: {', '.join(known) or 'none'}")
        if self.faithful and quirks:
            raise ValueError("pass either faithful=True (all quirks) or quirks, not both")
        if quirks and set(quirks) == set(known):
            object.__setattr__(self, "faithful", True)
            quirks = ()
        object.__setattr__(self, "quirks", tuple(quirk for quirk in known if quirk in quirks))

    @property
    def active_quirks(self) -> tuple[str, ...]:
        """The quirks this run switches on (all of the algorithm's when faithful)."""
        return algorithm_quirks(self.algorithm) if self.faithful else self.quirks

    def to_dict(self) -> dict[str, Any]:
        # Left out at its default, so the keys of runs made before quirks existed stay the same.
        fields = super().to_dict()
        for name in ("quirks", "fast_lstm"):  # left out at their defaults: older runs keep their keys
            if not fields[name]:
                del fields[name]
        return fields

    @property
    def version(self) -> int:
        return RUNS_VERSION[get_case(self.case).kind]

    @property
    def run_kind(self) -> str:
        """The XLA tuning of this run (``nevolab.xla.compiler_options``)."""
        return f"ae_{get_case(self.case).kind}"

    @property
    def chunk_length(self) -> int | None:
        """Generations per checkpointed chunk (None: one scan, no checkpoint)."""
        return LSTM_CHUNK_GENERATIONS if get_case(self.case).kind == "lstm" else None


def make_train(run: AERun) -> Program:
    """The compiled-run program of ``run``: its case's data and model, its algorithm, its options
    (``run.fast_lstm``: the fast LSTM loss, :func:`~nevolab.studies.a.cases.make_problem`)."""
    problem = make_problem(run.case, num_batches=run.generations, fast_lstm=run.fast_lstm)
    init_fn, step = make_steps(problem, run.algorithm, run.hyperparameters, run.faithful, run.per_layer_dct,
                               run.quirks)
    return Program(init_fn, step, problem.batches, xla.compiler_options(run.run_kind))


def make_steps(problem: Problem, algorithm: str, hyper: Mapping[str, Any], faithful: bool = False,
               per_layer_dct: bool = False, quirks: Iterable[str] = ()) -> tuple[Callable, Callable]:
    """``(init_fn, step)`` for one algorithm on one problem (see :func:`nevolab.runner.run_vmapped`);
    ``quirks`` switches single quirks on (see :func:`algorithm_quirks`)."""
    if algorithm == "backprop":
        return _backprop_steps(problem, hyper)
    return _evolution_steps(problem, algorithm, hyper, faithful, per_layer_dct, tuple(quirks))


def _backprop_steps(problem: Problem, hyper: Mapping[str, Any]) -> tuple[Callable, Callable]:
    """Adagrad with PyTorch's defaults (no initial accumulator, eps 1e-10), one step per batch."""
    optimizer = optax.adagrad(hyper["learning_rate"], initial_accumulator_value=0.0, eps=1e-10)

    def init_fn(key: jax.Array):
        params = problem.init_params(key)
        return params, optimizer.init(params), jnp.asarray(jnp.inf)

    def step(state, keys, generation, batches):
        del keys  # Adagrad on a fixed batch sequence draws no random numbers
        params, opt_state, best = state
        loss, grads = jax.value_and_grad(problem.loss)(params, problem.batch(batches, generation))
        loss = sanitize_fitness(loss)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        best = jnp.minimum(best, loss)
        metrics = {"best_fitness": best, "min_fitness": loss, "mean_fitness": loss,
                   "num_evaluations": jnp.asarray(1, jnp.int32)}
        return (params, opt_state, best), metrics

    return init_fn, step


def make_encoding_for(problem: Problem, algorithm: str, hyper: Mapping[str, Any], faithful: bool,
                      per_layer_dct: bool = False, quirks: Iterable[str] = ()) -> Encoding:
    """The genotype of ``algorithm``: direct, or the IDCT of the first k coefficients (``*_idct``)."""
    faithful = faithful or IDCT_QUIRK in tuple(quirks)
    template = problem.init_params(jax.random.key(0))
    if not algorithm.endswith("_idct"):
        return make_encoding("direct", template)
    name = "dct_per_layer" if per_layer_dct else "dct_global"
    return make_encoding(name, template, hyper["num_coefficients"], faithful=faithful)


def make_strategy(algorithm: str, num_genes: int, hyper: Mapping[str, Any], faithful: bool,
                  quirks: Iterable[str] = ()) -> tuple[Any, Any]:
    """The bio-inspired algorithm and its params, configured with ``hyper`` (and the algorithm's own
    ``quirks``; an IDCT quirk is the encoding's)."""
    base = algorithm.removesuffix("_idct")
    quirks = tuple(quirk for quirk in quirks if quirk != IDCT_QUIRK)
    if base == "cosyne":
        strategy = CoSyNE(hyper["population_size"], num_genes, hyper["children"], faithful=faithful,
                          quirks=quirks)
        return strategy, strategy.default_params.replace(mutation_prob=hyper["mutation_prob"],
                                                         gamma=hyper["gamma"])
    if base == "de":
        strategy = DifferentialEvolution(hyper["population_size"], num_genes, hyper["variant"],
                                         faithful=faithful, quirks=quirks)
        return strategy, strategy.default_params.replace(crossover_rate=hyper["crossover_rate"],
                                                         differential_weight=hyper["differential_weight"])
    if base == "ea":
        strategy = MuRhoLambdaEA(hyper["population_size"], num_genes, hyper["best_rate"],
                                 hyper["num_parents"], hyper["selection"], hyper["crossover"],
                                 hyper["elitism"], faithful=faithful, quirks=quirks)
        return strategy, strategy.default_params.replace(mutation_prob=hyper["mutation_prob"],
                                                         sigma=hyper["sigma"])
    raise ValueError(f"unknown algorithm {algorithm!r}; valid: {', '.join(ALGORITHMS)}")


def _evolution_steps(problem: Problem, algorithm: str, hyper: Mapping[str, Any], faithful: bool,
                     per_layer_dct: bool, quirks: tuple[str, ...] = ()) -> tuple[Callable, Callable]:
    encoding = make_encoding_for(problem, algorithm, hyper, faithful, per_layer_dct, quirks)
    strategy, params = make_strategy(algorithm, encoding.num_genes, hyper, faithful, quirks)

    def loss_of_genotype(genotype, batch):
        return problem.population_loss(encoding.decode(genotype), batch)

    def fitness_fn(genotypes, generation, batches):
        return evaluate_population(loss_of_genotype, genotypes, problem.batch(batches, generation))

    def init_fn(key):
        keys = jax.random.split(key, strategy.population_size)
        population = jax.vmap(lambda k: encoding.encode(problem.init_params(k)))(keys)
        fitness = jnp.full((strategy.population_size,), jnp.inf)
        return strategy.init(key, population, fitness, params)

    return init_fn, make_generation_step(strategy, params, fitness_fn)


def recorded_generations(num_generations: int, num_points: int = 50) -> np.ndarray:
    """A roughly geometric grid of generation indices (0-based), always including the last one."""
    grid = np.unique(np.geomspace(1, num_generations, num_points).round().astype(int)) - 1
    return np.union1d(grid, [num_generations - 1])


def time_single_run(program: Program, num_generations: int, key: jax.Array, repeats: int = 3) -> float:
    """Median wall time (s) of one compiled run of ``num_generations``, compilation excluded."""
    args = initial_arguments(program.init_fn, key, program.data)
    compiled = compile_chunk(program.step, num_generations, args, compiler_options=program.compiler_options)
    start = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    times = [time.perf_counter() - start]
    if times[0] > 1.0:  # long runs: one measurement is precise enough
        return times[0]
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times))
