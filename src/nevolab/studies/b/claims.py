"""Study B's claims tables, one builder per claims page, each tested by the verdict rule of
:mod:`nevolab.stats` and Holm-corrected over its page: B4's ticket claims (paired over seeds: every
criterion of a seed starts from the same θ₀ and shares the ES noise), B5's transfer claims (paired
over (panel, seed)), B6's connectivity and flatness claims and B7's rank-correlation claims (paired
by seed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nevolab import stats
from nevolab.studies.b import paper
from nevolab.studies.b.analysis import (
    ES_METHOD,
    GD_METHOD,
    curve_key,
    high_sparsity_rounds,
    normalise_per_task,
    per_panel_seed,
    per_seed_high_sparsity,
    rounds_text,
    trained_rounds,
)

# ----------------------------------------------------------------------------------------------
# B4: tickets beat random, SNR beats magnitude, ES beats GD at high sparsity
# ----------------------------------------------------------------------------------------------

CLAIMS = (
    ("tickets_beat_random_snr", "snr", "random"),
    ("tickets_beat_random_imp", "magnitude", "random"),
    ("snr_beats_magnitude", "snr", "magnitude"),
    ("es_beats_gd_sparse", "snr", "gd"),
)
"""(claim key of :mod:`nevolab.studies.b.paper`, better curve, worse curve): every claim says the
first is higher at high sparsity."""
LABELS = {"tickets_beat_random_snr": "ES-SNR > ES-Random", "tickets_beat_random_imp": "ES-IMP > ES-Random",
          "snr_beats_magnitude": "ES-SNR > ES-IMP", "es_beats_gd_sparse": "ES-SNR > GD-IMP"}
"""Short names for tables."""


def study_b_claims(frame: pd.DataFrame, threshold: float = 10.0, seed: int = 0) -> pd.DataFrame:
    """The claims table (columns :data:`nevolab.stats.CLAIM_COLUMNS` first): one row per claim and
    task, and one pooled over tasks, Holm-corrected over the page.

    The compared quantity is, per seed, the task-normalised test performance averaged over the
    high-sparsity rounds (≤ ``threshold`` % of the kernels left); the two curves of a claim are paired
    by seed (same θ₀, same ES noise). Effect: the Hodges–Lehmann pseudo-median of the paired
    differences (better − worse) with its signed-rank interval; test: one-sided Wilcoxon signed-rank
    (pooled: over (task, seed) pairs); verdict: the rule of :mod:`nevolab.stats`, so 3 seeds per task
    are ``underpowered`` (the exact test cannot go below p = 1/8). Claims whose curves are missing
    (e.g. no GD baseline for a task) are skipped, not faked.
    """
    curves = sorted(set(curve_key(frame)))
    normalised = normalise_per_task(frame, curves)
    per_seed = per_seed_high_sparsity(normalised, "normalised", threshold)
    wide = per_seed.pivot_table(index=["task_key", "seed"], columns="curve", values="normalised")
    rounds = high_sparsity_rounds(frame, threshold)
    remaining = frame.groupby("round").weights_remaining.mean()
    where = f"rounds {rounds[0]}–{rounds[-1]} ({remaining[rounds[0]]:.1f}–{remaining[rounds[-1]]:.2f} % left)"
    tests = []
    for claim, better, worse in CLAIMS:
        if better not in wide or worse not in wide:
            continue
        pairs = wide[[better, worse]].dropna()
        if pairs.empty:
            continue
        tasks = sorted(pairs.index.get_level_values("task_key").unique())
        for scope in [*tasks, "all tasks"]:
            subset = pairs if scope == "all tasks" else pairs.xs(scope, level="task_key", drop_level=False)
            tests.append(stats.assess_claim(claim, subset[better].to_numpy(), subset[worse].to_numpy(),
                                            "higher", paired=True, scope=scope, detail=where, seed=seed))
    table = stats.decide(tests)
    table["sentence"] = table.claim.map(lambda key: paper.CLAIMS_BY_KEY[key].sentence)
    return table


# ----------------------------------------------------------------------------------------------
# B5: transfer across tasks, across ES and to GD
# ----------------------------------------------------------------------------------------------

EQUIVALENCE_MARGIN = 0.1
"""Ours: "trains to the same level as the target's own ticket" means within 0.1 of the panel's
range of curve means (the normalised units every panel shares); the paper states no number."""


TRANSFER_CLAIMS = (
    ("transfer_tasks_beats_random", "across tasks", "transfer", "random", "higher"),
    ("transfer_es_beats_random", "across ES", "transfer", "random", "higher"),
    ("transfer_es_matches_own", "across ES", "transfer", "own", "equivalent"),
    ("transfer_gd_beats_random", "ES → GD", "transfer", "random", "higher"),
    ("transfer_gd_beats_gd_ticket", "ES → GD", "transfer", "own", "higher"),
)
"""(claim key of :mod:`nevolab.studies.b.paper`, panel relation, curve, compared curve,
expectation).."""
TRANSFER_LABELS = {"transfer_tasks_beats_random": "transfer > random (tasks)",
          "transfer_es_beats_random": "transfer > random (ES)",
          "transfer_es_matches_own": "transfer ≈ own ticket (ES)",
          "transfer_gd_beats_random": "transfer > GD-Random",
          "transfer_gd_beats_gd_ticket": "transfer > GD-IMP"}


def transfer_claims(frame: pd.DataFrame, threshold: float = 10.0, seed: int = 0) -> pd.DataFrame:
    """The claims table: one row per claim, pooled over the panels of its relation (pairs are (panel, seed)),
    Holm-corrected over the page; a relation without panels is skipped, not faked."""
    wide = per_panel_seed(frame, threshold)
    rounds = high_sparsity_rounds(frame, threshold)
    remaining = frame.groupby("round").weights_remaining.mean()
    where = f"rounds {rounds[0]}–{rounds[-1]} ({remaining[rounds[0]]:.1f}–{remaining[rounds[-1]]:.2f} % left)"
    tests = []
    for claim, relation, better, worse, expected in TRANSFER_CLAIMS:
        if relation not in wide.index.get_level_values("relation"):
            continue
        pairs = wide.xs(relation, level="relation")[[better, worse]].dropna()
        panels = ", ".join(sorted(pairs.index.get_level_values("panel").unique()))
        tests.append(stats.assess_claim(
            claim, pairs[better].to_numpy(), pairs[worse].to_numpy(), expected, paired=True,
            margin=EQUIVALENCE_MARGIN if expected == "equivalent" else 0.0, scope=relation,
            detail=f"{where}; panels {panels}", seed=seed))
    table = stats.decide(tests)
    table["sentence"] = table.claim.map(lambda key: paper.TRANSFER_CLAIMS_BY_KEY[key].sentence)
    return table


# ----------------------------------------------------------------------------------------------
# B6 and B7: connectivity, flatness and rank stability
# ----------------------------------------------------------------------------------------------

CONNECTED_MARGIN = 0.02
"""Frankle et al. (2020)'s threshold: two networks are linearly connected when the error barrier
between them is below 2 % (test error, 1 − accuracy)."""
STABLE_CORRELATION = 0.5
"""Ours: a rank correlation above 0.5 counts as "ranks stable" (a strong correlation by the usual
convention); the paper states no number."""

CONNECTIVITY_LABELS = {
    "es_flatter_than_gd": "ES flatter than GD",
    "es_rounds_barrier_above_gd": "ES rounds less connected than GD's",
    "es_seeds_barrier_above_gd": "ES seeds less connected than GD's",
    "es_rounds_not_connected": "ES rounds not linearly connected",
    "gd_rounds_connected": "GD rounds linearly connected",
}
CORRELATION_LABELS = {"snr_ranks_stable": "SNR ranks stable", "magnitude_ranks_stable": "|θ| ranks stable"}


def _per_seed(table: pd.DataFrame, measure: str, method: str, by: str = "seed") -> pd.Series:
    rows = table[(table.measure == measure) & (table.method == method)]
    return rows.groupby(by).value.mean()


def connectivity_claims(table: pd.DataFrame, summary: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """B6's claims table (:data:`nevolab.stats.CLAIM_COLUMNS` first), Holm-corrected over the page.

    Units are seeds (ES and GD of a seed start from the same θ₀), each seed's measure averaged over the
    rounds where both methods are trained (:func:`trained_rounds`; a barrier between rounds r−1 and r
    needs both trained; curvature: over those rounds and the directions); the seed barriers are paired
    by the pair of seeds. No trained round: an empty table (nothing to test).
    """
    rounds = trained_rounds(summary)
    if not rounds:
        claims = stats.decide([])
        claims["sentence"] = pd.Series(dtype=str)
        return claims
    used = table[table["round"].isin(rounds)]
    between = table[(table.measure == "barrier_rounds") & table["round"].isin(rounds)
                    & (table["round"] - 1).isin(rounds)]
    where = rounds_text(rounds, summary)
    tests = []
    curvature_es = _per_seed(used, "curvature", ES_METHOD)
    curvature_gd = _per_seed(used, "curvature", GD_METHOD).reindex(curvature_es.index)
    rounds_es = _per_seed(between, "barrier_rounds", ES_METHOD)
    rounds_gd = _per_seed(between, "barrier_rounds", GD_METHOD).reindex(rounds_es.index)
    seeds_es = _per_seed(used, "barrier_seeds", ES_METHOD)
    seeds_gd = _per_seed(used, "barrier_seeds", GD_METHOD).reindex(seeds_es.index)
    tests.append(stats.assess_claim(
        "es_flatter_than_gd", curvature_es.to_numpy(), curvature_gd.to_numpy(), "lower", paired=True,
        scope=where, detail="quadratic-fit test-loss curvature, mean over rounds and directions", seed=seed))
    if len(rounds_es):
        tests.append(stats.assess_claim(
            "es_rounds_barrier_above_gd", rounds_es.to_numpy(), rounds_gd.to_numpy(), "higher", paired=True,
            scope=where, detail="test-error barrier between consecutive rounds, mean over rounds", seed=seed))
    if len(seeds_es):
        tests.append(stats.assess_claim(
            "es_seeds_barrier_above_gd", seeds_es.to_numpy(), seeds_gd.to_numpy(), "higher", paired=True,
            scope=where, detail="test-error barrier between neighbouring seeds, mean over rounds", seed=seed))
    if len(rounds_es):
        tests.append(stats.assess_claim(
            "es_rounds_not_connected", rounds_es.to_numpy(), np.full(len(rounds_es), CONNECTED_MARGIN),
            "higher", paired=True, scope=where,
            detail=f"ES barrier against Frankle et al.'s {CONNECTED_MARGIN:.0%}", seed=seed))
        tests.append(stats.assess_claim(
            "gd_rounds_connected", rounds_gd.to_numpy(), np.zeros(len(rounds_gd)), "not_higher", paired=True,
            margin=CONNECTED_MARGIN, scope=where,
            detail=f"GD barrier below Frankle et al.'s {CONNECTED_MARGIN:.0%}", seed=seed))
    claims = stats.decide(tests)
    claims["sentence"] = claims.claim.map(lambda key: paper.LANDSCAPE_CLAIMS_BY_KEY[key].sentence)
    return claims


def correlation_claims(table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """B7's claims table: per seed, the rank correlation with the base round averaged over the later
    rounds, against :data:`STABLE_CORRELATION`, Holm-corrected over the page."""
    tests = []
    for claim, quantity in (("snr_ranks_stable", "snr"), ("magnitude_ranks_stable", "magnitude")):
        rows = table[(table.quantity == quantity) & (table["round"] > table["round"].min())]
        per_seed = rows.groupby("seed").rho.mean().dropna()
        if per_seed.empty:
            continue
        tests.append(stats.assess_claim(
            claim, per_seed.to_numpy(), np.full(len(per_seed), STABLE_CORRELATION), "higher", paired=True,
            scope="surviving kernels", detail=f"Spearman ρ with round 0, mean over rounds, against "
                                              f"{STABLE_CORRELATION}", seed=seed))
    claims = stats.decide(tests)
    claims["sentence"] = claims.claim.map(lambda key: paper.LANDSCAPE_CLAIMS_BY_KEY[key].sentence)
    return claims
