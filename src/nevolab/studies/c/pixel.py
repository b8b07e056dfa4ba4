"""Study C on pixel RL: the Deep GA with the paper's two-stage selection, dense against
rank-1 factorized and small dense CNNs, on the pixel tasks of :mod:`nevolab.studies.c.pixel_tasks`
(racing with CarRacing's rules, MinAtar games, and with the envpool extra the paper's CarRacing-v3 and
Atari games). What differs between tasks is that table's; this module names no task. An envpool task's
episodes run through :class:`~nevolab.tasks.envpool_pixel.EnvpoolRollout` (the same interface and
result as :class:`~nevolab.tasks.pixel_rollout.PopulationRollout`), with the same policy and selection.

One cached unit is one (task, variant, seed) run (:class:`PixelRun`); its table has one row per
generation with what the paper logs: every stage's mean score, wall time and the environment steps
it took (alive steps, and the rows the compacted rollout actually computed), the parents' mean and
the best finalist's score (the paper's plotted "score"), and the best finalist's seed list, from
which its genotype is rebuilt bit for bit (:func:`nevolab.algorithms.deep_ga.rebuild_from_seeds`).

**Why a host loop, not one ``lax.scan``.** Early termination saves compute only if the finished
episodes leave the batch (:meth:`~nevolab.tasks.pixel_rollout.PopulationRollout.compacted`), and
the batch's size is a host decision between chunks. Every chunk, gather and ``tell`` is compiled;
only the bookkeeping between them runs in Python.

**Evaluation cost.** Wall time is stored (``stage1_time_s``) as the paper reports it, but it is the
one column that is not reproducible, and our factorized forward decodes its factors per episode row,
which makes its steps cheaper than the dense network's. The claims therefore measure evaluation cost
in environment steps (``stage1_steps``): compaction makes the rollout's time proportional to them
(benchmark ``lowrank.rl.early_termination_efficiency``), and they isolate the paper's mechanism,
episodes that early termination cuts short.

**Selection.** Stage 1: every member plays ``stage1_episodes``; the best ``num_finalists`` by mean
return play ``stage2_episodes`` more; the ``num_parents`` best by their all-episode mean are kept
unmutated and parent the next population (Jevo's ``TruncationSelector`` -> ``CloneUniformReproducer``).
With ``stage2_episodes = 0`` (the paper's Atari runs) the parents are the best by stage 1 alone.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from nevolab import store
from nevolab.algorithms.deep_ga import DeepGA, rebuild_from_seeds
from nevolab.config import Config, ConfigError, RunConfig
from nevolab.lowrank import GenomeLayout, genome_layout
from nevolab.models import pixel_cnn
from nevolab.studies.c import pixel_tasks
from nevolab.studies.c.pixel_tasks import MINATAR_GAMES, RACING, pixel_task_problem
from nevolab.studies.c.spec import PIXEL_VARIANTS, seed_list
from nevolab.tasks import envpool_pixel
from nevolab.tasks.envpool_pixel import EnvpoolRollout
from nevolab.tasks.pixel_rollout import (
    PopulationRollout,
    RolloutResult,
    episode_strip,
    select_finalists,
    select_parents,
)

__all__ = [
    "MINATAR_GAMES",
    "NUM_BUCKETS",
    "PIXEL_VARIANTS",
    "RACING",
    "PixelRun",
    "best_genotype",
    "best_policy_strip",
    "cached_pixel_run",
    "evolve",
    "make_policy",
    "network_config",
    "pixel_run",
    "pixel_runs",
    "pixel_tables",
    "selection_loss",
]

SELECTION_OFFSET = 1e7  # puts every non-finalist's selection loss behind every finalist's
NUM_BUCKETS = 16  # batch sizes the compacted rollout compiles: multiples of 1/16 of the episodes

TABLE_COLUMNS = ["task", "variant", "seed", "generation", "stage1_mean_score", "stage1_best_score",
                 "stage1_time_s", "stage1_steps", "stage1_rows_stepped", "stage1_ended_early",
                 "stage2_mean_score", "stage2_time_s", "stage2_steps", "stage2_rows_stepped",
                 "parents_mean_score", "best_score", "best_seed_length", "best_seeds", "num_genes",
                 "num_params"]


@dataclasses.dataclass(frozen=True)
class PixelRun(RunConfig):
    """One seed of one variant's Deep GA on one pixel task: everything its numbers depend on."""

    KIND: ClassVar[str] = "study_c_pixel_runs"
    VERSION: ClassVar[int] = 1

    task: str
    variant: str
    seed: int
    population_size: int
    num_generations: int
    stage1_episodes: int
    num_finalists: int
    stage2_episodes: int
    num_parents: int
    max_steps: int
    obs_size: int  # racing's image side (MinAtar is 10x10)
    rank: int
    mutation_rate: float
    early_termination: bool
    chunk_steps: int  # compaction granularity: changes the rows computed, never a return
    num_buckets: int

    def __post_init__(self) -> None:
        reason = pixel_task_problem(self.task)
        if reason is not None:
            raise ValueError(f"task: {reason}")
        if self.variant not in PIXEL_VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(PIXEL_VARIANTS)}; got {self.variant!r}")
        if not 1 <= self.num_parents <= self.num_finalists <= self.population_size - 1:
            raise ValueError("need 1 <= num_parents <= num_finalists < population_size; got "
                             f"{self.num_parents}, {self.num_finalists}, {self.population_size}")
        if self.stage1_episodes < 1 or self.stage2_episodes < 0 or self.num_generations < 1:
            raise ValueError("need stage1_episodes >= 1, stage2_episodes >= 0 and num_generations >= 1")


def _make_env(run: PixelRun) -> tuple[Any, Any]:
    """The environment and its parameters, with the run's step limit and early-termination switch."""
    return pixel_tasks.get_task(run.task).make_env(run)


def network_config(run: PixelRun, obs_shape: tuple[int, ...], num_actions: int) -> pixel_cnn.PixelCNNConfig:
    """The paper's CNN for the run's task (its table entry's channels, hidden sizes and filters),
    scaled to the input: the small network for ``small``, the dense one for dense and factorized."""
    task = pixel_tasks.get_task(run.task)
    channels, hidden = task.networks["small" if run.variant == "small" else "dense"]
    return pixel_cnn.PixelCNNConfig(input_shape=tuple(int(s) for s in obs_shape), conv_channels=channels,
                                    hidden_sizes=hidden, num_actions=num_actions,
                                    kernel_size=task.kernel_size, stride=task.stride)


def _layout(run: PixelRun, config: pixel_cnn.PixelCNNConfig) -> GenomeLayout:
    """Direct genes for dense and small; rank ``run.rank`` factors on every kernel but the output's."""
    template = pixel_cnn.init_params(jax.random.PRNGKey(0), config)
    rank = run.rank if run.variant == "factorized" else None
    return genome_layout(template, rank=rank, mutation_rate=run.mutation_rate,
                         full_rank_paths=("output/kernel",))


def _raw_policy(params: Any, obs: jax.Array, config: pixel_cnn.PixelCNNConfig) -> jax.Array:
    return pixel_cnn.apply(params, obs, config)


def _greedy_policy(params: Any, obs: jax.Array, config: pixel_cnn.PixelCNNConfig) -> jax.Array:
    return jnp.argmax(pixel_cnn.apply(params, obs.astype(jnp.float32), config))


def make_policy(run: PixelRun, config: pixel_cnn.PixelCNNConfig) -> Callable[[Any, jax.Array], jax.Array]:
    """``policy(net_params, obs) -> action``: the greedy action where the task's entry says so
    (discrete actions, as the paper's Atari runs), else the raw outputs (the env clips them, as
    CarRacing)."""
    policy = _greedy_policy if pixel_tasks.get_task(run.task).greedy else _raw_policy
    return functools.partial(policy, config=config)


@dataclasses.dataclass
class _Setup:
    env: Any  # None on an envpool task (its rollout holds the environments)
    env_params: Any
    config: pixel_cnn.PixelCNNConfig
    layout: GenomeLayout
    rollout: PopulationRollout | EnvpoolRollout
    ga: DeepGA


def _spaces(run: PixelRun) -> tuple[Any, Any, tuple[int, ...], int]:
    """(env, env_params, observation shape, action count) of the run's task; no environment on envpool."""
    if pixel_tasks.get_task(run.task).envpool:
        task = envpool_pixel.get_task(run.task)
        return None, None, task.obs_shape, task.num_actions
    env, env_params = _make_env(run)
    return env, env_params, env.observation_space(env_params).shape, env.num_actions


def _rollout(run: PixelRun, env: Any, env_params: Any, policy: Callable, develop: Callable
             ) -> PopulationRollout | EnvpoolRollout:
    """The run's population rollout: envpool's for an envpool task (checked installed here), else JAX's."""
    if env is None:
        return EnvpoolRollout(run.task, policy, develop=develop, chunk_steps=run.chunk_steps,
                              num_buckets=run.num_buckets, max_steps=run.max_steps,
                              early_termination=run.early_termination)
    return PopulationRollout(env, env_params, policy, develop=develop, chunk_steps=run.chunk_steps,
                             num_buckets=run.num_buckets, max_steps=run.max_steps)


def _policy_setup(run: PixelRun) -> tuple[Any, Any, pixel_cnn.PixelCNNConfig, GenomeLayout,
                                          PopulationRollout | EnvpoolRollout]:
    """(env, env_params, network config, genome layout, rollout) of ``run``'s task and variant."""
    env, env_params, obs_shape, num_actions = _spaces(run)
    config = network_config(run, obs_shape, num_actions)
    layout = _layout(run, config)
    return env, env_params, config, layout, _rollout(run, env, env_params, make_policy(run, config),
                                                     layout.encoding.decode)


@functools.lru_cache(maxsize=1)
def _shared_policy_setup(run: PixelRun) -> tuple[Any, Any, pixel_cnn.PixelCNNConfig, GenomeLayout,
                                                 EnvpoolRollout]:
    """:func:`_policy_setup` of an envpool run, kept for the next run of the same policy (``run`` with
    seed 0): its compiled programs and, on Atari, its loaded pools (about 70 ms a game) are reused;
    a rollout's episodes depend on its keys only (``EnvpoolRollout``'s docstring)."""
    return _policy_setup(run)


def _setup(run: PixelRun) -> _Setup:
    shared = pixel_tasks.get_task(run.task).envpool
    env, env_params, config, layout, rollout = (
        _shared_policy_setup(dataclasses.replace(run, seed=0)) if shared else _policy_setup(run))
    ga = DeepGA(run.population_size, layout.num_genes, run.num_parents, layout.mutation_scales,
                max_generations=run.num_generations)
    return _Setup(env, env_params, config, layout, rollout, ga)


def _timed(evaluate: Callable, population: jax.Array, keys: jax.Array) -> tuple[RolloutResult, float]:
    start = time.perf_counter()
    result = evaluate(population, keys)
    return result, time.perf_counter() - start


def selection_loss(stage1_means: np.ndarray, finalists: np.ndarray, finalist_means: np.ndarray) -> np.ndarray:
    """The loss the Deep GA truncates on: finalists by minus their all-episode mean, every other
    member behind all of them by minus its stage-1 mean (so its top ``num_parents`` are the parents)."""
    loss = SELECTION_OFFSET - np.asarray(stage1_means, np.float64)
    loss[finalists] = -np.asarray(finalist_means, np.float64)
    return loss.astype(np.float32)


def _seed_string(seeds: np.ndarray, length: int) -> str:
    return ",".join(f"{int(a)}:{int(b)}" for a, b in np.asarray(seeds)[:length])


def _generation(setup: _Setup, run: PixelRun, population: jax.Array, key: jax.Array
                ) -> tuple[np.ndarray, int, dict[str, float]]:
    """Both stages of one generation: (selection loss, best member's row, the generation's record)."""
    key1, key2 = jax.random.split(key)
    keys1 = jax.random.split(key1, (run.population_size, run.stage1_episodes))
    stage1, time1 = _timed(setup.rollout.compacted, population, keys1)
    stage1_means = stage1.returns.mean(axis=1)
    finalists = select_finalists(stage1.returns, run.num_finalists)
    record = {"stage1_mean_score": float(stage1.returns.mean()),
              "stage1_best_score": float(stage1_means.max()),
              "stage1_time_s": time1, "stage1_steps": stage1.alive_steps,
              "stage1_rows_stepped": stage1.rows_stepped,
              "stage1_ended_early": float(stage1.ended_early.mean())}
    if run.stage2_episodes == 0:
        means = stage1_means[finalists]
        positions = np.arange(run.num_parents)
        record.update(stage2_mean_score=np.nan, stage2_time_s=np.nan, stage2_steps=0, stage2_rows_stepped=0)
    else:
        keys2 = jax.random.split(key2, (run.num_finalists, run.stage2_episodes))
        stage2, time2 = _timed(setup.rollout.compacted, population[jnp.asarray(finalists)], keys2)
        positions, means = select_parents(stage1.returns[finalists], stage2.returns, run.num_parents)
        record.update(stage2_mean_score=float(means.mean()), stage2_time_s=time2,
                      stage2_steps=stage2.alive_steps,
                      stage2_rows_stepped=stage2.rows_stepped)
    record.update(parents_mean_score=float(means[positions].mean()), best_score=float(means[positions[0]]))
    return selection_loss(stage1_means, finalists, means), int(finalists[positions[0]]), record


def evolve(run: PixelRun, on_generation: Callable[[int, dict], None] | None = None) -> pd.DataFrame:
    """Run ``run``'s Deep GA; one row per generation (see the module docstring and ``TABLE_COLUMNS``)."""
    return evolve_with_state(run, on_generation)[0]


def evolve_with_state(run: PixelRun, on_generation: Callable[[int, dict], None] | None = None
                      ) -> tuple[pd.DataFrame, Any]:
    """:func:`evolve` and the Deep GA's final state (its rows ``0..num_parents-1`` are the last
    generation's parents, best first)."""
    setup = _setup(run)
    ga, params = setup.ga, setup.ga.default_params
    key_init, key_run = jax.random.split(jax.random.PRNGKey(run.seed))
    population, init_keys = ga.sample_initial(key_init, setup.layout.init_fn)
    # strongly typed, as the losses told later are: a weakly typed start compiles ``tell`` twice
    fitness = jnp.full((run.population_size,), jnp.inf, dtype=jnp.float32)
    state = ga.init(key_init, population, fitness, params, init_keys)
    tell = jax.jit(ga.tell)
    rows = []
    for generation in range(run.num_generations):
        key_run, key_eval, key_tell = jax.random.split(key_run, 3)
        loss, best, record = _generation(setup, run, state.population, key_eval)
        seeds, length = jax.device_get((state.seeds[best], state.seed_length[best]))
        rows.append({"task": run.task, "variant": run.variant, "seed": run.seed, "generation": generation,
                     **record, "best_seed_length": int(length),
                     "best_seeds": _seed_string(seeds, int(length)),
                     "num_genes": setup.layout.num_genes, "num_params": setup.layout.num_params})
        if on_generation is not None:
            on_generation(generation, record)
        state, _ = tell(key_tell, state.population, jnp.asarray(loss), state, params)
    return pd.DataFrame(rows, columns=TABLE_COLUMNS), state


def pixel_run(task: str, variant: str, seed: int, config: Config) -> PixelRun:
    """The run of one (task, variant, seed) that a C4/C5 ``config`` asks for, with the settings its
    task's table entry reads from the page's parameters."""
    return PixelRun(task=task, variant=variant, seed=seed, mutation_rate=config.mutation_rate,
                    chunk_steps=config.chunk_steps, num_buckets=NUM_BUCKETS,
                    early_termination=config.early_termination,
                    **pixel_tasks.get_task(task).run_settings(config.values))


def pixel_runs(config: Config) -> list[PixelRun]:
    """Every run of a C4/C5 ``config``: each task, variant and seed."""
    return [pixel_run(task, variant, seed, config) for task in config.tasks for variant in config.variants
            for seed in seed_list(config.seeds)]


def cached_pixel_run(run: PixelRun, fresh: bool = False) -> pd.DataFrame:
    """One run's table through the store (computed once; a killed notebook resumes at the next run)."""
    table, _ = store.cached(run, lambda: evolve(run), fresh=fresh,
                            columns=TABLE_COLUMNS)
    return table


def pixel_tables(config: Config, fresh: bool = False, tasks: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Every run of ``config`` (or of its ``tasks`` only), one table; a ConfigError (one line, exit 2
    through the CLI) before any compute when ``config`` runs none of ``tasks``."""
    runs = [run for run in pixel_runs(config) if tasks is None or run.task in tasks]
    if not runs:
        raise ConfigError(f"parameter 'tasks': this page reads the runs of {', '.join(tasks or ())}; "
                          f"got {config.tasks}")
    return pd.concat([cached_pixel_run(run, fresh) for run in runs], ignore_index=True)


def best_genotype(run: PixelRun, best_seeds: str) -> tuple[jax.Array, _Setup]:
    """The genotype a stored ``best_seeds`` string describes, rebuilt from its seed list, and the
    run's setup (environment, network, layout) to play it."""
    setup = _setup(run)
    keys = np.array([[int(part) for part in pair.split(":")] for pair in best_seeds.split(",")], np.uint32)
    scales = jnp.asarray(setup.layout.mutation_scales)
    genotype = jax.jit(rebuild_from_seeds, static_argnums=(2,))(jnp.asarray(keys), keys.shape[0],
                                                                setup.layout.init_fn, scales)
    return genotype, setup


def best_policy_strip(run: PixelRun, best_seeds: str, key: jax.Array) -> np.ndarray:
    """One episode, drawn by ``key``, of the policy a stored ``best_seeds`` string describes, as a
    strip of frames (:func:`~nevolab.tasks.pixel_rollout.episode_strip`; on an envpool task the RGB
    frames its policy saw, :meth:`~nevolab.tasks.envpool_pixel.EnvpoolRollout.episode_strip`)."""
    genotype, setup = best_genotype(run, best_seeds)
    if setup.env is None:
        return setup.rollout.episode_strip(genotype, key)
    policy = functools.partial(make_policy(run, setup.config), setup.layout.encoding.decode(genotype))
    return episode_strip(setup.env, setup.env_params, policy, key)
