"""Study B's notebook layer: cached runs shared by the four pages, and the analyses they plot.

* :func:`es_runs` / :func:`gd_runs` — every task's ES pruning runs (all criteria trained together)
  and gradient-descent IMP baselines, cached in the results store under ``study_b_runs/`` with
  provenance, so that B1–B4 compute them once; an interrupted ES run resumes from its last round.
* :func:`normalise_per_task` — the paper's aggregation (``originals.md`` §2.4): per task, min–max
  normalise with the min and max of the curves' means, then average over tasks.
* :func:`ticket_decomposition` — the ticket effect split by the permutation controls.
* :func:`study_b_claims` — the claims table, paired over seeds (every criterion of a seed starts
  from the same θ₀ and shares the ES noise), with a bootstrap interval and one verdict rule.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
import pandas as pd

from nevolab.pruning import prunable_flat
from nevolab.studies.tickets import (
    PAPER_SEEDS,
    GDConfig,
    make_task,
    run_gd_imp,
    run_ticket_experiments,
    task_family,
)

RUNS_NOTEBOOK = "study_b_runs"
RUNS_VERSION = 1  # bump when a library change alters the numbers of a run

#: The strategy of each task in the paper's figures (``f3_gd_es.ipynb``); small offline stand-ins
#: take their family's.
PAPER_STRATEGY = {"pendulum": "Sep_CMA_ES", "cartpole": "Sep_CMA_ES", "mnist": "Sep_CMA_ES",
                  "digits": "Sep_CMA_ES", "mnist5k": "Sep_CMA_ES", "fashion_mnist": "SNES", "kmnist": "PGPE"}

#: Criterion → colour key of :data:`nevolab.plotting.METHOD_COLORS` and legend label.
CRITERION_STYLE = {
    "snr": ("es_snr", "ES-SNR (mask/weights)"),
    "snr_faithful": ("es_snr", "ES-SNR, original Sep-CMA-ES σ"),
    "magnitude": ("es_imp", "ES-IMP (mask/weights)"),
    "random": ("es_random", "ES-Random (random/reinit)"),
    "permute_values": ("permute_weights", "mask/permuted"),
    "permute_mask": ("permute_mask", "permuted/permuted"),
    "mask_reinit": ("es_random", "mask/reinit"),
    "movement": ("es_imp", "ES-movement"),
    "gd": ("gd_imp", "GD-IMP"),
}


def seeds_for(count: int) -> list[int]:
    """The paper's five seeds first, then 0, 1, 2, ... (skipping any already used)."""
    seeds = list(PAPER_SEEDS[:count])
    extra = (s for s in range(10**6) if s not in seeds)
    while len(seeds) < count:
        seeds.append(next(extra))
    return seeds


def strategy_for(task: str, strategy: str) -> str:
    """``strategy`` itself, or the paper's strategy for ``task`` when it is ``"paper"``."""
    if strategy != "paper":
        return strategy
    return PAPER_STRATEGY.get(task, "Sep_CMA_ES")


def _runs_config(kind: str, values: dict):
    from nevolab.config import Config

    return Config(RUNS_NOTEBOOK, "-", {"kind": kind, **values}, (), RUNS_VERSION)


def _task_kwargs(task: str, config) -> dict[str, Any]:
    if task_family(task) == "gymnax":
        return {"hidden_sizes": (config.hidden, config.hidden), "num_rollouts": config.rollouts,
                "test_rollouts": config.test_rollouts}
    return {"batch_size": config.batch_size}


def _budget(task: str, config) -> tuple[int, int]:
    if task_family(task) == "gymnax":
        return config.control_generations, config.control_population
    return config.vision_generations, config.vision_population


def magnitude_agreement(result, prunable: np.ndarray) -> np.ndarray:
    """(R, S): the share of the kernels that SNR pruning keeps after each round that magnitude
    pruning of the same final mean keeps too (1 = both criteria choose the same ticket).

    ``result`` is a :class:`~nevolab.pruning.PruningResult`, ``prunable`` the flat kernel positions."""
    from nevolab.pruning import kept_counts

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


def _es_values(task: str, config) -> dict[str, Any]:
    """What determines a task's ES runs (the key of its cached table)."""
    generations, population = _budget(task, config)
    return {"task": task, "strategy": strategy_for(task, config.strategy), "criteria": list(config.criteria),
            "rounds": config.rounds, "prune_fraction": config.prune_fraction,
            "seeds": seeds_for(config.seeds), "generations": generations, "population": population,
            "task_kwargs": {k: list(v) if isinstance(v, tuple) else v
                            for k, v in _task_kwargs(task, config).items()}}


def run_records(config) -> pd.DataFrame:
    """Provenance of the cached ES runs of a notebook's parameters: one row per task with where,
    when and in how long they were computed (empty where a run is not cached yet)."""
    from nevolab import store

    rows = []
    for task in config.tasks:
        try:
            _, record = store.load(_runs_config("es", _es_values(task, config)))
        except (FileNotFoundError, store.StaleResult):
            continue
        rows.append({"task": task, "strategy": record["config"]["strategy"],
                     "wall_time_s": record["wall_time_s"], "date": record["date"],
                     "machine": f"{record['machine']['cpu']} ({record['machine']['cpu_count']} cores)",
                     "commit": record["git_commit"][:12]})
    return pd.DataFrame(rows)


def es_runs(config, fresh: bool = False, progress: bool = True,
            on_round: Callable[[str, int], None] | None = None) -> pd.DataFrame:
    """Every task's ES pruning runs for a Study B notebook's parameters (``nevolab.specs.study_b``):
    one tidy table, one row per (task, criterion, seed, round), cached per task under
    ``study_b_runs/``. Checkpoints after every round let an interrupted run resume; ``on_round(task,
    completed_rounds)`` is called after each round's checkpoint."""
    from nevolab import store

    frames = []
    for task in config.tasks:
        values = _es_values(task, config)
        run_config = _runs_config("es", values)
        checkpoints = store.results_dir() / RUNS_NOTEBOOK / "checkpoints" / run_config.hash()

        def compute(task=task, values=values, checkpoints=checkpoints) -> pd.DataFrame:
            start = time.perf_counter()

            def report(done: int) -> None:
                if progress:
                    print(f"  {task} ({values['strategy']}): round {done}/{config.rounds} done, "
                          f"{time.perf_counter() - start:.0f} s", flush=True)
                if on_round is not None:
                    on_round(task, done)

            built = make_task(task, **_task_kwargs(task, config))
            frame, results = run_ticket_experiments(
                built, values["strategy"], config.criteria, rounds=config.rounds,
                prune_fraction=config.prune_fraction, generations=values["generations"],
                population_size=values["population"], seeds=values["seeds"],
                checkpoint_dir=None if fresh else checkpoints, return_results=True, on_round=report)
            prunable = prunable_flat(built.init_params(jax.random.PRNGKey(0)))
            # Rows come criterion by criterion, each round-major with seeds inside (to_frame's order).
            frame["snr_magnitude_agreement"] = np.concatenate(
                [magnitude_agreement(results[c], prunable).ravel() for c in config.criteria])
            frame.insert(0, "task_key", task)
            return frame

        table, _ = store.cached(run_config, compute, fresh=fresh, seeds={"seeds": values["seeds"]})
        shutil.rmtree(checkpoints, ignore_errors=True)  # the cached table supersedes them
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def gd_runs(config, fresh: bool = False) -> pd.DataFrame:
    """Gradient-descent IMP for every task that has a GD baseline here: Adam on the vision tasks
    (``gd_epochs`` epochs per round), PPO on the control tasks when ``ppo_timesteps > 0``. Cached per
    task under ``study_b_runs/``; the same seeds (hence the same θ₀) as the ES runs."""
    from nevolab import store

    frames = []
    for task in config.tasks:
        family = task_family(task)
        if family == "vision":
            values = {"task": task, "rounds": config.rounds, "prune_fraction": config.prune_fraction,
                      "seeds": seeds_for(config.seeds), "epochs": config.gd_epochs,
                      "batch_size": GDConfig.batch_size, "learning_rate": GDConfig.learning_rate}

            def compute(task=task) -> pd.DataFrame:
                return run_gd_imp(task, rounds=config.rounds, prune_fraction=config.prune_fraction,
                                  seeds=seeds_for(config.seeds), epochs=config.gd_epochs)
        else:
            timesteps = int(getattr(config, "ppo_timesteps", 0) or 0)
            if timesteps <= 0:
                continue
            values = {"task": task, "rounds": config.rounds, "prune_fraction": config.prune_fraction,
                      "seeds": seeds_for(config.seeds), "timesteps": timesteps,
                      "task_kwargs": {k: list(v) if isinstance(v, tuple) else v
                                      for k, v in _task_kwargs(task, config).items()}}

            def compute(task=task, timesteps=timesteps) -> pd.DataFrame:
                from nevolab.ppo import run_ppo_imp

                return run_ppo_imp(task, rounds=config.rounds, prune_fraction=config.prune_fraction,
                                   seeds=seeds_for(config.seeds), task_kwargs=_task_kwargs(task, config),
                                   total_timesteps=timesteps)
        table, _ = store.cached(_runs_config(f"gd_{family}", values), compute, fresh=fresh,
                                seeds={"seeds": values["seeds"]})
        table.insert(0, "task_key", task)
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["task_key", "task", "method", "criterion", "seed", "round", "weights_remaining",
                 "test_performance"])


def curve_key(frame: pd.DataFrame) -> pd.Series:
    """One curve name per row: the criterion for ES rows, ``"gd"`` for gradient-descent rows."""
    return np.where(frame["method"] == "GD", "gd", frame["criterion"])


def normalise_per_task(frame: pd.DataFrame, curves: Sequence[str], value: str = "test_performance",
                       ) -> pd.DataFrame:
    """The paper's aggregation: per task, the curves' means over seeds are min–max normalised together
    (one min and max over all ``curves`` and rounds); every seed's value is mapped with the same
    affine map, so means, standard errors and paired differences stay comparable across tasks.

    Returns the rows of ``curves`` with a ``normalised`` column and the task's ``task_min``/``task_max``.
    """
    frame = frame.assign(curve=curve_key(frame))
    frame = frame[frame.curve.isin(list(curves))].copy()
    means = frame.groupby(["task_key", "curve", "round"])[value].mean()
    bounds = means.groupby("task_key").agg(["min", "max"])
    frame["task_min"] = frame.task_key.map(bounds["min"])
    frame["task_max"] = frame.task_key.map(bounds["max"])
    span = (frame.task_max - frame.task_min).replace(0.0, np.nan)
    frame["normalised"] = (frame[value] - frame.task_min) / span
    return frame


def mean_sem(frame: pd.DataFrame, value: str, by: Sequence[str]) -> pd.DataFrame:
    """Mean, standard error (std/√n, the paper's shading) and n of ``value`` per group."""
    out = frame.groupby(list(by))[value].agg(["mean", "std", "count"]).reset_index()
    out["sem"] = out["std"].fillna(0.0) / np.sqrt(out["count"].clip(lower=1))
    return out


def aggregate_curves(normalised: pd.DataFrame) -> pd.DataFrame:
    """Average the per-task normalised curves over tasks (per curve and round), with the mean of the
    tasks' standard errors as the band (the paper divides each task's std by its range and averages)."""
    per_task = mean_sem(normalised, "normalised", ["task_key", "curve", "round"])
    weights = normalised.groupby("round").weights_remaining.mean()
    out = per_task.groupby(["curve", "round"]).agg(mean=("mean", "mean"), sem=("sem", "mean"),
                                                   tasks=("task_key", "nunique")).reset_index()
    out["weights_remaining"] = out["round"].map(weights)
    return out


def high_sparsity_rounds(frame: pd.DataFrame, threshold: float = 10.0) -> list[int]:
    """Rounds whose trained networks keep at most ``threshold`` % of the kernels (at least the last)."""
    remaining = frame.groupby("round").weights_remaining.mean()
    rounds = sorted(int(r) for r in remaining.index[remaining <= threshold])
    return rounds or [int(remaining.index.max())]


def per_seed_high_sparsity(frame: pd.DataFrame, value: str, threshold: float = 10.0) -> pd.DataFrame:
    """Per (task, curve, seed): the mean of ``value`` over the high-sparsity rounds."""
    rounds = high_sparsity_rounds(frame, threshold)
    subset = frame[frame["round"].isin(rounds)]
    return subset.groupby(["task_key", "curve", "seed"])[value].mean().reset_index()


DECOMPOSITION = (
    ("weights", "magnitude", "permute_values",
     "the specific θ₀ values on the ticket (mask/weights − mask/permuted)"),
    ("mask positions", "permute_values", "permute_mask",
     "where in each layer the kept weights sit (mask/permuted − permuted/permuted)"),
    ("layerwise ratio", "permute_mask", "random",
     "how many weights each layer keeps (permuted/permuted − random/reinit)"),
)
"""The ticket effect (ES-IMP − ES-Random) as a telescoping sum of three contrasts."""


def ticket_decomposition(normalised: pd.DataFrame) -> pd.DataFrame:
    """Per (task, round, seed): the three components of :data:`DECOMPOSITION` and their sum, the
    ticket effect ES-IMP − ES-Random, in the task's normalised units (seeds are paired)."""
    wide = normalised.pivot_table(index=["task_key", "round", "seed"], columns="curve", values="normalised")
    missing = {c for _, a, b, _ in DECOMPOSITION for c in (a, b)} - set(wide.columns)
    if missing:
        raise ValueError(f"the decomposition needs the criteria {sorted(missing)} in the runs")
    rows = []
    for (task, round_, seed), row in wide.iterrows():
        for name, a, b, _ in DECOMPOSITION:
            rows.append({"task_key": task, "round": round_, "seed": seed, "component": name,
                         "value": row[a] - row[b]})
        rows.append({"task_key": task, "round": round_, "seed": seed, "component": "ticket effect",
                     "value": row["magnitude"] - row["random"]})
    out = pd.DataFrame(rows)
    weights = normalised.groupby(["task_key", "round"]).weights_remaining.mean()
    out["weights_remaining"] = [weights[(t, r)] for t, r in zip(out.task_key, out["round"], strict=True)]
    return out


CLAIMS = (
    ("Tickets beat random: ES-SNR > ES-Random at high sparsity", "snr", "random"),
    ("Tickets beat random: ES-IMP > ES-Random at high sparsity", "magnitude", "random"),
    ("SNR pruning trains at higher sparsity than magnitude: ES-SNR > ES-IMP", "snr", "magnitude"),
    ("ES beats GD at high sparsity: ES-SNR > GD-IMP", "snr", "gd"),
)
"""(claim, better curve, worse curve): every claim says the first is higher at high sparsity."""


def study_b_claims(frame: pd.DataFrame, threshold: float = 10.0, seed: int = 0) -> pd.DataFrame:
    """The claims table: one row per claim and task, and one pooled over tasks.

    Effect = mean over seeds of the paired difference (better − worse) of the task-normalised test
    performance averaged over the high-sparsity rounds (≤ ``threshold`` % of the kernels left);
    a percentile-bootstrap 95% interval over seeds (pooled: over (task, seed) pairs), a two-sided
    Wilcoxon signed-rank p-value, Cohen's d_z, and the verdict rule of :mod:`nevolab.stats`.
    Claims whose curves are missing (e.g. no GD baseline for a task) are skipped, not faked.
    """
    from nevolab import stats

    curves = sorted(set(curve_key(frame)))
    normalised = normalise_per_task(frame, curves)
    per_seed = per_seed_high_sparsity(normalised, "normalised", threshold)
    wide = per_seed.pivot_table(index=["task_key", "seed"], columns="curve", values="normalised")
    rounds = high_sparsity_rounds(frame, threshold)
    remaining = frame.groupby("round").weights_remaining.mean()
    where = f"rounds {rounds[0]}–{rounds[-1]} ({remaining[rounds[0]]:.1f}–{remaining[rounds[-1]]:.2f} % left)"
    rows = []
    for claim, better, worse in CLAIMS:
        if better not in wide or worse not in wide:
            continue
        pairs = wide[[better, worse]].dropna()
        if pairs.empty:
            continue
        tasks = sorted(pairs.index.get_level_values("task_key").unique())
        for scope in [*tasks, "all tasks"]:
            subset = pairs if scope == "all tasks" else pairs.xs(scope, level="task_key", drop_level=False)
            differences = (subset[better] - subset[worse]).to_numpy()
            result = stats.claim_from_paired(claim, differences, expected_sign=1, seed=seed,
                                             detail=f"{where}; n={differences.size} paired seeds")
            rows.append({"scope": scope, **result.row()})
    return pd.DataFrame(rows)




def draw_curves(ax, frame: pd.DataFrame, curves: Sequence[str], value: str = "test_performance",
                by: str = "seed") -> None:
    """Mean ± standard error over seeds of ``value`` against weights remaining, one line per curve
    (criterion, or ``"gd"``), on a log x axis running from 100 % down, as the paper's figures.

    ``by="seed"``: ``frame`` holds one row per seed; otherwise it is already summarised (``mean`` and
    ``sem`` columns, as :func:`aggregate_curves` returns). A ``curve`` column, if present, names the
    curves; else :func:`curve_key` derives them."""
    from nevolab import plotting

    if "curve" not in frame:
        frame = frame.assign(curve=curve_key(frame))
    for curve in curves:
        rows = frame[frame.curve == curve]
        if rows.empty:
            continue
        stats = mean_sem(rows, value, ["weights_remaining"]) if by == "seed" else rows
        color_key, label = CRITERION_STYLE.get(curve, ("es_random", curve))
        x, mean, sem = stats.weights_remaining.to_numpy(), stats["mean"].to_numpy(), stats["sem"].to_numpy()
        ax.plot(x, mean, color=plotting.METHOD_COLORS[color_key], marker="o", markersize=3.5, linewidth=1.8,
                linestyle="--" if curve in ("permute_values", "permute_mask", "snr_faithful") else "-",
                label=label)
        ax.fill_between(x, mean - sem, mean + sem, color=plotting.METHOD_COLORS[color_key], alpha=0.15,
                        linewidth=0)
    ax.set_xscale("log")
    ax.set_xlim(105, frame.weights_remaining.min() * 0.9)
    ticks = sorted(frame.weights_remaining.unique(), reverse=True)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:.3g}" for t in ticks], fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel("weights remaining [%]")


def task_title(task: str, strategy: str) -> str:
    """``"Pendulum-v1 · Sep-CMA-ES"``-style panel titles."""
    names = {"pendulum": "Pendulum-v1", "cartpole": "CartPole-v1", "digits": "digits (8×8)",
             "mnist5k": "MNIST (5k subset)", "mnist": "MNIST", "fashion_mnist": "F-MNIST",
             "kmnist": "K-MNIST"}
    return f"{names.get(task, task)} · {strategy.replace('_', '-')}"


__all__ = [
    "CLAIMS", "CRITERION_STYLE", "DECOMPOSITION", "PAPER_STRATEGY", "aggregate_curves", "curve_key",
    "draw_curves", "es_runs", "gd_runs", "high_sparsity_rounds", "magnitude_agreement", "mean_sem",
    "normalise_per_task", "per_seed_high_sparsity", "run_records", "seeds_for", "strategy_for",
    "study_b_claims", "task_title", "ticket_decomposition",
]
