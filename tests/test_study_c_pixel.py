"""Study C on pixel RL: the two-stage Deep GA's runs, their specs and cache keys, the
seed-list rebuild of an evolved policy, and the claims table."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from nevolab import report
from nevolab.cli import main
from nevolab.models import pixel_cnn
from nevolab.registry import configure
from nevolab.studies.c import analysis, pixel, pixel_tasks
from nevolab.studies.c import paper as c_paper
from nevolab.studies.c.claims import (
    MATCHED_SCOPE,
    RACING_SCOPE,
    last_generation,
    matched_parent_fitness,
    pixel_claims,
    pixel_settings,
    runtime_saving,
    stage_long_table,
)

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
    assert config.tasks == ["envpool:CarRacing-v3", "envpool:Asteroids", "envpool:Frostbite",
                            "envpool:Gravitar", "envpool:Kangaroo"]
    run = pixel.pixel_run("envpool:CarRacing-v3", "dense", 0, config)
    assert (run.population_size, run.num_finalists, run.num_parents, run.num_generations) == (256, 32, 8, 40)
    assert (run.stage1_episodes, run.stage2_episodes, config.seeds) == (2, 4, 15)
    atari = pixel.pixel_run("envpool:Kangaroo", "factorized", 0, config)
    assert (atari.population_size, atari.num_parents, atari.num_generations, atari.stage1_episodes,
            atari.stage2_episodes, atari.rank) == (512, 16, 300, 1, 0, 4)


PAPER_SCALE = {"generations": 40.0, "population": 256.0, "early termination (1 = on)": 1.0,
               "Atari games run": 4.0}
"""The settings of a run at every pixel claim's scale (an ALE run we do not have, for the rule alone)."""


def _synthetic(encoding_steps: float = 0.0, score_shift: float = 0.0, final_shift: float = 0.0,
               seeds: int = 6, generations: int = 6, games: tuple[str, ...] = ()) -> pd.DataFrame:
    """Pixel runs with known answers. Parents climb 50 points a generation for dense (from 100) and 20
    for factorized (from 50); stage 1's steps are 5000 + 10 × the parent level, plus ``encoding_steps``
    for factorized (what its encoding itself saves), and its mean score is half the parent level plus
    ``score_shift``. At the last generation the factorized parents are 170 points behind (fewer steps
    whatever the encoding); at matched parent fitness (band [100, 135]) its generations sit 20 points
    higher. The best finalist scores 600 (factorized on a MinAtar ``games`` entry: + ``final_shift``), the
    stage-2 mean 500 and the
    stage-2 steps 4000, each with a spread of a few units over seeds."""
    rows = []
    climb = {"dense": (100.0, 50.0), "factorized": (50.0, 20.0), "small": (20.0, 10.0)}
    for task in ("racing", *games):
        for variant, (start, step) in climb.items():
            factorized = variant == "factorized"
            for seed in range(seeds):
                for generation in range(generations):
                    level = start + step * (generation - 1) + seed if generation else 0.0
                    row = {"task": task, "variant": variant, "seed": seed, "generation": generation}
                    row.update({column: 0.0 for column in pixel.TABLE_COLUMNS if column not in row})
                    row.update(parents_mean_score=start + step * generation + seed,
                               stage1_steps=5000 + 10 * level + encoding_steps * factorized + seed,
                               stage1_mean_score=0.5 * level + score_shift * factorized + 0.1 * seed,
                               best_score=600 + final_shift * (factorized and task != "racing") + seed,
                               stage2_mean_score=500.0 + seed, stage2_steps=4000.0 + seed, stage1_time_s=1.0)
                    rows.append(row)
    return pd.DataFrame(rows)


def _claims(runs: pd.DataFrame, settings=PAPER_SCALE) -> pd.DataFrame:
    return pixel_claims(runs, settings).set_index(["claim", "scope"])


def test_the_claims_table_finds_the_papers_pattern_where_it_is_planted():
    runs = _synthetic(encoding_steps=-1000.0, score_shift=-30.0, final_shift=20.0,
                      games=("minatar:Breakout",))
    claims = _claims(runs)
    assert (claims.verdict == "reproduced").all(), claims.verdict
    keys = set(claims.index.get_level_values("claim"))
    assert keys == {*c_paper.PIXEL_CLAIMS_BY_KEY, c_paper.OURS_EQUAL_FINAL}
    outcomes = last_generation(runs)
    # the last generation: 10 × (130 − 300) steps from the parents, −1000 from the encoding
    assert claims.loc[("pixel_less_runtime", RACING_SCOPE), "effect"] == pytest.approx(-2700.0)
    assert runtime_saving(outcomes) == pytest.approx(5327.5 / 8027.5 - 1)  # means over seeds
    assert set(stage_long_table(outcomes).stage) == {"stage 1", "stage 2"}


def test_the_claims_table_contradicts_a_reversed_pattern():
    runs = _synthetic().assign(stage1_steps=lambda t: 20_000 - t.stage1_steps,
                               stage1_mean_score=lambda t: 1000 - t.stage1_mean_score)
    claims = _claims(runs)
    assert claims.loc[("pixel_stage1_lower", RACING_SCOPE), "verdict"] == "not reproduced"
    assert claims.loc[("pixel_less_runtime", RACING_SCOPE), "verdict"] == "not reproduced"
    assert float(jnp.isfinite(claims.kruskal_p.dropna().to_numpy()).all()) == 1.0


def test_matched_parent_fitness_is_the_band_both_variants_pass_through():
    matched = matched_parent_fitness(_synthetic()).set_index(["variant", "seed"])
    assert (matched.band_low == 100.0).all() and (matched.band_high == 135.0).all()
    # dense passes the band in generation 1 only (level 100 + seed); factorized in 4 and 5 (110, 130 + seed)
    assert list(matched.loc[[("dense", 2), ("factorized", 2)], "generations"]) == [1, 2]
    assert list(matched.loc[[("dense", 2), ("factorized", 2)], "mean_level"]) == [102.0, 122.0]
    assert matched.loc[("dense", 2), "stage1_steps"] == 5000 + 10 * 102 + 2
    assert matched_parent_fitness(_synthetic()[lambda t: t.variant != "dense"]).empty


def test_a_saving_that_comes_from_a_worse_population_does_not_survive_matched_parent_fitness():
    """No encoding effect: fewer steps at the last generation (a worse population), but at matched parent
    fitness the factorized generations, 20 points higher, take 200 steps more."""
    claims = _claims(_synthetic(encoding_steps=0.0))
    assert claims.loc[("pixel_less_runtime", RACING_SCOPE), "verdict"] == "reproduced"
    matched = claims.loc[("pixel_less_runtime", MATCHED_SCOPE)]
    assert matched.effect == pytest.approx(200.0) and matched.verdict == "not reproduced"
    assert matched.detail == "matched_stage1_steps" and matched.family_size == 2
    lines = analysis.stage_reading(claims.reset_index())
    assert lines.startswith("Stage 1 costs the factorized variant fewer steps at the last generation, but "
                            "not shown at matched parent fitness")


def test_a_saving_of_the_encoding_survives_matched_parent_fitness():
    runs = _synthetic(encoding_steps=-1000.0)
    claims = _claims(runs)
    matched = claims.loc[("pixel_less_runtime", MATCHED_SCOPE)]
    assert matched.effect == pytest.approx(-800.0) and matched.verdict == "reproduced"
    line = analysis.matched_saving_line(claims.reset_index(), matched_parent_fitness(runs))
    # per seed: dense 6000 + 11 s, factorized 6200 − 1000 + 11 s (mean levels 102.5 and 122.5)
    assert line == ("At matched parent fitness (the previous generation's parents score 100.0 to 135.0; mean "
                    "level 102.5 dense, 122.5 factorized), stage 1 costs the factorized variant -13% "
                    "environment steps against the dense one's (mean over seeds): the saving survives "
                    f"(reproduced, Holm p = {report.p_value(matched.p_holm)}).")


def test_claims_about_the_end_of_the_papers_runs_are_not_tested_below_its_scale():
    runs = _synthetic(encoding_steps=-1000.0, score_shift=-30.0)
    settings = pixel_settings(configure("c5_selection_stages", "default", generations=12).values)
    assert settings == {"generations": 12.0, "population": 48.0, "early termination (1 = on)": 1.0,
                        "Atari games run": 0.0}
    claims = _claims(runs, settings)
    final = claims.loc[("pixel_equal_final", RACING_SCOPE)]
    assert final.verdict == "not tested at scale"
    assert final.below_scale == "generations 12 (needs 40); population 48 (needs 256)"
    assert final.effect == pytest.approx(0.0) and np.isfinite([final.low, final.high]).all()  # data shown
    assert final.margin == pytest.approx(c_paper.EQUAL_SCORE_FRACTION * 602.5)  # of dense's mean score
    ours = claims.loc[(c_paper.OURS_EQUAL_FINAL, RACING_SCOPE)]
    assert ours.verdict == "not tested at scale" and ours.margin == 50.0
    assert (claims.loc["pixel_stage2_equal"].verdict == "not tested at scale").all()
    # the mechanism claims name no end state: decided at this scale
    assert claims.loc[("pixel_less_runtime", RACING_SCOPE), "verdict"] == "reproduced"
    reading = analysis.stage_reading(claims.reset_index())
    assert reading.endswith("Whether it comes at no loss, an equal final score, is not tested at this scale "
                            "(generations 12 (needs 40); population 48 (needs 256)).")
    off = _claims(runs, {**settings, "early termination (1 = on)": 0.0})
    assert (off.loc["pixel_less_runtime"].verdict == "not tested at scale").all()
    assert (off.loc["pixel_less_runtime"].below_scale == "early termination (1 = on) 0 (needs 1)").all()


def test_the_margins_of_equal_claims_come_from_the_papers_own_gaps():
    assert c_paper.EQUAL_SCORE_FRACTION == pytest.approx((798.4 - 783.5) / 783.5)
    assert c_paper.EQUAL_COST_FRACTION == pytest.approx((35.1 - 33.5) / 33.5)
    for claim in c_paper.PIXEL_CLAIMS:
        assert claim.margin and claim.margin_source and not claim.margin_is_ours, claim.key
    assert not any(claim.margin_is_ours for claim in c_paper.CLAIMS)
    assert c_paper.OURS_ROWS == {c_paper.OURS_EQUAL_FINAL: "pixel_equal_final"}
    assert c_paper.OURS_EQUAL_FINAL.startswith("pixel_equal_final (ours")


def test_the_stage2_finalists_are_tested_for_equal_score_and_equal_steps():
    claims = _claims(_synthetic())
    stage2 = claims.loc["pixel_stage2_equal"]
    assert list(stage2.index) == [f"{RACING_SCOPE}: stage-2 mean score", f"{RACING_SCOPE}: stage-2 steps"]
    assert list(stage2.margin) == pytest.approx([c_paper.EQUAL_SCORE_FRACTION * 502.5,
                                                 c_paper.EQUAL_COST_FRACTION * 4002.5])
    assert (stage2.verdict == "reproduced").all() and (stage2.family_size == 2).all()
    shifted = _claims(_synthetic().assign(
        stage2_mean_score=lambda t: t.stage2_mean_score - 100 * (t.variant == "factorized")))
    score = shifted.loc[("pixel_stage2_equal", f"{RACING_SCOPE}: stage-2 mean score")]
    assert score.verdict == "not reproduced"


def test_the_discrete_action_claim_reads_each_minatar_game_and_is_never_at_scale():
    default = pixel_settings(configure("c5_selection_stages", "default").values)
    none = _claims(_synthetic(), default).loc["pixel_atari_competitive"]
    assert list(none.index) == ["no discrete-action task run"]
    assert none.verdict.iloc[0] == "not tested at scale"
    assert none.below_scale.iloc[0] == "Atari games run 0 (needs 4); no MinAtar game run at this profile"
    assert np.isnan(none.effect.iloc[0])
    game = _claims(_synthetic(final_shift=5.0, games=("minatar:Breakout",)), default)
    row = game.loc[("pixel_atari_competitive", "minatar:Breakout, factorized vs dense")]
    assert row.verdict == "not tested at scale" and row.below_scale == "Atari games run 0 (needs 4)"
    assert row.effect == pytest.approx(5.0)
    assert game.loc[("pixel_atari_competitive", "minatar:Breakout, factorized vs dense"), "n"] == "6 vs 6"


def test_every_pixel_claim_has_a_row_at_smoke_and_default():
    """Each paper claim of the pixel runs appears on C5's table at every profile (the scorecard needs it)."""
    for profile, games in (("smoke", ()), ("default", ("minatar:Breakout",))):
        config = configure("c5_selection_stages", profile)
        keys = set(pixel_claims(_synthetic(seeds=config.seeds, games=games),
                                pixel_settings(config.values)).claim)
        assert keys == set(c_paper.PIXEL_CLAIMS_BY_KEY) | set(c_paper.OURS_ROWS), profile


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
