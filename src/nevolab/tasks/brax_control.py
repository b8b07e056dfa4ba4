"""Brax control tasks as :class:`~nevolab.tasks.control.ControlTask`: the same ES interface as gymnax.

A task is named ``brax:<env>`` (``brax:ant``, ``brax:inverted_pendulum``, ...). :func:`make_brax_task`
wraps the Brax environment in :class:`BraxEnv`, which speaks gymnax's functional API
(``reset(key, params)``, ``step(key, state, action, params)`` returning ``terminated`` and
``truncated``, automatic reset with ``info["final_observation"]``), and builds a plain
:class:`~nevolab.tasks.control.ControlTask` around it, so the rollout, fitness, test score, the ES
pruning code and the PPO baseline are the gymnax ones, unchanged.

The original (``originals.md`` §2.3) uses ``brax.v1.envs.create(env, episode_length=500,
legacy_spring=True)`` with a 2 × 32 tanh MLP, a tanh output layer and evojax's observation
normaliser. Here: Brax ≥ 0.10's ``brax.envs`` (``brax.v1`` and its ``fetch``, ``grasp`` and ``ur5e``
are gone), episodes of 500 steps, the same tanh MLP with a tanh output (:class:`TanhMLPPolicy`);
there is no observation normalisation (a running statistic across generations does not fit a pure
fitness function).

Brax is an optional extra: ``pip install -e '.[brax]'``. It is imported only inside
:func:`make_brax_task`, so the library imports without it; :func:`unavailable_reason` says in one
line, without importing it, why a ``brax:`` task cannot be built here.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from flax import struct

from nevolab.tasks.control import ControlTask, MLPPolicy

PREFIX = "brax:"
INSTALL_HINT = "pip install -e '.[brax]' (or .venv/bin/pip install -r requirements-brax.lock)"

#: The environments of ``brax.envs`` (Brax 0.14.2).
BRAX_ENVS = ("ant", "fast", "halfcheetah", "hopper", "humanoid", "humanoidstandup",
             "inverted_double_pendulum", "inverted_pendulum", "pusher", "reacher", "swimmer", "walker2d")

#: The paper's Brax tasks that Brax 0.14 still has (its fetch, grasp and ur5e were ``brax.v1`` only).
PAPER_ENVS = ("ant", "halfcheetah", "hopper", "humanoid", "reacher", "walker2d")
#: The paper's Brax tasks that no current Brax provides.
PAPER_ENVS_GONE = ("fetch", "grasp", "ur5e", "ant_modified")

#: Steps per episode in the original (``brax.yaml``: ``max_steps 500``).
EPISODE_LENGTH = 500
#: The physics backend unless a task asks for another: the closest to the original's
#: ``legacy_spring=True`` and the fastest to compile on CPU.
DEFAULT_BACKEND = "spring"
BACKENDS = ("generalized", "positional", "spring", "mjx")


def is_brax_task(task: Any) -> bool:
    """True for task names ``brax:<env>``."""
    return isinstance(task, str) and task.startswith(PREFIX)


def env_name_of(task: str) -> str:
    """``"ant"`` for ``"brax:ant"``."""
    return task[len(PREFIX):]


def brax_installed() -> bool:
    """Whether the ``brax`` package can be imported (checked without importing it)."""
    return importlib.util.find_spec("brax") is not None


def unavailable_reason(task: str) -> str | None:
    """Why ``task`` cannot be built here, in one line, or None (also for tasks that are not Brax's)."""
    if not is_brax_task(task):
        return None
    if not brax_installed():
        return f"needs the brax extra: {INSTALL_HINT}"
    env = env_name_of(task)
    if env not in BRAX_ENVS:
        return f"unknown Brax environment {env!r}; valid: {', '.join(PREFIX + e for e in BRAX_ENVS)}"
    return None


class TanhMLPPolicy(MLPPolicy):
    """:class:`~nevolab.tasks.control.MLPPolicy` with a tanh output layer (the original's Brax policy)."""

    @nn.compact
    def __call__(self, observation: jax.Array) -> jax.Array:
        x = jnp.ravel(observation).astype(jnp.float32)
        for size in self.hidden_sizes:
            x = jnp.tanh(nn.Dense(size, bias_init=nn.initializers.uniform(0.05))(x))
        return jnp.tanh(nn.Dense(self.num_outputs, bias_init=nn.initializers.uniform(0.05))(x))


@struct.dataclass
class BraxEnvParams:
    """gymnax-style environment parameters: the episode is truncated after ``max_steps_in_episode``."""

    max_steps_in_episode: int = EPISODE_LENGTH


@struct.dataclass
class BraxEnvState:
    """The Brax state, the state the episode started from (reset target) and the step count."""

    brax: Any
    first: Any
    time: jax.Array


def _select(condition: jax.Array, if_true: Any, if_false: Any) -> Any:
    return jax.tree.map(lambda a, b: jnp.where(condition, a, b), if_true, if_false)


class BraxEnv:
    """A Brax environment behind gymnax's functional interface.

    ``step`` ignores its key (Brax dynamics are deterministic); when an episode ends (Brax's ``done``
    or the step limit) the state goes back to the state the episode started from, like Brax's own
    ``AutoResetWrapper``, and ``info["final_observation"]`` holds the last observation.
    """

    def __init__(self, env: Any):
        self.env = env

    def reset(self, key: jax.Array, params: BraxEnvParams) -> tuple[jax.Array, BraxEnvState]:
        state = self.env.reset(key)
        state = state.replace(reward=jnp.zeros((), jnp.float32), done=jnp.zeros((), jnp.float32))
        return state.obs, BraxEnvState(state, state, jnp.zeros((), jnp.int32))

    def step(self, key: jax.Array, state: BraxEnvState, action: jax.Array,
             params: BraxEnvParams) -> tuple[jax.Array, BraxEnvState, jax.Array, jax.Array, jax.Array, dict]:
        del key
        new = self.env.step(state.brax, action)
        time = state.time + 1
        reward = jnp.nan_to_num(jnp.asarray(new.reward, jnp.float32))
        terminated = jnp.asarray(new.done, jnp.float32) > 0.5
        truncated = jnp.logical_and(time >= params.max_steps_in_episode, jnp.logical_not(terminated))
        done = jnp.logical_or(terminated, truncated)
        following = new.replace(  # back to the episode's start, as Brax's AutoResetWrapper does
            pipeline_state=_select(done, state.first.pipeline_state, new.pipeline_state),
            obs=_select(done, state.first.obs, new.obs), reward=reward, done=jnp.zeros((), jnp.float32))
        info = {"final_observation": new.obs}
        next_state = BraxEnvState(following, state.first, jnp.where(done, 0, time))
        return following.obs, next_state, reward, terminated, truncated, info


def _import_brax_envs() -> Any:
    if not brax_installed():
        raise ModuleNotFoundError(f"Brax tasks need the brax extra: {INSTALL_HINT}")
    with contextlib.redirect_stdout(io.StringIO()):  # mujoco.mjx prints that warp is absent
        from brax import envs
    return envs


def make_brax_task(env_name: str, hidden_sizes: Sequence[int] = (32, 32), num_rollouts: int = 8,
                   test_rollouts: int = 64, episode_length: int = EPISODE_LENGTH,
                   backend: str = DEFAULT_BACKEND) -> ControlTask:
    """A :class:`~nevolab.tasks.control.ControlTask` on a Brax environment.

    Args:
        env_name: a ``brax.envs`` name (:data:`BRAX_ENVS`), with or without the ``brax:`` prefix.
        hidden_sizes: tanh hidden layers (the original: 2 × 32).
        num_rollouts: episodes per training evaluation (``brax.yaml``: 8).
        test_rollouts: episodes per test evaluation (``brax.yaml``: 64).
        episode_length: steps per rollout (the original: 500).
        backend: Brax physics pipeline (:data:`BACKENDS`).
    """
    env_name = env_name_of(env_name) if is_brax_task(env_name) else env_name
    envs = _import_brax_envs()
    reason = unavailable_reason(PREFIX + env_name)
    if reason is not None:
        raise ValueError(f"task {PREFIX + env_name!r}: {reason}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown Brax backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if int(num_rollouts) < 1 or int(test_rollouts) < 1:
        raise ValueError(f"num_rollouts and test_rollouts must be >= 1; got {num_rollouts}, {test_rollouts}")
    if any(int(h) < 1 for h in hidden_sizes):
        raise ValueError(f"hidden_sizes must be positive integers; got {tuple(hidden_sizes)}")
    if int(episode_length) < 1:
        raise ValueError(f"episode_length must be >= 1; got {episode_length}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Brax System, piplines and environments are not actively")
        env = envs.get_environment(env_name, backend=backend)
    action_shape = (int(env.action_size),)
    name = PREFIX + env_name + ("" if backend == DEFAULT_BACKEND else f"@{backend}")
    return ControlTask(
        env_name=name, env=BraxEnv(env), env_params=BraxEnvParams(int(episode_length)),
        policy=TanhMLPPolicy(tuple(int(h) for h in hidden_sizes), action_shape[0]),
        discrete=False, action_low=np.full(action_shape, -1.0, np.float32),
        action_high=np.full(action_shape, 1.0, np.float32), action_shape=action_shape,
        observation_shape=(int(env.observation_size),), episode_length=int(episode_length),
        num_rollouts=int(num_rollouts), test_rollouts=int(test_rollouts),
    )
