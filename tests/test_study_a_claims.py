"""Study A's claims on small synthetic tables with known answers: margins on each case's scale, the
two-sided h = 10 test, the loss-floor label, the scale rule and the claims A.8–A.11."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nevolab.stats import VERDICTS
from nevolab.studies.a import claims as a_claims
from nevolab.studies.a import paper

RNG = np.random.default_rng(7)


def _final(spec: dict[tuple[str, str], tuple[float, float]],
           times: dict[tuple[str, str], float] | None = None, n: int = 20,
           mode: str = "corrected") -> pd.DataFrame:
    """Final losses: (case, algorithm) → (centre, spread) of ``n`` repeats, with a run time each."""
    rows = []
    for (case, algorithm), (centre, spread) in spec.items():
        values = np.abs(RNG.normal(centre, spread, size=n)) if spread else np.full(n, centre)
        for repeat, value in enumerate(values):
            rows.append({"case": case, "algorithm": algorithm, "repeat": repeat, "best_loss": value,
                         "mode": mode, "budget": "generations",
                         "run_time_s": (times or {}).get((case, algorithm), 1.0)})
    return pd.DataFrame(rows)


def _rows(table: pd.DataFrame, claim: str) -> pd.DataFrame:
    return table[table.claim == claim].set_index("scope")


def test_relative_margins_come_from_the_papers_figure_at_a_readable_level():
    figure = paper.FIGURE_FINAL_LOSS
    ratio, where = paper.relative_margin("ea_competitive_lstm")
    assert ratio == round((figure["VI"]["ea"] - figure["VI"]["cosyne"]) / figure["VI"]["cosyne"], 3)
    assert where.startswith("case VI")
    # h = 10 on backprop reads 0.01 → 0.00: a level within the figure's reading, so it gives no ratio.
    ratio, where = paper.relative_margin("h10_no_benefit")
    assert ratio == round((figure["IV"]["cosyne"] - figure["VI"]["cosyne"]) / figure["IV"]["cosyne"], 3)
    assert "cosyne" in where
    assert paper.margin("ea_competitive_lstm") == round(figure["IV"]["ea"] - figure["IV"]["cosyne"], 2)
    with pytest.raises(ValueError, match="has no margin"):
        paper.relative_margin("backprop_best")


def test_the_margin_is_the_papers_ratio_times_our_level_in_the_case():
    ratio, _ = paper.relative_margin("idct_works_ff")
    assert a_claims.case_margin("idct_works_ff", np.array([0.1, 0.2, 0.3])) == pytest.approx(ratio * 0.2)
    assert a_claims.case_margin("idct_works_ff", np.array([2.0, 2.0])) == pytest.approx(ratio * 2.0)
    assert a_claims.case_margin("idct_works_ff", np.zeros(4)) == a_claims.MARGIN_FLOOR  # never 0
    final = _final({("I", "cosyne"): (0.2, 0.002), ("I", "cosyne_idct"): (0.2, 0.002),
                    ("II", "cosyne"): (0.5, 0.005), ("II", "cosyne_idct"): (0.5, 0.005)})
    rows = _rows(a_claims.study_a_claims(final), "idct_works_ff")
    for case in ("I", "II"):
        direct = final[(final.case == case) & (final.algorithm == "cosyne")].best_loss
        assert rows.loc[f"case {case}, cosyne", "margin"] == pytest.approx(ratio * np.median(direct))
    assert (rows.verdict == "reproduced").all()


def test_every_paper_claim_states_its_margin_source_and_scale():
    for claim in paper.CLAIMS:
        assert claim.margin and claim.margin_source, claim.key
        assert not claim.margin_is_ours, claim.key  # a margin of ours only decides an extra row
        assert dict(claim.scale) == {"generations": paper.PAPER_GENERATIONS}, claim.key
    for key, (claim, ours) in paper.EXTRA_ROWS.items():
        assert claim in paper.CLAIMS_BY_KEY and ours.startswith("ours") and "ours" in key
        assert paper.sentence(key).endswith(f"[{ours}]")


@pytest.mark.parametrize(("oversized", "verdict"), [(0.30, "reproduced"), (0.05, "not reproduced"),
                                                    (0.60, "not reproduced")])
def test_h10_no_benefit_is_two_sided(oversized, verdict):
    """h = 10 neither better nor worse beyond δ: equal passes, much better fails, much worse fails."""
    table = a_claims.study_a_claims(_final({("IV", "cosyne"): (0.30, 0.003),
                                            ("VI", "cosyne"): (oversized, 0.003)}, n=30))
    row = _rows(table, "h10_no_benefit").loc["VI vs IV, cosyne"]
    assert row.expected == "equivalent" and row.test.startswith("TOST")
    assert row.margin == pytest.approx(paper.relative_margin("h10_no_benefit")[0] * 0.30, rel=0.05)
    assert row.verdict == verdict
    side = {0.05: a_claims.H10_BETTER, 0.60: a_claims.H10_WORSE}.get(oversized)
    assert (side in row.detail) if side else ("beyond δ" not in row.detail)


def test_rows_at_the_loss_floor_say_so():
    spec = {("III", "backprop"): (2e-5, 1e-6), ("V", "backprop"): (1e-5, 1e-6),
            ("III", "cosyne"): (0.1, 0.01), ("V", "cosyne"): (0.1, 0.01)}
    table = a_claims.study_a_claims(_final(spec, n=30))
    rows = _rows(table, "h10_no_benefit")
    assert rows.loc["V vs III, backprop", "at_floor"]
    assert a_claims.FLOOR_NOTE in rows.loc["V vs III, backprop", "detail"]
    # h = 10 is significantly better at the floor: the two-sided test says so, and labels it.
    assert rows.loc["V vs III, backprop", "verdict"] == "not reproduced"
    assert not rows.loc["V vs III, cosyne", "at_floor"]
    assert a_claims.at_floor(np.array([0.0, 1e-4]), np.array([9e-4]))
    assert not a_claims.at_floor(np.array([2e-3]))


def test_a_run_shorter_than_the_papers_is_not_tested_at_scale_and_drops_wall_time_claims():
    final = _final({("I", "backprop"): (0.2, 0.001), ("I", "cosyne"): (0.3, 0.01)},
                   times={("I", "cosyne"): 4.0})
    at_scale = a_claims.study_a_claims(final, generations=2000)
    short = a_claims.study_a_claims(final, generations=100)
    assert "bio_slower_wall_time" in set(at_scale.claim) and "bio_slower_wall_time" not in set(short.claim)
    assert (short.verdict == "not tested at scale").all()
    assert short.verdict_reason.str.contains("generations 100 (needs 2000)", regex=False).all()
    assert set(at_scale.verdict) <= set(VERDICTS)


def test_bio_inspired_slower_in_wall_time():
    """A.8 on a table where every bio-inspired run is 3× backprop's time: reproduced, and "much" (our 2×)
    is an extra row; with every one at half backprop's time, not reproduced."""
    algorithms = ["backprop", "cosyne", "de", "ea"]
    cases = ["I", "II", "III"]
    spec = {(c, a): (0.3, 0.01) for c in cases for a in algorithms}
    slow = a_claims.study_a_claims(_final(spec, {(c, a): 1.0 * (3.0 + 0.1 * i) if a != "backprop" else 1.0
                                                 for c in cases for i, a in enumerate(algorithms)}))
    row = _rows(slow, "bio_slower_wall_time").iloc[0]
    assert row.verdict == "reproduced" and row.n == "9 pairs"
    assert row.effect == pytest.approx(np.log2(3.1), abs=0.1)
    extra = _rows(slow, "bio_slower_wall_time, ours: ≥ 2×").iloc[0]
    assert extra.verdict == "reproduced" and bool(extra.ours)
    fast = a_claims.study_a_claims(_final(spec, {(c, a): 0.5 + 0.01 * i if a != "backprop" else 1.0
                                                 for c in cases for i, a in enumerate(algorithms)}))
    assert _rows(fast, "bio_slower_wall_time").iloc[0].verdict == "not reproduced"


def test_idct_slower_on_the_feed_forward_cases():
    """A.10: every IDCT run twice its direct one's time on cases I and II (6 pairs) is reproduced;
    the LSTM cases do not enter."""
    spec, times = {}, {}
    for case in ("I", "II", "III"):
        for i, base in enumerate(("cosyne", "de", "ea")):
            spec[(case, base)] = spec[(case, f"{base}_idct")] = (0.3, 0.01)
            times[(case, base)], times[(case, f"{base}_idct")] = 1.0 + i, 2.0 * (1.0 + i) + 0.1 * i
    table = a_claims.study_a_claims(_final(spec, times))
    row = _rows(table, "idct_slower_ff").loc["cases I, II"]
    assert row.n == "6 pairs" and row.verdict == "reproduced"
    reverse = a_claims.study_a_claims(_final(spec, {k: 1.0 / v for k, v in times.items()}))
    assert _rows(reverse, "idct_slower_ff").loc["cases I, II", "verdict"] == "not reproduced"


def test_backprop_variance_below_cosyne_and_variance_is_not_decided_without_a_size():
    """A.11: a narrow backprop against a wide CoSyNE on case I reproduces the paper's sentence; the
    "variance is a problem for all" rows show the coefficients and are not tested at scale."""
    table = a_claims.study_a_claims(_final({("I", "backprop"): (0.2, 0.001), ("I", "cosyne"): (0.2, 0.03),
                                            ("II", "backprop"): (0.4, 0.01), ("II", "cosyne"): (0.4, 0.01)},
                                           n=30))
    assert _rows(table, "backprop_variance_below_cosyne").loc["case I", "verdict"] == "reproduced"
    variance = _rows(table, "variance_problem_ff")
    assert list(variance.index) == ["case I", "case II"]
    assert (variance.verdict == "not tested at scale").all()
    assert variance.loc["case I", "detail"].startswith("coefficient of variation of final loss: backprop ")
    swapped = a_claims.study_a_claims(_final({("I", "backprop"): (0.2, 0.03), ("I", "cosyne"): (0.2, 0.001)},
                                             n=30))
    assert _rows(swapped, "backprop_variance_below_cosyne").loc["case I", "verdict"] == "not reproduced"


def _curves(case: str, algorithm: str, run_time_s: float, level: float, n: int = 20) -> pd.DataFrame:
    """Running-min curves recorded at generations 1, 500, 1000, 2000: loss level × (2000 / g)^0.2."""
    rows = []
    for repeat in range(n):
        noise = RNG.normal(0, 0.002 * level)
        for generation in (1, 500, 1000, 2000):
            rows.append({"case": case, "algorithm": algorithm, "repeat": repeat, "generation": generation,
                         "evaluations": generation * (1 if algorithm == "backprop" else 10),
                         "min_loss": level, "best_loss": level * (2000 / generation) ** 0.2 + noise,
                         "time_s": generation / 2000 * run_time_s, "run_time_s": run_time_s})
    return pd.DataFrame(rows)


def test_cosyne_early_reads_cosyne_when_backprop_has_consumed_its_batches():
    """A.9: on case I CoSyNE takes twice backprop's time, so at backprop's end it is at generation
    1000 (the last recorded point within the time), where its loss 0.9 × 2^0.2 ≈ 1.03 is below
    backprop's 1.1: reproduced. On case II CoSyNE is faster than backprop: the paper's situation does
    not arise, so that row (and our "limitedly" row) is not tested at scale."""
    curves = pd.concat([_curves("I", "backprop", 1.0, 1.1), _curves("I", "cosyne", 2.0, 0.9),
                        _curves("II", "backprop", 1.0, 1.0), _curves("II", "cosyne", 0.5, 1.02)])
    final = a_claims.claims_input({"corrected": curves})
    early = final[final.budget == a_claims.WALL_TIME]
    assert set(early[early.algorithm == "cosyne"].groupby("case").generation.max()) == {1000, 2000}
    table = a_claims.study_a_claims(final, generations=2000)
    rows = _rows(table, "cosyne_early")
    assert rows.loc["case I, backprop's wall time", "verdict"] == "reproduced"
    assert "CoSyNE at 50% of its batches" in rows.loc["case I, backprop's wall time", "detail"]
    case_two = table[table.scope == "case II, backprop's wall time"]
    assert set(case_two.claim) == {"cosyne_early", "cosyne_early, ours: limitedly"}
    assert (case_two.verdict == "not tested at scale").all()
    assert case_two.verdict_reason.str.contains("needs CoSyNE slower than backprop").all()


def test_cosyne_early_on_case_two_is_worse_and_our_limited_row_decides_limitedly():
    curves = pd.concat([_curves("II", "backprop", 1.0, 1.0), _curves("II", "cosyne", 2.0, 0.9)])
    table = a_claims.study_a_claims(a_claims.claims_input({"corrected": curves}), generations=2000)
    paper_row = _rows(table, "cosyne_early").loc["case II, backprop's wall time"]
    ours = _rows(table, "cosyne_early, ours: limitedly").loc["case II, backprop's wall time"]
    assert paper_row.expected == "higher" and paper_row.verdict == "reproduced"  # 1.03 > 1.0: worse
    assert ours.margin == pytest.approx(paper.OURS_LIMITEDLY * 1.0, rel=0.01)
    assert ours.verdict == "reproduced" and bool(ours.ours)  # within 10% of backprop's loss
