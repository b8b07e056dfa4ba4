"""Study C's claims (Garbus & Pollack 2025) and their verdicts, from one row per (variant, seed).

The paper tests its claims at the last generation with ``p-values.py``: Kruskal-Wallis over the three
main variants, the Wilcoxon rank-sum test and Glass's delta for each pair. Next to those statistics
every claim gets a bootstrap interval and the shared verdict rule (:func:`nevolab.stats.verdict`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from nevolab.stats import bootstrap_mean_difference, verdict

__all__ = ["CLAIMS", "glass_delta_original", "kruskal_wallis", "per_seed_outcomes", "study_c_claims"]


def per_seed_outcomes(curves: pd.DataFrame, tail_fraction: float = 0.1) -> pd.DataFrame:
    """One row per (variant, seed): ``final_neg_ce`` (best individual at the last generation) and the
    mutation effects of the last ``tail_fraction`` of the generations (at least the last one):
    ``deleterious_fraction`` (children weighted equally per generation) and ``deleterious_magnitude``
    (mean loss increase of the deleterious children, nats)."""
    if not 0 < tail_fraction <= 1:
        raise ValueError(f"tail_fraction must be in (0, 1]; got {tail_fraction}")
    rows = []
    for (variant, seed), run in curves.groupby(["variant", "seed"], sort=False):
        last = run.generation.max()
        tail = run[run.generation > last - max(1, round(tail_fraction * (last + 1)))]
        rows.append({"variant": variant, "seed": seed, "generation": last,
                     "final_neg_ce": float(run[run.generation == last].best_neg_ce.iloc[0]),
                     "deleterious_fraction": float(tail.deleterious_fraction.mean()),
                     "deleterious_magnitude": float(tail.deleterious_magnitude.mean()),
                     "tail_generations": len(tail)})
    return pd.DataFrame(rows)


def glass_delta_original(a: np.ndarray, control: np.ndarray) -> float:
    """Glass's delta as the paper's ``p-values.py``: (mean(a) - mean(control)) / np.std(control)
    (population standard deviation, ddof = 0)."""
    a, control = np.asarray(a, float), np.asarray(control, float)
    spread = control.std()
    return float((a.mean() - control.mean()) / spread) if spread > 0 else float("nan")


def kruskal_wallis(outcomes: pd.DataFrame, variants: Sequence[str] = ("dense", "lowrank", "small"),
                   column: str = "final_neg_ce") -> dict:
    """Kruskal-Wallis H test over ``variants`` (the paper's three main ones) at the last generation."""
    groups = [outcomes[outcomes.variant == v][column].to_numpy(float) for v in variants]
    if len(groups) < 2 or any(g.size == 0 for g in groups):
        return {"variants": ", ".join(variants), "statistic": float("nan"), "p_value": float("nan")}
    try:
        statistic, p_value = sps.kruskal(*groups)
    except ValueError:  # all values identical
        statistic, p_value = float("nan"), float("nan")
    return {"variants": ", ".join(variants), "statistic": float(statistic), "p_value": float(p_value),
            "n": ", ".join(str(g.size) for g in groups)}


CLAIMS = (
    # (family, metric column, factorized variant, comparator, claimed sign of factorized - comparator)
    ("Factorized >= dense on language modelling", "final_neg_ce", "lowrank", "dense", +1),
    ("Factorized >= dense on language modelling", "final_neg_ce", "rank1", "dense", +1),
    ("Factorized >= small dense", "final_neg_ce", "lowrank", "small", +1),
    ("Factorized >= small dense of similar evolved size", "final_neg_ce", "rank1", "small", +1),
    ("Factorized mutations are more often deleterious", "deleterious_fraction", "lowrank", "dense", +1),
    ("Factorized mutations are more often deleterious", "deleterious_fraction", "rank1", "dense", +1),
    ("Factorized mutations are more strongly deleterious", "deleterious_magnitude", "lowrank", "dense", +1),
    ("Factorized mutations are more strongly deleterious", "deleterious_magnitude", "rank1", "dense", +1),
)
"""The claims Study C tests, each as a difference of per-seed means (factorized minus comparator)."""


def study_c_claims(outcomes: pd.DataFrame, seed: int = 0, families: Sequence[str] | None = None,
                   ) -> pd.DataFrame:
    """Every claim of :data:`CLAIMS` whose variants are in ``outcomes`` (see :func:`per_seed_outcomes`).

    The effect is mean(factorized) - mean(comparator) over seeds with a 95% percentile-bootstrap
    interval and the shared verdict rule (:func:`nevolab.stats.verdict`); next to it the statistics of
    the paper's ``p-values.py``: the two-sided Wilcoxon rank-sum p-value (``scipy.stats.ranksums``) and
    Glass's delta with the comparator as control (``np.std``, ddof 0).
    """
    rows = []
    for family, column, factorized, comparator, sign in CLAIMS:
        if families is not None and family not in families:
            continue
        a = outcomes[outcomes.variant == factorized][column].dropna().to_numpy(float)
        b = outcomes[outcomes.variant == comparator][column].dropna().to_numpy(float)
        if a.size < 2 or b.size < 2:
            continue
        effect, low, high = bootstrap_mean_difference(a, b, seed=seed)
        rows.append({
            "claim": family, "comparison": f"{factorized} vs {comparator}", "metric": column,
            "factorized": a.mean(), "comparator": b.mean(), "effect": effect, "low": low, "high": high,
            "ranksums_p": float(sps.ranksums(a, b).pvalue), "glass_delta": glass_delta_original(a, b),
            "verdict": verdict(low, high, sign), "n": f"{a.size} vs {b.size}",
        })
    return pd.DataFrame(rows)
