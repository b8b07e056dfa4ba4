"""Study B's claims tables, one builder per claims page, each tested by the verdict rule of
:mod:`nevolab.stats` (Holm over each claim's scopes, the same on every page): B4's ticket claims
(paired over seeds: every criterion of a seed starts from the same θ₀ and shares the ES noise), B5's
transfer claims (paired over (panel, seed)), B6's connectivity, flatness and ES-against-GD claims and
B7's rank-correlation claims (paired by seed). A claim whose tasks or strategies the runs do not hold
is a row ``not tested at scale`` (:func:`not_tested`), with the settings it needs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from nevolab import report, stats
from nevolab.report import PaperClaim
from nevolab.studies.b import paper
from nevolab.studies.b.analysis import (
    ES_GD_PAIR,
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
from nevolab.tasks import brax_control


def paper_table(claims: tuple[PaperClaim, ...], labels: dict[str, str]) -> pd.DataFrame:
    """The claims as the paper words them, for a page: our label, the paper's sentence, what we test,
    the margin with its source (a margin of ours says so), the paper's number and, for a claim that
    needs runs beyond ours, the scale it needs."""
    rows = []
    for claim in claims:
        if claim.key not in labels:
            continue
        needs = "; ".join(f"{name} ≥ {value:g}" for name, value in claim.scale)
        rows.append({"claim": labels[claim.key], "the paper says": f"“{claim.sentence}”",
                     "tested as": claim.operationalisation,
                     "margin (source)": f"{claim.margin} ({claim.margin_source})" if claim.margin else "–",
                     "the paper shows": claim.paper_value or "–",
                     "needs": f"{needs}: {claim.scale_reason}" if needs else "–"})
    table = pd.DataFrame(rows)
    return table.drop(columns="needs") if (table["needs"] == "–").all() else table


def not_tested(claim: PaperClaim, ours: dict[str, float], expected: str = "higher", scope: str = "-",
               detail: str = "") -> stats.ClaimTest:
    """A row for a claim these runs cannot test: no data, ``below_scale`` from the claim's
    :attr:`~nevolab.report.PaperClaim.scale` against ``ours`` (the same setting names)."""
    shortfall = stats.scale_shortfall(dict(claim.scale), ours)
    if not shortfall:
        raise ValueError(f"{claim.key}: the runs meet its scale ({ours}); test it instead")
    nan = math.nan
    return stats.ClaimTest(claim.key, scope, "-", expected, 0.0, nan, nan, nan, nan, nan, nan, nan,
                           "not run", nan, nan, nan, "0", detail or claim.scale_reason, shortfall)


def per_seed_spearman(x: pd.DataFrame, y: pd.DataFrame) -> pd.Series:
    """Per row index (a seed, or (panel, seed)): Spearman's ρ between the rows of ``x`` and ``y`` (the
    same columns: rounds); NaN where either is constant."""
    rho = {}
    for index in x.index:
        a, b = x.loc[index].to_numpy(float), y.loc[index].to_numpy(float)
        keep = np.isfinite(a) & np.isfinite(b)
        if keep.sum() < 3 or np.ptp(a[keep]) == 0 or np.ptp(b[keep]) == 0:
            rho[index] = np.nan
            continue
        rho[index] = float(sps.spearmanr(a[keep], b[keep]).statistic)
    return pd.Series(rho, dtype=float)

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
          "snr_beats_magnitude": "ES-SNR > ES-IMP", "es_beats_gd_sparse": "ES-SNR > GD-IMP",
          "ticket_effect_simple_above_complex": "ticket effect: simple > complex tasks",
          "decomposition_robust_to_es": "decomposition robust to the ES",
          "es_beats_gd_moderate_control": "ES-SNR > GD-IMP, moderate sparsity (Hopper, Grasp)"}
"""Short names for tables."""
SIMPLE, COMPLEX = "simple tasks", "complex control (Brax)"


def moderate_sparsity_rounds(frame: pd.DataFrame, threshold: float = 10.0) -> list[int]:
    """The pruned rounds that keep more than ``threshold`` % of the kernels (the paper's "moderate
    levels of sparsity": neither dense nor high sparsity)."""
    remaining = frame.groupby("round").weights_remaining.mean()
    return [int(r) for r in remaining.index if r > remaining.index.min() and remaining[r] > threshold]


def _scale_claims(frame: pd.DataFrame, normalised: pd.DataFrame, wide: pd.DataFrame, threshold: float,
                  seed: int) -> list:
    """B.10, B.11 and B.12: tested where the runs hold their tasks, else ``not tested at scale``."""
    tests = []
    task_keys = sorted(set(frame.task_key))
    complex_tasks = [t for t in task_keys if brax_control.is_brax_task(t)]
    simple_tasks = [t for t in task_keys if t not in complex_tasks]
    claim = paper.CLAIMS_BY_KEY["ticket_effect_simple_above_complex"]
    if complex_tasks and simple_tasks and {"snr", "random"} <= set(wide.columns):
        effect = (wide["snr"] - wide["random"]).dropna()
        tasks = effect.index.get_level_values("task_key")
        tests.append(stats.assess_claim(
            claim.key, effect[~tasks.isin(complex_tasks)].to_numpy(),
            effect[tasks.isin(complex_tasks)].to_numpy(), "higher", scope=f"{SIMPLE} vs {COMPLEX}", seed=seed,
            detail=f"ES-SNR − ES-Random at high sparsity; simple: {', '.join(simple_tasks)}; complex: "
                   f"{', '.join(complex_tasks)}"))
    else:
        tests.append(not_tested(claim, {claim.scale[0][0]: len(complex_tasks)},
                                scope=f"{SIMPLE} vs {COMPLEX}"))
    claim = paper.CLAIMS_BY_KEY["decomposition_robust_to_es"]
    controls = frame[(frame.method == "ES") & frame.criterion.isin(["permute_values", "permute_mask"])]
    strategies = controls.groupby("task_key").strategy.nunique().max() if len(controls) else 0
    tests.append(not_tested(claim, {claim.scale[0][0]: int(strategies)}, expected="equivalent",
                            scope="each task"))
    claim = paper.CLAIMS_BY_KEY["es_beats_gd_moderate_control"]
    named = [t for t in task_keys if t in paper.MODERATE_SPARSITY_TASKS]
    moderate = moderate_sparsity_rounds(frame, threshold)
    subset = normalised[normalised.task_key.isin(named) & normalised["round"].isin(moderate)]
    pairs = (subset.groupby(["task_key", "seed", "curve"]).normalised.mean().unstack("curve")
             .reindex(columns=["snr", "gd"]).dropna())
    if not pairs.empty:
        tests.append(stats.assess_claim(claim.key, pairs["snr"].to_numpy(), pairs["gd"].to_numpy(), "higher",
                                        paired=True, scope=", ".join(named), seed=seed,
                                        detail=f"rounds {moderate[0]}–{moderate[-1]}, mean per seed"))
    else:
        tests.append(not_tested(claim, {claim.scale[0][0]: len(named)}, scope="Hopper, Grasp"))
    return tests


def study_b_claims(frame: pd.DataFrame, threshold: float = 10.0, seed: int = 0) -> pd.DataFrame:
    """The claims table (columns :data:`nevolab.stats.CLAIM_COLUMNS` first): one row per claim and
    task, and one pooled over tasks, Holm-corrected over each claim's rows; then the claims whose tasks
    (complex control, Hopper and Grasp) or strategies (two ES per task) these runs may not hold
    (:func:`_scale_claims`).

    The compared quantity is, per seed, the task-normalised test performance averaged over the
    high-sparsity rounds (≤ ``threshold`` % of the kernels left); the two curves of a claim are paired
    by seed (same θ₀, same ES noise). Effect: the Hodges–Lehmann pseudo-median of the paired
    differences (better − worse) with its signed-rank interval; test: one-sided Wilcoxon signed-rank
    (pooled: over (task, seed) pairs); verdict: the rule of :mod:`nevolab.stats`, so 3 seeds per task
    are ``underpowered`` (the exact test cannot go below p = 1/8; 8 seeds reach 1/256, which survives Holm
over a claim's tasks and its pooled row). Claims whose curves are missing
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
    tests += _scale_claims(frame, normalised, wide, threshold, seed)
    table = stats.decide(tests)
    table["sentence"] = table.claim.map(lambda key: paper.CLAIMS_BY_KEY[key].sentence)
    return table


# ----------------------------------------------------------------------------------------------
# B5: transfer across tasks, across ES and to GD
# ----------------------------------------------------------------------------------------------

SAME_LEVEL_MARGIN = paper.SAME_LEVEL_MARGIN
"""The margin of "trains to the same level as" and "does not outperform" the target's own ticket, in
the panels' normalised units: the smallest gap the paper itself calls a difference (its Fig. 5,
:data:`nevolab.studies.b.paper.SAME_LEVEL_MARGIN`)."""


TRANSFER_CLAIMS = (
    ("transfer_tasks_beats_random", "across tasks", "transfer", "random", "higher"),
    ("transfer_es_beats_random", "across ES", "transfer", "random", "higher"),
    ("transfer_es_matches_own", "across ES", "transfer", "own", "equivalent"),
    ("transfer_gd_beats_random", "ES → GD", "transfer", "random", "higher"),
    ("transfer_gd_beats_gd_ticket", "ES → GD", "transfer", "own", "higher"),
    ("transfer_tasks_not_above_own", "across tasks", "transfer", "own", "not_higher"),
)
"""(claim key of :mod:`nevolab.studies.b.paper`, panel relation, curve, compared curve,
expectation)."""
TRANSFER_LABELS = {"transfer_tasks_beats_random": "transfer > random (tasks)",
          "transfer_es_beats_random": "transfer > random (ES)",
          "transfer_es_matches_own": "transfer ≈ own ticket (ES)",
          "transfer_gd_beats_random": "transfer > GD-Random",
          "transfer_gd_beats_gd_ticket": "transfer > GD-IMP",
          "transfer_tasks_not_above_own": "transfer ≯ own ticket (tasks)",
          "transfer_tracks_es_gd_gap": "transfer effect tracks the ES–GD gap"}
GAP_RELATION = "ES → GD"


def transfer_gap_correlations(frame: pd.DataFrame, source: pd.DataFrame) -> pd.Series:
    """Per (panel, seed) of the ES → GD panels: Spearman's ρ over the rounds between the transfer effect
    (transfer − GD-Random) and the ES–GD gap (``source``: the source run's ES-SNR, minus GD-IMP, the
    panel's ``own``). ``source`` has ``panel, seed, round, test_performance``."""
    panels = frame[frame.relation == GAP_RELATION]
    if panels.empty or source.empty:
        return pd.Series(dtype=float)
    curves = panels.pivot_table(index=["panel", "seed", "round"], columns="curve", values="test_performance")
    es = source.set_index(["panel", "seed", "round"]).test_performance.reindex(curves.index)
    effect = (curves["transfer"] - curves["random"]).unstack("round")
    gap = (es - curves["own"]).unstack("round")
    return per_seed_spearman(effect, gap.reindex(effect.index)).dropna()


def transfer_claims(frame: pd.DataFrame, threshold: float = 10.0, seed: int = 0,
                    source: pd.DataFrame | None = None) -> pd.DataFrame:
    """The claims table: one row per claim, pooled over the panels of its relation (pairs are (panel, seed)),
    Holm-corrected over each claim's rows; a relation without panels is skipped, not faked. ``source``
    (the ES → GD panels' source ES-SNR curves, :func:`transfer_gap_correlations`) adds whether the
    transfer effect tracks the ES–GD gap."""
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
            margin=SAME_LEVEL_MARGIN if expected in ("equivalent", "not_higher") else 0.0, scope=relation,
            detail=f"{where}; panels {panels}", seed=seed))
    rho = transfer_gap_correlations(frame, source if source is not None else pd.DataFrame())
    if not rho.empty:
        panels = ", ".join(sorted(rho.index.get_level_values(0).unique()))
        tests.append(stats.assess_claim(
            "transfer_tracks_es_gd_gap", rho.to_numpy(), np.zeros(len(rho)), "higher", paired=True,
            scope=GAP_RELATION, seed=seed,
            detail=f"Spearman ρ over rounds {int(frame['round'].min())}–{int(frame['round'].max())} per "
                   f"(panel, seed); panels {panels}"))
    table = stats.decide(tests)
    table["sentence"] = table.claim.map(lambda key: paper.TRANSFER_CLAIMS_BY_KEY[key].sentence)
    return table


# ----------------------------------------------------------------------------------------------
# B6 and B7: connectivity, flatness and rank stability
# ----------------------------------------------------------------------------------------------

CONNECTED_MARGIN = 0.02
"""Frankle et al. (2020)'s threshold: two networks are linearly connected when the error barrier
between them is below 2 % (test error, 1 − accuracy)."""

CONNECTIVITY_LABELS = {
    "es_flatter_than_gd": "ES flatter than GD",
    "es_rounds_barrier_above_gd": "ES rounds less connected than GD's",
    "es_seeds_barrier_above_gd": "ES seeds less connected than GD's",
    "es_rounds_not_connected": "ES rounds not linearly connected",
    "gd_rounds_connected": "GD rounds linearly connected",
    "es_gd_not_connected": "ES and GD optima not linearly connected",
    "gd_larger_weights": "GD weights larger than ES's",
    "gd_prunes_input_less": "GD keeps more of the input layer",
    "gd_degradation_with_sharpness": "GD's error rises with its sharpness",
}
CORRELATION_LABELS = {"snr_correlation_falls": "SNR rank correlation falls",
                      "magnitude_correlation_falls": "|θ| rank correlation falls"}
BARRIER_CLAIMS = ("es_rounds_not_connected", "gd_rounds_connected", "es_gd_not_connected")
"""B6's claims about a barrier against Frankle et al.'s threshold: their rows carry the barrier itself
(``barrier``, ``barrier_low``, ``barrier_high``: Hodges–Lehmann with its signed-rank interval) and the
threshold (``threshold``) in columns of their own."""


def _per_seed(table: pd.DataFrame, measure: str, method: str, by: str = "seed") -> pd.Series:
    rows = table[(table.measure == measure) & (table.method == method)]
    return rows.groupby(by).value.mean()


def _with_barriers(claims: pd.DataFrame, barriers: dict[str, np.ndarray]) -> pd.DataFrame:
    """``claims`` with the barrier and the threshold of :data:`BARRIER_CLAIMS`' rows in separate columns."""
    claims = claims.assign(barrier=np.nan, barrier_low=np.nan, barrier_high=np.nan, threshold=np.nan)
    for index, row in claims.iterrows():
        if row.claim in barriers:
            claims.loc[index, ["barrier", "barrier_low", "barrier_high"]] = stats.hodges_lehmann(
                np.asarray(barriers[row.claim], float))
            claims.loc[index, "threshold"] = CONNECTED_MARGIN
    return claims


def _optima_tests(optima: pd.DataFrame, rounds: list[int], where: str, seed: int) -> tuple[list, dict]:
    """B.15 (ES and GD optima not connected; GD's weights larger; GD keeps more of the input layer)."""
    tests, barriers = [], {}
    used = optima[optima["round"].isin(rounds)]
    between = _per_seed(used, "barrier_methods", ES_GD_PAIR)
    if len(between):
        barriers["es_gd_not_connected"] = between.to_numpy()
        tests.append(stats.assess_claim(
            "es_gd_not_connected", between.to_numpy(), np.full(len(between), CONNECTED_MARGIN), "higher",
            paired=True, scope=where, seed=seed,
            detail=f"test-error barrier between ES-SNR and GD-IMP of a seed and round, mean over rounds, "
                   f"against Frankle et al.'s {CONNECTED_MARGIN:.0%}"))
    magnitude_gd = _per_seed(used, "weight_magnitude", GD_METHOD)
    magnitude_es = _per_seed(used, "weight_magnitude", ES_METHOD).reindex(magnitude_gd.index)
    if len(magnitude_gd):
        tests.append(stats.assess_claim(
            "gd_larger_weights", magnitude_gd.to_numpy(), magnitude_es.to_numpy(), "higher", paired=True,
            scope=where, seed=seed, detail="mean |θ| of the kept weights, mean over rounds"))
    pruned = used[used["round"] > 0]
    input_gd = _per_seed(pruned, "input_kept", GD_METHOD)
    input_es = _per_seed(pruned, "input_kept", ES_METHOD).reindex(input_gd.index)
    if len(input_gd):
        tests.append(stats.assess_claim(
            "gd_prunes_input_less", input_gd.to_numpy(), input_es.to_numpy(), "higher", paired=True,
            scope=where, seed=seed,
            detail="% of the input layer's kernels kept, mean over the pruned rounds"))
    return tests, barriers


def sharpness_correlations(table: pd.DataFrame, summary: pd.DataFrame, rounds: list[int]) -> pd.Series:
    """Per seed: Spearman's ρ over ``rounds`` between GD-IMP's test error (1 − accuracy) and its
    curvature (mean over directions); NaN-free (seeds where either is constant are left out)."""
    gd_rows = table[(table.measure == "curvature") & (table.method == GD_METHOD)]
    curvature = (gd_rows[gd_rows["round"].isin(rounds)]
                 .groupby(["seed", "round"]).value.mean().unstack("round"))
    error = (1.0 - summary[(summary.method == GD_METHOD) & summary["round"].isin(rounds)]
             .pivot_table(index="seed", columns="round", values="test_score")).reindex(curvature.index)
    return per_seed_spearman(error, curvature[error.columns]).dropna()


def connectivity_claims(table: pd.DataFrame, summary: pd.DataFrame, optima: pd.DataFrame | None = None,
                        seed: int = 0) -> pd.DataFrame:
    """B6's claims table (:data:`nevolab.stats.CLAIM_COLUMNS` first), Holm-corrected over each claim's rows.

    Units are seeds (ES and GD of a seed start from the same θ₀), each seed's measure averaged over the
    rounds where both methods are trained (:func:`trained_rounds`; a barrier between rounds r−1 and r
    needs both trained; curvature: over those rounds and the directions); the seed barriers are paired
    by the pair of seeds. ``optima`` (:func:`~nevolab.studies.b.landscape_measures.measure_optima`) adds
    the ES-against-GD claims; GD's sharpness against its error is a per-seed Spearman ρ over the trained
    rounds (three at least). The barrier rows carry the barrier and the threshold in columns of their
    own (:data:`BARRIER_CLAIMS`). No trained round: an empty table (nothing to test).
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
    barriers = {}
    if len(rounds_es):
        barriers = {"es_rounds_not_connected": rounds_es.to_numpy(),
                    "gd_rounds_connected": rounds_gd.to_numpy()}
        tests.append(stats.assess_claim(
            "es_rounds_not_connected", rounds_es.to_numpy(), np.full(len(rounds_es), CONNECTED_MARGIN),
            "higher", paired=True, scope=where,
            detail=f"ES barrier against Frankle et al.'s {CONNECTED_MARGIN:.0%}", seed=seed))
        tests.append(stats.assess_claim(
            "gd_rounds_connected", rounds_gd.to_numpy(), np.zeros(len(rounds_gd)), "not_higher", paired=True,
            margin=CONNECTED_MARGIN, scope=where,
            detail=f"GD barrier below Frankle et al.'s {CONNECTED_MARGIN:.0%}", seed=seed))
    if optima is not None:
        more, optima_barriers = _optima_tests(optima, rounds, where, seed)
        tests += more
        barriers.update(optima_barriers)
    if len(rounds) >= 3:
        rho = sharpness_correlations(table, summary, rounds)
        if len(rho):
            tests.append(stats.assess_claim(
                "gd_degradation_with_sharpness", rho.to_numpy(), np.zeros(len(rho)), "higher", paired=True,
                scope=where, seed=seed,
                detail="per seed, Spearman ρ over the rounds between GD-IMP's test error and its curvature"))
    claims = _with_barriers(stats.decide(tests), barriers)
    claims["sentence"] = claims.claim.map(lambda key: paper.LANDSCAPE_CLAIMS_BY_KEY[key].sentence)
    return claims


def with_barrier_columns(shown: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """A compact claims table (:func:`nevolab.report.compact` of ``claims``) with the barrier itself
    and the threshold it is tested against in columns of their own ("–" on the other rows)."""
    barrier = [report.interval(r.barrier, r.barrier_low, r.barrier_high) if r.barrier == r.barrier else "–"
               for r in claims.itertuples()]
    threshold = [f"{r.threshold:.0%}" if r.threshold == r.threshold else "–" for r in claims.itertuples()]
    return shown.assign(**{"barrier [95% CI]": barrier, "threshold": threshold})


def with_rho_columns(shown: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """A compact claims table of B7's with ρ itself at the first compared round and at the last (seed
    means) beside the change the test is about."""
    return shown.assign(**{"ρ first (mean)": claims.rho_first.map("{:.3f}".format).to_numpy(),
                           "ρ last (mean)": claims.rho_last.map("{:.3f}".format).to_numpy()})


def correlation_fall(table: pd.DataFrame, quantity: str) -> pd.DataFrame:
    """Per seed: ``first`` and ``last``, Spearman's ρ of ``quantity`` with the base round at the first
    compared round and at the last; empty with fewer than two compared rounds."""
    rows = table[(table.quantity == quantity) & (table["round"] > table["round"].min())]
    compared = sorted(rows["round"].unique())
    if len(compared) < 2:
        return pd.DataFrame(columns=["first", "last"])
    wide = rows.pivot_table(index="seed", columns="round", values="rho")
    return pd.DataFrame({"first": wide[compared[0]], "last": wide[compared[-1]]}).dropna()


def correlation_claims(table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """B7's claims table: the paper's "the correlation decreases as sparsity increases", per seed ρ with
    the base round at the last round against ρ at the first compared round (round 1), one-sided
    signed-rank over seeds; the effect is the change in ρ (last − first: negative when it falls), and
    ``rho_first`` / ``rho_last`` hold the seed means of ρ itself. Holm over each claim's rows."""
    tests, levels = [], {}
    for claim, quantity in (("snr_correlation_falls", "snr"), ("magnitude_correlation_falls", "magnitude")):
        fall = correlation_fall(table, quantity)
        if fall.empty:
            continue
        compared = sorted(table.loc[table["round"] > table["round"].min(), "round"].unique())
        levels[claim] = (fall["first"].mean(), fall["last"].mean())
        tests.append(stats.assess_claim(
            claim, fall["last"].to_numpy(), fall["first"].to_numpy(), "lower", paired=True,
            scope=f"round {compared[0]} → round {compared[-1]}",
            detail=f"Spearman ρ with round {int(table['round'].min())} over the surviving kernels: change "
                   "from the first compared round to the last", seed=seed))
    claims = stats.decide(tests)
    claims["rho_first"] = claims.claim.map(lambda key: levels[key][0])
    claims["rho_last"] = claims.claim.map(lambda key: levels[key][1])
    claims["sentence"] = claims.claim.map(lambda key: paper.LANDSCAPE_CLAIMS_BY_KEY[key].sentence)
    return claims
