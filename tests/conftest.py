"""Shared fixtures: every test writes results and executed notebooks into temporary folders.

``make test`` runs the suite on pytest-xdist workers. The scheduler below keeps together, on one
worker, the tests that share an expensive fixture (a book, a module-scoped run), so each is built
once, and starts the two books first. (xdist's own ``--dist loadgroup`` marks tests by rewriting
their node ids, which pytest 9.2 no longer allows, so the groups travel in a file instead.)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import jax
import pytest

# The oracle tests compare fp32 paths to 1e-5. On a GPU, JAX's default matmul precision is TF32, and
# two correct paths then differ by up to 1e-3 (seen on an H200); on a CPU this setting changes nothing.
jax.config.update("jax_default_matmul_precision", "highest")

# Fixtures built once per suite: every test that reads one runs on the worker that built it.
BOOK_FIXTURES = ("smoke_book", "default_book")
SHARED_SCOPES = ("package", "module", "class")
GROUPS_DIR = "NEVOLAB_TEST_GROUPS"  # where workers write {test id: group} for the controller


def work_unit(item: pytest.Item) -> str | None:
    """The work unit a test belongs to: the book it reads, else its module when it shares a
    module- or class-scoped fixture with its neighbours, else none (scheduled on its own)."""
    names = item.fixturenames
    for book in BOOK_FIXTURES:
        if book in names:
            return book
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs if info else {}
    shared = any(defs and defs[-1].scope in SHARED_SCOPES for name in names
                 if (defs := definitions.get(name)))
    return item.nodeid.split("::")[0] if shared else None


def pytest_configure(config: pytest.Config) -> None:
    """On the xdist controller: a folder for the workers' group files (inherited by the workers)."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        os.environ[GROUPS_DIR] = tempfile.mkdtemp(prefix="nevolab-test-groups-")


def pytest_unconfigure(config: pytest.Config) -> None:
    """On the xdist controller: remove the group files."""
    if not hasattr(config, "workerinput") and GROUPS_DIR in os.environ:
        shutil.rmtree(os.environ.pop(GROUPS_DIR), ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker: put the book groups first (they take longest, so they start at once
    while the other workers take the unit tests) and write each test's group for the scheduler."""
    if not hasattr(config, "workerinput") or GROUPS_DIR not in os.environ:
        return
    groups = {item.nodeid: work_unit(item) for item in items}
    rank = {book: index for index, book in enumerate(BOOK_FIXTURES)}
    items.sort(key=lambda item: rank.get(groups[item.nodeid], len(rank)))  # stable: keeps the rest
    path = Path(os.environ[GROUPS_DIR]) / f"{config.workerinput['workerid']}.json"
    path.write_text(json.dumps({nodeid: group for nodeid, group in groups.items() if group}))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``-n N`` (load or loadgroup): whole groups as work units, in the workers' order."""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        """Load scheduling with the groups of :func:`work_unit` as indivisible work units."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # read once every worker has collected (and written its file)
                files = sorted(Path(os.environ[GROUPS_DIR]).glob("*.json"))
                self.groups = json.loads(files[0].read_text()) if files else {}
            return self.groups.get(nodeid, nodeid)

    config.option.loadscopereorder = False  # keep the books first
    return GroupScheduling(config, log)


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


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """A results folder and a book folder of this test's own (a kernel or child process inherits them)."""
    results, book = tmp_path / "results", tmp_path / "book"
    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(results))
    monkeypatch.setenv("NEVOLAB_BOOK_DIR", str(book))
    return results, book


def hide_package(monkeypatch, package: str) -> None:
    """``package`` looks uninstalled: ``importlib.util.find_spec`` answers None for it and its modules."""
    import importlib.util

    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == package or name.startswith(package + ".") else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


@pytest.fixture
def without_envpool(monkeypatch):
    """``envpool`` looks uninstalled."""
    hide_package(monkeypatch, "envpool")


@pytest.fixture
def without_brax(monkeypatch):
    """``brax`` looks uninstalled."""
    hide_package(monkeypatch, "brax")
