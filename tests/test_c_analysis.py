"""Study C's page analysis (nevolab.studies.c.analysis) on small hand-built tables with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nevolab.registry import configure
from nevolab.studies.c import analysis, paper


def test_seed_band_is_the_mean_with_196_sem_and_zero_width_for_one_row():
    table = pd.DataFrame({"x": [0, 0, 1], "y": [1.0, 3.0, 5.0]})
    mean, low, high = analysis.seed_band(table, "x", "y")
    assert list(mean) == [2.0, 5.0]
    assert high[0] - mean[0] == pytest.approx(1.96 * 1.0)  # sem of (1, 3) = 1
    assert low[1] == high[1] == 5.0


def test_seed_band_on_a_log_axis_is_geometric_and_drops_missing_values():
    table = pd.DataFrame({"x": [0, 0, 0], "y": [1.0, 100.0, np.nan]})
    mean, low, high = analysis.seed_band(table, "x", "y", log=True)
    assert mean[0] == pytest.approx(10.0)
    assert low[0] * high[0] == pytest.approx(100.0)  # symmetric in log space


def test_c1_table_places_adam_at_its_token_budget():
    curves = pd.DataFrame({"variant": "dense", "seed": [0, 0], "generation": [0, 1],
                           "best_neg_ce": [-5.0, -4.0], "heldout_neg_ce": [-5.5, np.nan],
                           "tokens_evaluated": [100, 200]})
    adam = pd.DataFrame({"step": [0, 3], "neg_ce": [-5.0, -3.0], "heldout_neg_ce": [-5.0, -6.0],
                         "tokens_evaluated": [0, 300], "seed": 0, "variant": "dense"})
    table = analysis.c1_table(curves, adam, tokens_per_generation=100)
    assert list(table.variant) == ["dense", "dense", "adam", "adam"]
    assert list(table.budget_generations) == [1.0, 2.0, 0.0, 3.0]
    assert list(table.generation) == [0, 1, 0, 3]
    np.testing.assert_array_equal(table.heldout_neg_ce, [-5.5, np.nan, -5.0, -6.0])


def _curves() -> pd.DataFrame:
    rows = []
    for variant, start in (("dense", -9.0), ("lowrank", -4.6)):
        for seed in (0, 1):
            for generation in range(3):
                rows.append({"variant": variant, "seed": seed, "generation": generation,
                             "best_neg_ce": start + generation + seed, "mean_neg_ce": start - 1.0})
    return pd.DataFrame(rows)


def test_start_table_reads_generation_zero_against_the_uniform_guess():
    table = analysis.start_table(_curves(), ["lowrank", "dense"], {"dense": 1.0, "lowrank": 0.2}, -4.0,
                                 ["low-rank", "dense"])
    assert list(table.index) == ["low-rank", "dense"]
    assert table.loc["dense", "best −CE, generation 0"] == pytest.approx(-8.5)  # seeds: -9, -8
    assert table.loc["low-rank", "best − uniform guess"] == pytest.approx(-0.1)
    assert table.loc["dense", "embedding init std"] == 1.0


def test_final_summary_adds_adam_and_the_uniform_guess():
    ga = _curves()
    adam = pd.DataFrame({"generation": [0, 0, 5, 5], "best_neg_ce": [-6.0, -6.0, -2.0, -3.0]})
    summary = analysis.final_summary(ga, adam, ["dense", "lowrank"], -4.0)
    assert summary.loc["dense", "final best −CE (mean)"] == pytest.approx(-6.5)  # -7, -6
    assert summary.loc["dense", "generation 0 (mean)"] == pytest.approx(-8.5)
    assert summary.loc["adam (same token budget)"].tolist()[:2] == [-6.0, -2.5]
    assert summary.loc["uniform guess", "sd"] == 0.0 and math.isnan(summary.loc["uniform guess", "seeds"])


def test_genome_size_table_reads_the_measured_seed_list():
    last = pd.DataFrame({"variant": "dense", "best_seed_length": [3, 5], "num_params": 100, "num_genes": 100})
    paper_sizes = pd.DataFrame({"num_params": [1000], "num_genes": [1000], "seed_list_bytes": [2408],
                                "compression": [4000 / 2408]}, index=["dense"])
    sizes = analysis.genome_size_table(last, ["dense"], {"dense": "No Factorization"}, paper_sizes)
    row = sizes.loc["No Factorization"]
    assert row["seed-list bytes"] == 32.0 and row["network / seed list"] == pytest.approx(12.5)
    assert row["paper: genes"] == 1000


def _claims() -> pd.DataFrame:
    return pd.DataFrame({"claim": ["lm_factorized_beats_dense", "deleterious_more_often"],
                         "verdict": ["reproduced", "inconclusive"]})


def test_select_claims_splits_the_final_fitness_claims_from_the_mutation_effects():
    claims = _claims()
    assert list(analysis.select_claims(claims, final_fitness=True).claim) == ["lm_factorized_beats_dense"]
    assert list(analysis.select_claims(claims, final_fitness=False).claim) == ["deleterious_more_often"]
    assert list(analysis.select_claims(claims, keys=["deleterious_more_often"]).claim) == [
        "deleterious_more_often"]
    assert analysis.select_claims(claims.iloc[:0], final_fitness=True).empty


def test_cdf_points_count_the_deleterious_share():
    x, y, share = analysis.cdf_points(pd.Series([0.2, -0.1, -0.3, 0.0]))
    assert list(x) == [-0.3, -0.1, 0.0, 0.2] and list(y) == [0.25, 0.5, 0.75, 1.0] and share == 0.5


def test_children_summary_pools_seeds_per_variant_and_generation():
    children = pd.DataFrame({"variant": ["dense"] * 4 + ["lowrank"] * 2, "seed": [0, 0, 1, 1, 0, 1],
                             "generation": [1, 1, 1, 5, 1, 1],
                             "delta_fitness": [-1.0, 1.0, -3.0, 2.0, -0.5, -0.5]})
    children["deleterious"] = children.delta_fitness < 0
    table = analysis.children_summary(children, [1], ["lowrank", "dense"])
    assert list(table.index) == [("lowrank", 1), ("dense", 1)]
    dense = table.loc[("dense", 1)]
    assert dense.children == 3 and dense["deleterious fraction"] == pytest.approx(2 / 3)
    assert dense["mean Δ of deleterious"] == -2.0 and dense["median Δ"] == -1.0


def test_zoom_range_follows_the_factorized_bins():
    bins = pd.DataFrame({"variant": ["dense", "lowrank", "rank1"], "low": [-9.0, -4.5, -4.3],
                         "high": [-8.9, -4.4, -4.2]})
    assert analysis.zoom_range(bins) == pytest.approx((-4.8, -4.1))
    assert analysis.zoom_range(bins[bins.variant == "dense"]) is None


def test_matched_window_needs_two_matched_variants():
    curves = _curves()
    assert analysis.matched_window(curves, ["dense", "lowrank"]) == (["lowrank"], None)


def test_shown_comparison_marks_a_missing_matched_value():
    comparison = pd.DataFrame({
        "comparison": ["lowrank vs dense"], "metric": ["deleterious_fraction"], "window": ["none (1 > 0)"],
        "equal gen.: factorized": [0.5], "equal gen.: comparator": [0.25], "matched: factorized": [np.nan],
        "matched: comparator": [np.nan], "generations in window": ["0 / 0"],
        "difference at equal gen.": [0.25], "difference matched": [np.nan]})
    shown = analysis.shown_comparison(comparison).iloc[0]
    assert shown["metric"] == "deleterious fraction" and shown["equal generation"] == "0.5000 / 0.2500"
    assert shown["matched fitness"] == "–" and shown["difference (matched)"] == "–"
    assert shown["difference (equal gen.)"] == "+0.2500"


def test_timing_line_counts_generations_runs_and_minutes():
    results = pd.DataFrame({"task": "racing", "variant": ["dense"] * 3, "seed": [0, 0, 1],
                            "stage1_time_s": [30.0, 30.0, 30.0], "stage2_time_s": [10.0, 10.0, np.nan]})
    line = analysis.timing_line(results, "CPU")
    assert line == "3 generations in 2 runs; evaluation wall time 1.8 min on CPU"


def _outcomes() -> pd.DataFrame:
    rows = []
    for variant, steps, seconds in (("dense", 100.0, 10.0), ("factorized", 60.0, 9.0)):
        for seed in (0, 1):
            row = {"variant": variant, "seed": seed}
            row.update({column: 1.0 for column in analysis.STAGE_COLUMNS})
            row.update(stage1_steps=steps, stage1_time_s=seconds)
            rows.append(row)
    return pd.DataFrame(rows)


def test_saving_table_is_the_relative_change_beside_the_papers():
    saving = analysis.saving_table(_outcomes()).iloc[0]
    assert saving["environment steps"] == pytest.approx(-0.4)
    assert saving["wall time"] == pytest.approx(-0.1)
    assert saving["paper (wall time)"] == pytest.approx(72.9 / 117.3 - 1.0)


def test_stage_summary_has_one_row_per_stage_column():
    table = analysis.stage_summary(_outcomes(), ["dense", "factorized"], {"dense": "D", "factorized": "F"})
    assert list(table.columns) == ["last generation, mean ± sd over seeds", "D", "F"]
    assert table.set_index(table.columns[0]).loc["stage-1 steps", "F"] == "60.0 ± 0.0"


RACING, MATCHED = "racing, factorized vs dense", "racing, factorized vs dense, matched parent fitness"


@pytest.mark.parametrize("verdicts, start", [
    ({"last": "reproduced", "matched": "reproduced", "final": "reproduced"},
     "Stage 1 costs the factorized variant fewer steps, at the last generation and at matched parent "
     "fitness: the saving is not only that of a worse population. Its final score is equivalent"),
    ({"last": "reproduced", "matched": "inconclusive", "final": "not reproduced"},
     "Stage 1 costs the factorized variant fewer steps at the last generation, but not shown at matched "
     "parent fitness: the saving cannot be separated from a worse population. Its final score differs"),
    ({"last": "reproduced", "matched": "reproduced", "final": "inconclusive"},
     "Stage 1 costs the factorized variant fewer steps, at the last generation and at matched parent "
     "fitness: the saving is not only that of a worse population. Its final score is not shown"),
    ({"last": "inconclusive", "matched": "reproduced", "final": "reproduced"}, "Stage 1 does not"),
])
def test_stage_reading_follows_the_verdicts(verdicts, start):
    claims = pd.DataFrame({"claim": ["pixel_less_runtime", "pixel_less_runtime", "pixel_equal_final"],
                           "scope": [RACING, MATCHED, RACING], "below_scale": "",
                           "verdict": [verdicts["last"], verdicts["matched"], verdicts["final"]]})
    assert analysis.stage_reading(claims).startswith(start)


def test_stage_reading_names_the_scale_a_final_score_lacks():
    claims = pd.DataFrame({"claim": ["pixel_less_runtime", "pixel_less_runtime", "pixel_equal_final"],
                           "scope": [RACING, MATCHED, RACING], "verdict": ["reproduced", "reproduced",
                                                                           "not tested at scale"],
                           "below_scale": ["", "", "generations 12 (needs 40)"]})
    assert analysis.stage_reading(claims).endswith(
        "Whether it comes at no loss, an equal final score, is not tested at this scale (generations 12 "
        "(needs 40)).")


def test_reading_lines_state_holm_per_claim_not_per_page():
    claims = pd.DataFrame({"claim": ["a", "a", "b"], "scope": ["x", "y", "x"], "mode": "-", "n": "6 vs 6",
                           "min_p": [1 / 924] * 3, "effect": 1.0, "low": 0.5, "high": 1.5,
                           "p_holm": [0.01, 0.01, 0.005], "verdict": "reproduced"})
    first = analysis.reading_lines(claims).splitlines()[0]
    assert first == ("Seeds per variant: 6 vs 6. The smallest one-sided Mann–Whitney p at this n is "
                     "0.0011. Holm corrects each claim over its own scopes (1 to 2 tests per claim here, "
                     "wherever the claim is shown), so a claim's smallest p must lie below α divided by its "
                     "number of tests.")
    assert "this page" not in analysis.reading_lines(claims)


def test_shown_claims_put_the_missing_scale_beside_the_verdict():
    claims = pd.DataFrame({"claim": ["a", "b"], "scope": "x", "mode": "-", "effect": 1.0, "low": 0.5,
                           "high": 1.5, "test": "t", "p_holm": [0.01, np.nan], "n": "6 vs 6",
                           "verdict": ["reproduced", "not tested at scale"],
                           "below_scale": ["", "generations 12 (needs 40)"], "ranksums_p": 0.1,
                           "glass_delta": 1.0})
    shown = analysis.shown_claims(claims)
    assert list(shown["below the claim's scale"]) == ["–", "generations 12 (needs 40)"]
    assert "below the claim's scale" not in analysis.shown_claims(claims.assign(below_scale=""))


def test_claim_statements_give_every_claims_margin_source_and_scale():
    table = analysis.claim_statements(paper.PIXEL_CLAIMS).set_index("claim")
    final = table.loc["pixel_equal_final"]
    assert final["margin (its source)"].startswith("±1.9 % of our dense runs' mean score (the paper's")
    assert final["needs"].startswith("generations 40; population 256 (the paper's equal scores")
    assert table.loc["pixel_stage1_lower", "needs"] == "–"
    assert table.loc["pixel_atari_competitive", "needs"].startswith("Atari games run 4 (the claim is about")
    assert len(analysis.claim_statements(paper.CLAIMS)) == len(paper.CLAIMS)


def test_the_c4_and_c5_sentences_are_generated_from_the_papers_numbers():
    line = analysis.paper_stage_line(15)
    assert line == ("From the original's `last-gen-information.json` (generation 40, 15 seeds): stage-1 "
                    "evaluation time 117.3 s dense against 72.9 s factorized (-38%), stage-1 mean score 474 "
                    "dense against 267 factorized, stage-2 mean score 730.5 dense against 732.8 factorized "
                    "and stage-2 time 33.5 s dense against 35.1 s factorized.")
    final = analysis.equal_final_line()
    assert "within ±1.9 % of our dense runs' mean score: the paper's numbers" in final
    assert "±50 points, is a labelled extra row (`pixel_equal_final (ours: ±50 points)`)" in final
    assert final.endswith("so it needs generations 40, population 256; below that its verdict is *not tested "
                          "at scale*, with its data and interval shown.")


def test_matched_summary_averages_the_runs_with_generations_in_the_band():
    matched = pd.DataFrame({"variant": ["dense", "dense", "factorized"], "seed": [0, 1, 0],
                            "band_low": 40.0, "band_high": 216.0, "generations": [2, 0, 3],
                            "mean_level": [100.0, np.nan, 110.0], "stage1_steps": [7000.0, np.nan, 5000.0],
                            "stage1_mean_score": [90.0, np.nan, 60.0]})
    table = analysis.matched_summary(matched, ["dense", "factorized"], {"dense": "D", "factorized": "F"})
    dense = table.set_index("variant").loc["D"]
    assert dense["runs in the band"] == "1 / 2" and dense["generations in the band"] == 2
    assert dense["band of parent levels"] == "40.0 to 216.0" and dense["stage-1 steps"] == "7,000.0"
    saving = analysis.saving_table(_outcomes(), matched)
    assert saving.iloc[1]["environment steps"] == pytest.approx(5000 / 7000 - 1)
    assert np.isnan(saving.iloc[1]["wall time"])


def test_scale_lines_read_the_papers_values_from_the_spec():
    lm = analysis.lm_scale_line(configure("c1_lm_fitness_curves", "smoke"))
    assert "population 16 (paper 512)" in lm and paper.LM_DATA in lm
    c4 = analysis.pixel_scale_lines(configure("c4_pixel_rl_scores", "default"))
    assert len(c4) == 2 and "(paper 64×64 RGB)" in c4[0] and "truncation 4 (paper 16)" in c4[1]
    (c5,) = analysis.pixel_scale_lines(configure("c5_selection_stages", "default"), image=False)
    assert "grayscale" not in c5 and c5.endswith("6 seeds per variant (paper 15)")


def test_the_heldout_table_and_its_reading_come_from_the_last_scoring():
    """Known answer: two seeds per variant; held-out scored at generations 0 and 2 (NaN between)."""
    rows = []
    for name, train, held in (("dense", -5.0, -5.5), ("adam", -1.0, -9.0)):
        for seed, shift in ((0, 0.0), (1, 0.2)):
            for generation, heldout in ((0, held - 1), (1, np.nan), (2, held + shift)):
                rows.append({"variant": name, "seed": seed, "generation": generation,
                             "best_neg_ce": train + shift, "heldout_neg_ce": heldout})
    table = analysis.heldout_table(pd.DataFrame(rows), ["dense", "adam"], {"dense": "D", "adam": "A"})
    assert list(table.index) == ["D", "A"]
    assert table.loc["D", "scored at (generation; Adam: step)"] == 2
    assert table.loc["D", "held-out −CE"] == pytest.approx(-5.4)
    assert table.loc["D", "gap (training − held-out)"] == pytest.approx(0.5)
    assert table.loc["A", "gap (training − held-out)"] == pytest.approx(8.0)
    assert analysis.heldout_reading(table, "A") == (
        "At the last scoring, the Deep GA variants' best individuals score 0.50–0.50 nats worse on the "
        "held-out windows than on the training ones; Adam's parameters 8.00 nats worse (training −CE -0.90).")


def test_the_population_reach_line_scales_each_stage_to_the_papers_size():
    """Known answer: 1 min of stage 1 and 1 min of stage 2 at N 48, 12 finalists, 6 seeds; the paper's
    N 256, 32 finalists and 15 seeds: 15/6 x (1 x 256/48 + 1 x 32/12) = 20 min."""
    config = configure("c4_pixel_rl_scores", "default", generations=40)
    results = pd.DataFrame({"task": ["racing", "racing", "minatar:Breakout"],
                            "stage1_time_s": [30.0, 30.0, 99.0], "stage2_time_s": [45.0, 15.0, 0.0]})
    line = analysis.population_reach_line(results, config, 90, "CPU")
    assert line == ("compute: the racing runs' evaluations took 2.0 min on CPU, against the 90 min this "
                    "profile is sized for; the paper's population 256 with 32 finalists and 15 seeds would "
                    "take about 0.3 h here at 40 generations (stage 1 scaled by the population, stage 2 by "
                    "the finalists), so this page runs population 48")
    assert ", against" not in analysis.population_reach_line(results, config, None, "CPU")
