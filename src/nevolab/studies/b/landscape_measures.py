"""The landscape pages' measurements of the landscape runs' networks, each a cached unit in the results
store: :class:`ConnectivityMeasures` (``study_b_landscape_measures/``, B6's barriers, curvatures, 1-D
profiles and 2-D surfaces), :class:`OptimaMeasures` (``study_b_optima_measures/``, B6's comparison of the
ES and GD optima themselves: the barrier between them, their weight magnitudes and input-layer shares)
and :class:`CorrelationMeasures` (``study_b_snr_correlation/``, B7's rank correlations per round and
seed). The runs themselves are :mod:`nevolab.studies.b.landscape_runs`'."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.flatten_util import ravel_pytree

from nevolab import landscape, store
from nevolab.config import Config, RunConfig
from nevolab.studies.b import landscape_runs
from nevolab.studies.b.analysis import ES_GD_PAIR, ES_METHOD, GD_METHOD, IMP_METHOD

MEASURE_COLUMNS = ["measure", "method", "round", "weights_remaining", "seed", "other_seed", "direction",
                   "x", "y", "value"]
CORRELATION_COLUMNS = ["quantity", "method", "round", "weights_remaining", "seed", "survivors", "rho"]


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
class OptimaMeasures(RunConfig):
    """B6's comparison of ES-SNR's and GD-IMP's networks of one landscape run (``run_key``)."""

    KIND: ClassVar[str] = "study_b_optima_measures"
    VERSION: ClassVar[int] = 1
    run_key: str
    alphas: int


@dataclasses.dataclass(frozen=True)
class CorrelationMeasures(RunConfig):
    """B7's rank correlations of one landscape run (``run_key``), against round ``base_round``."""

    KIND: ClassVar[str] = "study_b_snr_correlation"
    VERSION: ClassVar[int] = 1
    run_key: str
    base_round: int = 0


def connectivity_measures(config: Config) -> ConnectivityMeasures:
    """B6's measurements of the landscape run of ``config``, with its grid settings."""
    return ConnectivityMeasures(run_key=landscape_runs.landscape_run(config).hash(),
                                alphas=int(config["alphas"]),
                                directions=int(config["directions"]), steps=int(config["steps"]),
                                span=float(config["span"]), surface_points=int(config["surface_points"]),
                                surface_span=float(config["surface_span"]))


def optima_measures(config: Config) -> OptimaMeasures:
    """B6's ES-against-GD measurements of the landscape run of ``config``."""
    return OptimaMeasures(run_key=landscape_runs.landscape_run(config).hash(), alphas=int(config["alphas"]))


def correlation_measures(config: Config) -> CorrelationMeasures:
    """B7's rank correlations of the landscape run of ``config``."""
    return CorrelationMeasures(run_key=landscape_runs.landscape_run(config).hash())


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
    test_loss, test_error = landscape_runs.flat_objectives(task)
    template = landscape_runs.template(task)
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
    barriers = landscape_runs.pair_barriers(test_error, np.stack([p[5] for p in pairs]),
                                            np.stack([p[6] for p in pairs]), alphas=alphas)
    for (measure, method, r, a, b, _, _), value in zip(pairs, barriers):
        seeds = arrays[method]["seeds"]
        rows.append(_rows(measure, method, arrays[method], round=r, seed=int(seeds[a]),
                          other_seed=None if b is None else int(seeds[b]), value=float(value)))

    # Curvatures: the methods stacked along the seed axis.
    stacked = np.concatenate([arrays[m]["params"] for m in methods], axis=1)
    stacked_masks = np.concatenate([arrays[m]["masks"] for m in methods], axis=1)
    curvatures = landscape_runs.round_sharpness(test_loss, template, stacked, stacked_masks, key, steps,
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
    run, measures = landscape_runs.landscape_run(config), connectivity_measures(config)
    arrays, summary = _arrays_and_summary(run, fresh)

    def compute() -> pd.DataFrame:
        return measure_connectivity(measures, arrays(), landscape_runs.build_task(run))

    table, record = store.cached(measures, compute, fresh=fresh)
    return table, summary, record


def _arrays_and_summary(run: landscape_runs.LandscapeRun, fresh: bool):
    """(a function that returns the run's arrays, the run's summary table). ``fresh`` retrains the run
    once, here; otherwise the summary is loaded (the run trained only if it is not stored) and the
    arrays are read only when a measurement needs them."""
    if fresh:
        arrays, summary, _ = landscape_runs.cached_arrays(run, fresh=True)
        return (lambda: arrays), summary
    try:
        summary, _ = store.load(run, landscape_runs.SUMMARY_COLUMNS)
    except (FileNotFoundError, store.StaleResult):
        _, summary, _ = landscape_runs.cached_arrays(run)
    return (lambda: landscape_runs.cached_arrays(run)[0]), summary


def input_layer_flat(template_params: Any) -> np.ndarray:
    """(P,) bool: the input layer's kernel in ``ravel_pytree`` order (the first ``kernel`` leaf: the
    layer that reads the image)."""
    leaves = jax.tree_util.tree_flatten_with_path(template_params)[0]
    first = next(i for i, (path, _) in enumerate(leaves) if jax.tree_util.keystr(path).endswith("['kernel']"))
    flags = [np.full(np.shape(leaf), i == first) for i, (_, leaf) in enumerate(leaves)]
    return np.concatenate([flag.ravel() for flag in flags])


def measure_optima(measures: OptimaMeasures, arrays: Mapping[str, Mapping[str, np.ndarray]],
                   task: Any) -> pd.DataFrame:
    """B6's tidy table (:data:`MEASURE_COLUMNS`) comparing ES-SNR's and GD-IMP's optima, per round and seed:

    * ``barrier_methods`` (method :data:`ES_GD_PAIR`): the error barrier between ES-SNR's and GD-IMP's
      network of the same seed and round (the paper's "optima found by GD and ES");
    * ``weight_magnitude``: the mean |θ| over the kept prunable weights, per method;
    * ``input_kept``: the share (%) of the input layer's kernels the round's mask keeps, per method.
    """
    _, test_error = landscape_runs.flat_objectives(task)
    es, gd = arrays[ES_METHOD], arrays[GD_METHOD]
    rounds, num_seeds, size = es["params"].shape
    barriers = landscape_runs.pair_barriers(test_error, es["params"].reshape(-1, size),
                                            gd["params"].reshape(-1, size),
                                            alphas=landscape.default_alphas(measures.alphas)).reshape(rounds,
                                                                                                       num_seeds)
    first_layer = input_layer_flat(landscape_runs.template(task))
    rows: list[dict[str, Any]] = []
    for r in range(rounds):
        for s, seed in enumerate(es["seeds"]):
            rows.append(_rows("barrier_methods", ES_GD_PAIR, es, round=r, seed=int(seed),
                              value=float(barriers[r, s])))
    for method in (ES_METHOD, GD_METHOD):
        values = arrays[method]
        kernels = values["prunable"]
        for r in range(rounds):
            for s, seed in enumerate(values["seeds"]):
                kept = values["masks"][r, s] & kernels
                magnitude = float(np.abs(values["params"][r, s][kept]).mean()) if kept.any() else np.nan
                share = 100.0 * float(kept[first_layer].sum()) / float((kernels & first_layer).sum())
                rows.append(_rows("weight_magnitude", method, values, round=r, seed=int(seed),
                                  value=magnitude))
                rows.append(_rows("input_kept", method, values, round=r, seed=int(seed), value=share))
    return pd.DataFrame(rows).reindex(columns=MEASURE_COLUMNS)


def cached_optima(config: Config, fresh: bool = False) -> tuple[pd.DataFrame, dict]:
    """(B6's ES-against-GD measurement table, its provenance), through the store; read from the landscape
    run's stored networks (trained only when they are missing)."""
    run, measures = landscape_runs.landscape_run(config), optima_measures(config)
    arrays, _ = _arrays_and_summary(run, fresh)
    return store.cached(measures, lambda: measure_optima(measures, arrays(), landscape_runs.build_task(run)),
                        fresh=fresh)


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
    run, measures = landscape_runs.landscape_run(config), correlation_measures(config)
    arrays, summary = _arrays_and_summary(run, fresh)

    def compute() -> pd.DataFrame:
        return measure_correlations(measures, arrays())

    table, record = store.cached(measures, compute, fresh=fresh)
    return table, summary, record
