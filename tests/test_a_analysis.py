"""Study A's page analysis on small hand-built tables with known answers, and its parameter bounds."""

from __future__ import annotations

import pandas as pd
import pytest

from nevolab.config import ConfigError, memory_budget_bytes, resolve
from nevolab.plotting import display_name
from nevolab.studies.a import analysis, spec
from nevolab.studies.a.ablation import CORRECTED, FAITHFUL

DE, EA, COSYNE, BACKPROP = (display_name(name) for name in ("de", "ea", "cosyne", "backprop"))


def _curves(rows: list[tuple]) -> pd.DataFrame:
    """Curves of (case, algorithm, code, repeat, generation, evaluations, best_loss)."""
    return pd.DataFrame(rows, columns=["case", "algorithm", "code", "repeat", "generation", "evaluations",
                                       "best_loss"])


def test_hyperparameter_table_pivots_by_case_and_spaces_option_values():
    best = {("I", "de"): {"variant": "rand_to_best", "population_size": 7},
            ("II", "de"): {"population_size": 9}}
    table = analysis.hyperparameter_table(lambda c, a: best[(c, a)], ["I", "II"], ["de"])
    assert list(table.columns) == ["I", "II"]
    assert table.loc[("de", "variant"), "I"] == "rand to best"
    assert pd.isna(table.loc[("de", "variant"), "II"])
    assert table.loc[("de", "population_size"), "II"] == 9


def test_zero_loss_note_counts_final_losses_of_zero():
    results = pd.DataFrame({"case": ["III"] * 4, "algorithm": ["ea", "ea", "ea", "de"],
                            "generation": [1, 2, 2, 2], "best_loss": [0.0, 0.0, 0.0, 0.5]})
    assert analysis.zero_loss_note(results, 1e-9) == ("losses of exactly 0 are drawn at 1e-09; final losses "
                                                      "of exactly 0: case III (μ,ρ,λ)-EA 2")
    assert analysis.zero_loss_note(results.assign(best_loss=1.0), 0.5).endswith("exactly 0: none")


def test_final_summary_reads_the_last_generation():
    results = pd.DataFrame({"case": "I", "algorithm": ["de"] * 4, "generation": [1, 1, 2, 2],
                            "best_loss": [9.0, 9.0, 1.0, 3.0], "run_time_s": 2.0,
                            "evaluations": [7, 7, 14, 14]})
    row = analysis.final_summary(results, ["de"]).loc[("I", "de")]
    assert (row["median"], row["mean"], row["wall time (s)"], row["evaluations"]) == (2.0, 2.0, 2.0, 14)


def test_ordering_and_pairs_use_readable_names():
    assert analysis.ordering(["de", "ea"]) == "Differential Evolution < (μ,ρ,λ)-EA"
    assert analysis.pair_list([("de", "ea")]) == "Differential Evolution / (μ,ρ,λ)-EA"
    assert analysis.pair_list([]) == "none"
    assert analysis.number_of_pairs(["a", "b", "c", "d"]) == 6
    assert analysis.algorithm_order(["ea", "backprop", "de"]) == ["backprop", "de", "ea"]


def test_quirk_table_ranks_each_code_within_the_case():
    final = pd.DataFrame({"case": "I", "algorithm": ["de", "de", "ea", "ea"],
                          "code": ["corrected", "faithful"] * 2, "best_loss": [1.0, 4.0, 2.0, 3.0]})
    table = analysis.quirk_table(final, ["I", "IV"])
    assert table.loc[("I", "de"), "faithful / corrected"] == 4.0
    assert list(table["rank corrected"]) == [1, 2] and list(table["rank faithful"]) == [2, 1]


def test_ranking_sentences_and_table():
    rankings = pd.DataFrame({"case": ["I", "II"], "corrected": [["de", "ea", "cosyne"], ["de", "ea"]],
                             "faithful": [["ea", "de", "cosyne"], ["de", "ea"]],
                             "swapped": [[("de", "ea")], []]})
    assert analysis.ranking_table(rankings).loc["I", "swapped / all pairs"] == "1 / 3"
    assert analysis.ranking_table(rankings).loc["I", "corrected"] == f"{DE}, {EA}, {COSYNE}"
    assert analysis.ranking_paragraph(rankings) == (
        f"On Case I the quirks reverse 1 of 3 pairs ({DE} / {EA}); the best algorithm changes from {DE} "
        f"(corrected) to {EA} (faithful). On Case II the quirks leave the ranking of the algorithms "
        "unchanged.")
    assert analysis.ranking_paragraph(rankings.iloc[:0]).startswith("No case has both")


def _pairs() -> pd.DataFrame:
    return pd.DataFrame({
        "case": "I", "quirks": [CORRECTED, "stale_fitness", FAITHFUL],
        "de mean": [1.0, 3.0, 3.0], "de median": [1.0, 1.0, 3.0],
        "ea mean": [2.0, 2.0, 2.0], "ea median": [2.0, 2.0, 2.0],
        "P(de < ea)": [0.75, 0.5, 0.25],
        "lower by mean": [True, False, False], "lower by median": [True, True, False],
        "flips by mean": [False, True, True], "flips by median": [False, False, True]})


def test_flip_sentence_names_the_single_quirks_that_flip():
    assert analysis.flip_paragraphs(_pairs()) == (
        "**Case I.** Corrected, DE's mean final loss is lower than the EA's (1 vs 2) and its median lower "
        "(1 vs 2), P(DE < EA) = 0.75. Faithful, DE's mean final loss is higher than the EA's (3 vs 2) and "
        "its median higher (3 vs 2), P(DE < EA) = 0.25. Alone, `stale_fitness` flips the comparison of "
        "means and no single quirk that of medians.")
    assert analysis.flip_paragraphs(_pairs().iloc[:0]).startswith("The ablation needs both")


def test_pair_table_has_one_cell_per_algorithm():
    table = analysis.pair_table(_pairs())
    assert table.loc[("I", "stale_fitness"), "DE mean / median"] == "3 / 1"
    assert table.loc[("I", FAITHFUL), "flips by median"] == "✓"


def test_equal_evaluation_table_reads_every_run_at_the_smallest_budget():
    # DE spends 10 evaluations a generation, the EA 5: the budget is the EA's 10.
    curves = _curves([("I", "de", "corrected", 0, 1, 10, 3.0), ("I", "de", "corrected", 0, 2, 20, 1.0),
                      ("I", "ea", "corrected", 0, 1, 5, 2.5), ("I", "ea", "corrected", 0, 2, 10, 2.0)])
    table = analysis.equal_evaluation_table(curves).set_index("algorithm")
    assert set(table["budget (evaluations)"]) == {10}
    assert table.loc["de", "equal generations"] == 1.0 and table.loc["de", "equal evaluations"] == 3.0
    assert table.loc["ea", "equal evaluations"] == 2.0 and table.loc["de", "generation reached"] == 1
    assert (table.loc["de", "rank (generations)"], table.loc["de", "rank (evaluations)"]) == (1, 2)
    sentence = analysis.budget_list(table.reset_index())
    assert sentence == (f"- Case I, corrected: at 10 evaluations the order changes for {DE} / {EA}; "
                        "DE vs EA: 1 vs 2 at equal generations, 3 vs 2 at equal evaluations (DE higher).")
    assert list(analysis.budget_display(table.reset_index()).columns)[:2] == ["budget", "equal generations"]
    assert analysis.equal_evaluation_table(None).empty


def test_case_one_finals_adds_the_ablation_codes_once():
    final = pd.DataFrame({"case": ["I", "II"], "algorithm": "de", "code": "corrected", "repeat": 0,
                          "best_loss": [1.0, 9.0]})
    ablation = pd.DataFrame({"case": "I", "algorithm": "de", "quirks": [CORRECTED, FAITHFUL, "stale"],
                             "repeat": 0, "best_loss": [1.0, 2.0, 5.0]})
    finals = analysis.case_one_finals(final, ablation)
    assert sorted(zip(finals.code, finals.best_loss)) == [("corrected", 1.0), ("faithful", 2.0)]


def test_summary_cell_and_the_case_one_paragraph():
    comparison = pd.DataFrame({
        "algorithm": ["backprop", "cosyne"],
        "paper figure mean": [0.4, 0.2], "paper figure n": [100, 100],
        "authors' code mean": [0.2, 0.1], "authors' code min": [0.1, 0.05], "authors' code max": [0.3, 0.2],
        "authors' code n": [5, 5],
        "NevoLab corrected mean": [0.1, 0.3], "NevoLab corrected median": [0.1, 0.3],
        "NevoLab corrected n": [30, 30],
        "NevoLab faithful mean": [0.1, 0.05], "NevoLab faithful median": [0.1, 0.05],
        "NevoLab faithful n": [30, 30]}).set_index("algorithm")
    cells = analysis.case_one_table(comparison)
    assert cells.loc["backprop", "authors' code"] == "0.200 [0.100–0.300], n = 5"
    assert cells.loc["cosyne", "NevoLab corrected"] == "0.300, median 0.300, n = 30"
    assert cells.loc["cosyne", "paper figure"] == "0.200, n = 100"
    assert analysis.case_one_paragraph(comparison) == (
        f"By mean final loss (lowest first), the paper's figure ranks {COSYNE} < {BACKPROP}; the authors' "
        f"code run here ranks {COSYNE} < {BACKPROP} (runs: {BACKPROP} 5, {COSYNE} 5). So the figure's "
        "ranking matches what the authors' code produces, and its values are 2.0 to 2.0 times the authors' "
        f"code's means. NevoLab ranks {BACKPROP} < {COSYNE} (corrected) and {COSYNE} < {BACKPROP} "
        "(faithful).")


def _claims_side() -> pd.DataFrame:
    return pd.DataFrame({"claim": ["a", "b", "c"], "scope": "case I",
                         "faithful": ["reproduced", "reproduced", "–"],
                         "corrected": ["not reproduced", "reproduced", "reproduced"],
                         "agree": ["no", "yes", "–"]})


def test_disagreement_note_counts_the_verdicts_tested_in_both_modes():
    side = _claims_side()
    assert analysis.compared(side) == 2
    assert analysis.disagreement_note(side).startswith("1 of 2 verdicts tested in both modes change")
    assert analysis.disagreement_note(side.iloc[1:]) == "Under this profile no verdict depends on the mode."


def test_responsible_quirks_and_their_list():
    side = _claims_side()
    disagree = side[side.agree == "no"]
    tests = pd.DataFrame({"claim": "a", "scope": "case I", "quirks": [CORRECTED, "q1", "q2", FAITHFUL],
                          "verdict": ["not reproduced", "reproduced", "inconclusive", "reproduced"],
                          "effect": [0.1, -0.2, 0.0, -0.3], "responsible": [False, True, False, False]})
    summary = analysis.responsible_quirks(tests, disagree)
    assert summary.loc[("a", "case I"), "responsible quirk(s)"] == "q1"
    assert analysis.responsible_list(tests, disagree) == (
        "- **a**, case I: faithful *reproduced*, corrected *not reproduced*; responsible: q1")
    assert analysis.responsible_list(tests.iloc[:0], disagree) == "No verdict depends on the mode."
    wide = analysis.per_quirk_verdicts(tests)
    assert wide.loc[0, "q1"].startswith("reproduced (") and wide.loc[0, FAITHFUL].startswith("reproduced (")


def test_claim_sentences_state_every_margin_and_its_source():
    from nevolab.studies.a import paper

    sentences = analysis.claim_sentences().set_index("claim")
    assert list(sentences.index) == [claim.key for claim in paper.CLAIMS]
    assert (sentences.margin != "–").all() and (sentences["margin's source"] != "–").all()
    assert "the raw gap of the figure: 0.12" in sentences.loc["ea_competitive_lstm", "margin"]
    assert "× our median final loss of CoSyNE" in sentences.loc["ea_competitive_lstm", "margin"]
    assert sentences.loc["backprop_best", "margin"].startswith("none: a direction")


def _claims_rows(rows: list[dict]) -> pd.DataFrame:
    from nevolab.stats import CLAIM_COLUMNS

    base = {column: 0.0 for column in CLAIM_COLUMNS} | {"test": "Mann–Whitney", "verdict": "reproduced",
                                                        "scope": "case I", "mode": "corrected",
                                                        "at_floor": False, "detail": "",
                                                        "verdict_reason": ""}
    return pd.DataFrame([base | row for row in rows])


def test_floor_sentence_lists_the_rows_at_the_loss_floor():
    claims = _claims_rows([{"claim": "h10_no_benefit", "scope": "V vs III, backprop", "at_floor": True,
                            "verdict": "not reproduced"},
                           {"claim": "backprop_best", "scope": "case II"}])
    assert list(analysis.floor_rows(claims).claim) == ["h10_no_benefit"]
    sentence = analysis.floor_sentence(claims)
    assert sentence.startswith("1 of 2 rows are decided **at the loss floor (both medians < 0.001)**")
    assert sentence.endswith("h10_no_benefit, V vs III, backprop (corrected): not reproduced.")
    assert analysis.floor_sentence(claims.assign(at_floor=False)).startswith("No row is decided")


def test_not_at_scale_sentence_groups_rows_by_reason():
    claims = _claims_rows([{"claim": "variance_problem_ff", "verdict": "not tested at scale",
                            "verdict_reason": "no size"},
                           {"claim": "variance_problem_ff", "scope": "case II",
                            "verdict": "not tested at scale", "verdict_reason": "no size"},
                           {"claim": "backprop_best", "scope": "case II"}])
    assert analysis.not_at_scale_sentence(claims) == (
        "2 of 3 rows are *not tested at scale*: variance_problem_ff case I (corrected), "
        "variance_problem_ff case II (corrected): no size.")
    assert analysis.not_at_scale_sentence(claims.iloc[2:]).startswith("Every row is tested")


def test_extra_rows_and_timing_rows_pick_their_claims():
    claims = _claims_rows([{"claim": "bio_slower_wall_time"}, {"claim": "bio_slower_wall_time, ours: ≥ 2×"},
                           {"claim": "cosyne_early, ours: limitedly"}, {"claim": "backprop_best"},
                           {"claim": "backprop_variance_below_cosyne", "detail": "spread"}])
    assert list(analysis.extra_rows(claims).claim) == ["bio_slower_wall_time, ours: ≥ 2×",
                                                       "cosyne_early, ours: limitedly"]
    timing = analysis.timing_rows(claims)
    assert "backprop_best" not in set(timing.claim) and len(timing) == 4
    assert timing.detail.iloc[-1] == "spread"


def test_wall_time_disagreements_are_not_ablated():
    disagree = pd.DataFrame({"claim": ["bio_slower_wall_time", "backprop_best"],
                             "scope": ["cases I", "case II"],
                             "faithful": ["reproduced", "inconclusive"],
                             "corrected": ["inconclusive", "reproduced"]})
    tests = pd.DataFrame({"claim": ["backprop_best"], "scope": ["case II"], "quirks": ["q"],
                          "responsible": [False]})
    summary = analysis.responsible_quirks(tests, disagree)
    assert summary.loc[("bio_slower_wall_time", "cases I"), "responsible quirk(s)"].startswith("not ablated")
    assert summary.loc[("backprop_best", "case II"), "responsible quirk(s)"].startswith("no single quirk")


def test_figure_claims_keeps_the_corrected_rows_of_the_figure():
    from nevolab.stats import CLAIM_COLUMNS

    row = {column: 0.0 for column in CLAIM_COLUMNS} | {"test": "Mann–Whitney", "verdict": "reproduced",
                                                       "scope": "case I"}
    claims = pd.DataFrame([row | {"claim": "backprop_best", "mode": "corrected"},
                           row | {"claim": "backprop_best", "mode": "faithful"},
                           row | {"claim": "idct_works_ff", "mode": "corrected"}])
    shown = analysis.figure_claims(claims)
    assert len(shown) == 1 and "test" not in shown.columns


@pytest.mark.parametrize("name", sorted(spec.SPECS_BY_NAME))
@pytest.mark.parametrize("profile", ["smoke", "default", "paper"])
def test_every_profile_fits_the_memory_estimate(name, profile):
    """Each profile's presets pass the memory check (under this machine's default budget)."""
    config = resolve(spec.SPECS_BY_NAME[name], profile)
    assert spec.peak_memory(config.values)[0] < memory_budget_bytes()


@pytest.mark.parametrize("override, message", [
    ({"repeats": spec.MAX_REPEATS + 1}, "'repeats': must be <="),
    ({"lstm_repeats": spec.MAX_LSTM_REPEATS + 1}, "'lstm_repeats': must be <="),
    ({"seed": -1}, "'seed': must be >="),
    ({"cases": ["I", "I"]}, "listed more than once"),
])
def test_bad_input_is_refused_in_one_line(override, message):
    with pytest.raises(ConfigError, match=message):
        resolve(spec.SPECS_BY_NAME["a3_claims"], "smoke", **override)


def test_a_run_too_large_for_the_memory_budget_is_refused(monkeypatch):
    monkeypatch.setenv("NEVOLAB_MEMORY_GB", "1")
    with pytest.raises(ConfigError, match="'lstm_repeats'"):
        resolve(spec.SPECS_BY_NAME["a1_min_loss_curves"], "smoke", cases=["V"], lstm_repeats=2000)
    resolve(spec.SPECS_BY_NAME["a1_min_loss_curves"], "smoke", cases=["I"], lstm_repeats=2000)
