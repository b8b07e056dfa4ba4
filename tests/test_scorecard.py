"""The scorecard: one row per claim from the claims tables, ReScience marks, a key per profile."""

from __future__ import annotations

import pandas as pd

from nevolab import report
from nevolab.registry import configure
from nevolab.studies import scorecard as sc


def _claims(rows):
    return pd.DataFrame([{"claim": claim, "scope": scope, "mode": mode, "effect": 0.1, "low": 0.05,
                          "high": 0.2, "verdict": verdict} for claim, scope, mode, verdict in rows])


def test_marks_follow_the_verdicts():
    assert sc.mark(pd.Series(["reproduced", "reproduced"])) == "[Re]"
    assert sc.mark(pd.Series(["not reproduced", "inconclusive"])) == "[¬Re]"
    assert sc.mark(pd.Series(["reproduced", "not reproduced"])) == "partial"
    assert sc.mark(pd.Series(["underpowered"] * 3)) == "underpowered"
    assert sc.mark(pd.Series(["inconclusive", "underpowered"])) == "inconclusive"
    assert report.verdict_tally(pd.Series(["reproduced", "not reproduced", "reproduced"])) == "2/3 Re · 1 ¬Re"


def test_one_row_per_claim_with_both_modes_and_the_headline_scope():
    claims = {"A": _claims([("de_beats_ea_ff", "case I", "faithful", "not reproduced"),
                            ("de_beats_ea_ff", "case I", "corrected", "reproduced"),
                            ("de_beats_ea_ff", "case II", "corrected", "reproduced")]),
              "B": _claims([("snr_beats_magnitude", "digits", "-", "underpowered"),
                            ("snr_beats_magnitude", "all tasks", "-", "inconclusive")])}
    configs = {"A": configure("a3_claims", "default"), "B": configure("b4_claims", "default")}
    card = sc.scorecard(claims, configs).set_index("claim")
    assert list(card.index) == ["de_beats_ea_ff", "snr_beats_magnitude"]
    row = card.loc["de_beats_ea_ff"]
    assert (row.faithful, row.corrected, row.mark) == ("0/1 Re · 1 ¬Re", "2/2 Re", "partial")
    assert card.loc["snr_beats_magnitude"].ours.startswith("all tasks:")  # Study B: the pooled scope
    assert "repeats 30 (paper 100)" in sc.scale_against_paper(configs["A"])


def test_the_scorecard_key_tells_profiles_apart():
    smoke, default = (sc.run_configs(configure("scorecard", profile)) for profile in ("smoke", "default"))
    assert sc.scorecard_key(smoke).hash() != sc.scorecard_key(default).hash()


def test_how_we_decide_links_every_claims_page():
    from nevolab.paths import repo_root
    from nevolab.registry import NOTEBOOKS

    text = (repo_root() / "book" / "how_we_decide.md").read_text()
    pages = [name for name, spec in NOTEBOOKS.items() if spec.claims_page]
    assert len(pages) >= 7 and all(f"]({name}.ipynb)" in text for name in pages), pages
