"""Tests for gymnax control tasks (nevolab.tasks.control)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevolab.tasks.control import make_control_task, valid_env_names


def _zero(params):
    return jax.tree_util.tree_map(jnp.zeros_like, params)


def test_env_names_are_validated_against_gymnax():
    import gymnax

    names = valid_env_names()
    assert "Pendulum-v1" in names and "CartPole-v1" in names
    assert "MNISTBandit-bsuite" not in names
    assert set(names) == set(gymnax.registered_envs) - {"MNISTBandit-bsuite"}
    with pytest.raises(ValueError, match=r"MNISTBandit-bsuite.*downloads MNIST"):
        make_control_task("MNISTBandit-bsuite")
    with pytest.raises(ValueError, match=r"unknown or unsupported environment 'Pendulum-v0'.*CartPole-v1"):
        make_control_task("Pendulum-v0")
    with pytest.raises(ValueError, match="num_rollouts"):
        make_control_task("Pendulum-v1", num_rollouts=0)


def test_pendulum_defaults_and_parameter_count():
    task = make_control_task("Pendulum-v1")
    assert task.episode_length == 200  # from the environment's params
    assert not task.discrete and task.action_shape == (1,)
    params = task.init_params(jax.random.PRNGKey(0))
    num = sum(int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(params))
    assert num == (3 * 64 + 64) + (64 * 64 + 64) + (64 * 1 + 1)
    assert make_control_task("CartPole-v1").episode_length == 500


def _angle_normalize(x):
    return ((x + np.pi) % (2 * np.pi)) - np.pi


def test_pendulum_zero_policy_return_matches_hand_written_physics():
    """A zero network outputs torque 0; integrate Pendulum-v1's equations in NumPy from the same
    initial state and compare the episode return."""
    task = make_control_task("Pendulum-v1", hidden_sizes=(8,), episode_length=50)
    params = _zero(task.init_params(jax.random.PRNGKey(0)))
    key = jax.random.PRNGKey(3)
    key_reset, _ = jax.random.split(key)
    _, state = task.env.reset(key_reset, task.env_params)
    p = task.env_params
    theta, theta_dot = float(state.theta), float(state.theta_dot)
    expected = 0.0
    for _ in range(50):
        expected -= _angle_normalize(theta) ** 2 + 0.1 * theta_dot**2
        theta_dot = theta_dot + (3 * p.g / (2 * p.l) * np.sin(theta)) * p.dt
        theta_dot = float(np.clip(theta_dot, -p.max_speed, p.max_speed))
        theta = theta + theta_dot * p.dt
    got = float(jax.jit(task.episode_return)(params, key))
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_cartpole_return_counts_steps_until_the_first_termination():
    """Reference: step the environment in Python until it terminates; the scan must count the same
    steps and ignore what happens after gymnax's automatic reset."""
    task = make_control_task("CartPole-v1", hidden_sizes=(4,))
    params = task.init_params(jax.random.PRNGKey(1))
    key = jax.random.PRNGKey(5)
    key_reset, key_steps = jax.random.split(key)
    observation, state = task.env.reset(key_reset, task.env_params)
    act, step = jax.jit(task.act), jax.jit(task.env.step)
    expected = 0.0
    for step_key in jax.random.split(key_steps, task.episode_length):
        observation, state, reward, terminated, truncated, _ = step(
            step_key, state, act(params, observation), task.env_params)
        expected += float(reward)
        if bool(terminated) or bool(truncated):
            break
    got = float(jax.jit(task.episode_return)(params, key))
    assert got == expected
    assert 1 <= got < 500  # an untrained policy drops the pole


def test_mean_return_population_fitness_and_rollout_averaging():
    task = make_control_task("CartPole-v1", hidden_sizes=(4,), num_rollouts=3, test_rollouts=2)
    members = [task.init_params(jax.random.PRNGKey(i)) for i in range(3)]
    population = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *members)
    key = jax.random.PRNGKey(11)
    fitness = np.asarray(jax.jit(task.population_fitness)(population, key))
    episode = jax.jit(task.episode_return)
    for i, member in enumerate(members):
        returns = [float(episode(member, k)) for k in jax.random.split(key, 3)]
        np.testing.assert_allclose(fitness[i], -np.mean(returns), rtol=1e-6)
    assert len(set(fitness.tolist())) > 1  # members differ, so the evaluator is not constant
    assert task.act(members[0], jnp.zeros(4)).dtype == jnp.int32
