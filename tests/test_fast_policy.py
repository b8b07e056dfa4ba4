"""The fast population rollout of a control task against the vmapped per-member one (the oracle).

``ControlTask.population_mean_return(..., fast=True)`` steps every member's episodes in one scan with
each policy layer one batched product over members; it must give each member's ``mean_return`` on
the same episodes: the same keys, resets, steps, actions and clipping.
"""

from __future__ import annotations

import functools

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from nevolab.tasks.control import make_control_task
from nevolab.tasks.population_mlp import members_per_chunk, population_forward, stacked_layers

MEMBERS, EPISODES, STEPS = 6, 3, 20


def _population(task, key, scale: float = 1.0):
    """``MEMBERS`` stacked policies: fresh initialisations plus noise of ``scale`` on every weight."""
    members = jax.vmap(task.init_params)(jax.random.split(key, MEMBERS))
    leaves, tree = jax.tree_util.tree_flatten(members)
    keys = jax.random.split(jax.random.fold_in(key, 1), len(leaves))
    noisy = [leaf + scale * jax.random.normal(k, leaf.shape) for leaf, k in zip(leaves, keys)]
    return jax.tree_util.tree_unflatten(tree, noisy)


@functools.cache
def _rollouts(task, episodes: int):
    """The jitted oracle and fast rollouts of ``task`` (cached: each compiles once per shape)."""
    return tuple(jax.jit(lambda p, k, fast=fast: task.population_mean_return(p, k, episodes, fast=fast))
                 for fast in (False, True))


def _both(task, members, key, episodes: int = EPISODES):
    oracle, fast = _rollouts(task, episodes)
    return np.asarray(oracle(members, key)), np.asarray(fast(members, key))


def test_the_batched_forward_is_each_members_policy():
    task = make_control_task("Pendulum-v1", hidden_sizes=(6, 5), episode_length=STEPS)
    members = _population(task, jax.random.PRNGKey(0))
    observations = jax.random.normal(jax.random.PRNGKey(1), (MEMBERS, EPISODES, 3))
    expected = jax.vmap(jax.vmap(task.policy.apply, in_axes=(None, 0)))(members, observations)
    got = population_forward(stacked_layers(members), observations)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_fast_returns_of_the_papers_2x64_policy_are_the_vmapped_ones():
    task = make_control_task("Pendulum-v1", hidden_sizes=(64, 64), episode_length=STEPS)
    members = _population(task, jax.random.PRNGKey(2), scale=0.5)
    oracle, fast = _both(task, members, jax.random.PRNGKey(3))
    assert oracle.shape == (MEMBERS,) and np.ptp(oracle) > 1.0  # members really differ
    np.testing.assert_allclose(fast, oracle, rtol=1e-5, atol=1e-4)


def test_fast_returns_with_masked_weights_and_a_zero_layer():
    """Pruned (zeroed) weights, and one member whose output layer is all zero (torque 0)."""
    task = make_control_task("Pendulum-v1", hidden_sizes=(8, 8), episode_length=STEPS)
    members = _population(task, jax.random.PRNGKey(4), scale=0.5)
    leaves, tree = jax.tree_util.tree_flatten(members)
    keys = jax.random.split(jax.random.PRNGKey(10), len(leaves))
    masks = [jax.random.bernoulli(k, 0.7, leaf.shape) for k, leaf in zip(keys, leaves)]  # 30 % pruned
    masked = jax.tree_util.tree_unflatten(tree, [leaf * m for leaf, m in zip(leaves, masks)])
    inner = masked["params"]
    last = max(inner, key=lambda name: int(name.rsplit("_", 1)[1]))
    inner[last] = {name: value.at[0].set(0.0) for name, value in inner[last].items()}
    oracle, fast = _both(task, masked, jax.random.PRNGKey(5))
    np.testing.assert_allclose(fast, oracle, rtol=1e-5, atol=1e-4)
    # An all-zero population: every member is the zero policy, so all returns are equal.
    zero = jax.tree_util.tree_map(jnp.zeros_like, masked)
    oracle_zero, fast_zero = _both(task, zero, jax.random.PRNGKey(5))
    np.testing.assert_allclose(fast_zero, oracle_zero, rtol=1e-5, atol=1e-4)
    assert np.ptp(oracle_zero) == 0.0


def test_fast_discrete_actions_take_the_argmax():
    task = make_control_task("CartPole-v1", hidden_sizes=(8,), episode_length=STEPS)
    members = _population(task, jax.random.PRNGKey(6), scale=1.0)
    oracle, fast = _both(task, members, jax.random.PRNGKey(7), episodes=4)
    np.testing.assert_allclose(fast, oracle, rtol=1e-5, atol=1e-4)


def test_fast_returns_in_member_chunks():
    """Members stepped a chunk at a time (``lax.map`` over chunks) give the same returns."""
    task = make_control_task("Pendulum-v1", hidden_sizes=(8,), episode_length=STEPS)
    members = _population(task, jax.random.PRNGKey(8), scale=0.5)
    key = jax.random.PRNGKey(9)
    oracle, _ = _both(task, members, key)
    fast = task.population_mean_return(members, key, EPISODES, fast=True, member_chunk=3)
    np.testing.assert_allclose(fast, oracle, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="does not divide"):
        task.population_mean_return(members, key, EPISODES, fast=True, member_chunk=4)


def test_members_per_chunk_is_the_largest_divisor_that_fits():
    task = make_control_task("Pendulum-v1", hidden_sizes=(8,), episode_length=STEPS)
    members = _population(task, jax.random.PRNGKey(0))  # 6 members of 57 float32 weights each
    member_bytes = 4 * ((3 * 8 + 8) + (8 * 1 + 1))
    assert members_per_chunk(members, chunk_bytes=1) == 1
    assert members_per_chunk(members, chunk_bytes=5 * member_bytes) == 3
    assert members_per_chunk(members, chunk_bytes=6 * member_bytes) == 6


def test_the_pruning_problems_fast_loss_is_the_vmapped_fitness():
    from nevolab.pruning.es import population_losses
    from nevolab.studies.b import tasks

    task = make_control_task("Pendulum-v1", hidden_sizes=(8, 8), num_rollouts=2, episode_length=STEPS)
    members = _population(task, jax.random.PRNGKey(6), scale=0.5)
    _, unravel = jax.flatten_util.ravel_pytree(jax.tree_util.tree_map(lambda leaf: leaf[0], members))
    rows = jax.vmap(lambda p: jax.flatten_util.ravel_pytree(p)[0])(members)
    key = jax.random.PRNGKey(7)
    plain = population_losses(tasks.pruning_problem(task), unravel, rows, key, None)
    fast = population_losses(tasks.pruning_problem(task, fast=True), unravel, rows, key, None)
    assert np.ptp(np.asarray(plain)) > 1.0
    np.testing.assert_allclose(fast, plain, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(plain, jax.vmap(task.fitness, in_axes=(0, None))(members, key), rtol=1e-6)


def test_auto_takes_the_fast_forward_where_it_pays():
    from nevolab.studies.b import tasks

    assert tasks.fast_forward("pendulum", "auto") and tasks.fast_forward("mnist5k", "auto")
    assert not tasks.fast_forward("digits", "auto") and not tasks.fast_forward("digits_rot90", "auto")
    assert tasks.fast_forward("digits", "fast") and not tasks.fast_forward("pendulum", "plain")
    with pytest.raises(ValueError, match="forward must be one of auto, plain, fast"):
        tasks.fast_forward("pendulum", "quick")


def test_a_plain_forward_es_run_keeps_the_key_it_had_before_the_fast_forward():
    import dataclasses

    from nevolab.config import RunConfig, stable_hash
    from nevolab.registry import configure
    from nevolab.studies.b import runs

    fast = runs.es_run("pendulum", configure("b1_ticket_curves", "smoke"))
    plain = dataclasses.replace(fast, fast_forward=False)
    assert fast.fast_forward and "fast_forward" not in plain.to_dict()
    fields = RunConfig.to_dict(plain)
    assert fields.pop("fast_forward") is False and plain.hash() == stable_hash(fields)
    assert fast.hash() != plain.hash()
