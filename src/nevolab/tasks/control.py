"""Control tasks: gymnax rollouts of a tanh MLP policy, evaluated for a whole ES population.

The lottery-ticket paper's own gymnax task is ``Pendulum-v1`` (``originals.md`` §2.3: ``GymPolicy``,
a tanh MLP with raw, unsquashed output; ``gym.yaml``: 2 hidden layers of 64, 8 training rollouts,
32 test rollouts, no observation normalisation). Discrete-action environments (CartPole-v1, ...)
take the argmax of the outputs, as the original's ``output_act_fn="argmax"``.

A rollout is one ``lax.scan`` over ``episode_length`` steps (by default the environment's
``max_steps_in_episode``). gymnax resets automatically after an episode ends; the scan keeps
stepping but a ``alive`` flag stops the return from accumulating after the first end, so the result
is the return of exactly one episode. Fitness (minimised) is minus the mean return over
``num_rollouts`` episodes; all members of a population are evaluated on the same episode keys
(common random numbers), which makes their ranking less noisy.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from nevolab.tasks.population_mlp import members_per_chunk, population_forward, stacked_layers

PyTree = Any

#: Registered gymnax environments that cannot be made offline (they download data in ``make``).
DOWNLOADING_ENVS = {"MNISTBandit-bsuite": "downloads MNIST when it is made"}


def valid_env_names() -> tuple[str, ...]:
    """gymnax's registered environments minus those that download data."""
    import gymnax

    return tuple(name for name in gymnax.registered_envs if name not in DOWNLOADING_ENVS)


def _check_env_name(env_name: str) -> None:
    valid = valid_env_names()
    if env_name not in valid:
        reason = f" ({DOWNLOADING_ENVS[env_name]})" if env_name in DOWNLOADING_ENVS else ""
        raise ValueError(
            f"unknown or unsupported environment {env_name!r}{reason}; valid: {', '.join(valid)}")


class MLPPolicy(nn.Module):
    """A tanh MLP on the flattened observation with a linear (raw) output layer.

    Biases start at ``uniform(0.05)`` like the original's Brax and MNIST policies (its gymnax
    ``GymPolicy`` is not in the public snapshot), so that pruning them is not trivially harmless.
    """

    hidden_sizes: Sequence[int]
    num_outputs: int

    @nn.compact
    def __call__(self, observation: jax.Array) -> jax.Array:
        x = jnp.ravel(observation).astype(jnp.float32)
        for size in self.hidden_sizes:
            x = jnp.tanh(nn.Dense(size, bias_init=nn.initializers.uniform(0.05))(x))
        return nn.Dense(self.num_outputs, bias_init=nn.initializers.uniform(0.05))(x)


@dataclasses.dataclass(frozen=True, eq=False)
class ControlTask:
    """A gymnax environment plus a policy network; all methods are pure and jittable.

    Attributes:
        env_name: gymnax id.
        env, env_params: from ``gymnax.make``.
        policy: the flax module (:class:`MLPPolicy`).
        discrete: True for ``Discrete`` action spaces (argmax of the outputs).
        action_low, action_high: bounds for continuous actions (outputs are clipped to them).
        episode_length: steps per rollout.
        num_rollouts: episodes averaged per training evaluation.
        test_rollouts: episodes averaged per test evaluation.
    """

    env_name: str
    env: Any
    env_params: Any
    policy: MLPPolicy
    discrete: bool
    action_low: np.ndarray | None
    action_high: np.ndarray | None
    action_shape: tuple[int, ...]
    observation_shape: tuple[int, ...]
    episode_length: int
    num_rollouts: int
    test_rollouts: int

    @property
    def name(self) -> str:
        """A name that identifies the task and its settings (used in checkpoint fingerprints)."""
        hidden = "x".join(str(h) for h in self.policy.hidden_sizes) or "linear"
        return (f"{self.env_name}/mlp{hidden}/T{self.episode_length}/train{self.num_rollouts}"
                f"/test{self.test_rollouts}")

    def init_params(self, key: jax.Array) -> PyTree:
        """A fresh policy (flax's default lecun-normal kernels)."""
        return self.policy.init(key, jnp.zeros(self.observation_shape, jnp.float32))

    def act(self, params: PyTree, observation: jax.Array) -> jax.Array:
        """The policy's action for one observation."""
        output = self.policy.apply(params, observation)
        if self.discrete:
            return jnp.argmax(output).astype(jnp.int32)
        action = output.reshape(self.action_shape)
        return jnp.clip(action, self.action_low, self.action_high)

    def episode_return(self, params: PyTree, key: jax.Array) -> jax.Array:
        """The undiscounted return of one episode (truncated at ``episode_length`` steps)."""
        key_reset, key_steps = jax.random.split(key)
        observation, state = self.env.reset(key_reset, self.env_params)

        def step(carry, step_key):
            observation, state, total, alive = carry
            action = self.act(params, observation)
            observation, state, reward, terminated, truncated, _ = self.env.step(
                step_key, state, action, self.env_params)
            total = total + alive * reward.astype(jnp.float32)
            alive = alive * (1.0 - jnp.logical_or(terminated, truncated).astype(jnp.float32))
            return (observation, state, total, alive), None

        carry = (observation, state, jnp.zeros((), jnp.float32), jnp.ones((), jnp.float32))
        (_, _, total, _), _ = jax.lax.scan(step, carry, jax.random.split(key_steps, self.episode_length))
        return total

    def mean_return(self, params: PyTree, key: jax.Array, num_rollouts: int) -> jax.Array:
        """Mean return over ``num_rollouts`` episodes with keys ``split(key, num_rollouts)``."""
        keys = jax.random.split(key, num_rollouts)
        return jnp.mean(jax.vmap(self.episode_return, in_axes=(None, 0))(params, keys))

    def fitness(self, params: PyTree, key: jax.Array) -> jax.Array:
        """Training fitness to minimise: −(mean return over ``num_rollouts`` episodes)."""
        return -self.mean_return(params, key, self.num_rollouts)

    def test_score(self, params: PyTree, key: jax.Array) -> jax.Array:
        """Test performance (higher is better): mean return over ``test_rollouts`` episodes."""
        return self.mean_return(params, jax.random.fold_in(key, 0x7E57), self.test_rollouts)

    def population_mean_return(self, population_params: PyTree, key: jax.Array, num_rollouts: int,
                               fast: bool = False, member_chunk: int | None = None) -> jax.Array:
        """Every member's :meth:`mean_return` on the same episodes (leading axis = members).

        ``fast=False`` vmaps :meth:`mean_return` over members; ``fast=True`` steps the episodes of
        ``member_chunk`` members at a time together (:meth:`_population_returns`; by default
        :func:`members_per_chunk`, a divisor of the member count): the same keys, steps and
        actions, so the same returns up to float32 rounding of the policy's matrix products.
        """
        if not fast:
            return jax.vmap(self.mean_return, in_axes=(0, None, None))(population_params, key, num_rollouts)
        members = jax.tree_util.tree_leaves(population_params)[0].shape[0]
        chunk = member_chunk or members_per_chunk(population_params)
        if members % chunk:
            raise ValueError(f"member_chunk {chunk} does not divide the {members} members")
        chunks = jax.tree_util.tree_map(
            lambda leaf: leaf.reshape(members // chunk, chunk, *leaf.shape[1:]), population_params)
        episodes = self._episode_inputs(key, num_rollouts)  # drawn once, shared by every chunk
        returns = jax.lax.map(lambda part: self._population_returns(part, episodes), chunks)
        return jnp.mean(returns.reshape(members, num_rollouts), axis=1)

    def _population_actions(self, outputs: jax.Array) -> jax.Array:
        """:meth:`act` on the outputs ``(members, episodes, num_outputs)`` of a whole population."""
        if self.discrete:
            return jnp.argmax(outputs, axis=-1).astype(jnp.int32)
        action = outputs.reshape(outputs.shape[:2] + self.action_shape)
        return jnp.clip(action, self.action_low, self.action_high)

    def _episode_inputs(self, key: jax.Array, num_rollouts: int) -> tuple:
        """What every member's episodes share: the first observations and states ``(episodes, ...)``,
        the ``step_env`` keys ``(steps, episodes)`` and the automatic resets ``(steps, episodes, ...)``.

        Episode ``e`` uses the keys of :meth:`episode_return` on ``split(key, num_rollouts)[e]``, each
        step's key split as gymnax's ``step`` splits it: (``step_env``, automatic reset). The resets
        depend on those keys alone, so they are drawn here for every step, before the loop: inside it
        XLA would fuse the reset's hashing into every member's copy of each state update (about a
        tenth of the rollout's time).
        """
        env, env_params = self.env, self.env_params

        def episode_keys(episode_key):
            key_reset, key_steps = jax.random.split(episode_key)
            return key_reset, jax.random.split(key_steps, self.episode_length)

        reset_keys, step_keys = jax.vmap(episode_keys)(jax.random.split(key, num_rollouts))
        env_keys, auto_reset_keys = jax.vmap(jax.vmap(lambda k: tuple(jax.random.split(k))))(
            jnp.swapaxes(step_keys, 0, 1))
        per_episode = jax.vmap(env.reset_env, in_axes=(0, None))
        auto_resets = jax.vmap(per_episode, in_axes=(0, None))(auto_reset_keys, env_params)
        observation, state = jax.vmap(env.reset, in_axes=(0, None))(reset_keys, env_params)
        return observation, state, env_keys, auto_resets

    def _population_returns(self, population_params: PyTree, episodes: tuple) -> jax.Array:
        """Returns ``(members, episodes)``: one ``lax.scan`` over time steps every member's episodes
        at once, each policy layer one batched product over members (:func:`population_forward`).

        Every member plays the same episodes (:meth:`_episode_inputs`), as in the vmapped path. The
        environment steps as gymnax's ``step`` does: ``step_env``, then the automatic reset where
        the episode ended.
        """
        layers = stacked_layers(population_params)
        members = layers[0][0].shape[0]
        env, env_params = self.env, self.env_params
        observation, state, env_keys, auto_resets = episodes
        num_rollouts = env_keys.shape[1]
        observation, state = jax.tree_util.tree_map(
            lambda leaf: jnp.broadcast_to(leaf, (members, *leaf.shape)), (observation, state))
        # Keys stay unbatched over members: every member steps its episodes with the same keys.
        over_population = functools.partial(jax.vmap, in_axes=(None, 0, 0, None))
        step_env = over_population(jax.vmap(env.step_env, in_axes=(0, 0, 0, None)))
        is_truncated = jax.vmap(jax.vmap(env.is_truncated, in_axes=(0, None)), in_axes=(0, None))

        def step(carry, inputs):
            observation, state, total, alive = carry
            env_key, auto_reset = inputs
            flat = observation.reshape(members, num_rollouts, -1).astype(jnp.float32)
            action = self._population_actions(population_forward(layers, flat))
            stepped_observation, stepped_state, reward, terminated, _ = step_env(
                env_key, state, action, env_params)
            done = jnp.logical_or(terminated, is_truncated(stepped_state, env_params))
            observation, state = jax.tree_util.tree_map(
                lambda reset, stepped: _where_done(done, reset, stepped), auto_reset,
                (stepped_observation, stepped_state))
            total = total + alive * reward.astype(jnp.float32)
            alive = alive * (1.0 - done.astype(jnp.float32))
            return (observation, state, total, alive), None

        shape = (members, num_rollouts)
        carry = (observation, state, jnp.zeros(shape, jnp.float32), jnp.ones(shape, jnp.float32))
        (_, _, total, _), _ = jax.lax.scan(step, carry, (env_keys, auto_resets))
        return total

    def fast_population_fitness(self, population_params: PyTree, key: jax.Array) -> jax.Array:
        """:meth:`population_fitness` through the batched policy forward (``fast=True``)."""
        return -self.population_mean_return(population_params, key, self.num_rollouts, fast=True)

    def population_fitness(self, population_params: PyTree, key: jax.Array) -> jax.Array:
        """Fitness of a stacked population (leading axis = members), same episodes for all."""
        return jax.vmap(self.fitness, in_axes=(0, None))(population_params, key)


def _where_done(done: jax.Array, reset: jax.Array, stepped: jax.Array) -> jax.Array:
    """gymnax's automatic reset for a population: ``reset`` (episodes, ...) where ``done``
    (members, episodes), else ``stepped`` (members, episodes, ...)."""
    done = done.reshape(done.shape + (1,) * (stepped.ndim - done.ndim))
    return jnp.where(done, reset[None], stepped)


def make_control_task(env_name: str = "Pendulum-v1", hidden_sizes: Sequence[int] = (64, 64),
                      num_rollouts: int = 8, test_rollouts: int = 32,
                      episode_length: int | None = None,
                      env_overrides: Mapping[str, float] | None = None) -> ControlTask:
    """Build a :class:`ControlTask` for any offline gymnax environment.

    Args:
        env_name: a gymnax id from :func:`valid_env_names` (e.g. ``"Pendulum-v1"``, ``"CartPole-v1"``).
        hidden_sizes: tanh hidden layers (the original's ``gym.yaml``: 2 × 64; its PPO config 2 × 32).
        num_rollouts: episodes per training evaluation (the original's ``n_repeats``: 8).
        test_rollouts: episodes per test evaluation (``n_evaluations``: 32).
        episode_length: steps per episode (the environment's time limit is set to it, as the
            original's ``max_steps``); ``None`` = its ``max_steps_in_episode`` (Pendulum 200, CartPole 500).
        env_overrides: environment parameters to change, e.g. ``{"m": 1.5}`` for a heavier pendulum
            (the paper's "Ant: Mass 10 → Mass 15" transfer task, on Pendulum).
    """
    _check_env_name(env_name)
    if int(num_rollouts) < 1 or int(test_rollouts) < 1:
        raise ValueError(f"num_rollouts and test_rollouts must be >= 1; got {num_rollouts}, {test_rollouts}")
    if any(int(h) < 1 for h in hidden_sizes):
        raise ValueError(f"hidden_sizes must be positive integers; got {tuple(hidden_sizes)}")
    import gymnax
    from gymnax.environments import spaces

    env, env_params = gymnax.make(env_name)
    if env_overrides:
        unknown = sorted(set(env_overrides) - set(type(env_params).__dataclass_fields__))
        if unknown:
            raise ValueError(f"env_overrides: {env_name} has no parameter {unknown[0]!r}; valid: "
                             f"{', '.join(type(env_params).__dataclass_fields__)}")
        env_params = env_params.replace(**dict(env_overrides))
    if episode_length is None:
        if not hasattr(env_params, "max_steps_in_episode"):
            raise ValueError(f"{env_name} has no max_steps_in_episode; pass episode_length")
        episode_length = int(env_params.max_steps_in_episode)
    if int(episode_length) < 1:
        raise ValueError(f"episode_length must be >= 1; got {episode_length}")
    if hasattr(env_params, "max_steps_in_episode"):
        # As the original's GymnaxToEvoJaxTask: the episode itself lasts ``episode_length`` steps
        # (gymnax's time limit moves), so 500 on Pendulum means 500 rewarded steps, not 200.
        env_params = env_params.replace(max_steps_in_episode=int(episode_length))

    action_space = env.action_space(env_params)
    observation_shape = tuple(env.observation_space(env_params).shape)
    if isinstance(action_space, spaces.Discrete):
        discrete, num_outputs, low, high, action_shape = True, int(action_space.n), None, None, ()
    elif isinstance(action_space, spaces.Box):
        action_shape = tuple(action_space.shape)
        discrete, num_outputs = False, int(np.prod(action_shape, dtype=int))
        low = np.broadcast_to(np.asarray(action_space.low, np.float32), action_shape)
        high = np.broadcast_to(np.asarray(action_space.high, np.float32), action_shape)
    else:
        raise ValueError(
            f"{env_name} has a {type(action_space).__name__} action space; "
            "only Discrete and Box are supported"
        )
    return ControlTask(
        env_name=env_name, env=env, env_params=env_params,
        policy=MLPPolicy(tuple(int(h) for h in hidden_sizes), num_outputs),
        discrete=discrete, action_low=low, action_high=high, action_shape=action_shape,
        observation_shape=observation_shape, episode_length=int(episode_length),
        num_rollouts=int(num_rollouts), test_rollouts=int(test_rollouts),
    )
