"""A run over two local CPU processes (JAX's distributed runtime, gloo collectives) stores the same
tables as one process, and only process 0 writes.

Run as a script (``python tests/test_distributed.py OUT``) this file is one such process: it reads
its coordinator, process count and id from the environment (:mod:`nevolab.distributed`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nevolab import distributed

TIMEOUT_S = 240


def smoke_runs():
    """One small Study A run (CoSyNE on case I: a population of 19, so the padding to the mesh is
    exercised) and one small Study B ES run (Pendulum, one seed, SNR pruning)."""
    from nevolab import registry
    from nevolab.studies.a import runs as a_runs
    from nevolab.studies.b import runs as b_runs

    a_run = next(run for run in a_runs.run_configs(registry.configure("a1_min_loss_curves", "smoke"))
                 if run.algorithm == "cosyne")
    a_run = dataclasses.replace(a_run, repeats=2, generations=30)
    b_config = registry.configure("b1_ticket_curves", "smoke")
    b_run = b_runs.es_run("pendulum", b_config)
    b_run = dataclasses.replace(b_run, seeds=b_run.seeds[:1], criteria=("snr",))
    return a_run, b_run


def stored_tables() -> list:
    """The two runs' tables through the store (Study A without its wall-time measurement, which
    differs between runs; Study B without checkpoints, and without its tickets: those side files
    beside the store's tables are written by Study B's own code, on every process)."""
    from nevolab import store
    from nevolab.studies.a import runs as a_runs
    from nevolab.studies.b import runs as b_runs

    a_run, b_run = smoke_runs()
    return [store.cached(a_run, lambda: a_runs.run_case(a_run, measure_time=False))[0],
            store.cached(b_run, lambda: b_runs.es_table(b_run, None, keep_tickets=False))[0]]


def worker(out: Path) -> None:
    """One process: join the others, compute the tables, and leave what it saw in ``out``."""
    assert distributed.initialize(), "the coordinator's environment variables are not set"
    import jax

    from nevolab import runner, store

    saved = []
    original_save = store.save

    def counting_save(key, table, wall_time_s):
        saved.append(key.directory)
        return original_save(key, table, wall_time_s)

    store.save = counting_save
    tables = stored_tables()
    index = jax.process_index()
    for name, table in zip("ab", tables):
        table.to_pickle(out / f"process-{index}-{name}.pkl")
    mesh = runner.population_mesh()
    (out / f"process-{index}.json").write_text(json.dumps({
        "saved": saved, "process_count": jax.process_count(),
        "mesh_size": None if mesh is None else mesh.size}))


def test_one_process_initialises_nothing():
    assert not distributed.initialize({})
    assert not distributed.is_multiprocess() and distributed.is_writer()
    assert distributed.share_bytes(b"table") == b"table" and distributed.share_flag(True)


def test_local_processes_share_one_coordinator():
    environments = distributed.local_environments(3, port=12345)
    assert [env[distributed.PROCESS_ID_ENV] for env in environments] == ["0", "1", "2"]
    assert {env[distributed.COORDINATOR_ENV] for env in environments} == {"localhost:12345"}
    assert {env[distributed.NUM_PROCESSES_ENV] for env in environments} == {"3"}
    with pytest.raises(ValueError, match="at least 1"):
        distributed.local_environments(0)


def test_processes_option_is_refused_inside_a_multi_process_run(monkeypatch, capsys):
    from nevolab import cli

    monkeypatch.setenv(distributed.COORDINATOR_ENV, "localhost:1")
    assert cli.main(["run", "a1_min_loss_curves", "--profile", "smoke", "--processes", "2"]) == 2
    assert "--processes starts its own processes" in capsys.readouterr().err
    monkeypatch.delenv(distributed.COORDINATOR_ENV)
    assert cli.main(["run", "a1_min_loss_curves", "--processes", "0"]) == 2


def test_two_processes_store_the_tables_of_one(tmp_path, monkeypatch):
    import pandas as pd

    out, shared, alone = tmp_path / "out", tmp_path / "shared", tmp_path / "alone"
    out.mkdir()
    children = [subprocess.Popen(
        [sys.executable, __file__, str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **variables, "NEVOLAB_RESULTS_DIR": str(shared), "JAX_PLATFORMS": "cpu"})
        for variables in distributed.local_environments(2)]
    # The single-process reference, computed while the two processes run.
    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(alone))
    single = stored_tables()
    logs = []
    for child in children:
        try:
            logs.append(child.communicate(timeout=TIMEOUT_S)[0])
        except subprocess.TimeoutExpired:
            for other in children:
                other.kill()
            pytest.fail("the two processes did not finish in time")
    assert all(child.returncode == 0 for child in children), "\n".join(log[-3000:] for log in logs)

    seen = [json.loads((out / f"process-{index}.json").read_text()) for index in range(2)]
    assert [view["process_count"] for view in seen] == [2, 2]
    assert [view["mesh_size"] for view in seen] == [2, 2]  # the population spans both processes
    assert seen[0]["saved"] == ["study_a_runs", "study_b_runs"] and seen[1]["saved"] == []
    # Only process 0's files: one table and one record per run, and no other process's checkpoints.
    written = sorted(path.relative_to(shared).parts[0] for path in shared.rglob("*") if path.is_file()
                     and ".locks" not in path.parts)
    assert written == ["study_a_runs"] * 2 + ["study_b_runs"] * 2
    for index in range(2):
        for name, reference in zip("ab", single):
            table = pd.read_pickle(out / f"process-{index}-{name}.pkl")
            pd.testing.assert_frame_equal(table, reference, check_exact=True)  # bit for bit
    # The stored tables are the same bytes as one process's (the 9 significant digits written).
    for directory in ("study_a_runs", "study_b_runs"):
        [mine] = (shared / directory).glob("*.csv")
        assert mine.read_bytes() == (alone / directory / mine.name).read_bytes()


if __name__ == "__main__":
    worker(Path(sys.argv[1]))
