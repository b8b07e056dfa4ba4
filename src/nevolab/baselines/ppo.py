"""PPO with iterative magnitude pruning (GD-IMP) on gymnax control tasks: Study B's gradient baseline.

Lange & Sprekeler (2023) compare ES tickets on Pendulum with tickets found by PPO
(``ppo_gym.yaml``): 1.75M environment steps per round, 32 environments, Adam with lr 3e-4 annealed
linearly to 1e-4, GAE λ 0.95, γ 0.97, clip 0.25, 4 epochs × 8 minibatches per update, a 2 × 32
tanh policy. After every round 20 % of the remaining *actor* kernels are pruned by one global
magnitude threshold (biases are never pruned, the critic is never pruned) and the survivors are
rewound to their initial values.

The algorithm follows purejaxrl's ``ppo_continuous_action.py`` (Lu et al. 2022): one
``lax.scan`` over updates; each update collects ``num_steps`` steps in ``num_envs`` vectorised,
auto-resetting environments, computes GAE, then runs ``update_epochs`` passes over shuffled
minibatches with the clipped surrogate, a clipped value loss, per-minibatch advantage
normalisation, global-norm gradient clipping and Adam (eps 1e-5). Differences from purejaxrl, and why:

* **The actor is the task's own network** (:class:`~nevolab.tasks.control.MLPPolicy`: raw linear
  output, ``uniform(0.05)`` biases, its parameter pytree exactly ``task.init_params(PRNGKey(seed))``),
  so that ES and PPO prune the same network from the same θ₀ and are tested by the same
  ``task.test_score`` (deterministic action: the mean, clipped; argmax for discrete actions).
  Continuous actions add a state-independent log-std vector (initialised to 0, as purejaxrl);
  the critic is a separate tanh MLP with the same hidden sizes (purejaxrl's orthogonal init).
  Neither is pruned.
* **No observation normalisation**: the pruned network must be the one that ES trains on raw
  observations, and a normaliser would be part of the policy. **Rewards are normalised** as
  purejaxrl's ``NormalizeVecReward`` (divided by a running std of the discounted return;
  ``PPOConfig.normalize_rewards``), which only rescales the critic's targets. Without it Pendulum's
  returns (down to about −16 per step, values near −500) give the critic gradients that dominate the
  shared global-norm clip and the actor barely moves: measured on Pendulum (2 × 32, 1M steps, two
  seeds) test returns of about −1,000 without and −200 to −280 with it.
* **Time limits bootstrap** (gymnax ≥ 1.0 reports ``terminated`` and ``truncated`` separately and
  the pre-reset ``final_observation``): at a truncation the reward used for GAE gets
  ``γ V(final observation)`` added, instead of treating the time limit as a terminal state.
  Every Pendulum episode ends by truncation, so this matters there.
* **Training episodes are as long as the test episodes**: the environment's time limit is set to
  ``min(task.episode_length, max_steps_in_episode)``, the horizon ``task.test_score`` uses.

**Masks.** Masks, start values and initial values are flat vectors over the actor's parameters
(``ravel_pytree`` of ``task.init_params``), as in :mod:`nevolab.pruning.masks`. The mask multiplies the
actor's parameters and its gradients (before clipping and Adam), and the parameters again after
every optimiser step, so pruned weights stay exactly zero.

**Every round restarts the whole train state**: the actor from the round's start values (the
rewound ticket), the log-std from 0, the critic from its own initial values (in
:class:`PPOStep` drawn once per seed from ``fold_in(PRNGKey(seed), 0)``, so it is rewound like
the actor rather than redrawn), and a fresh Adam state and learning-rate schedule. Environments
restart too (new episodes), and the reward-normalisation statistics.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
from flax import linen as nn
from jax.flatten_util import ravel_pytree

from nevolab import xla
from nevolab.pruning.criteria import PruneInputs, get_criterion
from nevolab.pruning.masks import Layout, next_ticket, prunable_flat, prunable_segments
from nevolab.pruning.results import gd_imp_frame
from nevolab.pruning.rounds import GradientRoundStep, ImpPlan, run_rounds
from nevolab.tasks.control import ControlTask

PyTree = Any

#: The hidden sizes of the original's PPO policy (``ppo_gym.yaml``: 2 × 32 tanh). The ES runs of the
#: paper use 2 × 64 (``gym.yaml``); build the task with
#: ``hidden_sizes=PAPER_PPO_HIDDEN`` (for the ES runs too) to prune the PPO-sized network.
PAPER_PPO_HIDDEN = (32, 32)


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """PPO settings; the defaults are the original's ``ppo_gym.yaml`` for Pendulum.

    Attributes:
        total_timesteps: environment steps per pruning round (1.75M). Training runs
            ``total_timesteps // (num_envs * num_steps)`` updates (the remainder is dropped).
        num_envs: parallel environments (32).
        num_steps: rollout length per environment and update. The original's value is not in
            NevoLab's notes on ``ppo_gym.yaml``; 64 is a NevoLab choice (a batch of 32 × 64 = 2,048
            steps, 256 per minibatch, 854 updates for 1.75M steps; purejaxrl's continuous PPO uses
            2,048 envs × 10 steps).
        learning_rate, final_learning_rate: Adam's learning rate, annealed linearly from the first
            to the second over all optimiser steps (3e-4 → 1e-4).
        gamma: discount (0.97).
        gae_lambda: GAE λ (0.95).
        clip_eps: PPO ratio clip, also used to clip the value loss as purejaxrl (0.25).
        update_epochs: passes over each rollout batch (4).
        num_minibatches: minibatches per pass (8).
        ent_coef: entropy bonus (0).
        vf_coef: value-loss weight (0.5).
        max_grad_norm: global gradient-norm clip over actor, log-std and critic together (0.5).
        normalize_rewards: divide rewards by a running std of the discounted return, as
            purejaxrl's ``NormalizeVecReward`` (a NevoLab choice, see the module docstring). It only
            rescales the critic's targets; the actor and its test score are unaffected.
    """

    total_timesteps: int = 1_750_000
    num_envs: int = 32
    num_steps: int = 64
    learning_rate: float = 3e-4
    final_learning_rate: float = 1e-4
    gamma: float = 0.97
    gae_lambda: float = 0.95
    clip_eps: float = 0.25
    update_epochs: int = 4
    num_minibatches: int = 8
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    normalize_rewards: bool = True

    def __post_init__(self) -> None:
        for name in ("total_timesteps", "num_envs", "num_steps", "update_epochs", "num_minibatches"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
        batch = self.num_envs * self.num_steps
        if self.total_timesteps < batch:
            raise ValueError(
                f"total_timesteps must give at least one update of num_envs * num_steps = {batch} steps; "
                f"got {self.total_timesteps}")
        if batch % self.num_minibatches:
            raise ValueError(
                f"num_minibatches must divide num_envs * num_steps = {batch}; got {self.num_minibatches}")
        for name in ("learning_rate", "clip_eps", "max_grad_norm"):
            if not float(getattr(self, name)) > 0.0:
                raise ValueError(f"{name} must be > 0; got {getattr(self, name)!r}")
        for name in ("final_learning_rate", "ent_coef", "vf_coef"):
            if not float(getattr(self, name)) >= 0.0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)!r}")
        if not isinstance(self.normalize_rewards, bool | np.bool_):
            raise ValueError(f"normalize_rewards must be a bool; got {self.normalize_rewards!r}")
        for name in ("gamma", "gae_lambda"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]; got {getattr(self, name)!r}")

    @property
    def num_updates(self) -> int:
        """PPO updates per round (rollout + epochs)."""
        return self.total_timesteps // (self.num_envs * self.num_steps)

    @property
    def env_steps(self) -> int:
        """Environment steps actually trained per round (``total_timesteps`` rounded down)."""
        return self.num_updates * self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        """Transitions per minibatch."""
        return self.num_envs * self.num_steps // self.num_minibatches


class Critic(nn.Module):
    """State-value tanh MLP on the flattened observation (purejaxrl's orthogonal init, zero biases)."""

    hidden_sizes: Sequence[int]

    @nn.compact
    def __call__(self, observation: jax.Array) -> jax.Array:
        x = jnp.ravel(observation).astype(jnp.float32)
        for size in self.hidden_sizes:
            x = jnp.tanh(nn.Dense(size, kernel_init=nn.initializers.orthogonal(math.sqrt(2.0)),
                                  bias_init=nn.initializers.zeros)(x))
        return nn.Dense(1, kernel_init=nn.initializers.orthogonal(1.0), bias_init=nn.initializers.zeros)(x)[0]


class Transition(NamedTuple):
    """One step of the rollout, batched over environments."""

    observation: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    reward: jax.Array  # for GAE: the reward plus γ V(final observation) at truncations
    done: jax.Array  # terminated or truncated: the trace is cut here


class RewardStats(NamedTuple):
    """Running statistics of the discounted return for reward normalisation."""

    discounted: jax.Array  # (num_envs,) discounted return of the running episodes
    mean: jax.Array
    var: jax.Array
    count: jax.Array


class TrainOutput(NamedTuple):
    """What :func:`make_ppo_train`'s function returns for one seed."""

    params: dict[str, Any]  # {"actor": (P,) flat, "log_std": (A,), "critic": pytree}
    return_curve: jax.Array  # (num_updates,) mean return of each env's last finished episode


def _check_task(task: Any) -> None:
    if not isinstance(task, ControlTask):
        raise ValueError(f"PPO needs a ControlTask (a gymnax task); got {type(task).__name__}")


def make_ppo_train(task: ControlTask, config: PPOConfig) -> Callable[..., TrainOutput]:
    """The PPO training of one round for one seed, as a pure, jittable, vmappable function.

    ``train(key, critic_init, mask, start) -> TrainOutput``: ``mask`` (bool) and ``start`` are flat
    actor vectors; ``critic_init`` the critic's flat initial values (:func:`init_critic`); all the
    randomness (environment resets and steps, action sampling, minibatch shuffles) comes from
    ``key``. Jit it with ``compiler_options=xla.compiler_options("ppo")``.
    """
    _check_task(task)
    template = task.init_params(jax.random.PRNGKey(0))
    _, unravel = ravel_pytree(template)
    env = task.env
    env_params = task.env_params
    if hasattr(env_params, "max_steps_in_episode"):
        # Train on episodes as long as those the test score (and the ES fitness) roll out.
        env_params = env_params.replace(
            max_steps_in_episode=min(int(env_params.max_steps_in_episode), task.episode_length))
    num_outputs = int(task.policy.num_outputs)
    num_log_std = 0 if task.discrete else num_outputs
    critic = Critic(tuple(task.policy.hidden_sizes))
    num_updates = config.num_updates
    batch_size = config.num_envs * config.num_steps
    schedule = optax.linear_schedule(config.learning_rate, config.final_learning_rate,
                                     num_updates * config.update_epochs * config.num_minibatches)
    optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                            optax.adam(schedule, eps=1e-5))
    low = None if task.discrete else jnp.asarray(task.action_low).reshape(-1)
    high = None if task.discrete else jnp.asarray(task.action_high).reshape(-1)

    num_actor = int(ravel_pytree(template)[0].size)
    unravel_critic = critic_unravel(task)

    # All trained parameters live in ONE flat vector [actor | log-std | critic]: Adam, the norm clip
    # and the mask are a few fused ops instead of a few per leaf (fewer kernels to compile).
    def split(theta: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        return theta[:num_actor], theta[num_actor:num_actor + num_log_std], theta[num_actor + num_log_std:]

    def actor_outputs(theta: jax.Array, observations: jax.Array) -> jax.Array:
        params = unravel(split(theta)[0])
        return jax.vmap(lambda o: task.policy.apply(params, o))(observations)

    def values(theta: jax.Array, observations: jax.Array) -> jax.Array:
        params = unravel_critic(split(theta)[2])
        return jax.vmap(lambda o: critic.apply(params, o))(observations)

    def sample(key, outputs, log_std):
        if task.discrete:
            action = jax.random.categorical(key, outputs).astype(jnp.int32)
        else:
            action = outputs + jnp.exp(log_std) * jax.random.normal(key, outputs.shape)
        return action, log_prob_entropy(outputs, log_std, action)[0]

    def log_prob_entropy(outputs, log_std, action):
        if task.discrete:
            logp_all = jax.nn.log_softmax(outputs)
            logp = jnp.take_along_axis(logp_all, action[:, None], axis=1)[:, 0]
            return logp, -jnp.sum(jnp.exp(logp_all) * logp_all, axis=1)
        z = (action - outputs) * jnp.exp(-log_std)
        logp = jnp.sum(-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi), axis=1)
        entropy = jnp.sum(log_std + 0.5 + 0.5 * math.log(2 * math.pi)) * jnp.ones(outputs.shape[0])
        return logp, entropy

    def env_action(action):
        if task.discrete:
            return action
        # The environment gets the action clipped to its bounds, as the test policy; the log-prob
        # is of the unclipped sample (purejaxrl's ClipAction wrapper does the same).
        return jnp.clip(action, low, high).reshape((action.shape[0], *task.action_shape))

    def loss_fn(theta, batch: Transition, advantages, targets):
        outputs = actor_outputs(theta, batch.observation)
        logp, entropy = log_prob_entropy(outputs, split(theta)[1], batch.action)
        value = values(theta, batch.observation)
        value_clipped = batch.value + jnp.clip(value - batch.value, -config.clip_eps, config.clip_eps)
        value_loss = 0.5 * jnp.mean(jnp.maximum((value - targets) ** 2, (value_clipped - targets) ** 2))
        ratio = jnp.exp(logp - batch.log_prob)
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        surrogate = jnp.minimum(ratio * advantages,
                                jnp.clip(ratio, 1.0 - config.clip_eps, 1.0 + config.clip_eps) * advantages)
        return -jnp.mean(surrogate) + config.vf_coef * value_loss - config.ent_coef * jnp.mean(entropy)

    def gae(transitions: Transition, last_value: jax.Array) -> tuple[jax.Array, jax.Array]:
        def backward(carry, t: Transition):
            advantage, next_value = carry
            not_done = 1.0 - t.done.astype(jnp.float32)
            delta = t.reward + config.gamma * next_value * not_done - t.value
            advantage = delta + config.gamma * config.gae_lambda * not_done * advantage
            return (advantage, t.value), advantage

        _, advantages = jax.lax.scan(backward, (jnp.zeros_like(last_value), last_value), transitions,
                                     reverse=True)
        return advantages, advantages + transitions.value

    def update_reward_stats(stats: RewardStats, reward: jax.Array, done: jax.Array) -> RewardStats:
        # purejaxrl's NormalizeVecReward: running mean/var (Chan et al.'s parallel update) of the
        # discounted return, one sample per environment and step.
        discounted = stats.discounted * config.gamma + reward
        batch_mean, batch_var, batch_count = discounted.mean(), discounted.var(), discounted.size
        delta = batch_mean - stats.mean
        count = stats.count + batch_count
        mean = stats.mean + delta * batch_count / count
        m2 = stats.var * stats.count + batch_var * batch_count + delta**2 * stats.count * batch_count / count
        # The discounted return restarts after an episode ends.
        return RewardStats(discounted * (1.0 - done.astype(jnp.float32)), mean, m2 / count, count)

    def train(key: jax.Array, critic_init: jax.Array, mask: jax.Array, start: jax.Array) -> TrainOutput:
        critic_flat = critic_init.astype(jnp.float32)
        full_mask = jnp.concatenate([mask.astype(jnp.float32), jnp.ones((num_log_std + critic_flat.size,))])
        log_std = jnp.zeros((num_log_std,), jnp.float32)
        theta = jnp.concatenate([start.astype(jnp.float32), log_std, critic_flat]) * full_mask
        opt_state = optimizer.init(theta)
        # One split per scan level: every jax.random call is its own (rolled) threefry loop in the
        # compiled program, and their number dominates the compile time on CPU.
        keys = jax.random.split(key, config.num_envs + num_updates)
        observation, env_state = jax.vmap(env.reset, in_axes=(0, None))(keys[:config.num_envs], env_params)
        running = jnp.zeros((config.num_envs,), jnp.float32)
        last_return = jnp.full((config.num_envs,), jnp.nan, jnp.float32)

        def env_step(carry, k):
            theta, env_state, observation, running, last_return, stats = carry
            k_act, k_env = k[0], k[1:]
            outputs = actor_outputs(theta, observation)
            action, logp = sample(k_act, outputs, split(theta)[1])
            value = values(theta, observation)
            next_observation, env_state, reward, terminated, truncated, info = jax.vmap(
                env.step, in_axes=(0, 0, 0, None))(
                k_env, env_state, env_action(action), env_params)
            reward = reward.astype(jnp.float32)
            done = jnp.logical_or(terminated, truncated)
            running = running + reward
            last_return = jnp.where(done, running, last_return)
            running = jnp.where(done, 0.0, running)
            stats = update_reward_stats(stats, reward, done)
            scaled = reward / jnp.sqrt(stats.var + 1e-8) if config.normalize_rewards else reward
            bootstrap = jnp.logical_and(truncated, jnp.logical_not(terminated)).astype(jnp.float32)
            final_value = values(theta, info["final_observation"])
            gae_reward = scaled + config.gamma * bootstrap * final_value
            transition = Transition(observation, action, logp, value, gae_reward, done)
            return (theta, env_state, next_observation, running, last_return, stats), transition

        def minibatch_step(carry, minibatch):
            theta, opt_state = carry
            batch, advantages, targets = minibatch
            loss, grad = jax.value_and_grad(loss_fn)(theta, batch, advantages, targets)
            # Masked gradients: pruned weights get no gradient, so they neither move nor count in
            # the global-norm clip; re-masking after the step keeps them exactly zero.
            updates, opt_state = optimizer.update(grad * full_mask, opt_state, theta)
            return (optax.apply_updates(theta, updates) * full_mask, opt_state), loss

        def update(carry, k):
            theta, opt_state, env_state, observation, running, last_return, stats = carry
            keys = jax.random.split(k, config.num_steps * (config.num_envs + 1) + config.update_epochs)
            rollout_keys = keys[: config.num_steps * (config.num_envs + 1)].reshape(
                (config.num_steps, config.num_envs + 1, *keys.shape[1:]))
            (_, env_state, observation, running, last_return, stats), transitions = jax.lax.scan(
                env_step, (theta, env_state, observation, running, last_return, stats), rollout_keys)
            advantages, targets = gae(transitions, values(theta, observation))
            flat = jax.tree_util.tree_map(lambda x: x.reshape((batch_size, *x.shape[2:])),
                                          (transitions, advantages, targets))

            def epoch(carry, k_epoch):
                order = jax.random.permutation(k_epoch, batch_size)
                minibatches = jax.tree_util.tree_map(
                    lambda x: x[order].reshape((config.num_minibatches, -1, *x.shape[1:])), flat)
                return jax.lax.scan(minibatch_step, carry, minibatches)

            (theta, opt_state), _ = jax.lax.scan(epoch, (theta, opt_state), keys[-config.update_epochs:])
            carry = (theta, opt_state, env_state, observation, running, last_return, stats)
            return carry, jnp.nanmean(last_return)

        stats = RewardStats(jnp.zeros((config.num_envs,), jnp.float32), jnp.zeros((), jnp.float32),
                            jnp.ones((), jnp.float32), jnp.asarray(1e-4, jnp.float32))
        carry = (theta, opt_state, env_state, observation, running, last_return, stats)
        (theta, *_), curve = jax.lax.scan(update, carry, keys[config.num_envs:])
        actor, log_std, critic_flat = split(theta)
        return TrainOutput({"actor": actor, "log_std": log_std, "critic": unravel_critic(critic_flat)}, curve)

    return train


@functools.lru_cache(maxsize=8)
def _critic_initializer(hidden_sizes: tuple[int, ...], observation_shape: tuple[int, ...]) -> Callable:
    critic = Critic(hidden_sizes)
    observation = jnp.zeros(observation_shape, jnp.float32)
    return jax.jit(lambda key: ravel_pytree(critic.init(key, observation))[0])


def init_critic(task: ControlTask, key: jax.Array) -> jax.Array:
    """The critic's initial parameters for ``task`` as one flat vector (:class:`Critic`, with the
    policy's hidden sizes); unravel with :func:`critic_unravel`."""
    _check_task(task)
    return _critic_initializer(tuple(task.policy.hidden_sizes), tuple(task.observation_shape))(key)


def critic_unravel(task: ControlTask) -> Callable[[jax.Array], PyTree]:
    """flat critic vector → the critic's flax parameter pytree."""
    return ravel_pytree(Critic(tuple(task.policy.hidden_sizes)).init(
        jax.random.PRNGKey(0), jnp.zeros(task.observation_shape, jnp.float32)))[1]


@functools.lru_cache(maxsize=8)
def make_ppo_round(task: ControlTask, config: PPOConfig) -> Callable[..., tuple[jax.Array, ...]]:
    """One GD-IMP round with PPO for all seeds at once: train, test, prune the actor, rewind.

    Returns ``round_fn(keys, masks, starts, originals, num_keep_next, critic_keys=None) ->
    (test_score, final_actor, next_masks, next_starts, return_curve)``, a jitted program vmapped
    over seeds: ``keys``/``critic_keys`` (S, 2), ``masks`` (bool), ``starts`` and ``originals``
    (S, P) flat actor vectors (``ravel_pytree(task.init_params(key))``), ``num_keep_next`` a scalar
    (traced, so every round runs the same compiled program). Outputs: ``test_score`` (S,) =
    ``task.test_score`` of the final actor; ``final_actor`` (S, P); ``next_masks`` keeping exactly
    ``num_keep_next`` actor kernels by global magnitude (biases always kept); ``next_starts`` =
    the survivors' ``originals``, 0 elsewhere; ``return_curve`` (S, num_updates) the mean training
    episode return after each update (NaN until an episode has finished).

    ``critic_keys=None`` initialises the critic from ``keys`` (a fresh critic each round);
    :func:`run_ppo_imp` passes one fixed key per seed, so the critic is rewound like the actor.
    Cached per (task object, config), so repeated runs do not recompile.
    """
    _check_task(task)
    template = task.init_params(jax.random.PRNGKey(0))
    prunable = prunable_flat(template)
    segments = prunable_segments(template, prunable)
    prunable_j = jnp.asarray(prunable)
    magnitude = get_criterion("magnitude")
    train = make_ppo_train(task, config)
    _, unravel = ravel_pytree(template)

    def one_seed(key, critic_init, mask, start, original, num_keep_next):
        k_train, k_test, k_prune = jax.random.split(key, 3)
        out = train(k_train, critic_init, mask, start)
        actor = out.params["actor"]
        inputs = PruneInputs(final_mean=actor, final_std=jnp.ones_like(actor),
                             final_std_faithful=jnp.ones_like(actor), start_values=start, mask=mask)
        layout = Layout(prunable_j, segments, lambda k: original)
        next_mask, next_start = next_ticket(magnitude, inputs, k_prune, original, num_keep_next, layout)
        return task.test_score(unravel(actor), k_test), actor, next_mask, next_start, out.return_curve

    compiled = jax.jit(jax.vmap(one_seed, in_axes=(0, 0, 0, 0, 0, None)),
                       compiler_options=xla.compiler_options("ppo"))

    def round_fn(keys, masks, starts, originals, num_keep_next, critic_keys=None):
        critic_keys = keys if critic_keys is None else critic_keys
        # The critic is initialised outside the vmapped program: XLA:CPU takes seconds to compile
        # each vmapped (batched-key) orthogonal initialiser, and it is no work at run time.
        critic_init = jnp.stack([init_critic(task, k) for k in critic_keys])
        return compiled(keys, critic_init, masks, starts, originals, jnp.asarray(num_keep_next, jnp.int32))

    return round_fn


@dataclasses.dataclass(frozen=True)
class PPOStep(GradientRoundStep):
    """One GD-IMP round with PPO for every seed (the driver's :class:`~nevolab.pruning.rounds.RoundStep`).

    The critic's initial values are drawn once per seed from ``fold_in(PRNGKey(seed), 0)``, so the
    critic is rewound like the actor rather than redrawn."""

    OPTIMIZER: ClassVar[str] = "ppo"

    def __call__(self, round_index: int, keys: jax.Array, masks: jax.Array, starts: jax.Array,
                 original: jax.Array) -> tuple[dict[str, np.ndarray], jax.Array, jax.Array]:
        """Train, test and prune every seed's actor."""
        critic_keys = jnp.stack([jax.random.fold_in(k, 0) for k in self.plan.seed_keys()])
        round_fn = make_ppo_round(self.task, self.config)
        score, _, masks, starts, curve = round_fn(keys, masks, starts, original,
                                                  self.plan.kept[round_index + 1], critic_keys)
        return {"test_score": np.asarray(score), "return_curve": np.asarray(curve)}, masks, starts


def run_ppo_imp(task: ControlTask, config: PPOConfig, plan: ImpPlan, checkpoint_dir: Path | None = None,
                on_round: Callable[[int], None] | None = None) -> pd.DataFrame:
    """GD-IMP with PPO: one row per (round, seed), ``method="GD"``, ``strategy="PPO"``.

    Columns as the ES tables', then ``final_mean_train_loss`` and ``final_train_return`` (the mean
    return of every environment's last finished training episode after the last update; the loss is
    its negative, as the ES tables' "loss" is minus the return), the :class:`PPOConfig` fields and
    ``env_steps``."""
    _check_task(task)
    if not isinstance(config, PPOConfig):
        raise ValueError(f"config must be a PPOConfig; got {type(config).__name__}")
    original = jnp.stack([ravel_pytree(task.init_params(k))[0].astype(jnp.float32) for k in plan.seed_keys()])
    history = run_rounds(PPOStep(task, config, plan), original, plan, checkpoint_dir, on_round)
    curves = history.arrays["return_curve"]
    settings = {**dataclasses.asdict(config), "env_steps": config.env_steps}

    def extra(r: int, i: int) -> dict[str, Any]:
        final_return = float(curves[r, i, -1])
        return {"final_mean_train_loss": -final_return, "final_train_return": final_return, **settings}

    return gd_imp_frame(task.name, "PPO", history, plan, extra)


__all__ = [
    "PAPER_PPO_HIDDEN", "Critic", "PPOConfig", "PPOStep", "TrainOutput", "critic_unravel",
    "init_critic", "make_ppo_round", "make_ppo_train", "run_ppo_imp",
]
