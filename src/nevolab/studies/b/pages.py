"""Study B's pages through the results store: every page's run keys (:func:`run_configs`), its own
table (:func:`page_table`) and its study's claims table (:func:`claims`), and what else a page reads
from the cached runs (B5's curves and per-strategy agreement, the landscape runs' summary, the GD
settings and chance levels B1 and B2 print).

B1–B4 share one set of runs (:mod:`~nevolab.studies.b.runs`) and B4's claims; B5 adds its transfers
(:mod:`~nevolab.studies.b.transfer_runs`); B6 and B7 share the landscape runs
(:mod:`~nevolab.studies.b.landscape_runs`) and measure them (:mod:`~nevolab.studies.b.landscape_measures`).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from nevolab import datasets, plotting, store
from nevolab.config import Config, RunConfig
from nevolab.studies.b import claims as b_claims
from nevolab.studies.b import landscape_measures, landscape_runs, paper, runs, spec, tasks, transfer_runs
from nevolab.studies.b.analysis import normalise_per_task, ticket_decomposition

LANDSCAPE_PAGES = ("b6_connectivity_flatness", "b7_snr_correlation")
CLAIMS_PAGE = {"b1_ticket_curves": "b4_claims", "b2_es_vs_gd": "b4_claims",
               "b3_ticket_decomposition": "b4_claims", "b4_claims": "b4_claims", "b5_transfer": "b5_transfer",
               "b6_connectivity_flatness": "b6_connectivity_flatness",
               "b7_snr_correlation": "b7_snr_correlation"}
"""The claims page whose table each page shows (B1–B3 show rows of B4's)."""
DECOMPOSED = ["magnitude", "permute_values", "permute_mask", "random"]
"""The curves B3's decomposition normalises together."""


def run_configs(config: Config) -> list[RunConfig]:
    """The runs of ``config``'s page: B1–B4's ES and GD runs, B5's sources and targets, B6 and B7's
    landscape runs and then their measurements."""
    if config.notebook in LANDSCAPE_PAGES:
        measures = (landscape_measures.connectivity_measures if config.notebook == LANDSCAPE_PAGES[0]
                    else landscape_measures.correlation_measures)(config)
        return [landscape_runs.landscape_run(config), measures]
    if config.notebook == "b5_transfer":
        return transfer_runs.run_configs(config)
    return runs.run_configs(config)


# ----------------------------------------------------------------------------------------------
# The pages' own tables
# ----------------------------------------------------------------------------------------------


def _tickets(config: Config, fresh: bool) -> pd.DataFrame:
    return runs.es_runs(config, fresh=fresh)


def _es_and_gd(config: Config, fresh: bool) -> pd.DataFrame:
    # The ES runs are B1's: ``fresh`` on B2 recomputes its GD runs and its table only.
    return pd.concat([runs.es_runs(config), runs.gd_runs(config, fresh=fresh)], ignore_index=True)


def _decomposition(config: Config, fresh: bool) -> pd.DataFrame:
    return ticket_decomposition(normalise_per_task(runs.es_runs(config), DECOMPOSED))


_STORED_TABLES: dict[str, Callable[[Config, bool], pd.DataFrame]] = {
    "b1_ticket_curves": _tickets, "b2_es_vs_gd": _es_and_gd, "b3_ticket_decomposition": _decomposition}


def page_table(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """The page's own table and its provenance, through the store: B1's ES runs, B2's ES and GD runs,
    B3's decomposition, B4's claims; B5's curves (recomputed from the cached runs) with its claims'
    provenance; B6's measurements; B7's rank correlations."""
    name = config.notebook
    if name in _STORED_TABLES:
        return store.cached(config, lambda: _STORED_TABLES[name](config, fresh), fresh=fresh)
    if name == "b4_claims":
        return claims(config, fresh)
    if name == "b5_transfer":
        frame = transfer_frame(config, fresh)
        _, provenance = claims(config, fresh)
        return frame, provenance
    if name == "b6_connectivity_flatness":
        table, _, record = landscape_measures.cached_connectivity(config, fresh)
        return table, record
    if name == "b7_snr_correlation":
        table, _, record = landscape_measures.cached_correlations(config, fresh)
        return table, record
    raise ValueError(f"not a Study B page: {name!r}")


# ----------------------------------------------------------------------------------------------
# Claims
# ----------------------------------------------------------------------------------------------


def _ticket_claims(config: Config, fresh: bool) -> pd.DataFrame:
    return b_claims.study_b_claims(pd.concat([runs.es_runs(config, fresh), runs.gd_runs(config, fresh)],
                                             ignore_index=True))


def _transfer_claims(config: Config, fresh: bool) -> pd.DataFrame:
    return b_claims.transfer_claims(transfer_frame(config), source=gap_source_curves(config))


def _connectivity_claims(config: Config, fresh: bool) -> pd.DataFrame:
    # Only the claims table is recomputed here (``fresh`` is not passed on): the runs and measurements
    # are read from the store.
    table, summary, _ = landscape_measures.cached_connectivity(config)
    optima, _ = landscape_measures.cached_optima(config)
    return b_claims.connectivity_claims(table, summary, optima)


def _correlation_claims(config: Config, fresh: bool) -> pd.DataFrame:
    return b_claims.correlation_claims(landscape_measures.cached_correlations(config)[0])


_CLAIMS: dict[str, Callable[[Config, bool], pd.DataFrame]] = {
    "b4_claims": _ticket_claims, "b5_transfer": _transfer_claims,
    "b6_connectivity_flatness": _connectivity_claims, "b7_snr_correlation": _correlation_claims}


def claims(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """The claims table ``config``'s page shows (B1–B4: B4's, for the same run parameters, so a claim's
    numbers are the same on every page), stored under its claims page's config. ``fresh`` recomputes
    the table; B4's also recomputes the runs, the others read their runs or measurements from the store."""
    page = CLAIMS_PAGE[config.notebook]
    return store.stored_claims(spec.SPECS_BY_NAME[page], config,
                               lambda claims_config: _CLAIMS[page](claims_config, fresh), fresh)


def figure_claims(config: Config) -> pd.DataFrame:
    """The rows of the claims table whose paper claim rests on ``config``'s page (B1–B3 each show their
    own claims of B4's table)."""
    stored, _ = claims(config)
    figures = {claim.key: claim.figure for claim in paper.CLAIMS}
    return stored[stored.claim.map(figures) == config.notebook]


# ----------------------------------------------------------------------------------------------
# What the pages read besides their tables
# ----------------------------------------------------------------------------------------------


def chance_levels(task_list: list[str]) -> dict[str, float]:
    """Per image task: the test accuracy of guessing (one over its number of classes)."""
    return {task: 1 / datasets.load_dataset(task, download=False).num_classes
            for task in task_list if tasks.task_family(task) == "vision"}


def gd_settings(results: pd.DataFrame, config: Config) -> list[str]:
    """One line per task with a GD baseline: the settings as the runs table records them (PPO's
    steps and the original's settings; Adam's epochs and steps), so a page shows what ran."""
    lines = []
    for task in sorted(set(results[results.method == "GD"].task_key)):
        run = results[(results.method == "GD") & (results.task_key == task)].iloc[0]
        if tasks.task_family(task) == "gymnax":
            lines.append(
                f"PPO on {plotting.display_name(task)}: {run.total_timesteps:,.0f} environment steps per "
                f"round (paper {config.spec.param('ppo_timesteps').paper:,});\n  the original's settings: "
                f"{run.num_envs:.0f} envs, lr {run.learning_rate:g} -> {run.final_learning_rate:g}, "
                f"γ {run.gamma:g}, GAE λ {run.gae_lambda:g}, clip {run.clip_eps:g}, "
                f"{run.update_epochs:.0f} epochs x {run.num_minibatches:.0f} minibatches;\n  ours: "
                f"{run.num_steps:.0f} steps per rollout, reward normalisation {run.normalize_rewards}")
        else:
            train_size = tasks.make_task(task, **tasks.task_kwargs(task, config)).x_train.shape[0]
            steps = train_size // min(int(run.batch_size), train_size)  # full batches only, as the trainer
            paper_epochs = paper.GD_EPOCHS
            lines.append(
                f"Adam on {plotting.display_name(task)}: {run.epochs:.0f} epochs x {steps} steps of batch "
                f"{run.batch_size:.0f} ({train_size:,} training images) = {run.epochs * steps:,.0f} steps "
                f"per round; the paper's {paper_epochs} epochs would be {paper_epochs * steps} steps here")
    return lines


def own_curves(panel: transfer_runs.Panel, config: Config, fresh: bool = False) -> pd.DataFrame:
    """The target's own ticket (``own``) and, for an ES target, its ES-Random (``random``) curves."""
    own = transfer_runs.own_run(panel, config)
    table = runs.cached_run(own, fresh)
    if isinstance(own, runs.ESRun):
        table = table[table.criterion.isin(transfer_runs.TICKET_CRITERIA)]
        curve = table.criterion.map({"snr": "own", "random": "random"})
    else:
        curve = pd.Series("own", index=table.index)
    return table.assign(curve=curve)[["curve", "seed", "round", "weights_remaining", "test_performance"]]


def transfer_frame(config: Config, fresh: bool = False) -> pd.DataFrame:
    """Every B5 panel's curves: one row per (panel, curve, seed, round), with its relation, title and task."""
    frames = []
    for panel in transfer_runs.panels_for(config):
        table, _ = transfer_runs.transfer_table(panel, config, fresh)
        both = pd.concat([own_curves(panel, config, fresh), table], ignore_index=True)
        both.insert(0, "panel", panel.id)
        both.insert(1, "relation", panel.relation)
        both.insert(2, "title", transfer_runs.panel_title(panel, config))
        both.insert(3, "task_key", transfer_runs.own_run(panel, config).task)
        frames.append(both)
    return pd.concat(frames, ignore_index=True)


def gap_source_curves(config: Config) -> pd.DataFrame:
    """Per ES → GD panel (:data:`~nevolab.studies.b.claims.GAP_RELATION`): its source run's ES-SNR test
    performance per seed and round (``panel, seed, round, test_performance``), read from the store."""
    frames = []
    for panel in transfer_runs.panels_for(config):
        if panel.relation != b_claims.GAP_RELATION:
            continue
        table = runs.cached_run(transfer_runs.source_run(panel, config))
        snr = table[table.criterion == "snr"]
        frames.append(snr.assign(panel=panel.id)[["panel", "seed", "round", "test_performance"]])
    if not frames:
        return pd.DataFrame(columns=["panel", "seed", "round", "test_performance"])
    return pd.concat(frames, ignore_index=True)


def transfer_budgets(config: Config) -> list[str]:
    """One line per B5 panel: its title, its source run's strategy, task and budget, and its target's."""
    lines = []
    for panel in transfer_runs.panels_for(config):
        source, own = transfer_runs.source_run(panel, config), transfer_runs.own_run(panel, config)
        budget = (f"{own.generations} generations × {own.population}" if hasattr(own, "generations")
                  else f"{own.epochs} Adam epoch{'s' * (own.epochs != 1)}" if hasattr(own, "epochs")
                  else f"{own.timesteps:,} PPO steps")
        lines.append(f"{transfer_runs.panel_title(panel, config)}: source "
                     f"{plotting.display_name(source.strategy)} on {plotting.display_name(source.task)} "
                     f"({source.generations} × {source.population}); target {budget} per round")
    return lines


def added_runs(config: Config) -> list[RunConfig]:
    """The runs B5 reads that B1–B4 do not (its own compute)."""
    shared = {run.hash() for run in runs.run_configs(config)}
    return [run for run in transfer_runs.run_configs(config) if run.hash() not in shared]


def agreement_by_strategy(config: Config) -> pd.DataFrame:
    """Per ES strategy, task and round: the share of the kernels SNR pruning keeps that magnitude
    pruning of the same final mean keeps too (the SNR runs' ``snr_magnitude_agreement``, mean over
    seeds), over every ES run B5 reads (computing any that is missing). 1 = the two criteria choose
    the same ticket."""
    frames = []
    for run in transfer_runs.run_configs(config):
        if isinstance(run, runs.ESRun):
            table = runs.cached_run(run)
            snr = table[table.criterion == "snr"]
            frames.append(snr.assign(strategy=run.strategy, task=run.task))
    both = pd.concat(frames, ignore_index=True).drop_duplicates(["strategy", "task", "seed", "round"])
    return (both.groupby(["strategy", "task", "round"])
            .agg(weights_remaining=("weights_remaining", "mean"),
                 agreement=("snr_magnitude_agreement", "mean"))
            .reset_index())


def landscape_summary(config: Config) -> tuple[pd.DataFrame, dict]:
    """The landscape runs' summary table (one row per method, seed and round) and provenance, stored."""
    return store.load(landscape_runs.landscape_run(config), landscape_runs.SUMMARY_COLUMNS)
