"""Population rollouts on gymnax-style pixel tasks, early termination that saves compute, and the
paper's two-stage selection (Garbus & Pollack 2025).

**Why compaction.** A vmapped rollout steps every episode until the longest one ends, so an episode
that terminates early (CarRacing's no-progress rule) saves nothing: its row is still computed and
masked. :meth:`PopulationRollout.compacted` rolls out in chunks of ``chunk_steps`` (one jitted
``lax.scan`` per chunk) and, between chunks, gathers the episodes still alive into a smaller batch.
The batch size is rounded up to a multiple of ``ceil(total / num_buckets)`` (the extra rows repeat
an alive episode and are never written back), so at most ``num_buckets`` shapes are compiled and
the rows computed exceed the alive ones by less than one bucket.

**Bit for bit.** Every episode runs the same per-episode program (gather its member's parameters,
``develop`` them, then the same step) in the plain and the compacted rollout; XLA:CPU's batched
matmuls compute each batch row alone, so the returns are identical, which the tests check.

**Rows, not members (the default).** Each episode row carries its own copy of its member's (developed)
parameters, gathered once per chunk; memory is rows x parameters (a population of 64 x 2 episodes
of the dense 954k-parameter CNN holds 490 MB). ``develop`` runs after the gather, so a compact
genotype (e.g. rank-1 factors) is gathered and decoded per row, not the full weights.

**Members (``shared_weights=True``).** Each member's parameters are developed once per chunk and
its episodes go through the network together: a layer is one matmul per member over all its
episodes' rows instead of one per episode, and each weight is read once per member and step. The
batch then holds whole members (rows member-major, ``episodes`` consecutive rows each), so
compaction drops a member once all its episodes are done, and a done episode of a live member is
still stepped (it accumulates nothing). The returns equal the default path's to float rounding (a
matmul over more rows may round differently), which the tests check; the rows computed may be more.
Study C's committed runs use the default.

The rollout calls the environment's ``step_env`` (no automatic reset; gymnax's ``step`` would
compute a reset, i.e. a new track and a rendered frame, at every step) and ``is_truncated``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

__all__ = ["EpisodeBatch", "PopulationRollout", "RolloutResult", "TwoStageConfig", "bucket_size",
           "episode_strip", "select_finalists", "select_parents", "two_stage_evaluate"]

PyTree = Any


@struct.dataclass
class EpisodeBatch:
    """A batch of episode rows: environment state plus the bookkeeping of each episode."""

    env_state: PyTree
    obs: jax.Array
    key: jax.Array  # per-row key, split once per step
    member: jax.Array  # int32: whose parameters
    episode: jax.Array  # int32: row of the full (members x episodes) result
    ret: jax.Array  # float32 return so far
    steps: jax.Array  # int32 steps taken while alive
    done: jax.Array  # bool
    ended_early: jax.Array  # bool: ended by the environment's termination, not the time limit
    padding: jax.Array  # bool: a repeated row that is never written back


@dataclasses.dataclass(frozen=True)
class RolloutResult:
    """Per-episode outcomes, shaped (members, episodes), and the compute the rollout spent."""

    returns: np.ndarray
    steps: np.ndarray
    ended_early: np.ndarray
    rows_stepped: int  # batch rows x steps actually computed (including dead and padding rows)

    @property
    def alive_steps(self) -> int:
        """Steps taken by episodes while alive: the least work any rollout must do."""
        return int(self.steps.sum())


def bucket_size(num_alive: int, total: int, num_buckets: int) -> int:
    """The batch size for ``num_alive`` rows: rounded up to a multiple of ceil(total / num_buckets)."""
    granularity = max(1, math.ceil(total / num_buckets))
    return min(total, math.ceil(num_alive / granularity) * granularity)


class PopulationRollout:
    """Episodic rollouts of a population of policies on a gymnax-style environment.

    ``apply_fn(net_params, obs) -> action`` is one policy on one observation; ``develop(params) ->
    net_params`` (default identity) maps one member's stored parameters (e.g. a genotype) to the
    network's. Members' parameters are a pytree with a leading member axis. Compiled programs are
    cached on the instance, so keep one instance per (environment, policy) for a whole run.
    """

    def __init__(self, env: Any, env_params: Any, apply_fn: Callable, develop: Callable | None = None,
                 chunk_steps: int = 50, num_buckets: int = 16, max_steps: int | None = None,
                 shared_weights: bool = False):
        if chunk_steps < 1 or num_buckets < 1:
            raise ValueError(f"chunk_steps and num_buckets must be >= 1; got {chunk_steps}, {num_buckets}")
        self.env, self.env_params, self.apply_fn = env, env_params, apply_fn
        self.develop = develop if develop is not None else (lambda params: params)
        self.chunk_steps, self.num_buckets = chunk_steps, num_buckets
        self.max_steps = int(max_steps if max_steps is not None else env_params.max_steps_in_episode)
        self.num_chunks = math.ceil(self.max_steps / chunk_steps)
        self._init = jax.jit(self._init_batch)
        self.shared_weights = shared_weights
        run = self._run_shared if shared_weights else self._run
        self._chunk = jax.jit(lambda params, batch, episodes: run(params, batch, chunk_steps, episodes),
                              static_argnums=2)
        self._all = jax.jit(lambda params, batch, episodes: run(params, batch, self.num_chunks * chunk_steps,
                                                                episodes), static_argnums=2)
        self._gather = jax.jit(_gather_rows)

    def _init_batch(self, keys: jax.Array) -> EpisodeBatch:
        """Reset one episode per key; ``keys`` is (members, episodes, key)."""
        members, episodes = keys.shape[:2]
        flat = keys.reshape(members * episodes, *keys.shape[2:])
        reset_keys, step_keys = jax.vmap(jax.random.split, out_axes=1)(flat)
        obs, state = jax.vmap(self.env.reset_env, in_axes=(0, None))(reset_keys, self.env_params)
        rows = members * episodes
        return EpisodeBatch(env_state=state, obs=obs, key=step_keys,
                            member=jnp.repeat(jnp.arange(members, dtype=jnp.int32), episodes),
                            episode=jnp.arange(rows, dtype=jnp.int32), ret=jnp.zeros(rows, jnp.float32),
                            steps=jnp.zeros(rows, jnp.int32), done=jnp.zeros(rows, bool),
                            ended_early=jnp.zeros(rows, bool), padding=jnp.zeros(rows, bool))

    def _episode_step(self, net_params: PyTree, row: EpisodeBatch) -> EpisodeBatch:
        """One step of one episode row; nothing accumulates once the episode is done."""
        key, step_key = jax.random.split(row.key)
        action = self.apply_fn(net_params, row.obs)
        return self._advance(row, key, step_key, action)

    def _advance(self, row: EpisodeBatch, key: jax.Array, step_key: jax.Array, action: jax.Array
                 ) -> EpisodeBatch:
        """Step one episode row's environment with ``action``; nothing accumulates once it is done."""
        obs, state, reward, terminated, _ = self.env.step_env(step_key, row.env_state, action,
                                                               self.env_params)
        truncated = self.env.is_truncated(state, self.env_params) | (state.time >= self.max_steps)
        alive = ~row.done
        return row.replace(env_state=state, obs=obs, key=key, ret=jnp.where(alive, row.ret + reward, row.ret),
                           steps=row.steps + alive.astype(jnp.int32), done=row.done | terminated | truncated,
                           ended_early=row.ended_early | (alive & terminated))

    def _run(self, params: PyTree, batch: EpisodeBatch, num_steps: int, episodes: int = 1) -> EpisodeBatch:
        """``num_steps`` steps of every row: gather and develop each row's parameters, then scan
        (``episodes`` is unused: each row is on its own)."""
        net_params = jax.vmap(self.develop)(jax.tree_util.tree_map(lambda leaf: leaf[batch.member], params))
        step = jax.vmap(self._episode_step)

        def body(rows: EpisodeBatch, _):
            return step(net_params, rows), None

        return jax.lax.scan(body, batch, None, length=num_steps)[0]

    def _run_shared(self, params: PyTree, batch: EpisodeBatch, num_steps: int, episodes: int) -> EpisodeBatch:
        """``num_steps`` steps of every row, the batch being whole members of ``episodes`` rows each:
        develop each member's parameters once, then scan with its episodes batched through the policy."""
        members = batch.member.reshape(-1, episodes)[:, 0]
        net_params = jax.vmap(self.develop)(jax.tree_util.tree_map(lambda leaf: leaf[members], params))
        act = jax.vmap(jax.vmap(self.apply_fn, in_axes=(None, 0)))  # members x (shared weights, episodes)
        advance = jax.vmap(self._advance)

        def body(rows: EpisodeBatch, _):
            keys = jax.vmap(jax.random.split)(rows.key)
            obs = rows.obs.reshape(-1, episodes, *rows.obs.shape[1:])
            actions = act(net_params, obs)
            return advance(rows, keys[:, 0], keys[:, 1], actions.reshape(-1, *actions.shape[2:])), None

        return jax.lax.scan(body, batch, None, length=num_steps)[0]

    def plain(self, params: PyTree, keys: jax.Array) -> RolloutResult:
        """Every episode of every member, one batch, stepped to the step limit (no compaction)."""
        batch = self._all(params, self._init(keys), int(keys.shape[1]))
        rows = int(batch.ret.shape[0])
        return _result(jax.device_get(batch), keys.shape[:2], rows * self.num_chunks * self.chunk_steps)

    def compacted(self, params: PyTree, keys: jax.Array) -> RolloutResult:
        """The same episodes in chunks, the alive ones compacted into a bucketed batch between chunks."""
        batch = self._init(keys)
        total = int(batch.ret.shape[0])
        unit = int(keys.shape[1]) if self.shared_weights else 1  # rows that stay together: a member's, or one
        results = {name: np.zeros(total, dtype) for name, dtype in
                   (("ret", np.float32), ("steps", np.int32), ("ended_early", bool))}
        rows_stepped = 0
        for _ in range(self.num_chunks):
            batch = self._chunk(params, batch, unit)
            rows_stepped += int(batch.ret.shape[0]) * self.chunk_steps
            host = jax.device_get((batch.episode, batch.padding, batch.done, batch.ret, batch.steps,
                                   batch.ended_early))
            episode, padding, done = host[:3]
            real = ~padding
            for name, values in zip(results, host[3:]):
                results[name][episode[real]] = values[real]
            alive = np.flatnonzero((real & ~done).reshape(-1, unit).any(axis=1))  # in units of rows
            if alive.size == 0:
                break
            size = bucket_size(alive.size, total // unit, self.num_buckets)
            if size * unit < batch.ret.shape[0] or np.any(padding):
                units = np.concatenate([alive, np.full(size - alive.size, alive[0])])
                index = (units[:, None] * unit + np.arange(unit)).reshape(-1).astype(np.int32)
                batch = self._gather(batch, index, np.int32(alive.size * unit))
        shape = keys.shape[:2]
        return RolloutResult(results["ret"].reshape(shape), results["steps"].reshape(shape),
                             results["ended_early"].reshape(shape), rows_stepped)


def _gather_rows(batch: EpisodeBatch, index: jax.Array, num_real: jax.Array) -> EpisodeBatch:
    """Rows ``index`` of the batch; rows from position ``num_real`` on are padding."""
    rows = jax.tree_util.tree_map(lambda leaf: leaf[index], batch)
    return rows.replace(padding=jnp.arange(index.shape[0]) >= num_real)


def _result(batch: EpisodeBatch, shape: tuple[int, int], rows_stepped: int) -> RolloutResult:
    return RolloutResult(np.asarray(batch.ret).reshape(shape), np.asarray(batch.steps).reshape(shape),
                         np.asarray(batch.ended_early).reshape(shape), rows_stepped)


# --- two-stage selection -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TwoStageConfig:
    """Sizes of the paper's CarRacing selection: 256 members x 2 episodes, top 32 x 4 more, top 8."""

    stage1_episodes: int = 2
    num_finalists: int = 32
    stage2_episodes: int = 4
    num_parents: int = 8


def _top(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` highest scores, best first; ties go to the lower index."""
    return np.argsort(-np.asarray(scores, np.float64), kind="stable")[:count]


def select_finalists(stage1_returns: np.ndarray, num_finalists: int) -> np.ndarray:
    """Stage 1: members (rows of (members, episodes) returns) with the best mean return, best first."""
    if not 1 <= num_finalists <= stage1_returns.shape[0]:
        raise ValueError(f"num_finalists must be in [1, {stage1_returns.shape[0]}]; got {num_finalists}")
    return _top(stage1_returns.mean(axis=1), num_finalists)


def select_parents(finalist_stage1: np.ndarray, finalist_stage2: np.ndarray, num_parents: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Stage 2: (positions among the finalists of the parents, best first; every finalist's mean over
    all its episodes of both stages). The paper ranks on the 6-episode sum, i.e. the same order."""
    if not 1 <= num_parents <= finalist_stage1.shape[0]:
        raise ValueError(f"num_parents must be in [1, {finalist_stage1.shape[0]}]; got {num_parents}")
    means = np.concatenate([finalist_stage1, finalist_stage2], axis=1).mean(axis=1)
    return _top(means, num_parents), means


def _timed(evaluate: Callable, params: PyTree, keys: jax.Array) -> tuple[RolloutResult, float]:
    start = time.perf_counter()
    result = evaluate(params, keys)
    return result, time.perf_counter() - start


def two_stage_evaluate(evaluate: Callable[[PyTree, jax.Array], RolloutResult], params: PyTree,
                       key: jax.Array, config: TwoStageConfig = TwoStageConfig()
                       ) -> tuple[np.ndarray, dict[str, float]]:
    """Evaluate a population in two stages; return (parent member indices, best first; the record).

    ``evaluate(params, keys)`` is e.g. :meth:`PopulationRollout.compacted`; ``keys`` there is
    (members, episodes, key) and every episode gets its own key (its own track). The record holds,
    per stage, the mean per-episode return (``stage1_mean_score`` over the whole population,
    ``stage2_mean_score`` over the finalists' all-episode means), the wall time in seconds and the
    alive steps; and the parents' mean and the best parent's score (the paper's plotted "score").
    """
    num_members = jax.tree_util.tree_leaves(params)[0].shape[0]
    key1, key2 = jax.random.split(key)
    keys1 = jax.random.split(key1, (num_members, config.stage1_episodes))
    stage1, time1 = _timed(evaluate, params, keys1)
    finalists = select_finalists(stage1.returns, config.num_finalists)
    finalist_params = jax.tree_util.tree_map(lambda leaf: leaf[jnp.asarray(finalists)], params)
    keys2 = jax.random.split(key2, (config.num_finalists, config.stage2_episodes))
    stage2, time2 = _timed(evaluate, finalist_params, keys2)
    positions, means = select_parents(stage1.returns[finalists], stage2.returns, config.num_parents)
    record = {"stage1_mean_score": float(stage1.returns.mean()), "stage1_time_s": time1,
              "stage1_steps": stage1.alive_steps, "stage1_rows_stepped": stage1.rows_stepped,
              "stage1_ended_early": float(stage1.ended_early.mean()),
              "stage2_mean_score": float(means.mean()), "stage2_time_s": time2,
              "stage2_steps": stage2.alive_steps, "stage2_rows_stepped": stage2.rows_stepped,
              "parents_mean_score": float(means[positions].mean()), "best_score": float(means[positions[0]])}
    return finalists[positions], record


# --- a rendered episode strip (for the C4 page) ---------------------------------------------------


def episode_strip(env: Any, env_params: Any, policy: Callable[[jax.Array], jax.Array], key: jax.Array,
                  num_frames: int = 6, gap: int = 2) -> np.ndarray:
    """One episode of ``policy(obs) -> action`` as a (h, num_frames * (w + gap) - gap) grayscale strip:
    the newest frame at ``num_frames`` evenly spaced steps from the first to the episode's last."""
    obs, state = env.reset_env(key, env_params)

    def body(carry, step_key):
        obs, state, done = carry
        obs, state, _, terminated, _ = env.step_env(step_key, state, policy(obs), env_params)
        done = done | terminated | env.is_truncated(state, env_params)
        return (obs, state, done), (obs[..., -1], done)

    steps = int(env_params.max_steps_in_episode)
    init = (obs, state, jnp.zeros((), bool))
    _, (frames, done) = jax.lax.scan(body, init, jax.random.split(key, steps))
    frames, done = np.asarray(frames), np.asarray(done)
    last = int(np.argmax(done)) if done.any() else steps - 1
    picks = np.linspace(0, last, num_frames).round().astype(int)
    height = frames.shape[1]
    spacer = np.ones((height, gap), frames.dtype)
    pieces = [piece for index in picks for piece in (frames[index], spacer)][:-1]
    return np.concatenate(pieces, axis=1)
