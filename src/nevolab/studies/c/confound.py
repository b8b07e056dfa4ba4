"""Mutation effects compared at matched fitness instead of at equal generation.

The variants start at different losses (the dense network's N(0, 1) tied embedding puts it several
nats below the uniform guess, the factorized ones start at it), so at a given generation a dense run
may still be climbing steeply while a factorized one has plateaued. How often a mutation hurts depends
on where on the landscape the parent sits, so comparing the deleterious fraction of the last
generations mixes that with the encoding. Here each generation is placed at its **parents' fitness**
and the comparison is made over a band of fitness every compared run passes through.

Definitions (on the per-generation curves table of :func:`nevolab.studies.c.runs.cached_evolve`):

* the *fitness level* of generation ``g >= 1`` is ``best_neg_ce`` of generation ``g - 1``: its children
  are one-mutation clones of that generation's elites, whose best has that fitness (generation 0 has
  no parents and no level);
* a run's *range* is ``[min, max]`` of its levels; the *common window* of a set of runs is the band
  every one of them passes through, ``[max of the minima, min of the maxima]`` (empty when the largest
  minimum exceeds the smallest maximum: some run never reaches where another starts);
* a run's matched-fitness outcome is the mean, over its generations whose level lies in the window
  (ends included), of ``deleterious_fraction`` and ``deleterious_magnitude``; every such generation
  counts once. A run that jumps across the whole window in one generation has none (NaN).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "MATCHED_COLUMNS",
    "common_fitness_window",
    "fitness_levels",
    "matched_fitness_outcomes",
    "outcomes_by_fitness",
]

MATCHED_COLUMNS = ["variant", "seed", "window_low", "window_high", "generations", "first_generation",
                   "last_generation", "mean_level", "deleterious_fraction", "deleterious_magnitude"]
"""The columns of :func:`matched_fitness_outcomes`."""

_EFFECTS = ["deleterious_fraction", "deleterious_magnitude"]


def _select(curves: pd.DataFrame, variants: Sequence[str] | None) -> pd.DataFrame:
    if variants is None:
        return curves
    missing = sorted(set(variants) - set(curves.variant))
    if missing:
        present = sorted(set(curves.variant))
        raise ValueError(f"variants {missing} are not in the curves table (it has {present})")
    return curves[curves.variant.isin(variants)]


def fitness_levels(curves: pd.DataFrame) -> pd.DataFrame:
    """The rows of generations with parents (``generation >= 1``) with their ``fitness_level``: the
    previous generation's ``best_neg_ce`` in the same (variant, seed) run."""
    ordered = curves.sort_values(["variant", "seed", "generation"])
    previous = ordered.groupby(["variant", "seed"], sort=False).best_neg_ce.shift(1)
    consecutive = ordered.groupby(["variant", "seed"], sort=False).generation.diff() == 1
    levelled = ordered.assign(fitness_level=previous.where(consecutive))
    return levelled[levelled.generation >= 1].dropna(subset=["fitness_level"]).reset_index(drop=True)


def common_fitness_window(curves: pd.DataFrame, variants: Sequence[str] | None = None) -> tuple[float, float]:
    """``(low, high)``: the band of fitness levels every (variant, seed) run of ``variants`` (default:
    all in the table) passes through; ``low > high`` when there is none."""
    levels = fitness_levels(_select(curves, variants))
    if levels.empty:
        return float("nan"), float("nan")
    ranges = levels.groupby(["variant", "seed"]).fitness_level.agg(["min", "max"])
    return float(ranges["min"].max()), float(ranges["max"].min())


def matched_fitness_outcomes(curves: pd.DataFrame, variants: Sequence[str] | None = None,
                             window: tuple[float, float] | None = None) -> pd.DataFrame:
    """One row per (variant, seed) of ``variants`` (default: all in the table): the deleterious
    fraction and magnitude averaged over the generations whose fitness level lies in ``window``
    (default: :func:`common_fitness_window` of these runs); columns :data:`MATCHED_COLUMNS`."""
    chosen = _select(curves, variants)
    low, high = common_fitness_window(chosen) if window is None else window
    levels = fitness_levels(chosen)
    rows = []
    for (variant, seed), run in levels.groupby(["variant", "seed"], sort=False):
        # no generation is inside an empty (or NaN) window
        inside = run[(run.fitness_level >= low) & (run.fitness_level <= high)]
        rows.append({
            "variant": variant, "seed": seed, "window_low": low, "window_high": high,
            "generations": len(inside),
            "first_generation": inside.generation.min() if len(inside) else np.nan,
            "last_generation": inside.generation.max() if len(inside) else np.nan,
            "mean_level": inside.fitness_level.mean(),
            # a generation without deleterious children has no magnitude: skip it, not count it as 0
            **{column: inside[column].mean() for column in _EFFECTS},
        })
    return pd.DataFrame(rows, columns=MATCHED_COLUMNS)


def outcomes_by_fitness(curves: pd.DataFrame, edges: Sequence[float]) -> pd.DataFrame:
    """Per (variant, seed, fitness bin): the mean deleterious fraction and magnitude of the generations
    whose level falls in the bin (``edges`` ascending, bins ``[e_i, e_i+1)``), with ``generations``
    and the bin's ``low``, ``high`` and ``center``; bins a run never visits are left out."""
    edges = np.asarray(edges, float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be at least two strictly increasing values")
    levels = fitness_levels(curves)
    bins = np.searchsorted(edges, levels.fitness_level.to_numpy(), side="right") - 1
    inside = (bins >= 0) & (bins < edges.size - 1)
    levels = levels[inside].assign(bin=bins[inside])
    table = (levels.groupby(["variant", "seed", "bin"], sort=False)
             .agg(generations=("generation", "size"), **{c: (c, "mean") for c in _EFFECTS})
             .reset_index())
    return table.assign(low=edges[table["bin"]], high=edges[table["bin"] + 1],
                        center=(edges[table["bin"]] + edges[table["bin"] + 1]) / 2)
