"""Study B's page analyses (nevolab.studies.b.analysis and .sentences): known answers on small
hand-built frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nevolab import report
from nevolab.registry import configure
from nevolab.studies.b import analysis, sentences


def _runs(values: dict[tuple[str, str], list[float]], seeds: int = 2) -> pd.DataFrame:
    """One row per (task, curve, seed, round); curve ``gd`` is a GD row. Rounds keep 100, 50, 25, 12.5 %
    (nominal); seed s adds 0.01·s to the value."""
    rows = []
    for (task, curve), path in values.items():
        for seed in range(seeds):
            for r, value in enumerate(path):
                rows.append({"task_key": task, "method": "GD" if curve == "gd" else "ES",
                             "criterion": "magnitude" if curve == "gd" else curve, "seed": seed, "round": r,
                             "weights_remaining": 100.0 / 2**r, "weights_remaining_nominal": 100.0 / 2**r,
                             "test_performance": value + 0.01 * seed,
                             "snr_magnitude_agreement": 1.0 if r < 2 else 0.5})
    return pd.DataFrame(rows)


def test_the_agreement_table_heads_rounds_by_the_share_kept():
    results = _runs({("digits", "snr"): [0.9, 0.8, 0.7, 0.6], ("digits", "random"): [0.9, 0.7, 0.5, 0.3]})
    table = analysis.agreement_table(results)
    assert list(table.columns) == ["100 %", "50 %", "25 %", "12.5 %"]
    assert table.loc["digits"].tolist() == [1.0, 1.0, 0.5, 0.5]


def test_high_sparsity_means_average_the_rounds_at_most_ten_percent_else_the_last():
    results = _runs({("digits", "snr"): [0.9, 0.8, 0.7, 0.6], ("digits", "random"): [0.9, 0.7, 0.5, 0.3]})
    per_seed = analysis.per_seed_high_sparsity(results.assign(curve=analysis.curve_key(results)),
                                               "test_performance")
    raw = analysis.high_sparsity_means(per_seed, ["snr", "magnitude", "random"])
    assert list(raw.index) == ["snr", "random"]  # magnitude absent: left out, the order kept
    assert raw.loc["snr", "digits"] == pytest.approx(0.605)  # last round only, mean of 0.60 and 0.61
    assert analysis.task_formats(["pendulum", "digits"]) == {"pendulum": "{:.0f}", "digits": "{:.3f}"}


def test_records_and_the_budget_sentence():
    records = pd.DataFrame({"run": ["ES", "Adam"], "task": ["digits", "digits"],
                            "wall_time_s": [1800.0, 1200.0],
                            "date": ["2026-01-02T03:04:05", "2026-01-02T04:05:06"],
                            "machine": ["cpu (2 cores)"] * 2,
                            "commit": ["abc1234"] * 2})
    shown = analysis.records_shown(records, str.upper)
    assert list(shown.task) == ["DIGITS"] * 2 and list(shown.minutes) == [30.0, 20.0]
    assert list(shown.date) == ["2026-01-02 03:04", "2026-01-02 04:05"] and "wall_time_s" not in shown
    assert report.budget_sentence(records, 60.0, "X", 2) == (
        "X took 50 min of compute (within the budget of 60 min), on cpu (2 cores).")
    assert "over the budget of 45 min" in report.budget_sentence(records, 45.0, "X", 2)
    assert report.budget_sentence(records, 60.0, "X", 3).startswith("X: 1 of 3 runs are not computed yet")


def test_dense_shown_and_the_sparsest_round():
    results = _runs({("pendulum", "snr"): [-200.0, -300.0], ("pendulum", "gd"): [-150.0, -900.0]})
    dense = analysis.dense_training_check(results)
    shown = analysis.dense_shown(dense, str.upper).iloc[0]
    assert shown.task == "PENDULUM" and shown["ES dense mean"] == "−200" and shown.met == "yes"
    assert analysis.gd_bar_sentences(dense, str.upper) == [
        "On PENDULUM the dense GD network reaches a mean test return of −150 against the ES bar of −250: "
        "it clears it."]
    missed = analysis.dense_training_check(_runs({("pendulum", "snr"): [-200.0, -300.0],
                                                  ("pendulum", "gd"): [-525.0, -900.0]}))
    assert analysis.gd_bar_sentences(missed, str)[0].endswith(
        "of −525 against the ES bar of −250: it misses it by 275.")
    sparsest = analysis.sparsest_table(results, str)
    assert sparsest.index.name == "round 1"
    assert list(sparsest.index) == ["snr mean", "snr std", "gd mean", "gd std"]
    assert sparsest.loc["gd mean", "pendulum"] == pytest.approx(-899.995)


def test_component_intervals_hold_each_component_and_the_pooled_scope():
    rows = []
    for task in ("digits", "pendulum"):
        for seed in range(3):
            for r in (0, 1):
                for component, value in (("weights", 0.1), ("mask positions", 0.2), ("layerwise ratio", 0.0),
                                         ("ticket effect", 0.3)):
                    rows.append({"task_key": task, "round": r, "seed": seed, "component": component,
                                 "value": value * r, "weights_remaining": 100.0 / 10**r})
    table = analysis.component_intervals(pd.DataFrame(rows), ["digits", "pendulum"])
    assert list(table.scope.unique()) == ["digits", "pendulum", "all tasks"]
    pooled = table[table.scope == "all tasks"].set_index("component")
    assert pooled.at["ticket effect", "mean"] == pytest.approx(0.3) and pooled.at["weights", "n"] == 6


def _panels() -> pd.DataFrame:
    rows = []
    for panel, relation, offsets in (("a@digits", "across ES", {"own": 0.2, "random": 0.0, "transfer": 0.1}),
                                     ("b@digits", "ES → GD", {"own": 0.0, "random": 0.1, "transfer": 0.2})):
        for curve, offset in offsets.items():
            for seed in range(2):
                for r, remaining in enumerate((100.0, 50.0, 5.0)):
                    rows.append({"panel": panel, "relation": relation, "task_key": "digits", "curve": curve,
                                 "seed": seed, "round": r, "weights_remaining": remaining,
                                 "test_performance": 0.5 + offset * r})
    return pd.DataFrame(rows)


def test_panels_are_normalised_by_their_own_range_and_summarised():
    frame = _panels()
    normalised = analysis.normalise_panels(frame)
    a = normalised[normalised.panel == "a@digits"]
    assert a.normalised.min() == 0.0 and a.normalised.max() == 1.0  # 0.5 … 0.9
    wide = analysis.per_panel_seed(frame)
    assert wide.loc[("across ES", "a@digits", 0), "own"] == pytest.approx(1.0)
    assert wide.loc[("across ES", "a@digits", 0), "transfer"] == pytest.approx(0.5)
    summary = analysis.panel_summary(frame, [("a@digits", "across ES", "A")],
                                     {"own": "own", "random": "random", "transfer": "transfer"}).iloc[0]
    assert (summary.kind, summary.panel) == ("across ES", "A")
    assert (summary.own, summary.transfer) == ("0.900", "0.700")
    assert summary["transfer − own (median, normalised)"] == "-0.50"


def test_strategy_agreement_table_and_sentence():
    agreement = pd.DataFrame({"strategy": ["SNES", "SNES", "Sep_CMA_ES", "Sep_CMA_ES"],
                              "task": ["digits"] * 4, "round": [0, 1, 0, 1],
                              "weights_remaining": [100.0, 50.0, 100.0, 50.0],
                              "agreement": [0.8, 0.7, 1.0, 0.95]})
    table = analysis.strategy_agreement_table(agreement, str)
    assert list(table.columns) == ["strategy · task", "round 0 (100 %)", "round 1 (50 %)"]
    assert table.iloc[0].tolist() == ["SNES · digits", "0.80", "0.70"]
    sentence = analysis.agreement_sentence(agreement)
    assert "different kernels with SNES (0.70)" in sentence and "Sep-CMA-ES (0.95)" in sentence


def _summary(es=(0.8, 0.6, 0.3), imp=(0.8, 0.5, 0.2), gd=(0.9, 0.7, 0.1), seeds=2) -> pd.DataFrame:
    rows = []
    for method, scores in ((analysis.ES_METHOD, es), (analysis.IMP_METHOD, imp), (analysis.GD_METHOD, gd)):
        for seed in range(seeds):
            for r, score in enumerate(scores):
                rows.append({"method": method, "seed": seed, "round": r, "weights_remaining": 100.0 / 2**r,
                             "test_score": score + 0.02 * seed})
    return pd.DataFrame(rows)


def test_trained_rounds_and_the_accuracy_table():
    summary = _summary()
    assert analysis.trained_rounds(summary) == [0, 1]  # round 2: both below 0.5
    assert analysis.rounds_text([0, 1], summary) == "rounds 0–1, 100–50 % kept"
    table = analysis.accuracy_table(summary)
    assert list(table.columns) == ["kernels kept (%)", "ES (SNR)", "GD (Adam IMP)", "used by the claims"]
    assert table["used by the claims"].tolist() == ["yes", "yes", "no"]
    assert table.at[1, "ES (SNR)"] == pytest.approx(0.61)


def test_measure_means_keep_a_round_barrier_only_when_both_rounds_are_in():
    measures = pd.DataFrame({"measure": ["barrier_rounds"] * 3 + ["curvature"] * 4,
                             "method": ["es_snr"] * 7, "round": [1, 2, 1, 0, 0, 1, 1],
                             "seed": [0, 0, 1, 0, 0, 0, 1],
                             "weights_remaining": [50.0, 25.0, 50.0, 100.0, 100.0, 50.0, 50.0],
                             "value": [0.1, 0.9, 0.3, 1.0, 3.0, 2.0, 4.0]})
    assert analysis.measure_mean(measures, "barrier_rounds", "es_snr", [0, 1]) == pytest.approx(0.2)
    assert analysis.measure_mean(measures, "curvature", "es_snr", [0, 1]) == pytest.approx((2.0 + 4.0) / 2)
    curvature = analysis.curvature_per_seed(measures)
    assert curvature.set_index(["round", "seed"]).loc[(0, 0), "value"] == pytest.approx(2.0)


def test_relative_advantage_and_the_correlation_table():
    advantage = analysis.relative_advantage(_summary())
    assert advantage.advantage.tolist() == pytest.approx([0.0, 0.1 / 0.81, 0.1 / 0.81])
    correlations = pd.DataFrame({"quantity": ["snr", "magnitude"] * 2, "round": [0, 0, 1, 1],
                                 "weights_remaining": [100.0, 100.0, 50.0, 50.0],
                                 "rho": [1.0, 1.0, 0.8, 0.6]})
    table = analysis.correlation_table(correlations, advantage.iloc[:2])
    assert list(table.index) == ["round 0 (100 % kept)", "round 1 (50 % kept)"]
    assert table.loc["round 1 (50 % kept)", "ρ |θ|"] == 0.6
    text = sentences.correlation_findings(correlations, advantage, pd.DataFrame({"claim": []}), {})
    assert text == ("Only one round is compared with round 0 here, so no fall can be measured. SNR pruning "
                    "leads magnitude pruning in 2 of 2 pruned rounds.")
    assert text.endswith("SNR pruning leads magnitude pruning in 2 of 2 pruned rounds.")


def test_the_scale_line_reads_the_paper_values_from_the_spec():
    text = sentences.scale_text(configure("b1_ticket_curves", "default"))
    assert "paper 20 x 20 %, 100 % -> 1.44 %" in text and "(paper 5)" in text
    assert "(paper 2000 x 100)" in text and "(paper 4000 x 128)" in text


def test_a_verdict_at_the_floor_of_the_exact_test_says_so():
    claims = pd.DataFrame([{"claim": "c", "scope": "digits", "effect": 0.1, "low": np.nan, "high": np.nan,
                            "verdict": "inconclusive", "verdict_reason": "why", "p_value": 0.25,
                            "min_p": 0.25,
                            "n": "2 pairs"},
                           {"claim": "c", "scope": "all tasks", "effect": 0.2, "low": 0.1, "high": 0.3,
                            "verdict": "reproduced", "verdict_reason": "p small", "p_value": 0.01,
                            "min_p": 0.001,
                            "n": "8 pairs"}])
    assert sentences.pooled_row(claims, "c").scope == "all tasks"
    assert sentences.pooled_row(claims, "d") is None
    floor = sentences.verdict_text(claims.iloc[0], {"c": "C"})
    assert floor.startswith("C, shift") and "the smallest that 2 pairs can give" in floor
    assert "smallest" not in sentences.verdict_text(claims.iloc[1], {"c": "C"})


def test_agreement_words_read_every_cell_not_only_the_exact_ones():
    table = pd.DataFrame({"100 %": [1.0, 1.0], "50 %": [0.926, 0.95], "25 %": [0.93, 0.97]})
    assert sentences.agreement_words(table) == ("almost the same", True)
    assert sentences.agreement_words(table.clip(lower=1.0)) == ("the same", True)
    assert sentences.agreement_words(table.assign(**{"25 %": [0.5, 0.97]})) == ("different", False)


def test_the_landscape_pages_say_whether_their_dense_networks_clear_the_bar():
    summary = pd.DataFrame({"method": ["es_snr", "es_snr", "gd_adam", "gd_adam", "es_snr"],
                            "round": [0, 0, 0, 0, 1], "test_score": [0.8, 0.87, 0.95, 0.97, 0.1]})
    sentence = analysis.dense_bar_sentence(summary)
    assert sentence == ("Dense networks' mean test accuracy: ES (SNR) 0.835; GD (Adam IMP) 0.960. "
                        "ES (SNR) is under the bar of 0.90 that B1–B4 hold their dense ES networks to, "
                        "so these measurements are of networks trained less than B1–B4's.")
    cleared = analysis.dense_bar_sentence(summary.assign(test_score=0.95))
    assert cleared.endswith("All clear the bar of 0.90 that B1–B4 hold their dense ES networks to.")


def _ticket_claims(seeds: int) -> pd.DataFrame:
    """B4's claims table on two tasks where the tickets beat random and ES beats GD in every seed (the
    seed adds 0.01 in every curve, so the paired differences are exact)."""
    from nevolab.studies.b import claims as b_claims

    paths = {(task, curve): path for task in ("pendulum", "digits")
             for curve, path in (("snr", [1.0, 0.9, 0.8, 0.7]), ("magnitude", [1.0, 0.9, 0.8, 0.7]),
                                 ("random", [1.0, 0.6, 0.4, 0.2]), ("gd", [1.1, 0.8, 0.5, 0.3]))}
    frame = _runs(paths, seeds=seeds)
    frame["test_performance"] += np.random.default_rng(0).normal(0, 1e-3, len(frame))
    return b_claims.study_b_claims(frame, threshold=20.0)


LABELS = {"tickets_beat_random_snr": "SNR > random", "tickets_beat_random_imp": "IMP > random",
          "snr_beats_magnitude": "SNR > IMP", "es_beats_gd_sparse": "ES > GD",
          "ticket_effect_simple_above_complex": "simple > complex",
          "decomposition_robust_to_es": "robust decomposition", "es_beats_gd_moderate_control": "moderate"}


def test_the_power_parenthesis_follows_holm_over_the_claims_rows():
    assert sentences.seeds_needed(1) == 5 and sentences.seeds_needed(3) == 6  # 1/32 ≤ 0.05; 3/64 ≤ 0.05
    eight = _ticket_claims(8)
    tickets = eight[eight.claim == "tickets_beat_random_snr"]
    assert sentences.per_task_power(tickets, 8) == (
        " (a single task's 8 seeds can reach p ≤ 0.05 after Holm over the claim's 3 rows: the best possible "
        "is 0.012, so every task's row can decide)")
    four = _ticket_claims(4)
    assert sentences.per_task_power(four[four.claim == "tickets_beat_random_snr"], 4) == (
        " (a single task's 4 seeds cannot reach p ≤ 0.05 once Holm corrects over the claim's 1 rows: the "
        "best possible is 0.062)")
    assert sentences.per_task_power(tickets[tickets.scope == "all tasks"], 8) == ""


def test_b4_reads_its_table_under_the_per_claim_rule():
    text = sentences.claims_reading(_ticket_claims(8), LABELS)
    lines = text.split("\n")
    assert lines[0] == "Each task has 8 paired seeds."
    assert lines[1] == ("Holm's correction runs over each claim's 3 rows (its tasks and the pooled row), the "
                        "same on every page; a task's row can reach at best Holm p = 0.012.")
    assert lines[2] == "No test is underpowered: every task's row can decide."
    assert "over the page" not in text
    assert sum(line.startswith("- SNR > random (all tasks)") for line in lines) == 1
    assert ("- moderate: **not tested at scale**: Hopper or Grasp tasks 0 (needs 1) (the claim names Hopper "
            "and Grasp (Brax); the default runs Pendulum and 8×8 digits only)") in lines
    four = sentences.claims_reading(_ticket_claims(4), LABELS).split("\n")
    assert four[2] == ("8 of 12 tests are **underpowered**: their exact one-sided signed-rank p cannot go "
                       "below 0.062, 0.062 once Holm corrects over the claim; p ≤ 0.05 becomes possible "
                       "from 5 paired seeds per task.")


def test_b7_says_how_far_the_correlation_falls_and_in_how_many_seeds():
    correlations = pd.DataFrame([
        {"quantity": quantity, "method": "m", "round": r, "weights_remaining": 100 / 2**r, "seed": s,
         "survivors": 5, "rho": 1.0 if r == 0 else first - drop * (r - 1) + 0.01 * s}
        for quantity, first, drop in (("snr", 0.6, 0.2), ("magnitude", 0.5, -0.1))
        for s in range(2) for r in range(3)])
    advantage = pd.DataFrame({"round": [0, 1, 2], "advantage": [0.0, 0.1, -0.1]})
    text = sentences.correlation_findings(correlations, advantage, pd.DataFrame(columns=["claim"]), {})
    assert text == ("The surviving kernels' rank correlation with round 0 (seed means): SNR 0.605 at round 1 "
                    "and 0.405 at round 2, lower in 2 of 2 seeds; |θ| 0.505 at round 1 and 0.605 at round 2, "
                    "lower in 0 of 2 seeds. SNR pruning leads magnitude pruning in 1 of 2 pruned rounds.")
    one_round = sentences.correlation_findings(correlations[correlations["round"] < 2], advantage,
                                               pd.DataFrame(columns=["claim"]), {})
    assert one_round.startswith("Only one round is compared with round 0 here, so no fall can be measured.")


def test_b1_and_b2_say_whether_a_tasks_row_can_decide_and_name_the_claims_beyond_their_runs():
    paths = {(task, curve): path for task in ("pendulum", "digits")
             for curve, path in (("snr", [1.0, 0.9, 0.8, 0.7]), ("magnitude", [1.0, 0.9, 0.8, 0.7]),
                                 ("random", [1.0, 0.6, 0.4, 0.2]), ("gd", [1.1, 0.8, 0.5, 0.3]))}
    results = _runs(paths, seeds=8)
    claims = _ticket_claims(8)
    config = configure("b2_es_vs_gd", "default", tasks=["pendulum", "digits"], seeds=8)
    b2_claims = claims[claims.claim.isin(["es_beats_gd_sparse", "es_beats_gd_moderate_control"])]
    text = sentences.es_vs_gd_findings(results, b2_claims, config, LABELS)
    assert ("Whether it counts as reproduced is the claims table's verdict (a single task's 8 seeds can "
            "reach p ≤ 0.05 after Holm over the claim's 3 rows: the best possible is 0.012, so every task's "
            "row can decide): ES > GD, shift") in text
    assert "moderate: **not tested at scale** (Hopper or Grasp tasks 0 (needs 1))." in text
    assert "cannot reach p ≤ 0.05)" not in text


def test_b6_names_the_barrier_and_its_threshold_not_their_difference():
    row = pd.Series({"claim": "es_rounds_not_connected", "scope": "rounds 0–4", "mode": "-", "effect": 0.003,
                     "low": -0.008, "high": 0.015, "p_holm": 0.42, "n": "8 pairs", "verdict": "inconclusive",
                     "barrier": 0.023, "barrier_low": 0.012, "barrier_high": 0.035, "threshold": 0.02})
    assert sentences.barrier_line(row, "ES rounds not connected") == (
        "ES rounds not connected (rounds 0–4): barrier +0.023 [+0.012, +0.035] against the threshold of 2%, "
        "Holm p = 0.42, n = 8 pairs → **inconclusive**")
    other = row.copy()
    other["barrier"] = np.nan
    assert sentences.barrier_line(other, "X").startswith("X (rounds 0–4): shift +0.003 [−0.008, +0.015]")
