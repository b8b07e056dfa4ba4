"""Study C's figures: each page's plot drawn from its tables (the numbers come from
:mod:`nevolab.studies.c.analysis`; styles, bands and the legibility check from :mod:`nevolab.plotting`).
Every figure is column wide: the page shows it unscaled, and :func:`nevolab.plotting.finish` checks
every text's size."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nevolab import plotting
from nevolab.studies.c.analysis import cdf_points, seed_band

__all__ = ["effect_panels", "first_last_cdfs", "heldout_panels", "lm_curves", "matched_fitness_panels",
           "pixel_scores", "policy_strips", "stage_violins"]

WIDTH = plotting.FIGURE_WIDTH_IN


def _variant_bands(ax: Axes, table: pd.DataFrame, x: str, column: str, variants: Sequence[str],
                   labels: Mapping[str, str], log: bool = False) -> None:
    """One band per variant: mean over seeds with 1.96 SEM at each ``x`` (geometric on a log axis)."""
    for variant in variants:
        mean, low, high = seed_band(table[table.variant == variant], x, column, log=log)
        plotting.band(ax, mean.index, mean, (low, high), variant, label=labels[variant])
    if log:
        ax.set_yscale("log")


def _uniform_line(ax: Axes, uniform: float, vocab_size: int, vertical: bool = False) -> None:
    if vertical:
        ax.axvline(uniform, color=plotting.OKABE_ITO["grey"], linestyle=":", linewidth=1.4,
                   label=f"uniform guess, −ln {vocab_size}")
    else:
        ax.axhline(uniform, color=plotting.OKABE_ITO["grey"], linestyle=":", linewidth=1.4,
                   label=f"uniform guess, −ln {vocab_size} = −{-uniform:.2f}")


def lm_curves(ga: pd.DataFrame, adam: pd.DataFrame, variants: Sequence[str], labels: Mapping[str, str],
              uniform: float, vocab_size: int, generations: int) -> Figure:
    """C1: best negative cross-entropy against the token budget, every variant and Adam; bottom: the
    same zoomed in on the uniform guess."""
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH, 8.4), layout="constrained", sharex=True)
    for ax in axes:
        for name, table in [*((v, ga[ga.variant == v]) for v in variants), ("adam", adam)]:
            mean, low, high = seed_band(table, "budget_generations", "best_neg_ce", dropna=False)
            plotting.band(ax, mean.index, mean, (low, high), name, label=labels[name])
        _uniform_line(ax, uniform, vocab_size)
        ax.set_ylabel("negative cross-entropy (nats)")
        ax.set_xlim(0, generations)
    axes[1].set_xlabel("generation (token budget of one GA generation)")
    final_values = ga[ga.generation == ga.generation.max()].best_neg_ce
    axes[1].set_ylim(min(uniform, final_values.min()) - 0.4, max(final_values.max(), uniform) + 0.4)
    axes[0].set_title("best individual per generation")
    axes[1].set_title("zoom on the uniform guess")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=1, fontsize=10)
    return plotting.finish(fig)


def heldout_panels(table: pd.DataFrame, names: Sequence[str], labels: Mapping[str, str], uniform: float,
                   vocab_size: int, generations: int) -> Figure:
    """C1: per variant (and Adam), the best individual's negative cross-entropy on the training windows
    (solid) beside the held-out windows (markers, every scoring), against the token budget; ``labels``
    short enough for a half-width title."""
    columns = 2
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(WIDTH, 2.6 * rows + 0.9), layout="constrained",
                             sharex=True, squeeze=False)  # own y axes: the variants start far apart
    grey, heldout_color = plotting.OKABE_ITO["grey"], plotting.OKABE_ITO["vermillion"]  # no variant's colour
    for ax, name in zip(axes.flat, names):
        runs = table[table.variant == name]
        color = plotting.style_of(name).color
        mean, low, high = seed_band(runs, "budget_generations", "best_neg_ce", dropna=False)
        ax.plot(mean.index, mean, color=color, linewidth=1.8, label="training windows")
        ax.fill_between(mean.index, low, high, color=color, alpha=0.2, linewidth=0)
        mean, low, high = seed_band(runs, "budget_generations", "heldout_neg_ce")
        ax.errorbar(mean.index, mean, yerr=(mean - low, high - mean), color=heldout_color, marker="o",
                    markersize=3.5, linestyle="--", linewidth=1.0, capsize=0,
                    errorevery=max(1, len(mean) // 20), label="held-out windows")
        ax.axhline(uniform, color=grey, linestyle=":", linewidth=1.4,
                   label=f"uniform guess, −ln {vocab_size}")
        ax.set_title(labels[name], fontsize=10)
        ax.set_xlim(0, generations)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("−CE (nats)")
    for ax in axes[-1]:
        ax.set_xlabel("generation")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=9)
    return plotting.finish(fig)


def first_last_cdfs(children: pd.DataFrame, variants: Sequence[str], short: Mapping[str, str]) -> Figure:
    """C2 (a, b): the distribution of child − parent fitness in the first and last recorded generation."""
    first, final = children.generation.min(), children.generation.max()
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH, 7.6), layout="constrained", sharex=True)
    for ax, generation in zip(axes, [first, final]):
        subset = children[children.generation == generation]
        for variant in variants:
            values = subset[subset.variant == variant].delta_fitness
            if values.size == 0:
                continue
            x, y, share = cdf_points(values)
            style = plotting.style_of(variant)
            ax.step(x, y, where="post", color=style.color, linestyle=style.linestyle,
                    label=f"{short[variant]}: {share:.0%} deleterious")
        ax.axvline(0, color=plotting.OKABE_ITO["grey"], linestyle=":", linewidth=1.2)
        ax.set_xscale("symlog", linthresh=1e-3)
        ax.set_ylabel("fraction of children ≤ x")
        ax.set_title(f"({'a' if generation == first else 'b'}) children evaluated in generation {generation}")
        ax.legend(loc="upper left", fontsize=10)
    axes[1].set_xlabel("child − parent negative cross-entropy (nats)")
    return plotting.finish(fig)


def effect_panels(table: pd.DataFrame, x: str, xlabel: str, letters: str, variants: Sequence[str],
                  labels: Mapping[str, str]) -> Figure:
    """C2: deleterious fraction (top) and size (bottom, geometric mean over seeds) against ``x``."""
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH, 8.0), layout="constrained", sharex=True)
    _variant_bands(axes[0], table, x, "deleterious_fraction", variants, labels)
    axes[0].set_ylabel("fraction of children\nworse than their parent")
    axes[0].set_title(f"({letters[0]}) deleterious fraction")
    _variant_bands(axes[1], table, x, "deleterious_magnitude", variants, labels, log=True)
    axes[1].set_ylabel("mean loss increase of\ndeleterious children (nats)")
    axes[1].set_title(f"({letters[1]}) size of a deleterious mutation (geometric mean over seeds)")
    axes[1].set_xlabel(xlabel)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=1, fontsize=10)
    return plotting.finish(fig)


def matched_fitness_panels(by_fitness: pd.DataFrame, variants: Sequence[str], labels: Mapping[str, str],
                           short: Mapping[str, str], uniform: float, vocab_size: int,
                           matched: Sequence[str], window: tuple[float, float] | None,
                           zoom: tuple[float, float] | None) -> Figure:
    """C2 (e, f, g): the mutation effects against the parents' fitness, with the uniform guess and the
    common window of the matched comparison."""
    fig, axes = plt.subplots(3, 1, figsize=(WIDTH, 11.0), layout="constrained")
    _variant_bands(axes[0], by_fitness, "center", "deleterious_fraction", variants, labels)
    _variant_bands(axes[1], by_fitness, "center", "deleterious_fraction", variants, labels)
    _variant_bands(axes[2], by_fitness, "center", "deleterious_magnitude", variants, labels, log=True)
    for ax, title in zip(axes, ["(e) deleterious fraction", "(f) deleterious fraction, zoomed in",
                                "(g) size of a deleterious mutation (geometric mean over seeds)"]):
        ax.set_title(title)
        _uniform_line(ax, uniform, vocab_size, vertical=True)
        if window is not None and window[0] <= window[1]:
            ax.axvspan(*window, color=plotting.OKABE_ITO["yellow"], alpha=0.3, linewidth=0,
                       label="common window: " + ", ".join(short[v] for v in matched))
    for ax in axes[:2]:
        ax.set_ylabel("fraction of children\nworse than their parent")
    axes[2].set_ylabel("mean loss increase of\ndeleterious children (nats)")
    if zoom is not None:
        axes[1].set_xlim(*zoom)
        shown = by_fitness[(by_fitness.center >= zoom[0]) & (by_fitness.center <= zoom[1])]
        fraction = shown.deleterious_fraction
        axes[1].set_ylim(fraction.min() - 0.05, min(1.02, fraction.max() + 0.05))
    axes[2].set_xlabel("parents' fitness: best negative cross-entropy of the previous generation (nats)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=1, fontsize=10)
    return plotting.finish(fig)


def pixel_scores(results: pd.DataFrame, tasks: Sequence[str], variants: Sequence[str],
                 task_names: Mapping[str, str]) -> Figure:
    """C4: the best finalist's score per generation, one panel per task, mean over seeds with 95%."""
    fig, axes = plt.subplots(len(tasks), 1, figsize=(WIDTH, 3.6 * len(tasks)), layout="constrained",
                             squeeze=False)
    for ax, task in zip(axes[:, 0], tasks):
        for variant in variants:
            runs = results[(results.task == task) & (results.variant == variant)]
            mean, low, high = seed_band(runs, "generation", "best_score", dropna=False)
            plotting.band(ax, mean.index + 1, mean, (low, high), variant)
        ax.set_title(task_names[task])
        ax.set_xlabel("generation")
        ax.set_ylabel("best finalist's score")
    axes[0, 0].legend(loc="lower right", fontsize=10)
    return plotting.finish(fig)


def policy_strips(strips: Mapping[str, np.ndarray], scores: Mapping[str, float],
                  labels: Mapping[str, str]) -> Figure:
    """C4: one episode strip per variant, titled with its selection score."""
    fig, axes = plt.subplots(len(strips), 1, layout="constrained", squeeze=False,
                             figsize=(WIDTH, 1.6 * len(strips)))
    for ax, (variant, strip) in zip(axes[:, 0], strips.items()):
        ax.imshow(strip, cmap="gray", vmin=0, vmax=1)
        ax.set_axis_off()
        ax.set_title(f"{labels[variant]}: selection score {scores[variant]:.0f}", fontsize=10)
    return plotting.finish(fig)


def stage_violins(long: pd.DataFrame, order: Sequence[str]) -> Figure:
    """C5: per variant, split violins of stage 1 | stage 2: mean score, steps and seconds."""
    import seaborn as sns

    fig, axes = plt.subplots(3, 1, figsize=(WIDTH, 9.6), layout="constrained", sharex=True)
    for ax, (column, label) in zip(axes, [("mean_score", "mean score"), ("steps", "environment steps"),
                                          ("time_s", "evaluation time (s)")]):
        sns.violinplot(data=long, x="variant", y=column, hue="stage", split=True, inner="point", cut=0,
                       order=list(order), ax=ax,
                       palette=[plotting.OKABE_ITO["sky_blue"], plotting.OKABE_ITO["orange"]])
        ax.set_ylabel(label)
        ax.set_xlabel("")
        ax.legend(loc="upper right", fontsize=10)
    axes[0].set_title("last generation, per seed")
    return plotting.finish(fig)
