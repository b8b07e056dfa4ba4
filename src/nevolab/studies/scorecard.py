"""The scorecard: every claim of the three papers in one table, computed from the stored claims tables
of every claims page (ReScience C's marks: [Re] replicated, [¬Re] not replicated). A claim tested on
several claims pages, each in its own scopes (C5's stage-1 claims on racing, C6's on the real
CarRacing-v3), is one row over all its scopes."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import ClassVar

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from nevolab import plotting, report, store
from nevolab.config import Config, NotebookSpec, Param, RunConfig, resolve
from nevolab.stats import RESCIENCE_MARKS
from nevolab.studies.a import paper as a_paper
from nevolab.studies.a import spec as a_spec
from nevolab.studies.b import paper as b_paper
from nevolab.studies.b import spec as b_spec
from nevolab.studies.c import paper as c_paper
from nevolab.studies.c import spec as c_spec

STUDY_SPECS = {"A": a_spec.SPECS, "B": b_spec.SPECS, "C": c_spec.SPECS}
STUDY_PAPER_CLAIMS = {"A": a_paper.CLAIMS,
                      "B": (*b_paper.CLAIMS, *b_paper.TRANSFER_CLAIMS, *b_paper.LANDSCAPE_CLAIMS),
                      "C": (*c_paper.CLAIMS, *c_paper.PIXEL_CLAIMS)}


def _claims_pages() -> dict[str, str]:
    """Each claims page of each study (the specs with ``claims_page``), under a short label: the
    study's letter for its first claims page (A3, B4, C3), letter and page number for the others."""
    pages = {}
    for study, specs in STUDY_SPECS.items():
        names = [spec.name for spec in specs if spec.claims_page]
        for position, name in enumerate(names):
            pages[study if position == 0 else study + name[1]] = name
    return pages


CLAIMS_PAGES = _claims_pages()
"""Every claims page, found from the specs: a page that stores claims cannot be left off."""
PAPER_CLAIMS = {page: STUDY_PAPER_CLAIMS[page[0]] for page in CLAIMS_PAGES}
"""The paper claims a claims page may hold: its study's (a claim is shown from the page whose table
tests it)."""
HEADLINE_SCOPE = {"B": "all tasks"}
"""The scope whose effect the scorecard shows (Study B: pooled over tasks); otherwise the first one."""

SPECS: tuple[NotebookSpec, ...] = (
    NotebookSpec(
        name="scorecard",
        title="Scorecard: every claim, its verdict, our scale against the paper's",
        description="One row per claim of the three papers, computed from the stored claims tables of "
                    "every claims page (A3, B4–B7, C3, C5, C6): the paper's sentence and number, ours with "
                    "its interval, the verdict per mode, and the ReScience mark.",
        params=(Param("studies", "str_list", {"default": ["A", "B", "C"]}, paper="not applicable",
                      help="studies to include", choices=("A", "B", "C"), presentation=True),),
    ),
)


def run_configs(config: Config) -> dict[str, Config]:
    """The claims pages the scorecard reads, per study, at the scorecard's profile."""
    specs = {spec.name: spec for spec in (*a_spec.SPECS, *b_spec.SPECS, *c_spec.SPECS)}
    return {part: resolve(specs[name], config.profile) for part, name in CLAIMS_PAGES.items()
            if part[0] in config.studies and (specs[name].in_book or config.profile == "smoke")}


@dataclasses.dataclass(frozen=True)
class ScorecardKey(RunConfig):
    """The store key of a scorecard: the keys of the claims tables it is computed from (the
    scorecard's own parameters are presentation only, so its page config alone cannot tell a smoke
    scorecard from a default one)."""

    KIND: ClassVar[str] = "scorecard"
    claims_tables: tuple[tuple[str, str], ...] = ()


def scorecard_key(configs: Mapping[str, Config]) -> ScorecardKey:
    """The key of the scorecard of ``configs`` (study → claims page config)."""
    return ScorecardKey(claims_tables=tuple((config.notebook, config.hash()) for config in configs.values()))


def mark(verdicts: pd.Series) -> str:
    """One mark for a claim over its scopes and modes: [Re] when every test reproduced it, [¬Re] when
    none did and some contradicted it, mixed when some did and some did not, underpowered or not
    tested at scale when nothing could be decided for that reason, inconclusive otherwise."""
    values = set(verdicts)
    if values == {"reproduced"}:
        return RESCIENCE_MARKS["reproduced"]
    if "reproduced" in values:
        return "mixed"
    if "not reproduced" in values:
        return RESCIENCE_MARKS["not reproduced"]
    if "inconclusive" in values:
        return "inconclusive"
    return "not tested at scale" if "not tested at scale" in values else "underpowered"


def scale_against_paper(config: Config) -> str:
    """The parameters whose value differs from the paper's, as "name ours (paper theirs)"."""
    differences = []
    for param in config.spec.params:
        ours, theirs = config.values.get(param.name), param.paper
        if isinstance(theirs, int | float) and not isinstance(theirs, bool) and ours != theirs:
            differences.append(f"{param.name} {ours} (paper {theirs})")
    return "; ".join(differences) or "the paper's"


def mark_text(tested: pd.DataFrame, the_mark: str) -> str:
    """The mark as a reader sees it: a mixed claim shows its [Re] count per mode ("faithful 5/8 [Re],
    corrected 3/8 [Re]"); any other mark reads as itself."""
    if the_mark != "mixed":
        return the_mark
    counts = [(mode, int((group.verdict == "reproduced").sum()), len(group))
              for mode, group in tested.groupby("mode", sort=False)]
    return ", ".join(f"{'' if mode == '-' else mode + ' '}{hits}/{total} [Re]"
                     for mode, hits, total in counts)


def decisive_row(tested: pd.DataFrame, study: str) -> pd.Series:
    """The row a claim's headline rests on: Study B's pooled scope; otherwise the decided row (reproduced
    or not reproduced) with the smallest Holm p of its verdict; otherwise the first row."""
    scope = HEADLINE_SCOPE.get(study)
    if scope is not None and (tested.scope == scope).any():
        return tested[tested.scope == scope].iloc[0]
    decided = tested[tested.verdict.isin(["reproduced", "not reproduced"])]
    if decided.empty:
        return tested.iloc[0]
    strength = decided.p_holm.where(decided.verdict == "reproduced", decided.p_against_holm)
    return decided.loc[strength.astype(float).idxmin()]


def margin_text(paper_claim: report.PaperClaim, row: pd.Series) -> str:
    """The margin a claim is tested against, with its source below it, labelled "ours" when we
    chose it; "0 (directional)" for a claim whose region is one side of zero."""
    if row.get("expected", "equivalent") in ("lower", "higher"):
        return "0 (directional)"
    value = float(row.get("margin", 0.0) or 0.0)
    stated = paper_claim.margin or (f"δ = {value:.3g}" if value > 0 else "")
    if not stated:
        return "–"
    source = paper_claim.margin_source
    if paper_claim.margin_is_ours:
        return f"{stated} (ours{source[4:]})" if source[4:].strip(" :") else f"{stated} (ours)"
    return f"{stated}<br>(source: {source})" if source else stated


def _paper_fields(study: str, paper_claim: report.PaperClaim) -> dict:
    """A scorecard row's fields that come from the paper's claim alone."""
    return {"study": study, "claim": paper_claim.key, "sentence": paper_claim.sentence,
            "paper": paper_claim.paper_value or "–", "hypothesis": paper_claim.operationalisation}


NOT_RUN = "not run at this profile"
"""The decisive scope of a claim whose data a reduced profile (smoke) does not compute."""


def tested_rows(claims_by_study: Mapping[str, pd.DataFrame]) -> dict[str, tuple[str, pd.DataFrame]]:
    """Per paper claim tested on some claims page: the first page's label and every page's rows of it,
    in one table with the page's label as ``part``. A claim may be tested on several pages (C5 on racing,
    C6 on the real CarRacing-v3), each in its own scopes; the same (scope, mode) on two pages is an
    error."""
    found: dict[str, list[pd.DataFrame]] = {}
    for part, claims in claims_by_study.items():
        for paper_claim in PAPER_CLAIMS[part]:
            tested = claims[claims.claim == paper_claim.key]
            if not tested.empty:
                found.setdefault(paper_claim.key, []).append(tested.assign(part=part))
    merged = {}
    for key, frames in found.items():
        rows = pd.concat(frames, ignore_index=True)
        twice = rows[rows.duplicated(["scope", "mode"], keep=False)]
        if not twice.empty:
            pages = " and ".join(CLAIMS_PAGES[part] for part in dict.fromkeys(twice.part))
            raise ValueError(f"claim {key!r} is tested in scope {twice.scope.iloc[0]!r} on two claims "
                             f"pages: {pages}")
        merged[key] = (frames[0].part.iloc[0], rows)
    return merged


def scorecard(claims_by_study: Mapping[str, pd.DataFrame], configs: Mapping[str, Config],
              complete: bool = True) -> pd.DataFrame:
    """One row per claim: study, key, the paper's sentence and number, the hypothesis and margin we test,
    the decisive row (scope and mode) with its effect, interval and Holm p for and against, the verdict
    tally per mode, the mark and the page it rests on. A claim tested on several claims pages (each in
    its own scopes, :func:`tested_rows`) is one row over all of them; its page is the decisive row's
    when that row is not on the claim's first page. ``complete`` requires every claim of the papers
    of ``claims_by_study``'s studies to be on some claims page (the book's profiles); otherwise a claim
    on none is a row marked not tested at scale, "not run at this profile" (the smoke profile)."""
    rows = []
    tested_by_claim = tested_rows(claims_by_study)
    claims_of = {claim.key: claim for part in claims_by_study for claim in PAPER_CLAIMS[part]}
    shown = {key: study for key, (study, _) in tested_by_claim.items()}
    for key, (study, tested) in tested_by_claim.items():
        paper_claim = claims_of[key]
        row = decisive_row(tested, study)
        where = row.scope if row["mode"] == "-" else f"{row.scope} · {row['mode']}"
        modes = {mode: report.verdict_tally(group.verdict)
                 for mode, group in tested.groupby("mode", sort=False)}
        the_mark = mark(tested.verdict)
        rows.append({
            **_paper_fields(study, paper_claim), "margin_text": margin_text(paper_claim, row),
            "margin_is_ours": paper_claim.margin_is_ours, "decisive": where,
            "ours": report.interval(row.effect, row.low, row.high),
            "p_for": float(row.get("p_holm", float("nan"))),
            "p_against": float(row.get("p_against_holm", float("nan"))),
            "expected": row.get("expected", "higher"), "margin": float(row.get("margin", 0.0) or 0.0),
            "effect": float(row.effect), "low": float(row.low), "high": float(row.high),
            "decisive_verdict": row.verdict,
            "faithful": modes.get("faithful", "–"), "corrected": modes.get("corrected", "–"),
            "verdict": modes.get("-", "–"), "mark": the_mark, "mark_text": mark_text(tested, the_mark),
            "page": paper_claim.figure if row.part == study else CLAIMS_PAGES[row.part],
        })
    missing = [(study, claim) for study in dict.fromkeys(part[0] for part in claims_by_study)
               for claim in STUDY_PAPER_CLAIMS[study] if claim.key not in shown]
    if complete and missing:
        raise ValueError(f"{len(missing)} claim(s) of the papers are on no claims page's table: "
                         f"{', '.join(f'{study}: {claim.key}' for study, claim in missing)}; "
                         "test each on the page that holds its data")
    for study, paper_claim in missing:  # a reduced profile's runs hold no data for it
        rows.append({
            **_paper_fields(study, paper_claim),
            "margin_text": margin_text(paper_claim, pd.Series({"margin": 0.0})),
            "margin_is_ours": paper_claim.margin_is_ours, "decisive": NOT_RUN, "ours": "–",
            "p_for": float("nan"), "p_against": float("nan"), "expected": "higher", "margin": 0.0,
            "effect": float("nan"), "low": float("nan"), "high": float("nan"),
            "decisive_verdict": "not tested at scale", "faithful": "–", "corrected": "–", "verdict": "–",
            "mark": "not tested at scale", "mark_text": "not tested at scale", "page": paper_claim.figure,
        })
    return pd.DataFrame(rows)


MARK_COLUMNS = ("[Re]", "mixed", "[¬Re]", "inconclusive", "underpowered", "not tested at scale")


def claims_table(page_config: Config) -> pd.DataFrame:
    """A claims page's stored table; a missing one is named with the command that computes it."""
    try:
        return store.load(page_config)[0]
    except (FileNotFoundError, store.StaleResult) as error:
        raise RuntimeError(
            f"{page_config.notebook}'s claims table for profile {page_config.profile!r} is not stored "
            f"({error}); run `.venv/bin/nevolab run {page_config.notebook} --profile {page_config.profile}` "
            "first") from None


def page_table(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """The scorecard of ``config`` through the store, keyed by the claims tables it reads."""
    page_configs = run_configs(config)
    return store.cached(
        scorecard_key(page_configs),
        lambda: scorecard({part: claims_table(page) for part, page in page_configs.items()}, page_configs,
                          complete=config.profile != "smoke"),
        fresh=fresh)


def mark_counts(card: pd.DataFrame) -> pd.DataFrame:
    """Claims per mark (columns) and study (rows), with an "all" row."""
    marks = card.groupby(card.study.str[0].rename("study")).mark.value_counts().unstack(fill_value=0)
    marks = marks.reindex(columns=list(MARK_COLUMNS), fill_value=0).astype(int)
    marks.loc["all"] = marks.sum()
    return marks


def summary_values(card: pd.DataFrame) -> dict[str, int | str]:
    """The counts the book's intro glues: claims, per mark, and whether the replication is full."""
    marks = mark_counts(card)
    names = {column: column.strip("[]").replace("¬", "not_").replace(" ", "_") for column in marks}
    values: dict[str, int | str] = {f"scorecard_{names[column]}": int(marks.loc["all", column])
                                    for column in marks}
    values["scorecard_claims"] = len(card)
    values["scorecard_replication"] = "full" if values["scorecard_Re"] == len(card) else "partial"
    return values


def summary_sentence(card: pd.DataFrame) -> str:
    """Whether the replication is full, from the counts."""
    values = summary_values(card)
    return (f"The replication is **{values['scorecard_replication']}**: {values['scorecard_Re']} of "
            f"{len(card)} claims are replicated in every scope and mode they were tested in.")


def _verdict_cell(row: pd.Series) -> str:
    return "<br>".join(f"{mode}: {row[mode]}" if mode != "verdict" else row[mode]
                       for mode in ("faithful", "corrected", "verdict") if row[mode] != "–")


def shown_table(card: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as a reader sees it, what a glance needs first: linked claim, the mark, the decisive
    scope and mode with our shift and its Holm p for and against the claim, the margin; then the
    paper's number and words, what we test, the verdicts over scopes per mode."""
    return pd.DataFrame({
        "claim": [f'{row.study}: <a href="{row.page}.html">{row.claim.replace("_", " ")}</a>'
                  for row in card.itertuples()],
        "mark": card.mark_text,
        "decisive scope": card.decisive,
        "ours (shift [95% CI])": card.ours,
        "Holm p for / against": [f"{report.p_value(row.p_for)} / {report.p_value(row.p_against)}"
                                 for row in card.itertuples()],
        "margin": card.margin_text,
        "the paper's number": card.paper,
        "the paper says": [f"“{sentence}”" for sentence in card.sentence],
        "we test": card.hypothesis,
        "verdicts over scopes": card.apply(_verdict_cell, axis=1),
    })


def _oriented(row: pd.Series) -> tuple[float, float, float, tuple[float, float]]:
    """(effect, low, high, claimed region) of a decisive row in units of its margin (or, without one,
    of its own largest finite magnitude), signed so that the claimed direction is positive."""
    sign = -1.0 if row.expected in ("lower", "not_higher") else 1.0
    finite = [abs(v) for v in (row.effect, row.low, row.high) if math.isfinite(v)]
    unit = row.margin if row.margin > 0 else (max(finite) if finite and max(finite) > 0 else 1.0)
    effect, low, high = (sign * v / unit for v in (row.effect, row.low, row.high))
    low, high = min(low, high), max(low, high)
    region = {"lower": (0.0, math.inf), "higher": (0.0, math.inf), "equivalent": (-1.0, 1.0),
              "not_higher": (-1.0, math.inf), "not_lower": (-1.0, math.inf)}[row.expected]
    return effect, low, high, region


FOREST_LIMIT = 3.0
"""Where the forest plot clips an interval (in margins or own scales); an arrow marks the cut."""


def forest_plot(card: pd.DataFrame) -> Figure:
    """One row per claim: the decisive row's shift and 95% interval, in units of its margin (or of its
    own scale for a directional claim), signed so that the claim's direction points right, over the
    region the claim asserts (grey), coloured by the decisive row's verdict."""
    height = 1.6 + 0.24 * len(card)  # the legend below takes about an inch
    fig, ax = plt.subplots(figsize=(plotting.FIGURE_WIDTH_IN * 0.8, height))
    labels = []
    for position, row in enumerate(card.itertuples()):
        y = len(card) - 1 - position
        effect, low, high, (region_low, region_high) = _oriented(pd.Series(row._asdict()))
        ax.add_patch(mpl.patches.Rectangle((max(region_low, -FOREST_LIMIT), y - 0.35),
                                           min(region_high, FOREST_LIMIT) - max(region_low, -FOREST_LIMIT),
                                           0.7, color="#e8e8e8", zorder=0, linewidth=0))
        color = report.VERDICT_COLORS.get(row.decisive_verdict, "#000000")
        clipped = np.clip([low, high], -FOREST_LIMIT, FOREST_LIMIT)
        ax.plot(clipped, [y, y], color=color, linewidth=2, solid_capstyle="butt")
        for end, value in zip(clipped, (low, high), strict=True):
            if abs(value) > FOREST_LIMIT:
                ax.annotate("", (end, y), (end - 0.25 * np.sign(end), y), color=color,
                            arrowprops={"arrowstyle": "->", "color": color, "linewidth": 1.5})
        ax.plot([np.clip(effect, -FOREST_LIMIT, FOREST_LIMIT)], [y], "o", color=color, markersize=5)
        labels.append(f"{row.study}: {row.claim.replace('_', ' ')}")
    ax.set_yticks(range(len(card)), labels[::-1])
    ax.axvline(0.0, color="#555555", linewidth=0.8)
    ax.set_xlim(-FOREST_LIMIT - 0.2, FOREST_LIMIT + 0.2)
    ax.set_ylim(-0.7, len(card) - 0.3)
    ax.set_xlabel("shift / margin (→ the claim)")
    handles = [mpl.lines.Line2D([], [], color=color, marker="o", linewidth=2, label=verdict)
               for verdict, color in report.VERDICT_COLORS.items()
               if (card.decisive_verdict == verdict).any()]
    handles.append(mpl.patches.Patch(color="#e8e8e8", label="the claimed region"))
    fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
    fig.set_layout_engine("constrained")
    return plotting.finish(fig)


def scales_table(config: Config) -> pd.DataFrame:
    """Per claims page, the parameters whose value differs from the paper's."""
    return pd.DataFrame([{"study": part, "claims page": page.notebook,
                          "ours (the paper's)": scale_against_paper(page)}
                         for part, page in run_configs(config).items()])
