"""Brax tasks (``brax:<env>``, the optional ``brax`` extra) in Study B.

The smoke test runs two ES generations of a Brax task on the CPU through Study B's own code path
(``studies.b.runs.es_table``); it is skipped when the extra is absent. The other tests simulate an
absent extra and need nothing installed.
"""


import numpy as np
import pytest

from nevolab import cli
from nevolab.config import ConfigError
from nevolab.registry import configure
from nevolab.studies.b import tasks
from nevolab.tasks import brax_control

INSTALL = "pip install -e '.[brax]' (or .venv/bin/pip install -r requirements-brax.lock)"


def test_brax_tasks_are_control_tasks_named_brax_env():
    assert tasks.task_family("brax:ant") == "gymnax"
    assert brax_control.is_brax_task("brax:inverted_pendulum") and not brax_control.is_brax_task("pendulum")
    assert tasks.PAPER_BRAX_TASKS == ("brax:ant", "brax:halfcheetah", "brax:hopper", "brax:humanoid",
                                      "brax:reacher", "brax:walker2d")
    assert tasks.strategy_for("brax:reacher", "paper") == "PGPE"


def test_without_the_extra_a_brax_task_fails_validation_in_one_line(without_brax):
    with pytest.raises(ConfigError) as error:
        configure("b1_ticket_curves", "smoke", tasks=["pendulum", "brax:ant"])
    message = str(error.value)
    assert message == f"parameter 'tasks': task 'brax:ant' needs the brax extra: {INSTALL}"
    assert "\n" not in message
    with pytest.raises(ModuleNotFoundError, match="brax extra"):
        tasks.make_task("brax:ant")


def test_without_the_extra_the_cli_exits_2_before_compute(without_brax, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("NEVOLAB_BOOK_DIR", str(tmp_path / "book"))
    assert cli.main(["run", "b1_ticket_curves", "-p", "tasks", "brax:ant"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "task 'brax:ant' needs the brax extra" in err and INSTALL in err
    assert not (tmp_path / "results").exists() and not (tmp_path / "book").exists()


def test_the_library_imports_without_brax():
    """Nothing imports brax at import time: only ``make_brax_task`` does."""
    import subprocess
    import sys

    code = ("import sys, nevolab.registry, nevolab.studies.b.runs, nevolab.tasks.brax_control; "
            "assert 'brax' not in sys.modules, 'brax imported eagerly'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_an_unknown_brax_environment_is_named():
    if not brax_control.brax_installed():
        pytest.skip("the brax extra is not installed")
    reason = brax_control.unavailable_reason("brax:fetch")
    assert reason is not None and "unknown Brax environment 'fetch'" in reason


def test_the_known_environments_are_braxs():
    pytest.importorskip("brax", reason="the brax extra is not installed: pip install -e '.[brax]'")
    from brax import envs

    assert set(brax_control.BRAX_ENVS) <= set(envs._envs)


def test_two_es_generations_of_a_brax_task_on_the_cpu():
    """Study B's real path (ESRun -> es_table -> run_es_imp) on Brax's inverted pendulum, spring
    backend (the fastest to compile on CPU): 2 generations, population 8, 50-step episodes."""
    pytest.importorskip("brax", reason="the brax extra is not installed: pip install -e '.[brax]' "
                                       "(or .venv/bin/pip install -r requirements-brax.lock)")
    from nevolab.studies.b.runs import ESRun, es_table

    run = ESRun(kind="es", task="brax:inverted_pendulum", strategy="Sep_CMA_ES",
                criteria=("snr", "magnitude", "random"), rounds=1, prune_fraction=0.5, seeds=(1,),
                generations=2, population=8, task_kwargs={"hidden_sizes": (8, 8), "num_rollouts": 1,
                                                          "test_rollouts": 2, "episode_length": 50})
    table = es_table(run)
    assert len(table) == 3 and set(table["criterion"]) == {"snr", "magnitude", "random"}
    assert table["task"].iloc[0] == "brax:inverted_pendulum/mlp8x8/T50/train1/test2"
    scores = table["test_performance"].to_numpy(float)
    assert np.isfinite(scores).all() and ((scores >= 0) & (scores <= 50)).all()  # reward 1 per step alive
