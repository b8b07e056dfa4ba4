"""Tests for nevolab.algorithms.differential_evolution.

XLA compilation dominates the cost of these tests on CPU, so every sphere run (all variants, the
faithful sweep, evosax's DE) is one jitted, seed-vmapped bundle computed once per module, compiled
with LLVM optimisation level 0 (about 3x faster to compile; the programs run in milliseconds anyway).
Test inputs that are plain data come from numpy's RNG, which compiles nothing.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from evosax.algorithms import DifferentialEvolution as EvosaxDE

from nevolab.algorithms.differential_evolution import (
    VARIANTS,
    DifferentialEvolution,
    binomial_crossover,
    de_mutant,
    distinct_indices,
)

POP, DIMS, GENS = 12, 10, 300
SEEDS = jnp.array([0, 0, 1])  # the repeated seed checks determinism, the third one that seeds matter


def compile_fast(fn, *args):
    """``jax.jit(fn)`` compiled for ``args`` without XLA's expensive backend optimisations."""
    return jax.jit(fn).lower(*args).compile({"xla_backend_optimization_level": 0})


def sphere(x: jax.Array) -> jax.Array:
    return jnp.sum(x**2, axis=-1)


def _run_ours(variant: str, faithful: bool, population: jax.Array, keys: jax.Array) -> dict[str, jax.Array]:
    """GENS generations of DE on the sphere from ``population``, one key per generation."""
    de = DifferentialEvolution(POP, DIMS, variant, faithful=faithful)
    params = de.default_params.replace(crossover_rate=0.5, differential_weight=0.5)
    state = de.init(None, population, jnp.full((POP,), jnp.inf), params)
    state, metrics = jax.lax.scan(lambda s, k: de.step(k, s, params, sphere), state, keys)
    return {"initial_best": jnp.min(sphere(population)), "best": state.best_fitness,
            "population": state.population, "fitness": state.fitness,
            "best_curve": metrics["best_fitness"], "evaluations": metrics["num_evaluations"]}


def _start(seed: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Initial population in [-5, 5]^DIMS and the per-generation keys of one seed."""
    key_init, key_run = jax.random.split(jax.random.PRNGKey(seed))
    population = jax.random.uniform(key_init, (POP, DIMS), minval=-5.0, maxval=5.0)
    return population, jax.random.split(key_run, GENS)


def _run_evosax(population: jax.Array, keys: jax.Array) -> dict[str, jax.Array]:
    """evosax's DE (DE/best/1/bin with its default elitism) on the same problem."""
    de = EvosaxDE(POP, jnp.zeros(DIMS))
    params = de.default_params.replace(crossover_rate=0.5, differential_weight=0.5)
    state = de.init(keys[0], population, sphere(population), params)

    def generation(state, key):
        key_ask, key_tell = jax.random.split(key)
        candidates, state = de.ask(key_ask, state, params)
        state, _ = de.tell(key_tell, candidates, sphere(candidates), state, params)
        return state, None

    state, _ = jax.lax.scan(generation, state, keys)
    return {"initial_best": jnp.min(sphere(population)), "best": state.best_fitness}


# Every variant in the corrected mode, and the faithful sweep (whose logic is checked step by step
# against a reference below).
RUNS = [(v, False) for v in VARIANTS] + [("best1", True)]


@pytest.fixture(scope="module")
def runs():
    """{"variant/faithful" or "evosax": results with a leading seed axis}, from one compiled call."""

    def everything(seed):
        population, keys = _start(seed)  # shared by all runs: fewer PRNG call sites to compile
        out = {f"{v}/{f}": _run_ours(v, f, population, keys) for v, f in RUNS}
        out["evosax"] = _run_evosax(population, keys)
        return out

    return jax.device_get(compile_fast(jax.vmap(everything), SEEDS)(SEEDS))


# ---------------------------------------------------------------- operators (known answers)


def test_mutant_formulas_match_the_originals_table():
    target, best, a, b, c, d = (jnp.array([v]) for v in (1.0, 10.0, 100.0, 1e3, 1e4, 1e5))
    f = 0.5
    expected = {
        "rand1": 1 + f * (100 - 1e3),
        "rand2": 1 + f * (100 - 1e3 + 1e4 - 1e5),
        "best1": 10 + f * (100 - 1e3),
        "best2": 10 + f * (100 - 1e3 + 1e4 - 1e5),
        "curtobest1": 1 + f * (10 - 1 + 100 - 1e3),
        "randtobest2": 100 + f * (10 - 1 + 100 - 1e3 + 1e4 - 1e5),
    }
    assert set(expected) == set(VARIANTS)
    for variant, value in expected.items():
        np.testing.assert_allclose(de_mutant(variant, target, best, a, b, c, d, f), [value], rtol=1e-6)


def test_binomial_crossover_forces_j_rand_and_follows_crossover_rate():
    target, mutant = jnp.zeros(8), jnp.ones(8)
    uniforms = np.random.default_rng(0).uniform(size=(500, 9)).astype(np.float32)

    def offspring(u):
        rates = (0.0, 1.0, 0.5)
        return [jax.vmap(lambda row, r=r: binomial_crossover(target, mutant, r, row))(u) for r in rates]

    never, always, half = compile_fast(offspring, uniforms)(uniforms)
    # CR = 0: exactly the one forced gene comes from the mutant, at floor(u_last * num_dims).
    np.testing.assert_array_equal(never.sum(axis=1), 1)
    np.testing.assert_array_equal(jnp.argmax(never, axis=1), jnp.floor(uniforms[:, -1] * 8))
    np.testing.assert_array_equal(always, 1.0)
    # Expected fraction from the mutant: 0.5 + 0.5 / 8 (the forced gene).
    assert abs(float(half.mean()) - (0.5 + 0.5 / 8)) < 0.02


def test_distinct_indices_are_distinct_and_skip_the_excluded_member():
    scores = np.random.default_rng(1).uniform(size=(300, 5)).astype(np.float32)

    def pick(s):
        excluding = jax.vmap(lambda row: distinct_indices(row, 4, jnp.asarray(2)))(s)
        return excluding, jax.vmap(lambda row: distinct_indices(row, 4))(s)

    picked, with_target = compile_fast(pick, scores)(scores)
    # Exactly the first four of a stable sort (ties included), with the excluded member last.
    tied = np.round(scores * 4) / 4
    np.testing.assert_array_equal(compile_fast(lambda s: jax.vmap(lambda row: distinct_indices(row, 4))(s),
                                               tied)(tied), np.argsort(tied, axis=1, kind="stable")[:, :4])
    np.testing.assert_array_equal(picked, np.argsort(np.where(np.arange(5) == 2, 2.0, scores), axis=1,
                                                     kind="stable")[:, :4])
    assert not np.any(picked == 2)
    assert all(len(set(row)) == 4 for row in np.asarray(picked).tolist())
    assert np.any(with_target == 2)  # without exclusion every member can be drawn


# ---------------------------------------------------------------- sphere runs (jit + vmap + scan)


@pytest.mark.parametrize(("variant", "faithful"), RUNS)
def test_every_variant_improves_the_sphere(runs, variant, faithful):
    result = runs[f"{variant}/{faithful}"]
    # All variants, both modes: at least a 100x reduction of the initial best in 300 generations.
    assert np.all(result["best"] < result["initial_best"] / 100)
    assert np.all(np.diff(result["best_curve"], axis=1) <= 0)  # the running best never gets worse


def test_best1_converges_like_evosax_de(runs):
    ours, theirs = runs["best1/False"], runs["evosax"]
    # Same start, population size, CR and F; both cut the initial best loss at least 100-fold.
    assert np.all(ours["best"] < 1e-2 * ours["initial_best"])
    assert np.all(theirs["best"] < 1e-2 * theirs["initial_best"])


def test_population_shape_is_kept_and_runs_are_deterministic_per_seed(runs):
    for key in ["rand2/False", "best1/True"]:
        result = runs[key]
        assert result["population"].shape == (len(SEEDS), POP, DIMS)
        assert result["fitness"].shape == (len(SEEDS), POP)
        np.testing.assert_array_equal(result["population"][0], result["population"][1])
        assert not np.array_equal(result["population"][0], result["population"][2])


def test_num_evaluations_are_reported_honestly(runs):
    # Corrected mode re-evaluates every target with its offspring: 2 * pop every generation.
    np.testing.assert_array_equal(runs["best1/False"]["evaluations"], 2 * POP)
    # Faithful mode evaluates each target once (first sweep), then only the offspring.
    faithful = runs["best1/True"]["evaluations"]
    np.testing.assert_array_equal(faithful[:, 0], 2 * POP)
    np.testing.assert_array_equal(faithful[:, 1:], POP)


# ---------------------------------------------------------------- what the faithful switch changes


@functools.cache
def _two_generations_fn():
    """Generation 1 on the plain sphere, generation 2 on a "batch" whose losses are all shifted by
    ``offset``, for both modes; jitted once (``offset`` is traced)."""
    pop, dims = 6, 3
    population = np.random.default_rng(3).normal(size=(pop, dims)).astype(np.float32)

    def run(offset):
        out = {}
        for faithful in (False, True):
            de = DifferentialEvolution(pop, dims, "rand1", faithful=faithful)
            params = de.default_params.replace(crossover_rate=0.5, differential_weight=0.7)
            state = de.init(None, jnp.asarray(population), jnp.full((pop,), jnp.inf), params)
            before, _ = de.step(jax.random.PRNGKey(4), state, params, sphere)
            after, metrics = de.step(jax.random.PRNGKey(5), before, params, lambda x: sphere(x) + offset)
            out[str(faithful)] = (before, after, metrics)
        return out

    return compile_fast(run, 0.0)


@functools.cache
def _two_generations_all(second_batch_offset: float):
    return jax.device_get(_two_generations_fn()(jnp.float32(second_batch_offset)))


def _two_generations(faithful: bool, second_batch_offset: float):
    return _two_generations_all(second_batch_offset)[str(faithful)]


def test_faithful_compares_offspring_with_stale_target_losses():
    # An "easy" second batch (every loss 100 lower): the original compares fresh offspring losses
    # with the targets' stored losses from batch 1, so EVERY offspring wins, good or bad.
    before, after, metrics = _two_generations(faithful=True, second_batch_offset=-100.0)
    assert int(metrics["num_evaluations"]) == 6  # targets were not re-evaluated
    assert not np.any(np.all(np.asarray(after.population) == np.asarray(before.population), axis=1))
    np.testing.assert_allclose(after.fitness, sphere(after.population) - 100.0, rtol=1e-5)
    # ...and at least one of those replacements is worse on the actual objective.
    assert np.any(sphere(after.population) > sphere(before.population))

    # A "hard" second batch (every loss 100 higher): no offspring can beat the stale losses.
    before, after, _ = _two_generations(faithful=True, second_batch_offset=100.0)
    np.testing.assert_array_equal(after.population, before.population)
    np.testing.assert_array_equal(after.fitness, before.fitness)


@pytest.mark.parametrize("offset", [-100.0, 100.0])
def test_corrected_mode_compares_on_the_same_batch(offset):
    before, after, metrics = _two_generations(faithful=False, second_batch_offset=offset)
    assert int(metrics["num_evaluations"]) == 12
    # Whatever the batch's offset, a target is replaced exactly when its offspring is no worse on
    # the objective, and the stored losses are the current batch's.
    old, new = np.asarray(before.population), np.asarray(after.population)
    replaced = ~np.all(new == old, axis=1)
    assert np.all(sphere(new[replaced]) <= sphere(old[replaced]))
    np.testing.assert_allclose(after.fitness, sphere(after.population) + offset, rtol=1e-5)
    assert 0 < replaced.sum() < 6  # some offspring win, some lose: the comparison is not one-sided


def test_faithful_sweep_matches_a_plain_python_reference():
    """The fori_loop sweep against a numpy re-implementation of the original's ``train_step``, fed
    the same U[0, 1) numbers (row i of the sweep's one ``uniform(key, (pop, pop + dims + 1))`` draw
    serves target i)."""
    pop, dims, cr, f = 5, 3, 0.5, 0.8
    de = DifferentialEvolution(pop, dims, "best1", faithful=True)
    params = de.default_params.replace(crossover_rate=cr, differential_weight=f)
    population = np.random.default_rng(7).normal(size=(pop, dims)).astype(np.float32)
    shifts = np.float32([0.0, 0.3, -0.2])  # losses differ per generation, like batches do

    def run(population, shifts):
        keys = jax.random.split(jax.random.PRNGKey(8), len(shifts))
        state = de.init(None, population, jnp.full((pop,), jnp.inf), params)

        def generation(state, key_shift):
            key, shift = key_shift
            state, _ = de.step(key, state, params, lambda x: jnp.sum((x - shift) ** 2, axis=-1))
            return state, (state, jax.random.uniform(key, (pop, pop + dims + 1)))

        return jax.lax.scan(generation, state, (keys, shifts))[1]

    states, uniforms = jax.device_get(compile_fast(run, population, shifts)(population, shifts))

    ref_pop = np.asarray(population, np.float32).copy()
    ref_fit: list[float | None] = [None] * pop
    best_index, best_perf = 0, 1e10
    for generation, shift in enumerate(shifts):
        loss = lambda x, s=shift: float(np.sum((x - s) ** 2))  # noqa: E731
        for i in range(pop):
            if ref_fit[i] is None:  # evaluated only the first time it is seen
                ref_fit[i] = loss(ref_pop[i])
                if ref_fit[i] < best_perf:
                    best_perf, best_index = ref_fit[i], i
            u = uniforms[generation, i]
            a, b = ref_pop[np.argsort(u[:pop])[:2]]  # may include the target
            mutant = ref_pop[best_index] + np.float32(f) * (a - b)
            j_rand = min(int(u[-1] * dims), dims - 1)
            take = (u[pop:pop + dims] < cr) | (np.arange(dims) == j_rand)
            child = np.where(take, mutant, ref_pop[i])
            child_perf = loss(child)
            if child_perf <= ref_fit[i]:  # against the stored, possibly stale, loss
                ref_fit[i], ref_pop[i] = child_perf, child  # in place: a donor from now on
                if child_perf < best_perf:
                    best_perf, best_index = child_perf, i
        state = jax.tree_util.tree_map(lambda leaf, g=generation: leaf[g], states)
        np.testing.assert_allclose(state.population, ref_pop, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(state.fitness, ref_fit, rtol=1e-5, atol=1e-6)
        assert int(state.best_index) == best_index
        np.testing.assert_allclose(state.best_fitness, best_perf, rtol=1e-5, atol=1e-6)


def test_faithful_mode_has_no_ask_tell():
    de = DifferentialEvolution(5, 3, "best1", faithful=True)
    state = de.init(None, jnp.zeros((5, 3)), jnp.zeros(5), de.default_params)
    with pytest.raises(ValueError, match="step"):
        de.ask(jax.random.PRNGKey(0), state, de.default_params)


def test_ask_returns_targets_then_offspring():
    de = DifferentialEvolution(5, 3, "rand2")
    population = jnp.asarray(np.random.default_rng(0).normal(size=(5, 3)), jnp.float32)
    state = de.init(None, population, sphere(population), de.default_params)
    key = jax.random.PRNGKey(1)
    candidates, _ = compile_fast(lambda k: de.ask(k, state, de.default_params), key)(key)
    assert candidates.shape == (10, 3)
    np.testing.assert_array_equal(candidates[:5], population)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"population_size": 3, "num_dims": 2, "variant": "best1"}, "population_size"),
        ({"population_size": 8, "num_dims": 2, "variant": "rand3"}, "rand1.*randtobest2"),
        ({"population_size": 8, "num_dims": 0, "variant": "best1"}, "num_dims"),
    ],
)
def test_bad_input_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DifferentialEvolution(**kwargs)
