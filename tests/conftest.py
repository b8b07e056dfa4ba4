"""Shared fixtures: every test writes results and executed notebooks into temporary folders."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_results(tmp_path_factory):
    """Never let a test touch the committed data/results."""
    previous = os.environ.get("NEVOLAB_RESULTS_DIR")
    os.environ["NEVOLAB_RESULTS_DIR"] = str(tmp_path_factory.mktemp("results"))
    yield
    if previous is None:
        os.environ.pop("NEVOLAB_RESULTS_DIR", None)
    else:
        os.environ["NEVOLAB_RESULTS_DIR"] = previous


@pytest.fixture(scope="session")
def default_book(tmp_path_factory):
    """Every notebook executed at the default profile, as the published book, against a copy of the
    committed results: (the folder of executed notebooks, the result files that had to be computed,
    the results folder they read)."""
    import shutil
    from pathlib import Path

    from nevolab import cli
    from nevolab.registry import NOTEBOOKS

    root = Path(__file__).resolve().parents[1]
    results = tmp_path_factory.mktemp("committed") / "results"
    shutil.copytree(root / "data" / "results", results,
                    ignore=shutil.ignore_patterns(".locks", ".checkpoints"))
    before = {path.relative_to(results) for path in results.rglob("*") if path.is_file()}
    book = tmp_path_factory.mktemp("default_book")
    previous = os.environ["NEVOLAB_RESULTS_DIR"]
    os.environ["NEVOLAB_RESULTS_DIR"] = str(results)
    try:
        for name in sorted(name for name, spec in NOTEBOOKS.items() if spec.in_book):
            cli.execute(name, "default", {}, fresh=False, output_dir=book)
    finally:
        os.environ["NEVOLAB_RESULTS_DIR"] = previous
    after = {path.relative_to(results) for path in results.rglob("*") if path.is_file()}
    return book, sorted(str(path) for path in after - before), results
