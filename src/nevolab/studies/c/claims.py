"""Study C's claims (Garbus & Pollack 2025) and their verdicts, from one row per (variant, seed):
C3's on the language-model runs, C5's on the pixel-RL runs' last generation, C6's stage-1 claims on
the real CarRacing-v3 (:func:`stage1_claims`).

The paper tests its claims at the last generation with ``p-values.py`` (language model) and
``plot-last-gen.py`` (pixel RL): Kruskal-Wallis over the three main variants, the Wilcoxon rank-sum
test and Glass's delta for each pair. Next to those statistics every claim gets the verdict rule of
:mod:`nevolab.stats` (rank-based shift, Holm-corrected over each claim's family, the claim's scopes,
underpowered, not tested at scale; two one-sided tests for an equality claim).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from nevolab import stats, store
from nevolab.config import Config
from nevolab.studies.c import confound, paper
from nevolab.studies.c.pixel_tasks import ENVPOOL_PIXEL_TASKS, RACING, TASKS

__all__ = ["CLAIMS", "MATCHED_PIXEL_COLUMNS", "OUTCOME_COLUMNS", "PIXEL_CLAIM_TESTS", "discrete_task",
           "glass_delta_original", "kruskal_wallis", "last_generation", "matched_parent_fitness",
           "outcomes_with_matched_fitness", "paper_atari_tasks", "parent_levels", "per_seed_outcomes",
           "pixel_claims", "pixel_settings", "real_settings", "runtime_saving", "stage1_claims",
           "stage_long_table", "stored_claims", "stored_pixel_claims", "stored_real_claims", "study_c_claims"]


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
    Holm-corrected over each claim's scopes, with the statistics of the paper's ``p-values.py`` beside the
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
    return _decided(tests, paper_statistics, paper.CLAIMS_BY_KEY)


def stored_claims(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """C3's claims table for the run parameters of any Study C page's ``config``, through the store:
    C1 and C2 show rows of this one table, so a claim's numbers are the same on every page."""
    from nevolab.studies.c import runs, spec  # the running layer stays out of the pure analysis above

    return store.stored_claims(
        spec.SPECS_BY_NAME["c3_claims"], config,
        lambda claims_config: study_c_claims(
            outcomes_with_matched_fitness(runs.runs_for_config(claims_config, fresh)[0])),
        fresh)


# --- pixel RL (C4, C5) -----------------------------------------------------------------------------
# The paper's ``plot-last-gen.py`` compares the last generation's per-stage scores and times, 15 seeds
# per variant, with the Kruskal-Wallis test over the three variants, the Wilcoxon rank-sum test and
# Glass's delta per pair; the same statistics stand beside the verdict of the book's rule.

OUTCOME_COLUMNS = ["stage1_mean_score", "stage1_steps", "stage1_time_s", "stage1_ended_early",
                   "stage2_mean_score", "stage2_steps", "stage2_time_s", "parents_mean_score", "best_score"]
PIXEL_CLAIM_TESTS = (
    # (claim key, metric, expected shift of factorized against dense, also at matched parent fitness)
    ("pixel_stage1_lower", "stage1_mean_score", "lower", True),
    ("pixel_less_runtime", "stage1_steps", "lower", True),
)
RACING_SCOPE = "racing, factorized vs dense"
MATCHED_SCOPE = f"{RACING_SCOPE}, matched parent fitness"
STAGE2_TESTS = (
    # (metric, scope label, the paper's relative gap it calls equal)
    ("stage2_mean_score", "stage-2 mean score", paper.EQUAL_SCORE_FRACTION),
    ("stage2_steps", "stage-2 steps", paper.EQUAL_COST_FRACTION),
)
MATCHED_PIXEL_COLUMNS = ["variant", "seed", "band_low", "band_high", "generations", "mean_level",
                         "stage1_steps", "stage1_mean_score"]
"""The columns of :func:`matched_parent_fitness`."""


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


def pixel_settings(values: Mapping[str, Any]) -> dict[str, float]:
    """The run settings of a C4/C5 page's parameter ``values`` that the pixel claims' scales
    (:attr:`nevolab.report.PaperClaim.scale`) are read against."""
    return {"generations": float(values["generations"]), "population": float(values["population"]),
            "early termination (1 = on)": float(bool(values["early_termination"])),
            # racing and MinAtar are not the paper's ALE games; envpool:<game> is, for its four games
            "Atari games run": float(len(paper_atari_tasks(values["tasks"])))}


def paper_atari_tasks(tasks: Sequence[str]) -> list[str]:
    """The tasks among ``tasks`` that are one of the paper's Atari games (envpool's ALE ports)."""
    return [task for task in tasks if task in ENVPOOL_PIXEL_TASKS
            and task.split(":", 1)[1] in paper.PAPER_ATARI_GAMES]


def discrete_task(task: str) -> bool:
    """Whether ``task``'s runs test the Atari claim: every pixel task but racing and envpool's CarRacing
    (continuous actions)."""
    return task != RACING and not (task in ENVPOOL_PIXEL_TASKS and not TASKS[task].greedy)


def parent_levels(runs: pd.DataFrame, task: str = "racing") -> pd.DataFrame:
    """The rows of ``task``'s generations with parents (``generation >= 1``) with their ``parent_level``:
    the previous generation's ``parents_mean_score`` in the same (variant, seed) run, the mean score of
    the parents whose clones and children this generation's stage 1 plays (as C2's fitness level)."""
    ordered = runs[runs.task == task].sort_values(["variant", "seed", "generation"])
    grouped = ordered.groupby(["variant", "seed"], sort=False)
    consecutive = grouped.generation.diff() == 1
    levelled = ordered.assign(parent_level=grouped.parents_mean_score.shift(1).where(consecutive))
    return levelled.dropna(subset=["parent_level"]).reset_index(drop=True)


def matched_parent_fitness(runs: pd.DataFrame, task: str = "racing",
                           variants: Sequence[str] = ("dense", "factorized")) -> pd.DataFrame:
    """Stage 1 of ``variants`` at matched parent fitness: the band of parent levels (:func:`parent_levels`)
    that every variant's generations, pooled over seeds, pass through (``[max of the variants' lowest
    levels, min of their highest]``), and per (variant, seed) the mean ``stage1_steps`` and
    ``stage1_mean_score`` of its generations whose level lies in the band (ends included; NaN with none).

    C2's window is the band every *run* passes through; a racing run's parents climb by 100 points a
    generation, so that band would hold a generation or two of a few runs. Pooled over seeds, each run
    contributes the generations it has in the band, and ``mean_level`` shows how well the levels match.
    Columns :data:`MATCHED_PIXEL_COLUMNS`; empty unless every variant of ``variants`` is present."""
    levels = parent_levels(runs[runs.variant.isin(list(variants))], task)
    if levels.empty or set(variants) - set(levels.variant):
        return pd.DataFrame(columns=MATCHED_PIXEL_COLUMNS)
    ranges = levels.groupby("variant").parent_level.agg(["min", "max"])
    low, high = float(ranges["min"].max()), float(ranges["max"].min())
    rows = []
    for (variant, seed), run in levels.groupby(["variant", "seed"], sort=False):
        inside = run[(run.parent_level >= low) & (run.parent_level <= high)]  # none in an empty band
        rows.append({"variant": variant, "seed": seed, "band_low": low, "band_high": high,
                     "generations": len(inside), "mean_level": inside.parent_level.mean(),
                     "stage1_steps": inside.stage1_steps.mean(),
                     "stage1_mean_score": inside.stage1_mean_score.mean()})
    return pd.DataFrame(rows, columns=MATCHED_PIXEL_COLUMNS)


def _groups(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(factorized, dense) values of ``column``, missing ones dropped."""
    return tuple(frame[frame.variant == variant][column].dropna().to_numpy(float)
                 for variant in ("factorized", "dense"))


def _no_run(key: str, scope: str, expected: str, below_scale: str) -> stats.ClaimTest:
    """The row of a claim whose runs this profile does not hold: no data, only its scale."""
    nan = float("nan")
    return stats.ClaimTest(key, scope, "-", expected, 0.0, nan, nan, nan, nan, nan, nan, nan,
                           "none (no run at this profile)", nan, nan, 1.0, "0 vs 0", "", below_scale)


def pixel_claims(runs: pd.DataFrame, settings: Mapping[str, float], seed: int = 0) -> pd.DataFrame:
    """The claims table (columns :data:`nevolab.stats.CLAIM_COLUMNS` first) of factorized against dense on
    the pixel runs ``runs`` (every task's, one row per generation), each claim below the scale it needs
    (:data:`nevolab.studies.c.paper.PIXEL_CLAIMS`, read against ``settings``, see :func:`pixel_settings`)
    labelled ``not tested at scale``, with the paper's Kruskal-Wallis p (over every variant present),
    rank-sum p and Glass's delta (dense as control) beside the verdict.

    Racing at the last generation: a lower stage-1 score and fewer stage-1 steps (C.3), also at matched
    parent fitness (:func:`matched_parent_fitness`); an equivalent final score (C.4) within the paper's
    gap, and within ours (±50 points) as a labelled extra row; equivalent stage-2 scores and steps (C.6).
    Each MinAtar game: a higher final score (C.5; a row without data when no game is run)."""
    claims = paper.PIXEL_CLAIMS_BY_KEY

    def shortfall(key: str) -> str:
        return stats.scale_shortfall(dict(claims[key].scale), settings) if claims[key].scale else ""

    tests, paper_statistics = [], []

    def add(key: str, frame: pd.DataFrame, column: str, expected: str, scope: str, margin: float = 0.0,
            detail: str | None = None, scale_of: str | None = None) -> None:
        a, b = _groups(frame, column)
        if a.size < 2 or b.size < 2:
            return
        variants = [v for v in ("dense", "factorized", "small") if v in set(frame.variant)]
        tests.append(stats.assess_claim(key, a, b, expected, margin=margin, scope=scope, seed=seed,
                                        detail=detail or column, below_scale=shortfall(scale_of or key)))
        paper_statistics.append({"kruskal_p": kruskal_wallis(frame, variants, column)["p_value"],
                                 "ranksums_p": float(sps.ranksums(a, b).pvalue),
                                 "glass_delta": glass_delta_original(a, b),
                                 "factorized_mean": float(a.mean()), "dense_mean": float(b.mean())})

    outcomes = last_generation(runs, RACING)
    matched = matched_parent_fitness(runs, RACING)
    for key, column, expected, at_matched in PIXEL_CLAIM_TESTS:
        add(key, outcomes, column, expected, RACING_SCOPE)
        if at_matched:
            add(key, matched, column, expected, MATCHED_SCOPE, detail=f"matched_{column}")
    dense_best = outcomes[outcomes.variant == "dense"].best_score
    add("pixel_equal_final", outcomes, "best_score", "equivalent", RACING_SCOPE,
        margin=paper.EQUAL_SCORE_FRACTION * abs(float(dense_best.mean())))
    add(paper.OURS_EQUAL_FINAL, outcomes, "best_score", "equivalent", RACING_SCOPE,
        margin=paper.EQUAL_SCORE_MARGIN, scale_of="pixel_equal_final")
    for column, label, fraction in STAGE2_TESTS:
        dense = outcomes[outcomes.variant == "dense"][column]
        add("pixel_stage2_equal", outcomes, column, "equivalent", f"{RACING_SCOPE}: {label}",
            margin=fraction * abs(float(dense.mean())))
    games = [task for task in dict.fromkeys(runs.task) if discrete_task(task)]
    for task in games:
        add("pixel_atari_competitive", last_generation(runs, task), "best_score", "higher",
            f"{task}, factorized vs dense")
    if not games:
        missing = "no MinAtar game run at this profile"
        below = "; ".join(part for part in (shortfall("pixel_atari_competitive"), missing) if part)
        tests.append(_no_run("pixel_atari_competitive", "no discrete-action task run", "higher", below))
        paper_statistics.append({"kruskal_p": float("nan"), "ranksums_p": float("nan"),
                                 "glass_delta": float("nan"), "factorized_mean": float("nan"),
                                 "dense_mean": float("nan")})
    return _decided(tests, paper_statistics, claims)


def _pixel_statistics(frame: pd.DataFrame, column: str, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """The paper's statistics beside a pixel claim's verdict: Kruskal-Wallis p over the variants present,
    rank-sum p and Glass's delta (dense as control), and the two variants' means."""
    variants = [v for v in ("dense", "factorized", "small") if v in set(frame.variant)]
    return {"kruskal_p": kruskal_wallis(frame, variants, column)["p_value"],
            "ranksums_p": float(sps.ranksums(a, b).pvalue), "glass_delta": glass_delta_original(a, b),
            "factorized_mean": float(a.mean()), "dense_mean": float(b.mean())}


def stage1_claims(runs: pd.DataFrame, task: str, scope: str, settings: Mapping[str, float],
                  seed: int = 0) -> pd.DataFrame:
    """The stage-1 claims of :data:`PIXEL_CLAIM_TESTS` (a lower stage-1 score, fewer stage-1 steps) on
    ``task``'s runs alone, factorized against dense: at the last generation (``scope``) and at matched
    parent fitness (``scope`` + ", matched parent fitness"), Holm-corrected over these scopes of each
    claim, with the columns of :func:`pixel_claims` (C6 on the real CarRacing-v3; C5's racing rows of
    the same claims are :func:`pixel_claims`' own, a family of their own)."""
    claims = paper.PIXEL_CLAIMS_BY_KEY
    comparisons = ((last_generation(runs, task), scope, ""),
                   (matched_parent_fitness(runs, task), f"{scope}, matched parent fitness", "matched_"))
    tests, paper_statistics = [], []
    for key, column, expected, at_matched in PIXEL_CLAIM_TESTS:
        below = stats.scale_shortfall(dict(claims[key].scale), settings) if claims[key].scale else ""
        for frame, where, prefix in comparisons[:2 if at_matched else 1]:
            a, b = _groups(frame, column)
            if a.size < 2 or b.size < 2:
                continue
            tests.append(stats.assess_claim(key, a, b, expected, scope=where, seed=seed,
                                            detail=prefix + column, below_scale=below))
            paper_statistics.append(_pixel_statistics(frame, column, a, b))
    return _decided(tests, paper_statistics, claims)


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
    """C5's claims table for the run parameters of C4's or C5's ``config``, through the store: every
    task's runs (racing for C.3, C.4 and C.6, the MinAtar games for C.5). ``fresh`` recomputes the runs
    too; a changed claims rule gets a new key by the claims page's spec version instead."""
    from nevolab.studies.c import pixel, spec  # the running layer stays out of the pure analysis above

    return store.stored_claims(
        spec.SPECS_BY_NAME["c5_selection_stages"], config,
        lambda claims_config: pixel_claims(pixel.pixel_tables(claims_config, fresh),
                                           pixel_settings(claims_config.values)),
        fresh)


REAL_SCOPE = "CarRacing-v3, factorized vs dense"
"""C6's scope of the stage-1 claims on the real CarRacing-v3 (``", matched parent fitness"`` added for the
second comparison, as C5's racing scopes)."""


def real_settings(values: Mapping[str, Any]) -> dict[str, float]:
    """The run settings of C6's parameter ``values`` that the stage-1 claims' scales are read against."""
    return {"generations": float(values["generations"]), "population": float(values["population"]),
            "early termination (1 = on)": float(bool(values["early_termination"]))}


def stored_real_claims(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """C6's claims table through the store: :func:`stage1_claims` on the real CarRacing-v3's runs. A family
    of its own (C5's racing rows of the same claims stay C5's). ``fresh`` recomputes the runs too."""
    from nevolab.studies.c import real, spec  # the running layer stays out of the pure analysis above

    return store.stored_claims(
        spec.SPECS_BY_NAME["c6_real_carracing"], config,
        lambda claims_config: stage1_claims(real.real_tables(claims_config, fresh), real.TASK, REAL_SCOPE,
                                            real_settings(claims_config.values)),
        fresh)


def _decided(tests: list, paper_statistics: list[dict], claims_by_key: dict) -> pd.DataFrame:
    """The verdict rule's table of ``tests``, with the paper's own statistics (one row each) and the
    paper's sentence beside every row (a labelled extra row of ours carries its claim's sentence)."""
    table = stats.decide(tests)
    if table.empty:
        return table
    table = pd.concat([table, pd.DataFrame(paper_statistics, index=table.index)], axis=1)
    table["sentence"] = table.claim.map(lambda key: claims_by_key[_paper_key(key)].sentence)
    return table


def _paper_key(key: str) -> str:
    """The paper claim a claims row belongs to (a labelled extra row of ours names it first)."""
    return paper.OURS_ROWS.get(key, key)
