"""C6, the stage-1 claims on the real CarRacing-v3 (envpool): its spec and default size, its runs' keys,
its claims (the same rule as C5's stage-1 rows), the side-by-side with C5's racing rows, the one-line
refusal without the extra, and the page at smoke end to end.

The end-to-end run (about 80 s here beside other jobs) skips without the extra; the refusal is
simulated in process (the ``without_envpool`` fixture) and needs nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nevolab import store
from nevolab.config import ConfigError
from nevolab.registry import configure, get_spec
from nevolab.stats import CLAIM_COLUMNS
from nevolab.studies.c import pages, pixel, real, real_page
from nevolab.studies.c.claims import (
    MATCHED_SCOPE,
    RACING_SCOPE,
    REAL_SCOPE,
    pixel_claims,
    real_settings,
    stage1_claims,
)
from nevolab.tasks import envpool_pixel

pytestmark = pytest.mark.filterwarnings("ignore:.*precision lowered by casting:UserWarning")
needs_envpool = pytest.mark.skipif(not envpool_pixel.envpool_installed(),
                                   reason=f"the envpool extra is not installed: {envpool_pixel.INSTALL_HINT}")
PAGE = "c6_real_carracing"


# --- spec and size ---------------------------------------------------------------------------------


def test_the_spec_is_a_claims_page_with_the_papers_profile():
    """C6 is a claims page; its paper profile is issue 28's: N 256, 40 generations, 2 + 4 episodes,
    32 finalists, 8 parents, 15 seeds, episodes of 1000 frames."""
    spec = get_spec(PAGE)
    assert spec.claims_page and spec.in_book
    paper = configure(PAGE, "paper")
    assert (paper.population, paper.generations, paper.stage1_episodes, paper.stage2_episodes,
            paper.finalists, paper.parents, paper.seeds, paper.max_steps) == (256, 40, 2, 4, 32, 8, 15, 1000)
    for param in spec.params:
        if isinstance(param.paper, int | float | list) and param.name != "chunk_steps":
            assert param.presets.get("paper", param.presets["default"]) == param.paper, param.name


def test_the_default_fits_its_budget_with_six_seeds_or_more():
    default = configure(PAGE, "default")
    assert default.seeds >= 6 and set(default.variants) == {"dense", "factorized"}
    assert real.estimated_cpu_s(default.values) / 60 <= real.COMPUTE_BUDGET_MIN
    assert "estimated compute" in real.estimate_line(default)
    assert real.estimated_cpu_s(configure(PAGE, "paper").values) > real.estimated_cpu_s(default.values)


def test_the_variants_must_hold_dense_and_factorized():
    with pytest.raises(ConfigError, match="parameter 'variants'"):
        configure(PAGE, "smoke", variants=["dense", "small"])


def test_the_runs_are_keyed_on_the_real_task_and_its_image():
    config = configure(PAGE, "smoke")
    runs = real.real_runs(config)
    assert len(runs) == len(config.variants) * config.seeds
    assert {run.task for run in runs} == {"envpool:CarRacing-v3"} and {run.obs_size for run in runs} == {64}
    assert {(run.population_size, run.num_generations, run.num_finalists, run.num_parents)
            for run in runs} == {(config.population, config.generations, config.finalists, config.parents)}
    assert len({run.hash() for run in runs}) == len(runs)


@needs_envpool
def test_c4_on_the_same_settings_shares_the_runs():
    """C4 at smoke on envpool:CarRacing-v3 asks for C6's runs at smoke (and the small variant's): one cache
    entry each."""
    c4 = configure("c4_pixel_rl_scores", "smoke", tasks=["envpool:CarRacing-v3"])
    c6 = configure(PAGE, "smoke")
    assert {run.hash() for run in real.real_runs(c6)} < {run.hash() for run in pixel.pixel_runs(c4)}


# --- claims ----------------------------------------------------------------------------------------


def _runs(task: str, seeds: int = 6, generations: int = 4) -> pd.DataFrame:
    """A pixel runs table: factorized scores and steps below dense's, parents climbing in both (their
    levels overlap), every column of a run's table."""
    rows = []
    for variant, scale in (("dense", 1.0), ("factorized", 0.6)):
        for seed in range(seeds):
            for generation in range(generations):
                level = 10.0 * generation + seed
                rows.append({"task": task, "variant": variant, "seed": seed, "generation": generation,
                             "stage1_mean_score": scale * (50 + level), "stage1_best_score": 80.0,
                             "stage1_time_s": 1.0, "stage1_steps": scale * (1000 + 10 * level),
                             "stage1_rows_stepped": 1200, "stage1_ended_early": 1.0,
                             "stage2_mean_score": 60.0 + seed, "stage2_time_s": 0.5,
                             "stage2_steps": 400 + seed, "stage2_rows_stepped": 450,
                             "parents_mean_score": scale * level, "best_score": 70.0 + seed,
                             "best_seed_length": 1, "best_seeds": "0:1", "num_genes": 10, "num_params": 10})
    return pd.DataFrame(rows, columns=pixel.TABLE_COLUMNS)


SETTINGS = {"generations": 4.0, "population": 16.0, "early termination (1 = on)": 1.0}


def test_stage1_claims_are_c5s_rows_of_the_same_claims():
    """On racing's runs, the stage-1 claims alone give C5's rows of them, number for number."""
    runs = _runs("racing")
    c5 = pixel_claims(runs, {**SETTINGS, "Atari games run": 0.0})
    c5 = c5[c5.claim.isin(real_page.STAGE1_KEYS)].reset_index(drop=True)
    ours = stage1_claims(runs, "racing", RACING_SCOPE, SETTINGS)
    assert list(ours.scope) == [RACING_SCOPE, MATCHED_SCOPE] * 2
    pd.testing.assert_frame_equal(ours, c5[ours.columns])


def test_the_real_claims_name_their_environment_and_are_decided_by_the_rule():
    runs = _runs(real.TASK)
    claims = stage1_claims(runs, real.TASK, REAL_SCOPE, real_settings(configure(PAGE, "default").values))
    assert list(claims.columns[:len(CLAIM_COLUMNS)]) == list(CLAIM_COLUMNS)
    assert list(claims.scope) == [REAL_SCOPE, real_page.REAL_MATCHED_SCOPE] * 2
    assert set(claims.claim) == set(real_page.STAGE1_KEYS)
    assert (claims.verdict == "reproduced").all() and (claims.family_size <= 2).all()
    assert (claims.p_holm <= 0.05).all()
    off = stage1_claims(runs, real.TASK, REAL_SCOPE, {**SETTINGS, "early termination (1 = on)": 0.0})
    assert set(off[off.claim == "pixel_less_runtime"].verdict) == {"not tested at scale"}


def test_racing_rows_are_read_not_computed(dirs):
    """C5's rows come from its stored table at the profile; a missing table is one line naming the command."""
    rows, missing = pages.racing_stage1_rows("smoke")
    assert rows.empty and "nevolab run c5_selection_stages --profile smoke" in missing
    table = pixel_claims(_runs("racing", seeds=2, generations=2), {**SETTINGS, "Atari games run": 0.0})
    store.save(configure("c5_selection_stages", "smoke"), table, 0.0)
    rows, missing = pages.racing_stage1_rows("smoke")
    assert missing == "" and set(rows.claim) <= set(real_page.STAGE1_KEYS) and len(rows)
    assert set(rows.scope) <= {RACING_SCOPE, MATCHED_SCOPE}


def test_side_by_side_shows_both_environments_and_whether_they_agree():
    real_rows = stage1_claims(_runs(real.TASK), real.TASK, REAL_SCOPE, SETTINGS)
    racing = stage1_claims(_runs("racing"), "racing", RACING_SCOPE, SETTINGS)
    shown = real_page.side_by_side(real_rows, racing)
    assert len(shown) == 2 * 2 * 2 and list(shown.environment[:2]) == list(real_page.ENVIRONMENTS)
    assert (shown.verdict == "reproduced").all()
    assert real_page.agreement_line(real_rows, racing).endswith("in 4 of 4 comparisons both pages make.")
    contrary = racing.assign(verdict=np.where(racing.scope == MATCHED_SCOPE, "inconclusive", racing.verdict))
    line = real_page.agreement_line(real_rows, contrary)
    assert "in 2 of 4 comparisons" in line and "pixel_stage1_lower at matched parent fitness" in line
    missing = real_page.side_by_side(real_rows, pd.DataFrame())
    assert (missing[missing.environment == "racing (C5)"].verdict == "–").all()
    assert real_page.agreement_line(real_rows, pd.DataFrame()).startswith("No comparison")


def test_the_progress_line_states_the_generation_and_the_scores():
    from nevolab.studies.c.claims import last_generation

    outcomes = last_generation(_runs(real.TASK), real.TASK)
    line = real_page.progress_line(outcomes, ["dense", "factorized"], {"dense": "D", "factorized": "F"})
    assert line.startswith("The runs end at generation 4, the paper's at 40.")
    assert "72 (D) and 72 (F)" in line


# --- the page ---------------------------------------------------------------------------------------


def _run_page(tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path, Path]:
    results, book = tmp_path / "results", tmp_path / "book"
    env = {**os.environ, "NEVOLAB_RESULTS_DIR": str(results), "NEVOLAB_BOOK_DIR": str(book)}
    done = subprocess.run([sys.executable, "-m", "nevolab.cli", "run", PAGE, "--profile", "smoke"], env=env,
                          capture_output=True, text=True, timeout=600)
    return done, results, book


def test_without_the_extra_the_page_stops_in_one_line_before_compute(without_envpool, dirs, capsys,
                                                                     monkeypatch):
    from nevolab import cli

    monkeypatch.setattr(cli, "execute", lambda *args, **kwargs: pytest.fail("validation let it through"))
    assert cli.main(["run", PAGE, "--profile", "smoke"]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in ("nevolab: error:", PAGE, "needs the envpool extra", "make venv-envpool"):
        assert needle in lines[0], lines[0]
    assert out == "" and not [path for folder in dirs if folder.exists() for path in folder.rglob("*")
                              if path.is_file() and ".locks" not in path.parts]


@needs_envpool
def test_the_page_runs_at_smoke_end_to_end(tmp_path):
    """``nevolab run c6_real_carracing --profile smoke`` as a process: exit 0, the page, its claims table
    and every run stored; without C5's table the page says how to compute it."""
    import nbformat

    done, results, book = _run_page(tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    [claims_path] = (results / PAGE).glob("*.csv")
    claims = pd.read_csv(claims_path)
    assert set(claims.claim) <= set(real_page.STAGE1_KEYS) and set(claims.scope) >= {REAL_SCOPE}
    config = configure(PAGE, "smoke")
    for run in real.real_runs(config):
        assert (results / run.directory / f"{run.hash()}.csv").exists(), run
    notebook = nbformat.read(book / f"{PAGE}.ipynb", as_version=4)
    text = "".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", []))
    assert "C5's claims table at profile 'smoke' is not stored" in text
    images = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if "image/png" in output.get("data", {})]
    assert len(images) == 2  # the curves and the episode strips
