"""Study C's pixel-RL claims and their verdicts, from the racing runs' last generation.

The paper's ``plot-last-gen.py`` compares the last generation's per-stage scores and times, 15 seeds
per variant, with the Kruskal-Wallis test over the three variants, the Wilcoxon rank-sum test and
Glass's delta per pair; the same statistics stand here beside the verdict of the book's rule
(:mod:`nevolab.stats`): a Hodges-Lehmann shift with its interval, a one-sided Mann-Whitney test (or
two one-sided tests for equality), Holm-corrected over the page.
"""

from __future__ import annotations

import pandas as pd
from scipy import stats as sps

from nevolab import stats, store
from nevolab.config import Config
from nevolab.studies.c import paper
from nevolab.studies.c.claims import glass_delta_original, kruskal_wallis

__all__ = ["OUTCOME_COLUMNS", "PIXEL_CLAIM_TESTS", "last_generation", "pixel_claims", "runtime_saving",
           "stage_long_table", "stored_pixel_claims"]

OUTCOME_COLUMNS = ["stage1_mean_score", "stage1_steps", "stage1_time_s", "stage1_ended_early",
                   "stage2_mean_score", "stage2_steps", "stage2_time_s", "parents_mean_score", "best_score"]
PIXEL_CLAIM_TESTS = (
    # (claim key, metric, expected shift of factorized against dense)
    ("pixel_stage1_lower", "stage1_mean_score", "lower"),
    ("pixel_less_runtime", "stage1_steps", "lower"),
    ("pixel_equal_final", "best_score", "equivalent"),
)


def last_generation(table: pd.DataFrame, task: str = "racing") -> pd.DataFrame:
    """One row per (variant, seed): ``task``'s runs at their last generation."""
    runs = table[table.task == task]
    last = runs[runs.generation == runs.groupby(["variant", "seed"]).generation.transform("max")]
    return last[["variant", "seed", "generation", *OUTCOME_COLUMNS]].reset_index(drop=True)


def runtime_saving(outcomes: pd.DataFrame, column: str = "stage1_steps", variant: str = "factorized",
                   reference: str = "dense") -> float:
    """Relative change of the mean of ``column``, ``variant`` against ``reference`` (the paper's -38 %
    is this on stage-1 seconds)."""
    ours = outcomes[outcomes.variant == variant][column].mean()
    theirs = outcomes[outcomes.variant == reference][column].mean()
    return float(ours / theirs - 1.0) if theirs else float("nan")


def pixel_claims(outcomes: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The claims table (columns :data:`nevolab.stats.CLAIM_COLUMNS` first) of factorized against dense,
    Holm-corrected over the page, with the paper's Kruskal-Wallis p (over every variant present),
    rank-sum p and Glass's delta (dense as control) beside the verdict."""
    tests, paper_statistics = [], []
    variants = [v for v in ("dense", "factorized", "small") if v in set(outcomes.variant)]
    for key, column, expected in PIXEL_CLAIM_TESTS:
        a = outcomes[outcomes.variant == "factorized"][column].dropna().to_numpy(float)
        b = outcomes[outcomes.variant == "dense"][column].dropna().to_numpy(float)
        if a.size < 2 or b.size < 2:
            continue
        margin = paper.EQUAL_SCORE_MARGIN if expected == "equivalent" else 0.0
        tests.append(stats.assess_claim(key, a, b, expected, margin=margin,
                                        scope="racing, factorized vs dense",
                                        seed=seed, detail=column))
        paper_statistics.append({"kruskal_p": kruskal_wallis(outcomes, variants, column)["p_value"],
                                 "ranksums_p": float(sps.ranksums(a, b).pvalue),
                                 "glass_delta": glass_delta_original(a, b),
                                 "factorized_mean": float(a.mean()), "dense_mean": float(b.mean())})
    table = stats.decide(tests)
    if table.empty:
        return table
    table = pd.concat([table, pd.DataFrame(paper_statistics, index=table.index)], axis=1)
    table["sentence"] = table.claim.map(lambda key: paper.PIXEL_CLAIMS_BY_KEY[key].sentence)
    return table


def stage_long_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The last generation per (variant, seed, stage): ``mean_score``, ``steps``, ``time_s`` (the paper's
    split violins)."""
    frames = []
    for stage in (1, 2):
        frames.append(pd.DataFrame({
            "variant": outcomes.variant, "seed": outcomes.seed, "stage": f"stage {stage}",
            "mean_score": outcomes[f"stage{stage}_mean_score"], "steps": outcomes[f"stage{stage}_steps"],
            "time_s": outcomes[f"stage{stage}_time_s"]}))
    return pd.concat(frames, ignore_index=True)


def stored_pixel_claims(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """C5's claims table for the run parameters of C4's or C5's ``config``, through the store."""
    from nevolab.studies.c import pixel, spec  # the running layer stays out of the analysis above

    return store.stored_claims(
        spec.SPECS_BY_NAME["c5_selection_stages"], config,
        lambda claims_config: pixel_claims(
            last_generation(pixel.pixel_tables(claims_config, fresh, tasks=("racing",)))),
        fresh)
