"""C6's runs: the paper's own environment, envpool's CarRacing-v3 (the envpool extra), dense against
factorized, with C6's parameters; and the estimate of their compute.

The runs are C4/C5's Deep GA with two-stage selection (:mod:`nevolab.studies.c.pixel`), one cached
:class:`~nevolab.studies.c.pixel.PixelRun` per (variant, seed) under ``study_c_pixel_runs/``, on
``envpool:CarRacing-v3`` (64x64 RGB, 4-frame stack, the original's early termination; see
:mod:`nevolab.tasks.envpool_pixel`). A run of C4 with the same settings on that task has the same key,
so the two share it. Their claims are :func:`nevolab.studies.c.claims.stored_real_claims`; what the page
shows of them, :mod:`nevolab.studies.c.real_page`.

Without the extra, :func:`require_envpool` stops the page in one line, before any compute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from nevolab import report, store
from nevolab.config import Config, ConfigError
from nevolab.studies.c import pixel_tasks
from nevolab.studies.c.pixel import NUM_BUCKETS, PixelRun
from nevolab.studies.c.spec import REAL_TASK, seed_list
from nevolab.tasks import envpool_pixel

__all__ = ["COMPUTE_BUDGET_MIN", "TASK", "compute_line", "estimate_line", "estimated_cpu_s",
           "estimated_steps", "policy_strips", "real_run", "real_runs", "real_tables", "require_envpool",
           "run_values", "unavailable_reason"]

TASK = REAL_TASK
COMPUTE_BUDGET_MIN = 30.0
"""C6's default compute budget on the 2-core CPU (issue 28)."""

# The default's size rests on a measurement, not a result: four envpool CarRacing-v3 runs (dense and
# factorized, seeds 0 and 1; population 16, 4 finalists, 2 parents, 2 + 4 episodes, max_steps 1000,
# chunk_steps 12; 5 or 6 generations), each in a fresh process, on this project's 2-core AMD EPYC beside
# other compute jobs. They took 212-220 environment steps per CPU second of the process (envpool, the
# frames' resize, the CNN's forward and the compilation together; 243 at population 32 without the
# compilation, so the rate does not grow with the batch). Their episodes grew over the first generations
# as below: the mean steps of a stage-1 and a stage-2 episode per generation over the four runs (the
# last value is kept after). The runs differ widely: dense seed 1 started from a member that drives and
# took twice the steps of the others.
MEASURED_STEPS_PER_CPU_S = 215.0
MEASURED_EPISODE_STEPS = {1: (43.0, 115.0, 149.0, 162.0, 165.0, 158.0),
                          2: (99.0, 145.0, 171.0, 195.0, 180.0, 188.0)}


# --- availability and runs ---------------------------------------------------------------------------


def unavailable_reason() -> str | None:
    """Why C6's task cannot run here, in one line naming the install command, or None."""
    reason = envpool_pixel.unavailable_reason(TASK)
    return None if reason is None else f"task {TASK!r} {reason}"


def require_envpool() -> None:
    """Raise :class:`ConfigError` (one line, exit 2 through ``nevolab run``) when the extra is missing."""
    reason = unavailable_reason()
    if reason is not None:
        raise ConfigError(f"c6_real_carracing: {reason}")


def run_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """C6's parameter values as the pixel-task table reads them: the task and its fixed image side."""
    side = envpool_pixel.get_task(TASK).obs_shape[0]
    return {**values, "tasks": [TASK], "obs_size": side}


def real_run(variant: str, seed: int, config: Config) -> PixelRun:
    """The run of one (variant, seed) that C6's ``config`` asks for (the key C4 gives the same settings)."""
    settings = pixel_tasks.TASKS[TASK].run_settings(run_values(config.values))
    return PixelRun(task=TASK, variant=variant, seed=seed, mutation_rate=config.mutation_rate,
                    chunk_steps=config.chunk_steps, num_buckets=NUM_BUCKETS,
                    early_termination=config.early_termination, **settings)


def real_runs(config: Config) -> list[PixelRun]:
    """Every run of C6's ``config``: each variant and seed."""
    return [real_run(variant, seed, config) for variant in config.variants
            for seed in seed_list(config.seeds)]


def real_tables(config: Config, fresh: bool = False) -> pd.DataFrame:
    """Every run of C6's ``config``, one table (each run computed once, through the store)."""
    from nevolab.studies.c import pixel  # model code at compute time only

    return pd.concat([pixel.cached_pixel_run(run, fresh) for run in real_runs(config)], ignore_index=True)


def policy_strips(results: pd.DataFrame, config: Config, seed: int = 0, key_seed: int = 10_000
                  ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Per variant, one episode (on the track of ``key_seed``) of seed ``seed``'s best finalist at the
    last generation, rebuilt from its stored seed list and played on envpool's renderer: the RGB frames
    its policy saw; and that finalist's selection score."""
    import jax

    from nevolab.studies.c import pixel

    strips, scores = {}, {}
    for variant in config.variants:
        rows = results[(results.variant == variant) & (results.seed == seed)]
        best = rows[rows.generation == rows.generation.max()].iloc[0]
        run = real_run(variant, seed, config)
        strips[variant] = pixel.best_policy_strip(run, best.best_seeds, jax.random.PRNGKey(key_seed))
        scores[variant] = float(best.best_score)
    return strips, scores


# --- the compute estimate ------------------------------------------------------------------------------


def _episode_steps(stage: int, generation: int, max_steps: int) -> float:
    measured = MEASURED_EPISODE_STEPS[stage]
    return min(measured[min(generation, len(measured) - 1)], float(max_steps))


def estimated_steps(values: Mapping[str, Any]) -> float:
    """The environment steps C6's ``values`` are expected to take (every run), from the episode lengths
    measured in the first generations (:data:`MEASURED_EPISODE_STEPS`)."""
    limit = values["max_steps"]
    per_run = sum(values["population"] * values["stage1_episodes"] * _episode_steps(1, g, limit)
                  + values["finalists"] * values["stage2_episodes"] * _episode_steps(2, g, limit)
                  for g in range(values["generations"]))
    return per_run * values["seeds"] * len(values["variants"])


def estimated_cpu_s(values: Mapping[str, Any]) -> float:
    """The CPU seconds C6's ``values`` are expected to take: :func:`estimated_steps` at the measured rate
    (compilation included). On 2 idle cores the wall time is at most this (no parallel speed-up assumed)."""
    return estimated_steps(values) / MEASURED_STEPS_PER_CPU_S


def estimate_line(config: Config) -> str:
    """The page's compute estimate for ``config``, with its basis."""
    values = config.values
    return (f"estimated compute: {estimated_cpu_s(values) / 60:.0f} min (budget of the default "
            f"{COMPUTE_BUDGET_MIN:.0f} min): about {estimated_steps(values):,.0f} environment steps at "
            f"{MEASURED_STEPS_PER_CPU_S:.0f} steps per CPU second, the rate measured on this project's "
            f"2-core CPU (compilation included), with the mean episode lengths of four measured runs over "
            f"the first {len(MEASURED_EPISODE_STEPS[1])} generations (kept after them: longer runs, whose "
            "episodes grow, take more); wall time at most this on 2 idle cores")


def compute_line(config: Config) -> str:
    """The measured compute of ``config``'s runs (their provenance records) against the budget."""
    runs = real_runs(config)
    what = f"C6's {len(runs)} runs (profile {config.profile})"
    return report.budget_sentence(store.compute_records(runs), COMPUTE_BUDGET_MIN, what, len(runs))
