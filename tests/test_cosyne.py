import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevolab.algorithms.cosyne import CoSyNE
from nevolab.runner import Program, make_generation_step, run_vmapped

DIMS = 10


def sphere(genotypes, generation, data):
    del generation, data
    return jnp.sum((genotypes - 1.0) ** 2, axis=-1)


def make(strategy, params):
    def init_fn(key):
        population = jax.random.normal(key, (strategy.population_size, DIMS)) * 2.0
        return strategy.init(key, population, jnp.full((strategy.population_size,), jnp.inf), params)

    return init_fn, make_generation_step(strategy, params, sphere)


def run(seed=0, faithful=False, generations=300):
    strategy = CoSyNE(20, DIMS, children=10, faithful=faithful)
    params = strategy.default_params.replace(mutation_prob=0.2, gamma=0.1)
    init_fn, step = make(strategy, params)
    keys = jax.random.split(jax.random.key(seed), 2)
    return run_vmapped(Program(init_fn, step), keys, generations)


def test_improves_sphere_and_keeps_shape():
    states, metrics = run()
    assert states.population.shape == (2, 20, DIMS)
    first, last = metrics["best_fitness"][:, 0], metrics["best_fitness"][:, -1]
    assert np.all(last < 0.05 * first)
    assert np.all(np.diff(metrics["best_fitness"], axis=1) <= 0)  # running minimum
    assert np.all(metrics["num_evaluations"] == 20)


def test_same_seed_same_numbers_and_chunking_invariance():
    _, a = run(seed=1, generations=60)
    _, b = run(seed=1, generations=60)
    np.testing.assert_array_equal(a["best_fitness"], b["best_fitness"])
    strategy = CoSyNE(20, DIMS, children=10)
    init_fn, step = make(strategy, strategy.default_params.replace(mutation_prob=0.2, gamma=0.1))
    keys = jax.random.split(jax.random.key(1), 2)
    _, chunked = run_vmapped(Program(init_fn, step), keys, 60, chunk_length=25)
    np.testing.assert_array_equal(chunked["best_fitness"], a["best_fitness"])
    _, c = run(seed=2, generations=60)
    assert not np.array_equal(a["best_fitness"], c["best_fitness"])


def _one_tell(faithful, fitness):
    strategy = CoSyNE(8, 3, children=2, faithful=faithful)
    params = strategy.default_params.replace(mutation_prob=1.0, gamma=1.0)
    population = jnp.arange(24.0).reshape(8, 3)
    state = strategy.init(jax.random.key(0), population, fitness, params)
    new_state, _ = strategy.tell(jax.random.key(1), population, fitness, state, params)
    return population, new_state.population


def test_children_replace_the_worst_rows_and_only_children_are_mutated():
    # Rows 0 and 1 are worst; the last rows (6, 7) are the best.
    fitness = jnp.array([9.0, 8.0, 3.0, 4.0, 5.0, 6.0, 1.0, 2.0])
    population, new = _one_tell(False, fitness)
    # Survivors are only shuffled within columns: each column keeps its multiset of values.
    for column in range(3):
        assert sorted(np.asarray(new[2:, column])) == sorted(np.asarray(population[2:, column]))
    # Children (rows 0, 1) are mutated crossovers of parents from the best quarter (rows 6, 7): with
    # mutation_prob=1 no gene equals a parent's gene exactly.
    parents = np.asarray(population[6:])
    assert not np.any(np.isin(np.asarray(new[:2]), parents))


def test_faithful_mutates_the_last_rows_by_index():
    fitness = jnp.array([9.0, 8.0, 3.0, 4.0, 5.0, 6.0, 1.0, 2.0])
    population, new = _one_tell(True, fitness)
    # The quirk: rows 6 and 7 (the best, but by index the last) are mutated instead of the children
    # written into rows 0 and 1; those children stay unmutated crossovers of the parents (rows 6, 7)
    # and are shuffled, with rows 2-5, by the permutation of the first population_size - children rows.
    parents = np.asarray(population[6:])
    assert not np.any(np.isin(np.asarray(new[6:]), parents))
    for column in range(3):
        values = np.asarray(new[:6, column])
        unmutated_children = values[~np.isin(values, np.asarray(population[2:6, column]))]
        assert len(unmutated_children) == 2
        assert np.all(np.isin(unmutated_children, parents[:, column]))


@pytest.mark.parametrize("children", [0, 3, 20])
def test_bad_children(children):
    with pytest.raises(ValueError, match="children"):
        CoSyNE(20, DIMS, children=children)


def test_nan_fitness_is_worst():
    strategy = CoSyNE(4, 2, children=2)
    params = strategy.default_params
    population = jnp.zeros((4, 2))
    state = strategy.init(jax.random.key(0), population, jnp.full((4,), jnp.inf), params)
    fitness = jnp.array([jnp.nan, 1.0, jnp.inf, 2.0])
    state, metrics = strategy.tell(jax.random.key(1), population, fitness, state, params)
    assert float(metrics["best_fitness"]) == 1.0
    assert np.isfinite(float(metrics["mean_fitness"]))
