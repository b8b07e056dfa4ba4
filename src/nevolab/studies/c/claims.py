"""Study C's claims (Garbus & Pollack 2025) and their verdicts, from one row per (variant, seed).

The paper tests its claims at the last generation with ``p-values.py``: Kruskal-Wallis over the three
main variants, the Wilcoxon rank-sum test and Glass's delta for each pair. Next to those statistics
every claim gets the verdict rule of :mod:`nevolab.stats` (rank-based shift, Holm, underpowered).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from nevolab import stats, store
from nevolab.config import Config
from nevolab.studies.c import confound, paper

__all__ = ["CLAIMS", "glass_delta_original", "kruskal_wallis", "outcomes_with_matched_fitness",
           "per_seed_outcomes", "study_c_claims"]


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
    # (claim key of nevolab.studies.c.paper, metric column, factorized variant, comparator)
    ("lm_factorized_beats_dense", "final_neg_ce", "lowrank", "dense"),
    ("lm_factorized_beats_dense", "final_neg_ce", "rank1", "dense"),
    ("lm_factorized_beats_dense", "final_neg_ce", "lowrank", "dense_matched"),
    ("lm_factorized_beats_dense", "final_neg_ce", "rank1", "dense_matched"),
    ("factorized_beats_small", "final_neg_ce", "lowrank", "small"),
    ("factorized_beats_small", "final_neg_ce", "rank1", "small"),
    ("deleterious_more_often", "deleterious_fraction", "lowrank", "dense"),
    ("deleterious_more_often", "deleterious_fraction", "rank1", "dense"),
    ("deleterious_more_often", "matched_deleterious_fraction", "lowrank", "dense_matched"),
    ("deleterious_more_often", "matched_deleterious_fraction", "rank1", "dense_matched"),
    ("deleterious_stronger", "deleterious_magnitude", "lowrank", "dense"),
    ("deleterious_stronger", "deleterious_magnitude", "rank1", "dense"),
    ("deleterious_stronger", "matched_deleterious_magnitude", "lowrank", "dense_matched"),
    ("deleterious_stronger", "matched_deleterious_magnitude", "rank1", "dense_matched"),
)
"""The claims Study C tests: each says the factorized variant's metric is higher than the comparator's.
``dense_matched`` starts where the factorized variants start (C1); the ``matched_`` metrics compare
mutation effects at matched fitness instead of at equal generation (C2)."""
MATCHED_VARIANTS = ("lowrank", "rank1", "dense_matched")


def outcomes_with_matched_fitness(curves: pd.DataFrame, tail_fraction: float = 0.1) -> pd.DataFrame:
    """:func:`per_seed_outcomes` plus ``matched_deleterious_fraction`` / ``_magnitude``: the mutation
    effects over the fitness window that lowrank, rank1 and dense_matched all pass through (NaN for
    other variants, or when the window is empty; see :mod:`nevolab.studies.c.confound`)."""
    outcomes = per_seed_outcomes(curves, tail_fraction)
    present = [variant for variant in MATCHED_VARIANTS if variant in set(curves.variant)]
    if "dense_matched" not in present or len(present) < 2:
        return outcomes.assign(matched_deleterious_fraction=np.nan, matched_deleterious_magnitude=np.nan)
    matched = confound.matched_fitness_outcomes(curves, variants=present)
    matched = matched[["variant", "seed", "deleterious_fraction", "deleterious_magnitude"]].rename(
        columns={"deleterious_fraction": "matched_deleterious_fraction",
                 "deleterious_magnitude": "matched_deleterious_magnitude"})
    return outcomes.merge(matched, on=["variant", "seed"], how="left")


def _scope(column: str, factorized: str, comparator: str) -> str:
    return f"{factorized} vs {comparator}" + (", matched fitness" if column.startswith("matched_") else "")


def study_c_claims(outcomes: pd.DataFrame, seed: int = 0, families: Sequence[str] | None = None,
                   ) -> pd.DataFrame:
    """The claims table (columns :data:`nevolab.stats.CLAIM_COLUMNS` first) of every claim of
    :data:`CLAIMS` whose variants are in ``outcomes`` (see :func:`outcomes_with_matched_fitness`),
    Holm-corrected over the page, with the statistics of the paper's ``p-values.py`` beside the
    verdict: the two-sided Wilcoxon rank-sum p-value (``scipy.stats.ranksums``) and Glass's delta with
    the comparator as control (``np.std``, ddof 0)."""
    tests, paper_statistics = [], []
    for key, column, factorized, comparator in CLAIMS:
        if (families is not None and key not in families) or column not in outcomes:
            continue
        a = outcomes[outcomes.variant == factorized][column].dropna().to_numpy(float)
        b = outcomes[outcomes.variant == comparator][column].dropna().to_numpy(float)
        if a.size < 2 or b.size < 2:
            continue
        tests.append(stats.assess_claim(key, a, b, "higher", scope=_scope(column, factorized, comparator),
                                        seed=seed, detail=column))
        paper_statistics.append({"ranksums_p": float(sps.ranksums(a, b).pvalue),
                                 "glass_delta": glass_delta_original(a, b)})
    table = stats.decide(tests)
    if table.empty:
        return table
    table = pd.concat([table, pd.DataFrame(paper_statistics, index=table.index)], axis=1)
    table["sentence"] = table.claim.map(lambda key: paper.CLAIMS_BY_KEY[key].sentence)
    return table


def stored_claims(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """C3's claims table for the run parameters of any Study C page's ``config``, through the store:
    C1 and C2 show rows of this one table, so a claim's numbers are the same on every page."""
    from nevolab.studies.c import runs, spec  # the running layer stays out of the pure analysis above

    return store.stored_claims(
        spec.SPECS_BY_NAME["c3_claims"], config,
        lambda claims_config: study_c_claims(
            outcomes_with_matched_fitness(runs.runs_for_config(claims_config, fresh)[0])),
        fresh)
