"""Study B's claims, tested: paired over seeds (every criterion of a seed starts from the same θ₀ and
shares the ES noise), with a bootstrap interval and the verdict rule of :mod:`nevolab.stats`."""

from __future__ import annotations

import pandas as pd

from nevolab import stats
from nevolab.studies.b.analysis import (
    curve_key,
    high_sparsity_rounds,
    normalise_per_task,
    per_seed_high_sparsity,
)

CLAIMS = (
    ("Tickets beat random: ES-SNR > ES-Random at high sparsity", "snr", "random"),
    ("Tickets beat random: ES-IMP > ES-Random at high sparsity", "magnitude", "random"),
    ("SNR pruning trains at higher sparsity than magnitude: ES-SNR > ES-IMP", "snr", "magnitude"),
    ("ES beats GD at high sparsity: ES-SNR > GD-IMP", "snr", "gd"),
)
"""(claim, better curve, worse curve): every claim says the first is higher at high sparsity."""


def study_b_claims(frame: pd.DataFrame, threshold: float = 10.0, seed: int = 0) -> pd.DataFrame:
    """The claims table: one row per claim and task, and one pooled over tasks.

    Effect = mean over seeds of the paired difference (better − worse) of the task-normalised test
    performance averaged over the high-sparsity rounds (≤ ``threshold`` % of the kernels left);
    a percentile-bootstrap 95% interval over seeds (pooled: over (task, seed) pairs), a two-sided
    Wilcoxon signed-rank p-value, Cohen's d_z, and the verdict rule of :mod:`nevolab.stats`.
    Claims whose curves are missing (e.g. no GD baseline for a task) are skipped, not faked.
    """
    curves = sorted(set(curve_key(frame)))
    normalised = normalise_per_task(frame, curves)
    per_seed = per_seed_high_sparsity(normalised, "normalised", threshold)
    wide = per_seed.pivot_table(index=["task_key", "seed"], columns="curve", values="normalised")
    rounds = high_sparsity_rounds(frame, threshold)
    remaining = frame.groupby("round").weights_remaining.mean()
    where = f"rounds {rounds[0]}–{rounds[-1]} ({remaining[rounds[0]]:.1f}–{remaining[rounds[-1]]:.2f} % left)"
    rows = []
    for claim, better, worse in CLAIMS:
        if better not in wide or worse not in wide:
            continue
        pairs = wide[[better, worse]].dropna()
        if pairs.empty:
            continue
        tasks = sorted(pairs.index.get_level_values("task_key").unique())
        for scope in [*tasks, "all tasks"]:
            subset = pairs if scope == "all tasks" else pairs.xs(scope, level="task_key", drop_level=False)
            differences = (subset[better] - subset[worse]).to_numpy()
            result = stats.claim_from_paired(claim, differences, expected_sign=1, seed=seed,
                                             detail=f"{where}; n={differences.size} paired seeds")
            rows.append({"scope": scope, **result.row()})
    return pd.DataFrame(rows)
