"""Study B's tasks, in one place: their names, families, builders, budgets and paper settings.

Adding a gymnax task means editing this file (an alias in :data:`CONTROL_ALIASES` and a title in
:data:`TITLES`; any offline gymnax id works without either) plus its test. A new image dataset goes
to :mod:`nevolab.datasets` and appears here through :data:`VISION_TASKS`. Brax tasks are named
``brax:<env>`` (the optional ``brax`` extra; :mod:`nevolab.tasks.brax_control`); they are control
tasks (family ``"gymnax"``: the same ES settings, budget and pruning problem as the gymnax ones).

Paper settings (``originals.md`` §2.2): 5 seeds :data:`PAPER_SEEDS`; gymnax tasks 2,000 generations
× population 100 (``gym.yaml``); MNIST-type tasks 4,000 × 128 (``mnist.yaml``); 20 rounds pruning
20 % each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nevolab.datasets import DATASETS
from nevolab.pruning.es import PruningProblem
from nevolab.tasks import brax_control
from nevolab.tasks.control import ControlTask, make_control_task, valid_env_names
from nevolab.tasks.vision import VisionTask, make_vision_task

#: The five seeds of the original figures (``f3`` hyper-log, ``f7``).
PAPER_SEEDS = (176588, 363028, 381632, 562958, 924197)

#: Short control-task names → gymnax ids. Any offline gymnax id is accepted as well.
CONTROL_ALIASES = {"pendulum": "Pendulum-v1", "cartpole": "CartPole-v1"}
#: Control tasks with changed physics → (gymnax id, environment parameters): B5's task transfer on
#: control, the paper's "Ant: Mass 10 → Mass 15" made Pendulum's mass 1 → 1.5.
CONTROL_VARIANTS = {"pendulum_heavy": ("Pendulum-v1", {"m": 1.5})}
VISION_TASKS = DATASETS
TASKS = (*CONTROL_ALIASES, *CONTROL_VARIANTS, *VISION_TASKS)

#: The paper's Brax tasks that current Brax still has (``originals.md`` §2.3; fetch, grasp and ur5e
#: were ``brax.v1`` only). Not in the paper profile's preset: it would then need the brax extra.
PAPER_BRAX_TASKS = tuple(brax_control.PREFIX + env for env in brax_control.PAPER_ENVS)

#: Panel titles.
TITLES = {"pendulum": "Pendulum-v1", "cartpole": "CartPole-v1", "digits": "digits (8×8)",
          "mnist5k": "MNIST (5k subset)", "digits_rot90": "digits rotated 90°",
          "mnist5k_rot90": "MNIST (5k) rotated 90°", "mnist": "MNIST", "fashion_mnist": "F-MNIST",
          "kmnist": "K-MNIST", "pendulum_heavy": "Pendulum-v1, mass 1.5"}

#: The strategy of each task in the paper's figures (``f3_gd_es.ipynb``); small offline stand-ins
#: take their family's.
PAPER_STRATEGY = {"pendulum": "Sep_CMA_ES", "pendulum_heavy": "Sep_CMA_ES", "cartpole": "Sep_CMA_ES",
                  "mnist": "Sep_CMA_ES",
                  "digits": "Sep_CMA_ES", "mnist5k": "Sep_CMA_ES", "digits_rot90": "Sep_CMA_ES",
                  "mnist5k_rot90": "Sep_CMA_ES", "fashion_mnist": "SNES", "kmnist": "PGPE",
                  "brax:ant": "Sep_CMA_ES", "brax:halfcheetah": "SNES", "brax:hopper": "SNES",
                  "brax:reacher": "PGPE", "brax:walker2d": "PGPE"}

#: (generations, population size) per task family in the original configs.
PAPER_BUDGET = {"gymnax": (2000, 100), "vision": (4000, 128)}


def task_family(task: str | ControlTask | VisionTask) -> str:
    """``"gymnax"`` for control tasks (Brax's too), ``"vision"`` for image tasks; ValueError otherwise."""
    if isinstance(task, ControlTask):
        return "gymnax"
    if isinstance(task, VisionTask):
        return "vision"
    if brax_control.is_brax_task(task):
        return "gymnax"
    if task in CONTROL_ALIASES or task in CONTROL_VARIANTS or task in valid_env_names():
        return "gymnax"
    if task in VISION_TASKS:
        return "vision"
    valid = [*CONTROL_ALIASES, *CONTROL_VARIANTS, *VISION_TASKS, "brax:<env> (the brax extra)",
             "or any offline gymnax id"]
    raise ValueError(f"unknown task {task!r}; valid: {', '.join(valid)}")


def make_task(task: str, **kwargs: Any) -> ControlTask | VisionTask:
    """Build a task by name (``pendulum``, ``cartpole``, a gymnax id, ``brax:<env>``, or a dataset name);
    ``kwargs`` go to :func:`~nevolab.tasks.control.make_control_task`,
    :func:`~nevolab.tasks.brax_control.make_brax_task` or :func:`~nevolab.tasks.vision.make_vision_task`."""
    if brax_control.is_brax_task(task):
        return brax_control.make_brax_task(task, **kwargs)
    if task in CONTROL_VARIANTS:
        env_name, overrides = CONTROL_VARIANTS[task]
        return make_control_task(env_name, env_overrides=overrides, **kwargs)
    if task_family(task) == "gymnax":
        return make_control_task(CONTROL_ALIASES.get(task, task), **kwargs)
    return make_vision_task(task, **kwargs)


FORWARDS = ("auto", "plain", "fast")
"""How an ES run evaluates its population: ``plain`` vmaps the flax forward over members, ``fast``
uses the batched population forward (the policy's layers as one product over members; the CNN's
shared-batch layer 1 and grouped later layers), ``auto`` the faster of the two for the task."""

SMALL_IMAGE_TASKS = ("digits", "digits_rot90")
"""The 8x8 image tasks, where ``auto`` keeps the plain forward: inside a whole ES run (every member of
40 runs at once, each run on its own batch of 128) the fast CNN forward took 1.1-1.2x the plain one's
time on digits, though alone (``tickets.digits.cnn_speedup``, one population on one batch) it is the
faster; on 28x28 MNIST at batch 1,024 it takes a quarter of the plain one's time."""


def fast_forward(task: str, forward: str) -> bool:
    """Whether ``task``'s ES population runs through the fast forward under ``forward`` (:data:`FORWARDS`)."""
    if forward not in FORWARDS:
        raise ValueError(f"forward must be one of {', '.join(FORWARDS)}; got {forward!r}")
    if forward != "auto":
        return forward == "fast"
    if task_family(task) == "gymnax":
        return not brax_control.is_brax_task(task)
    return task not in SMALL_IMAGE_TASKS


def pruning_problem(task: ControlTask | VisionTask, population_chunk: int | None = None,
                    fast: bool = False) -> PruningProblem:
    """The task as the ES pruning run takes it: control tasks minimise −return, image tasks the batch
    cross-entropy, evaluated ``population_chunk`` members at a time (``None``: chosen from the CNN's
    memory per member and the budget; all at once whenever the population fits). ``fast`` evaluates
    the population with the batched forward (:data:`FORWARDS`): the same numbers up to float32
    rounding, which a long ES run can amplify, so it is part of the run's key."""
    if isinstance(task, ControlTask):
        return PruningProblem(task.name, task.init_params, task.fitness, task.test_score,
                              population_loss=task.fast_population_fitness if fast else None)
    return PruningProblem(task.name, task.init_params, task.train_loss, task.test_score,
                          population_chunk=population_chunk,
                          population_loss=task.fast_population_loss if fast else None,
                          member_bytes=task.member_bytes(fast), shared_bytes=task.shared_bytes(fast))


def task_kwargs(task: str, config: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The builder's settings of ``task`` from a Study B notebook config."""
    if task_family(task) == "gymnax":
        return {"hidden_sizes": (config.hidden, config.hidden), "num_rollouts": config.rollouts,
                "test_rollouts": config.test_rollouts, "episode_length": config.episode_steps}
    return {"batch_size": config.batch_size}


def budget(task: str, config: Any) -> tuple[int, int]:
    """(generations, population) of the ES on ``task`` from a Study B notebook config."""
    if task_family(task) == "gymnax":
        return config.control_generations, config.control_population
    return config.vision_generations, config.vision_population


def strategy_for(task: str, strategy: str) -> str:
    """``strategy`` itself, or the paper's strategy for ``task`` when it is ``"paper"``."""
    if strategy != "paper":
        return strategy
    return PAPER_STRATEGY.get(task, "Sep_CMA_ES")


def seeds_for(count: int) -> list[int]:
    """The paper's five seeds first, then 0, 1, 2, ... (skipping any already used)."""
    seeds = list(PAPER_SEEDS[:count])
    extra = (s for s in range(10**6) if s not in seeds)
    while len(seeds) < count:
        seeds.append(next(extra))
    return seeds


def task_title(task: str, strategy: str) -> str:
    """``"Pendulum-v1 · Sep-CMA-ES"``-style panel titles."""
    return f"{TITLES.get(task, task)} · {strategy.replace('_', '-')}"
