"""Statistics shared by every claim: one verdict rule, rank-based effects, Holm correction.

The rule (documented for readers on the book's "How we decide" page):

* Every claim compares two samples ``a`` and ``b`` (independent runs, or paired seeds) through the
  shift ``a - b``: the Hodges–Lehmann estimate with its distribution-free 95% interval (the primary
  statistic: rank-based, so a few outliers at a loss floor cannot decide it), Cliff's δ, and the
  difference of means with a bootstrap interval shown beside it.
* A claim states where the shift should lie, as one of :data:`EXPECTATIONS`: ``lower`` / ``higher``
  (a directional claim, threshold 0) or, for "no difference" claims, ``equivalent`` (|shift| < δ,
  two one-sided tests: TOST), ``not_higher`` (shift < δ: non-inferiority when lower is better) or
  ``not_lower`` (shift > −δ). The margin δ comes from the paper's own scale and is stated beside it.
* Holm's correction runs over a **family**: the tests of one claim in one mode, across its scopes
  (cases, tasks), wherever the claim is tested, so a verdict does not depend on how claims are
  grouped into pages.
* ``reproduced``: the one-sided rank test(s) of the claim reach α = 0.05 after Holm correction over
  its family, *and* the 95% interval lies where the claim says.
* ``not reproduced``: the opposite is established the same way (the test of the contrary direction,
  Holm-corrected, and the interval entirely on the contrary side).
* ``underpowered``: at this sample size even the most extreme data could not reach α once corrected
  over the family (the exact rank-test bound times the family's size, Tarone's rule: a test that
  cannot reach it is not counted in the family); :func:`min_sample_size` reports the n that could
  reach α alone.
* ``not tested at scale``: the claim needs run settings (generations, population, tasks) that this
  run is below (``below_scale`` names them); its data and interval are shown, and nothing is decided.
* ``inconclusive``: otherwise.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

ALPHA = 0.05
VERDICTS = ("reproduced", "not reproduced", "inconclusive", "underpowered", "not tested at scale")
Expectation = Literal["lower", "higher", "equivalent", "not_higher", "not_lower"]
EXPECTATIONS: tuple[str, ...] = ("lower", "higher", "equivalent", "not_higher", "not_lower")
CLAIM_COLUMNS = ("claim", "scope", "mode", "effect", "low", "high", "test", "p_value", "n", "verdict")
"""The columns every claims table stores, first and in this order; more may follow them."""


# --- exact null distributions of the rank statistics --------------------------------------------

def _mann_whitney_null(n: int, m: int) -> np.ndarray:
    """P(U = u), u = 0..n·m, under H0 without ties (Gaussian binomial coefficient, float64)."""
    counts = np.zeros(n * m + 1)
    counts[0] = 1.0
    # ∏_{i=1..m} (1 - q^{n+i}) / (1 - q^i): multiply, then divide by a cumulative sum with stride i.
    for i in range(1, m + 1):
        shifted = np.zeros_like(counts)
        shifted[n + i:] = counts[:counts.size - n - i]
        counts = counts - shifted
        for start in range(i):
            counts[start::i] = np.cumsum(counts[start::i])
    return counts / counts.sum()


def _signed_rank_null(n: int) -> np.ndarray:
    """P(T+ = t), t = 0..n(n+1)/2, under H0 without ties or zeros."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    return counts / counts.sum()


_EXACT_LIMIT = 40_000  # n·m above which the normal approximation of U is used (it is excellent there)


def _rank_critical_count(size_a: int, size_b: int | None, confidence: float) -> int:
    """k: the interval of a Hodges–Lehmann shift is [D_(k), D_(N-k+1)] of the sorted pairwise
    differences (``size_b``) or Walsh averages (paired, ``size_b=None``); 0 when none exists."""
    tail = (1 - confidence) / 2
    if size_b is None:
        if size_a <= 200:
            cdf = np.cumsum(_signed_rank_null(size_a))
            return int(np.searchsorted(cdf, tail + 1e-12, side="right"))
        mean, sd = size_a * (size_a + 1) / 4, math.sqrt(size_a * (size_a + 1) * (2 * size_a + 1) / 24)
    else:
        if size_a * size_b <= _EXACT_LIMIT:
            cdf = np.cumsum(_mann_whitney_null(size_a, size_b))
            return int(np.searchsorted(cdf, tail + 1e-12, side="right"))
        mean, sd = size_a * size_b / 2, math.sqrt(size_a * size_b * (size_a + size_b + 1) / 12)
    return max(0, math.floor(mean + sps.norm.ppf(tail) * sd))


def min_attainable_p(size_a: int, size_b: int | None = None) -> float:
    """The smallest one-sided p-value the exact rank test can return at these sizes: 1/C(n+m, n)
    (Mann–Whitney, independent samples) or 1/2^n (Wilcoxon signed-rank, n pairs)."""
    if size_b is None:
        return 0.5 ** size_a if size_a > 0 else 1.0
    if size_a == 0 or size_b == 0:
        return 1.0
    return 1.0 / math.comb(size_a + size_b, size_a)


def min_sample_size(paired: bool, alpha: float = ALPHA) -> int:
    """The smallest n (pairs, or runs per group) at which a one-sided rank test can reach ``alpha``."""
    n = 1
    while min_attainable_p(n, None if paired else n) > alpha:
        n += 1
    return n


# --- effects -------------------------------------------------------------------------------------

def hodges_lehmann(a: np.ndarray, b: np.ndarray | None = None, confidence: float = 0.95,
                   ) -> tuple[float, float, float]:
    """The Hodges–Lehmann shift of ``a - b`` and its distribution-free interval (the one that inverts
    the Mann–Whitney test), or, with ``b=None``, the paired pseudo-median of the differences ``a``
    (median of the Walsh averages; the interval inverts the signed-rank test). An interval the sample
    size cannot give is (−inf, inf)."""
    a = np.asarray(a, float)
    if b is None:
        upper = np.triu_indices(a.size)
        pool = np.sort(((a[:, None] + a[None, :]) / 2)[upper])
        k = _rank_critical_count(a.size, None, confidence)
    else:
        b = np.asarray(b, float)
        pool = np.sort((a[:, None] - b[None, :]).ravel())
        k = _rank_critical_count(a.size, b.size, confidence)
    estimate = float(np.median(pool))
    if k < 1:
        return estimate, -math.inf, math.inf
    return estimate, float(pool[k - 1]), float(pool[pool.size - k])


def cliffs_delta(a: np.ndarray, b: np.ndarray) -> float:
    """P(a > b) - P(a < b): a rank effect size in [-1, 1]."""
    a, b = np.asarray(a, float)[:, None], np.asarray(b, float)[None, :]
    return float(np.mean(a > b) - np.mean(a < b))


def bootstrap_mean_difference(a: np.ndarray, b: np.ndarray | None = None, num_resamples: int = 10_000,
                              confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """mean(a) - mean(b) (or mean(a) with ``b=None``: paired differences) and its percentile-bootstrap
    interval."""
    rng = np.random.default_rng(seed)
    a = np.asarray(a, float)
    resampled = rng.choice(a, size=(num_resamples, a.size)).mean(axis=1)
    point = a.mean()
    if b is not None:
        b = np.asarray(b, float)
        resampled = resampled - rng.choice(b, size=(num_resamples, b.size)).mean(axis=1)
        point = point - b.mean()
    tail = (1 - confidence) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail])
    return float(point), float(low), float(high)


def bootstrap_mean(values: np.ndarray, num_resamples: int = 10_000, confidence: float = 0.95,
                   seed: int = 0) -> tuple[float, float, float]:
    """mean(values) and its percentile-bootstrap interval (for paired differences)."""
    return bootstrap_mean_difference(values, None, num_resamples, confidence, seed)


# --- one-sided rank tests against a threshold ---------------------------------------------------

def shift_p_value(a: np.ndarray, b: np.ndarray | None, threshold: float, below: bool) -> float:
    """One-sided rank-test p-value for "the shift of ``a - b`` is below (``below``) / above
    ``threshold``": Mann–Whitney U on (a - threshold, b), or, paired (``b=None``), Wilcoxon
    signed-rank on a - threshold (zeros dropped; no evidence, p = 1, when nothing is left)."""
    shifted = np.asarray(a, float) - threshold
    alternative = "less" if below else "greater"
    if b is None:
        nonzero = shifted[shifted != 0]
        if nonzero.size == 0:
            return 1.0
        return float(sps.wilcoxon(nonzero, alternative=alternative).pvalue)
    b = np.asarray(b, float)
    if shifted.size == 0 or b.size == 0:
        return 1.0
    return float(sps.mannwhitneyu(shifted, b, alternative=alternative).pvalue)


def _bounds(expected: str, margin: float) -> tuple[float, float]:
    """The region (low, high) of the shift that the claim asserts."""
    return {"lower": (-math.inf, 0.0), "higher": (0.0, math.inf),
            "equivalent": (-margin, margin), "not_higher": (-math.inf, margin),
            "not_lower": (-margin, math.inf)}[expected]


def _p_for_and_against(a: np.ndarray, b: np.ndarray | None, low: float, high: float,
                       ) -> tuple[float, float]:
    """p of "the shift lies in (low, high)" (the larger of its one-sided tests: TOST when both
    bounds are finite) and p of "it lies outside" (the smaller one-sided test of the contrary side,
    doubled when there are two sides)."""
    tests_for, tests_against = [], []
    if math.isfinite(low):
        tests_for.append(shift_p_value(a, b, low, below=False))
        tests_against.append(shift_p_value(a, b, low, below=True))
    if math.isfinite(high):
        tests_for.append(shift_p_value(a, b, high, below=True))
        tests_against.append(shift_p_value(a, b, high, below=False))
    return max(tests_for), min(1.0, len(tests_against) * min(tests_against))


# --- claims --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ClaimTest:
    """One claim tested on one scope (a case, a task) and mode, before the page's Holm correction."""

    claim: str
    scope: str
    mode: str
    expected: str
    margin: float
    effect: float  # Hodges–Lehmann shift of a - b (paired: pseudo-median of the differences)
    low: float
    high: float
    mean_effect: float
    mean_low: float
    mean_high: float
    cliffs_delta: float
    test: str
    p_value: float  # one-sided p of the claim (TOST: the larger of its two)
    p_against: float
    min_p: float
    n: str
    detail: str = ""
    below_scale: str = ""  # the run settings under what the claim needs (scale_shortfall); "" at scale

    def row(self) -> dict:
        return dataclasses.asdict(self)


def assess_claim(claim: str, a: np.ndarray, b: np.ndarray, expected: Expectation, *, paired: bool = False,
               margin: float = 0.0, scope: str = "-", mode: str = "-", detail: str = "",
               below_scale: str = "", seed: int = 0) -> ClaimTest:
    """Test "the shift of ``a`` against ``b`` lies where ``expected`` says" (see the module doc);
    ``paired`` pairs a[i] with b[i] (same seed under two treatments); a non-empty ``below_scale``
    (:func:`scale_shortfall`) makes the verdict ``not tested at scale``."""
    if expected not in EXPECTATIONS:
        raise ValueError(f"expected must be one of {', '.join(EXPECTATIONS)}; got {expected!r}")
    if expected in ("equivalent", "not_higher", "not_lower") and not margin > 0:
        raise ValueError(f"a {expected!r} claim needs a positive margin; got {margin!r}")
    a, b = np.asarray(a, float), np.asarray(b, float)
    if paired and a.shape != b.shape:
        raise ValueError(f"paired samples need equal shapes; got {a.shape} and {b.shape}")
    differences = a - b if paired else None
    effect, low, high = hodges_lehmann(differences) if paired else hodges_lehmann(a, b)
    mean_effect, mean_low, mean_high = (bootstrap_mean(differences, seed=seed) if paired
                                        else bootstrap_mean_difference(a, b, seed=seed))
    region = _bounds(expected, margin)
    p_for, p_against = (_p_for_and_against(differences, None, *region) if paired
                        else _p_for_and_against(a, b, *region))
    two_sided = math.isfinite(region[0]) and math.isfinite(region[1])
    name = "Wilcoxon signed-rank" if paired else "Mann–Whitney U"
    test = f"TOST ({name}, δ = {margin:.3g})" if two_sided else (
        f"one-sided {name}" + (f", δ = {margin:.3g}" if margin else ""))
    return ClaimTest(claim, scope, mode, expected, margin, effect, low, high, mean_effect, mean_low,
                     mean_high, cliffs_delta(a, b), test, p_for, p_against,
                     min_attainable_p(a.size, None if paired else b.size),
                     f"{a.size} pairs" if paired else f"{a.size} vs {b.size}", detail, below_scale)


def assess_contrast(claim: str, groups: dict[str, np.ndarray], contrast, expected: Expectation, *,
                  scope: str = "-", mode: str = "-", detail: str = "", margin: float = 0.0,
                  below_scale: str = "", num_resamples: int = 10_000, seed: int = 0) -> ClaimTest:
    """A claim about a contrast of group medians (``contrast(medians: dict) -> float``, e.g. a
    difference of differences): percentile-bootstrap interval and bootstrap p-values (the share of
    resamples on the wrong side, at least 1/num_resamples), every group resampled independently."""
    rng = np.random.default_rng(seed)
    arrays = {name: np.asarray(values, float) for name, values in groups.items()}
    resampled = np.asarray(contrast({
        name: np.median(rng.choice(values, size=(num_resamples, values.size)), axis=1)
        for name, values in arrays.items()}))
    means = np.asarray(contrast({
        name: rng.choice(values, size=(num_resamples, values.size)).mean(axis=1)
        for name, values in arrays.items()}))
    point = float(contrast({name: np.median(values) for name, values in arrays.items()}))
    low_bound, high_bound = _bounds(expected, margin)
    share = lambda inside: max(float(np.mean(~inside)), 1.0 / num_resamples)  # noqa: E731
    p_for = max(share(resampled > low_bound), share(resampled < high_bound))
    outside = (resampled <= low_bound) | (resampled >= high_bound)
    p_against = max(float(np.mean(~outside)), 1.0 / num_resamples)
    low, high = np.quantile(resampled, [0.025, 0.975])
    mean_low, mean_high = np.quantile(means, [0.025, 0.975])
    smallest = min(values.size for values in arrays.values())
    return ClaimTest(claim, scope, mode, expected, margin, point, float(low), float(high),
                     float(contrast({k: v.mean() for k, v in arrays.items()})), float(mean_low),
                     float(mean_high), float("nan"), "bootstrap contrast of medians", p_for, p_against,
                     1.0 / num_resamples if smallest >= 2 else 1.0,
                     " / ".join(str(values.size) for values in arrays.values()), detail, below_scale)


def scale_shortfall(needs: Mapping[str, float], ours: Mapping[str, float]) -> str:
    """The settings of ``ours`` below what a claim ``needs`` (both: setting name → value), as
    "generations 12 (needs 40); population 48 (needs 256)"; "" when every one is met."""
    missing = [name for name in needs if name not in ours]
    if missing:
        raise ValueError(f"the run settings lack {', '.join(missing)}; they have {', '.join(ours) or 'none'}")
    return "; ".join(f"{name} {ours[name]:g} (needs {needs[name]:g})"
                     for name in needs if ours[name] < needs[name])


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count as a test)."""
    p = np.asarray(p_values, float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(np.isfinite(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, (len(order) - rank) * p[index])
        adjusted[index] = min(1.0, running)
    return adjusted


def family_size(min_p: np.ndarray, alpha: float = ALPHA) -> int:
    """Tarone's family size: the least k such that at most k of the tests can reach ``alpha / k``
    (their exact floor ``min_p``); the others cannot pass even with the most extreme data."""
    min_p = np.asarray(min_p, float)
    for k in range(1, min_p.size + 1):
        if int(np.sum(min_p <= alpha / k)) <= k:
            return k
    return max(1, min_p.size)


def decide(tests: Sequence[ClaimTest], alpha: float = ALPHA) -> pd.DataFrame:
    """The claims table of a page: one row per test, Holm-corrected within its family (the tests of one
    claim in one mode; claim and contrary directions separately), with the verdict and the sample size
    that would make an underpowered design able to decide. A test that cannot reach ``alpha`` once
    corrected over its family (Tarone) is ``underpowered`` and not counted; one ``below_scale`` is
    ``not tested at scale`` and not counted either. Columns start with :data:`CLAIM_COLUMNS`."""
    if not tests:
        return pd.DataFrame(columns=[*CLAIM_COLUMNS, "p_holm", "verdict_reason"])
    table = pd.DataFrame([test.row() for test in tests])
    table["p_holm"] = np.nan
    table["p_against_holm"] = np.nan
    table["family_size"] = 0
    table["min_p_holm"] = np.nan
    at_scale = table.below_scale == ""
    for _, family in table[at_scale].groupby(["claim", "mode"], sort=False):
        k = family_size(family.min_p.to_numpy(), alpha)
        decidable = family.min_p <= alpha / k
        table.loc[family.index, "family_size"] = k
        table.loc[family.index, "min_p_holm"] = np.minimum(1.0, family.min_p * k)
        table.loc[family.index, "p_holm"] = holm(family.p_value.where(decidable))
        table.loc[family.index, "p_against_holm"] = holm(family.p_against.where(decidable))
    verdicts, reasons = zip(*(_verdict(row, alpha) for row in table.itertuples()), strict=True)
    table["verdict"] = verdicts
    table["verdict_reason"] = reasons
    paired = table.n.str.endswith("pairs")
    table["min_n"] = np.where(paired, min_sample_size(True, alpha), min_sample_size(False, alpha))
    table.loc[table.test.str.startswith("bootstrap"), "min_n"] = 2
    rest = [column for column in table.columns if column not in CLAIM_COLUMNS]
    return table[[*CLAIM_COLUMNS, *rest]]


def _verdict(row, alpha: float) -> tuple[str, str]:
    """The verdict rule on one row of :func:`decide`'s table: (verdict, the reason in words)."""
    low_bound, high_bound = _bounds(row.expected, row.margin)
    if row.below_scale:
        return "not tested at scale", f"the run is below the claim's scale: {row.below_scale}"
    if row.min_p > alpha:
        return "underpowered", f"n = {row.n} cannot reach p ≤ {alpha:g} (best possible {row.min_p:.2g})"
    if row.min_p_holm > alpha:
        return "underpowered", (f"n = {row.n} cannot reach Holm p ≤ {alpha:g} in a family of "
                                f"{row.family_size} tests (best possible {row.min_p_holm:.2g})")
    inside = row.low > low_bound and row.high < high_bound
    outside = row.high < low_bound or row.low > high_bound
    if row.p_holm <= alpha and inside:
        return "reproduced", f"Holm p = {row.p_holm:.2g} and the interval lies where the claim says"
    if row.p_against_holm <= alpha and outside:
        return "not reproduced", f"the contrary holds: Holm p = {row.p_against_holm:.2g}"
    if row.p_holm <= alpha:
        return "inconclusive", "the test passes but the 95% interval does not lie where the claim says"
    return "inconclusive", f"Holm p = {row.p_holm:.2g} > {alpha:g}"


RESCIENCE_MARKS = {"reproduced": "[Re]", "not reproduced": "[¬Re]", "inconclusive": "inconclusive",
                   "underpowered": "underpowered", "not tested at scale": "not tested at scale"}
"""ReScience C's marks for a replicated ([Re]) or not replicated ([¬Re]) claim."""
