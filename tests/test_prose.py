"""The published pages say what their tables say: the default-profile notebooks execute from the
committed results without computing anything, every glued number equals the one recomputed from the
stored claims table, and no result is typed by hand into prose."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from nevolab import registry, report, store
from nevolab.registry import NOTEBOOKS
from nevolab.studies.b import claims as b_claims

ROOT = Path(__file__).resolve().parents[1]
CLAIMS_PAGES = ("a3_claims", "b4_claims", "c3_claims")

# A result typed by hand looks like "≈ 0.93", "about −250", "near 0.45", "p = 0.009" or a number
# with two or more decimals. Sentences that quote the paper, its code or its logs may carry its numbers.
TYPED_RESULT = re.compile(r"(≈|\babout|\bnear|\bp\s*[=≈<])\s*[−-]?\d|(?<![\w.])[−-]?\d+\.\d{2,}(?![\w.])")
QUOTES_THE_PAPER = re.compile(r"paper|original|Fig\.|figure|commit|log|arXiv|α|alpha", re.IGNORECASE)
# Constants of the methods, not results: the level α, the normal quantile of a 95% interval, the
# mutation rate and a perfect agreement score.
CONSTANTS = re.compile(r"(?<![\w.])(0\.05|1\.96|0\.01|0\.001|1\.000)(?![\w.])")


def _paragraphs(text: str) -> list[str]:
    """Paragraphs and list items of a Markdown text, each joined into one line."""
    blocks, current = [], []
    for line in text.splitlines():
        starts_item = re.match(r"\s*([-*]|\d+\.)\s", line) is not None
        if not line.strip() or starts_item:
            if current:
                blocks.append(" ".join(current))
            current = [line.strip()] if line.strip() else []
        else:
            current.append(line.strip())
    if current:
        blocks.append(" ".join(current))
    return blocks


def _prose() -> list[tuple[str, str]]:
    """(source, paragraph) for the prose a reader sees: notebook markdown and chapter pages."""
    paragraphs = []
    for name in sorted(NOTEBOOKS):
        notebook = jupytext.read(ROOT / "notebooks" / f"{name}.py")
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                paragraphs += [(name, p) for p in _paragraphs(cell.source)]
    for page in ("intro", "study_a", "study_b", "study_c", "how_we_decide"):
        paragraphs += [(page, p) for p in _paragraphs((ROOT / "book" / f"{page}.md").read_text())]
    return paragraphs


def typed_results(text: str, window: int = 60) -> list[str]:
    """The numbers in ``text`` that look like results typed by hand: not a method constant, and
    with no mention of the paper (its code, figure or logs) within ``window`` characters."""
    text = CONSTANTS.sub("", text)
    return [match.group(0) for match in TYPED_RESULT.finditer(text)
            if not QUOTES_THE_PAPER.search(text[max(0, match.start() - window):match.end() + window])]


def test_no_result_is_typed_into_prose():
    typed = [f"{source}: {found} in “{text[:120]}…”" for source, text in _prose()
             if (found := typed_results(text))]
    assert not typed, "numbers typed into prose (compute them, or glue them):\n" + "\n".join(typed)


def test_the_prose_check_catches_typed_results():
    assert typed_results("PPO reaches about −250 on Pendulum where the ES is near −600")
    assert typed_results("the effect is 0.654 here") and typed_results("p = 0.009")
    assert not typed_results("a 95% interval (1.96 SEM) at p ≤ 0.05 over 3 seeds")
    assert not typed_results("the paper's figure shows 0.43 for backprop")


def test_default_pages_execute_from_the_committed_results(default_book):
    book, computed, _ = default_book
    assert not computed, f"the committed results are stale; these were computed: {computed}"
    for name in (name for name, spec in NOTEBOOKS.items() if spec.in_book):
        notebook = nbformat.read(book / f"{name}.ipynb", as_version=4)
        errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, name


def _glued(notebook_path: Path) -> dict[str, str]:
    """The glued values of an executed notebook, as their text/plain representation."""
    notebook = nbformat.read(notebook_path, as_version=4)
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            key = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if key:  # papermill's record format: the mime types carry a prefix
                prefix = output["metadata"]["scrapbook"].get("mime_prefix", "")
                data = {mime.removeprefix(prefix): value for mime, value in output.get("data", {}).items()}
                values[key] = data.get("text/html") or data.get("text/plain", "")
    return values


@pytest.mark.parametrize("name", CLAIMS_PAGES)
def test_glued_counts_match_the_stored_claims_table(default_book, name, monkeypatch):
    book, _, results = default_book
    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(results))
    glued = _glued(book / f"{name}.ipynb")
    prefix = name.split("_")[0]
    assert glued, f"{name} glues nothing"
    claims, _ = store.load(registry.configure(name, "default"))
    assert int(glued[f"{prefix}_total"]) == len(claims)
    if "mode" in claims and (claims["mode"] != "-").any():
        counts = report.verdict_counts(claims)
        for mode, row in counts.iterrows():
            for verdict, count in row.items():
                assert int(glued[f"{prefix}_{mode}_{verdict.replace(' ', '_')}"]) == count
    else:
        counts = claims.verdict.value_counts()
        for verdict in ("reproduced", "not reproduced", "inconclusive", "underpowered"):
            assert int(glued[f"{prefix}_{verdict.replace(' ', '_')}"]) == counts.get(verdict, 0)
    labels = b_claims.LABELS if name == "b4_claims" else None
    assert glued[f"{prefix}_findings"].strip() == report.as_html(report.findings(claims, labels)).strip()


def test_chapter_pages_embed_the_computed_findings():
    for page, notebook in (("study_a", "a3_claims"), ("study_b", "b4_claims"), ("study_c", "c3_claims")):
        text = (ROOT / "book" / f"{page}.md").read_text()
        assert f"{{glue}} {notebook.split('_')[0]}_findings\n:doc: {notebook}.ipynb" in text, page



@pytest.mark.parametrize("name", CLAIMS_PAGES)
@pytest.mark.parametrize("profile", ["smoke", "default"])
def test_no_committed_verdict_is_at_odds_with_its_test(name, profile, monkeypatch):
    """Every stored claims table: a reproduced claim passed its Holm-corrected test, a contradicted one
    the contrary test, an underpowered one could not reach α once corrected over its family, one not
    tested at scale says what it lacks; columns start with the claims schema."""
    from nevolab.stats import ALPHA, CLAIM_COLUMNS, VERDICTS

    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(ROOT / "data" / "results"))  # read only
    claims, _ = store.load(registry.configure(name, profile))
    assert list(claims.columns[:len(CLAIM_COLUMNS)]) == list(CLAIM_COLUMNS)
    assert set(claims.verdict) <= set(VERDICTS)
    assert (claims[claims.verdict == "reproduced"].p_holm <= ALPHA).all()
    assert (claims[claims.verdict == "not reproduced"].p_against_holm <= ALPHA).all()
    underpowered = claims[claims.verdict == "underpowered"]
    floor = (underpowered.min_p_holm.fillna(underpowered.min_p) if "min_p_holm" in claims
             else underpowered.min_p)
    assert (floor > ALPHA).all()
    below = claims[claims.verdict == "not tested at scale"]
    if "below_scale" in claims:
        assert below.below_scale.fillna("").astype(str).str.len().gt(0).all()
    else:
        assert below.empty
    if name == "a3_claims" and profile == "default":  # every Study A claim shows both modes
        modes = claims.groupby(["claim", "scope"])["mode"].agg(set)
        assert (modes == {"faithful", "corrected"}).all(), modes[modes != {"faithful", "corrected"}]
