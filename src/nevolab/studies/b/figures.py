"""Study B's figures: the ticket curves, the aggregated panels, the ticket decomposition, the transfer
panels and the landscape pages' barriers, sharpness, surfaces and rank correlations. Each function
draws one figure from the page's tables and returns it (finished, for ``plt.show()``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from nevolab import plotting
from nevolab.studies.b.analysis import (
    DECOMPOSITION,
    METHOD_LABELS,
    METHOD_STYLES,
    curvature_per_seed,
    curve_key,
    mean_sem,
)
from nevolab.studies.b.tasks import task_family, task_title


def _performance_label(task: str) -> str:
    return ("test return (mean over test episodes)" if task_family(task) == "gymnax"
            else "test accuracy (fraction correct)")


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


def task_curves(results: pd.DataFrame, tasks: Sequence[str], curves: Sequence[str], ncol: int) -> Figure:
    """One panel per task: :func:`draw_curves` of ``curves``, titled with the task and its ES strategy."""
    plotting.set_theme("paper")
    fig, axes = plotting.grid(len(tasks), panel_height=3.0)
    for ax, task in zip(axes, tasks, strict=True):
        rows = results[results.task_key == task]
        draw_curves(ax, rows, curves)
        ax.set_title(task_title(task, rows[rows.method == "ES"].strategy.iloc[0]))
        ax.set_ylabel(_performance_label(task))
    plotting.figure_legend(fig, axes, ncol=ncol)
    return plotting.finish(fig)


def aggregated_panels(panels: Sequence[tuple[pd.DataFrame | None, Sequence[str], str]]) -> Figure:
    """The aggregated panels (``(table, curves, title)``, a table of :func:`~nevolab.studies.b.analysis.
    aggregate_curves` or None where no task has the curves)."""
    fig, axes = plotting.grid(len(panels), panel_height=3.2)
    for ax, (table, curves, title) in zip(axes, panels, strict=True):
        if table is None:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "no task with a GD baseline", ha="center", va="center")
            continue
        draw_curves(ax, table, curves, by="none")
        ax.set_ylabel("normalised performance (0–1 per task)")
        ax.set_title(f"{title} ({table.tasks.max()} task{'s' if table.tasks.max() > 1 else ''})")
    plotting.figure_legend(fig, axes, ncol=2)
    return plotting.finish(fig)


def decomposition_bars(decomposition: pd.DataFrame, tasks: Sequence[str]) -> Figure:
    """Per task and round: the components' seed means as bars and the ticket effect, mean ± standard
    error over seeds, as a line."""
    plotting.set_theme("paper")
    components = [name for name, *_ in DECOMPOSITION]
    colors = {"weights": plotting.method_color("permute_values"),
              "mask positions": plotting.method_color("permute_mask"),
              "layerwise ratio": plotting.method_color("random")}
    fig, axes = plotting.grid(len(tasks), panel_height=3.0, sharey=True)
    for ax, task in zip(axes, tasks, strict=True):
        rows = decomposition[decomposition.task_key == task]
        means = rows.groupby(["round", "component"]).value.mean().unstack()
        rounds = means.index.to_numpy()
        width = 0.8 / len(components)
        for i, name in enumerate(components):
            ax.bar(rounds + (i - 1) * width, means[name], width=width, color=colors[name], label=name)
        total = mean_sem(rows[rows.component == "ticket effect"], "value", ["round"])
        ax.errorbar(total["round"], total["mean"], yerr=total["sem"], color="black", marker="o",
                    markersize=4, linewidth=1.6, capsize=3, label="ticket effect (sum)")
        ax.axhline(0, color="black", linewidth=0.6)
        remaining = rows.groupby("round").weights_remaining.first()
        ax.set_xticks(remaining.index, [f"{w:.3g}" for w in remaining])
        ax.set_xlabel("weights remaining [%]")
        ax.set_title(plotting.display_name(task))
    axes[0].set_ylabel("difference in normalised performance\n(share of the task's range)")
    plotting.figure_legend(fig, axes, ncol=4)
    return plotting.finish(fig)


TRANSFER_STYLES = {"own": "transfer_own", "random": "transfer_random", "transfer": "transfer"}
"""B5's curves and the book's line style of each."""


def transfer_panels(frame: pd.DataFrame, panels: Sequence[tuple[str, str]]) -> Figure:
    """One panel per transfer (``(id, title)``): the transfer, the target's own ticket and its random
    re-initialisation against weights remaining."""
    plotting.set_theme("paper")
    fig, axes = plotting.grid(len(panels), panel_height=3.0)
    for ax, (panel, title) in zip(axes, panels, strict=True):
        rows = frame[frame.panel == panel]
        rows = rows.assign(curve=rows.curve.map(TRANSFER_STYLES))
        draw_curves(ax, rows, list(TRANSFER_STYLES.values()))
        ax.set_title(title, fontsize=9)
        task = rows.task_key.iloc[0]
        ax.set_ylabel("test return" if task_family(task) == "gymnax" else "test accuracy")
    plotting.figure_legend(fig, axes, ncol=3)
    return plotting.finish(fig)


def kept_axis(ax: Any, kept: Sequence[float]) -> None:
    """A log axis of the share of kernels kept, dense on the left, ticks at the rounds' values."""
    ax.set_xscale("log")
    ax.set_xticks(list(kept))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(max(kept) * 1.15, min(kept) / 1.15)
    ax.set_xlabel("kernels kept (%)")


def barriers(measures: pd.DataFrame, remaining: pd.Series, threshold: float) -> Figure:
    """B6's error barriers between consecutive rounds and between seeds, per method, mean ± std."""
    plotting.set_theme("paper")
    fig, axes = plotting.grid(2, panel_height=3.0, sharey=True)
    for ax, measure, title in ((axes[0], "barrier_rounds", "round r−1 → round r"),
                               (axes[1], "barrier_seeds", "seed s → next seed, same round")):
        for method, style in METHOD_STYLES.items():
            rows = measures[(measures.measure == measure) & (measures.method == method)]
            plotting.mean_band(ax, rows, "weights_remaining", "value", style)
        ax.axhline(threshold, color="grey", linestyle=":", linewidth=1)
        kept_axis(ax, remaining)
        ax.set_title(title)
    axes[0].set_ylabel("test-error barrier")
    plotting.figure_legend(fig, axes, ncol=2)
    return plotting.finish(fig)


def sharpness(measures: pd.DataFrame, remaining: pd.Series) -> Figure:
    """B6's curvature per round (left) and the first seed's 1-D loss profiles, dense and sparsest."""
    curvature = curvature_per_seed(measures)
    profiles = measures[measures.measure == "profile"]
    last = int(remaining.index.max())
    fig, axes = plotting.grid(2, panel_height=3.0)
    for method, style in METHOD_STYLES.items():
        plotting.mean_band(axes[0], curvature[curvature.method == method], "weights_remaining", "value",
                           style)
    kept_axis(axes[0], remaining)
    axes[0].set_ylabel("curvature 2a of the test loss")
    axes[0].set_title("curvature per round")
    for method, style in METHOD_STYLES.items():
        for r, linestyle in ((0, "-"), (last, "--")):
            rows = profiles[(profiles.method == method) & (profiles["round"] == r)]
            for d, line in rows.groupby("direction"):
                axes[1].plot(line.x, line.value, color=plotting.method_color(style), linestyle=linestyle,
                             linewidth=1, alpha=0.7,
                             label=f"{METHOD_LABELS[method]}, {remaining[r]:.3g} % kept" if d == 0 else None)
    axes[1].set_xlabel("step t along a direction")
    axes[1].set_ylabel("test loss (cross-entropy)")
    axes[1].set_title("1-D profiles, first seed")
    axes[1].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    plotting.figure_legend(fig, axes[:1], ncol=2)
    return plotting.finish(fig)


def surfaces(measures: pd.DataFrame, remaining: pd.Series) -> Figure:
    """B6's 2-D loss surfaces: methods in rows, rounds in columns, the same contour levels in all."""
    surface_rows = measures[measures.measure == "surface"]
    shown = sorted(surface_rows["round"].unique())
    low, high = surface_rows.value.min(), surface_rows.value.quantile(0.95)
    levels = np.linspace(low, high, 12)
    fig, axes = plt.subplots(2, len(shown), figsize=(plotting.FIGURE_WIDTH_IN, 4.0), sharex=True,
                             sharey=True, squeeze=False)
    for i, method in enumerate(METHOD_STYLES):
        for j, r in enumerate(shown):
            grid_rows = surface_rows[(surface_rows.method == method) & (surface_rows["round"] == r)]
            surface = grid_rows.pivot_table(index="y", columns="x", values="value")
            ax = axes[i, j]
            filled = ax.contourf(surface.columns, surface.index, surface.clip(upper=high), levels=levels,
                                 cmap="viridis")
            ax.plot([0], [0], marker="+", color="white", markersize=8)
            if i == 0:
                ax.set_title(f"{remaining[r]:.3g} % kept")
            if j == 0:
                ax.set_ylabel(METHOD_LABELS[method])
            ax.set_aspect("equal")
    fig.colorbar(filled, ax=axes, shrink=0.8, label="test loss")
    return plotting.finish(fig)


def rank_correlations(correlations: pd.DataFrame, advantage: pd.DataFrame) -> Figure:
    """B7: the surviving kernels' rank correlation with round 0 (left; a dotted line at 0) and the
    relative SNR advantage."""
    plotting.set_theme("paper")
    fig, axes = plotting.grid(2, panel_height=3.0)
    for quantity, style, label in (("snr", "snr", "SNR (ES-SNR run)"),
                                   ("magnitude", "magnitude", "|θ| (ES-IMP run)")):
        rows = correlations[correlations.quantity == quantity]
        summary_rows = plotting.summarise(rows, "weights_remaining", "rho")
        plotting.band(axes[0], summary_rows.weights_remaining, summary_rows.center,
                      (summary_rows.low, summary_rows.high), style, label=label)
    axes[0].axhline(0.0, color="grey", linestyle=":", linewidth=1)
    axes[0].set_ylabel("Spearman ρ with round 0")
    axes[0].set_title("rank correlation, surviving kernels")
    spread = advantage.standard_error
    plotting.band(axes[1], advantage.weights_remaining, advantage.advantage,
                  (advantage.advantage - spread, advantage.advantage + spread), "snr",
                  label="(SNR − IMP) / SNR at round 0")
    axes[1].axhline(0.0, color="grey", linewidth=1)
    axes[1].set_ylabel("relative SNR advantage")
    axes[1].set_title("ES-SNR against ES-IMP")
    for ax in axes:
        kept_axis(ax, advantage.weights_remaining)
    plotting.figure_legend(fig, axes, ncol=3)
    return plotting.finish(fig)
