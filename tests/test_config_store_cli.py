import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from nevolab import cli, store
from nevolab.config import ConfigError
from nevolab.registry import NOTEBOOKS, configure


def test_profile_presets_and_overrides():
    smoke = configure("a1_min_loss_curves", "smoke")
    default = configure("a1_min_loss_curves", "default", repeats=7)
    assert smoke.repeats == 3 and default.repeats == 7 and default.overrides == ("repeats",)
    assert configure("a1_min_loss_curves", "paper").lstm_repeats == 500
    assert smoke.hash() != default.hash()
    assert configure("a1_min_loss_curves", "smoke").hash() == smoke.hash()
    table = default.table()
    assert list(table.columns) == ["value used", "value in the paper", "meaning"]


def test_parameter_table_page_view_shows_every_row_and_cell_in_full():
    """A notebook shows a DataFrame cut to 50 characters a cell and 60 rows, with "…"; the
    parameter table of a page shows all of it (pandas' own view of the same frame would not)."""
    import pandas as pd

    table = configure("a1_min_loss_curves", "default").table()
    longest = max(table["meaning"], key=len)
    assert len(longest) > 50
    with pd.option_context("display.max_colwidth", 50, "display.max_rows", 3, "display.min_rows", 2):
        page = table._repr_html_()
        assert longest not in pd.DataFrame(table)._repr_html_()
    assert longest.replace("'", "&#39;") in page or longest in page
    assert "..." not in page and "…" not in page
    assert all(f"<td>{name}</td>" in page for name in table.index)
    assert isinstance(table.loc[["seed"]], type(table))  # the full view survives selecting rows


@pytest.mark.parametrize("overrides, message", [
    ({"repeats": 0}, "'repeats': must be >= 1"),
    ({"repeats": "many"}, "'repeats': expected an integer"),
    ({"cases": ["I", "VII"]}, "'cases': unknown value 'VII'; valid: I, II, III, IV, V, VI"),
    ({"generations": 5000}, "'generations': the original data has 2000 batches"),
    ({"bogus": 1}, "unknown parameter 'bogus'"),
    ({"faithful": "perhaps"}, "'faithful': expected true or false"),
])
def test_bad_parameters_name_the_parameter(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        configure("a1_min_loss_curves", "default", **overrides)


def test_unknown_profile_and_notebook():
    with pytest.raises(ConfigError, match="unknown profile 'huge'; valid: smoke, default, paper"):
        configure("a1_min_loss_curves", "huge")
    with pytest.raises(ConfigError, match="unknown notebook 'zz'"):
        configure("zz")


@pytest.mark.parametrize("args, message", [
    (["run", "a1_min_loss_curves", "-p", "repeats", "0"], "parameter 'repeats'"),
    (["run", "a1_min_loss_curves", "-p", "cases", "I,IX"], "unknown value 'IX'"),
    (["run", "no_such_notebook"], "unknown notebook"),
    (["run", "a1_min_loss_curves", "-p", "nope", "3"], "unknown parameter 'nope'"),
    (["run", "a1_min_loss_curves", "--profile", "huge"], "unknown profile 'huge'"),
])
def test_cli_rejects_bad_input_before_compute(tmp_path, args, message):
    env = {**os.environ, "NEVOLAB_RESULTS_DIR": str(tmp_path / "results"),
           "NEVOLAB_BOOK_DIR": str(tmp_path / "book")}
    done = subprocess.run([sys.executable, "-m", "nevolab.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 3
    assert not (tmp_path / "results").exists() and not (tmp_path / "book").exists()


def test_cli_names_an_absent_dataset_before_compute(tmp_path):
    """Offline, a task whose data is absent fails in validation: exit 2, one line naming the file and
    the folder to put it in, nothing written."""
    env = {**os.environ, "NEVOLAB_RESULTS_DIR": str(tmp_path / "results"), "NEVOLAB_OFFLINE": "1",
           "NEVOLAB_BOOK_DIR": str(tmp_path / "book"), "NEVOLAB_DATA_DIR": str(tmp_path / "downloads")}
    done = subprocess.run([sys.executable, "-m", "nevolab.cli", "run", "b1_ticket_curves", "-p", "tasks",
                           "pendulum,mnist"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    for needle in ("parameter 'tasks'", "'mnist'", "train-images-idx3-ubyte.gz", str(tmp_path / "downloads")):
        assert needle in done.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "book").exists()


def test_cli_list_shows_every_notebook(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name in NOTEBOOKS:
        assert name in out
    assert "repeats (int)" in out and "paper: 100" in out


def _config():
    return configure("a3_claims", "smoke", seed=11)


def test_store_round_trip_provenance_and_reuse():
    config = _config()
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"x": [1.5, 2.25], "name": ["a", "b"]})

    table, record = store.cached(config, compute)
    again, _ = store.cached(config, compute)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(table, again)
    for key in ("config", "seeds", "git_commit", "packages", "machine", "wall_time_s", "date"):
        assert key in record
    assert record["config"]["seed"] == 11 and record["packages"]["jax"]
    store.cached(config, compute, fresh=True)
    assert len(calls) == 2
    directory = store.results_dir() / "a3_claims"
    assert not [p for p in directory.iterdir() if p.name.startswith(".")]  # no temp files left


@pytest.mark.parametrize("damage", ["table", "record", "schema", "columns"])
def test_corrupted_results_are_detected_and_recomputed(damage):
    config = configure("a3_claims", "smoke", seed=12)
    table_path, record_path = store.paths_for(config)
    store.cached(config, lambda: pd.DataFrame({"x": [1.0, 2.0]}))
    if damage == "table":
        table_path.write_text("x\n1.0\n3.0\n")
    elif damage == "record":
        record_path.write_text("{not json")
    else:
        record = json.loads(record_path.read_text())
        if damage == "schema":
            record["schema_version"] = -1
        else:
            record["columns"] = ["y"]
        record_path.write_text(json.dumps(record))
    with pytest.warns(UserWarning, match="recomputing a3_claims"):
        table, _ = store.cached(config, lambda: pd.DataFrame({"x": [7.0]}))
    assert table.x.tolist() == [7.0]


def test_failed_compute_writes_nothing():
    config = configure("a3_claims", "smoke", seed=13)

    def broken():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.cached(config, broken)
    table_path, record_path = store.paths_for(config)
    assert not table_path.exists() and not record_path.exists()


LOCK_SCRIPT = """
import sys, time
import pandas as pd
from nevolab import store
from nevolab.registry import configure

def compute():
    with open(sys.argv[1], "a") as log:
        log.write("computed\\n")
    time.sleep(1.5)
    return pd.DataFrame({"x": [1.0, 2.0]})

table, _ = store.cached(configure("a3_claims", "smoke", seed=21), compute)
print(table.x.sum())
"""


def test_two_processes_on_one_key_compute_it_once(tmp_path):
    """The second process waits on the key's lock, then loads what the first one stored."""
    import subprocess
    import sys

    log = tmp_path / "computed.log"
    env = {**os.environ, "NEVOLAB_RESULTS_DIR": str(tmp_path / "results"), "NEVOLAB_JAX_CACHE": "0"}
    workers = [subprocess.Popen([sys.executable, "-c", LOCK_SCRIPT, str(log)], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), [err[-2000:] for _, err in outputs]
    assert [float(out) for out, _ in outputs] == [3.0, 3.0]
    assert log.read_text().count("computed") == 1


def test_a_kill_during_compute_leaves_no_table_and_no_lock_held(tmp_path):
    """A process killed while computing leaves nothing stored; the next one computes normally."""
    import signal
    import subprocess
    import sys
    import time

    log = tmp_path / "computed.log"
    env = {**os.environ, "NEVOLAB_RESULTS_DIR": str(tmp_path / "results"), "NEVOLAB_JAX_CACHE": "0"}
    victim = subprocess.Popen([sys.executable, "-c", LOCK_SCRIPT, str(log)], env=env)
    deadline = time.time() + 120
    while not log.exists() and time.time() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    stored = [*(tmp_path / "results").rglob("*.csv"), *(tmp_path / "results").rglob("*.json")]
    assert not stored
    done = subprocess.run([sys.executable, "-c", LOCK_SCRIPT, str(log)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout) == 3.0 and log.read_text().count("computed") == 2


def test_configure_from_reads_a_notebooks_namespace():
    from nevolab import registry

    namespace = {"profile": "smoke", "rounds": 3, "seeds": None, "unrelated": 1}
    config = registry.configure_from("b1_ticket_curves", namespace)
    assert config.profile == "smoke" and config.rounds == 3 and config.seeds == 2
    assert config == registry.configure("b1_ticket_curves", "smoke", rounds=3)


def test_store_journal_rolls_back_new_page_tables_only(tmp_path, monkeypatch):
    """A journaled run's new tables in the chosen folders are removed; a table already stored before
    (a fresh recompute), a table another process has since rewritten, and other folders stay."""
    journal = tmp_path / "journal.jsonl"
    monkeypatch.setenv(store.JOURNAL_ENV, str(journal))
    page, kept, other = (configure("a3_claims", "smoke", seed=seed) for seed in (31, 32, 33))
    run = configure("b4_claims", "smoke")
    monkeypatch.delenv(store.JOURNAL_ENV)
    store.cached(kept, lambda: pd.DataFrame({"x": [1.0]}))  # stored before the run
    monkeypatch.setenv(store.JOURNAL_ENV, str(journal))
    store.cached(kept, lambda: pd.DataFrame({"x": [1.0]}), fresh=True)
    for key in (page, other, run):
        store.cached(key, lambda: pd.DataFrame({"x": [2.0]}))
    rewritten = store.paths_for(other)[1]
    rewritten.write_text(rewritten.read_text() + " ")  # as if another process had stored it since
    removed = store.roll_back(journal, {"a3_claims"})
    assert sorted(removed) == sorted([*store.paths_for(page)])
    assert not any(path.exists() for path in store.paths_for(page))
    assert all(path.exists() for key in (kept, other, run) for path in store.paths_for(key))
    assert store.roll_back(tmp_path / "absent.jsonl", {"a3_claims"}) == []
