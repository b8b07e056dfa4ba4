"""Pages B6 (linear mode connectivity and flatness, the paper's Fig 6) and B7 (the SNR/|θ| rank
correlation and the relative SNR advantage, Fig 7): their run keys, measurement tables and claims.

Three cached units, each a table in the results store:

* :class:`~nevolab.studies.b.landscape_runs.LandscapeRun` (``study_b_landscape/``): the pruning runs
  (ES with SNR and magnitude pruning trained together, and GD-IMP with Adam), one summary row per
  method, seed and round; the trained networks, masks, search stds and θ₀ lie beside it as
  ``<hash>/<method>.npz``;
* :class:`ConnectivityMeasures` (``study_b_landscape_measures/``): B6's barriers, curvatures, 1-D
  profiles and 2-D surfaces, measured on those networks;
* :class:`CorrelationMeasures` (``study_b_snr_correlation/``): B7's rank correlations per round and seed.

Each page then stores its claims table under its own config (``b6_connectivity_flatness/``,
``b7_snr_correlation/``), computed from the measurement tables alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.flatten_util import ravel_pytree

from nevolab import landscape, stats, store
from nevolab.config import Config, RunConfig
from nevolab.studies.b import landscape_runs as lr
from nevolab.studies.b import paper, tasks

ES_METHOD = "es_snr"
"""The ES networks B6 measures: ES with SNR pruning (the paper's ES tickets)."""
IMP_METHOD = "es_magnitude"
GD_METHOD = "gd_adam"
METHOD_LABELS = {"es_snr": "ES (SNR)", "es_magnitude": "ES (IMP)", "gd_adam": "GD (Adam IMP)"}

CONNECTED_MARGIN = 0.02
"""Frankle et al. (2020)'s threshold: two networks are linearly connected when the error barrier
between them is below 2 % (test error, 1 − accuracy)."""
TRAINED_ACCURACY = 0.5
"""Ours: B6's claims use the rounds where both ES-SNR's and GD-IMP's seed-mean test accuracy is at
least this (five times chance on ten classes). A network at chance outputs nearly the same class
scores whatever its weights: its loss is flat and its barriers are 0, which says nothing about the
optimum a method found; the figures show every round."""
STABLE_CORRELATION = 0.5
"""Ours: a rank correlation above 0.5 counts as "ranks stable" (a strong correlation by the usual
convention); the paper states no number."""

MEASURE_COLUMNS = ["measure", "method", "round", "weights_remaining", "seed", "other_seed", "direction",
                   "x", "y", "value"]
CORRELATION_COLUMNS = ["quantity", "method", "round", "weights_remaining", "seed", "survivors", "rho"]


# ----------------------------------------------------------------------------------------------
# Keys
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ConnectivityMeasures(RunConfig):
    """B6's measurements of one landscape run (``run_key``) with their grid settings."""

    KIND: ClassVar[str] = "study_b_landscape_measures"
    VERSION: ClassVar[int] = 1
    run_key: str
    alphas: int
    directions: int
    steps: int
    span: float
    surface_points: int
    surface_span: float


@dataclasses.dataclass(frozen=True)
class CorrelationMeasures(RunConfig):
    """B7's rank correlations of one landscape run (``run_key``), against round ``base_round``."""

    KIND: ClassVar[str] = "study_b_snr_correlation"
    VERSION: ClassVar[int] = 1
    run_key: str
    base_round: int = 0


def landscape_run(config: Config | Mapping[str, Any]) -> lr.LandscapeRun:
    """The pruning runs of a B6/B7 config (both pages share them: same parameters, same key)."""
    return lr.LandscapeRun(task=config["task"], strategy=config["strategy"], criteria=("snr", "magnitude"),
                           rounds=int(config["rounds"]), prune_fraction=float(config["prune_fraction"]),
                           seeds=tuple(tasks.seeds_for(int(config["seeds"]))),
                           generations=int(config["generations"]), population=int(config["population"]),
                           task_kwargs={"batch_size": int(config["batch_size"])},
                           gd_epochs=int(config["gd_epochs"]))


def connectivity_measures(config: Config | Mapping[str, Any]) -> ConnectivityMeasures:
    return ConnectivityMeasures(run_key=landscape_run(config).hash(), alphas=int(config["alphas"]),
                                directions=int(config["directions"]), steps=int(config["steps"]),
                                span=float(config["span"]), surface_points=int(config["surface_points"]),
                                surface_span=float(config["surface_span"]))


def correlation_measures(config: Config | Mapping[str, Any]) -> CorrelationMeasures:
    return CorrelationMeasures(run_key=landscape_run(config).hash())


def run_configs(config: Config) -> list[RunConfig]:
    """The cached units of a B6 or B7 config: the pruning runs, then the page's measurements."""
    measures = (connectivity_measures if config.notebook == "b6_connectivity_flatness"
                else correlation_measures)(config)
    return [landscape_run(config), measures]


# ----------------------------------------------------------------------------------------------
# B6: barriers, curvatures, profiles, surfaces
# ----------------------------------------------------------------------------------------------


def surface_rounds(rounds: int) -> list[int]:
    """The three rounds whose 2-D surfaces B6 draws: the dense network, the middle and the last round."""
    return sorted({0, (rounds - 1) // 2, rounds - 1})


def _rows(measure: str, method: str, values: Mapping[str, np.ndarray], **columns: Any) -> dict[str, Any]:
    round_index = columns.get("round")
    remaining = (float(values["weights_remaining"][round_index]) if round_index is not None else np.nan)
    return {"measure": measure, "method": method, "weights_remaining": remaining, **columns}


def measure_connectivity(measures: ConnectivityMeasures, arrays: Mapping[str, Mapping[str, np.ndarray]],
                         task: Any) -> pd.DataFrame:
    """B6's tidy table (:data:`MEASURE_COLUMNS`), for ES-SNR and GD-IMP:

    * ``barrier_rounds``: the error barrier between round r−1 and round r of a seed (``round`` = r);
    * ``barrier_seeds``: between seed s and the next seed in the list (a ring) at the same round;
    * ``curvature``: the quadratic-fit curvature of the test loss along filter-normalised direction d;
    * ``profile``: the test loss along those directions at ``x`` = t, first seed only;
    * ``surface``: the test loss on a 2-D grid (``x``, ``y``) for three rounds, first seed only.

    Every measure is one compiled program for both methods (their networks are stacked).
    """
    test_loss, test_error = lr.flat_objectives(task)
    template = lr.template(task)
    alphas = landscape.default_alphas(measures.alphas)
    steps = jnp.linspace(-measures.span, measures.span, measures.steps)
    grid = jnp.linspace(-measures.surface_span, measures.surface_span, measures.surface_points)
    key = jax.random.PRNGKey(0)  # the same Gaussian draws for every method, round and seed
    methods = (ES_METHOD, GD_METHOD)
    rows: list[dict[str, Any]] = []

    # Barriers: every pair of both methods in one call.
    pairs = []  # (measure, method, round, seed index, other seed index, theta_a, theta_b)
    for method in methods:
        params = arrays[method]["params"]
        rounds, num_seeds, _ = params.shape
        for r in range(1, rounds):
            pairs += [("barrier_rounds", method, r, s, None, params[r - 1, s], params[r, s])
                      for s in range(num_seeds)]
        ring = [(s, (s + 1) % num_seeds) for s in range(num_seeds if num_seeds > 2 else 1)]
        for r in range(rounds):
            pairs += [("barrier_seeds", method, r, a, b, params[r, a], params[r, b]) for a, b in ring]
    barriers = lr.pair_barriers(test_error, np.stack([p[5] for p in pairs]), np.stack([p[6] for p in pairs]),
                                alphas=alphas)
    for (measure, method, r, a, b, _, _), value in zip(pairs, barriers):
        seeds = arrays[method]["seeds"]
        rows.append(_rows(measure, method, arrays[method], round=r, seed=int(seeds[a]),
                          other_seed=None if b is None else int(seeds[b]), value=float(value)))

    # Curvatures: the methods stacked along the seed axis.
    stacked = np.concatenate([arrays[m]["params"] for m in methods], axis=1)
    stacked_masks = np.concatenate([arrays[m]["masks"] for m in methods], axis=1)
    curvatures = lr.round_sharpness(test_loss, template, stacked, stacked_masks, key, steps,
                                    measures.directions)
    offset = 0
    for method in methods:
        values = arrays[method]
        rounds, num_seeds, _ = values["params"].shape
        for r in range(rounds):
            for s in range(num_seeds):
                for d in range(measures.directions):
                    rows.append(_rows("curvature", method, values, round=r, seed=int(values["seeds"][s]),
                                      direction=d, value=float(curvatures[r, offset + s, d])))
        offset += num_seeds

    # 1-D profiles (every round) and 2-D surfaces (three rounds), first seed.
    pytree_loss = _pytree_loss(test_loss)

    @jax.jit
    def profile(flat, flat_mask):
        tree = landscape.unflatten_like(template, flat)
        mask = landscape.unflatten_like(template, flat_mask)
        directions = landscape.random_directions(key, tree, measures.directions, mask)
        return landscape.losses_along_directions(pytree_loss, tree, directions, steps)

    @jax.jit
    def surface(flat, flat_mask):
        tree = landscape.unflatten_like(template, flat)
        mask = landscape.unflatten_like(template, flat_mask)
        pair = landscape.random_directions(jax.random.PRNGKey(1), tree, 2, mask)
        first = jax.tree_util.tree_map(lambda leaf: leaf[0], pair)
        second = jax.tree_util.tree_map(lambda leaf: leaf[1], pair)
        return landscape.loss_surface(pytree_loss, tree, first, second, grid, grid)

    for method in methods:
        values = arrays[method]
        params, masks, seed = values["params"], values["masks"], int(values["seeds"][0])
        rounds = params.shape[0]
        for r in range(rounds):
            losses = np.asarray(profile(jnp.asarray(params[r, 0]), jnp.asarray(masks[r, 0])))
            for d in range(measures.directions):
                for t, loss in zip(np.asarray(steps), losses[d]):
                    rows.append(_rows("profile", method, values, round=r, seed=seed, direction=d,
                                      x=float(t), value=float(loss)))
            if r in surface_rounds(rounds):
                grid_losses = np.asarray(surface(jnp.asarray(params[r, 0]), jnp.asarray(masks[r, 0])))
                for i, x in enumerate(np.asarray(grid)):
                    for j, y in enumerate(np.asarray(grid)):
                        rows.append(_rows("surface", method, values, round=r, seed=seed, x=float(x),
                                          y=float(y), value=float(grid_losses[i, j])))
    return pd.DataFrame(rows).reindex(columns=MEASURE_COLUMNS)


def _pytree_loss(flat_loss):
    return lambda tree: flat_loss(ravel_pytree(tree)[0])


def cached_connectivity(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(B6's measurement table, the runs' summary table, the measurements' provenance), through the store;
    the networks are trained only when the measurements are missing."""
    run, measures = landscape_run(config), connectivity_measures(config)
    arrays, summary = _arrays_and_summary(run, fresh)

    def compute() -> pd.DataFrame:
        return measure_connectivity(measures, arrays(), lr.build_task(run))

    table, record = store.cached(measures, compute, fresh=fresh)
    return table, summary, record


def _arrays_and_summary(run: lr.LandscapeRun, fresh: bool):
    """(a function that returns the run's arrays, the run's summary table). ``fresh`` retrains the run
    once, here; otherwise the summary is loaded (the run trained only if it is not stored) and the
    arrays are read only when a measurement needs them."""
    if fresh:
        arrays, summary, _ = lr.cached_arrays(run, fresh=True)
        return (lambda: arrays), summary
    try:
        summary, _ = store.load(run, lr.SUMMARY_COLUMNS)
    except (FileNotFoundError, store.StaleResult):
        _, summary, _ = lr.cached_arrays(run)
    return (lambda: lr.cached_arrays(run)[0]), summary


# ----------------------------------------------------------------------------------------------
# B7: rank correlations
# ----------------------------------------------------------------------------------------------


def measure_correlations(measures: CorrelationMeasures,
                         arrays: Mapping[str, Mapping[str, np.ndarray]]) -> pd.DataFrame:
    """B7's tidy table (:data:`CORRELATION_COLUMNS`): per round and seed, Spearman's ρ between a kernel's
    value at ``base_round`` and at that round, over the kernels that survive to the last round: SNR of
    the SNR-pruned ES run (``quantity = "snr"``) and |θ| of the magnitude-pruned one (``"magnitude"``)."""
    rows = []
    for quantity, method, field in (("snr", ES_METHOD, "snr"), ("magnitude", IMP_METHOD, "params")):
        values = arrays[method]
        per_weight = np.abs(values[field])
        rho = landscape.survivor_rank_correlation(per_weight, values["masks"], values["prunable"],
                                                  measures.base_round, average_seeds=False)
        for s, seed in enumerate(values["seeds"]):
            survivors = int((values["masks"][-1, s] & values["prunable"]).sum())
            for r in range(rho.shape[0]):
                rows.append({"quantity": quantity, "method": method, "round": r,
                             "weights_remaining": float(values["weights_remaining"][r]), "seed": int(seed),
                             "survivors": survivors, "rho": float(rho[r, s])})
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)


def cached_correlations(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(B7's correlation table, the runs' summary table, the correlations' provenance), through the store."""
    run, measures = landscape_run(config), correlation_measures(config)
    arrays, summary = _arrays_and_summary(run, fresh)

    def compute() -> pd.DataFrame:
        return measure_correlations(measures, arrays())

    table, record = store.cached(measures, compute, fresh=fresh)
    return table, summary, record


def relative_advantage(summary: pd.DataFrame) -> pd.DataFrame:
    """Per round: weights remaining and (ES-SNR − ES-IMP) / |ES-SNR at round 0| of the seed-mean test
    scores (the paper's f7 first cell), with the per-seed values' standard error."""
    wide = summary.pivot_table(index=["round", "seed"], columns="method", values="test_score")
    mean = wide.groupby(level="round").mean()
    advantage = landscape.relative_snr_advantage(mean[ES_METHOD].to_numpy(), mean[IMP_METHOD].to_numpy())
    per_seed = (wide[ES_METHOD] - wide[IMP_METHOD]) / abs(mean[ES_METHOD].iloc[0])
    remaining = summary.groupby("round").weights_remaining.first()
    return pd.DataFrame({"round": mean.index, "weights_remaining": remaining.to_numpy(),
                         "advantage": advantage,
                         "standard_error": per_seed.groupby(level="round").sem().to_numpy()})


# ----------------------------------------------------------------------------------------------
# Claims
# ----------------------------------------------------------------------------------------------

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


def trained_rounds(summary: pd.DataFrame, threshold: float = TRAINED_ACCURACY) -> list[int]:
    """The rounds where both ES-SNR's and GD-IMP's seed-mean test accuracy reach ``threshold``."""
    means = summary[summary.method.isin([ES_METHOD, GD_METHOD])].pivot_table(
        index="round", columns="method", values="test_score", aggfunc="mean")
    if ES_METHOD not in means or GD_METHOD not in means:
        return []
    return [int(r) for r in means.index[(means[ES_METHOD] >= threshold) & (means[GD_METHOD] >= threshold)]]


def rounds_text(rounds: list[int], summary: pd.DataFrame) -> str:
    remaining = summary.groupby("round").weights_remaining.first()
    return f"rounds {rounds[0]}–{rounds[-1]}, {remaining[rounds[0]]:.3g}–{remaining[rounds[-1]]:.3g} % kept"


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


def stored_connectivity_claims(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """B6's claims table, stored under B6's config: ``fresh`` recomputes this table only; the
    measurements are read from the store (computed there if missing)."""
    from nevolab.studies.b.spec import SPECS_BY_NAME

    return store.stored_claims(SPECS_BY_NAME["b6_connectivity_flatness"], config,
                               lambda page: connectivity_claims(*cached_connectivity(page)[:2]), fresh)


def stored_correlation_claims(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """B7's claims table, stored under B7's config: ``fresh`` recomputes this table only; the
    correlations are read from the store (computed there if missing)."""
    from nevolab.studies.b.spec import SPECS_BY_NAME

    return store.stored_claims(SPECS_BY_NAME["b7_snr_correlation"], config,
                               lambda page: correlation_claims(cached_correlations(page)[0]), fresh)
