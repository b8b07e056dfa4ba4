"""Page B5 (the paper's Figs 4/5): ES tickets trained by another ES, on a related task, and by
gradient descent.

A panel takes the ES-SNR tickets of a source run (every round's mask and rewound θ₀, kept beside the
run's table, :func:`nevolab.studies.b.runs.es_tickets`) and trains them, as they are, with a target
optimizer on a target task (:mod:`nevolab.studies.b.ticket_training`). Against the target's own
ticket (its SNR run, or GD-IMP) and its sparsity-matched random re-initialisation (ES-Random, or the
source's random tickets trained by GD), as ``run_transfer.py`` of the original. The source runs are
Study B's shared runs wherever they coincide (same task, strategy and budget), so B5 adds only the targets.

Panels (the paper's in brackets):

* across tasks: digits → digits rotated by 90° and back, Sep-CMA-ES; Pendulum → Pendulum with mass
  1.5 ("Ant: Mass 10 → Mass 15"); F-MNIST → MNIST where the files are there ("MNIST: F-MNIST → MNIST");
* across ES: Sep-CMA-ES → DES, SNES → PGPE (the paper's own pairs, on Ant and F-MNIST);
* ES → GD: Adam on the image task, PPO on the control task (F-MNIST and Ant).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from nevolab import store
from nevolab.baselines.adam import AdamConfig
from nevolab.baselines.ppo import PPOConfig
from nevolab.config import Config, RunConfig
from nevolab.datasets import ROTATED, ROTATED_DATASETS
from nevolab.pruning.es import plan_for
from nevolab.pruning.strategies import es_config_for
from nevolab.studies.b import runs, tasks
from nevolab.studies.b.ticket_training import adam_on_tickets, es_on_tickets, ppo_on_tickets

TICKET_CRITERIA = ("snr", "random")
"""What a run made for B5 alone trains: the SNR tickets (the source) and ES-Random (the control)."""

CURVE_LABELS = {"own": "target's own ticket", "random": "target random re-init", "transfer": "transfer"}
"""B5's curves, with the names its tables give them."""

@dataclasses.dataclass(frozen=True)
class Panel:
    """One transfer: the source's SNR tickets trained by ``target`` on the target task."""

    key: str
    relation: str  # what source and target differ in: one of :data:`RELATIONS`
    family: str  # the task family: "vision" or "gymnax"
    source_strategy: str
    target: str  # an evosax strategy name, "adam" or "ppo"
    source_rotated: bool = False
    target_rotated: bool = False
    source_task: str = ""  # a fixed source task (else the panel's task, rotated or not)
    target_task: str = ""  # a fixed target task (else the panel's task, rotated or not)
    on_tasks: tuple[str, ...] = ()  # the tasks it runs on (empty: every task of its family)
    task: str = ""  # the (unrotated) task it runs on; set by :func:`panels_for`

    @property
    def id(self) -> str:
        """The panel on its task, e.g. ``es_des@digits`` (a column of the tables)."""
        return f"{self.key}@{self.task}"


PANELS: tuple[Panel, ...] = (
    Panel("task_rotated", "across tasks", "vision", "Sep_CMA_ES", "Sep_CMA_ES", target_rotated=True),
    Panel("task_upright", "across tasks", "vision", "Sep_CMA_ES", "Sep_CMA_ES", source_rotated=True),
    Panel("es_des", "across ES", "vision", "Sep_CMA_ES", "DES"),
    Panel("es_pgpe", "across ES", "vision", "SNES", "PGPE"),
    Panel("gd_adam", "ES → GD", "vision", "Sep_CMA_ES", "adam"),
    Panel("gd_ppo", "ES → GD", "gymnax", "Sep_CMA_ES", "ppo"),
    Panel("task_heavy", "across tasks", "gymnax", "Sep_CMA_ES", "Sep_CMA_ES", target_task="pendulum_heavy",
          on_tasks=("pendulum",)),
    Panel("task_fashion", "across tasks", "vision", "Sep_CMA_ES", "Sep_CMA_ES", source_task="fashion_mnist",
          on_tasks=("mnist",)),
)
PANELS_BY_KEY = {panel.key: panel for panel in PANELS}
RELATIONS = ("across tasks", "across ES", "ES → GD")


def panels_for(config: Config) -> list[Panel]:
    """Every chosen panel on every task of ``config.tasks`` of its family: the image panels on each
    image task (the rotations only where it has a rotated sibling: digits, mnist5k), ES → PPO on each
    control task when ``ppo_timesteps > 0``; a panel with ``on_tasks`` only on those."""
    chosen = config.values.get("panels", [p.key for p in PANELS])
    out = []
    for task in config.tasks:
        family = tasks.task_family(task)
        for panel in (p for p in PANELS if p.key in chosen and p.family == family):
            if panel.on_tasks and task not in panel.on_tasks:
                continue
            rotates = panel.source_rotated or panel.target_rotated
            if rotates and task + ROTATED not in ROTATED_DATASETS:
                continue
            if panel.target == "ppo" and not int(config.ppo_timesteps or 0):
                continue
            out.append(dataclasses.replace(panel, task=task))
    return out


def _source_task(panel: Panel) -> str:
    return panel.source_task or (panel.task + ROTATED if panel.source_rotated else panel.task)


def _target_task(panel: Panel) -> str:
    return panel.target_task or (panel.task + ROTATED if panel.target_rotated else panel.task)


def es_baseline(task: str, strategy: str, config: Config) -> runs.ESRun:
    """The ES run of ``strategy`` on ``task``: Study B's shared run when it is one (a task of the
    config with the config's strategy for it), else one with the SNR and random criteria only."""
    shared = runs.es_run(task, config)
    if task in config.tasks and shared.strategy == strategy:
        return shared
    return dataclasses.replace(shared, strategy=strategy, criteria=TICKET_CRITERIA)


def source_run(panel: Panel, config: Config) -> runs.ESRun:
    """The ES run whose SNR tickets ``panel`` transfers."""
    return es_baseline(_source_task(panel), panel.source_strategy, config)


def own_run(panel: Panel, config: Config) -> runs.ESRun | runs.AdamRun | runs.PPORun:
    """The target's own pruning run (its SNR and random curves, or GD-IMP)."""
    task = _target_task(panel)
    if panel.target == "adam":
        return runs.adam_run(task, config)
    if panel.target == "ppo":
        return runs.ppo_run(task, config)
    return es_baseline(task, panel.target, config)


@dataclasses.dataclass(frozen=True)
class TransferRun(RunConfig):
    """One panel's trained tickets: the source run's ``criteria`` tickets trained by the target.

    Attributes:
        panel: the :class:`Panel` key.
        source: the source :class:`~nevolab.studies.b.runs.ESRun`'s fields (its tickets).
        target: the target run's fields (the target optimizer, its task and budget).
        criteria: the source tickets trained: ``snr`` (the transfer), and ``random`` for a GD target
            (GD-Random: the sparsity-matched random masks with fresh weights).
    """

    KIND: ClassVar[str] = "study_b_transfer"
    VERSION: ClassVar[int] = 1
    panel: str
    source: dict[str, Any]
    target: dict[str, Any]
    criteria: tuple[str, ...]


def transfer_run(panel: Panel, config: Config) -> TransferRun:
    """The cached unit of ``panel``'s transferred tickets."""
    criteria = ("snr",) if panel.target not in ("adam", "ppo") else ("snr", "random")
    source = source_run(panel, config)
    own = own_run(panel, config)
    return TransferRun(panel=panel.id,
                       source={"kind": source.KIND, "hash": source.hash(), **_key_fields(source)},
                       target={"kind": type(own).__name__, **_key_fields(own)}, criteria=criteria)


def _key_fields(run: RunConfig) -> dict[str, Any]:
    """The fields of ``run`` that enter its own key (an ES run's plain forward is left out, as there)."""
    fields = dataclasses.asdict(run)
    return {name: value for name, value in fields.items() if name in run.to_dict()}


AGREEMENT_STRATEGIES = ("SNES",)
"""Strategies B5 also runs on each image task only for the SNR–magnitude agreement (SNES: the paper's
F-MNIST strategy, whose σ adapts per weight), when no panel runs them already."""


def agreement_runs(config: Config) -> list[runs.ESRun]:
    """The ES runs of :data:`AGREEMENT_STRATEGIES` on each image task of ``config`` (SNR and random)."""
    return [es_baseline(task, strategy, config) for task in config.tasks
            if tasks.task_family(task) == "vision" for strategy in AGREEMENT_STRATEGIES]


def run_configs(config: Config) -> list[RunConfig]:
    """Every cached unit B5 reads: source and own runs (shared ones included), the agreement runs,
    then the transfers."""
    keys: dict[str, RunConfig] = {}
    for panel in panels_for(config):
        for run in (source_run(panel, config), own_run(panel, config)):
            keys.setdefault(run.hash(), run)
    for run in agreement_runs(config):
        keys.setdefault(run.hash(), run)
    return [*keys.values(), *(transfer_run(panel, config) for panel in panels_for(config))]


def _train_tickets(panel: Panel, config: Config, tickets: dict[str, dict[str, np.ndarray]],
                   criterion: str) -> np.ndarray:
    """(R, S) test scores of ``panel``'s target trained on the source's ``criterion`` tickets."""
    own = own_run(panel, config)
    target_task = tasks.make_task(own.task, **getattr(own, "task_kwargs", {}))
    masks, starts = tickets[criterion]["masks"], tickets[criterion]["starts"]
    if panel.target == "adam":
        plan = runs._gd_plan(own, target_task)
        return adam_on_tickets(target_task, AdamConfig(float(own.learning_rate), int(own.batch_size),
                                                       int(own.epochs)), plan, masks, starts)
    if panel.target == "ppo":
        plan = runs._gd_plan(own, target_task)
        return ppo_on_tickets(target_task, PPOConfig(total_timesteps=own.timesteps), plan, masks, starts)
    problem = tasks.pruning_problem(target_task, fast=own.fast_forward)
    es_config = es_config_for(own.strategy, tasks.task_family(own.task), own.population, own.generations)
    return es_on_tickets(problem, es_config, plan_for(problem, own.seeds, own.rounds, own.prune_fraction),
                         masks, starts)


def transfer_table(panel: Panel, config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """``panel``'s transferred tickets through the store: one row per (curve, seed, round)."""
    key = transfer_run(panel, config)
    source = source_run(panel, config)

    def compute() -> pd.DataFrame:
        tickets = runs.es_tickets(source)
        weights = runs.cached_run(source).groupby("round").weights_remaining.mean()
        rows = []
        for criterion in key.criteria:
            scores = _train_tickets(panel, config, tickets, criterion)
            curve = "transfer" if criterion == "snr" else "random"
            for r in range(scores.shape[0]):
                for s, seed in enumerate(source.seeds):
                    rows.append({"curve": curve, "seed": int(seed), "round": r,
                                 "weights_remaining": float(weights[r]),
                                 "test_performance": float(scores[r, s])})
        return pd.DataFrame(rows)

    return store.cached(key, compute, fresh=fresh)


def panel_title(panel: Panel, config: Config) -> str:
    """``"digits (8×8): Sep-CMA-ES → DES"``-style titles."""
    source = source_run(panel, config)
    own = own_run(panel, config)
    target = {"adam": "Adam", "ppo": "PPO"}.get(panel.target, panel.target.replace("_", "-"))
    strategy = source.strategy.replace("_", "-")
    if panel.relation == "across tasks":
        return (f"{strategy}: {tasks.TITLES.get(source.task, source.task)} → "
                f"{tasks.TITLES.get(own.task, own.task)}")
    return f"{tasks.TITLES.get(own.task, own.task)}: {strategy} → {target}"
