"""The notebooks end to end: smoke execution through `nevolab run`, nbval, the book build, and the
committed smoke results reproduced by a fresh recompute."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nevolab import cli, store
from nevolab.registry import NOTEBOOKS, configure, page_key

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(NOTEBOOKS)


@pytest.fixture(scope="module")
def smoke_book(tmp_path_factory):
    """Every notebook executed with profile=smoke into a temporary book/, each result computed afresh
    once: into an empty results folder, so a run that several pages share (B1-B4's ES runs, A1-A3's,
    C1-C3's) is computed by the first page and read by the others, as `make book` does. That folder
    is this module's results folder while its tests run (nbval and the reproduction check read it)."""
    book = tmp_path_factory.mktemp("book")
    results = tmp_path_factory.mktemp("smoke_results")
    previous = os.environ["NEVOLAB_RESULTS_DIR"]
    os.environ["NEVOLAB_RESULTS_DIR"] = str(results)
    try:
        for name in NAMES:
            cli.execute(name, "smoke", {}, fresh=False, output_dir=book)
        yield book
    finally:
        os.environ["NEVOLAB_RESULTS_DIR"] = previous


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
        defaults = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
        assert defaults and "hide-cell" in defaults[0].metadata["tags"], name  # collapsed on the page
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
    shutil.copytree(ROOT / "_static", site / "_static")  # the book's CSS
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, site / name)
    for notebook in smoke_book.glob("*.ipynb"):
        shutil.copy(notebook, site / "book" / notebook.name)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    done = subprocess.run([str(jupyter_book), "build", ".", "--path-output", ".", "--keep-going"],
                          cwd=site, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    html = site / "_build" / "html"
    for name in (name for name in NAMES if NOTEBOOKS[name].in_book):
        page = html / "book" / f"{name}.html"
        assert page.exists(), name
    images = list((html / "_images").glob("*.png"))
    assert len(images) >= 2
    a1 = (html / "book" / "a1_min_loss_curves.html").read_text()
    assert "_images/" in a1 and "value in the paper" in a1
    assert "injected-parameters" not in a1
    bibliography = (html / "book" / "bibliography.html").read_text().lower()  # the style lowercases titles
    for title in ("Lottery Tickets in Evolutionary Optimization", "Low Rank Factorizations",
                  "NN auto-encoders", "Deep Neuroevolution"):
        assert title.lower() in bibliography, title
    assert "fruttasecca/backprop_vs_bio" in (html / "book" / "originals.html").read_text()
    assert "could not find bibtex key" not in done.stdout + done.stderr




# Across CPU models the numbers are not bit-identical: XLA:CPU and its kernel libraries pick code
# by instruction set (AVX2 vs AVX-512), so sums round differently and chaotic quantities (Pendulum
# returns, fitness differences of the Deep GA) drift further. Measured between the AMD EPYC and
# Intel Xeon builders on every smoke table: at most 8.4e-5 of a column's largest magnitude.
CROSS_CPU_TOLERANCE = 1e-3


def _same_cpu(committed_machine: dict, current_machine: dict) -> bool:
    """Same CPU model, vector ISA and CPU id (family, model, stepping, feature flags). A record that
    does not name them (written before records did) cannot be assumed to match: one "AMD EPYC" may
    be another microarchitecture, and has given last-digit differences (Study B's smoke claims)."""
    return all(committed_machine.get(key) == current_machine.get(key) and committed_machine.get(key)
               for key in ("cpu", "vector_isa", "cpu_id"))


def assert_reproduced(committed: pd.DataFrame, fresh: pd.DataFrame, same_cpu: bool, name: str) -> None:
    """Equal to float32 rounding on the same CPU model; across models, non-float columns exactly and
    float columns to ``CROSS_CPU_TOLERANCE`` of each column's scale. Wall-clock columns excepted."""
    assert list(committed.columns) == list(fresh.columns), name
    numeric = [c for c in committed.columns if not c.endswith("_s")]  # wall-clock times
    if same_cpu:
        pd.testing.assert_frame_equal(committed[numeric], fresh[numeric], check_exact=False,
                                      rtol=1e-6, atol=1e-9, obj=name)
        return
    floats = [c for c in numeric if pd.api.types.is_float_dtype(committed[c])]
    others = [c for c in numeric if c not in floats]
    pd.testing.assert_frame_equal(committed[others], fresh[others], obj=name)
    for column in floats:
        expected, got = committed[column].to_numpy(float), fresh[column].to_numpy(float)
        assert np.array_equal(np.isnan(expected), np.isnan(got)), f"{name}.{column}: NaN pattern differs"
        finite = np.isfinite(expected)
        scale = float(np.max(np.abs(expected[finite]), initial=0.0))
        np.testing.assert_array_equal(expected[~finite & ~np.isnan(expected)], got[~finite & ~np.isnan(got)])
        np.testing.assert_allclose(got[finite], expected[finite], rtol=0,
                                   atol=CROSS_CPU_TOLERANCE * scale + 1e-9, err_msg=f"{name}.{column}")


def test_committed_smoke_results_are_reproduced(smoke_book):
    """The smoke results committed in data/results equal a fresh recompute (same numbers on the
    same CPU model; see ``CROSS_CPU_TOLERANCE`` for results committed from another one)."""
    committed_root = ROOT / "data" / "results"
    current_machine = store.machine()
    checked = 0
    for name in NAMES:
        key = page_key(configure(name, "smoke"))
        fresh_table, _ = store.load(key)
        committed_csv = committed_root / key.directory / f"{key.hash()}.csv"
        assert committed_csv.exists(), f"commit the smoke results of {name}: {committed_csv}"
        committed_machine = json.loads(committed_csv.with_suffix(".json").read_text())["machine"]
        assert_reproduced(pd.read_csv(committed_csv), fresh_table,
                          _same_cpu(committed_machine, current_machine), name)
        checked += 1
    assert checked == len(NAMES)


def test_the_smoke_scorecard_holds_every_claim_of_the_papers(smoke_book):
    """The scorecard computed afresh at smoke has one row per claim of the three papers."""
    from nevolab.studies import scorecard

    key = scorecard.scorecard_key(scorecard.run_configs(configure("scorecard", "smoke")))
    card, _ = store.load(key)
    papers = {claim.key for claims in scorecard.STUDY_PAPER_CLAIMS.values() for claim in claims}
    assert sorted(card.claim) == sorted(papers)


def test_cross_cpu_comparison_still_catches_real_changes():
    committed = pd.DataFrame({"round": [0, 1, 2], "loss": [1.0, 0.5, np.nan],
                              "score": [-1500.0, -900.0, 3.0]})
    drifted = committed.assign(score=committed.score * (1 + 2e-5))
    assert_reproduced(committed, drifted, same_cpu=False, name="drift")
    with pytest.raises(AssertionError):
        assert_reproduced(committed, drifted, same_cpu=True, name="drift")
    for changed in (committed.assign(score=[-1500.0, -800.0, 3.0]), committed.assign(round=[0, 1, 3]),
                    committed.assign(loss=[1.0, 0.5, 0.1])):
        with pytest.raises(AssertionError):
            assert_reproduced(committed, changed, same_cpu=False, name="changed")
