"""Study B's analyses of the runs tables: the paper's per-task normalisation and task average, the
ticket decomposition, and the ticket-curve drawing the pages share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nevolab import plotting
from nevolab.studies.b.tasks import task_family, task_title


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


def draw_curves(ax: Any, frame: pd.DataFrame, curves: Sequence[str], value: str = "test_performance",
                by: str = "seed") -> None:
    """Mean ± standard error over seeds of ``value`` against weights remaining, one line per curve
    (criterion, or ``"gd"``), on a log x axis running from 100 % down, as the paper's figures.

    ``by="seed"``: ``frame`` holds one row per seed; otherwise it is already summarised (``mean`` and
    ``sem`` columns, as :func:`aggregate_curves` returns). A ``curve`` column, if present, names the
    curves; else :func:`curve_key` derives them."""
    if "curve" not in frame:
        frame = frame.assign(curve=curve_key(frame))
    for curve in curves:
        rows = frame[frame.curve == curve]
        if rows.empty:
            continue
        stats = mean_sem(rows, value, ["weights_remaining"]) if by == "seed" else rows
        mean, sem = stats["mean"].to_numpy(), stats["sem"].to_numpy()
        plotting.band(ax, stats.weights_remaining.to_numpy(), mean, (mean - sem, mean + sem), curve)
    ax.set_xscale("log")
    ax.set_xlim(105, frame.weights_remaining.min() * 0.9)
    ticks = sorted(frame.weights_remaining.unique(), reverse=True)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:.3g}" for t in ticks], fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel("weights remaining [%]")


__all__ = [
    "DECOMPOSITION", "aggregate_curves", "curve_key", "draw_curves",
    "high_sparsity_rounds", "mean_sem", "normalise_per_task", "per_seed_high_sparsity", "task_title",
    "ticket_decomposition",
]


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
