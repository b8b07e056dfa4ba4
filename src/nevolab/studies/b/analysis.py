"""Study B's analyses of its tables, pure functions on DataFrames: the paper's per-task normalisation
and task average, the ticket decomposition, the dense-training check, the tables the pages show
(agreement, high-sparsity means, decomposition intervals, transfer panels, landscape rounds) and the
relative SNR advantage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nevolab import landscape, stats
from nevolab.studies.b.tasks import task_family


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


def performance_text(task: str, value: float) -> str:
    """A test performance as the tables show it: a return to the unit, an accuracy to three decimals,
    with a typographic minus."""
    text = f"{value:,.0f}" if task_family(task) == "gymnax" else f"{value:.3f}"
    return text.replace("-", "−")


DENSE_CONTROL_RETURN = -250.0
"""Study B's bar for a trained dense ES network on a control task: a test return above −250 ..."""
DENSE_CONTROL_GAP = 100.0
"""... or within 100 of the gradient baseline's (PPO's) dense return."""
DENSE_VISION_ACCURACY = 0.90
"""The bar on an image task: at least 0.90 test accuracy."""


def dense_training_check(frame: pd.DataFrame) -> pd.DataFrame:
    """Per task: the dense (round 0) ES and GD test performance, mean and standard deviation over
    seeds, the bar the dense ES network must clear (:data:`DENSE_CONTROL_RETURN` or within
    :data:`DENSE_CONTROL_GAP` of GD on control tasks, :data:`DENSE_VISION_ACCURACY` on image tasks) and
    whether its seed mean does."""
    dense = frame[frame["round"] == 0].assign(curve=curve_key)
    rows = []
    for task, group in dense.groupby("task_key", sort=False):
        es = group[group.method == "ES"].drop_duplicates("seed").test_performance
        gd = group[group.curve == "gd"].test_performance
        control = task_family(task) == "gymnax"
        if control:
            bar = DENSE_CONTROL_RETURN
            rule = f"> {DENSE_CONTROL_RETURN:.0f}"
            if not gd.empty:
                bar = min(bar, gd.mean() - DENSE_CONTROL_GAP)
                rule += f", or ≥ GD − {DENSE_CONTROL_GAP:.0f}"
        else:
            bar, rule = DENSE_VISION_ACCURACY, f"≥ {DENSE_VISION_ACCURACY:.2f}"
        rows.append({"task": task, "ES dense mean": es.mean(), "ES dense sd": es.std(),
                     "ES dense min": es.min(), "GD dense mean": gd.mean() if not gd.empty else np.nan,
                     "bar": rule, "bar value": bar, "met": bool(es.mean() >= bar), "seeds": int(es.size)})
    return pd.DataFrame(rows)


def gd_bar_sentences(dense: pd.DataFrame, display_name: Any) -> list[str]:
    """Per control task with a GD baseline: whether the dense GD network (PPO) clears the return bar
    :data:`DENSE_CONTROL_RETURN` that the dense ES network is held to, or by how much it misses it."""
    out = []
    for row in dense.to_dict("records"):
        task, gd = row["task"], row["GD dense mean"]
        if task_family(task) != "gymnax" or not np.isfinite(gd):
            continue
        verdict = ("clears it" if gd > DENSE_CONTROL_RETURN
                   else f"misses it by {performance_text(task, DENSE_CONTROL_RETURN - gd)}")
        out.append(f"On {display_name(task)} the dense GD network reaches a mean test return of "
                   f"{performance_text(task, gd)} against the ES bar of "
                   f"{performance_text(task, DENSE_CONTROL_RETURN)}: it {verdict}.")
    return out


def agreement_table(results: pd.DataFrame) -> pd.DataFrame:
    """Per task and round: the SNR runs' SNR–magnitude agreement, mean over seeds; the columns are
    headed by the round's nominal share of kernels kept (``"25 %"``)."""
    snr_rows = results[results.criterion == "snr"]
    agreement = snr_rows.pivot_table(index="task_key", columns="round", values="snr_magnitude_agreement",
                                     aggfunc="mean")
    nominal = snr_rows.groupby("round").weights_remaining_nominal.first()
    agreement.columns = [f"{nominal[r]:.3g} %" for r in agreement.columns]
    return agreement


def high_sparsity_means(per_seed: pd.DataFrame, criteria: Sequence[str]) -> pd.DataFrame:
    """Criterion × task: the mean over seeds of :func:`per_seed_high_sparsity`'s test performance,
    the rows in the order of ``criteria`` (those present)."""
    raw = per_seed.pivot_table(index="curve", columns="task_key", values="test_performance", aggfunc="mean")
    return raw.reindex([c for c in criteria if c in raw.index]).rename_axis(index="criterion", columns=None)


def task_formats(tasks: Sequence[str]) -> dict[str, str]:
    """A number format per task column: returns to the unit, accuracies to three decimals."""
    return {task: "{:.0f}" if task_family(task) == "gymnax" else "{:.3f}" for task in tasks}


def records_shown(records: pd.DataFrame, display_name: Any) -> pd.DataFrame:
    """The run records as the pages show them: display task names, minutes, the date to the minute."""
    return (records.assign(task=records.task.map(display_name), minutes=records.wall_time_s / 60.0,
                           date=records.date.str.slice(0, 16).str.replace("T", " "))
            .drop(columns="wall_time_s"))


def dense_shown(dense: pd.DataFrame, display_name: Any) -> pd.DataFrame:
    """:func:`dense_training_check`'s table as the page shows it: numbers as text, "yes"/"no"."""
    shown = dense.assign(task=dense.task.map(display_name))
    for column in ("ES dense mean", "ES dense sd", "ES dense min", "GD dense mean"):
        shown[column] = [performance_text(task, value) if value == value else "–"
                         for task, value in zip(dense.task, dense[column], strict=True)]
    shown["met"] = shown.met.map({True: "yes", False: "no"})
    return shown.drop(columns="bar value")


def sparsest_table(results: pd.DataFrame, display_name: Any) -> pd.DataFrame:
    """ES-SNR's and GD-IMP's test performance at the last round, mean and standard deviation over
    seeds: one row per (curve, statistic), one column per task."""
    last_round = results["round"].max()
    final = results[results["round"] == last_round].assign(curve=curve_key)
    final = final[final.curve.isin(["snr", "gd"])]
    sparsest = final.pivot_table(index="task_key", columns="curve", values="test_performance",
                                 aggfunc=["mean", "std"])
    sparsest = sparsest[[(statistic, curve) for curve in ("snr", "gd") for statistic in ("mean", "std")
                         if (statistic, curve) in sparsest]]
    sparsest.columns = [f"{display_name(curve)} {statistic}" for statistic, curve in sparsest.columns]
    return sparsest.T.rename_axis(index=f"round {last_round}", columns=None)


def component_intervals(decomposition: pd.DataFrame, tasks: Sequence[str]) -> pd.DataFrame:
    """Per scope (each task, then ``"all tasks"``) and component: the mean over seeds of the component
    averaged over the high-sparsity rounds, with a 95 % bootstrap interval (``low``, ``high``) and n."""
    high = high_sparsity_rounds(decomposition)
    subset = decomposition[decomposition["round"].isin(high)]
    per_seed = subset.groupby(["task_key", "component", "seed"]).value.mean().reset_index()
    rows = []
    for scope in [*tasks, "all tasks"]:
        scoped = per_seed if scope == "all tasks" else per_seed[per_seed.task_key == scope]
        for component in [*(name for name, *_ in DECOMPOSITION), "ticket effect"]:
            values = scoped[scoped.component == component].value.to_numpy()
            mean, low, high_ = stats.bootstrap_mean(values)
            rows.append({"scope": scope, "component": component, "mean": mean, "low": low, "high": high_,
                         "n": values.size})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# B5: transfer panels
# ----------------------------------------------------------------------------------------------

SAME_TICKET_AGREEMENT = 0.9
"""Ours: at or above this share in every round, SNR and magnitude pruning keep nearly the same kernels,
so "SNR beats magnitude" has almost nothing to measure with that strategy."""


def normalise_panels(frame: pd.DataFrame) -> pd.DataFrame:
    """Per panel, the three curves' seed means min–max normalised together (the paper's aggregation,
    B2): every seed mapped by the same affine map, so panels can be pooled."""
    means = frame.groupby(["panel", "curve", "round"]).test_performance.mean()
    bounds = means.groupby("panel").agg(["min", "max"])
    low, high = frame.panel.map(bounds["min"]), frame.panel.map(bounds["max"])
    return frame.assign(normalised=(frame.test_performance - low) / (high - low).replace(0.0, np.nan))


def per_panel_seed(frame: pd.DataFrame, threshold: float = 10.0) -> pd.DataFrame:
    """Per (relation, panel, seed): each curve's normalised performance averaged over the high-sparsity
    rounds."""
    normalised = normalise_panels(frame)
    rounds = high_sparsity_rounds(frame, threshold)
    subset = normalised[normalised["round"].isin(rounds)]
    return subset.pivot_table(index=["relation", "panel", "seed"], columns="curve", values="normalised")


def panel_summary(frame: pd.DataFrame, panels: Sequence[tuple[str, str, str]],
                  curve_labels: dict[str, str]) -> pd.DataFrame:
    """Per panel (``(id, relation, title)``): each curve's mean test performance over the high-sparsity
    rounds, and the transfer's median paired shift against random and own, in normalised units."""
    high = high_sparsity_rounds(frame)
    raw = (frame[frame["round"].isin(high)].groupby(["panel", "curve", "seed"]).test_performance.mean()
           .groupby(["panel", "curve"]).mean().unstack())
    wide = per_panel_seed(frame).reset_index()
    shift = wide.assign(vs_random=wide.transfer - wide.random, vs_own=wide.transfer - wide.own
                        ).groupby("panel")[["vs_random", "vs_own"]].median()
    rows = []
    for panel, relation, title in panels:
        task = frame[frame.panel == panel].task_key.iloc[0]
        rows.append({"kind": relation, "panel": title,
                     **{label: performance_text(task, raw.loc[panel, curve])
                        for curve, label in curve_labels.items()},
                     "transfer − random (median, normalised)": f"{shift.loc[panel, 'vs_random']:+.2f}",
                     "transfer − own (median, normalised)": f"{shift.loc[panel, 'vs_own']:+.2f}"})
    return pd.DataFrame(rows)


def strategy_agreement_table(agreement: pd.DataFrame, display_name: Any) -> pd.DataFrame:
    """Strategy · task × round: the SNR–magnitude agreement as text with two decimals."""
    table = agreement.pivot_table(index=["strategy", "task"], columns="round", values="agreement")
    table.columns = [f"round {r} ({agreement[agreement['round'] == r].weights_remaining.mean():.3g} %)"
                     for r in table.columns]
    table.index = [f"{display_name(s)} · {display_name(t)}" for s, t in table.index]
    return table.map("{:.2f}".format).rename_axis("strategy · task").reset_index()


def agreement_sentence(agreement: pd.DataFrame) -> str:
    """Which strategies leave SNR and magnitude room to differ (lowest agreement over rounds and tasks
    below :data:`SAME_TICKET_AGREEMENT`) and which do not."""
    lowest = agreement.groupby("strategy").agreement.min().sort_values()
    differ = [f"{s.replace('_', '-')} ({v:.2f})" for s, v in lowest.items() if v < SAME_TICKET_AGREEMENT]
    same = [f"{s.replace('_', '-')} ({v:.2f})" for s, v in lowest.items() if v >= SAME_TICKET_AGREEMENT]
    parts = []
    if differ:
        parts.append(f"SNR and magnitude keep different kernels with {', '.join(differ)}: there the "
                     "SNR-versus-magnitude claim can be tested")
    if same:
        subject = "they" if differ else "SNR and magnitude"
        parts.append(f"{subject} keep nearly the same kernels with {', '.join(same)} in every round (at "
                     f"least {SAME_TICKET_AGREEMENT:.0%} in common), so the claim has almost nothing to "
                     "measure there")
    return "Lowest agreement over rounds: " + "; ".join(parts) + "."


# ----------------------------------------------------------------------------------------------
# B6 and B7: the landscape runs' tables
# ----------------------------------------------------------------------------------------------

ES_METHOD = "es_snr"
"""The ES networks B6 measures: ES with SNR pruning (the paper's ES tickets)."""
IMP_METHOD = "es_magnitude"
GD_METHOD = "gd_adam"
ES_GD_PAIR = f"{ES_METHOD}|{GD_METHOD}"
"""The ``method`` of a measure taken between ES-SNR's and GD-IMP's networks (B6's optima table)."""
METHOD_LABELS = {ES_METHOD: "ES (SNR)", IMP_METHOD: "ES (IMP)", GD_METHOD: "GD (Adam IMP)"}
METHOD_STYLES = {ES_METHOD: "snr", GD_METHOD: "gd"}
"""B6's methods and the book's line style of each."""
TRAINED_ACCURACY = 0.5
"""Ours: B6's claims use the rounds where both ES-SNR's and GD-IMP's seed-mean test accuracy is at
least this (five times chance on ten classes). A network at chance outputs nearly the same class
scores whatever its weights: its loss is flat and its barriers are 0, which says nothing about the
optimum a method found; the figures show every round."""


def trained_rounds(summary: pd.DataFrame, threshold: float = TRAINED_ACCURACY) -> list[int]:
    """The rounds where both ES-SNR's and GD-IMP's seed-mean test accuracy reach ``threshold``."""
    means = summary[summary.method.isin([ES_METHOD, GD_METHOD])].pivot_table(
        index="round", columns="method", values="test_score", aggfunc="mean")
    if ES_METHOD not in means or GD_METHOD not in means:
        return []
    return [int(r) for r in means.index[(means[ES_METHOD] >= threshold) & (means[GD_METHOD] >= threshold)]]


def rounds_text(rounds: list[int], summary: pd.DataFrame) -> str:
    """``"rounds 0–3, 100–12.5 % kept"``: the first and last of ``rounds`` with their shares kept."""
    remaining = summary.groupby("round").weights_remaining.first()
    return f"rounds {rounds[0]}–{rounds[-1]}, {remaining[rounds[0]]:.3g}–{remaining[rounds[-1]]:.3g} % kept"


def dense_bar_sentence(summary: pd.DataFrame) -> str:
    """Whether the landscape runs' dense (round 0) networks, seed mean, reach the accuracy bar that
    B1–B4 hold their dense ES networks to (:data:`DENSE_VISION_ACCURACY`)."""
    dense = summary[summary["round"] == 0].groupby("method").test_score.mean()
    parts = [f"{METHOD_LABELS.get(method, method)} {dense[method]:.3f}" for method in METHOD_LABELS
             if method in dense]
    below = [METHOD_LABELS.get(method, method) for method in METHOD_LABELS
             if method in dense and dense[method] < DENSE_VISION_ACCURACY]
    bar = f"the bar of {DENSE_VISION_ACCURACY:.2f} that B1–B4 hold their dense ES networks to"
    verdict = (f"{', '.join(below)} {'is' if len(below) == 1 else 'are'} under {bar}, so these measurements "
               "are of networks trained less than B1–B4's" if below else f"All clear {bar}")
    return f"Dense networks' mean test accuracy: {'; '.join(parts)}. {verdict}."


def accuracy_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Per round: kernels kept, ES-SNR's and GD-IMP's seed-mean test accuracy and whether the claims
    use the round (both trained)."""
    trained = trained_rounds(summary)
    accuracy = summary[summary.method.isin(METHOD_STYLES)].pivot_table(
        index="round", columns="method", values="test_score", aggfunc="mean")
    accuracy = accuracy[list(METHOD_STYLES)].rename(columns=METHOD_LABELS)
    accuracy.insert(0, "kernels kept (%)", summary.groupby("round").weights_remaining.first())
    accuracy["used by the claims"] = ["yes" if r in trained else "no" for r in accuracy.index]
    return accuracy.rename_axis(columns=None)


def curvature_per_seed(measures: pd.DataFrame) -> pd.DataFrame:
    """Per (method, round, seed): the curvature averaged over directions, with the share kept."""
    return (measures[measures.measure == "curvature"]
            .groupby(["method", "round", "seed"], as_index=False)
            .agg(value=("value", "mean"), weights_remaining=("weights_remaining", "first")))


def measure_mean(measures: pd.DataFrame, measure: str, method: str, rounds: Sequence[int]) -> float:
    """``measure`` of ``method`` over ``rounds`` (a barrier between rounds needs both in them): the mean
    over seeds of each seed's mean."""
    rows = measures[(measures.measure == measure) & (measures.method == method)]
    rows = rows[rows["round"].isin(rounds)]
    if measure == "barrier_rounds":
        rows = rows[(rows["round"] - 1).isin(rounds)]
    return rows.groupby("seed").value.mean().mean()


def relative_advantage(summary: pd.DataFrame) -> pd.DataFrame:
    """Per round: weights remaining and (ES-SNR − ES-IMP) / |ES-SNR at round 0| of the seed-mean test
    scores (the paper's f7 first cell), with the per-seed values' standard error."""
    wide = summary.pivot_table(index=["round", "seed"], columns="method", values="test_score")
    mean = wide.groupby(level="round").mean()
    advantage = landscape.relative_snr_advantage(mean[ES_METHOD].to_numpy(), mean[IMP_METHOD].to_numpy())
    per_seed = (wide[ES_METHOD] - wide[IMP_METHOD]) / abs(mean[ES_METHOD].iloc[0])
    remaining = summary.groupby("round").weights_remaining.first()
    return pd.DataFrame({"round": mean.index, "weights_remaining": remaining.to_numpy(),
                         "advantage": advantage,
                         "standard_error": per_seed.groupby(level="round").sem().to_numpy()})


def correlation_table(correlations: pd.DataFrame, advantage: pd.DataFrame) -> pd.DataFrame:
    """Per round: the seed-mean ρ of SNR and of |θ| with round 0, and the relative SNR advantage."""
    table = correlations.pivot_table(index=["round", "weights_remaining"], columns="quantity", values="rho")
    table = table.rename(columns={"snr": "ρ SNR", "magnitude": "ρ |θ|"}).join(
        advantage.set_index(["round", "weights_remaining"])[["advantage"]].rename(
            columns={"advantage": "relative SNR advantage"}))
    table.index = [f"round {r} ({w:.3g} % kept)" for r, w in table.index]
    return table
