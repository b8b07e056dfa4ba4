"""Tests for the Deep GA with seed-list genomes (nevolab.algorithms.deep_ga)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevolab.algorithms.deep_ga import DeepGA, raw_key, rebuild_from_seeds
from nevolab.lowrank import genome_layout
from nevolab.models.transformer import TransformerConfig, init_params, token_cross_entropy


def genome_bytes(num_dims: int, seed_length, dtype_bytes: int = 4) -> dict[str, float]:
    """Storage of one genome: as its seed list (two uint32 per key) versus as a dense network."""
    seed_bytes = 8.0 * np.mean(np.asarray(seed_length))
    network_bytes = float(num_dims * dtype_bytes)
    return {"seed_list_bytes": seed_bytes, "network_bytes": network_bytes,
            "compression": network_bytes / max(seed_bytes, 1.0)}


D = 12
SCALES = np.r_[np.full(9, 0.1), np.zeros(3)].astype(np.float32)  # the last 3 genes never mutate
TARGET = jnp.linspace(-1.0, 1.0, D)


def _sphere(g):
    return jnp.sum((g - TARGET) ** 2)


def _init_fn(key):
    return jax.random.normal(key, (D,))


N, K, GENERATIONS, CAPACITY = 256, 4, 30, 4


@pytest.fixture(scope="module")
def sphere():
    """One compiled run on a quadratic loss: the initial population, the state after the first
    ``tell`` and the state and metrics after GENERATIONS generations (seed lists of capacity 5, so
    long lineages overflow)."""
    ga = DeepGA(N, D, K, SCALES, max_generations=CAPACITY)
    params = ga.default_params

    def run():
        population, init_keys = ga.sample_initial(jax.random.PRNGKey(0), _init_fn)
        fitness = jax.vmap(_sphere)(population)
        state = ga.init(jax.random.PRNGKey(1), population, fitness, params, init_keys)

        def step(state, key):
            pop, state = ga.ask(key, state, params)
            return ga.tell(key, pop, jax.vmap(_sphere)(pop), state, params)

        keys = jax.random.split(jax.random.PRNGKey(2), GENERATIONS)
        first, first_metrics = step(state, keys[0])
        last, metrics = jax.lax.scan(step, first, keys[1:])
        # one more evaluation, to check the reported mutation effects by hand
        _, next_metrics = step(last, keys[0])
        metrics = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first_metrics, metrics)
        return population, fitness, first, last, metrics, next_metrics

    return ga, jax.jit(run)()


def test_one_generation_truncation_cloning_and_mutation(sphere):
    _, (population, fitness, new, _, metrics, _) = sphere
    best = np.argsort(np.asarray(fitness))[:K]
    np.testing.assert_array_equal(new.population[:K], population[best])  # elites unmutated, best first
    np.testing.assert_array_equal(new.fitness[:K], fitness[best])
    assert np.all(np.isinf(np.asarray(new.fitness[K:])))
    assert float(metrics["best_fitness"][0]) == float(metrics["min_fitness"][0]) == float(fitness.min())
    assert np.isnan(float(metrics["mean_mutation_effect"][0]))  # no parents yet

    parents = np.asarray(new.parent_index[K:])
    assert set(parents) == set(best)  # clones only of survivors ...
    counts = np.bincount(np.searchsorted(np.sort(best), parents), minlength=K)
    assert counts.min() > 0.6 * (N - K) / K  # ... chosen uniformly
    step = np.asarray(new.population[K:] - population[parents])
    np.testing.assert_array_equal(step[:, 9:], 0.0)  # zero-scale genes (layer norms) never move
    z = step[:, :9] / 0.1
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1.0) < 0.05  # one N(0, scale^2) mutation per gene
    np.testing.assert_array_equal(new.parent_fitness, fitness[np.asarray(new.parent_index)])
    assert np.all(np.asarray(new.is_elite) == (np.arange(N) < K))
    np.testing.assert_array_equal(new.seed_length, np.r_[np.ones(K), 2 * np.ones(N - K)])


def test_mutation_effect_metrics_and_elitism(sphere):
    _, (_, _, _, last, metrics, next_metrics) = sphere
    best = np.asarray(metrics["min_fitness"])
    # elites are re-evaluated on a deterministic fitness: the generation's best never gets worse
    assert np.all(np.diff(best) <= 0)
    assert best[-1] < 0.5 * best[0]
    np.testing.assert_array_equal(metrics["best_fitness"], best)
    effect = np.asarray(metrics["mean_mutation_effect"])
    fraction = np.asarray(metrics["deleterious_fraction"])
    assert np.isnan(effect[0]) and np.all(np.isfinite(effect[1:]))
    assert np.all((fraction[1:] >= 0) & (fraction[1:] <= 1))
    assert np.mean(fraction[1:]) > 0.5  # most mutations of a good parent are harmful
    # the next tell reports the children's loss minus their parent's:
    change = np.asarray(jax.vmap(_sphere)(last.population) - last.parent_fitness)[K:]
    np.testing.assert_allclose(next_metrics["mean_mutation_effect"], change.mean(), rtol=1e-4)
    np.testing.assert_allclose(next_metrics["deleterious_fraction"], np.mean(change > 0))


def test_seed_list_overflow_and_untracked_ancestry(sphere):
    _, (_, _, _, last, _, _) = sphere
    # after 30 generations every lineage is longer than the capacity of 5 keys
    lengths = np.asarray(last.seed_length)
    over = int(np.argmax(lengths))
    assert lengths[over] > CAPACITY + 1
    with pytest.raises(ValueError, match="overflowed"):
        rebuild_from_seeds(last.seeds[over], int(lengths[over]), _init_fn, SCALES)
    with pytest.raises(ValueError, match="not tracked"):
        rebuild_from_seeds(np.zeros((3, 2), np.uint32), 0, _init_fn, SCALES)


def test_seed_lists_replay_bit_identically_on_a_tiny_transformer():
    config = TransformerConfig(vocab_size=7, hidden_dim=4, ff_dim=8, num_heads=2, head_dim=2, num_blocks=1)
    # only shapes are needed (the GA draws its own initial genotypes): no need to compile flax's init
    shapes = jax.eval_shape(lambda k: init_params(config, k), jax.random.PRNGKey(0))
    template = jax.tree_util.tree_map(lambda a: np.zeros(a.shape, a.dtype), shapes)
    layout = genome_layout(template, rank=2, embedding_rank=2)
    tokens = jax.random.randint(jax.random.PRNGKey(1), (2, 9), 0, config.vocab_size)

    def loss(genotype):
        return token_cross_entropy(layout.encoding.decode(genotype), tokens, config)

    generations = 20
    ga = DeepGA(12, layout.num_genes, 3, layout.mutation_scales, max_generations=generations)
    params = ga.default_params
    population, init_keys = ga.sample_initial(jax.random.PRNGKey(2), layout.init_fn)
    state = ga.init(jax.random.PRNGKey(3), population, jax.vmap(loss)(population), params, init_keys)

    def step(state, key):
        pop, state = ga.ask(key, state, params)
        return ga.tell(key, pop, jax.vmap(loss)(pop), state, params)

    keys = jax.random.split(jax.random.PRNGKey(4), generations)
    state, metrics = jax.jit(lambda s: jax.lax.scan(step, s, keys))(state)
    lengths = np.asarray(state.seed_length)
    assert lengths.max() > 3 and np.all(lengths <= generations + 1)
    assert metrics["min_fitness"][-1] < metrics["min_fitness"][0]
    scales = jnp.asarray(layout.mutation_scales)
    rebuilt = jax.jit(jax.vmap(lambda s, n: rebuild_from_seeds(s, n, layout.init_fn, scales)))(
        state.seeds, state.seed_length
    )
    np.testing.assert_array_equal(np.asarray(rebuilt), np.asarray(state.population))  # bit for bit
    sizes = genome_bytes(layout.num_genes, lengths)
    assert sizes["network_bytes"] == 4 * layout.num_genes
    assert sizes["seed_list_bytes"] == 8 * lengths.mean()


def test_typed_keys_are_accepted():
    np.testing.assert_array_equal(raw_key(jax.random.key(7)), jax.random.PRNGKey(7))
    with pytest.raises(ValueError, match="shape"):
        raw_key(jnp.zeros((4,), jnp.uint32))


def test_validation():
    with pytest.raises(ValueError, match=r"num_elites must be in \[1, 7\]"):
        DeepGA(8, D, 8, SCALES)
    with pytest.raises(ValueError, match="num_elites"):
        DeepGA(8, D, 0, SCALES)
    with pytest.raises(ValueError, match="mutation_scales must have shape"):
        DeepGA(8, D + 1, 2, SCALES)
    with pytest.raises(ValueError, match="non-negative"):
        DeepGA(8, D, 2, -SCALES)
    with pytest.raises(ValueError, match="population_size"):
        DeepGA(1, D, 1, SCALES)
