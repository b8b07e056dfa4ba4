"""The written findings of Study B's pages ("What this shows at this page's scale"): pure functions
from a page's tables to its sentences, so that other parameters give other numbers and the sentences
follow them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nevolab import plotting, report, stats
from nevolab.config import Config
from nevolab.studies.b import tasks as b_tasks
from nevolab.studies.b.analysis import (
    ES_METHOD,
    GD_METHOD,
    TRAINED_ACCURACY,
    curve_key,
    high_sparsity_rounds,
    measure_mean,
    performance_text,
    rounds_text,
    trained_rounds,
)
from nevolab.studies.b.claims import correlation_fall

show, joined, names_of = performance_text, report.joined, plotting.display_name


def scale_text(config: Config) -> str:
    """B1's scale against the paper's: rounds and pruning, seeds, generations × population."""
    paper = {name: config.spec.param(name).paper for name in (
        "rounds", "prune_fraction", "seeds", "control_generations", "control_population",
        "vision_generations", "vision_population")}
    remaining_last = 100 * (1 - config.prune_fraction) ** (config.rounds - 1)
    paper_last = 100 * (1 - paper["prune_fraction"]) ** (paper["rounds"] - 1)
    return (f"scale: {config.rounds} rounds pruning {config.prune_fraction:.0%} each "
            f"(100 % -> {remaining_last:.3g} %; paper {paper['rounds']} x "
            f"{paper['prune_fraction'] * 100:.0f} %, "
            f"100 % -> {paper_last:.3g} %),\n"
            f"       {config.seeds} seeds (paper {paper['seeds']}); per round {config.control_generations} "
            f"generations x {config.control_population} on control (paper {paper['control_generations']} x "
            f"{paper['control_population']}),\n"
            f"       {config.vision_generations} x {config.vision_population} on images (paper "
            f"{paper['vision_generations']} x {paper['vision_population']})")


def verdict_text(row: Any, labels: Mapping[str, str]) -> str:
    """A claims row as a clause: its label, shift, verdict and reason, and, where p sits at the floor of
    the exact test, that only more seeds (or fewer tests in the Holm family) can move the verdict."""
    text = (f"{labels[row.claim]}, shift {report.interval(row.effect, row.low, row.high)} → "
            f"**{row.verdict}**, {row.verdict_reason}")
    if row.verdict == "inconclusive" and row.p_value <= row.min_p * (1 + 1e-9):
        text += f", where p = {report.p_value(row.p_value)} before Holm is the smallest that {row.n} can give"
    return text


NOT_AT_SCALE = "not tested at scale"


def per_task_power(claims: pd.DataFrame, seeds: int) -> str:
    """Whether a single task's row of a claim can decide under the rule (Holm over the claim's rows,
    Tarone's floor): a parenthesis for a sentence, from the per-task rows' ``min_p_holm`` and
    ``family_size``; "" when the table has no per-task row."""
    rows = claims[(claims.scope != "all tasks") & (claims.verdict != NOT_AT_SCALE) & claims.n.ne("0")]
    if rows.empty or "min_p_holm" not in rows:
        return ""
    worst = rows.loc[rows.min_p_holm.idxmax()]
    family = int(worst.family_size)
    if worst.verdict == "underpowered":
        return (f" (a single task's {seeds} seeds cannot reach p ≤ {stats.ALPHA:g} once Holm corrects over "
                f"the claim's {family} rows: the best possible is {report.p_value(worst.min_p_holm)})")
    return (f" (a single task's {seeds} seeds can reach p ≤ {stats.ALPHA:g} after Holm over the claim's "
            f"{family} rows: the best possible is {report.p_value(worst.min_p_holm)}, so every task's row "
            "can decide)")


def seeds_needed(family: int, alpha: float = stats.ALPHA) -> int:
    """The fewest paired seeds whose exact one-sided signed-rank floor, times a Holm family of ``family``
    tests, reaches ``alpha``."""
    n = 1
    while stats.min_attainable_p(n) * family > alpha:
        n += 1
    return n


def pooled_row(claims: pd.DataFrame, claim: str) -> Any:
    """The claim's pooled row, or its only row when the page has a single task; None if untested."""
    rows = claims[claims.claim == claim]
    rows = rows[rows.scope == "all tasks"] if (rows.scope == "all tasks").any() else rows
    return None if rows.empty else rows.iloc[0]


def _pooled_verdict(claims: pd.DataFrame, claim: str, labels: Mapping[str, str]) -> str:
    row = pooled_row(claims, claim)
    return f"{labels[claim]}: not tested here" if row is None else verdict_text(row, labels)


def _ticket_bullet(results: pd.DataFrame, raw: pd.DataFrame, per_seed: pd.DataFrame, claims: pd.DataFrame,
                   config: Config, chance: Mapping[str, float], labels: Mapping[str, str]) -> str | None:
    tickets = [c for c in ("snr", "magnitude") if c in raw.index]
    if not tickets or "random" not in raw.index:
        return None
    kept = results.groupby("round").weights_remaining_nominal.first()
    high_rounds = high_sparsity_rounds(results)
    high_span = " to ".join(dict.fromkeys(f"{kept[r]:.3g} %" for r in (high_rounds[0], high_rounds[-1])))
    parts = []
    for task in [t for t in config.tasks if t in raw.columns]:
        numbers = ", ".join(f"{names_of(c)} {show(task, raw.at[c, task])}" for c in tickets)
        numbers += f" against ES-Random {show(task, raw.at['random', task])}"
        numbers += (f" (test accuracy; chance is {chance[task]:.2f})" if task in chance else " (test return)")
        parts.append(f"{names_of(task)}: {numbers}")
    ahead = [names_of(t) for t in raw.columns if all(raw.at[c, t] > raw.at["random", t] for c in tickets)]
    by_seed = per_seed.pivot_table(index=["task_key", "seed"], columns="curve", values="test_performance")
    seeds_ahead = by_seed[tickets].gt(by_seed["random"], axis=0).all(axis=1)
    if len(ahead) == len(raw.columns):
        head = "Tickets beat random" + (" on every task" if len(ahead) > 1 else "")
    else:
        head = f"Tickets beat random on {joined(ahead)} only" if ahead else "Tickets do not beat random here"
    seeds_text = ("in every seed of every task" if seeds_ahead.all()
                  else f"in {seeds_ahead.sum()} of the {seeds_ahead.size} (task, seed) pairs")
    tickets_claims = claims[claims.claim.isin(["tickets_beat_random_snr", "tickets_beat_random_imp"])]
    return (f"**{head}.** Mean test performance over the rounds that keep {high_span} of the kernels "
            f"(the raw table above): {'; '.join(parts)}. Both ticket criteria are above ES-Random "
            f"{seeds_text}. The verdicts are the pooled rows of the claims table"
            + per_task_power(tickets_claims, config.seeds)
            + ": " + "; ".join(_pooled_verdict(claims, c, labels)
                               for c in ("tickets_beat_random_snr", "tickets_beat_random_imp")) + ".")


ALMOST_SAME_TICKETS = 0.9
"""Our word, not the paper's: SNR and magnitude pick "almost the same" tickets when at least this share
of the kernels one keeps the other keeps too, in every round and task."""


def agreement_words(agreement: pd.DataFrame) -> tuple[str, bool]:
    """How alike the SNR and magnitude tickets are ("the same", "almost the same", "different") from
    every cell of the agreement table, and whether they are at least :data:`ALMOST_SAME_TICKETS` alike."""
    values = agreement.to_numpy()
    alike = bool(np.nanmin(values) >= ALMOST_SAME_TICKETS)
    word = "the same" if np.isclose(values, 1.0).all() else "almost the same" if alike else "different"
    return word, alike


def _agreement_bullet(results: pd.DataFrame, agreement: pd.DataFrame, claims: pd.DataFrame, config: Config,
                      labels: Mapping[str, str]) -> str:
    same = np.isclose(agreement.to_numpy(), 1.0)
    how, mostly_same = agreement_words(agreement)
    # "paper" picks each task's strategy of the paper: name the strategies that actually ran.
    strategies = list(dict.fromkeys(b_tasks.strategy_for(task, config.strategy) for task in config.tasks))
    names = joined([name.replace("_", "-") for name in strategies])
    text = (f"**SNR and magnitude pick {how} tickets with {names} here.** The agreement table is 1.000 "
            f"in {same.sum()} of its {same.size} cells and never below {agreement.min().min():.3f}"
            + (f" (we call at least {ALMOST_SAME_TICKETS:.1f} in every cell almost the same)."
               if how == "almost the same" else "."))
    if mostly_same and strategies == ["Sep_CMA_ES"]:
        first = results[results["round"] == 0].groupby("task_key")[["generations", "num_genes"]].max()
        span = {col: "–".join(dict.fromkeys(f"{v:,.0f}" for v in (first[col].min(), first[col].max())))
                for col in first}
        text += (f" Sep-CMA-ES's per-coordinate std is σ·√C_ii, and in {span['generations']} generations "
                 f"on {span['num_genes']} parameters the diagonal C barely moves (its learning rate falls "
                 "like 1/n), so |μ|/(σ√C) ranks the weights like |μ|.")
    if mostly_same:
        text += " The SNR-over-magnitude claim therefore cannot show at this budget with this strategy."
    text += f" {_pooled_verdict(claims, 'snr_beats_magnitude', labels)}."
    if "SNES" not in strategies:
        text += (" SNES adapts its std per coordinate much faster: `.venv/bin/nevolab run b1_ticket_curves "
                 f"--profile {config.profile} -p strategy SNES` (from the repository root) trains the same "
                 "comparison with it.")
    return text


def _budget_bullet(results: pd.DataFrame, config: Config) -> str:
    ratios = [b_tasks.PAPER_BUDGET[b_tasks.task_family(t)][0] / b_tasks.budget(t, config)[0]
              for t in config.tasks]
    low, high = min(ratios), max(ratios)
    fewer = (f"{low:.0f}×" if np.isclose(low, high) else f"{low:.0f}–{high:.0f}×") + " fewer"
    kept = results.groupby("round").weights_remaining_nominal.first()
    curve_means = results.assign(curve=curve_key(results)).pivot_table(
        index="round", columns=["task_key", "curve"], values="test_performance", aggfunc="mean")
    shown_rounds = list(dict.fromkeys([0, 1, int(kept.index.max())]))
    paths = []
    for task in config.tasks:
        path = curve_means[(task, "magnitude")]
        paths.append(f"{names_of(task)} " + ", ".join(
            f"{show(task, path[r])} {'dense' if r == 0 else f'at {kept[r]:.3g} %'}" for r in shown_rounds))
    text = (f"**The dense networks are trained with {fewer} generations per round than the paper's**"
            if high > 1 else "**The dense networks get the paper's generations per round**")
    return text + (f" (B2 sets them next to gradient descent on the same networks). ES-IMP's "
                   f"test performance along the pruning rounds: {'; '.join(paths)}.")


def ticket_findings(results: pd.DataFrame, raw: pd.DataFrame, per_seed: pd.DataFrame,
                    agreement: pd.DataFrame, claims: pd.DataFrame, config: Config,
                    chance: Mapping[str, float], labels: Mapping[str, str]) -> str:
    """B1's bullets: do tickets beat random, do SNR and magnitude pick different tickets, and how the
    dense networks' budget compares with the paper's."""
    bullets = [_ticket_bullet(results, raw, per_seed, claims, config, chance, labels)]
    if "snr" in set(results.criterion) and "magnitude" in set(results.criterion):
        bullets.append(_agreement_bullet(results, agreement, claims, config, labels))
    if "magnitude" in raw.index:
        bullets.append(_budget_bullet(results, config))
    return "\n".join(f"* {bullet}" for bullet in bullets if bullet is not None)


def es_vs_gd_findings(results: pd.DataFrame, claims: pd.DataFrame, config: Config,
                      labels: Mapping[str, str]) -> str:
    """B2's paragraph: dense GD against dense ES, each task's path along the rounds, whether the
    paper's crossing shows, and the claims table's verdict."""
    task_list = list(config.tasks)
    gd_tasks = sorted(set(results[results.method == "GD"].task_key))
    names = {task: names_of(task) for task in task_list}
    optimiser = {"gymnax": "PPO", "vision": "Adam"}
    means = results.assign(curve=curve_key(results)).pivot_table(
        index="round", columns=["task_key", "curve"], values="test_performance", aggfunc="mean")
    kept = results.groupby("round").weights_remaining_nominal.first()
    dense, paths, losses, crossed = [], [], {}, []
    for task in [t for t in task_list if t in gd_tasks]:
        es, gd = means[(task, "snr")], means[(task, "gd")]
        gd_ahead = (gd > es).to_numpy()
        lead = int(gd_ahead.argmin()) if not gd_ahead.all() else gd_ahead.size  # GD leads from dense on
        trail = int((~gd_ahead)[::-1].argmin()) if gd_ahead.any() else gd_ahead.size  # ES leads to the end
        dense.append(f"{optimiser[b_tasks.task_family(task)]} reaches {show(task, gd.iloc[0])} on "
                     f"{names[task]} "
                     f"where the ES is at {show(task, es.iloc[0])}")
        if lead and trail and lead + trail == gd_ahead.size:
            crossed.append(names[task])
            story = (f"GD ahead down to {kept[es.index[lead - 1]]:.3g} % of the kernels, ES-SNR from "
                     f"{kept[es.index[lead]]:.3g} % on")
        else:
            ahead_rounds = ", ".join(f"{kept[r]:.3g} %" for r in es.index[gd_ahead])
            story = f"GD ahead at {ahead_rounds}" if ahead_rounds else "the ES ahead in every round"
        paths.append(f"{names[task]}: {story}, and at {kept[es.index[-1]]:.3g} % GD is at "
                     f"{show(task, gd.iloc[-1])}, the ES at {show(task, es.iloc[-1])}")
        losses[task] = (gd.iloc[0] - gd.iloc[-1], es.iloc[0] - es.iloc[-1])  # dense minus sparsest
    if not dense:
        return "No task has both ES-SNR and GD-IMP runs here, so this page shows the ES curves alone."
    gd_better = [names[t] for t in losses if means[(t, "gd")].iloc[0] > means[(t, "snr")].iloc[0]]
    if len(gd_better) == len(losses):
        text = "Gradient descent trains better dense networks"
    elif gd_better:
        text = f"Gradient descent trains better dense networks on {joined(gd_better)} only"
    else:
        text = "Gradient descent does not train better dense networks here"
    text += f": {'; '.join(dense)}. Along the pruning rounds: {'; '.join(paths)}. "
    steeper = [t for t, (gd_loss, es_loss) in losses.items() if gd_loss > max(es_loss, 0)]
    if steeper:
        text += ("From the dense network to the sparsest round GD loses more than the ES on "
                 f"{joined(names[t] for t in steeper)} ("
                 + "; ".join(f"{names[t]}: GD {show(t, losses[t][0])}, ES {show(t, losses[t][1])}"
                             for t in steeper) + "). ")
    if len(crossed) == len(losses):
        text += ("So GD is ahead on the dense side and the ES at high sparsity on "
                 f"{'every task' if len(crossed) > 1 else names[gd_tasks[0]]}: the paper's crossing shows. ")
    elif crossed:
        text += f"The paper's crossing (GD ahead dense, ES sparse) shows on {joined(crossed)} only. "
    else:
        text += "The paper's crossing (GD ahead dense, ES sparse) does not show here. "
    sparse = claims[claims.claim == "es_beats_gd_sparse"]
    pooled = sparse[sparse.scope == "all tasks"] if (sparse.scope == "all tasks").any() else sparse
    text += ("Whether it counts as reproduced is the claims table's verdict"
             + per_task_power(sparse, config.seeds)
             + ": " + "; ".join(verdict_text(row, labels) for row in pooled.itertuples()) + ". ")
    for row in claims[claims.verdict == NOT_AT_SCALE].itertuples():
        text += f"{labels[row.claim]}: **{row.verdict}** ({row.below_scale}). "
    return text + (f"The aggregated panels average {len(task_list)} task{'s' if len(task_list) > 1 else ''} "
                   f"(ES vs GD: {len(gd_tasks)}) where the paper's Fig. 3 averages twelve.")


LOST_BY = {"weights": "shuffling θ₀'s surviving values within each layer, mask kept,",
           "mask positions": "shuffling the mask within each layer",
           "layerwise ratio": "a global random mask instead of the per-layer shares"}
"""What losing each ingredient of a ticket means, in the terms of the controls."""


def decomposition_findings(table: pd.DataFrame, decomposition: pd.DataFrame, config: Config) -> str:
    """B3's paragraph: per task, which ingredient carries the ticket effect over the high-sparsity
    rounds (``table``: :func:`~nevolab.studies.b.analysis.component_intervals`, scopes displayed)."""
    task_list = list(config.tasks)
    high = high_sparsity_rounds(decomposition)
    kept = decomposition[decomposition["round"].isin(high)].groupby("round").weights_remaining.mean()
    span = " to ".join(dict.fromkeys(f"{kept[r]:.3g} %" for r in (min(high), max(high))))
    components = list(LOST_BY)
    carriers, sentences = {}, []
    for task in task_list:
        rows = table[table.scope == names_of(task)].set_index("component")
        total = rows.at["ticket effect", "mean"]
        ranked = rows.loc[components, "mean"].sort_values(ascending=False)
        top = ranked.index[0]
        carriers[task] = top
        # "Most of it" only where the top ingredient is more than half of a positive effect; above the
        # whole effect the other ingredients pull the other way, and the text says so.
        share = ranked.iloc[0] / total if total > 0 else float("nan")
        if 0.5 < share <= 1:
            lead = (f"most of the ticket effect comes from the **{top}** ({share:.0%} of it: {LOST_BY[top]} "
                    "loses it)")
        elif share > 1:
            lead = (f"the **{top}** give more than the whole ticket effect, and the other ingredients cancel "
                    "part of it")
        else:
            lead = "no single ingredient carries most of the ticket effect"
        excludes = [c for c in components if rows.at[c, "95 % low"] > 0 or rows.at[c, "95 % high"] < 0]
        sentences.append(
            f"On {names_of(task)} {lead}: ticket effect {report.number(total)}, "
            + ", ".join(f"{c} {report.number(rows.at[c, 'mean'])}" for c in ranked.index)
            + f" (interval excluding zero: {', '.join(excludes) if excludes else 'none'}).")
    agree = len(set(carriers.values())) == 1
    return (f"Means over the rounds that keep {span} of the kernels, in normalised units. "
            + " ".join(sentences)
            + (" The tasks agree on what carries a ticket." if agree and len(task_list) > 1 else
               " The tasks disagree on what carries a ticket." if len(task_list) > 1 else "")
            + f" With {config.seeds} seeds and {len(task_list)} small "
              f"task{'s' if len(task_list) > 1 else ''} "
            "this is a description of these runs, not a general law.")


def claims_reading(claims: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """B4's reading of its table: the seeds per task, the Holm family of each claim (its rows: the tasks
    and the pooled row) and whether a task's row can decide in it, how many tests are underpowered and
    from how many paired seeds p ≤ 0.05 becomes possible, each pooled claim described, and the claims
    these runs cannot test with the scale they need."""
    tested = claims[claims.verdict != NOT_AT_SCALE]
    per_task = tested[tested.scope != "all tasks"]
    seeds_per_task = per_task.n.iloc[0] if not per_task.empty else "–"
    text = [f"Each task has {seeds_per_task.replace('pairs', 'paired seeds')}."]
    if not per_task.empty:
        family = int(per_task.family_size.max())
        text.append(f"Holm's correction runs over each claim's {family} rows (its tasks and the pooled row), "
                    "the same on every page; a task's row can reach at best Holm p = "
                    f"{report.p_value(per_task.min_p_holm.max())}.")
    underpowered = tested[tested.verdict == "underpowered"]
    if not underpowered.empty:
        family = int(max(underpowered.family_size.max(), 1))
        text.append(f"{len(underpowered)} of {len(tested)} tests are **underpowered**: their exact one-sided "
                    f"signed-rank p cannot go below {report.p_value(underpowered.min_p.min())}, "
                    f"{report.p_value(underpowered.min_p_holm.min())} once Holm corrects over the claim; "
                    f"p ≤ {stats.ALPHA:g} becomes possible from {seeds_needed(family)} paired seeds per "
                    "task.")
    elif not per_task.empty:
        text.append("No test is underpowered: every task's row can decide.")
    for row in tested[tested.scope == "all tasks"].itertuples():
        text.append("- " + report.describe(claims.loc[row.Index], labels[row.claim]))
    for row in claims[claims.verdict == NOT_AT_SCALE].itertuples():
        text.append(f"- {labels[row.claim]}: **{row.verdict}**: {row.below_scale} ({row.detail})")
    return "\n".join(text)


def described_claims(claims: pd.DataFrame, labels: Mapping[str, str], lead: Sequence[str] = ()) -> str:
    """``lead``'s lines, then one bullet per claim (:func:`nevolab.report.describe`)."""
    return "\n".join([*lead, *(f"- {report.describe(claims.loc[i], labels[claims.loc[i, 'claim']])}"
                               for i in claims.index)])


def connectivity_findings(measures: pd.DataFrame, summary: pd.DataFrame, claims: pd.DataFrame,
                          labels: Mapping[str, str]) -> str:
    """B6's paragraph: dense and sparsest accuracies, the barriers and curvatures over the rounds where
    both methods are trained, and each claim described."""
    es, gd = ES_METHOD, GD_METHOD
    trained = trained_rounds(summary)
    remaining = summary.groupby("round").weights_remaining.first()
    last = int(summary["round"].max())
    means = summary.pivot_table(index="round", columns="method", values="test_score", aggfunc="mean")
    text = (f"Dense, GD-IMP reaches {means[gd].iloc[0]:.3f} test accuracy and ES-SNR {means[es].iloc[0]:.3f} "
            f"(seed means); at the last round ({remaining[last]:.3g} % kept) {means[gd].iloc[-1]:.3f} and "
            f"{means[es].iloc[-1]:.3f}.")
    if trained:
        def mean_of(measure: str, method: str) -> float:
            return measure_mean(measures, measure, method, trained)

        text += (f" Both are trained (accuracy ≥ {TRAINED_ACCURACY}) in "
                 f"{rounds_text(trained, summary)}; there, averaged over rounds and seeds, the "
                 f"barrier between consecutive rounds is {mean_of('barrier_rounds', es):.3f} for ES-SNR and "
                 f"{mean_of('barrier_rounds', gd):.3f} for GD-IMP, between neighbouring seeds "
                 f"{mean_of('barrier_seeds', es):.3f} and {mean_of('barrier_seeds', gd):.3f}, and the "
                 f"curvature "
                 f"{mean_of('curvature', es):.3g} and {mean_of('curvature', gd):.3g}.")
        if means[es].iloc[0] < means[gd].iloc[0]:
            text += (" The ES networks are less well trained than GD's at this budget, so their curvature is "
                     "measured further from a minimum: a confound the paper's longer ES runs would reduce.")
    else:
        text += " In no round are both methods trained, so the claims cannot be tested here."
    return "\n".join([text, *(f"- {barrier_line(claims.loc[i], labels[claims.loc[i, 'claim']])}"
                                for i in claims.index)])


def barrier_line(row: pd.Series, label: str) -> str:
    """One claims row of B6 as a sentence: a barrier row (``barrier`` set) names the barrier itself and
    the threshold it is tested against, the others their shift (:func:`nevolab.report.describe`)."""
    if "barrier" not in row or row.barrier != row.barrier:
        return report.describe(row, label)
    barrier = report.interval(row.barrier, row.barrier_low, row.barrier_high)
    return (f"{label} ({row.scope}): barrier {barrier} against the threshold of {row.threshold:.0%}, "
            f"Holm p = {report.p_value(row.p_holm)}, n = {row.n} → **{row.verdict}**")


def correlation_findings(correlations: pd.DataFrame, advantage: pd.DataFrame, claims: pd.DataFrame,
                         labels: Mapping[str, str]) -> str:
    """B7's paragraph: the rank correlations at the first compared round and at the last (seed means),
    in how many seeds each falls, the rounds where SNR pruning leads, and each claim described."""
    pruned = advantage[advantage["round"] > 0]
    ahead = pruned[pruned.advantage > 0]
    compared = sorted(correlations.loc[correlations["round"] > correlations["round"].min(), "round"].unique())
    parts = []
    for quantity, name in (("snr", "SNR"), ("magnitude", "|θ|")):
        fall = correlation_fall(correlations, quantity)
        if fall.empty:
            continue
        falls = int((fall["last"] < fall["first"]).sum())
        parts.append(f"{name} {fall['first'].mean():.3f} at round {compared[0]} and "
                     f"{fall['last'].mean():.3f} at round {compared[-1]}, lower in {falls} of "
                     f"{len(fall)} seeds")
    text = ("The surviving kernels' rank correlation with round 0 (seed means): " + "; ".join(parts) + "."
            if parts else "Only one round is compared with round 0 here, so no fall can be measured.")
    text += (" SNR pruning leads magnitude pruning "
             + (f"in {len(ahead)} of {len(pruned)} pruned rounds." if len(ahead) else "in no round."))
    return described_claims(claims, labels, [text])
