"""Study C on pixel RL: the two-stage Deep GA's runs, their specs and cache keys, the
seed-list rebuild of an evolved policy, and the claims table."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from nevolab.cli import main
from nevolab.models import pixel_cnn
from nevolab.registry import configure
from nevolab.studies.c import pixel, pixel_tasks
from nevolab.studies.c.claims import last_generation, pixel_claims, runtime_saving, stage_long_table

TINY = pixel.PixelRun(task="racing", variant="factorized", seed=3, population_size=6, num_generations=3,
                      stage1_episodes=1, num_finalists=3, stage2_episodes=1, num_parents=2, max_steps=30,
                      obs_size=46, rank=1, mutation_rate=0.01, early_termination=True, chunk_steps=10,
                      num_buckets=4)


def test_selection_loss_ranks_finalists_by_their_all_episode_mean_before_everyone_else():
    stage1 = np.array([5.0, 9.0, 1.0, 7.0])
    finalists = np.array([1, 3])
    loss = pixel.selection_loss(stage1, finalists, np.array([2.0, 8.0]))
    # member 3's all-episode mean (8) beats member 1's (2); both beat member 0's better stage-1 score
    assert list(np.argsort(loss, kind="stable")) == [3, 1, 0, 2]


@pytest.fixture(scope="module")
def tiny_run():
    return pixel.evolve_with_state(TINY)


def test_a_run_records_every_stage_of_every_generation(tiny_run):
    table, _ = tiny_run
    assert list(table.columns) == pixel.TABLE_COLUMNS and len(table) == TINY.num_generations
    assert (table.stage1_steps > 0).all() and (table.stage2_steps > 0).all()
    # the rows computed cover the alive steps; stage 2 plays finalists x episodes
    assert (table.stage1_rows_stepped >= table.stage1_steps).all()
    assert (table.stage2_steps <= TINY.num_finalists * TINY.stage2_episodes * TINY.max_steps).all()
    # the best finalist's selection score is its mean over both stages: at least the parents' mean
    assert (table.best_score >= table.parents_mean_score - 1e-4).all()
    assert table.best_seed_length.iloc[0] == 1 and table.num_genes.iloc[0] < table.num_params.iloc[0]


def test_a_run_is_deterministic_apart_from_its_wall_times(tiny_run):
    table, _ = tiny_run
    again = pixel.evolve(TINY)
    timeless = [c for c in pixel.TABLE_COLUMNS if not c.endswith("time_s")]
    pd.testing.assert_frame_equal(table[timeless], again[timeless])


def test_the_stored_seed_list_rebuilds_the_best_policy_bit_for_bit(tiny_run):
    table, state = tiny_run
    genotype, _ = pixel.best_genotype(TINY, table.best_seeds.iloc[-1])
    # the last generation's best finalist is the first parent: row 0 after the last tell
    np.testing.assert_array_equal(np.asarray(genotype), np.asarray(state.population[0]))


def test_minatar_runs_one_stage_with_the_greedy_action():
    run = dataclasses.replace(TINY, task="minatar:Breakout", variant="dense", num_finalists=2,
                              stage2_episodes=0, obs_size=10, rank=4, num_generations=2)
    table = pixel.evolve(run)
    assert table.stage2_mean_score.isna().all() and (table.stage2_steps == 0).all()
    assert np.isfinite(table.best_score).all()
    assert pixel.network_config(run, (10, 10, 4), 3).kernel_size == 3


def test_bad_runs_are_refused_before_any_compute():
    with pytest.raises(ValueError, match="num_parents <= num_finalists"):
        dataclasses.replace(TINY, num_parents=5)
    with pytest.raises(ValueError, match="jaxtari"):
        dataclasses.replace(TINY, task="jaxtari:Asteroids")


@pytest.mark.parametrize("argv, name", [
    (["-p", "tasks", "racing,minatar:Pong"], "parameter 'tasks'"),
    (["-p", "tasks", "minatar:Breakout"], "parameter 'tasks'"),
    (["-p", "parents", "20"], "parameter 'parents'"),
    (["-p", "obs_size", "32"], "parameter 'obs_size'"),
])
def test_bad_parameters_fail_in_one_line(argv, name, capsys):
    assert main(["run", "c4_pixel_rl_scores", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and name in err[0]


def test_the_paper_profile_is_the_papers_selection():
    config = configure("c5_selection_stages", "paper")
    run = pixel.pixel_run("racing", "dense", 0, config)
    assert (run.population_size, run.num_finalists, run.num_parents, run.num_generations) == (256, 32, 8, 40)
    assert (run.stage1_episodes, run.stage2_episodes, config.seeds) == (2, 4, 15)
    atari = pixel.pixel_run("minatar:Breakout", "factorized", 0, config)
    assert (atari.population_size, atari.num_parents, atari.num_generations, atari.stage1_episodes,
            atari.stage2_episodes, atari.rank) == (512, 16, 300, 1, 0, 4)


def _synthetic(shift: float, steps_shift: float, seeds: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for variant, offset, step_offset in (("dense", 0.0, 0.0), ("factorized", shift, steps_shift),
                                         ("small", -100.0, 0.0)):
        for seed in range(seeds):
            row = {"task": "racing", "variant": variant, "seed": seed, "generation": 4}
            row.update({column: 0.0 for column in pixel.TABLE_COLUMNS if column not in row})
            row.update(stage1_mean_score=300 + offset + rng.normal(0, 5),
                       stage1_steps=10_000 + step_offset + seed,
                       best_score=600 + rng.normal(0, 5), stage2_mean_score=500.0, stage1_time_s=1.0)
            rows.append(row)
    return pd.DataFrame(rows)


def test_the_claims_table_finds_the_papers_pattern_where_it_is_planted():
    outcomes = last_generation(_synthetic(shift=-150.0, steps_shift=-4000.0))
    claims = pixel_claims(outcomes).set_index("claim")
    assert list(claims.verdict) == ["reproduced"] * 3
    assert claims.loc["pixel_less_runtime", "effect"] == pytest.approx(-4000.0)
    assert runtime_saving(outcomes) == pytest.approx(-0.4, abs=1e-3)
    assert set(stage_long_table(outcomes).stage) == {"stage 1", "stage 2"}


def test_the_claims_table_contradicts_a_reversed_pattern():
    claims = pixel_claims(last_generation(_synthetic(shift=150.0, steps_shift=4000.0))).set_index("claim")
    assert claims.loc["pixel_stage1_lower", "verdict"] == "not reproduced"
    assert claims.loc["pixel_less_runtime", "verdict"] == "not reproduced"
    assert float(jnp.isfinite(claims.kruskal_p.to_numpy()).all()) == 1.0


# --- the task table drives every pixel run ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(pixel_tasks.TASKS))
@pytest.mark.parametrize("variant", ["dense", "small"])
def test_every_task_of_the_table_builds_and_steps(name, variant):
    """Each entry's environment, network and policy fit together: one greedy or raw action steps it."""
    import jax

    settings = pixel_tasks.TASKS[name].run_settings(configure("c4_pixel_rl_scores", "smoke").values)
    run = dataclasses.replace(TINY, task=name, variant=variant, obs_size=settings["obs_size"])
    env, env_params = pixel._make_env(run)
    obs, state = env.reset_env(jax.random.PRNGKey(0), env_params)
    config = pixel.network_config(run, obs.shape, env.num_actions)
    params = pixel_cnn.init_params(jax.random.PRNGKey(1), config)
    action = pixel.make_policy(run, config)(params, obs)
    obs, *_ = env.step_env(jax.random.PRNGKey(2), state, action, env_params)
    assert obs.shape == tuple(config.input_shape)
    assert pixel_tasks.TASKS[name].observation(settings)[:2] == obs.shape[:2]


def test_a_task_added_to_the_table_runs_through_the_rollout(monkeypatch):
    """A new pixel task is one table entry: nothing else names a task."""
    racing = pixel_tasks.TASKS[pixel_tasks.RACING]
    fake = dataclasses.replace(racing, name="fake:tiny", title="tiny racing",
                               networks={"dense": ((2, 2, 2, 2), (4,)), "small": ((1, 1, 1, 1), (2,))})
    monkeypatch.setitem(pixel_tasks.TASKS, fake.name, fake)
    run = dataclasses.replace(TINY, task=fake.name, variant="dense", num_generations=2)
    table = pixel.evolve(run)
    assert list(table.task.unique()) == ["fake:tiny"] and np.isfinite(table.best_score).all()
    assert table.num_params.iloc[0] < 2000  # the fake entry's network, not racing's
    config = configure("c4_pixel_rl_scores", "smoke")
    assert pixel.pixel_run(fake.name, "dense", 0, config).population_size == config.population


def test_the_specs_list_the_tables_tasks():
    from nevolab.registry import get_spec

    assert get_spec("c4_pixel_rl_scores").param("tasks").choices == pixel_tasks.PIXEL_TASKS
    assert pixel_tasks.PIXEL_TASKS[0] == pixel_tasks.RACING


# --- bad input is refused in one line, before anything is written -----------------------------------


@pytest.mark.parametrize("argv, name", [
    (["c5_selection_stages", "-p", "tasks", "racing,racing"], "parameter 'tasks'"),
    (["c5_selection_stages", "-p", "variants", "dense,factorized,dense"], "parameter 'variants'"),
    (["c5_selection_stages", "-p", "population", "1e22"], "parameter 'population'"),
    (["c4_pixel_rl_scores", "-p", "population", "10000000"], "parameter 'population'"),
    (["c4_pixel_rl_scores", "-p", "mutation_rate", "nan"], "parameter 'mutation_rate'"),
    (["c4_pixel_rl_scores", "-p", "mutation_rate", "inf"], "parameter 'mutation_rate'"),
    (["c1_lm_fitness_curves", "-p", "adam_learning_rate", "nan"], "parameter 'adam_learning_rate'"),
    (["c1_lm_fitness_curves", "-p", "population", "1000000"], "parameter 'population'"),
])
def test_bad_input_is_refused_in_one_line_with_nothing_written(argv, name, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("NEVOLAB_BOOK_DIR", str(tmp_path / "book"))
    assert main(["run", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and name in err[0]
    assert not any(tmp_path.rglob("*.csv"))


@pytest.mark.parametrize("name", ["c4_pixel_rl_scores", "c1_lm_fitness_curves"])
def test_a_population_that_cannot_fit_is_refused_before_compute(name, monkeypatch):
    from nevolab.config import ConfigError

    monkeypatch.setenv("NEVOLAB_MEMORY_GB", "1")
    with pytest.raises(ConfigError, match=r"parameter 'population': this run needs about .* GB"):
        configure(name, "default", population=4096)
    configure(name, "default")  # the default fits in 1 GB


@pytest.mark.parametrize("name", ["c1_lm_fitness_curves", "c4_pixel_rl_scores"])
@pytest.mark.parametrize("profile", ["smoke", "default", "paper"])
def test_every_profile_fits_and_stays_within_the_bounds(name, profile):
    from nevolab.config import memory_budget_bytes
    from nevolab.registry import get_spec

    spec = get_spec(name)
    config = configure(name, profile)  # validates every bound
    needed, _ = spec.memory_estimate(config.values)
    assert 0 < needed < memory_budget_bytes()
