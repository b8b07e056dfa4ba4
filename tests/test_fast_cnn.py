"""The shared-batch population forward of Study B's CNN against its oracle (the vmapped flax forward),
and the ES's population chunks chosen from the memory budget."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from nevolab.config import ConfigError
from nevolab.datasets import ImageDataset
from nevolab.models import population_cnn
from nevolab.pruning.es import choose_chunk, plan_for, population_losses, problem_chunk, run_es_imp
from nevolab.pruning.strategies import es_config_for
from nevolab.studies.b.tasks import pruning_problem
from nevolab.tasks.vision import CNN, FLOAT_BYTES, cross_entropy, make_vision_task


def _population(side: int, members: int, batch: int, masked: bool = False):
    """A random population of the CNN on ``side``×``side`` images, a random batch and labels."""
    keys = jax.random.split(jax.random.PRNGKey(side), 3)
    images = jax.random.normal(keys[0], (batch, side, side, 1))
    labels = jax.random.randint(keys[1], (batch,), 0, 10)
    model = CNN()
    params = jax.vmap(lambda k: model.init(k, images[:1]))(jax.random.split(keys[2], members))
    if masked:  # pruned kernels are zeros in the decoded members, as the ES path passes them
        leaves, tree = jax.tree_util.tree_flatten(params)
        drop = jax.random.split(jax.random.PRNGKey(7), len(leaves))
        leaves = [jnp.where(jax.random.bernoulli(k, 0.5, leaf.shape), 0.0, leaf) if leaf.ndim > 2 else leaf
                  for k, leaf in zip(drop, leaves)]
        params = jax.tree_util.tree_unflatten(tree, leaves)
    return model, params, images, labels


@pytest.mark.parametrize("side, members, masked", [(8, 11, True), (28, 5, False)])
def test_the_fast_forward_equals_the_vmapped_flax_forward(side, members, masked):
    model, params, images, labels = _population(side, members, batch=6, masked=masked)
    expected = jax.vmap(lambda p: model.apply(p, images))(params)
    # group 4: two whole groups and a remainder of 3 (11 members), or one and a remainder of 1 (5)
    got = jax.jit(population_cnn.population_log_probs, static_argnums=2)(params, images, 4)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-5)
    losses = jax.vmap(lambda p: cross_entropy(p, labels))(expected)
    fast = jax.jit(population_cnn.population_cross_entropy, static_argnums=3)(params, images, labels, 4)
    np.testing.assert_allclose(np.asarray(fast), np.asarray(losses), rtol=1e-5)


@pytest.mark.parametrize("height, width", [(4, 4), (6, 4)])
def test_the_dense_convolution_is_the_shifted_one(height, width):
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    x = jax.random.normal(keys[0], (3, 5, 8, height, width))  # (P, B, C, H, W)
    kernel = jax.random.normal(keys[1], (3, 5, 5, 8, 16))
    bias = jax.random.normal(keys[2], (3, 16))
    shifted = jax.vmap(population_cnn.later_conv)(jnp.swapaxes(x, 1, 2), kernel, bias)  # (P, F, B, h, w)
    dense = population_cnn.dense_conv(x, kernel, bias)  # (P, B, F, h, w)
    np.testing.assert_allclose(np.asarray(dense), np.asarray(jnp.swapaxes(shifted, 1, 2)), rtol=1e-5,
                               atol=1e-5)


def test_small_maps_take_the_dense_path_and_large_ones_the_shifted_one():
    params = jax.vmap(CNN().init, in_axes=(0, None))(jax.random.split(jax.random.PRNGKey(0), 2),
                                                     jnp.zeros((1, 8, 8, 1)))["params"]
    assert population_cnn._dense_path(params, 2, 8, 8)
    assert not population_cnn._dense_path(params, 2, 28, 28)


def _tiny_task(side: int = 8, batch: int = 16):
    rng = np.random.default_rng(side)
    data = ImageDataset("tiny", rng.normal(size=(64, side, side, 1)).astype(np.float32),
                        rng.integers(0, 10, 64).astype(np.int32),
                        rng.normal(size=(8, side, side, 1)).astype(np.float32),
                        rng.integers(0, 10, 8).astype(np.int32), 10, "random")
    return make_vision_task(data, batch_size=batch)


@pytest.mark.parametrize("fast", [False, True])
def test_the_memory_per_member_bounds_what_xla_allocates(fast):
    task = _tiny_task(side=28, batch=32)
    members = jax.vmap(task.init_params)(jax.random.split(jax.random.PRNGKey(0), 9))
    compiled = jax.jit(lambda m, k: task.population_loss(m, k, fast)).lower(
        members, jax.random.PRNGKey(1)).compile()
    estimate = 9 * task.member_bytes(fast) + task.shared_bytes(fast)
    assert 0.25 * estimate <= compiled.memory_analysis().temp_size_in_bytes <= 1.05 * estimate
    assert task.member_bytes() == 32 * 28 * 28 * 16 * FLOAT_BYTES


def test_the_chunk_is_chosen_from_the_budget(monkeypatch):
    assert choose_chunk(128, 1, 10.0, budget=1280.0) is None  # the whole population fits: no chunks
    assert choose_chunk(128, 1, 10.0, budget=1250.0) == 64  # 125 fit: 2 steps, balanced
    assert choose_chunk(100, 4, 10.0, budget=1000.0) == 25  # 25 members of each of 4 runs
    # (160 - 100) // 20 = 3 fit: 4 steps, 3 + 3 + 3 + 1
    assert choose_chunk(10, 2, 10.0, shared_bytes=50.0, budget=160.0) == 3
    assert choose_chunk(10, 1, None, budget=1.0) is None  # no estimate: never chunked
    monkeypatch.setenv("NEVOLAB_MEMORY_GB", str(300 / 2**30))
    assert choose_chunk(128, 1, 10.0) == 26  # 30 fit: 5 steps, balanced to at most 26 members


def test_a_run_that_cannot_fit_one_member_is_refused_in_one_line_before_computing(monkeypatch):
    task = _tiny_task()
    problem = pruning_problem(task)
    monkeypatch.setenv("NEVOLAB_MEMORY_GB", str(task.member_bytes() / 2 / 2**30))
    with pytest.raises(ConfigError, match="memory budget") as refused:
        run_es_imp(problem, es_config_for("Sep_CMA_ES", "vision", 8, 2), ["snr"],
                   plan_for(problem, [0], 2, 0.5))
    assert "\n" not in str(refused.value)


def test_a_chunked_evaluation_equals_the_unchunked_one_on_either_forward():
    task = _tiny_task()
    template, unravel = ravel_pytree(task.init_params(jax.random.PRNGKey(0)))
    members = template + 0.1 * jax.random.normal(jax.random.PRNGKey(2), (8, template.size))
    key = jax.random.PRNGKey(3)
    losses = jax.jit(population_losses, static_argnums=(0, 1, 4))
    flax, fast = pruning_problem(task), pruning_problem(task, fast=True)
    whole = losses(flax, unravel, members, key, None)
    np.testing.assert_allclose(np.asarray(losses(flax, unravel, members, key, 3)), np.asarray(whole),
                               rtol=1e-6)  # chunks of 3, 3 and 2
    fast_whole = losses(fast, unravel, members, key, None)
    np.testing.assert_allclose(np.asarray(fast_whole), np.asarray(whole), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(losses(fast, unravel, members, key, 3)), np.asarray(fast_whole),
                               rtol=1e-6)


def test_the_es_round_takes_the_chunk_from_the_budget(monkeypatch):
    task = _tiny_task()
    problem = pruning_problem(task)
    monkeypatch.setenv("NEVOLAB_MEMORY_GB", str(3.5 * task.member_bytes() / 2**30))
    assert problem_chunk(problem, 8, 1) == 3
    assert problem_chunk(problem, 8, 2) == 1
    assert problem_chunk(pruning_problem(task, population_chunk=5), 8, 2) == 5  # a hand-set chunk wins
    monkeypatch.delenv("NEVOLAB_MEMORY_GB")
    assert problem_chunk(problem, 8, 30) is None  # the whole population fits today's budgets
