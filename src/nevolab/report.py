"""How claims tables read on a page: compact, wrapping tables with the verdict visible, numbers with
their intervals, and sentences built from table rows (no number in prose is typed by hand)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import pandas as pd

from nevolab.stats import RESCIENCE_MARKS, VERDICTS


@dataclasses.dataclass(frozen=True)
class PaperClaim:
    """One claim of a paper: its sentence, how NevoLab tests it, the page it rests on, and the
    paper's own number where it gives one."""

    key: str
    sentence: str
    operationalisation: str
    figure: str
    paper_value: str = ""
    margin: str = ""  # the no-difference margin or threshold, in words ("" for a directional claim)
    margin_source: str = ""  # where it comes from: the paper's words or numbers, or "ours: ..." (labelled)
    scale: tuple[tuple[str, float], ...] = ()  # (run setting, the least value that decides the claim)
    scale_reason: str = ""  # why it needs that scale, from the paper

    @property
    def margin_is_ours(self) -> bool:
        """Whether the margin is a choice of ours rather than the paper's (then labelled as ours)."""
        return self.margin_source.startswith("ours")


VERDICT_COLORS = {"reproduced": "#1a7f37", "not reproduced": "#b42318", "inconclusive": "#6b6b6b",
                  "underpowered": "#9a6700", "not tested at scale": "#1f5fa8"}
#: A claims table's CSS: full column width, cells wrapped at spaces only (never inside a word or a
#: number; a table that still cannot fit scrolls sideways inside its column, see _static/nevolab.css),
#: set small and tight enough that a claims table's verdict column is in view in a desktop column.
_WRAP = [{"selector": "", "props": [("table-layout", "auto"), ("width", "100%"), ("font-size", "0.8em")]},
         {"selector": "td, th", "props": [("white-space", "normal"), ("overflow-wrap", "normal"),
                                          ("word-break", "normal"), ("padding", "2px 4px"),
                                          ("vertical-align", "top")]}]


def number(value: float, digits: int = 3) -> str:
    """A signed number for tables and prose, with ∞ spelled out and small values in scientific form."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        return "+∞" if value > 0 else "−∞"
    magnitude = abs(value)
    text = f"{value:+.{digits - 1}e}" if 0 < magnitude < 10 ** -digits else f"{value:+.{digits}f}"
    return "−" + text[1:] if text.startswith("-") else text


def interval(effect: float, low: float, high: float, digits: int = 3) -> str:
    """"effect [low, high]" with the same formatting as :func:`number`."""
    return f"{number(effect, digits)} [{number(low, digits)}, {number(high, digits)}]"


def p_value(value: float) -> str:
    """A p-value with two significant digits ("–" when not computed)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.2g}"


def compact(claims: pd.DataFrame, labels: Mapping[str, str] | None = None, digits: int = 3) -> pd.DataFrame:
    """The columns a reader needs, one cell each: claim, scope, mode, shift [95% interval], test,
    Holm p, n, verdict (with its ReScience mark)."""
    labels = labels or {}
    table = pd.DataFrame({
        "claim": claims.claim.map(lambda key: labels.get(key, key)),
        "scope": claims.scope,
        "mode": claims["mode"],
        "shift [95% CI]": [interval(r.effect, r.low, r.high, digits) for r in claims.itertuples()],
        "test": claims.test,
        "Holm p": claims.p_holm.map(p_value) if "p_holm" in claims else claims.p_value.map(p_value),
        "n": claims.n.astype(str),
        "verdict": claims.verdict.map(lambda v: f"{v} {RESCIENCE_MARKS[v]}" if v in ("reproduced",
                                                                                   "not reproduced") else v),
    })
    if (table["mode"] == "-").all():
        table = table.drop(columns="mode")
    return table


def styled(table: pd.DataFrame):
    """A Styler whose cells wrap between words so the table fits the page column, verdicts coloured."""
    def color(value: str) -> str:
        for verdict in VERDICTS:
            if isinstance(value, str) and value.startswith(verdict):
                return f"color: {VERDICT_COLORS[verdict]}; font-weight: 600"
        return ""

    styler = table.style.hide(axis="index").set_table_styles(_WRAP)
    if "verdict" in table:
        styler = styler.map(color, subset=["verdict"])
    return styler


def verdict_counts(claims: pd.DataFrame, by: str = "mode") -> pd.DataFrame:
    """Counts of each verdict per ``by`` (integers; every verdict is a column, zeros included)."""
    counts = claims.groupby(by).verdict.value_counts().unstack(fill_value=0)
    return counts.reindex(columns=list(VERDICTS), fill_value=0).astype(int)


def describe(row: pd.Series, label: str | None = None, digits: int = 3) -> str:
    """One sentence for one claims row: what was tested, the shift with its interval, the Holm p and
    the verdict."""
    where = "" if row.scope == "-" else f" ({row.scope}{'' if row['mode'] == '-' else ', ' + row['mode']})"
    return (f"{label or row.claim}{where}: shift {interval(row.effect, row.low, row.high, digits)}, "
            f"Holm p = {p_value(row.p_holm)}, n = {row.n} → **{row.verdict}**")


def verdict_tally(verdicts: pd.Series) -> str:
    """"3/5 Re · 1 ¬Re · 1 inconclusive" style counts of a claim's verdicts over its scopes."""
    counts = verdicts.value_counts()
    parts = [f"{counts.get('reproduced', 0)}/{len(verdicts)} Re"]
    for verdict, short in (("not reproduced", "¬Re"), ("inconclusive", "inconclusive"),
                           ("underpowered", "underpowered"), ("not tested at scale", "not at scale")):
        if counts.get(verdict, 0):
            parts.append(f"{counts[verdict]} {short}")
    return " · ".join(parts)


def findings(claims: pd.DataFrame, labels: Mapping[str, str] | None = None) -> str:
    """Markdown bullets, one per claim: per mode, its verdicts over scopes and where it was reproduced
    or contradicted (what a chapter page embeds instead of restating numbers)."""
    labels = labels or {}
    lines = []
    for key, tested in claims.groupby("claim", sort=False):
        clauses = []
        for mode, group in tested.groupby("mode", sort=False):
            where = [f"{word}: {', '.join(group[group.verdict == verdict].scope)}"
                     for word, verdict in (("reproduced", "reproduced"), ("contradicted", "not reproduced"))
                     if (group.verdict == verdict).any()]
            detail = f" ({'; '.join(where)})" if where else ""
            clauses.append(f"{'' if mode == '-' else mode + ': '}{verdict_tally(group.verdict)}{detail}")
        lines.append(f"- **{labels.get(key, key)}**: {' — '.join(clauses)}.")
    return "\n".join(lines)


def joined(names) -> str:
    """"a", "a and b", "a, b and c"."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def as_html(markdown: str) -> str:
    """Markdown rendered to HTML: what a chapter page can paste from another page (MyST-NB pastes
    HTML, not Markdown, across pages)."""
    from markdown_it import MarkdownIt

    return MarkdownIt().render(markdown)


def budget_sentence(records: pd.DataFrame, budget_min: float, what: str, expected: int) -> str:
    """One sentence: the compute of ``records``' runs in minutes against ``budget_min``, and where."""
    minutes = records.wall_time_s.sum() / 60.0
    missing = expected - len(records)
    if missing:
        return f"{what}: {missing} of {expected} runs are not computed yet, so their compute is not known."
    verdict = "within the budget" if minutes <= budget_min else "over the budget"
    machines = " and ".join(sorted(set(records.machine)))
    return f"{what} took {minutes:.0f} min of compute ({verdict} of {budget_min:.0f} min), on {machines}."
