"""The scorecard: one row per claim from the claims tables, ReScience marks, a key per profile."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from nevolab import report
from nevolab.registry import configure
from nevolab.studies import scorecard as sc


def _claims(rows):
    p_for = {"reproduced": 0.01, "not reproduced": 0.9}
    return pd.DataFrame([{"claim": claim, "scope": scope, "mode": mode, "expected": "higher", "margin": 0.0,
                          "effect": 0.1, "low": 0.05, "high": 0.2, "verdict": verdict,
                          "p_holm": p_for.get(verdict, 0.5) + 0.001 * index,
                          "p_against_holm": 1 - p_for.get(verdict, 0.5)}
                         for index, (claim, scope, mode, verdict) in enumerate(rows)])


def test_marks_follow_the_verdicts():
    assert sc.mark(pd.Series(["reproduced", "reproduced"])) == "[Re]"
    assert sc.mark(pd.Series(["not reproduced", "inconclusive"])) == "[¬Re]"
    assert sc.mark(pd.Series(["reproduced", "not reproduced"])) == "mixed"
    assert sc.mark(pd.Series(["reproduced", "not tested at scale"])) == "mixed"
    assert sc.mark(pd.Series(["underpowered"] * 3)) == "underpowered"
    assert sc.mark(pd.Series(["inconclusive", "underpowered"])) == "inconclusive"
    assert sc.mark(pd.Series(["not tested at scale", "underpowered"])) == "not tested at scale"
    assert report.verdict_tally(pd.Series(["reproduced", "not reproduced", "reproduced"])) == "2/3 Re · 1 ¬Re"


def test_one_row_per_claim_with_both_modes_and_the_headline_scope():
    claims = {"A": _claims([("de_beats_ea_ff", "case I", "faithful", "not reproduced"),
                            ("de_beats_ea_ff", "case I", "corrected", "reproduced"),
                            ("de_beats_ea_ff", "case II", "corrected", "reproduced")]),
              "B": _claims([("snr_beats_magnitude", "digits", "-", "underpowered"),
                            ("snr_beats_magnitude", "all tasks", "-", "inconclusive")])}
    configs = {"A": configure("a3_claims", "default"), "B": configure("b4_claims", "default")}
    card = sc.scorecard(claims, configs, complete=False).set_index("claim")
    assert list(card.index[:2]) == ["de_beats_ea_ff", "snr_beats_magnitude"]
    # the studies' other claims: rows marked not tested at scale, not run at this profile
    assert (card.iloc[2:].decisive == sc.NOT_RUN).all() and "backprop_best" in card.index
    row = card.loc["de_beats_ea_ff"]
    assert (row.faithful, row.corrected, row.mark) == ("0/1 Re · 1 ¬Re", "2/2 Re", "mixed")
    assert row.mark_text == "faithful 0/1 [Re], corrected 2/2 [Re]"
    # the decisive row: a decided one with the smallest Holm p of its verdict (case I, corrected: 0.011)
    assert row.decisive == "case I · corrected" and row.p_for == 0.011
    assert card.loc["snr_beats_magnitude"].decisive == "all tasks"  # Study B: the pooled scope
    assert "repeats 30 (paper 100)" in sc.scale_against_paper(configs["A"])
    shown = sc.shown_table(card.reset_index().iloc[:2])
    assert {"margin", "decisive scope", "Holm p for / against"} <= set(shown.columns)
    assert shown["Holm p for / against"].iloc[0] == "0.011 / 0.99"
    with pytest.raises(ValueError, match="on no claims page"):
        sc.scorecard(claims, configs)


def test_a_claim_on_two_claims_pages_is_one_row_over_both():
    """C5 tests the stage-1 claims on racing, C6 on the real CarRacing-v3, each in its own scopes: the
    scorecard has one row per claim over all of them, its page the decisive row's; one scope on two pages
    is refused."""
    racing = _claims([("pixel_stage1_lower", "racing, factorized vs dense", "-", "inconclusive"),
                      ("pixel_stage1_lower", "racing, factorized vs dense, matched parent fitness", "-",
                       "inconclusive")])
    real = _claims([("pixel_stage1_lower", "CarRacing-v3, factorized vs dense", "-", "reproduced"),
                    ("pixel_stage1_lower", "CarRacing-v3, factorized vs dense, matched parent fitness", "-",
                     "inconclusive")])
    configs = {"C5": configure("c5_selection_stages", "default"),
               "C6": configure("c6_real_carracing", "default")}
    card = sc.scorecard({"C5": racing, "C6": real}, configs, complete=False).set_index("claim")
    row = card.loc["pixel_stage1_lower"]
    assert (card.index == "pixel_stage1_lower").sum() == 1 and row.study == "C5"
    assert row.verdict == "1/4 Re · 3 inconclusive" and row.mark == "mixed"
    assert row.decisive == "CarRacing-v3, factorized vs dense" and row.page == "c6_real_carracing"
    alone = sc.scorecard({"C5": racing}, {"C5": configs["C5"]}, complete=False).set_index("claim")
    assert alone.loc["pixel_stage1_lower"].page == "c5_selection_stages"  # the claim's own page
    with pytest.raises(ValueError, match="on two claims pages: c5_selection_stages and c6_real_carracing"):
        sc.scorecard({"C5": racing, "C6": racing}, configs, complete=False)


def test_a_margin_we_chose_is_labelled_ours():
    ours = report.PaperClaim("k", "s", "o", "f", margin="±50 points", margin_source="ours: 5 % of a lap")
    theirs = report.PaperClaim("k", "s", "o", "f", margin="±0.02", margin_source="the paper's Fig. 1")
    row = pd.Series({"margin": 50.0, "expected": "equivalent"})
    assert sc.margin_text(ours, row) == "±50 points (ours: 5 % of a lap)" and ours.margin_is_ours
    assert sc.margin_text(theirs, row) == "±0.02<br>(source: the paper's Fig. 1)"
    assert not theirs.margin_is_ours
    directional = pd.Series({"margin": 0.0, "expected": "lower"})
    assert sc.margin_text(theirs, directional) == "0 (directional)"


@pytest.mark.parametrize("profile", ["smoke", "default"])
def test_the_committed_scorecard_holds_every_claim_of_the_papers(monkeypatch, profile):
    """Every PaperClaim of every study's paper.py is a row, from the committed claims tables; at default
    each is on a claims page (the scorecard refuses otherwise), at smoke a claim whose data the smoke
    runs lack is a row marked not tested at scale."""
    from nevolab import store
    from nevolab.paths import repo_root

    monkeypatch.setenv("NEVOLAB_RESULTS_DIR", str(repo_root() / "data" / "results"))  # read only
    configs = sc.run_configs(configure("scorecard", profile))
    tables = {part: store.load(config)[0] for part, config in configs.items()}
    card = sc.scorecard(tables, configs, complete=profile != "smoke")
    papers = {claim.key for claims in sc.STUDY_PAPER_CLAIMS.values() for claim in claims}
    assert sorted(card.claim) == sorted(papers)
    placeholders = card[card.decisive == sc.NOT_RUN]
    assert (placeholders.mark == "not tested at scale").all()
    assert profile == "smoke" or placeholders.empty


def test_the_forest_plot_draws_one_row_per_claim_in_the_claims_direction():
    card = pd.DataFrame([
        {"study": "A", "claim": "lower_claim", "expected": "lower", "margin": 0.0, "effect": -2.0,
         "low": -3.0, "high": -1.0, "decisive_verdict": "reproduced"},
        {"study": "C", "claim": "equal_claim", "expected": "equivalent", "margin": 50.0, "effect": 25.0,
         "low": -200.0, "high": 75.0, "decisive_verdict": "not tested at scale"}])
    effect, low, high, region = sc._oriented(card.iloc[0])
    assert (effect, low, high, region) == (2 / 3, 1 / 3, 1.0, (0.0, math.inf))  # lower: flipped to the right
    assert sc._oriented(card.iloc[1]) == (0.5, -4.0, 1.5, (-1.0, 1.0))  # in margins
    fig = sc.forest_plot(card)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["C: equal claim", "A: lower claim"]


def test_the_scorecard_key_tells_profiles_apart():
    smoke, default = (sc.run_configs(configure("scorecard", profile)) for profile in ("smoke", "default"))
    assert sc.scorecard_key(smoke).hash() != sc.scorecard_key(default).hash()


def test_how_we_decide_links_every_claims_page():
    from nevolab.paths import repo_root
    from nevolab.registry import NOTEBOOKS

    text = (repo_root() / "book" / "how_we_decide.md").read_text()
    pages = [name for name, spec in NOTEBOOKS.items() if spec.claims_page]
    assert len(pages) >= 7 and all(f"]({name}.ipynb)" in text for name in pages), pages
