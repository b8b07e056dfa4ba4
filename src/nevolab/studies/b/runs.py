"""Study B's runs: one frozen run config per kind (ES pruning, Adam-IMP, PPO-IMP), built once from a
notebook's :class:`~nevolab.config.Config`, and the tidy tables they lead to, cached in the results
store under ``study_b_runs/`` so that B1–B4 compute them once.

A run config is the cache key (every field is hashed with the kind's version) and is passed whole
to the function that trains it. An ES run also keeps its tickets beside its table (every round's
mask and start values per criterion, ``<hash>/<criterion>.npz``): B5 trains them with other
optimizers. Pruning runs write a checkpoint after every round
(``data/results/.checkpoints/study_b_runs-<key>/``), so an interrupted run resumes where it stopped,
with identical numbers; the checkpoint is removed once the table is stored.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import jax
import numpy as np
import pandas as pd

from nevolab import distributed, store
from nevolab.baselines.adam import AdamConfig, run_adam_imp
from nevolab.baselines.ppo import PPOConfig, run_ppo_imp
from nevolab.config import Config, RunConfig
from nevolab.paths import atomic_write
from nevolab.pruning.es import plan_for, run_es_imp
from nevolab.pruning.masks import kept_counts, prunable_flat
from nevolab.pruning.results import PruningResult
from nevolab.pruning.rounds import ImpPlan
from nevolab.pruning.strategies import es_config_for
from nevolab.studies.b import tasks

RUNS_KIND = "study_b_runs"

#: The curve labels of the paper for each criterion.
PAPER_LABELS = {
    "snr": "ES-SNR", "snr_faithful": "ES-SNR (original Sep-CMA-ES σ)", "magnitude": "ES-IMP",
    "random": "ES-Random", "permute_values": "mask/permuted", "permute_mask": "permuted/permuted",
    "mask_reinit": "mask/reinit", "movement": "ES-movement",
}


@dataclasses.dataclass(frozen=True)
class ImpRun(RunConfig):
    """What every Study B pruning run has: its kind, task, pruning schedule and seeds."""

    KIND: ClassVar[str] = RUNS_KIND
    VERSION: ClassVar[int] = 2  # 2: control episodes last ``episode_length`` steps; ES runs keep tickets
    kind: str
    task: str
    rounds: int
    prune_fraction: float
    seeds: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class ESRun(ImpRun):
    """ES pruning on one task, every criterion trained together."""

    strategy: str
    criteria: tuple[str, ...]
    generations: int
    population: int
    task_kwargs: dict[str, Any]
    fast_forward: bool = False  # the batched population forward (tasks.FORWARDS)

    def to_dict(self) -> dict[str, Any]:
        # Left out when False, so the plain-forward runs keep the keys they had before it existed.
        fields = super().to_dict()
        if not self.fast_forward:
            del fields["fast_forward"]
        return fields


@dataclasses.dataclass(frozen=True)
class AdamRun(ImpRun):
    """GD-IMP with Adam on one image task."""

    epochs: int
    batch_size: int
    learning_rate: float


@dataclasses.dataclass(frozen=True)
class PPORun(ImpRun):
    """GD-IMP with PPO on one control task."""

    timesteps: int
    task_kwargs: dict[str, Any]


def run_seeds(config: Config) -> tuple[int, ...]:
    """The seeds of every Study B run of ``config``: the paper's first, then more (its ``seeds`` count)."""
    return tuple(tasks.seeds_for(int(config.seeds)))


def es_run(task: str, config: Config) -> ESRun:
    """The ES run of ``task`` for a Study B notebook's parameters."""
    generations, population = tasks.budget(task, config)
    return ESRun(kind="es", task=task, strategy=tasks.strategy_for(task, config.strategy),
                 criteria=tuple(config.criteria), rounds=config.rounds, prune_fraction=config.prune_fraction,
                 seeds=run_seeds(config), generations=generations, population=population,
                 task_kwargs=tasks.task_kwargs(task, config),
                 fast_forward=tasks.fast_forward(task, config.forward))


def adam_run(task: str, config: Config) -> AdamRun:
    """The Adam-IMP run of an image task (the paper's lr and batch; ``gd_epochs`` epochs per round)."""
    defaults = AdamConfig()
    return AdamRun(kind="gd_vision", task=task, rounds=config.rounds, prune_fraction=config.prune_fraction,
                   seeds=run_seeds(config), epochs=config.gd_epochs,
                   batch_size=defaults.batch_size, learning_rate=defaults.learning_rate)


def ppo_run(task: str, config: Config) -> PPORun:
    """The PPO-IMP run of a control task (``ppo_timesteps`` environment steps per round)."""
    return PPORun(kind="gd_gymnax", task=task, rounds=config.rounds, prune_fraction=config.prune_fraction,
                  seeds=run_seeds(config), timesteps=int(config.ppo_timesteps),
                  task_kwargs=tasks.task_kwargs(task, config))


def gd_run(task: str, config: Config) -> AdamRun | PPORun | None:
    """The gradient-descent baseline run of ``task``, or None (control tasks with ``ppo_timesteps = 0``)."""
    if tasks.task_family(task) == "vision":
        return adam_run(task, config)
    return ppo_run(task, config) if int(config.ppo_timesteps or 0) > 0 else None


def run_configs(config: Config) -> list[RunConfig]:
    """Every run key B1–B4's parameters lead to: ES runs, then GD baselines (every page's:
    :func:`nevolab.studies.b.pages.run_configs`)."""
    gd = [gd_run(task, config) for task in config.tasks]
    return [*(es_run(task, config) for task in config.tasks), *(run for run in gd if run is not None)]


def magnitude_agreement(result: PruningResult, prunable: np.ndarray) -> np.ndarray:
    """(R, S): the share of the kernels that SNR pruning keeps after each round that magnitude
    pruning of the same final mean keeps too (1 = both criteria choose the same ticket)."""
    rounds, seeds = result.test_score.shape
    keep_next = kept_counts(result.num_prunable, result.prune_fraction, rounds + 1)[1:]
    out = np.full((rounds, seeds), np.nan)
    for r in range(rounds):
        for s in range(seeds):
            mean, std = result.final_mean[r, s], result.final_std[r, s]
            index = np.flatnonzero(result.masks[r, s] & prunable)
            keep = int(min(keep_next[r], index.size))
            top_snr = index[np.argsort(-(np.abs(mean[index]) / std[index]), kind="stable")[:keep]]
            top_magnitude = index[np.argsort(-np.abs(mean[index]), kind="stable")[:keep]]
            out[r, s] = np.intersect1d(top_snr, top_magnitude).size / keep
    return out


def save_arrays(directory: Path, arrays: dict[str, dict[str, np.ndarray]]) -> None:
    """Write ``<directory>/<method>.npz`` per method, each atomically."""
    for method, values in arrays.items():
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **values)
        atomic_write(Path(directory) / f"{method}.npz", buffer.getvalue())


def load_arrays(directory: Path) -> dict[str, dict[str, np.ndarray]]:
    """The arrays :func:`save_arrays` wrote: ``{method: {name: array}}``."""
    out = {}
    for path in sorted(Path(directory).glob("*.npz")):
        with np.load(path, allow_pickle=False) as data:
            out[path.stem] = {name: data[name] for name in data.files}
    return out


def tickets_dir(run: ESRun) -> Path:
    """``data/results/study_b_runs/<hash>/``: the ES run's tickets, one ``<criterion>.npz`` each."""
    table_path, _ = store.paths_for(run)
    return table_path.with_suffix("")


def ticket_arrays(results: dict[str, PruningResult]) -> dict[str, dict[str, np.ndarray]]:
    """Per criterion: ``masks`` and ``starts`` (R, S, P), the tickets each round trained with, their
    ``test_score`` (R, S) and the ``seeds``."""
    return {criterion: {"masks": np.asarray(result.masks, bool),
                        "starts": np.asarray(result.start_values, np.float32),
                        "test_score": np.asarray(result.test_score), "seeds": np.asarray(result.seeds)}
            for criterion, result in results.items()}


def es_table(run: ESRun, checkpoint_dir: Path | None = None,
             on_round: Callable[[int], None] | None = None, keep_tickets: bool = True) -> pd.DataFrame:
    """Train an ES run: one row per (criterion, seed, round); its tickets are written to
    :func:`tickets_dir` first (unless ``keep_tickets`` is False)."""
    built = tasks.make_task(run.task, **run.task_kwargs)
    problem = tasks.pruning_problem(built, fast=run.fast_forward)
    es_config = es_config_for(run.strategy, tasks.task_family(run.task), run.population, run.generations)
    plan = plan_for(problem, run.seeds, run.rounds, run.prune_fraction)
    results = run_es_imp(problem, es_config, run.criteria, plan, checkpoint_dir, on_round)
    if keep_tickets and distributed.is_writer():  # one writer, as for the store's tables
        save_arrays(tickets_dir(run), ticket_arrays(results))
    frames = []
    for criterion in run.criteria:
        frame = results[criterion].to_frame()
        frame.insert(0, "task", built.name)
        frame.insert(1, "method", "ES")
        frame.insert(4, "label", PAPER_LABELS.get(criterion, criterion))
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    frame["generations"] = es_config.generations
    frame["population_size"] = es_config.population_size
    prunable = prunable_flat(built.init_params(jax.random.PRNGKey(0)))
    # Rows come criterion by criterion, each round-major with seeds inside (to_frame's order).
    frame["snr_magnitude_agreement"] = np.concatenate(
        [magnitude_agreement(results[c], prunable).ravel() for c in run.criteria])
    frame.insert(0, "task_key", run.task)
    return frame


def _tickets_match(arrays: dict[str, dict[str, np.ndarray]], run: ESRun, table: pd.DataFrame) -> bool:
    """The stored tickets belong to the stored table (every criterion, the same test scores)."""
    if sorted(arrays) != sorted(run.criteria):
        return False
    for criterion, values in arrays.items():
        rows = table[table.criterion == criterion].sort_values(["round", "seed"])
        ordered = [list(run.seeds).index(int(s)) for s in rows.seed]
        try:
            stored = values["test_score"][rows["round"].to_numpy(), ordered]
        except (KeyError, IndexError):
            return False
        if not np.allclose(stored, rows.test_performance.to_numpy(), rtol=1e-6, atol=1e-7):
            return False
    return True


def es_tickets(run: ESRun, fresh: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """The ES run's tickets (:func:`ticket_arrays`), trained (and its table stored) when absent."""
    table = cached_run(run, fresh)
    directory = tickets_dir(run)
    arrays = load_arrays(directory) if directory.exists() else {}
    if not _tickets_match(arrays, run, table):  # a table without its tickets: train it again
        table = cached_run(run, fresh=True)
        arrays = load_arrays(directory)
    return arrays


def _gd_plan(run: AdamRun | PPORun, built: Any) -> ImpPlan:
    num_prunable = int(prunable_flat(built.init_params(jax.random.PRNGKey(0))).sum())
    return ImpPlan(run.seeds, run.rounds, run.prune_fraction, num_prunable)


def adam_table(run: AdamRun, checkpoint_dir: Path | None = None,
               on_round: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Train an Adam-IMP run: one row per (seed, round)."""
    built = tasks.make_task(run.task)  # the ES fitness batch is unused by Adam: the builder's default
    config = AdamConfig(float(run.learning_rate), int(run.batch_size), int(run.epochs))
    return run_adam_imp(built, config, _gd_plan(run, built), checkpoint_dir, on_round)


def ppo_table(run: PPORun, checkpoint_dir: Path | None = None,
              on_round: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Train a PPO-IMP run: one row per (seed, round)."""
    built = tasks.make_task(run.task, **run.task_kwargs)
    return run_ppo_imp(built, PPOConfig(total_timesteps=run.timesteps), _gd_plan(run, built), checkpoint_dir,
                       on_round)


_TABLES: dict[type, Callable[..., pd.DataFrame]] = {ESRun: es_table, AdamRun: adam_table, PPORun: ppo_table}


def cached_run(run: ESRun | AdamRun | PPORun, fresh: bool = False,
               on_round: Callable[[int], None] | None = None) -> pd.DataFrame:
    """The stored table of ``run``, or train it (resuming from its checkpoint unless ``fresh``)."""
    checkpoints = store.checkpoint_path(run, suffix="")

    def compute() -> pd.DataFrame:
        return _TABLES[type(run)](run, None if fresh else checkpoints, on_round)

    table, _ = store.cached(run, compute, fresh=fresh)
    shutil.rmtree(checkpoints, ignore_errors=True)  # the stored table supersedes them
    return table


def es_runs(config: Config, fresh: bool = False, progress: bool = True,
            on_round: Callable[[str, int], None] | None = None) -> pd.DataFrame:
    """Every task's ES pruning runs: one table, one row per (task, criterion, seed, round);
    ``on_round(task, completed_rounds)`` is called after each round's checkpoint."""
    frames = []
    for task in config.tasks:
        run = es_run(task, config)
        start = time.perf_counter()

        def report(done: int, task: str = task, run: ESRun = run, start: float = start) -> None:
            if progress:
                print(f"  {task} ({run.strategy}): round {done}/{run.rounds} done, "
                      f"{time.perf_counter() - start:.0f} s", flush=True)
            if on_round is not None:
                on_round(task, done)

        frames.append(cached_run(run, fresh, report))
    return pd.concat(frames, ignore_index=True)


def gd_runs(config: Config, fresh: bool = False) -> pd.DataFrame:
    """Gradient-descent IMP for every task that has a GD baseline here: Adam on the image tasks, PPO
    on the control tasks when ``ppo_timesteps > 0``; the same seeds (hence the same θ₀) as the ES runs."""
    frames = []
    for task in config.tasks:
        run = gd_run(task, config)
        if run is None:
            continue
        table = cached_run(run, fresh)
        table.insert(0, "task_key", task)
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["task_key", "task", "method", "criterion", "seed", "round", "weights_remaining",
                 "test_performance"])


COMPUTE_BUDGET_MIN = {"shared": 150.0, "page": 90.0}
"""Study B's default budget on a 2-core CPU: B1–B4's shared runs, and each further page's own runs,
so that any of them can be refreshed within one working session."""


def run_label(run: RunConfig) -> str:
    """``"ES (Sep-CMA-ES)"``, ``"Adam-IMP"``, ``"PPO-IMP"``, ``"transfer → DES"``, or the run's kind."""
    if isinstance(run, ESRun):
        return f"ES ({run.strategy.replace('_', '-')})"
    if isinstance(run, AdamRun):
        return "Adam-IMP"
    if isinstance(run, PPORun):
        return "PPO-IMP"
    target = getattr(run, "target", None)
    if isinstance(target, dict):  # a B5 transfer: the target optimizer trains another run's tickets
        gradient = {"gd_vision": "Adam", "gd_gymnax": "PPO"}
        name = target.get("strategy") or gradient.get(target.get("kind"), "?")
        return f"transfer → {name.replace('_', '-')}"
    return run.KIND


def run_records(config: Config, run_list: list[RunConfig] | None = None) -> pd.DataFrame:
    """Provenance of cached runs (default: B1–B4's shared runs, ES then GD): one row per run with
    where, when and in how long it was computed (a run not cached yet is left out)."""
    run_list = run_configs(config) if run_list is None else run_list
    records = store.compute_records(run_list).set_index("key")
    unique = {run.hash(): run for run in run_list}  # a run listed twice is computed once
    shown = [(run_label(run), getattr(run, "task", None) or getattr(run, "target", {}).get("task", ""), key)
             for key, run in unique.items()]
    rows = [{"run": label, "task": task, **records.loc[key].to_dict()}
            for label, task, key in shown if key in records.index]
    return pd.DataFrame(rows, columns=["run", "task", "wall_time_s", "date", "machine", "commit"])
