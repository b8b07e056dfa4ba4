"""Study C's pixel tasks, one table: each task's environment, networks, policy and run settings.

Everything that differs between two pixel tasks is one :class:`PixelTask` entry of :data:`TASKS`:
the rest of the pixel-RL code (:mod:`nevolab.studies.c.pixel`, the specs' choices, the pages) reads
the table and names no task. Adding a MinAtar game is adding its name to :data:`MINATAR_GAMES`;
adding another pixel task is adding one entry.

The paper's own environments, ``envpool:CarRacing-v3`` and ``envpool:<Game>`` (the optional envpool
extra, :mod:`nevolab.tasks.envpool_pixel`), are entries too, looked up by name; iterating :data:`TASKS`
gives the JAX tasks only (those every install can step, and the ones the profiles' presets list).

This module imports no JAX at import time (the specs read it to list their choices); the factories
import the environment and the network when a run is built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ENVPOOL_PIXEL_TASKS", "JAX_PIXEL_TASKS", "MINATAR_GAMES", "PIXEL_TASKS", "RACING",
           "RACING_TRACK", "TASKS", "PixelTask", "TaskTable", "envpool_entry", "get_task", "is_envpool",
           "peak_memory", "pixel_task_problem"]

RACING = "racing"
MINATAR_GAMES = ("Breakout", "SpaceInvaders", "Asterix", "Freeway")
"""MinAtar games through gymnax (the paper's own Atari games need ALE, or jaxtari's sprites)."""

RACING_TRACK = {"track_amplitude": 0.5, "half_width": 4.0}
"""Racing's track for Study C: bendier (amplitude 0.5 against the task's 0.15) and narrower (half-width 4
against 6) than the task's defaults, so that a lap needs a policy that follows the road: on the default
track a random network with a steering bias completed a lap within two generations."""


@dataclasses.dataclass(frozen=True)
class PixelTask:
    """One pixel task: how to build its environment, its networks and its policy, and which of a
    C4/C5 page's parameters set its runs.

    ``make_env(run)`` returns ``(env, env_params)`` with the run's step limit; ``networks`` maps a
    variant's network (``"dense"``, ``"small"``; the factorized variant uses the dense one) to its
    ``(conv_channels, hidden_sizes)``; ``greedy``: the policy acts by the argmax of the outputs
    (discrete actions), else it returns the raw outputs (the environment clips them);
    ``run_settings(values)`` gives the :class:`~nevolab.studies.c.pixel.PixelRun` fields a page's
    parameter values set for this task; ``observation(values)`` the observation's shape there (at
    most: it sizes the memory estimate), and ``population_param`` the page parameter that sets the
    population. ``envpool``: the task runs on envpool (:class:`~nevolab.tasks.envpool_pixel.EnvpoolRollout`,
    its observation and actions from :data:`nevolab.tasks.envpool_pixel.TASKS`); ``make_env`` is then
    not used.
    """

    name: str
    title: str
    make_env: Callable[[Any], tuple[Any, Any]]
    networks: Mapping[str, tuple[tuple[int, ...], tuple[int, ...]]]
    kernel_size: int
    stride: int
    greedy: bool
    run_settings: Callable[[Mapping[str, Any]], dict[str, Any]]
    observation: Callable[[Mapping[str, Any]], tuple[int, int, int]]
    population_param: str
    envpool: bool = False


def _racing_env(run: Any) -> tuple[Any, Any]:
    from nevolab.tasks.racing import Racing

    env = Racing(obs_size=run.obs_size)
    params = env.default_params.replace(**RACING_TRACK, max_steps_in_episode=run.max_steps,
                                        early_termination=run.early_termination)
    return env, params


def _racing_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """The paper's CarRacing runs: two-stage selection."""
    return {"population_size": values["population"], "num_generations": values["generations"],
            "stage1_episodes": values["stage1_episodes"], "num_finalists": values["finalists"],
            "stage2_episodes": values["stage2_episodes"], "num_parents": values["parents"],
            "max_steps": values["max_steps"], "obs_size": values["obs_size"], "rank": values["rank"]}


def _minatar_env(game: str) -> Callable[[Any], tuple[Any, Any]]:
    def make(run: Any) -> tuple[Any, Any]:
        import gymnax

        env, params = gymnax.make(f"{game}-MinAtar")
        return env, params.replace(max_steps_in_episode=run.max_steps)

    return make


def _atari_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """The paper's Atari runs: one episode, one stage, truncation k."""
    return {"population_size": values["atari_population"], "num_generations": values["atari_generations"],
            "stage1_episodes": 1, "num_finalists": values["atari_parents"], "stage2_episodes": 0,
            "num_parents": values["atari_parents"], "max_steps": values["atari_max_steps"], "obs_size": 10,
            "rank": values["atari_rank"]}


def _racing_observation(values: Mapping[str, Any]) -> tuple[int, int, int]:
    return (values["obs_size"], values["obs_size"], 4)  # 4 stacked grayscale frames


def _minatar_observation(values: Mapping[str, Any]) -> tuple[int, int, int]:
    return (10, 10, 10)  # a 10x10 board; no MinAtar game has more than 10 channels


def _racing() -> PixelTask:
    # CarRacing's four 4x4 stride-2 convolutions
    return PixelTask(RACING, "racing (CarRacing's rules)", _racing_env,
                     {"dense": ((32, 64, 128, 256), (256,)), "small": ((4, 4, 8, 16), (32,))},
                     kernel_size=4, stride=2, greedy=False, run_settings=_racing_settings,
                     observation=_racing_observation, population_param="population")


def _minatar(game: str) -> PixelTask:
    # the Atari network's channels on MinAtar's 10x10 boards: 3x3 stride-1 filters, since 8x8
    # stride-4 ones do not fit
    return PixelTask(f"minatar:{game}", f"{game} (MinAtar)", _minatar_env(game),
                     {"dense": ((32, 64, 64), (256,)), "small": ((4, 8, 8), (32,))},
                     kernel_size=3, stride=1, greedy=True, run_settings=_atari_settings,
                     observation=_minatar_observation, population_param="atari_population")


def _envpool_env(run: Any) -> tuple[Any, Any]:
    raise TypeError(f"{run.task} runs on envpool (EnvpoolRollout), not on a gymnax-style environment")


def _envpool_observation(name: str) -> Callable[[Mapping[str, Any]], tuple[int, int, int]]:
    def observation(values: Mapping[str, Any]) -> tuple[int, int, int]:
        from nevolab.tasks import envpool_pixel

        return envpool_pixel.get_task(name).obs_shape

    return observation


def _with_obs_size(settings: Callable[[Mapping[str, Any]], dict[str, Any]], side: int
                   ) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """``settings`` with the run's ``obs_size`` set to the envpool task's fixed image side."""
    def run_settings(values: Mapping[str, Any]) -> dict[str, Any]:
        return {**settings(values), "obs_size": side}

    return run_settings


def envpool_entry(name: str) -> PixelTask:
    """The table entry of ``envpool:<name>``: CarRacing-v3 with racing's parameters and the paper's
    CarRacing CNN (64x64x12 in: 64 -> 31 -> 14 -> 6 -> 2), an Atari game with the Atari parameters and
    the paper's channels (32, 64, 64) and dense 256 on 84x84x12. The paper's Atari net is Nature-DQN's
    8x8/4, 4x4/2, 3x3/1; :mod:`nevolab.models.pixel_cnn` has one kernel size and stride for every layer,
    so here all three are 4x4 stride 2 (84 -> 41 -> 19 -> 8, a 4,096-wide flatten against its 3,136)."""
    from nevolab.tasks import envpool_pixel

    task = envpool_pixel.get_task(name)
    full = envpool_pixel.PREFIX + task.name
    observation = _envpool_observation(task.name)
    side = task.obs_shape[0]
    if not task.discrete:
        return PixelTask(full, f"{task.name} (envpool)", _envpool_env,
                         {"dense": ((32, 64, 128, 256), (256,)), "small": ((4, 4, 8, 16), (32,))},
                         kernel_size=4, stride=2, greedy=False,
                         run_settings=_with_obs_size(_racing_settings, side), observation=observation,
                         population_param="population", envpool=True)
    return PixelTask(full, f"{task.name} (Atari, envpool)", _envpool_env,
                     {"dense": ((32, 64, 64), (256,)), "small": ((4, 8, 8), (32,))},
                     kernel_size=4, stride=2, greedy=True, run_settings=_with_obs_size(_atari_settings, side),
                     observation=observation, population_param="atari_population", envpool=True)


def is_envpool(name: str) -> bool:
    """True for a task name ``envpool:<name>`` (known or not)."""
    from nevolab.tasks import envpool_pixel

    return envpool_pixel.is_envpool_task(name)


class TaskTable(dict):
    """The task table: a dict of the JAX tasks, which also answers an ``envpool:`` name with its entry
    (:func:`envpool_entry`, built on lookup; iterating and ``in`` see the JAX tasks only)."""

    def __missing__(self, key: str) -> PixelTask:
        if isinstance(key, str) and key in ENVPOOL_PIXEL_TASKS:
            return envpool_entry(key)
        raise KeyError(key)


TASKS: dict[str, PixelTask] = TaskTable({task.name: task
                                         for task in (_racing(), *map(_minatar, MINATAR_GAMES))})
"""Every JAX pixel task, by name (racing first: C5 and the claims rest on it); envpool ones on lookup."""
JAX_PIXEL_TASKS = tuple(TASKS)
"""The tasks every install runs (the profiles' presets)."""
ENVPOOL_PIXEL_TASKS = ("envpool:CarRacing-v3", "envpool:Asteroids", "envpool:Frostbite", "envpool:Gravitar",
                       "envpool:Kangaroo", "envpool:Breakout")
"""The paper's real environments (the envpool extra): :data:`nevolab.tasks.envpool_pixel.TASKS`."""
PIXEL_TASKS = (*JAX_PIXEL_TASKS, *ENVPOOL_PIXEL_TASKS)
"""Every task name a page accepts."""


def get_task(name: str) -> PixelTask:
    """The table entry of ``name``; raises ValueError for a task not in :data:`TASKS` (an envpool task
    is returned whether or not the extra is installed: a run checks that when it starts)."""
    if name in ENVPOOL_PIXEL_TASKS:
        return TASKS[name]
    problem = pixel_task_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return TASKS[name]


def pixel_task_problem(task: str) -> str | None:
    """Why ``task`` is not a pixel task here, in one line (None when it is): an unknown name, or an
    envpool task without the extra (naming the install command)."""
    if task in TASKS:
        return None
    if is_envpool(task):
        from nevolab.tasks import envpool_pixel

        reason = envpool_pixel.unavailable_reason(task)
        return None if reason is None else f"task {task!r} {reason}" if reason.startswith("needs") else reason
    valid = ", ".join(PIXEL_TASKS)
    if task.startswith("jaxtari:"):
        return ("jaxtari's games need its sprite assets, which it downloads from Google Drive (this "
                f"machine is offline); valid: {valid}")
    return f"unknown pixel task {task!r}; valid: {valid}"


def peak_memory(values: Mapping[str, Any]) -> tuple[float, str]:
    """The estimated peak memory, in bytes, of the largest population evaluation a C4/C5 page's
    ``values`` ask for, and the parameter that sets it.

    Each episode row of a stage-1 rollout holds its own copy of its member's developed (dense)
    network, float32, and its observations; the population's genotypes are held once more (at most
    the dense network's size each). Summed per task, the largest task counts.
    """
    from nevolab.models import pixel_cnn

    estimates = []
    for name in values["tasks"]:
        task = TASKS[name]
        settings = task.run_settings(values)
        channels, hidden = task.networks["dense"]
        shape = task.observation(values)
        config = pixel_cnn.PixelCNNConfig(input_shape=shape, conv_channels=channels, hidden_sizes=hidden,
                                          num_actions=18, kernel_size=task.kernel_size, stride=task.stride)
        network = 4.0 * pixel_cnn.param_count(config)
        rows = float(settings["population_size"]) * settings["stage1_episodes"]
        frames = 2 * 4.0 * shape[0] * shape[1] * shape[2]  # observation and environment state
        population = float(settings["population_size"]) * network
        estimates.append((rows * (network + frames) + population, task.population_param))
    return max(estimates)
