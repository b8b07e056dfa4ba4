"""The scorecard: every claim of the three papers in one table, computed from the stored claims tables
of A3, B4 and C3 (ReScience C's marks: [Re] replicated, [¬Re] not replicated)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar

import pandas as pd

from nevolab import report, store
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
                    "every claims page (A3, B4–B7, C3, C5): the paper's sentence and number, ours with its "
                    "interval, the verdict per mode, and the ReScience mark.",
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
    none did and some contradicted it, underpowered when every test was, partial when mixed."""
    values = set(verdicts)
    if values == {"reproduced"}:
        return RESCIENCE_MARKS["reproduced"]
    if values == {"underpowered"}:
        return "underpowered"
    if "reproduced" not in values:
        return RESCIENCE_MARKS["not reproduced"] if "not reproduced" in values else "inconclusive"
    return "partial"


def scale_against_paper(config: Config) -> str:
    """The parameters whose value differs from the paper's, as "name ours (paper theirs)"."""
    differences = []
    for param in config.spec.params:
        ours, theirs = config.values.get(param.name), param.paper
        if isinstance(theirs, int | float) and not isinstance(theirs, bool) and ours != theirs:
            differences.append(f"{param.name} {ours} (paper {theirs})")
    return "; ".join(differences) or "the paper's"


def scorecard(claims_by_study: Mapping[str, pd.DataFrame], configs: Mapping[str, Config]) -> pd.DataFrame:
    """One row per claim: study, key, the paper's sentence and number, our headline effect with its
    interval, the verdict tally per mode, the ReScience mark and the page it rests on (each study's
    scale against the paper's is :func:`scale_against_paper` of its ``configs`` entry)."""
    rows = []
    shown: dict[str, str] = {}
    for study, claims in claims_by_study.items():
        for paper_claim in PAPER_CLAIMS[study]:
            tested = claims[claims.claim == paper_claim.key]
            if tested.empty:
                continue
            if paper_claim.key in shown:
                raise ValueError(f"claim {paper_claim.key!r} is tested on two claims pages: "
                                 f"{CLAIMS_PAGES[shown[paper_claim.key]]} and {CLAIMS_PAGES[study]}")
            shown[paper_claim.key] = study
            scopes = list(dict.fromkeys(tested.scope))
            scope = HEADLINE_SCOPE.get(study, scopes[0])
            headline = tested[tested.scope == scope].iloc[0]
            modes = {mode: report.verdict_tally(group.verdict)
                     for mode, group in tested.groupby("mode", sort=False)}
            rows.append({
                "study": study, "claim": paper_claim.key, "sentence": paper_claim.sentence,
                "paper": paper_claim.paper_value or "–",
                "ours": f"{scope}: {report.interval(headline.effect, headline.low, headline.high)}",
                "faithful": modes.get("faithful", "–"), "corrected": modes.get("corrected", "–"),
                "verdict": modes.get("-", "–"), "mark": mark(tested.verdict), "page": paper_claim.figure,
            })
    return pd.DataFrame(rows)


MARK_COLUMNS = ("[Re]", "partial", "[¬Re]", "inconclusive", "underpowered")


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
        lambda: scorecard({part: claims_table(page) for part, page in page_configs.items()}, page_configs),
        fresh=fresh)


def mark_counts(card: pd.DataFrame) -> pd.DataFrame:
    """Claims per mark (columns) and study (rows), with an "all" row."""
    marks = card.groupby("study").mark.value_counts().unstack(fill_value=0)
    marks = marks.reindex(columns=list(MARK_COLUMNS), fill_value=0).astype(int)
    marks.loc["all"] = marks.sum()
    return marks


def summary_values(card: pd.DataFrame) -> dict[str, int | str]:
    """The counts the book's intro glues: claims, per mark, and whether the replication is full."""
    marks = mark_counts(card)
    values: dict[str, int | str] = {f"scorecard_{column.strip('[]').replace('¬', 'not_')}":
                                    int(marks.loc["all", column]) for column in marks}
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
    """The scorecard as a reader sees it: linked claim, the paper's words and number, ours, the
    verdicts over scopes per mode, the mark."""
    return pd.DataFrame({
        "claim": [f'{row.study}: <a href="{row.page}.html">{row.claim.replace("_", " ")}</a>'
                  for row in card.itertuples()],
        "the paper says": [f"“{sentence}”" for sentence in card.sentence],
        "the paper's number": card.paper,
        "ours (shift [95% CI])": card.ours,
        "verdicts over scopes": card.apply(_verdict_cell, axis=1),
        "mark": card.mark,
    })


def scales_table(config: Config) -> pd.DataFrame:
    """Per claims page, the parameters whose value differs from the paper's."""
    return pd.DataFrame([{"study": part, "claims page": page.notebook,
                          "ours (the paper's)": scale_against_paper(page)}
                         for part, page in run_configs(config).items()])
