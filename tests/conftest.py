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
