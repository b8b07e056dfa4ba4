"""Input that cannot fool a verdict: bad input through the CLI exits 2 in one line naming the
parameter with nothing written, and a notebook that fails in a later cell ends in one line (exit 1),
keeps its executed notebook for the traceback and leaves none of its page tables in the store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nevolab import cli, registry, store
from nevolab.config import ConfigError, NotebookSpec, Param, resolve


def files_under(*folders: Path) -> list[Path]:
    """Every file under ``folders``, lock files aside (a lock holds no result)."""
    return sorted(path for folder in folders if folder.exists() for path in folder.rglob("*")
                  if path.is_file() and ".locks" not in path.parts)


def refused(args: list[str], parameter: str, capsys, dirs, monkeypatch) -> None:
    """``nevolab ARGS`` exits 2 with one stderr line naming ``parameter`` and writes nothing."""
    # Input that gets past validation must fail here, not run a page for minutes.
    monkeypatch.setattr(cli, "execute", lambda *args, **kwargs: pytest.fail("validation let it through"))
    assert cli.main(args) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nevolab: error: ") and parameter in lines[0], lines[0]
    assert out == "" and files_under(*dirs) == [] and not dirs[1].exists()


BAD_PARAMETERS = [
    # duplicates: one entry listed twice would count its seeds twice
    (["a3_claims", "-p", "cases", "I,I"], "'cases'"),
    (["c5_selection_stages", "-p", "tasks", "racing,racing"], "'tasks'"),
    (["c5_selection_stages", "-p", "variants", "dense,dense"], "'variants'"),
    (["c4_pixel_rl_scores", "-p", "variants", "factorized,small,factorized"], "'variants'"),
    # an envpool task that is not in the table; envpool's beside a JAX task other than racing
    (["c4_pixel_rl_scores", "-p", "tasks", "envpool:Pong"], "'tasks'"),
    (["c5_selection_stages", "-p", "tasks", "minatar:Breakout,envpool:Kangaroo"], "'tasks'"),
    # NaN passes a minimum-only check (nan < minimum is False)
    (["b6_connectivity_flatness", "-p", "span", "nan"], "'span'"),
    (["b6_connectivity_flatness", "-p", "surface_span", "nan"], "'surface_span'"),
    (["c1_lm_fitness_curves", "-p", "adam_learning_rate", "nan"], "'adam_learning_rate'"),
    # inf
    (["c1_lm_fitness_curves", "-p", "mutation_rate", "inf"], "'mutation_rate'"),
    (["c4_pixel_rl_scores", "-p", "mutation_rate", "inf"], "'mutation_rate'"),
    (["c5_selection_stages", "-p", "mutation_rate", "inf"], "'mutation_rate'"),
    (["b6_connectivity_flatness", "-p", "surface_span", "inf"], "'surface_span'"),
    # a population that cannot fit (an upper bound or the memory estimate refuses it)
    (["c4_pixel_rl_scores", "-p", "population", "10000000"], "'population'"),
    (["c5_selection_stages", "-p", "population", "1e22"], "'population'"),
    (["c5_selection_stages", "-p", "population", str(10**22)], "'population'"),
]


@pytest.mark.parametrize("args, parameter", BAD_PARAMETERS, ids=[" ".join(a) for a, _ in BAD_PARAMETERS])
def test_bad_parameters_exit_2_in_one_line_writing_nothing(args, parameter, capsys, dirs, monkeypatch):
    refused(["run", *args, "--profile", "smoke"], parameter, capsys, dirs, monkeypatch)


@pytest.mark.parametrize("args, parameter", [
    (["a3_claims", "-p", "cases", "II,III,II"], "'cases'"),
    (["c1_lm_fitness_curves", "-p", "mutation_rate", "nan"], "'mutation_rate'"),
])
def test_bad_parameters_refused_by_the_command(args, parameter, dirs):
    """The same through the installed entry point: a real process, its real stderr."""
    done = subprocess.run([sys.executable, "-m", "nevolab.cli", "run", *args], env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and parameter in done.stderr, done.stderr
    assert files_under(*dirs) == [] and not dirs[1].exists()


def toy_spec(name: str = "toy_memory") -> NotebookSpec:
    """A spec whose peak memory is one MiB per member of its population."""
    return NotebookSpec(
        name=name, title="toy", description="a spec with a memory estimate",
        params=(Param("population", "int", {"default": 10}, paper=10, help="members", minimum=1),),
        memory_estimate=lambda values: (values["population"] * 2**20, "population"))


def test_memory_estimate_refuses_what_cannot_fit(monkeypatch, capsys, dirs):
    monkeypatch.setenv("NEVOLAB_MEMORY_GB", "0.5")
    spec = toy_spec()
    assert resolve(spec, population=500).population == 500  # 500 MiB fits in 512 MiB
    with pytest.raises(ConfigError, match=r"parameter 'population': this run needs about 0\.586 GB"):
        resolve(spec, population=600)
    monkeypatch.setitem(registry.NOTEBOOKS, spec.name, spec)
    refused(["run", spec.name, "-p", "population", "600"], "'population'", capsys, dirs, monkeypatch)


@pytest.mark.parametrize("budget", ["lots", "0", "-2", "nan", "inf"])
@pytest.mark.parametrize("notebook", ["toy_memory", "a3_claims"])
def test_a_bad_memory_budget_is_refused_in_one_line(budget, notebook, monkeypatch, capsys, dirs):
    monkeypatch.setenv("NEVOLAB_MEMORY_GB", budget)
    monkeypatch.setitem(registry.NOTEBOOKS, "toy_memory", toy_spec())
    refused(["run", notebook, "--profile", "smoke"], "NEVOLAB_MEMORY_GB", capsys, dirs, monkeypatch)


TOY_NOTEBOOK = '''# %% tags=["parameters"]
profile = "default"
fresh = False

# %%
import dataclasses
from typing import ClassVar

import pandas as pd

from nevolab import registry, store
from nevolab.config import ConfigError, RunConfig


@dataclasses.dataclass(frozen=True)
class ToyRun(RunConfig):
    KIND: ClassVar[str] = "study_toy_runs"
    seed: int = 0


config = registry.configure_from("b4_claims", globals())
runs, _ = store.cached(ToyRun(), lambda: pd.DataFrame({"x": [1.0]}), fresh=fresh)
page, _ = store.cached(config, lambda: pd.DataFrame({"y": [2.5]}), fresh=fresh)
claims, _ = store.cached(registry.configure("a3_claims", "smoke"), lambda: pd.DataFrame({"z": [3.0]}))

# %% tags=["later"]
LATER
'''


def toy_notebook(folder: Path, later: str, monkeypatch) -> None:
    """``b4_claims`` as a toy: it stores a run table, its page table and a claims table, then runs
    ``later``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "b4_claims.py").write_text(TOY_NOTEBOOK.replace("LATER", later))
    monkeypatch.setattr(cli, "notebooks_dir", lambda: folder)


@pytest.mark.parametrize("later, code, error, kept", [
    ('raise RuntimeError("boom")', 1, "RuntimeError: boom", '"ename": "RuntimeError"'),
    ('raise ConfigError("parameter \'x\': bad\\nsecond line")', 2, "ConfigError: parameter 'x': bad",
     '"ename": "ConfigError"'),
    ("import os\nos._exit(3)", 1, "DeadKernelError: Kernel died", "os._exit(3)"),  # the kernel dies
])
def test_a_failing_later_cell_ends_in_one_line_and_stores_nothing(later, code, error, kept, tmp_path,
                                                                   monkeypatch, capfd, dirs):
    results, book = dirs
    toy_notebook(tmp_path / "notebooks", later, monkeypatch)
    assert cli.main(["run", "b4_claims", "--profile", "smoke"]) == code
    out, err = capfd.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    failed = book / "b4_claims.failed.ipynb"
    assert lines[0].startswith("nevolab: error: b4_claims failed in cell In [4] [later] `"), lines[0]
    assert lines[0].endswith(f"`: {error} (full traceback in {failed})"), lines[0]  # the first line only
    assert out == ""
    # The page's tables (its own and the claims table it stored) are gone; the run table stays.
    stored = [path.relative_to(results).parts[0] for path in files_under(results)]
    assert sorted(stored) == ["study_toy_runs", "study_toy_runs"]
    assert failed.exists() and kept in failed.read_text()
    assert sorted(path.name for path in book.iterdir()) == ["b4_claims.failed.ipynb"]
    assert store.JOURNAL_ENV not in os.environ


def test_a_valid_run_still_works_end_to_end(tmp_path, monkeypatch, capsys, dirs):
    """The toy page without its failure: exit 0, the executed notebook written, its tables stored,
    and the failed notebook of an earlier failing run removed."""
    results, book = dirs
    toy_notebook(tmp_path / "notebooks", 'raise RuntimeError("boom")', monkeypatch)
    assert cli.main(["run", "b4_claims", "--profile", "smoke"]) == 1
    toy_notebook(tmp_path / "notebooks", 'print("rows", len(page))', monkeypatch)
    assert cli.main(["run", "b4_claims", "--profile", "smoke"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == f"wrote {book / 'b4_claims.ipynb'}"
    assert sorted(path.name for path in book.iterdir()) == ["b4_claims.ipynb"]
    assert "rows 1" in (book / "b4_claims.ipynb").read_text()
    folders = sorted({path.relative_to(results).parts[0] for path in files_under(results)})
    assert folders == ["a3_claims", "b4_claims", "study_toy_runs"]
    table, _ = store.load(registry.configure("b4_claims", "smoke"))
    pd.testing.assert_frame_equal(table, pd.DataFrame({"y": [2.5]}))


def test_run_all_stops_at_the_first_failing_page_in_one_line(monkeypatch, capsys, dirs):
    calls = []

    def failing(name, *args, **kwargs):
        calls.append(name)
        raise cli.RunFailed(f"{name} failed in cell In [3] `x = 1 / 0`: ZeroDivisionError: division by zero")

    monkeypatch.setattr(cli, "execute", failing)
    assert cli.main(["run-all", "--profile", "smoke"]) == 1
    out, err = capsys.readouterr()
    assert len(calls) == 1 and out == ""
    assert err.strip().splitlines() == [f"nevolab: error: {calls[0]} failed in cell In [3] `x = 1 / 0`: "
                                        "ZeroDivisionError: division by zero"]


def test_a_kernel_that_dies_is_named_in_one_line():
    """An error outside any cell's output (the kernel died, a start-up timeout) still gives one line."""
    line = cli.failure_line("c4_pixel_rl_scores", RuntimeError("Kernel died before replying\nmore"), None)
    assert line == "c4_pixel_rl_scores failed: RuntimeError: Kernel died before replying"
