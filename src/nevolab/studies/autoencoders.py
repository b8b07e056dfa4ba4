"""Study A: backprop vs bio-inspired training of tiny autoencoders (Gobbi & Konotopska).

One function, :func:`run_case`, turns (case, algorithm, hyperparameters, repeats) into a tidy
table of min-loss curves. All repeats of one algorithm are one compiled, vmapped call; the wall
time of one run is measured separately (a compiled single run, median of three) and spread evenly
over its generations, since a compiled scan spends the same time on every generation.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from nevolab.algorithms.base import sanitize_fitness
from nevolab.algorithms.cosyne import CoSyNE
from nevolab.algorithms.differential_evolution import DifferentialEvolution
from nevolab.algorithms.evolutionary_algorithm import MuRhoLambdaEA
from nevolab.algorithms.study_a_configs import best_config
from nevolab.encodings import Encoding, make_encoding
from nevolab.runner import (
    compile_chunk,
    evaluate_population,
    initial_arguments,
    make_generation_step,
    run_vmapped,
)
from nevolab.tasks import autoencoders as ff

PyTree = Any


@dataclasses.dataclass(frozen=True)
class Case:
    """One of the paper's six experimental cases."""

    name: str
    kind: str  # "ff" or "lstm"
    dim: int = 0  # feed-forward input dimension
    seq_len: int = 0
    hidden: int = 0
    config_key: str = ""  # the original's best_configurations case id

    @property
    def label(self) -> str:
        if self.kind == "ff":
            return f"Case {self.name}: FF d={self.dim}"
        return f"Case {self.name}: LSTM seq {self.seq_len}, h {self.hidden}"


CASES: dict[str, Case] = {
    "I": Case("I", "ff", dim=4, config_key="realValuedData_1"),
    "II": Case("II", "ff", dim=8, config_key="realValuedData_2"),
    "III": Case("III", "lstm", seq_len=3, hidden=3, config_key="classData_3"),
    "IV": Case("IV", "lstm", seq_len=4, hidden=4, config_key="classData_4"),
    "V": Case("V", "lstm", seq_len=3, hidden=10, config_key="classData_7"),
    "VI": Case("VI", "lstm", seq_len=4, hidden=10, config_key="classData_8"),
}

ALGORITHMS = ("backprop", "cosyne", "de", "ea", "cosyne_idct", "de_idct", "ea_idct")


@dataclasses.dataclass(frozen=True)
class Problem:
    """Data, initialisation and loss of one case: everything an algorithm needs."""

    case: Case
    init_params: Callable[[jax.Array], PyTree]
    loss: Callable[[PyTree, Any], jax.Array]  # (params, batch) -> scalar
    batches: Any  # pytree with a leading (num_batches,) axis
    num_batches: int
    # The same loss in the form used to evaluate a whole population (vmapped), when that differs.
    population_loss_fn: Callable[[PyTree, Any], jax.Array] | None = None

    @staticmethod
    def batch(batches: Any, index: jax.Array) -> Any:
        """Batch ``index`` of ``batches`` (passed as an argument, not captured: see the runner)."""
        return jax.tree_util.tree_map(lambda array: array[index], batches)

    @property
    def population_loss(self) -> Callable[[PyTree, Any], jax.Array]:
        return self.population_loss_fn or self.loss

    @property
    def num_params(self) -> int:
        return int(jax.flatten_util.ravel_pytree(self.init_params(jax.random.key(0)))[0].size)


def get_case(name: str) -> Case:
    if name not in CASES:
        raise ValueError(f"unknown case {name!r}; valid: {', '.join(CASES)}")
    return CASES[name]


def make_problem(case: Case | str, num_batches: int = ff.NUM_BATCHES) -> Problem:
    """The data (seed 1337, batches of 40, one batch per generation) and model of a case."""
    case = get_case(case) if isinstance(case, str) else case
    if case.kind == "ff":
        data = jnp.asarray(ff.make_gaussian_data(case.dim)[:num_batches])
        return Problem(
            case=case,
            init_params=lambda key: ff.init_ff_autoencoder(key, case.dim),
            loss=ff.ff_autoencoder_loss,
            population_loss_fn=ff.ff_autoencoder_loss_samples_minor,
            batches=data,
            num_batches=num_batches,
        )
    from nevolab.tasks import lstm_autoencoder as lstm

    inputs, targets = lstm.make_sequence_data(case.seq_len)
    return Problem(
        case=case,
        init_params=lambda key: lstm.init_lstm_autoencoder(key, case.hidden),
        loss=lambda params, batch: lstm.lstm_autoencoder_loss(params, batch[0], batch[1]),
        batches=(jnp.asarray(inputs[:num_batches]), jnp.asarray(targets[:num_batches])),
        num_batches=num_batches,
    )


def _make_backprop_train(problem: Problem, hyper: dict[str, Any]):
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


def make_encoding_for(problem: Problem, algorithm: str, hyper: dict[str, Any], faithful: bool,
                      per_layer_dct: bool = False) -> Encoding:
    template = problem.init_params(jax.random.key(0))
    if not algorithm.endswith("_idct"):
        return make_encoding("direct", template)
    name = "dct_per_layer" if per_layer_dct else "dct_global"
    return make_encoding(name, template, hyper["num_coefficients"], faithful=faithful)


def _make_evolution_train(problem: Problem, algorithm: str, hyper: dict[str, Any], faithful: bool,
                          per_layer_dct: bool):
    encoding = make_encoding_for(problem, algorithm, hyper, faithful, per_layer_dct)
    base = algorithm.removesuffix("_idct")
    if base == "cosyne":
        strategy = CoSyNE(hyper["population_size"], encoding.num_genes, hyper["children"], faithful=faithful)
        params = strategy.default_params.replace(mutation_prob=hyper["mutation_prob"], gamma=hyper["gamma"])
    elif base == "de":
        strategy = DifferentialEvolution(hyper["population_size"], encoding.num_genes, hyper["variant"],
                                         faithful=faithful)
        params = strategy.default_params.replace(crossover_rate=hyper["crossover_rate"],
                                                 differential_weight=hyper["differential_weight"])
    elif base == "ea":
        strategy = MuRhoLambdaEA(hyper["population_size"], encoding.num_genes, hyper["best_rate"],
                                 hyper["num_parents"], hyper["selection"], hyper["crossover"],
                                 hyper["elitism"], faithful=faithful)
        params = strategy.default_params.replace(mutation_prob=hyper["mutation_prob"], sigma=hyper["sigma"])
    else:
        raise ValueError(f"unknown algorithm {algorithm!r}; valid: {', '.join(ALGORITHMS)}")

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


def make_train(problem: Problem, algorithm: str, hyper: dict[str, Any], faithful: bool = False,
               per_layer_dct: bool = False):
    """``(init_fn, step)`` for one algorithm on one problem (see :func:`nevolab.runner.run_vmapped`)."""
    if algorithm == "backprop":
        return _make_backprop_train(problem, hyper)
    return _make_evolution_train(problem, algorithm, hyper, faithful, per_layer_dct)


def run_compiler_options(case: Case | str) -> dict[str, Any]:
    """XLA options with which a case's runs are compiled (by :func:`run_case` and the benchmarks).

    On CPU the feed-forward cases are compiled without YNNPACK fusions and with 512-bit vectors
    preferred (used where the CPU has AVX-512, ignored elsewhere). XLA:CPU otherwise hands each
    layer's multiply-and-sum to YNNPACK, whose per-call cost dominates at these sizes (a population
    of 38 networks of 98 parameters on 40 samples); its own loop kernels are 10-30% faster over a
    whole Case II run (DE, EA, CoSyNE single runs and 100 vmapped repeats alike), and the wider
    vectors speed the PRNG kernels by a few percent more. The losses are rounded differently
    (sums in another order), so this is part of the runs' version. The LSTM cases keep XLA's
    defaults: their committed results were computed that way, and recomputing them costs hours on
    a CPU.
    """
    case = get_case(case) if isinstance(case, str) else case
    if case.kind == "ff" and jax.default_backend() == "cpu":
        return {"xla_cpu_experimental_ynn_fusion_type": "", "xla_cpu_prefer_vector_width": 512}
    return {}


def recorded_generations(num_generations: int, num_points: int = 50) -> np.ndarray:
    """A roughly geometric grid of generation indices (0-based), always including the last one."""
    grid = np.unique(np.geomspace(1, num_generations, num_points).round().astype(int)) - 1
    return np.union1d(grid, [num_generations - 1])


def time_single_run(init_fn, step, num_generations: int, key: jax.Array, data: Any = None,
                    repeats: int = 3, compiler_options: dict[str, Any] | None = None) -> float:
    """Median wall time (s) of one compiled run of ``num_generations``, compilation excluded."""
    args = initial_arguments(init_fn, key, data)
    compiled = compile_chunk(step, num_generations, args, compiler_options=compiler_options)
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


def run_case(case: str, algorithm: str, hyper: dict[str, Any], repeats: int, num_generations: int,
             seed: int = 0, faithful: bool = False, per_layer_dct: bool = False, measure_time: bool = True,
             progress: bool = False) -> pd.DataFrame:
    """All repeats of one algorithm on one case, as a tidy table of running-min loss curves.

    Columns: case, algorithm, repeat, generation (1-based), evaluations (cumulative network
    evaluations), min_loss (this generation's best loss on its batch), best_loss (running min), and
    time_s (elapsed wall time of one run at that generation); recorded on a geometric grid of
    generations. ``run_time_s`` is the measured wall time of one whole run.
    """
    problem = make_problem(case, num_batches=num_generations)
    init_fn, step = make_train(problem, algorithm, hyper, faithful, per_layer_dct)
    keys = jax.random.split(jax.random.key(seed), repeats)
    options = run_compiler_options(problem.case)
    _, metrics = run_vmapped(init_fn, step, keys, num_generations, data=problem.batches, progress=progress,
                             description=f"{case}/{algorithm}", compiler_options=options)
    run_time_s = (time_single_run(init_fn, step, num_generations, keys[0], problem.batches,
                                  compiler_options=options)
                  if measure_time else float("nan"))
    index = recorded_generations(num_generations)
    evaluations = np.cumsum(metrics["num_evaluations"], axis=1)
    frames = []
    for repeat in range(repeats):
        frames.append(pd.DataFrame({
            "case": case,
            "algorithm": algorithm,
            "repeat": repeat,
            "generation": index + 1,
            "evaluations": evaluations[repeat, index],
            "min_loss": metrics["min_fitness"][repeat, index],
            "best_loss": metrics["best_fitness"][repeat, index],
            "time_s": (index + 1) / num_generations * run_time_s,
            "run_time_s": run_time_s,
        }))
    return pd.concat(frames, ignore_index=True)


def best_hyperparameters(case: str, algorithm: str) -> dict[str, Any]:
    """The authors' best configuration of ``algorithm`` (e.g. ``"de_idct"``) on ``case``, shipped as
    package data (``nevolab/data/study_a_best_configs.json``, transcribed from the original
    repository's ``best_configurations/``)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; valid: {', '.join(ALGORITHMS)}")
    config = best_config(algorithm.removesuffix("_idct"), case, idct=algorithm.endswith("_idct"))
    return {key: value for key, value in config.items()
            if key not in ("raw", "source_file") and value is not None}


# Bump when a change to the library changes the numbers of a run, per model kind. Feed-forward
# version 2: populations are evaluated with ``ff_autoencoder_loss_samples_minor`` (same loss,
# rounded differently: ~1e-7 relative); version 3: its mean summed in vector-friendly order
# (``mean_of_squares``) and runs compiled without YNNPACK fusions, preferring 512-bit vectors
# (``run_compiler_options``), rounded differently again. LSTM runs are unchanged since version 1.
RUNS_VERSION = {"ff": 3, "lstm": 1}
# The Study A figure tables are built from these runs: their spec version moves with any bump above.
TABLES_VERSION = 1 + sum(version - 1 for version in RUNS_VERSION.values())


def cached_run(case: str, algorithm: str, repeats: int, num_generations: int, seed: int,
               faithful: bool = False, per_layer_dct: bool = False, fresh: bool = False,
               progress: bool = False) -> pd.DataFrame:
    """:func:`run_case` with the authors' best hyperparameters, cached in the results store under
    ``study_a_runs/`` so that every Study A figure reuses the same runs."""
    from nevolab.config import Config
    from nevolab.store import cached

    hyper = best_hyperparameters(case, algorithm)
    values = {"case": case, "algorithm": algorithm, "hyperparameters": hyper, "repeats": repeats,
              "generations": num_generations, "seed": seed, "faithful": faithful,
              "per_layer_dct": per_layer_dct}
    config = Config("study_a_runs", "-", values, (), RUNS_VERSION[get_case(case).kind])
    table, _ = cached(config, lambda: run_case(case, algorithm, hyper, repeats, num_generations, seed,
                                               faithful, per_layer_dct, progress=progress),
                      fresh=fresh, seeds={"master_seed": seed, "repeats": repeats, "data_seed": 1337})
    return table


def run_study(cases: list[str], algorithms: list[str], repeats: int, lstm_repeats: int, num_generations: int,
              seed: int, faithful: bool = False, per_layer_dct: bool = False, fresh: bool = False,
              progress: bool = False) -> pd.DataFrame:
    """Every (case, algorithm) with the authors' best hyperparameters, as one tidy table
    (``repeats`` runs on the feed-forward cases, ``lstm_repeats`` on the LSTM ones, as the paper)."""
    frames = [cached_run(case, algorithm, lstm_repeats if CASES[case].kind == "lstm" else repeats,
                         num_generations, seed, faithful, per_layer_dct, fresh, progress)
              for case in cases for algorithm in algorithms]
    return pd.concat(frames, ignore_index=True)


BIO_ALGORITHMS = ("cosyne", "de", "ea")


def final_losses(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (case, algorithm, repeat): the running-min loss at the last generation."""
    last = results.groupby(["case", "algorithm"]).generation.transform("max")
    return results[results.generation == last].reset_index(drop=True)


def study_a_claims(final: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Every claim of the paper, tested on final losses. Effects are differences of mean final loss
    (negative = the first-named is lower), with bootstrap 95% intervals and a computed verdict.

    Operationalisations (the paper states its claims in words):
    * "X beats Y": mean final loss of X minus that of Y is negative;
    * "the gap widens with dimension": (best bio-inspired - backprop) grows from the smaller to the
      larger case of the same family (I -> II, III -> IV, V -> VI);
    * "EA is competitive with CoSyNE on the recurrent task": EA's mean final loss is below 1.1x CoSyNE's;
    * "IDCT somewhat works on feed-forward": the IDCT variant's mean final loss is below 1.25x the direct
      one's; "... but not on recurrent": the IDCT variant is worse than the direct one;
    * "an oversized memory (h=10) does not help": h=10 is not better than h = sequence length (an
      interval above zero reproduces it, one below zero contradicts it).
    """
    from nevolab.stats import claim_from_contrast, compare_lower

    cases = [case for case in CASES if case in set(final.case)]

    def losses(case: str, algorithm: str) -> np.ndarray:
        return final[(final.case == case) & (final.algorithm == algorithm)].best_loss.to_numpy(float)

    def has(case: str, *algorithms: str) -> bool:
        return all(losses(case, algorithm).size > 1 for algorithm in algorithms)

    def best_bio(case: str) -> str:
        means = {a: losses(case, a).mean() for a in BIO_ALGORITHMS if has(case, a)}
        return min(means, key=means.get)

    rows = []
    for case in cases:
        if has(case, "backprop", *BIO_ALGORITHMS):
            bio = best_bio(case)
            rows.append(compare_lower(
                f"Backprop best overall — case {case}: backprop < best bio-inspired ({bio})",
                losses(case, "backprop"), losses(case, bio), seed).row())
    for small, large in (("I", "II"), ("III", "IV"), ("V", "VI")):
        if has(small, "backprop", *BIO_ALGORITHMS) and has(large, "backprop", *BIO_ALGORITHMS):
            bio_small, bio_large = best_bio(small), best_bio(large)
            groups = {"bp_s": losses(small, "backprop"), "bio_s": losses(small, bio_small),
                      "bp_l": losses(large, "backprop"), "bio_l": losses(large, bio_large)}
            rows.append(claim_from_contrast(
                f"The gap widens with dimension — {small} -> {large}: (bio - backprop) grows",
                groups, lambda m: (m["bio_l"] - m["bp_l"]) - (m["bio_s"] - m["bp_s"]), +1, "bio_l", "bp_l",
                seed, f"best bio-inspired: {bio_small} / {bio_large}").row())
    for case in cases:
        if has(case, *BIO_ALGORITHMS):
            other = min(("de", "ea"), key=lambda a: losses(case, a).mean())
            rows.append(compare_lower(
                f"CoSyNE best of the bio-inspired — case {case}: CoSyNE < {other.upper()}",
                losses(case, "cosyne"), losses(case, other), seed).row())
    for case in cases:
        if CASES[case].kind == "ff" and has(case, "de", "ea"):
            rows.append(compare_lower(f"DE beats EA on feed-forward — case {case}: DE < EA",
                                      losses(case, "de"), losses(case, "ea"), seed).row())
        if CASES[case].kind == "lstm" and has(case, "ea", "cosyne"):
            groups = {"ea": losses(case, "ea"), "cosyne": losses(case, "cosyne")}
            rows.append(claim_from_contrast(
                f"EA competitive on recurrent — case {case}: EA < 1.1 x CoSyNE",
                groups, lambda m: m["ea"] - 1.1 * m["cosyne"], -1, "ea", "cosyne", seed).row())
    for case in cases:
        for base in BIO_ALGORITHMS:
            if not has(case, base, f"{base}_idct"):
                continue
            groups = {"idct": losses(case, f"{base}_idct"), "direct": losses(case, base)}
            if CASES[case].kind == "ff":
                rows.append(claim_from_contrast(
                    f"IDCT somewhat works on feed-forward — case {case}, {base}: IDCT < 1.25 x direct",
                    groups, lambda m: m["idct"] - 1.25 * m["direct"], -1, "idct", "direct", seed).row())
            else:
                rows.append(claim_from_contrast(
                    f"IDCT fails on recurrent — case {case}, {base}: IDCT > direct",
                    groups, lambda m: m["idct"] - m["direct"], +1, "idct", "direct", seed).row())
    for proportional, oversized in (("III", "V"), ("IV", "VI")):
        for algorithm in ("backprop", "cosyne"):
            if has(proportional, algorithm) and has(oversized, algorithm):
                groups = {"h10": losses(oversized, algorithm), "hs": losses(proportional, algorithm)}
                rows.append(claim_from_contrast(
                    f"h=10 does not help — {algorithm}, {oversized} vs {proportional}: h=10 not lower",
                    groups, lambda m: m["h10"] - m["hs"], +1, "h10", "hs", seed).row())
    if has("I", "cosyne", "backprop"):
        rows.append(compare_lower("Case I: CoSyNE beats backprop on average",
                                  losses("I", "cosyne"), losses("I", "backprop"), seed).row())
    return pd.DataFrame(rows)
