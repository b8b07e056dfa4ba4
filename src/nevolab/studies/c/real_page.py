"""What C6 shows (pure functions on its tables): its scale line, the stage-1 claims on the real
CarRacing-v3 beside C5's rows of the same claims on the racing stand-in, whether the two agree, and the
stage-1 curves per generation.

C6's claims table (:func:`nevolab.studies.c.claims.stored_real_claims`) and C5's
(:func:`nevolab.studies.c.claims.stored_pixel_claims`) test the same two claims, a lower stage-1 score and
fewer stage-1 environment steps for the factorized variant, each at the last generation and at matched
parent fitness; each page corrects a claim over its own two scopes (Holm).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from nevolab import plotting, report
from nevolab.studies.c import paper
from nevolab.studies.c.analysis import seed_band
from nevolab.studies.c.claims import MATCHED_SCOPE, PIXEL_CLAIM_TESTS, RACING_SCOPE, REAL_SCOPE

__all__ = ["COMPARISONS", "ENVIRONMENTS", "REAL_MATCHED_SCOPE", "STAGE1_KEYS", "STAGE1_PANELS",
           "agreement_line", "progress_line", "scale_line", "side_by_side", "stage1_curves"]

REAL_MATCHED_SCOPE = f"{REAL_SCOPE}, matched parent fitness"
STAGE1_KEYS = tuple(dict.fromkeys(key for key, *_ in PIXEL_CLAIM_TESTS))
"""The claims C6 tests: C5's stage-1 claims."""
COMPARISONS = {"last generation": (REAL_SCOPE, RACING_SCOPE),
               "matched parent fitness": (REAL_MATCHED_SCOPE, MATCHED_SCOPE)}
"""Each comparison both pages make: (C6's scope, C5's scope)."""
ENVIRONMENTS = ("CarRacing-v3 (C6)", "racing (C5)")
"""The two environments, as the side-by-side table names them."""


def scale_line(config: Any) -> str:
    """C6's scale next to the paper's (the paper's values from the spec)."""
    def paper(name: str) -> Any:
        return config.spec.param(name).paper

    return (f"scale (CarRacing-v3, envpool): population {config.population} (paper {paper('population')}), "
            f"{config.finalists} finalists (paper {paper('finalists')}), {config.parents} parents (paper "
            f"{paper('parents')}), {config.generations} generations (paper {paper('generations')}), "
            f"episodes of at most {config.max_steps} frames (paper {paper('max_steps')}), 64×64 RGB as the "
            f"paper, {config.seeds} seeds per variant (paper {paper('seeds')})")


def _row(table: pd.DataFrame, key: str, scope: str) -> pd.Series | None:
    """The row of claim ``key`` in ``scope``, or None."""
    if table.empty:
        return None
    rows = table[(table.claim == key) & (table.scope == scope)]
    return rows.iloc[0] if len(rows) else None


def _cells(row: pd.Series | None) -> dict[str, str]:
    """One claims row as the side-by-side table shows it ("–" where the page has no such row: no run, or
    no parent level both variants reach)."""
    if row is None:
        return {"factorized / dense mean": "–", "shift [95% CI]": "–", "Cliff's δ": "–", "Holm p": "–",
                "verdict": "–"}
    return {"factorized / dense mean": f"{row.factorized_mean:,.1f} / {row.dense_mean:,.1f}",
            "shift [95% CI]": report.interval(row.effect, row.low, row.high, 1),
            "Cliff's δ": report.number(row.cliffs_delta, 2), "Holm p": report.p_value(row.p_holm),
            "verdict": row.verdict}


def side_by_side(real: pd.DataFrame, racing: pd.DataFrame) -> pd.DataFrame:
    """Per stage-1 claim and comparison (last generation, matched parent fitness), the real CarRacing-v3's
    row (``real``, C6's claims table) above racing's (``racing``, C5's): the two variants' means, the
    shift in the task's own units, Cliff's δ (unitless: comparable across the two), Holm p and verdict."""
    shown = []
    for key in STAGE1_KEYS:
        for comparison, scopes in COMPARISONS.items():
            for environment, table, scope in zip(ENVIRONMENTS, (real, racing), scopes):
                shown.append({"claim": key, "comparison": comparison, "environment": environment,
                              **_cells(_row(table, key, scope))})
    return pd.DataFrame(shown)


def agreement_line(real: pd.DataFrame, racing: pd.DataFrame) -> str:
    """Whether the racing stand-in gives the real CarRacing-v3's verdicts, in one sentence."""
    pairs = [(key, comparison, _row(real, key, real_scope), _row(racing, key, racing_scope))
             for key in STAGE1_KEYS for comparison, (real_scope, racing_scope) in COMPARISONS.items()]
    both = [(key, comparison, ours.verdict, theirs.verdict) for key, comparison, ours, theirs in pairs
            if ours is not None and theirs is not None]
    if not both:
        return "No comparison: C5's or C6's rows of the stage-1 claims are missing."
    differ = [f"{key} at {comparison} ({ours} on CarRacing-v3, {theirs} on racing)"
              for key, comparison, ours, theirs in both if ours != theirs]
    same = len(both) - len(differ)
    if not differ:
        return (f"The racing stand-in gives the real CarRacing-v3's verdict in {same} of {len(both)} "
                "comparisons both pages make.")
    return (f"The racing stand-in gives the real CarRacing-v3's verdict in {same} of {len(both)} "
            f"comparisons; they differ on {report.joined(differ)}.")


def progress_line(outcomes: pd.DataFrame, variants: Sequence[str], labels: Mapping[str, str]) -> str:
    """How far the runs got: the last generation against the paper's, and the best finalists' mean score
    per variant against a lap's worth (CarRacing-v3 pays 1000 points per track, less 0.1 a frame)."""
    generation = int(outcomes.generation.max()) + 1
    means = outcomes.groupby("variant").best_score.mean()
    scores = report.joined([f"{means[v]:,.0f} ({labels[v]})" for v in variants if v in means.index])
    return (f"The runs end at generation {generation}, the paper's at {paper.PAPER_GENERATIONS}. There the "
            f"best finalists score {scores} on average over seeds; a whole lap of CarRacing-v3 is worth 1000 "
            "points, less 0.1 a frame.")


STAGE1_PANELS = {"best_score": "best finalist's score", "stage1_mean_score": "stage-1 mean score",
                 "stage1_steps": "stage-1 environment steps"}
"""C6's figure: one panel per column, against generation."""


def stage1_curves(results: pd.DataFrame, variants: Sequence[str], labels: Mapping[str, str]) -> Figure:
    """Per generation, mean over seeds with a 95% interval (1.96 SEM) per variant: the best finalist's
    score, the stage-1 mean score and the stage-1 environment steps."""
    import matplotlib.pyplot as plt

    size = (plotting.FIGURE_WIDTH_IN, 2.6 * len(STAGE1_PANELS))
    fig, axes = plt.subplots(len(STAGE1_PANELS), 1, figsize=size, layout="constrained", sharex=True)
    for ax, (column, label) in zip(axes, STAGE1_PANELS.items()):
        for variant in variants:
            mean, low, high = seed_band(results[results.variant == variant], "generation", column)
            plotting.band(ax, mean.index + 1, mean, (low, high), variant, label=labels[variant])
        ax.set_ylabel(label)
    axes[-1].set_xlabel("generation")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=len(variants),
               frameon=False)
    return plotting.finish(fig)
