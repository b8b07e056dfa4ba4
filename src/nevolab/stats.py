"""Statistics shared by every claim: bootstrap intervals, rank tests, effect sizes, one verdict rule.

A claim is a directional hypothesis ("A's final loss is lower than B's"). Its verdict is computed:

* ``reproduced``: the effect points the claimed way and its 95% interval excludes zero;
* ``not reproduced``: the interval excludes zero on the opposite side (the data contradict the claim);
* ``inconclusive``: the interval contains zero.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import stats as sps

VERDICTS = ("reproduced", "not reproduced", "inconclusive")


def bootstrap_mean_difference(a: np.ndarray, b: np.ndarray, num_resamples: int = 10_000,
                              confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """mean(a) - mean(b) and its percentile-bootstrap interval (independent samples)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    rng = np.random.default_rng(seed)
    resampled_a = rng.choice(a, size=(num_resamples, a.size)).mean(axis=1)
    resampled_b = rng.choice(b, size=(num_resamples, b.size)).mean(axis=1)
    differences = resampled_a - resampled_b
    tail = (1 - confidence) / 2
    low, high = np.quantile(differences, [tail, 1 - tail])
    return float(a.mean() - b.mean()), float(low), float(high)


def cliffs_delta(a: np.ndarray, b: np.ndarray) -> float:
    """P(a > b) - P(a < b): a rank effect size in [-1, 1]."""
    a, b = np.asarray(a, float)[:, None], np.asarray(b, float)[None, :]
    return float(np.mean(a > b) - np.mean(a < b))


def glass_delta(a: np.ndarray, b: np.ndarray) -> float:
    """(mean(a) - mean(b)) / std(b), with b the control group (as the low-rank paper's scripts)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float((a.mean() - b.mean()) / b.std(ddof=1))


@dataclasses.dataclass(frozen=True)
class ClaimResult:
    claim: str
    effect: float
    low: float
    high: float
    p_value: float
    effect_size: float
    verdict: str
    detail: str = ""

    def row(self) -> dict:
        return dataclasses.asdict(self)


def verdict(low: float, high: float, expected_sign: int) -> str:
    """The shared verdict rule on an interval for an effect whose claimed sign is ``expected_sign``."""
    if low > 0 or high < 0:
        return "reproduced" if np.sign(low if low > 0 else high) == expected_sign else "not reproduced"
    return "inconclusive"


def compare_lower(claim: str, a: np.ndarray, b: np.ndarray, seed: int = 0) -> ClaimResult:
    """Claim: values in ``a`` are lower than in ``b`` (e.g. final losses). Effect = mean(a) - mean(b),
    bootstrap 95% CI, one-sided Mann-Whitney U p-value, Cliff's delta."""
    effect, low, high = bootstrap_mean_difference(a, b, seed=seed)
    p_value = float(sps.mannwhitneyu(a, b, alternative="less").pvalue)
    return ClaimResult(claim, effect, low, high, p_value, cliffs_delta(a, b), verdict(low, high, -1),
                       f"n={len(a)} vs {len(b)}")


def bootstrap_contrast(groups: dict[str, np.ndarray], contrast, num_resamples: int = 10_000,
                       confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """A contrast of group means (``contrast(means: dict) -> float``) and its percentile-bootstrap
    interval, resampling every group independently."""
    rng = np.random.default_rng(seed)
    arrays = {name: np.asarray(values, float) for name, values in groups.items()}
    resampled = {name: rng.choice(values, size=(num_resamples, values.size)).mean(axis=1)
                 for name, values in arrays.items()}
    estimates = np.asarray(contrast(resampled))
    tail = (1 - confidence) / 2
    low, high = np.quantile(estimates, [tail, 1 - tail])
    point = float(contrast({name: values.mean() for name, values in arrays.items()}))
    return point, float(low), float(high)


def claim_from_contrast(claim: str, groups: dict[str, np.ndarray], contrast, expected_sign: int,
                        a: str, b: str, seed: int = 0, detail: str = "") -> ClaimResult:
    """A claim whose effect is ``contrast`` of group means; the rank test and Cliff's delta compare
    groups ``a`` and ``b`` (two-sided Mann-Whitney U)."""
    effect, low, high = bootstrap_contrast(groups, contrast, seed=seed)
    p_value = float(sps.mannwhitneyu(groups[a], groups[b], alternative="two-sided").pvalue)
    return ClaimResult(claim, effect, low, high, p_value, cliffs_delta(groups[a], groups[b]),
                       verdict(low, high, expected_sign), detail)


def bootstrap_mean(values: np.ndarray, num_resamples: int = 10_000, confidence: float = 0.95,
                   seed: int = 0) -> tuple[float, float, float]:
    """mean(values) and its percentile-bootstrap interval (for paired differences)."""
    values = np.asarray(values, float)
    rng = np.random.default_rng(seed)
    resampled = rng.choice(values, size=(num_resamples, values.size)).mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail])
    return float(values.mean()), float(low), float(high)


def claim_from_paired(claim: str, differences: np.ndarray, expected_sign: int, seed: int = 0,
                      detail: str = "") -> ClaimResult:
    """A claim about paired differences (same seed, same initial network under two treatments):
    effect = their mean with a bootstrap 95% interval, a two-sided Wilcoxon signed-rank p-value
    (NaN when every difference is 0 or n < 2) and Cohen's d_z = mean / std as the effect size."""
    differences = np.asarray(differences, float)
    effect, low, high = bootstrap_mean(differences, seed=seed)
    nonzero = differences[differences != 0]
    p_value = float(sps.wilcoxon(nonzero).pvalue) if nonzero.size >= 2 else float("nan")
    spread = differences.std(ddof=1) if differences.size > 1 else float("nan")
    d_z = float(effect / spread) if spread and np.isfinite(spread) and spread > 0 else float("nan")
    return ClaimResult(claim, effect, low, high, p_value, d_z, verdict(low, high, expected_sign), detail)
