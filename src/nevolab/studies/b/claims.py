"""Study B's claims, tested: paired over seeds (every criterion of a seed starts from the same θ₀ and
shares the ES noise), by the verdict rule of :mod:`nevolab.stats`."""

from __future__ import annotations

import pandas as pd

from nevolab import stats, store
from nevolab.config import Config
from nevolab.studies.b import paper
from nevolab.studies.b.analysis import (
    curve_key,
    high_sparsity_rounds,
    normalise_per_task,
    per_seed_high_sparsity,
)

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


def stored_claims(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """B4's claims table for the run parameters of any Study B page's ``config``, through the store:
    B1 and B2 show rows of this one table, so a claim's numbers are the same on every page."""
    from nevolab.studies.b import runs, spec  # the running layer stays out of the analysis above

    return store.stored_claims(
        spec.SPECS_BY_NAME["b4_claims"], config,
        lambda claims_config: study_b_claims(pd.concat(
            [runs.es_runs(claims_config, fresh), runs.gd_runs(claims_config, fresh)], ignore_index=True)),
        fresh)
