"""Study A's page analysis: the tables and sentences its notebooks show, as pure functions of the
result tables (curves, final losses, ablation and claims tables) the pages load."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from nevolab import plotting, report
from nevolab.studies.a import paper, peer
from nevolab.studies.a.ablation import CORRECTED, FAITHFUL, swapped_pairs
from nevolab.studies.a.cases import ALGORITHMS, CASES
from nevolab.studies.a.claims import FLOOR, FLOOR_NOTE, MARGIN_CLAIMS, WALL_TIME_CLAIMS, paper_key
from nevolab.studies.a.runs import equal_evaluation_budget, final_losses, losses_at_evaluations

LOSS_FLOOR = 1e-7
"""A cross-entropy under this is float32 rounding (1 and the next float32 are 1.2e-7 apart)."""
FIGURE_CLAIMS = ("cosyne_beats_backprop_case1", "backprop_best", "gap_widens", "bio_slower_wall_time",
                 "cosyne_early", "backprop_variance_below_cosyne")
"""The claims A1's figure makes (rows of A3's table)."""
CASE_ONE_SOURCES = ("paper figure", "authors' code", "NevoLab corrected", "NevoLab faithful")
CODES = {CORRECTED: "corrected", FAITHFUL: "faithful"}
"""The ablation's labels of the corrected and faithful code, as A2's ``code`` column names them."""


def spaced(value: Any) -> Any:
    """An option value with spaces for underscores ("single point"), so it reads and wraps."""
    return value.replace("_", " ") if isinstance(value, str) else value


def hyperparameter_table(best: Callable[[str, str], Mapping[str, Any]], cases: Sequence[str],
                         algorithms: Sequence[str]) -> pd.DataFrame:
    """One row per algorithm and hyperparameter, one column per case, from ``best(case, algorithm)``."""
    rows = [{"algorithm": a, "hyperparameter": name, "case": c, "value": value}
            for c in cases for a in algorithms for name, value in best(c, a).items()]
    table = pd.DataFrame(rows).pivot(index=["algorithm", "hyperparameter"], columns="case", values="value")
    table = table.reindex(columns=list(cases)).reindex(list(algorithms), level="algorithm")
    return table.map(spaced)


def zero_loss_note(results: pd.DataFrame, floor: float) -> str:
    """Where a log axis draws losses of 0, and how many runs of each case and algorithm end at 0."""
    zeros = results[(results.generation == results.generation.max()) & (results.best_loss <= 0)]
    counts = zeros.groupby(["case", "algorithm"]).size()
    listed = ", ".join(f"case {c} {plotting.display_name(a)} {n}" for (c, a), n in counts.items())
    return f"losses of exactly 0 are drawn at {floor:.2g}; final losses of exactly 0: " + (listed or "none")


def final_summary(results: pd.DataFrame, algorithms: Sequence[str]) -> pd.DataFrame:
    """Per case and algorithm: median, mean and std of the final loss, the wall time of one run and
    its network evaluations."""
    final = results[results.generation == results.generation.max()]
    summary = final.groupby(["case", "algorithm"]).agg(
        median=("best_loss", "median"), mean=("best_loss", "mean"), std=("best_loss", "std"),
        run_time_s=("run_time_s", "first"), evaluations=("evaluations", "first"))
    summary = summary.reindex(list(algorithms), level="algorithm")
    return summary.rename(columns={"run_time_s": "wall time (s)"})


def figure_claims(claims: pd.DataFrame) -> pd.DataFrame:
    """The corrected-mode rows of A3's claims table that A1's figure makes, compact (the test column
    left out when every row has the same test)."""
    shown = claims[claims.claim.isin(FIGURE_CLAIMS) & (claims["mode"] == "corrected")]
    compact = report.compact(shown)
    return compact.drop(columns="test") if compact.test.nunique() == 1 else compact


def algorithm_order(algorithms: Iterable[str]) -> list[str]:
    """``algorithms`` in the study's order."""
    chosen = set(algorithms)
    return [a for a in ALGORITHMS if a in chosen]


def quirk_table(final: pd.DataFrame, quirk_cases: Sequence[str]) -> pd.DataFrame:
    """Mean final loss per case and algorithm, faithful and corrected, their ratio and each code's rank
    within the case (1 = lowest), on the quirk cases (``final`` has a ``code`` column)."""
    means = final.groupby(["case", "algorithm", "code"]).best_loss.mean().unstack("code")
    table = means.loc[[c for c in quirk_cases if c in means.index.get_level_values(0)]].dropna()
    if not table.empty:
        table["faithful / corrected"] = table["faithful"] / table["corrected"]
        table["rank corrected"] = table.groupby(level="case").corrected.rank().astype(int)
        table["rank faithful"] = table.groupby(level="case").faithful.rank().astype(int)
    return table


def ordering(names: Iterable[str], separator: str = " < ") -> str:
    """Readable names joined by ``separator`` (best first)."""
    return separator.join(plotting.display_name(name) for name in names)


def pair_list(pairs: Iterable[tuple[str, str]]) -> str:
    """"A / B; C / D" with readable names, or "none"."""
    return "; ".join(f"{plotting.display_name(a)} / {plotting.display_name(b)}" for a, b in pairs) or "none"


def number_of_pairs(names: Sequence[str]) -> int:
    """How many unordered pairs ``names`` holds."""
    return len(names) * (len(names) - 1) // 2


def ranking_table(rankings: pd.DataFrame) -> pd.DataFrame:
    """:func:`~nevolab.studies.a.ablation.ranking_by_code` as text cells, one row per case."""
    return rankings.assign(**{
        # Commas in the table: a raw "<" in a cell would be read as HTML.
        "corrected": [ordering(names, ", ") for names in rankings.corrected],
        "faithful": [ordering(names, ", ") for names in rankings.faithful],
        "pairs swapped": [pair_list(pairs) for pairs in rankings.swapped],
        "swapped / all pairs": [f"{len(s)} / {number_of_pairs(c)}"
                                for s, c in zip(rankings.swapped, rankings.corrected)],
    }).drop(columns="swapped").set_index("case")


def case_sentence(row: Any) -> str:
    """What the quirks do to the ranking of one case (a row of ``ranking_by_code``)."""
    if not row.swapped:
        return f"On Case {row.case} the quirks leave the ranking of the algorithms unchanged."
    winner = ("the same algorithm is best" if row.corrected[0] == row.faithful[0] else
              f"the best algorithm changes from {plotting.display_name(row.corrected[0])} (corrected) to "
              f"{plotting.display_name(row.faithful[0])} (faithful)")
    return (f"On Case {row.case} the quirks reverse {len(row.swapped)} of "
            f"{number_of_pairs(row.corrected)} pairs ({pair_list(row.swapped)}); {winner}.")


def ranking_paragraph(rankings: pd.DataFrame) -> str:
    """:func:`case_sentence` of every case, one paragraph."""
    if not len(rankings):
        return "No case has both faithful and corrected runs with these parameters."
    return " ".join(case_sentence(row) for row in rankings.itertuples())


def pair_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """:func:`~nevolab.studies.a.ablation.pairwise_by_quirk` of DE against the EA as text cells, one
    cell per algorithm (mean / median), indexed by case and quirks."""
    def mean_median(name: str) -> list[str]:
        return [f"{m:.3g} / {d:.3g}" for m, d in zip(pairs[f"{name} mean"], pairs[f"{name} median"])]

    ticks = {True: "✓", False: ""}
    return pd.DataFrame({
        "case": pairs.case, "quirks": pairs.quirks,
        "DE mean / median": mean_median("de"), "EA mean / median": mean_median("ea"),
        "P(DE lower)": pairs["P(de < ea)"],
        "flips by mean": pairs["flips by mean"].map(ticks),
        "flips by median": pairs["flips by median"].map(ticks),
    }).set_index(["case", "quirks"])


def quirk_names(names: Iterable[str]) -> str:
    """Quirk names in code font, or "no single quirk"."""
    return ", ".join(f"`{name}`" for name in names) or "no single quirk"


def de_against_ea(row: Mapping[str, Any]) -> str:
    """Whether DE's mean and median final loss are lower than the EA's (a row of ``pairwise_by_quirk``)."""
    mean = "lower" if row["lower by mean"] else "higher"
    median = "lower" if row["lower by median"] else "higher"
    return (f"DE's mean final loss is {mean} than the EA's ({row['de mean']:.3g} vs {row['ea mean']:.3g}) "
            f"and its median {median} ({row['de median']:.3g} vs {row['ea median']:.3g})")


def flip_sentence(case: str, table: pd.DataFrame) -> str:
    """DE against the EA on one case, corrected and faithful, and which single quirks flip it."""
    row = table.set_index("quirks")
    corrected, faithful = row.loc[CORRECTED], row.loc[FAITHFUL]
    singles = table[~table.quirks.isin([CORRECTED, FAITHFUL])]
    return (f"**Case {case}.** Corrected, {de_against_ea(corrected)}, "
            f"P(DE < EA) = {corrected['P(de < ea)']:.2f}. "
            f"Faithful, {de_against_ea(faithful)}, P(DE < EA) = {faithful['P(de < ea)']:.2f}. "
            f"Alone, {quirk_names(singles.quirks[singles['flips by mean']])} flips the comparison of means "
            f"and {quirk_names(singles.quirks[singles['flips by median']])} that of medians.")


def flip_paragraphs(pairs: pd.DataFrame) -> str:
    """:func:`flip_sentence` of every case, one paragraph each."""
    if not len(pairs):
        return "The ablation needs both DE and the EA (`ablation_algorithms`)."
    return "\n\n".join(flip_sentence(case, table) for case, table in pairs.groupby("case", sort=False))


BUDGET_COLUMNS = ["case", "code", "algorithm", "budget (evaluations)", "equal generations",
                  "equal evaluations"]


def equal_evaluation_table(curves: pd.DataFrame | None) -> pd.DataFrame:
    """Per case, code and bio-inspired algorithm: mean final loss at equal generations (the end of the
    runs) and at the case's equal-evaluation budget (per code), the generation reached within the
    budget (median over repeats) and the rank under each; sorted by code, case and algorithm."""
    frames = []
    groups = [] if curves is None else curves.groupby(["case", "code"], sort=False)
    for (case, code), subset in groups:
        budget = equal_evaluation_budget(subset, case)
        at_generations = final_losses(subset).groupby("algorithm").best_loss.mean()
        at_budget = losses_at_evaluations(subset, budget).groupby("algorithm")
        frames.append(pd.DataFrame({
            "case": case, "code": code, "budget (evaluations)": budget,
            "equal generations": at_generations, "equal evaluations": at_budget.best_loss.mean(),
            "generation reached": at_budget.generation.median().round().astype(int),
        }).rename_axis("algorithm").reset_index())
    budgets = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=BUDGET_COLUMNS)
    budgets["rank (generations)"] = budgets.groupby(["case", "code"])["equal generations"].rank().astype(int)
    budgets["rank (evaluations)"] = budgets.groupby(["case", "code"])["equal evaluations"].rank().astype(int)
    position = {**{name: i for i, name in enumerate(ALGORITHMS)}, **{c: i for i, c in enumerate(CASES)},
                "corrected": 0, "faithful": 1}
    return budgets.sort_values(["code", "case", "algorithm"], key=lambda column: column.map(position))


def budget_display(table: pd.DataFrame) -> pd.DataFrame:
    """One code's rows of :func:`equal_evaluation_table`, indexed and with short column names."""
    return table.drop(columns="code").set_index(["case", "algorithm"]).rename(columns={
        "budget (evaluations)": "budget", "generation reached": "gen. reached",
        "rank (generations)": "rank (gen.)", "rank (evaluations)": "rank (eval.)"})


def budget_sentence(case: str, code: str, table: pd.DataFrame) -> str:
    """Whether the equal-evaluation budget reorders the algorithms of one case and code, and DE
    against the EA at equal generations and at equal evaluations."""
    by_generations = list(table.sort_values("equal generations").algorithm)
    by_evaluations = list(table.sort_values("equal evaluations").algorithm)
    swapped = swapped_pairs(by_generations, by_evaluations)
    text = (f"Case {case}, {code}: at {int(table['budget (evaluations)'].iloc[0]):,} evaluations "
            + (f"the order changes for {pair_list(swapped)}" if swapped else "the order is unchanged"))
    losses = table.set_index("algorithm")
    if {"de", "ea"} <= set(losses.index):
        de, ea = losses.loc["de"], losses.loc["ea"]
        lower = "lower" if de["equal evaluations"] < ea["equal evaluations"] else "higher"
        text += (f"; DE vs EA: {de['equal generations']:.3g} vs {ea['equal generations']:.3g} at equal "
                 f"generations, {de['equal evaluations']:.3g} vs {ea['equal evaluations']:.3g} at equal "
                 f"evaluations (DE {lower})")
    return text + "."


def budget_list(budgets: pd.DataFrame) -> str:
    """:func:`budget_sentence` of every code and case, a Markdown list."""
    return "\n\n".join(f"- {budget_sentence(case, code, table)}"
                       for (code, case), table in budgets.groupby(["code", "case"], sort=False))


def case_one_finals(final: pd.DataFrame, ablation: pd.DataFrame) -> pd.DataFrame:
    """Case I final losses (algorithm, code, repeat, best_loss) of A2's table and of the ablation's
    corrected and faithful runs, each run once."""
    columns = ["algorithm", "code", "repeat", "best_loss"]
    codes = ablation[(ablation.case == "I") & ablation.quirks.isin(list(CODES))]
    return pd.concat([final[final.case == "I"][columns], codes.assign(code=codes.quirks.map(CODES))[columns]],
                     ).drop_duplicates(["algorithm", "code", "repeat"])


def summary_cell(row: Mapping[str, Any], source: str) -> str:
    """"mean [min–max], n" (and the median when the source has one) of one source's columns."""
    if pd.isna(row.get(f"{source} mean")):
        return "–"
    spread = (f" [{row[f'{source} min']:.3f}–{row[f'{source} max']:.3f}]"
              if f"{source} min" in row and pd.notna(row[f"{source} min"]) else "")
    median = f", median {row[f'{source} median']:.3f}" if f"{source} median" in row else ""
    return f"{row[f'{source} mean']:.3f}{spread}{median}, n = {int(row[f'{source} n'])}"


def case_one_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """:func:`~nevolab.studies.a.peer.case_one_comparison` (indexed by algorithm), one cell per source."""
    return pd.DataFrame({source: comparison.apply(summary_cell, axis=1, source=source)
                         for source in CASE_ONE_SOURCES})


def case_one_paragraph(comparison: pd.DataFrame) -> str:
    """The rankings of Case I by the paper's figure, the authors' code and NevoLab, in words."""
    by_source = comparison.copy()  # read by (source, statistic)
    by_source.columns = pd.MultiIndex.from_tuples([tuple(c.rsplit(" ", 1)) for c in by_source.columns])
    orders = {source: peer.ranking(by_source[source]["mean"].dropna().to_dict())
              for source in CASE_ONE_SOURCES}
    figure_order, peer_order = orders["paper figure"], orders["authors' code"]
    ratio = by_source["paper figure"]["mean"] / by_source["authors' code"]["mean"]
    peer_runs = ", ".join(f"{plotting.display_name(name)} {int(n)}"
                          for name, n in by_source["authors' code"]["n"].items())
    return (
        f"By mean final loss (lowest first), the paper's figure ranks {ordering(figure_order)}; the authors' "
        f"code run here ranks {ordering(peer_order)} (runs: {peer_runs}). So the figure's ranking "
        f"{'matches' if figure_order == peer_order else 'does not match'} what the authors' code produces, "
        f"and its values are {ratio.min():.1f} to {ratio.max():.1f} times the authors' code's means. NevoLab "
        f"ranks {ordering(orders['NevoLab corrected'])} (corrected) and "
        f"{ordering(orders['NevoLab faithful'])} (faithful)."
    )


def claim_sentences() -> pd.DataFrame:
    """The paper's claims in its words, how each is tested, its margin and where the margin comes from
    (for a "no difference" claim: the paper's relative gap, and the absolute one it replaces)."""
    rows = []
    for c in paper.CLAIMS:
        margin = c.margin
        if c.key in MARGIN_CLAIMS:
            margin += f" (the raw gap of the figure: {report.number(paper.margin(c.key), 2).lstrip('+')})"
        rows.append({"claim": c.key, "the paper says": f"“{c.sentence}”", "tested as": c.operationalisation,
                     "margin": margin or "–", "margin's source": c.margin_source or "–"})
    return pd.DataFrame(rows)


def floor_rows(claims: pd.DataFrame) -> pd.DataFrame:
    """The rows of a claims table decided at the loss floor (both medians under ``FLOOR``)."""
    if "at_floor" not in claims:
        return claims.iloc[:0]
    return claims[claims.at_floor.astype(bool)]


def floor_sentence(claims: pd.DataFrame) -> str:
    """How many rows are decided at the loss floor, and which, in one paragraph."""
    floor = floor_rows(claims)
    if floor.empty:
        return f"No row is decided at the loss floor (both medians under {FLOOR:g})."
    listed = "; ".join(f"{row.claim}, {row.scope} ({row.mode}): {row.verdict}" for row in floor.itertuples())
    return (f"{len(floor)} of {len(claims)} rows are decided **{FLOOR_NOTE}**, where a shift is a "
            f"difference of losses that are float32 rounding or nearly so; read their verdicts as about "
            f"the floor, not about learning: {listed}.")


def extra_rows(claims: pd.DataFrame) -> pd.DataFrame:
    """The rows a threshold of ours decides (``ours``), beside the paper's claims, compact."""
    shown = claims[claims.claim.isin(list(paper.EXTRA_ROWS))]
    return report.compact(shown)


def timing_rows(claims: pd.DataFrame) -> pd.DataFrame:
    """The rows of the wall-time and variance claims (A.8–A.11), compact, their detail beside them."""
    keys = [*WALL_TIME_CLAIMS, "variance_problem_ff", "backprop_variance_below_cosyne"]
    shown = claims[claims.claim.map(paper_key).isin(keys)]
    return report.compact(shown).assign(detail=shown.detail.fillna("").to_numpy())


def not_at_scale_sentence(claims: pd.DataFrame) -> str:
    """The rows marked not tested at scale and why, one paragraph."""
    rows = claims[claims.verdict == "not tested at scale"]
    if rows.empty:
        return "Every row is tested at the scale its claim needs."
    reasons = rows.groupby("verdict_reason", sort=False).apply(
        lambda group: ", ".join(f"{r.claim} {r.scope} ({r.mode})" for r in group.itertuples()),
        include_groups=False)
    return (f"{len(rows)} of {len(claims)} rows are *not tested at scale*: "
            + "; ".join(f"{where}: {reason}" for reason, where in reasons.items()) + ".")


def compared(side_by_side: pd.DataFrame) -> int:
    """How many claims and scopes of ``modes_side_by_side`` were tested in both modes."""
    return int((side_by_side.agree != "–").sum())


def disagreement_note(side_by_side: pd.DataFrame) -> str:
    """How many verdicts change with the quirks, and what the next table does about them."""
    disagree = side_by_side[side_by_side.agree == "no"]
    if disagree.empty:
        return "Under this profile no verdict depends on the mode."
    return (f"{len(disagree)} of {compared(side_by_side)} verdicts tested in both "
            "modes change with the quirks. Each is re-tested below with the corrected code plus "
            "**one quirk at a time** (every other algorithm corrected); a quirk is *responsible* "
            "when it alone gives the faithful verdict.")


def responsible_quirks(quirk_tests: pd.DataFrame, disagree: pd.DataFrame) -> pd.DataFrame:
    """Per (claim, scope) whose verdict depends on the mode: both verdicts and the single quirks that
    alone give the faithful one (rows of ``claim_ablation``)."""
    responsible = (quirk_tests[quirk_tests.responsible].groupby(["claim", "scope"]).quirks.agg(", ".join))
    summary = disagree.set_index(["claim", "scope"])[["faithful", "corrected"]]
    summary["responsible quirk(s)"] = responsible.reindex(summary.index).fillna(
        "no single quirk alone (after this table's Holm correction)")
    timed = summary.index.get_level_values("claim").map(paper_key).isin(WALL_TIME_CLAIMS)
    summary.loc[timed, "responsible quirk(s)"] = "not ablated (a wall-time claim: one timing per run)"
    return summary


def per_quirk_verdicts(quirk_tests: pd.DataFrame) -> pd.DataFrame:
    """``claim_ablation`` as one row per (claim, scope) and one "verdict (shift)" cell per quirk."""
    shown = [f"{verdict} ({report.number(effect)})"
             for verdict, effect in zip(quirk_tests.verdict, quirk_tests.effect, strict=True)]
    wide = quirk_tests.assign(shown=shown)
    per_quirk = wide.pivot_table(index=["claim", "scope"], columns="quirks", values="shown", aggfunc="first")
    return per_quirk.reset_index().fillna("–")


def responsible_list(quirk_tests: pd.DataFrame, disagree: pd.DataFrame) -> str:
    """:func:`responsible_quirks` as a Markdown list (what the chapter page pastes)."""
    if quirk_tests.empty:
        return "No verdict depends on the mode."
    summary = responsible_quirks(quirk_tests, disagree)
    return "\n".join(f"- **{claim}**, {scope}: faithful *{row.faithful}*, corrected *{row.corrected}*; "
                     f"responsible: {row['responsible quirk(s)']}"
                     for (claim, scope), row in summary.iterrows())
