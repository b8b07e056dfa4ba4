"""Tests for nevolab.algorithms.evolutionary_algorithm (the paper's (mu, rho, lambda)-EA).

XLA compilation dominates the cost of these tests on CPU: the sphere runs are one jitted,
seed-vmapped bundle computed once per module, and every compiled test program uses LLVM
optimisation level 0 (about 3x faster to compile; the programs run in milliseconds anyway). Plain
test data come from numpy's RNG, which compiles nothing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevolab.algorithms.evolutionary_algorithm import (
    MuRhoLambdaEA,
    fold_crossover,
)

POP, DIMS, GENS = 20, 10, 300
SEEDS = jnp.array([0, 0, 1])  # the repeated seed checks determinism, the third one that seeds matter


def compile_fast(fn, *args):
    """``jax.jit(fn)`` compiled for ``args`` without XLA's expensive backend optimisations."""
    return jax.jit(fn).lower(*args).compile({"xla_backend_optimization_level": 0})


def sphere(x: jax.Array) -> jax.Array:
    return jnp.sum(x**2, axis=-1)


# name: (selection, crossover, num_parents, elitism, faithful, mutation_prob)
RUNS = {
    "truncation/uniform": ("truncation", "uniform", 2, True, False, 0.5),
    "rank/arithmetic": ("rank", "arithmetic", 3, True, False, 0.5),
    "fitness_proportional/single_point": ("fitness_proportional", "single_point", 2, True, False, 0.5),
    # Faithful: probability 1 - 0.5 of mutation, selection favouring high loss (elitism still helps).
    "fitness_proportional/single_point/faithful": (
        "fitness_proportional", "single_point", 2, True, True, 0.5),
    "none/none": ("none", "none", 2, True, False, 0.5),
}


def _run(config, population: jax.Array, keys: jax.Array) -> dict[str, jax.Array]:
    selection, crossover, num_parents, elitism, faithful, mutation_prob = config
    ea = MuRhoLambdaEA(POP, DIMS, 0.3, num_parents, selection, crossover, elitism, faithful=faithful)
    params = ea.default_params.replace(mutation_prob=mutation_prob, sigma=0.1)
    state = ea.init(None, population, jnp.full((POP,), jnp.inf), params)

    def generation(state, key):
        key_ask, key_tell = jax.random.split(key)
        candidates, state = ea.ask(key_ask, state, params)
        return ea.tell(key_tell, candidates, sphere(candidates), state, params)

    state, metrics = jax.lax.scan(generation, state, keys)
    return {"initial_best": jnp.min(sphere(population)), "best": state.best_fitness,
            "population": state.population, "best_curve": metrics["best_fitness"],
            "evaluations": metrics["num_evaluations"]}


@pytest.fixture(scope="module")
def runs():
    """{name: results with a leading seed axis}, all from one compiled call."""

    def everything(seed):
        key_init, key_run = jax.random.split(jax.random.PRNGKey(seed))
        population = jax.random.uniform(key_init, (POP, DIMS), minval=-5.0, maxval=5.0)
        keys = jax.random.split(key_run, GENS)
        return {name: _run(config, population, keys) for name, config in RUNS.items()}

    return jax.device_get(compile_fast(jax.vmap(everything), SEEDS)(SEEDS))


# ---------------------------------------------------------------- sphere runs (jit + vmap + scan)


@pytest.mark.parametrize("name", [n for n in RUNS if not n.startswith("none")])
def test_selection_improves_the_sphere(runs, name):
    result = runs[name]
    assert np.all(result["best"] < result["initial_best"] / 100)
    assert np.all(np.diff(result["best_curve"], axis=1) <= 0)


def test_shape_determinism_and_evaluation_count(runs):
    for result in runs.values():
        assert result["population"].shape == (len(SEEDS), POP, DIMS)
        np.testing.assert_array_equal(result["population"][0], result["population"][1])
        assert not np.array_equal(result["population"][0], result["population"][2])
        np.testing.assert_array_equal(result["evaluations"], POP)


# ---------------------------------------------------------------- operators (known answers)


def test_arithmetic_crossover_is_a_left_fold():
    parents = jnp.array([[0.0, 8.0], [0.0, 0.0], [4.0, 0.0]])
    unused = jnp.zeros((2, 2))
    # ((p1 + p2) / 2 + p3) / 2: the last parent weighs 1/2, the first two 1/4 each (not 1/3).
    np.testing.assert_allclose(fold_crossover(parents, unused, "arithmetic"), [2.0, 2.0])


def test_single_point_and_uniform_crossover_take_each_gene_from_one_parent():
    dims = 6
    left, right = jnp.zeros((1, dims)), jnp.ones((1, dims))
    for u in np.linspace(0.0, 0.99, 12, dtype=np.float32):
        child = fold_crossover(jnp.concatenate([left, right]), jnp.full((1, dims), u), "single_point")
        cut = int(u * dims)  # the cut point made from the first number
        np.testing.assert_array_equal(child, [0.0] * cut + [1.0] * (dims - cut))
    u = jnp.asarray(np.random.default_rng(0).uniform(size=(1, dims)), jnp.float32)
    child = fold_crossover(jnp.concatenate([left, right]), u, "uniform")
    np.testing.assert_array_equal(child, np.where(np.asarray(u[0]) < 0.5, 0.0, 1.0))


def test_truncation_keeps_the_best_and_elitism_fills_the_last_slot():
    population = jnp.arange(6.0)[:, None] * jnp.ones((1, 2))  # row i is (i, i)
    fitness = jnp.array([5.0, 0.5, 3.0, 0.1, 4.0, 2.0])
    elite = jnp.full((2,), 99.0)
    plain = MuRhoLambdaEA(6, 2, 0.5, 2, "truncation", "none", elitism=False)
    np.testing.assert_array_equal(plain.select(None, population, fitness, elite)[:, 0], [3, 1, 5])
    elitist = MuRhoLambdaEA(6, 2, 0.5, 2, "truncation", "none", elitism=True)
    np.testing.assert_array_equal(elitist.select(None, population, fitness, elite)[:, 0], [3, 1, 99])
    no_selection = MuRhoLambdaEA(6, 2, 0.5, 2, "none", "none", elitism=True)
    np.testing.assert_array_equal(no_selection.select(None, population, fitness, elite), population)


def test_selection_frequencies_default_faithful_and_rank():
    """Which individual a single-parent pool (mu = 1) holds, over 4000 draws."""
    population = jnp.arange(4.0)[:, None]  # row i is (i,)
    fitness = jnp.array([1.0, 2.0, 3.0, 4.0])
    draws = 4000

    def pools(keys):
        out = {}
        for name, selection, faithful in [("default", "fitness_proportional", False),
                                          ("faithful", "fitness_proportional", True),
                                          ("rank", "rank", False)]:
            ea = MuRhoLambdaEA(4, 1, 0.25, 2, selection, "none", elitism=False, faithful=faithful)
            out[name] = jax.vmap(lambda k, ea=ea: ea.select(k, population, fitness, population[0]))(keys)
        # Without repetition: a pool of mu = 3 (the original samples, then zeroes that probability).
        ea = MuRhoLambdaEA(4, 1, 0.75, 2, "fitness_proportional", "none", elitism=False, faithful=True)
        out["three"] = jax.vmap(lambda k: ea.select(k, population, fitness, population[0]))(keys)
        return out

    keys = jax.random.split(jax.random.PRNGKey(0), draws)
    result = jax.device_get(compile_fast(pools, keys)(keys))
    frequency = {name: np.bincount(result[name][:, 0, 0].astype(int), minlength=4) / draws
                 for name in ("default", "faithful", "rank")}
    # Default: favours LOW loss; weights (max - loss) + 1e-3 (max - min) + 1e-12.
    weights = 4.0 - np.array([1.0, 2.0, 3.0, 4.0]) + 3e-3
    np.testing.assert_allclose(frequency["default"], weights / weights.sum(), atol=0.03)
    assert np.all(np.diff(frequency["default"]) < 0)
    # Faithful: probability proportional to the loss itself, favouring HIGH loss.
    np.testing.assert_allclose(frequency["faithful"], [0.1, 0.2, 0.3, 0.4], atol=0.03)
    # Rank-based, as the original: 1 - rank / (n (n + 1) / 2) for ranks 1..4.
    np.testing.assert_allclose(frequency["rank"], np.array([0.9, 0.8, 0.7, 0.6]) / 3.0, atol=0.03)
    three = result["three"][:, :, 0].astype(int)
    assert all(len(set(row)) == 3 for row in three.tolist())


def test_mutation_probability_switch_and_comma_replacement():
    """With selection and crossover off the children are copies of parents, plus mutation."""
    n, dims = 1000, 3
    population = jnp.asarray(np.random.default_rng(1).normal(size=(n, dims)), jnp.float32)
    fitness = sphere(population)

    def children(mutation_prob):
        out = {}
        for faithful in (False, True):
            ea = MuRhoLambdaEA(n, dims, 1.0, 2, "none", "none", elitism=False, faithful=faithful)
            params = ea.default_params.replace(mutation_prob=mutation_prob, sigma=0.5)
            state = ea.init(None, population, fitness, params)
            out[str(faithful)] = ea.tell(jax.random.PRNGKey(2), population, fitness, state, params)[0]
        return out

    compiled = compile_fast(children, jnp.float32(0.0))

    def mutated_fraction(state):
        # A child is unmutated iff it equals some parent exactly.
        kids = np.asarray(state.population)
        equal = (kids[:, None, :] == np.asarray(population)[None, :, :]).all(axis=2).any(axis=1)
        return 1.0 - equal.mean()

    never = jax.device_get(compiled(jnp.float32(0.0)))
    assert mutated_fraction(never["False"]) == 0.0  # default: mutation_prob = 0 never mutates
    assert mutated_fraction(never["True"]) == 1.0  # faithful: mutates with 1 - 0 = 1
    some = jax.device_get(compiled(jnp.float32(0.3)))
    assert abs(mutated_fraction(some["False"]) - 0.3) < 0.05
    assert abs(mutated_fraction(some["True"]) - 0.7) < 0.05
    # Comma strategy: the new population replaces the old, unevaluated, one generation later.
    for state in (never["False"], some["True"]):
        assert state.population.shape == (n, dims)
        assert np.all(np.isinf(state.fitness))
        assert int(state.generation_counter) == 1


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"selection": "tournament"}, "truncation.*fitness_proportional.*rank.*none"),
        ({"crossover": "two_point"}, "single_point.*uniform.*arithmetic"),
        ({"population_size": 1}, "population_size"),
        ({"best_rate": 0.0}, "best_rate"),
        ({"best_rate": 1.5}, "best_rate"),
        ({"num_parents": 0}, "num_parents"),
        ({"num_dims": 0}, "num_dims"),
    ],
)
def test_bad_input_raises(overrides, message):
    kwargs = {"population_size": 10, "num_dims": 3, "best_rate": 0.3, "num_parents": 2,
              "selection": "truncation", "crossover": "uniform", "elitism": True}
    with pytest.raises(ValueError, match=message):
        MuRhoLambdaEA(**{**kwargs, **overrides})
