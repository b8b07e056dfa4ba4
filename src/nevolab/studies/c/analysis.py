"""What Study C's pages compute from their tables: pure functions on DataFrames (no runs, no store).

* the scale lines a page prints, with the paper's values read from the spec;
* C1: the table of curves and the Adam reference, the starting points, genome sizes, the final summary;
* C2: a mutation's effect per variant and generation, the fitness bins, equal generation vs matched
  fitness;
* C4/C5: the last generation's scores, the stage summary, the stage-1 saving and the reading of C5's
  verdicts;
* every page: its rows of a claims table, with the paper's statistics beside the verdict;
* :func:`seed_band`: the mean over seeds with a 95% interval, the curves of every band plot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nevolab import report
from nevolab.studies.c import paper
from nevolab.studies.c.claims import (
    CLAIMS,
    discrete_task,
    kruskal_wallis,
    last_generation,
    per_seed_outcomes,
    runtime_saving,
)
from nevolab.studies.c.confound import common_fitness_window, matched_fitness_outcomes, outcomes_by_fitness
from nevolab.studies.c.pixel_tasks import ENVPOOL_PIXEL_TASKS, RACING

__all__ = [
    "CHILDREN_FORMAT",
    "STAGE_COLUMNS",
    "c1_table",
    "children_summary",
    "claim_statements",
    "equal_final_line",
    "equal_vs_matched",
    "final_summary",
    "fitness_bins",
    "genome_size_table",
    "heldout_reading",
    "heldout_table",
    "last_generation_rows",
    "lm_scale_line",
    "matched_saving_line",
    "matched_summary",
    "matched_window",
    "paper_stage_line",
    "pixel_scale_lines",
    "population_reach_line",
    "reading_lines",
    "saving_table",
    "seed_band",
    "select_claims",
    "shown_claims",
    "shown_comparison",
    "stage_reading",
    "stage_summary",
    "start_table",
    "timing_line",
    "zoom_range",
]

FACTORIZED = ("lowrank", "rank1")
COMPARATORS = ("dense", "dense_matched", "small")
MATCHED = ("lowrank", "rank1", "dense_matched")
EFFECTS = ("deleterious_fraction", "deleterious_magnitude")


def _paper(config: Any, name: str) -> Any:
    return config.spec.param(name).paper


def lm_scale_line(config: Any) -> str:
    """C1–C3's scale line: the run parameters next to the paper's (from the spec)."""
    return (f"scale: population {config.population} (paper {_paper(config, 'population')}), "
            f"{config.generations} generations (paper {_paper(config, 'generations')}), "
            f"{config.num_sequences} windows of {config.sequence_length} {config.tokenizer} tokens "
            f"(paper: {paper.LM_DATA}), {config.seeds} seeds per variant")


def pixel_scale_lines(config: Any, image: bool = True) -> list[str]:
    """C4/C5's scale lines (racing, or envpool's CarRacing-v3 without racing; MinAtar or Atari when a page
    runs a discrete-action task, alone when it runs nothing else) next to the paper's values; ``image``:
    with the racing image's side (racing's line only)."""
    side, size = _paper(config, "obs_size"), config.obs_size
    picture = f"{size}×{size} grayscale (paper {side}×{side} RGB), " if image else ""
    discrete = [task for task in config.tasks if discrete_task(task)]
    if image and RACING not in config.tasks:  # envpool's CarRacing-v3 sees what the paper's does
        picture = f"{side}×{side} RGB as the paper, "
    label = "racing" if RACING in config.tasks or not image else "CarRacing-v3"
    racing = (f"scale ({label}): population {config.population} (paper {_paper(config, 'population')}), "
              f"{config.finalists} finalists (paper {_paper(config, 'finalists')}), "
              f"{config.parents} parents (paper {_paper(config, 'parents')}), "
              f"{config.generations} generations (paper {_paper(config, 'generations')}), "
              f"episodes of at most {config.max_steps} frames (paper {_paper(config, 'max_steps')}), "
              f"{picture}{config.seeds} seeds per variant (paper {_paper(config, 'seeds')})")
    if not image or not discrete:
        return [racing]
    kinds = " and ".join(dict.fromkeys("Atari" if task in ENVPOOL_PIXEL_TASKS else "MinAtar"
                                       for task in discrete))
    lines = [racing] if len(discrete) < len(config.tasks) else []
    return [*lines, f"scale ({kinds}): population {config.atari_population} (paper "
                    f"{_paper(config, 'atari_population')}), truncation {config.atari_parents} (paper "
                    f"{_paper(config, 'atari_parents')}), {config.atari_generations} generations (paper "
                    f"{_paper(config, 'atari_generations')}), episodes of at most {config.atari_max_steps} "
                    f"steps (paper {_paper(config, 'atari_max_steps')})"]


def seed_band(table: pd.DataFrame, x: str, column: str, log: bool = False, dropna: bool = True
              ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(mean, low, high)`` over the rows at each ``x``: the mean with a 95% interval (1.96 SEM, as the
    paper's plot script; 0 where one row); ``log``: of log10 and back (a geometric mean)."""
    rows = table.dropna(subset=[column]) if dropna else table
    values = np.log10(rows[column]) if log else rows[column]
    grouped = values.groupby(rows[x])
    mean, half = grouped.mean(), 1.96 * grouped.sem().fillna(0.0)
    if log:
        return 10 ** mean, 10 ** (mean - half), 10 ** (mean + half)
    return mean, mean - half, mean + half


# --- C1 -------------------------------------------------------------------------------------------


def c1_table(curves: pd.DataFrame, adam: pd.DataFrame, tokens_per_generation: int) -> pd.DataFrame:
    """C1's table: the GA curves and the Adam reference (as variant ``adam``, its steps as generations),
    each row placed at its token budget in GA generations (``budget_generations``)."""
    adam = pd.DataFrame({"variant": "adam", "seed": adam.seed, "generation": adam.step,
                         "best_neg_ce": adam.neg_ce, "heldout_neg_ce": adam.heldout_neg_ce,
                         "tokens_evaluated": adam.tokens_evaluated})
    table = pd.concat([curves, adam], ignore_index=True)
    table["budget_generations"] = table.tokens_evaluated / tokens_per_generation
    return table


def heldout_table(table: pd.DataFrame, names: Sequence[str], labels: Mapping[str, str]) -> pd.DataFrame:
    """Per variant (and ``adam``), at its last held-out scoring: the best individual's negative
    cross-entropy on the training windows and on the held-out ones (mean and sd over seeds), and the
    gap between them (training minus held-out: how much of the fit is memorisation)."""
    rows = []
    for name in names:
        scored = table[(table.variant == name) & table.heldout_neg_ce.notna()]
        if scored.empty:
            continue
        last = scored[scored.generation == scored.generation.max()]
        gap = last.best_neg_ce - last.heldout_neg_ce
        rows.append({"": labels[name], "scored at (generation; Adam: step)": int(last.generation.iloc[0]),
                     "training −CE": last.best_neg_ce.mean(), "held-out −CE": last.heldout_neg_ce.mean(),
                     "held-out sd": last.heldout_neg_ce.std(), "gap (training − held-out)": gap.mean(),
                     "gap sd": gap.std()})
    return pd.DataFrame(rows).set_index("")


def heldout_reading(heldout: pd.DataFrame, adam_label: str) -> str:
    """One sentence from :func:`heldout_table`: the Deep GA variants' train-minus-held-out gap beside
    Adam's at the last scoring."""
    gap = heldout["gap (training − held-out)"]
    ga = gap.drop(adam_label, errors="ignore")
    parts = []
    if not ga.empty:
        parts.append(f"the Deep GA variants' best individuals score {ga.min():.2f}–{ga.max():.2f} nats "
                     "worse on the held-out windows than on the training ones")
    if adam_label in gap.index:
        parts.append(f"Adam's parameters {gap[adam_label]:.2f} nats worse "
                     f"(training −CE {heldout.loc[adam_label, 'training −CE']:.2f})")
    return ("At the last scoring, " + "; ".join(parts) + ".") if parts else "No held-out scoring."


def start_table(ga: pd.DataFrame, variants: Sequence[str], embedding_stds: Mapping[str, float],
                uniform: float, labels: Sequence[str]) -> pd.DataFrame:
    """Where the runs start: per variant, the embedding's init std, generation 0's best (mean and sd
    over seeds), the population's mean and the best's distance to the uniform guess."""
    starts = ga[ga.generation == 0].groupby("variant")
    table = pd.DataFrame({
        "embedding init std": dict(embedding_stds),
        "best −CE, generation 0": starts.best_neg_ce.mean(),
        "sd over seeds": starts.best_neg_ce.std(),
        "population mean −CE": starts.mean_neg_ce.mean(),
    }).reindex(variants)
    table["best − uniform guess"] = table["best −CE, generation 0"] - uniform
    table.index = list(labels)
    return table


def genome_size_table(last: pd.DataFrame, variants: Sequence[str], labels: Mapping[str, str],
                      paper_sizes: pd.DataFrame) -> pd.DataFrame:
    """Per variant: parameters, genes and the bytes of a genome as network, genes and measured seed list
    (mean over seeds at the last generation), beside ``paper_sizes`` (indexed by variant)."""
    rows = []
    for variant in variants:
        run = last[last.variant == variant]
        seed_bytes = 8 * run.best_seed_length.mean()
        params, genes = int(run.num_params.iloc[0]), int(run.num_genes.iloc[0])
        rows.append({"variant": labels[variant], "parameters": params, "evolved genes": genes,
                     "network bytes": 4 * params, "gene bytes": 4 * genes, "seed-list bytes": seed_bytes,
                     "network / seed list": 4 * params / seed_bytes,
                     "paper: parameters": paper_sizes.num_params[variant],
                     "paper: genes": paper_sizes.num_genes[variant],
                     "paper: seed-list bytes": paper_sizes.seed_list_bytes[variant],
                     "paper: network / seed list": paper_sizes.compression[variant]})
    return pd.DataFrame(rows).set_index("variant")


def final_summary(ga: pd.DataFrame, adam: pd.DataFrame, variants: Sequence[str], uniform: float
                  ) -> pd.DataFrame:
    """Per variant: the best −CE at generation 0 and at the last generation (mean, sd, seeds), with
    Adam on the same token budget and the uniform guess for scale."""
    last = ga[ga.generation == ga.generation.max()]
    adam_final = adam[adam.generation == adam.generation.max()].best_neg_ce
    adam_start = adam[adam.generation == 0].best_neg_ce
    start = ga[ga.generation == 0].groupby("variant").best_neg_ce.mean()
    summary = last.groupby("variant").best_neg_ce.agg(["mean", "std", "count"]).reindex(variants)
    summary.insert(0, "start", start.reindex(variants))
    summary.loc["adam (same token budget)"] = [adam_start.mean(), adam_final.mean(), adam_final.std(),
                                              adam_final.size]
    summary.loc["uniform guess"] = [uniform, uniform, 0.0, np.nan]
    return summary.rename(columns={"start": "generation 0 (mean)", "mean": "final best −CE (mean)",
                                   "std": "sd", "count": "seeds"})


# --- claims rows ----------------------------------------------------------------------------------


def select_claims(claims: pd.DataFrame, final_fitness: bool | None = None,
                  keys: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of a claims table a page shows: those of ``keys``, or the language-model claims on the
    final fitness (``final_fitness=True``) or on the mutation effects (False)."""
    if keys is None:
        keys = {key for key, metric, *_ in CLAIMS if (metric == "final_neg_ce") == final_fitness}
    return claims[claims.claim.isin(keys)] if not claims.empty else claims


def shown_claims(claims: pd.DataFrame, digits: int = 3, kruskal: bool = False) -> pd.DataFrame:
    """A claims table as a page shows it: the compact verdict columns, then the paper's statistics
    (Kruskal–Wallis p where ``kruskal``, the rank-sum p and Glass's Δ)."""
    shown = report.compact(claims, digits=digits)
    below = claims.below_scale.fillna("") if "below_scale" in claims else pd.Series("", index=claims.index)
    if (below != "").any():
        shown["below the claim's scale"] = below.replace("", "–").to_numpy()
    if kruskal:
        shown["Kruskal–Wallis p (paper)"] = claims.kruskal_p.map(report.p_value)
    shown["rank-sum p (paper)"] = claims.ranksums_p.map(report.p_value)
    shown["Glass's Δ (paper)"] = claims.glass_delta.map(lambda v: report.number(v, 2))
    return shown


def reading_lines(claims: pd.DataFrame) -> str:
    """C3's reading of its claims table: the seeds, the smallest possible p, one sentence per claim."""
    n = claims.n.iloc[0]
    sizes = claims.groupby(["claim", "mode"], sort=False).size()
    tests = f"{sizes.min()}" if sizes.min() == sizes.max() else f"{sizes.min()} to {sizes.max()}"
    lines = [f"Seeds per variant: {n}. The smallest one-sided Mann–Whitney p at this n is "
             f"{report.p_value(claims.min_p.min())}. Holm corrects each claim over its own scopes ({tests} "
             "tests per claim here, wherever the claim is shown), so a claim's smallest p must lie below α "
             "divided by its number of tests."]
    lines += ["- " + report.describe(row) for _, row in claims.iterrows()]
    return "\n".join(lines)


def claim_statements(claims: Sequence[report.PaperClaim]) -> pd.DataFrame:
    """The claims as the paper words them: per claim, the paper's sentence, how we test it, its margin
    with the margin's source (ours labelled), and the run settings it needs with why ("–": none)."""
    def needs(claim: report.PaperClaim) -> str:
        if not claim.scale:
            return "–"
        return "; ".join(f"{name} {value:g}" for name, value in claim.scale) + f" ({claim.scale_reason})"

    return pd.DataFrame([{"claim": c.key, "the paper says": f"“{c.sentence}”",
                          "tested as": c.operationalisation,
                          "margin (its source)": f"{c.margin} ({c.margin_source})", "needs": needs(c)}
                         for c in claims])


# --- C2 -------------------------------------------------------------------------------------------


CHILDREN_FORMAT = {"children": "{:.0f}", "deleterious fraction": "{:.1%}", "median Δ": "{:+.2e}",
                   "mean Δ of deleterious": "{:+.2e}", "5% quantile Δ": "{:+.2e}"}
"""How C2 formats :func:`children_summary`."""


def cdf_points(values: pd.Series) -> tuple[np.ndarray, np.ndarray, float]:
    """``(sorted values, cumulative fraction, fraction below 0)`` of one variant's child effects."""
    ordered = np.sort(np.asarray(values))
    return ordered, np.arange(1, ordered.size + 1) / ordered.size, float(np.mean(ordered < 0))


def _children_row(children: pd.DataFrame) -> pd.Series:
    return pd.Series({
        "children": len(children),
        "deleterious fraction": children.deleterious.mean(),
        "median Δ": children.delta_fitness.median(),
        "mean Δ of deleterious": children.delta_fitness[children.deleterious].mean(),
        "5% quantile Δ": children.delta_fitness.quantile(0.05),
    })


def children_summary(children: pd.DataFrame, generations: Sequence[int], variants: Sequence[str]
                     ) -> pd.DataFrame:
    """Per (variant, generation of ``generations``), all seeds pooled: children, deleterious fraction,
    median effect, mean effect of the deleterious ones and the 5% quantile."""
    return (children[children.generation.isin(list(generations))]
            .groupby(["variant", "generation"])
            .apply(_children_row, include_groups=False)
            .reindex(variants, level="variant"))


def matched_window(curves: pd.DataFrame, variants: Sequence[str]
                   ) -> tuple[list[str], tuple[float, float] | None]:
    """The variants of the matched comparison on this page and their common fitness window (None
    with fewer than two of them)."""
    matched = [v for v in MATCHED if v in variants]
    return matched, (common_fitness_window(curves, matched) if len(matched) >= 2 else None)


def fitness_bins(curves: pd.DataFrame, seeds: int, width: float = 0.1) -> pd.DataFrame:
    """:func:`~nevolab.studies.c.confound.outcomes_by_fitness` in ``width``-nat bins over the runs'
    range, kept where at least two seeds (or all, if fewer) visit a bin."""
    edges = np.arange(np.floor(curves.best_neg_ce.min() * 10) / 10, curves.best_neg_ce.max() + 0.2, width)
    by_fitness = outcomes_by_fitness(curves, edges)
    seeds_per_bin = by_fitness.groupby(["variant", "bin"]).seed.transform("size")
    return by_fitness[seeds_per_bin >= min(2, seeds)]


def zoom_range(by_fitness: pd.DataFrame) -> tuple[float, float] | None:
    """The fitness range the factorized variants run in, with a margin (None without them)."""
    factorized = by_fitness[by_fitness.variant.isin(list(FACTORIZED))]
    return (factorized.low.min() - 0.3, factorized.high.max() + 0.1) if len(factorized) else None


def equal_vs_matched(curves: pd.DataFrame, variants: Sequence[str]) -> pd.DataFrame:
    """Each factorized variant against each dense one: the deleterious fraction and magnitude at equal
    generation (last 10%) and at matched fitness (the pair's common window), means over seeds, and
    their differences."""
    equal = per_seed_outcomes(curves).groupby("variant")[list(EFFECTS)].mean()
    rows = []
    for factorized in [v for v in FACTORIZED if v in variants]:
        for comparator in [v for v in COMPARATORS if v in variants]:
            pair = [factorized, comparator]
            matched = matched_fitness_outcomes(curves, pair)
            means = matched.groupby("variant")[[*EFFECTS, "generations"]].mean()
            low, high = matched.window_low.iloc[0], matched.window_high.iloc[0]
            for metric in EFFECTS:
                rows.append({
                    "comparison": f"{factorized} vs {comparator}", "metric": metric,
                    "window": f"[{low:.2f}, {high:.2f}]" if low <= high else f"none ({low:.2f} > {high:.2f})",
                    "equal gen.: factorized": equal.loc[factorized, metric],
                    "equal gen.: comparator": equal.loc[comparator, metric],
                    "matched: factorized": means.loc[factorized, metric],
                    "matched: comparator": means.loc[comparator, metric],
                    "generations in window": "{:.0f} / {:.0f}".format(*means.generations.reindex(pair)),
                })
    comparison = pd.DataFrame(rows)
    if comparison.empty:
        return comparison
    comparison["difference at equal gen."] = (comparison["equal gen.: factorized"]
                                              - comparison["equal gen.: comparator"])
    comparison["difference matched"] = comparison["matched: factorized"] - comparison["matched: comparator"]
    return comparison


def _pair(a: float, b: float) -> str:
    return "–" if pd.isna(a) else f"{a:.4f} / {b:.4f}"


def shown_comparison(comparison: pd.DataFrame) -> pd.DataFrame:
    """:func:`equal_vs_matched` as C2 shows it: one cell per comparison point ("factorized /
    comparator"), which keeps the table inside the column."""
    return pd.DataFrame({
        "comparison": comparison.comparison,
        "metric": comparison.metric.str.replace("deleterious_", "deleterious "),
        "window": comparison.window,
        "equal generation": [f"{a:.4f} / {b:.4f}" for a, b in
                             zip(comparison["equal gen.: factorized"], comparison["equal gen.: comparator"])],
        "matched fitness": [_pair(a, b) for a, b in
                            zip(comparison["matched: factorized"], comparison["matched: comparator"])],
        "difference (equal gen.)": comparison["difference at equal gen."].map("{:+.4f}".format),
        "difference (matched)": comparison["difference matched"].map(
            lambda v: "–" if pd.isna(v) else f"{v:+.4f}"),
        "generations in window": comparison["generations in window"],
    })


# --- C4 and C5 ------------------------------------------------------------------------------------


STAGE_COLUMNS = {"stage1_mean_score": "stage-1 mean score", "stage1_steps": "stage-1 steps",
                 "stage1_time_s": "stage-1 time (s)", "stage1_ended_early": "stage-1 episodes ended early",
                 "stage2_mean_score": "stage-2 mean score", "stage2_steps": "stage-2 steps",
                 "stage2_time_s": "stage-2 time (s)", "best_score": "best finalist's score"}
"""The last generation's columns C5 summarises, with their labels."""


def timing_line(results: pd.DataFrame, cpu: str) -> str:
    """How many generations and runs a pixel table holds and their evaluation wall time."""
    timing = results.groupby(["task", "variant"])[["stage1_time_s", "stage2_time_s"]].sum().sum(axis=1)
    return (f"{len(results)} generations in {results.groupby(['task', 'variant', 'seed']).ngroups} runs; "
            f"evaluation wall time {timing.sum() / 60:.1f} min on {cpu}")


def population_reach_line(results: pd.DataFrame, config: Any, budget_min: float | None, cpu: str,
                          task: str = RACING) -> str:
    """The racing runs' evaluation time (against the profile's compute budget, if it has one), and an
    estimate of the paper's population, finalists and seeds at this page's generations on the same
    machine (stage 1 scaled by the population, stage 2 by the finalists, both by the seeds): the scale
    the page could not reach."""
    runs = results[results.task == task]
    if runs.empty:
        return f"no {task} runs on this page"
    stage1, stage2 = runs.stage1_time_s.sum() / 60, runs.stage2_time_s.sum() / 60
    seeds = _paper(config, "seeds") / config.seeds
    paper_population, paper_finalists = _paper(config, "population"), _paper(config, "finalists")
    estimate = seeds * (stage1 * paper_population / config.population
                        + stage2 * paper_finalists / config.finalists)
    budget = f", against the {budget_min:.0f} min this profile is sized for" if budget_min else ""
    return (f"compute: the {task} runs' evaluations took {stage1 + stage2:.1f} min on {cpu}{budget}; the "
            f"paper's population {paper_population} with "
            f"{paper_finalists} finalists and {_paper(config, 'seeds')} seeds would take about "
            f"{estimate / 60:.1f} h here at {config.generations} generations (stage 1 scaled by the "
            f"population, stage 2 by the finalists), so this page runs population {config.population}")


def last_generation_rows(results: pd.DataFrame, tasks: Sequence[str], variants: Sequence[str],
                         task_names: Mapping[str, str], labels: Mapping[str, str]) -> pd.DataFrame:
    """Per task and variant: the best finalist's final score (mean ± sd over seeds), the seeds, the
    Kruskal–Wallis p over the variants, genes against parameters and the seed list's bytes."""
    rows = []
    for task in tasks:
        last = last_generation(results, task)
        kruskal = kruskal_wallis(last, list(variants), "best_score") if len(variants) > 1 else {}
        for variant in variants:
            runs = results[(results.task == task) & (results.variant == variant)]
            final = runs[runs.generation == runs.generation.max()]
            rows.append({"task": task_names[task], "variant": labels[variant],
                         "final best score": f"{final.best_score.mean():.1f} ± {final.best_score.std():.1f}",
                         "seeds": final.seed.nunique(),
                         "Kruskal–Wallis p": report.p_value(kruskal.get("p_value", float("nan"))),
                         "genes / parameters":
                             f"{int(final.num_genes.iloc[0]):,} / {int(final.num_params.iloc[0]):,}",
                         "seed-list bytes": f"{8 * final.best_seed_length.mean():,.0f}"})
    return pd.DataFrame(rows)


def stage_summary(outcomes: pd.DataFrame, variants: Sequence[str], labels: Mapping[str, str]
                  ) -> pd.DataFrame:
    """The last generation per stage column (rows) and variant (columns): mean ± sd over seeds."""
    summary = outcomes.groupby("variant")[list(STAGE_COLUMNS)].agg(["mean", "std"]).reindex(variants)
    table = pd.DataFrame({label: [f"{summary.loc[v, (column, 'mean')]:,.1f} ± "
                                  f"{summary.loc[v, (column, 'std')]:,.1f}" for v in summary.index]
                          for column, label in STAGE_COLUMNS.items()},
                         index=[labels[v] for v in summary.index]).T
    return table.rename_axis("last generation, mean ± sd over seeds").reset_index()


def saving_table(outcomes: pd.DataFrame, matched: pd.DataFrame | None = None) -> pd.DataFrame:
    """Stage 1's relative cost, factorized vs dense, in steps and wall time, beside the paper's; with
    ``matched`` (:func:`~nevolab.studies.c.claims.matched_parent_fitness`), a second row in steps at
    matched parent fitness (its runs' means over the band; no wall time, no paper value)."""
    times = paper.PIXEL_STAGE1_TIME_S
    table = pd.DataFrame({
        "environment steps": [runtime_saving(outcomes, "stage1_steps")],
        "wall time": [runtime_saving(outcomes, "stage1_time_s")],
        "paper (wall time)": [times["factorized"] / times["dense"] - 1.0],
    }, index=["stage 1, factorized vs dense, last generation"])
    if matched is not None and not matched.empty:
        table.loc["stage 1, factorized vs dense, matched parent fitness"] = [
            runtime_saving(matched.dropna(subset=["stage1_steps"]), "stage1_steps"), np.nan, np.nan]
    return table


def matched_summary(matched: pd.DataFrame, variants: Sequence[str], labels: Mapping[str, str]
                    ) -> pd.DataFrame:
    """Per variant at matched parent fitness: the band, the runs and generations in it, the mean parent
    level, and stage 1's steps and mean score (mean over the runs with generations in the band)."""
    rows = []
    for variant in [v for v in variants if v in set(matched.variant)]:
        runs = matched[matched.variant == variant]
        inside = runs.dropna(subset=["stage1_steps"])
        rows.append({"variant": labels[variant],
                     "band of parent levels":
                         f"{runs.band_low.iloc[0]:,.1f} to {runs.band_high.iloc[0]:,.1f}",
                     "runs in the band": f"{len(inside)} / {len(runs)}",
                     "generations in the band": int(runs.generations.sum()),
                     "mean parent level": f"{inside.mean_level.mean():,.1f}",
                     "stage-1 steps": f"{inside.stage1_steps.mean():,.1f}",
                     "stage-1 mean score": f"{inside.stage1_mean_score.mean():,.1f}"})
    return pd.DataFrame(rows)


def _verdicts(claims: pd.DataFrame, key: str) -> dict[str, pd.Series]:
    """The rows of claim ``key`` by scope."""
    return {row.scope: row for _, row in claims[claims.claim == key].iterrows()}


def matched_saving_line(claims: pd.DataFrame, matched: pd.DataFrame) -> str:
    """Whether stage 1's saving survives at matched parent fitness: the band, how well the levels match,
    the relative change of the steps and the verdict of the matched row of ``pixel_less_runtime``."""
    from nevolab.studies.c.claims import MATCHED_SCOPE

    row = _verdicts(claims, "pixel_less_runtime").get(MATCHED_SCOPE)
    inside = matched.dropna(subset=["stage1_steps"])
    if row is None or inside.empty:
        return "No matched comparison: no parent level is reached by both variants."
    level = inside.groupby("variant").mean_level.mean()
    change = runtime_saving(inside, "stage1_steps")
    survives = {"reproduced": "the saving survives", "not reproduced": "the factorized variant takes more "
                "steps", "inconclusive": "no saving is shown", "underpowered": "these seeds cannot decide it",
                "not tested at scale": "not decided at this scale"}[row.verdict]
    return (f"At matched parent fitness (the previous generation's parents score "
            f"{inside.band_low.iloc[0]:,.1f} to {inside.band_high.iloc[0]:,.1f}; mean level "
            f"{level.get('dense', float('nan')):,.1f} dense, {level.get('factorized', float('nan')):,.1f} "
            f"factorized), stage 1 costs the factorized variant {change:+.0%} environment steps against the "
            f"dense one's (mean over seeds): {survives} ({row.verdict}, Holm p = "
            f"{report.p_value(row.p_holm)}).")


def stage_reading(claims: pd.DataFrame) -> str:
    """C5's reading of its verdicts together: shorter stage-1 episodes, at matched parent fitness too,
    and at an equal final score (or a final score this scale cannot test)?"""
    from nevolab.studies.c.claims import MATCHED_SCOPE, RACING_SCOPE

    runtime = _verdicts(claims, "pixel_less_runtime")
    final = _verdicts(claims, "pixel_equal_final").get(RACING_SCOPE)
    last, matched = runtime.get(RACING_SCOPE), runtime.get(MATCHED_SCOPE)
    if last is None or last.verdict != "reproduced":
        return "Stage 1 does not cost the factorized variant fewer steps here."
    survives = matched is not None and matched.verdict == "reproduced"
    first = ("Stage 1 costs the factorized variant fewer steps, at the last generation and at matched "
             "parent fitness: the saving is not only that of a worse population." if survives else
             "Stage 1 costs the factorized variant fewer steps at the last generation, but not shown at "
             "matched parent fitness: the saving cannot be separated from a worse population.")
    if final is None:
        return first
    if final.verdict == "reproduced":
        return f"{first} Its final score is equivalent to the dense one's: the saving comes at no loss."
    if final.verdict == "not tested at scale":
        return (f"{first} Whether it comes at no loss, an equal final score, is not tested at this scale "
                f"({final.below_scale}).")
    outcome = ("differs from the dense one's beyond the margin" if final.verdict == "not reproduced"
               else "is not shown to be equivalent to the dense one's")
    return (f"{first} Its final score {outcome}, so the paper's reading (a saving at no loss) is not "
            "supported here.")


def paper_stage_line(seeds: Any) -> str:
    """The paper's last-generation numbers C5 compares with (generated from
    :data:`nevolab.studies.c.paper.PIXEL_LAST_GEN`; ``seeds``: the paper's seeds per variant)."""
    last = paper.PIXEL_LAST_GEN

    def pair(quantity: str, unit: str = "") -> str:
        dense, factorized = last[quantity]["dense"], last[quantity]["factorized"]
        return f"{dense:g}{unit} dense against {factorized:g}{unit} factorized"

    saving = last["stage1_time_s"]["factorized"] / last["stage1_time_s"]["dense"] - 1.0
    return (f"From the original's `last-gen-information.json` (generation {paper.PAPER_GENERATIONS}, {seeds} "
            f"seeds): stage-1 evaluation time {pair('stage1_time_s', ' s')} ({saving:+.0%}), stage-1 mean "
            f"score {pair('stage1_mean_score')}, stage-2 mean score {pair('stage2_mean_score')} and stage-2 "
            f"time {pair('stage2_time_s', ' s')}.")


def equal_final_line() -> str:
    """How C4's claim, an equal final score, is tested: the paper's number, the paper's margin, ours as
    a labelled extra row, and the scale the claim needs (from the claim's :class:`PaperClaim`)."""
    claim = paper.PIXEL_CLAIMS_BY_KEY["pixel_equal_final"]
    needs = ", ".join(f"{name} {value:g}" for name, value in claim.scale)
    return (f"The paper reads its CarRacing figure as: the factorized network reaches the same final score "
            f"as the dense one (the paper: {claim.paper_value}). \"The same\" is tested as equivalence "
            f"(two one-sided tests) within {claim.margin}: {claim.margin_source}. Our own margin, "
            f"±{paper.EQUAL_SCORE_MARGIN:g} points, is a labelled extra row (`{paper.OURS_EQUAL_FINAL}`) "
            f"that never decides the claim. The claim is about the end of the paper's runs, so it needs "
            f"{needs}; below that its verdict is "
            "*not tested at scale*, with its data and interval shown.")
