"""The paper's real pixel environments through envpool (the optional ``envpool`` extra): CarRacing-v3 and
four Atari games, with the original's preprocessing, rolled out by a population (Study C).

A task is named ``envpool:<name>``: ``envpool:CarRacing-v3``, or an Atari game ``envpool:Asteroids``,
``envpool:Frostbite``, ``envpool:Gravitar``, ``envpool:Kangaroo`` (the paper's four) or
``envpool:Breakout`` (cheap, for tests). The original (``jarbus/Jevo.jl``,
``src/environments/gymnasium/car-racing.jl`` and ``atari.jl``; ``originals.md`` section 1.3) wraps
gymnasium; here envpool's C++ ports of the same environments run them, several at once on threads:

* **CarRacing-v3.** ``gym.make("CarRacing-v3")`` (continuous actions, 96x96 RGB, 1,000 steps at most
  from its registration; the outer ``TimeLimit(10000)`` never binds), ``ResizeObservation((64, 64))``
  (OpenCV's area interpolation: :func:`area_resize_weights`), ``FrameStackObservation(4)`` (the reset
  frame repeated, gymnasium's default padding), concatenated oldest first to 64x64x12 and divided
  by 255. The action is the network's 3 raw outputs. envpool clips them to the action space, which
  changes nothing in gymnasium's dynamics (``car_dynamics.py``: gas is clipped to [0, 1], a brake of
  0.9 or more locks the wheels and one of 0 or less does nothing, and a steering target past the
  joint's ±0.4 limit drives its motor at the same capped speed as ±1 does). **Early termination**: after
  each step the episode ends once more than 20 rewards have been seen and the last 21 are all
  negative (:func:`nevolab.tasks.racing.update_progress` / :func:`~nevolab.tasks.racing.early_stop`
  count exactly that); it counts as ended early, as the environment's own ends do.
* **Atari.** ``gym.make("<Game>Deterministic-v4")``: frameskip 4, no sticky actions, the minimal action
  set; ``ResizeObservation((84, 84))`` (area, colour kept), ``FrameStackObservation(4)``, i.e.
  84x84x12 / 255. Before the network acts the original plays NOOP while ``step < rand(1:30)``, its
  step counter starting at 1: 0 to 29 no-ops (:func:`episode_draws`), counted as agent steps, their
  rewards kept. The episode is cut after 2,500 agent steps; the action is the argmax of the outputs;
  one episode per member. envpool's own no-op start and FIRE-on-reset are switched off
  (``noop_max=1`` draws zero no-ops; ``noop_max=0`` crashes envpool 1.2.5) so the original's rule
  applies. **The frame skip is done here**, not by envpool: envpool's ``frame_skip=4`` returns the
  maximum of the last two frames (checked against single frames: it matched all 60 steps of an
  Asteroids test where the last frame alone matched 36), while ``Deterministic-v4`` repeats the action
  on 4 frames, sums their rewards and returns the last frame alone, which is what the rollout does
  with envpool stepping single frames (``frame_skip=1``; envpool still resizes each frame with
  OpenCV's area interpolation). A game that ends inside the 4 frames is not stepped further (ALE ignores
  actions after game over). Life losses do not end an episode and rewards are not clipped, as in the
  original.

**Seeds.** Every episode is one envpool environment whose seed (and, on Atari, no-op count) comes from
the episode's key (:func:`episode_draws`). envpool seeds each environment by its own seed, whatever
the pool, so the same keys give the same episodes in any batch (tested). On CarRacing the seed draws
the track, so each rollout call makes a new pool (cheap). On Atari it changes nothing (ALE without
sticky actions is deterministic; the no-op count is the episode's only randomness), and loading a game
is not cheap, so a rollout keeps one pool per size and resets it per call.

**Compaction.** :class:`EnvpoolRollout` has :class:`~nevolab.tasks.pixel_rollout.PopulationRollout`'s
interface and :class:`~nevolab.tasks.pixel_rollout.RolloutResult`. The policy runs as one jitted,
vmapped forward per step over a batch of episode rows, each row with its member's developed
parameters (gathered once per chunk of ``chunk_steps``). ``plain`` keeps every row in the batch and
steps every environment to the step limit; ``compacted`` re-forms the batch between chunks from the
episodes still alive, its size rounded up by :func:`~nevolab.tasks.pixel_rollout.bucket_size` (the
extra rows repeat an alive one) so at most ``num_buckets`` shapes compile, and steps only the
environments of alive episodes, also within a chunk (a CarRacing step costs about 1 ms of CPU, as
much as a row of the paper's dense CNN). ``rows_stepped`` counts forward rows, as ``PopulationRollout``
does; the environment steps taken are the alive steps (``RolloutResult.alive_steps``) when compacted.

envpool is imported only when a pool is made, so the library imports without it;
:func:`unavailable_reason` and :func:`check_task` say in one line, before any compute, why a task cannot
run here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nevolab.tasks.pixel_rollout import RolloutResult, bucket_size
from nevolab.tasks.racing import EnvParams as RacingParams
from nevolab.tasks.racing import early_stop, update_progress

__all__ = ["ATARI_GAMES", "CAR_RACING", "INSTALL_HINT", "PAPER_ATARI_GAMES", "PREFIX", "TASKS",
           "EnvpoolRollout", "EnvpoolTask", "area_resize", "area_resize_weights", "atari_frames",
           "check_task", "envpool_installed", "episode_draws", "get_task", "is_envpool_task",
           "no_progress", "push_frames", "reset_stack", "scaled", "to_action", "unavailable_reason"]

PyTree = Any

PREFIX = "envpool:"
INSTALL_HINT = ("make venv-envpool (or pip install -e '.[envpool]', "
                "or .venv/bin/pip install -r requirements-envpool.lock)")

CAR_RACING = "CarRacing-v3"
PAPER_ATARI_GAMES = ("Asteroids", "Frostbite", "Gravitar", "Kangaroo")
"""The paper's Atari games (``experiments/atari/``)."""
ATARI_GAMES = (*PAPER_ATARI_GAMES, "Breakout")
"""Breakout is not the paper's: a cheap game for tests."""

#: The early-termination rule's counts (car-racing.jl: ``length(prev_rewards) > 20 &&
#: all(prev_rewards[end-20:end] .< 0)``), with racing.py's names.
_RULE = RacingParams(min_rewards=20, patience=21, early_termination=True)


@dataclasses.dataclass(frozen=True)
class EnvpoolTask:
    """One envpool task: its envpool id and options, observation, actions and episode rules."""

    name: str  # without the prefix
    envpool_id: str
    obs_shape: tuple[int, int, int]  # what the network sees: (height, width, 12)
    num_actions: int  # outputs of the network: 3 raw for CarRacing, the minimal action set on Atari
    discrete: bool  # the action is the argmax of the outputs
    max_steps: int  # agent steps per episode at most
    early_termination: bool  # the CarRacing no-progress rule
    max_noops: int  # the original's rand(1:max_noops) no-op start (0: none)
    frame_skip: int  # frames per agent step, done by the rollout (the action repeated, rewards summed)
    seeded: bool  # the seed changes the episodes: a new pool per rollout (else one pool, reset per rollout)
    options: tuple[tuple[str, Any], ...] = ()  # envpool.make keyword arguments


# single frames, unstacked: the rollout repeats the action and stacks the frames (envpool's own skip
# max-pools the last two frames, which Deterministic-v4 does not)
_ATARI_OPTIONS = (("gray_scale", False), ("img_height", 84), ("img_width", 84), ("stack_num", 1),
                  ("frame_skip", 1), ("repeat_action_probability", 0.0), ("noop_max", 1),
                  ("use_fire_reset", False), ("episodic_life", False), ("reward_clip", False),
                  ("full_action_space", False), ("use_inter_area_resize", True))
# The minimal action sets (ALE): Asteroids 14, Breakout 4, the other three 18.
_ATARI_ACTIONS = {"Asteroids": 14, "Frostbite": 18, "Gravitar": 18, "Kangaroo": 18, "Breakout": 4}

TASKS: dict[str, EnvpoolTask] = {
    # the seed draws CarRacing's track; making its pool is cheap (about 4 ms an environment here)
    CAR_RACING: EnvpoolTask(CAR_RACING, "CarRacing-v3", (64, 64, 12), 3, discrete=False, max_steps=1000,
                            early_termination=True, max_noops=0, frame_skip=1, seeded=True),
    # ALE without sticky actions is deterministic (the seed changes nothing: checked, and a reset
    # episode replays a fresh one), while loading a game costs about 70 ms an environment: one pool
    **{game: EnvpoolTask(game, f"{game}-v5", (84, 84, 12), _ATARI_ACTIONS[game], discrete=True,
                         max_steps=2500, early_termination=False, max_noops=30, frame_skip=4, seeded=False,
                         options=_ATARI_OPTIONS)
       for game in ATARI_GAMES},
}
"""Every ``envpool:`` task by name (without the prefix)."""


# --- names and validation (no envpool import) -----------------------------------------------------


def is_envpool_task(task: Any) -> bool:
    """True for task names ``envpool:<name>``."""
    return isinstance(task, str) and task.startswith(PREFIX)


def envpool_installed() -> bool:
    """Whether the ``envpool`` package can be imported (checked without importing it)."""
    return importlib.util.find_spec("envpool") is not None


def unavailable_reason(task: str) -> str | None:
    """Why ``task`` cannot run here, in one line, or None (also for tasks that are not envpool's)."""
    if not is_envpool_task(task):
        return None
    name = task[len(PREFIX):]
    if name not in TASKS:
        return f"unknown envpool task {name!r}; valid: {', '.join(PREFIX + known for known in TASKS)}"
    if not envpool_installed():
        return f"needs the envpool extra: {INSTALL_HINT}"
    return None


def check_task(task: str) -> EnvpoolTask:
    """The task's entry, or one line raised before any compute: ValueError for an unknown name (listing
    the valid ones), ModuleNotFoundError when the extra is missing (giving the install command)."""
    if not is_envpool_task(task):
        raise ValueError(f"{task!r} is not an envpool task; valid: {', '.join(PREFIX + t for t in TASKS)}")
    reason = unavailable_reason(task)
    if reason is None:
        return TASKS[task[len(PREFIX):]]
    if reason.startswith("needs"):
        raise ModuleNotFoundError(f"task {task!r} {reason}")
    raise ValueError(reason)


def get_task(task: str) -> EnvpoolTask:
    """The entry of an ``envpool:<name>`` (or bare ``<name>``) task, without checking the install."""
    name = task[len(PREFIX):] if is_envpool_task(task) else task
    if name not in TASKS:
        raise ValueError(unavailable_reason(PREFIX + name))
    return TASKS[name]


# --- preprocessing (pure numpy) -------------------------------------------------------------------


def area_resize_weights(source: int, target: int) -> np.ndarray:
    """(target, source) weights of OpenCV's INTER_AREA shrink along one axis: output pixel i averages
    the source interval [i * s, (i + 1) * s), s = source / target, each pixel by its overlap."""
    if not 0 < target <= source:
        raise ValueError(f"area resize shrinks: target {target} must be in [1, {source}]")
    scale = source / target
    edges = np.arange(target + 1) * scale
    pixels = np.arange(source)
    overlap = np.clip(np.minimum(edges[1:, None], pixels + 1) - np.maximum(edges[:-1, None], pixels), 0, None)
    return overlap / scale


def area_resize(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 images (..., h, w, c) shrunk to (..., height, width, c) by area averaging, rounded to
    nearest as OpenCV's ``cv2.resize(..., interpolation=INTER_AREA)`` (gymnasium's ResizeObservation)."""
    rows = area_resize_weights(images.shape[-3], height).astype(np.float32)
    cols = area_resize_weights(images.shape[-2], width).astype(np.float32)
    # two plain matmuls (tensordot), float32: for 96 -> 64 every output is k/9 of integers, never
    # within 1/18 of a .5 tie, far above float32's rounding, so the result is exact (it equals
    # cv2.resize's on random frames)
    resized = np.tensordot(rows, images.astype(np.float32), axes=([1], [-3]))  # (height, ..., w, c)
    resized = np.tensordot(resized, cols, axes=([-2], [1]))  # (height, ..., c, width)
    resized = np.moveaxis(np.moveaxis(resized, 0, -3), -1, -2)
    return np.clip(np.rint(resized), 0, 255).astype(np.uint8)


def push_frames(stack: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """The frame stack (..., h, w, k*c) with the oldest frame dropped and ``frames`` (..., h, w, c) last."""
    channels = frames.shape[-1]
    return np.concatenate([stack[..., channels:], frames], axis=-1)


def reset_stack(frames: np.ndarray, num_frames: int = 4) -> np.ndarray:
    """The stack at reset: (n, h, w, c) frames repeated ``num_frames`` times, (n, h, w, c * num_frames)
    (FrameStackObservation's default ``padding_type="reset"``)."""
    return np.tile(frames, (1, 1, 1, num_frames))


def atari_frames(obs: np.ndarray) -> np.ndarray:
    """envpool's channel-first (n, 3, 84, 84) frames as (n, 84, 84, 3)."""
    return np.ascontiguousarray(np.moveaxis(obs, 1, -1))


def scaled(stack: jax.Array) -> jax.Array:
    """uint8 pixels as float32 in [0, 1] (the original's ``obs ./ 255f0``)."""
    return stack.astype(jnp.float32) / jnp.float32(255.0)


def to_action(outputs: jax.Array, discrete: bool) -> jax.Array:
    """A policy's outputs as the action: the argmax of a vector on a discrete task (a scalar is taken
    as an action already chosen), else the raw outputs."""
    if discrete and outputs.ndim >= 1:
        return jnp.argmax(outputs, axis=-1).astype(jnp.int32)
    return outputs.astype(jnp.int32) if discrete else outputs


def no_progress(rewards_seen: np.ndarray, negative_streak: np.ndarray, reward: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """After one more reward: (rewards seen, negative run, whether the original's rule ends the episode)."""
    seen, streak = update_progress(jnp.asarray(rewards_seen), jnp.asarray(negative_streak),
                                   jnp.asarray(reward))
    stop = early_stop(seen, streak, _RULE)
    return np.asarray(seen), np.asarray(streak), np.asarray(stop)


def episode_draws(keys: jax.Array, max_noops: int) -> tuple[np.ndarray, np.ndarray]:
    """Per episode key (..., key): (the envpool seed in [0, 2**31 - 1), the no-op count). The count is
    the original's ``rand(1:max_noops) - 1`` (NOOP while its 1-based step < the draw); 0 if max_noops is 0."""
    typed = jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)
    shape = keys.shape if typed else keys.shape[:-1]  # raw uint32 keys carry a trailing key axis

    def draw(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        seed_key, noop_key = jax.random.split(key)
        seed = jax.random.randint(seed_key, (), 0, 2 ** 31 - 1)
        noops = jax.random.randint(noop_key, (), 1, max(max_noops, 1) + 1) - 1
        return seed, noops

    seeds, noops = jax.vmap(draw)(keys.reshape(-1, *keys.shape[len(shape):]))
    return np.asarray(seeds).reshape(shape), np.asarray(noops).reshape(shape)


# --- the population rollout ------------------------------------------------------------------------


def _import_envpool() -> Any:
    if not envpool_installed():
        raise ModuleNotFoundError(f"envpool tasks need the envpool extra: {INSTALL_HINT}")
    import envpool

    return envpool


def make_pool(task: EnvpoolTask, seeds: np.ndarray, max_steps: int, num_threads: int = 0) -> Any:
    """An envpool of one environment per seed (gymnasium API, synchronous): env i gets seeds[i]."""
    envpool = _import_envpool()
    return envpool.make(task.envpool_id, env_type="gymnasium", num_envs=len(seeds),
                        seed=[int(seed) for seed in seeds], num_threads=num_threads,
                        max_episode_steps=max_steps * task.frame_skip, **dict(task.options))


@dataclasses.dataclass
class _Episodes:
    """Host-side bookkeeping of every episode row, indexed by row (= envpool env id)."""

    stack: np.ndarray  # (rows, h, w, 12) uint8, newest frame last
    noops: np.ndarray  # int: no-op steps before the policy acts
    ret: np.ndarray  # float32
    steps: np.ndarray  # int32, steps taken while alive
    done: np.ndarray  # bool
    ended_early: np.ndarray  # bool
    rewards_seen: np.ndarray  # int32, the CarRacing rule's counts
    negative_streak: np.ndarray  # int32


class EnvpoolRollout:
    """Episodic rollouts of a population of policies on an ``envpool:`` task.

    The interface of :class:`~nevolab.tasks.pixel_rollout.PopulationRollout`: ``apply_fn(net_params,
    obs)`` is one policy on one observation (the task's (h, w, 12) in [0, 1]) and returns the action
    or, on a discrete task, either the action or the outputs (their argmax is taken: :func:`to_action`);
    ``develop(params) -> net_params`` (default identity) maps one member's stored parameters to the
    network's; members' parameters carry a leading member axis; ``keys`` is (members, episodes, key),
    one key per episode. Keep one instance per (task, policy) for a run: the jitted programs are cached.
    ``early_termination=False`` switches CarRacing's no-progress rule off (the environment's own ends stay).
    """

    def __init__(self, task: str, apply_fn: Callable, develop: Callable | None = None, chunk_steps: int = 50,
                 num_buckets: int = 16, max_steps: int | None = None, num_threads: int = 0,
                 early_termination: bool = True):
        if chunk_steps < 1 or num_buckets < 1:
            raise ValueError(f"chunk_steps and num_buckets must be >= 1; got {chunk_steps}, {num_buckets}")
        self.task = check_task(task)
        if not early_termination:
            self.task = dataclasses.replace(self.task, early_termination=False)
        self.max_steps = int(max_steps if max_steps is not None else self.task.max_steps)
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1; got {self.max_steps}")
        self.chunk_steps, self.num_buckets, self.num_threads = chunk_steps, num_buckets, num_threads
        self.develop = develop if develop is not None else (lambda params: params)
        discrete = self.task.discrete

        def act(net_params: PyTree, stack: jax.Array) -> jax.Array:
            return to_action(apply_fn(net_params, scaled(stack)), discrete)

        self._act = jax.jit(jax.vmap(act))
        self._pools: dict[int, Any] = {}  # unseeded tasks' pools by size, reused across calls
        self._rows = jax.jit(lambda params, member: jax.vmap(self.develop)(
            jax.tree_util.tree_map(lambda leaf: leaf[member], params)))

    def plain(self, params: PyTree, keys: jax.Array) -> RolloutResult:
        """Every episode of every member in one batch, every environment stepped to the step limit."""
        return self._rollout(params, keys, compact=False)

    def compacted(self, params: PyTree, keys: jax.Array) -> RolloutResult:
        """The same episodes, the alive ones compacted into a bucketed batch between chunks and only
        alive episodes' environments stepped."""
        return self._rollout(params, keys, compact=True)

    def episode_strip(self, params: PyTree, key: jax.Array, num_frames: int = 6, gap: int = 2) -> np.ndarray:
        """One episode of one member (``params`` without a member axis) as an RGB strip of what its policy
        sees, (h, num_frames * (w + gap) - gap, 3) uint8: the newest frame at ``num_frames`` evenly
        spaced steps from the reset to the episode's last (pixel_rollout.episode_strip's layout)."""
        frames: list[np.ndarray] = []
        members = jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf)[None], params)
        result = self._rollout(members, key[None, None], compact=True, record=frames)
        picks = np.linspace(0, int(result.steps[0, 0]), num_frames).round().astype(int)
        spacer = np.full((frames[0].shape[0], gap, 3), 255, np.uint8)
        pieces = [piece for index in picks for piece in (frames[index], spacer)][:-1]
        return np.concatenate(pieces, axis=1)

    def _rollout(self, params: PyTree, keys: jax.Array, compact: bool, record: list | None = None
                 ) -> RolloutResult:
        members, episodes = int(keys.shape[0]), int(keys.shape[1])
        total = members * episodes
        seeds, noops = episode_draws(keys, self.task.max_noops)
        member = np.repeat(np.arange(members, dtype=np.int32), episodes)
        pool = self._pool(seeds.reshape(-1))
        try:
            obs, _ = pool.reset()
            state = _Episodes(stack=self._first_stack(obs), noops=noops.reshape(-1),
                              ret=np.zeros(total, np.float32), steps=np.zeros(total, np.int32),
                              done=np.zeros(total, bool), ended_early=np.zeros(total, bool),
                              rewards_seen=np.zeros(total, np.int32),
                              negative_streak=np.zeros(total, np.int32))
            rows_stepped, every = 0, np.arange(total)
            if record is not None:  # the newest frame of episode 0, at reset and after each step
                record.append(state.stack[0, ..., -3:].copy())
            for start in range(0, self.max_steps, self.chunk_steps):
                # the batch's distinct rows (position i holds row real[i]) and, compacted, its padding
                real = np.flatnonzero(~state.done) if compact else every
                if real.size == 0:
                    break
                batch = real
                if compact:
                    size = bucket_size(real.size, total, self.num_buckets)
                    batch = np.concatenate([real, np.full(size - real.size, real[0])])
                net_params = self._rows(params, jnp.asarray(member[batch]))
                for _ in range(min(self.chunk_steps, self.max_steps - start)):
                    # plain steps every environment, done or not; compacted only the alive episodes'
                    positions = np.flatnonzero(~state.done[real]) if compact else every
                    if positions.size == 0:
                        break
                    actions = np.asarray(self._act(net_params, jnp.asarray(state.stack[batch])))
                    self._step(pool, state, real[positions], actions[positions])
                    rows_stepped += int(batch.size)
                    if record is not None and len(record) <= state.steps[0]:  # episode 0 took this step
                        record.append(state.stack[0, ..., -3:].copy())
        finally:
            if self.task.seeded:
                pool.close()
        shape = (members, episodes)
        return RolloutResult(state.ret.reshape(shape), state.steps.reshape(shape),
                             state.ended_early.reshape(shape), rows_stepped)

    def _pool(self, seeds: np.ndarray) -> Any:
        """A pool of len(seeds) environments: new and seeded by ``seeds``, or the task's kept one."""
        if self.task.seeded:
            return make_pool(self.task, seeds, self.max_steps, self.num_threads)
        if len(seeds) not in self._pools:
            self._pools[len(seeds)] = make_pool(self.task, seeds, self.max_steps, self.num_threads)
        return self._pools[len(seeds)]

    def close(self) -> None:
        """Close the kept pools (they also close when the rollout is garbage-collected)."""
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    def _frames(self, obs: np.ndarray) -> np.ndarray:
        """envpool's observations as (n, h, w, 3) uint8 frames of the task's size."""
        if self.task.discrete:
            return atari_frames(obs)
        return area_resize(obs, *self.task.obs_shape[:2])

    def _first_stack(self, obs: np.ndarray) -> np.ndarray:
        return reset_stack(self._frames(obs), self.task.obs_shape[-1] // 3)

    def _step(self, pool: Any, state: _Episodes, rows: np.ndarray, actions: np.ndarray) -> None:
        """Step environments ``rows`` with ``actions`` and update their episodes (alive ones count)."""
        if self.task.discrete:
            # the original's no-op start: NOOP (action 0 of every minimal set) before the policy acts
            actions = np.where(state.steps[rows] < state.noops[rows], 0, actions).astype(np.int32)
        else:
            actions = np.asarray(actions, np.float32)
        ids, frames, reward, terminated, truncated = self._skip(pool, rows, actions)
        state.stack[ids] = push_frames(state.stack[ids], frames)
        alive = ~state.done[ids]
        state.ret[ids] = np.where(alive, state.ret[ids] + reward, state.ret[ids])
        state.steps[ids] += alive.astype(np.int32)
        if self.task.early_termination:
            # over every row (the others' counts are kept), so the rule's jnp ops see one shape
            rewards = np.zeros(state.ret.shape, np.float32)
            rewards[ids] = reward
            seen, streak, stop = no_progress(state.rewards_seen, state.negative_streak, rewards)
            state.rewards_seen[ids], state.negative_streak[ids] = seen[ids], streak[ids]
            terminated = terminated | stop[ids]
        ended = alive & terminated
        state.ended_early[ids] |= ended
        state.done[ids] |= terminated | truncated | (state.steps[ids] >= self.max_steps)

    def _skip(self, pool: Any, rows: np.ndarray, actions: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One agent step of environments ``rows`` (sorted): the action on ``frame_skip`` frames, rewards
        summed, the last frame kept; an episode that ends inside stops there. Returns (rows, frames,
        rewards, terminated, truncated), rows in order."""
        frames = np.zeros((len(rows), *self.task.obs_shape[:2], 3), np.uint8)
        reward = np.zeros(len(rows), np.float32)
        terminated, truncated = np.zeros(len(rows), bool), np.zeros(len(rows), bool)
        going = np.arange(len(rows))  # positions in rows still to step
        for _ in range(self.task.frame_skip):
            obs, frame_reward, frame_terminated, frame_truncated, info = pool.step(
                actions[going], rows[going].astype(np.int32))
            # envpool answers in its own order: put each answer at its row's position
            order = np.argsort(np.asarray(info["env_id"]))
            frames[going] = self._frames(np.asarray(obs)[order])
            reward[going] += np.asarray(frame_reward, np.float32)[order]
            terminated[going] |= np.asarray(frame_terminated)[order]
            truncated[going] |= np.asarray(frame_truncated)[order]
            going = going[~(terminated[going] | truncated[going])]
            if going.size == 0:
                break
        return rows, frames, reward, terminated, truncated
