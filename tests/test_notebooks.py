"""The notebooks end to end: smoke execution through `nevolab run`, nbval, the book build, and the
committed smoke results reproduced by a fresh recompute."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nevolab import cli, store
from nevolab.figures import NOTEBOOKS, configure

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(NOTEBOOKS)


@pytest.fixture(scope="module")
def smoke_book(tmp_path_factory):
    """Every notebook executed with profile=smoke into a temporary book/ (results in the test dir)."""
    book = tmp_path_factory.mktemp("book")
    for name in NAMES:
        cli.execute(name, "smoke", {}, fresh=True, output_dir=book)
    return book


def test_every_notebook_has_a_parameters_cell_with_profile():
    import jupytext

    for name in NAMES:
        notebook = jupytext.read(ROOT / "notebooks" / f"{name}.py")
        first_code = next(cell for cell in notebook.cells if cell.cell_type == "code")
        assert "parameters" in first_code.metadata.get("tags", []), name
        assert first_code.source.splitlines()[0] == 'profile = "default"', name


def test_smoke_execution_hides_injected_parameters(smoke_book):
    import nbformat

    for name in NAMES:
        notebook = nbformat.read(smoke_book / f"{name}.ipynb", as_version=4)
        injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert injected and "remove-cell" in injected[0].metadata["tags"]
        assert 'profile = "smoke"' in injected[0].source
        errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, name


def test_nbval_on_smoke_notebooks(smoke_book, tmp_path):
    """nbval re-executes each smoke notebook in a fresh kernel (results come from the cache)."""
    import jupytext
    import papermill

    prepared = []
    for name in NAMES:
        target = tmp_path / f"{name}.ipynb"
        notebook = jupytext.read(ROOT / "notebooks" / f"{name}.py")
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                           "language": "python"}
        papermill.execute_notebook(notebook, str(target), parameters={"profile": "smoke"},
                                   prepare_only=True, kernel_name="python3")
        prepared.append(str(target))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "--nbval-lax", "-p", "no:cacheprovider",
                           "--nbval-current-env", *prepared], capture_output=True, text=True, timeout=1500,
                          cwd=tmp_path, env=os.environ.copy())
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{len(prepared)} passed" in done.stdout or "passed" in done.stdout


def test_book_builds_with_figures(smoke_book, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(ROOT / "book", site / "book", ignore=shutil.ignore_patterns("*.ipynb"))
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, site / name)
    for notebook in smoke_book.glob("*.ipynb"):
        shutil.copy(notebook, site / "book" / notebook.name)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    done = subprocess.run([str(jupyter_book), "build", ".", "--path-output", ".", "--keep-going"],
                          cwd=site, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    html = site / "_build" / "html"
    for name in NAMES:
        page = html / "book" / f"{name}.html"
        assert page.exists(), name
    images = list((html / "_images").glob("*.png"))
    assert len(images) >= 2
    a1 = (html / "book" / "a1_min_loss_curves.html").read_text()
    assert "_images/" in a1 and "value in the paper" in a1
    assert "injected-parameters" not in a1




def test_committed_smoke_results_are_reproduced(smoke_book):
    """The smoke results committed in data/results equal a fresh recompute (same numbers on CPU)."""
    committed_root = ROOT / "data" / "results"
    checked = 0
    for name in NAMES:
        config = configure(name, "smoke")
        fresh_table, _ = store.load(config)
        committed_csv = committed_root / name / f"{config.hash()}.csv"
        assert committed_csv.exists(), f"commit the smoke results of {name}: {committed_csv}"
        committed = pd.read_csv(committed_csv)
        assert list(committed.columns) == list(fresh_table.columns)
        numeric = [c for c in committed.columns if not c.endswith("_s")]  # wall-clock times
        pd.testing.assert_frame_equal(committed[numeric], fresh_table[numeric], check_exact=False,
                                      rtol=1e-6, atol=1e-9)
        checked += 1
    assert checked == len(NAMES)
