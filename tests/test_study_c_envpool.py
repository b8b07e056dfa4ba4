"""Study C on the paper's real environments (``envpool:<task>``, the optional envpool extra): the task
table's entries, the specs' validation, and C4 at smoke end to end through the CLI.

The two end-to-end runs (CarRacing about 35 s, Kangaroo about 20 s here with a warm JAX compilation
cache; 50 s and 25 s cold) skip when the extra is absent and say how to install it; everything else,
the missing-extra refusal included (simulated), needs nothing installed.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pandas as pd
import pytest

from nevolab import cli
from nevolab.config import ConfigError
from nevolab.models import pixel_cnn
from nevolab.registry import configure, get_spec
from nevolab.studies.c import analysis, pixel, pixel_tasks
from nevolab.studies.c import paper as c_paper
from nevolab.studies.c.claims import discrete_task, paper_atari_tasks, pixel_settings
from nevolab.tasks import envpool_pixel

pytestmark = pytest.mark.filterwarnings("ignore:.*precision lowered by casting:UserWarning")
needs_envpool = pytest.mark.skipif(not envpool_pixel.envpool_installed(),
                                   reason=f"the envpool extra is not installed: {envpool_pixel.INSTALL_HINT}")
COMMANDS = {  # issue 28's done-when commands, and what C4's runs at smoke must hold
    "envpool:CarRacing-v3": 957_923,  # the paper's CarRacing network, parameter for parameter
    "envpool:Kangaroo": None,
}


# --- the task table (no envpool needed) ---------------------------------------------------------------


def test_the_table_names_every_envpool_task_and_iterates_the_jax_ones():
    """Every envpool task is an entry by name; iterating the table gives the JAX tasks only; the paper
    preset is the paper's own environments."""
    names = tuple(envpool_pixel.PREFIX + name for name in envpool_pixel.TASKS)
    assert pixel_tasks.ENVPOOL_PIXEL_TASKS == names
    assert pixel_tasks.PIXEL_TASKS == (*pixel_tasks.JAX_PIXEL_TASKS, *names)
    assert not any(pixel_tasks.is_envpool(task) for task in pixel_tasks.TASKS)
    paper = get_spec("c4_pixel_rl_scores").param("tasks").presets["paper"]
    assert paper == ["envpool:CarRacing-v3", *(f"envpool:{game}" for game in c_paper.PAPER_ATARI_GAMES)]
    for name in names:
        assert pixel_tasks.TASKS[name].name == name and pixel_tasks.get_task(name).envpool
        assert pixel_tasks.pixel_task_problem(name) is None or not envpool_pixel.envpool_installed()
    with pytest.raises(KeyError):
        pixel_tasks.TASKS["envpool:Pong"]


@pytest.mark.parametrize("name", pixel_tasks.ENVPOOL_PIXEL_TASKS)
@pytest.mark.parametrize("variant", ["dense", "factorized", "small"])
def test_every_envpool_entry_builds_its_network(name, variant):
    """Observation, actions and greediness are envpool's table's; each variant's CNN fits the image."""
    entry, task = pixel_tasks.TASKS[name], envpool_pixel.get_task(name)
    values = configure("c4_pixel_rl_scores", "smoke").values
    run = pixel.pixel_run(name, variant, 0, configure("c4_pixel_rl_scores", "smoke"))
    assert entry.greedy == task.discrete and entry.observation(values) == task.obs_shape
    assert run.obs_size == task.obs_shape[0]
    population = values["atari_population"] if task.discrete else values["population"]
    assert run.population_size == population and (run.stage2_episodes == 0) == task.discrete
    config = pixel.network_config(run, task.obs_shape, task.num_actions)
    assert pixel_cnn.layer_shapes(config)["output"][1] == task.num_actions
    if name == "envpool:CarRacing-v3" and variant != "small":
        assert pixel_cnn.param_count(config) == COMMANDS[name]


def test_which_tasks_test_the_atari_claim():
    """The Atari claim reads discrete-action tasks; the paper's games count toward its scale."""
    assert not discrete_task("racing") and not discrete_task("envpool:CarRacing-v3")
    assert discrete_task("minatar:Breakout") and discrete_task("envpool:Kangaroo")
    assert paper_atari_tasks(["racing", "envpool:Kangaroo", "envpool:Breakout", "envpool:Asteroids"]) == [
        "envpool:Kangaroo", "envpool:Asteroids"]
    default = configure("c5_selection_stages", "default").values
    assert pixel_settings(default)["Atari games run"] == 0.0


@pytest.mark.parametrize("task, first", [("envpool:CarRacing-v3", "scale (CarRacing-v3)"),
                                         ("envpool:Kangaroo", "scale (Atari)")])
def test_scale_lines_name_the_task_run(task, first):
    """C4's scale line on envpool tasks alone: the real CarRacing's RGB image, or the Atari settings."""
    if not envpool_pixel.envpool_installed():
        pytest.skip(f"validation needs the envpool extra: {envpool_pixel.INSTALL_HINT}")
    lines = analysis.pixel_scale_lines(configure("c4_pixel_rl_scores", "smoke", tasks=[task]))
    assert len(lines) == 1 and lines[0].startswith(first)
    assert ("64×64 RGB as the paper" in lines[0]) == (task == "envpool:CarRacing-v3")


def test_the_default_scale_lines_are_unchanged():
    lines = analysis.pixel_scale_lines(configure("c4_pixel_rl_scores", "default"))
    assert [line.split(":")[0] for line in lines] == ["scale (racing)", "scale (MinAtar)"]
    assert "48×48 grayscale (paper 64×64 RGB)" in lines[0]


# --- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", list(COMMANDS))
def test_without_the_extra_the_command_exits_2_in_one_line(task, without_envpool, capsys, dirs, monkeypatch):
    """The done-when command without envpool: exit 2, one line naming the parameter, the task and the
    install command, before anything runs or is written."""
    monkeypatch.setattr(cli, "execute", lambda *args, **kwargs: pytest.fail("validation let it through"))
    assert cli.main(["run", "c4_pixel_rl_scores", "--profile", "smoke", "-p", "tasks", task]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in ("nevolab: error: parameter 'tasks'", repr(task), "make venv-envpool"):
        assert needle in lines[0], lines[0]
    assert out == "" and not [path for folder in dirs if folder.exists() for path in folder.rglob("*")
                              if path.is_file() and ".locks" not in path.parts]


@needs_envpool
def test_envpool_tasks_alone_pass_validation_racing_is_still_needed_beside_a_jax_task():
    spec = get_spec("c4_pixel_rl_scores")
    for tasks in (["envpool:CarRacing-v3"], ["envpool:Kangaroo", "envpool:CarRacing-v3"],
                  ["racing", "envpool:Kangaroo"]):
        configure(spec.name, "smoke", tasks=tasks)
    with pytest.raises(ConfigError, match="must include 'racing'"):
        configure(spec.name, "smoke", tasks=["minatar:Breakout", "envpool:Kangaroo"])


@needs_envpool
def test_a_page_that_reads_racing_runs_refuses_envpool_tasks_alone_before_compute():
    """C5 reads racing's runs: on envpool tasks alone its table is a ConfigError (exit 2), not a crash."""
    config = configure("c5_selection_stages", "smoke", tasks=["envpool:Kangaroo"])
    with pytest.raises(ConfigError, match="parameter 'tasks'"):
        pixel.pixel_tables(config, tasks=(pixel_tasks.RACING,))


# --- C4 end to end ------------------------------------------------------------------------------------


@needs_envpool
@pytest.mark.parametrize("task", list(COMMANDS))
def test_c4_at_smoke_runs_end_to_end_on_an_envpool_task(task, tmp_path):
    """``nevolab run c4_pixel_rl_scores --profile smoke -p tasks <task>`` as a process: exit 0, the
    executed page written, and its table holds every (variant, seed, generation) of that task alone."""
    results, book = tmp_path / "results", tmp_path / "book"
    env = {**os.environ, "NEVOLAB_RESULTS_DIR": str(results), "NEVOLAB_BOOK_DIR": str(book)}
    command = ["run", "c4_pixel_rl_scores", "--profile", "smoke", "-p", "tasks", task]
    done = subprocess.run([sys.executable, "-m", "nevolab.cli", *command], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (book / "c4_pixel_rl_scores.ipynb").exists()
    [table_path] = (results / "c4_pixel_rl_scores").glob("*.csv")
    table = pd.read_csv(table_path)
    config = configure("c4_pixel_rl_scores", "smoke", tasks=[task])
    generations = config.atari_generations if pixel_tasks.TASKS[task].greedy else config.generations
    assert set(table.task) == {task}
    assert len(table) == len(config.variants) * config.seeds * generations
    assert table.stage1_steps.gt(0).all() and table.best_score.notna().all()
    if COMMANDS[task] is not None:
        assert set(table[table.variant == "dense"].num_params) == {COMMANDS[task]}
    assert list((results / "c5_selection_stages").glob("*.csv")), "C4 shows C5's claims rows"


# --- runs ------------------------------------------------------------------------------------------------


def _tiny(task: str, seed: int, **changes) -> pixel.PixelRun:
    """A run of ``task`` small enough for seconds: 4 members, 2 generations, 25 steps."""
    run = pixel.pixel_run(task, "small", seed, configure("c4_pixel_rl_scores", "smoke", tasks=[task]))
    return dataclasses.replace(run, population_size=4, num_finalists=2, num_parents=1, stage2_episodes=min(
        run.stage2_episodes, 1), num_generations=2, max_steps=25, **changes)


@needs_envpool
def test_seeds_share_one_rollout_and_get_the_same_tables_as_alone():
    """A policy's rollout is kept for its next seed (compiled programs, Atari's pools): seed 1 after seed
    0 gives the table seed 1 gets alone."""
    pixel._shared_policy_setup.cache_clear()
    alone = pixel.evolve(_tiny("envpool:Kangaroo", 1))
    pixel._shared_policy_setup.cache_clear()
    first = pixel._setup(_tiny("envpool:Kangaroo", 0)).rollout
    pixel.evolve(_tiny("envpool:Kangaroo", 0))
    after = pixel.evolve(_tiny("envpool:Kangaroo", 1))
    assert pixel._setup(_tiny("envpool:Kangaroo", 1)).rollout is first
    timing = [column for column in alone.columns if column.endswith("_time_s")]
    pd.testing.assert_frame_equal(alone.drop(columns=timing), after.drop(columns=timing))


@needs_envpool
def test_the_pages_early_termination_switch_reaches_carracings_rule():
    for switch in (True, False):
        rollout = pixel._setup(_tiny("envpool:CarRacing-v3", 0, early_termination=switch)).rollout
        assert rollout.task.early_termination is switch
