"""The verdict rule v2 (nevolab.stats): exact rank distributions, Hodges–Lehmann intervals, Holm,
TOST and non-inferiority, underpowered designs, and verdicts that never contradict their tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from nevolab import report, stats


def test_exact_null_distributions_match_scipy():
    # P(U <= u) from the Gaussian binomial coefficient against scipy's exact Mann–Whitney test.
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.5, 3.5, 5.0, 6.0, 7.0, 8.0])
    u = sps.mannwhitneyu(a, b, alternative="less", method="exact")
    assert np.cumsum(stats._mann_whitney_null(4, 6))[int(u.statistic)] == pytest.approx(u.pvalue)
    signed = stats._signed_rank_null(3)
    np.testing.assert_allclose(signed * 8, [1, 1, 1, 2, 1, 1, 1])
    assert stats.min_attainable_p(3) == 1 / 8 and stats.min_attainable_p(3, 3) == 1 / 20
    assert stats.min_sample_size(paired=True) == 5 and stats.min_sample_size(paired=False) == 3


def test_hodges_lehmann_known_answers():
    a = np.arange(10.0)
    effect, low, high = stats.hodges_lehmann(a + 2.0, a)
    assert effect == 2.0 and low < 2.0 < high
    paired = np.array([1.0, 2.0, 3.0])
    assert stats.hodges_lehmann(paired)[0] == 2.0  # median of the Walsh averages 1, 1.5, 2, 2, 2.5, 3
    assert stats.hodges_lehmann(paired)[1:] == (-math.inf, math.inf)  # n = 3 cannot give a 95% interval


@pytest.mark.parametrize("seed", range(5))
def test_interval_and_test_agree(seed):
    """Duality: the 95% interval excludes 0 exactly when the one-sided test at 2.5% rejects."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0.4 * seed, 1, 12), rng.normal(0, 1, 15)
    _, low, high = stats.hodges_lehmann(a, b)
    p_low = sps.mannwhitneyu(a, b, alternative="greater", method="exact").pvalue
    assert (low > 0) == (p_low <= 0.025)
    p_high = sps.mannwhitneyu(a, b, alternative="less", method="exact").pvalue
    assert (high < 0) == (p_high <= 0.025)


def test_holm_known_answer():
    np.testing.assert_allclose(stats.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(stats.holm([np.nan, 0.01])[0]) and stats.holm([np.nan, 0.01])[1] == 0.01


def _decide_one(*args, **kwargs) -> pd.Series:
    return stats.decide([stats.assess_claim("claim", *args, **kwargs)]).iloc[0]


def test_three_seeds_are_underpowered_not_reproduced():
    # A bootstrap of three same-signed differences "excludes 0"; the exact test cannot reach 0.05.
    row = _decide_one(np.array([1.0, 2.0, 3.0]), np.zeros(3), "higher", paired=True)
    assert row.verdict == "underpowered" and row.min_n == 5 and row.min_p == 1 / 8


def test_directional_verdicts():
    rng = np.random.default_rng(0)
    low, high = rng.normal(0, 1, 30), rng.normal(2, 1, 30)
    assert _decide_one(low, high, "lower").verdict == "reproduced"
    assert _decide_one(high, low, "lower").verdict == "not reproduced"
    same = _decide_one(low, rng.normal(0, 1, 30), "lower")
    assert same.verdict == "inconclusive"


def test_equivalence_and_non_inferiority():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 0.1, 40), rng.normal(0.01, 0.1, 40)
    assert _decide_one(a, b, "equivalent", margin=0.2).verdict == "reproduced"
    # A true null cannot be shown equivalent with a margin far below the noise at this n.
    assert _decide_one(a, b, "equivalent", margin=0.005).verdict == "inconclusive"
    far = b + 1.0
    assert _decide_one(far, a, "equivalent", margin=0.2).verdict == "not reproduced"
    assert _decide_one(a, far, "not_higher", margin=0.2).verdict == "reproduced"
    assert _decide_one(far, a, "not_higher", margin=0.2).verdict == "not reproduced"
    with pytest.raises(ValueError, match="margin"):
        stats.assess_claim("c", a, b, "equivalent")
    with pytest.raises(ValueError, match="expected must be one of"):
        stats.assess_claim("c", a, b, "smaller")


def test_holm_over_a_page_can_turn_a_verdict_inconclusive():
    rng = np.random.default_rng(3)
    borderline = [stats.assess_claim(f"c{i}", rng.normal(0, 1, 8), rng.normal(0.9, 1, 8), "lower")
                  for i in range(20)]
    alone = [stats.decide([test]).verdict.iloc[0] for test in borderline]
    together = stats.decide(borderline).verdict
    assert (together == "reproduced").sum() <= alone.count("reproduced")
    assert (stats.decide(borderline).p_holm >= stats.decide(borderline).p_value).all()


def test_no_verdict_contradicts_its_test():
    rng = np.random.default_rng(4)
    tests = [stats.assess_claim(f"c{i}", rng.normal(shift, 1, n), rng.normal(0, 1, n), expected,
                                margin=0.5 if expected != "lower" else 0.0, paired=paired)
             for i, (shift, n, expected, paired) in enumerate(
                 [(s, n, e, p) for s in (-1.5, 0.0, 1.5) for n in (3, 6, 25)
                  for e in ("lower", "equivalent", "not_higher") for p in (False, True)])]
    table = stats.decide(tests)
    assert list(table.columns[:len(stats.CLAIM_COLUMNS)]) == list(stats.CLAIM_COLUMNS)
    reproduced = table[table.verdict == "reproduced"]
    assert (reproduced.p_holm <= stats.ALPHA).all()
    contradicted = table[table.verdict == "not reproduced"]
    assert (contradicted.p_against_holm <= stats.ALPHA).all()
    assert (table[table.verdict == "underpowered"].min_p > stats.ALPHA).all()
    assert set(table.verdict) <= set(stats.VERDICTS)


def test_report_formats_without_nan_or_floats_as_integers():
    rng = np.random.default_rng(5)
    table = stats.decide([stats.assess_claim("c", rng.normal(0, 1, 3), rng.normal(0, 1, 3), "lower",
                                             paired=True)])
    shown = report.compact(table)
    assert "nan" not in shown.to_string().lower() and "−∞" in shown["shift [95% CI]"].iloc[0]
    counts = report.verdict_counts(table.assign(mode="-"))
    assert counts.dtypes.map(lambda d: d.kind == "i").all()
    assert report.number(-0.00001) == "−1.00e-05" and report.number(0.5) == "+0.500"


def _paired_claim(claim: str, scope: str, shift: float, n: int, mode: str = "-") -> stats.ClaimTest:
    rng = np.random.default_rng(abs(hash((claim, scope))) % 2**32)
    a = rng.normal(shift, 0.1, n)
    return stats.assess_claim(claim, a, np.zeros(n), "higher", paired=True, scope=scope, mode=mode)


def test_holm_runs_per_claim_and_mode_so_pages_do_not_change_verdicts():
    """A claim's verdicts are the same decided alone or beside other claims (one page or two)."""
    first = [_paired_claim("first", scope, 1.0, 8) for scope in ("x", "y", "z")]
    second = [_paired_claim("second", scope, 1.0, 8, mode) for scope in ("x", "y") for mode in ("m1", "m2")]
    together = stats.decide(first + second)
    apart = pd.concat([stats.decide(first), stats.decide(second)], ignore_index=True)
    pd.testing.assert_frame_equal(together, apart)
    assert (together.verdict == "reproduced").all()
    assert together.family_size.tolist() == [3, 3, 3, 2, 2, 2, 2]
    # 8 same-signed pairs: the smallest one-sided p is 1/256, so Holm over 3 gives 3/256
    assert together.p_holm.iloc[0] == pytest.approx(3 / 256)


def test_power_is_judged_on_the_holm_adjusted_floor():
    """Six pairs reach p = 1/64 alone and in a family of three (3/64 < 0.05), but not in a family of
    four: Tarone's rule finds no k that four such tests can all reach, so none is decidable."""
    alone = stats.decide([_paired_claim("c", "x", 1.0, 6)]).iloc[0]
    assert alone.verdict == "reproduced" and alone.family_size == 1
    three = stats.decide([_paired_claim("c", scope, 1.0, 6) for scope in "xyz"])
    assert (three.verdict == "reproduced").all() and three.min_p_holm.iloc[0] == pytest.approx(3 / 64)
    four = stats.decide([_paired_claim("c", scope, 1.0, 6) for scope in "wxyz"])
    assert (four.verdict == "underpowered").all()
    assert (four.min_p_holm > stats.ALPHA).all() and four.verdict_reason.str.contains("family of 4").all()
    # a decidable test beside an undecidable one: Tarone leaves the undecidable one out of the family
    mixed = stats.decide([_paired_claim("c", "x", 1.0, 8), _paired_claim("c", "y", 1.0, 3)])
    assert mixed.verdict.tolist() == ["reproduced", "underpowered"] and mixed.family_size.iloc[0] == 1


def test_a_claim_below_its_scale_is_not_tested_at_scale():
    needs = {"generations": 40, "population": 256}
    assert stats.scale_shortfall(needs, {"generations": 40, "population": 300}) == ""
    shortfall = stats.scale_shortfall(needs, {"generations": 12, "population": 256})
    assert shortfall == "generations 12 (needs 40)"
    with pytest.raises(ValueError, match="lack population"):
        stats.scale_shortfall(needs, {"generations": 12})
    rng = np.random.default_rng(0)
    a = rng.normal(5.0, 0.1, 10)
    tests = [stats.assess_claim("c", a, np.zeros(10), "higher", scope="small", below_scale=shortfall),
             stats.assess_claim("c", a, np.zeros(10), "higher", scope="big")]
    table = stats.decide(tests)
    assert table.verdict.tolist() == ["not tested at scale", "reproduced"]
    assert table.effect.iloc[0] == pytest.approx(5.0, abs=0.2) and np.isfinite(table.low.iloc[0])
    assert "generations 12 (needs 40)" in table.verdict_reason.iloc[0]
    assert table.family_size.tolist() == [0, 1]  # the row below scale is not counted in the family
    assert "not tested at scale" in stats.VERDICTS and "not tested at scale" in stats.RESCIENCE_MARKS
