"""The page contract: a notebook is a thin figure script over its study's ``pages`` and ``analysis``
modules (its parameters cell, calls, figures and prose), and every claims page is found from the specs."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from nevolab.registry import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]
MAX_CODE_LINES = 80
STUDIES = ("a", "b", "c")


def code_lines(name: str) -> tuple[int, list[str]]:
    """The code lines of a notebook besides its parameters cell (no blank or comment-only lines),
    and the functions, classes and lambdas it defines."""
    import jupytext

    notebook = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    count, definitions = 0, []
    for cell in notebook.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        lines = [line for line in cell.source.splitlines()
                 if line.strip() and not line.strip().startswith("#")]
        count += len(lines)
        tree = ast.parse(cell.source)
        definitions += [getattr(node, "name", "lambda") for node in ast.walk(tree)
                        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
                                      | ast.Lambda)]
    return count, definitions


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_is_a_thin_figure_script(name):
    count, definitions = code_lines(name)
    assert count <= MAX_CODE_LINES, f"{name}: {count} code lines besides parameters (max {MAX_CODE_LINES})"
    assert not definitions, f"{name} defines {', '.join(definitions)}: move them into its study's modules"


def test_the_counter_sees_definitions_and_code(tmp_path, monkeypatch):
    """The counter is not vacuous: it counts code lines and finds a def and a lambda."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "toy.py").write_text(
        '# %% tags=["parameters"]\nprofile = "default"\n\n# %%\n# a comment\nx = 1\n\n\n'
        "def f():\n    return 2\n\ny = sorted([1], key=lambda v: v)\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    count, definitions = code_lines("toy")
    assert count == 4 and definitions == ["f", "lambda"]


@pytest.mark.parametrize("study", STUDIES)
def test_each_study_has_the_same_module_shape(study):
    """spec / runs / pages / claims / analysis in every study; pages has ``page_table``, and
    ``claims`` for its claims pages."""
    for module in ("spec", "runs", "pages", "claims", "analysis", "paper"):
        importlib.import_module(f"nevolab.studies.{study}.{module}")
    pages = importlib.import_module(f"nevolab.studies.{study}.pages")
    assert callable(pages.page_table) and callable(pages.claims)


def test_every_claims_page_is_on_the_scorecard():
    from nevolab.studies import scorecard

    claims_pages = {spec.name for spec in NOTEBOOKS.values() if spec.claims_page}
    assert claims_pages == set(scorecard.CLAIMS_PAGES.values())
    assert {"a3_claims", "b4_claims", "b5_transfer", "b6_connectivity_flatness", "b7_snr_correlation",
            "c3_claims", "c5_selection_stages", "c6_real_carracing"} == claims_pages


def test_no_provenance_seeds_are_written_by_hand():
    """Seeds for provenance come from the run config, inside the store."""
    offenders = [str(path.relative_to(ROOT)) for folder in ("src", "notebooks")
                 for path in (ROOT / folder).rglob("*.py")
                 if "seeds={" in path.read_text() and path.name != "store.py"]
    assert not offenders
