"""Study C's runs as tidy tables, cached in the results store under ``data/results/study_c_runs/``.

A notebook's :class:`~nevolab.config.Config` becomes one frozen run config per cached unit
(:func:`lm_run` per variant, :func:`adam_run` for the Adam reference; :func:`run_configs` lists them
all); each is computed once and shared by the three Study C notebooks.

* :func:`cached_evolve` -- a variant's Deep GA runs: ``(curves, children)``;
* :func:`cached_adam` -- the Adam reference;
* :func:`runs_for_config` -- every variant of a notebook's configuration.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nevolab import store
from nevolab.config import RunConfig
from nevolab.studies.c.lm import AdamRun, LMRun, evolve, train_adam
from nevolab.studies.c.spec import seed_list
from nevolab.studies.c.variants import variant_ranks

__all__ = [
    "CHECKPOINT_CHUNKS",
    "adam_run",
    "adam_steps_for_budget",
    "adam_table",
    "cached_adam",
    "cached_evolve",
    "default_effect_generations",
    "lm_run",
    "run_configs",
    "run_tables",
    "runs_for_config",
]

CHECKPOINT_CHUNKS = 10
"""A Deep GA run is checkpointed after every tenth of its generations (a kill loses at most that)."""

CHILDREN_COLUMNS = ["variant", "seed", "generation", "child", "parent_neg_ce", "child_neg_ce",
                    "delta_fitness", "deleterious"]


def lm_run(variant: str, config: Any) -> LMRun:
    """The Deep GA runs of ``variant`` that a Study C notebook's ``config`` asks for (seeds 0, 1, ...)."""
    ranks = variant_ranks(variant, config.rank, config.embedding_rank)
    return LMRun(kind="curves", variant=variant, population_size=config.population, num_elites=config.elites,
                 num_generations=config.generations, num_sequences=config.num_sequences,
                 sequence_length=config.sequence_length, tokenizer=config.tokenizer,
                 seeds=seed_list(config.seeds), data_seed=0, mutation_rate=config.mutation_rate,
                 model_overrides={"num_blocks": config.num_blocks}, ranks=ranks,
                 num_heldout=config.heldout_sequences, heldout_every=config.heldout_every)


def adam_steps_for_budget(population_size: int, num_generations: int) -> int:
    """Adam steps on the same token budget as a GA run: the GA predicts ``population x windows`` tokens
    per generation, an Adam step costs about three forward passes over the windows."""
    return max(1, round(population_size * num_generations / 3))


def adam_run(config: Any) -> AdamRun:
    """The Adam reference of C1's ``config``: the dense model on the GA's windows and token budget."""
    steps = adam_steps_for_budget(config.population, config.generations)
    return AdamRun(kind="adam", num_steps=steps, learning_rate=config.adam_learning_rate,
                   num_sequences=config.num_sequences, sequence_length=config.sequence_length,
                   tokenizer=config.tokenizer, seeds=seed_list(config.seeds), data_seed=0,
                   eval_every=max(1, steps // 100), model_overrides={"num_blocks": config.num_blocks},
                   num_heldout=config.heldout_sequences)


def run_configs(config: Any) -> list[RunConfig]:
    """Every run key a Study C notebook's ``config`` leads to (curves and children per variant, and
    the Adam reference where the notebook has one)."""
    if config.notebook in ("c4_pixel_rl_scores", "c5_selection_stages"):
        from nevolab.studies.c.pixel import pixel_runs  # model code stays out of the LM pages' imports

        return pixel_runs(config)
    if config.notebook == "c6_real_carracing":
        from nevolab.studies.c.real import real_runs  # the real CarRacing-v3's runs (C6's own)

        return real_runs(config)
    keys: list[RunConfig] = []
    for variant in config.variants:
        run = lm_run(variant, config)
        keys += [run, dataclasses.replace(run, kind="children")]
    if "adam_learning_rate" in config.values:
        keys.append(adam_run(config))
    return keys


def default_effect_generations(num_generations: int) -> list[int]:
    """Generations whose children are kept one by one: the first with parents (1), every tenth of
    the run and the last."""
    points = {1, num_generations - 1, *(round(num_generations * i / 10) for i in range(1, 10))}
    return sorted(g for g in points if 1 <= g < num_generations)


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    count = mask.sum(-1)
    total = np.where(mask, values, 0.0).sum(-1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _effect_summaries(effect: np.ndarray) -> dict[str, np.ndarray]:
    """Per (seed, generation) summaries of the children's loss changes ``effect`` (NaN: not a child).

    In float64 on the host from the per-child records, as the committed tables were made; the
    Deep GA's own ``deleterious_fraction`` metric is float32 and leaves out children whose loss is
    not finite.
    """
    mutated = ~np.isnan(effect)
    harmful = mutated & (effect > 0)
    finite = mutated & np.isfinite(effect)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(mutated.any(-1), harmful.sum(-1) / np.maximum(mutated.sum(-1), 1), np.nan)
        # median over the finite effects: sort them first (non-finite last), pick the middle one(s)
        counts = finite.sum(-1)
        ordered = np.sort(np.where(finite, effect, np.inf), axis=-1)
        lower = np.take_along_axis(ordered, np.maximum((counts - 1) // 2, 0)[..., None], -1)[..., 0]
        upper = np.take_along_axis(ordered, np.maximum(counts // 2, 0)[..., None], -1)[..., 0]
        return {
            "deleterious_fraction": fraction,
            "mean_delta_fitness": -_masked_mean(effect, finite),
            "median_delta_fitness": np.where(counts > 0, -(lower + upper) / 2, np.nan),
            "deleterious_magnitude": _masked_mean(effect, harmful & finite),
        }


def _curves(run: LMRun, metrics: dict[str, np.ndarray], num_genes: int, num_params: int) -> pd.DataFrame:
    """One row per (seed, generation); see :func:`cached_evolve`."""
    summaries = _effect_summaries(metrics["child_effect"].astype(np.float64))
    generations = np.arange(run.num_generations)
    tokens_per_generation = run.population_size * run.num_sequences * run.sequence_length
    return pd.DataFrame({
        "variant": run.variant,
        "seed": np.repeat(np.asarray(run.seeds, int), run.num_generations),
        "generation": np.tile(generations, len(run.seeds)),
        "best_neg_ce": -metrics["min_fitness"].ravel().astype(float),
        "mean_neg_ce": -metrics["mean_fitness"].ravel().astype(float),
        "best_so_far_neg_ce": -metrics["best_fitness"].ravel().astype(float),
        "heldout_neg_ce": -metrics["heldout_loss"].ravel().astype(float),
        **{name: values.ravel() for name, values in summaries.items()},
        "mean_mutation_effect": metrics["mean_mutation_effect"].ravel().astype(float),
        "best_seed_length": metrics["best_seed_length"].ravel().astype(int),
        "tokens_evaluated": np.tile((generations + 1) * tokens_per_generation, len(run.seeds)),
        "num_genes": num_genes,
        "num_params": num_params,
    })


def _children(run: LMRun, metrics: dict[str, np.ndarray], generations: Sequence[int]) -> pd.DataFrame:
    """One row per mutated child of ``generations``; see :func:`cached_evolve`."""
    effect = metrics["child_effect"].astype(np.float64)
    frames = []
    for i, seed in enumerate(run.seeds):
        for g in generations:
            if not 0 <= g < run.num_generations:
                raise ValueError(f"effect_generations must lie in [0, {run.num_generations - 1}]; got {g}")
            rows = np.flatnonzero(~np.isnan(effect[i, g]))
            child = metrics["child_loss"][i, g, rows].astype(float)
            parent = child - effect[i, g, rows]
            frames.append(pd.DataFrame({
                "variant": run.variant, "seed": int(seed), "generation": int(g), "child": rows,
                "parent_neg_ce": -parent, "child_neg_ce": -child, "delta_fitness": parent - child,
                "deleterious": effect[i, g, rows] > 0,
            }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CHILDREN_COLUMNS)


def run_tables(run: LMRun, effect_generations: Sequence[int] | None = None, checkpoint: bool = False
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evolve ``run`` (every seed vmapped); ``(curves, children)``, uncached.

    ``checkpoint``: save after every :data:`CHECKPOINT_CHUNKS`-th of the run and resume a killed run
    (the numbers then differ in the last float32 digits from the committed ones; see
    :func:`nevolab.studies.c.lm.evolve`).
    """
    chunk_length = math.ceil(run.num_generations / CHECKPOINT_CHUNKS) if checkpoint else None
    train, metrics = evolve(run, store.checkpoint_path(run) if checkpoint else None, chunk_length)
    chosen = effect_generations
    if chosen is None:
        chosen = default_effect_generations(run.num_generations)
    return _curves(run, metrics, train.num_genes, train.num_params), _children(run, metrics, chosen)


def cached_evolve(run: LMRun, fresh: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A variant's Deep GA runs through the store: ``(curves, children)``.

    ``curves`` has one row per (seed, generation): ``best_neg_ce`` (the generation's best individual,
    the paper's curve), ``mean_neg_ce``, ``best_so_far_neg_ce``, ``heldout_neg_ce`` (the best
    individual on the held-out windows, every ``heldout_every`` generations and the last; NaN
    between); the mutation effects of the children
    evaluated in that generation against their parents -- ``deleterious_fraction`` (share whose loss
    rose), ``mean_delta_fitness`` and ``median_delta_fitness`` (child minus parent negative
    cross-entropy: negative = deleterious), ``deleterious_magnitude`` (mean loss increase, nats, of
    the deleterious ones), ``mean_mutation_effect`` (the GA's own metric: mean loss change); all NaN
    at generation 0, which has no parents -- and ``best_seed_length`` (keys in the seed list of the
    generation's best individual: its compact genome is 8 bytes per key), ``tokens_evaluated``
    (cumulative token predictions), ``num_genes`` and ``num_params``.

    ``children`` has one row per mutated child of :func:`default_effect_generations`:
    ``parent_neg_ce``, ``child_neg_ce``, ``delta_fitness`` (child minus parent) and ``deleterious``
    (``delta_fitness < 0``).
    """
    keys = [dataclasses.replace(run, kind="curves"), dataclasses.replace(run, kind="children")]
    (curves, _), (children, _) = store.cached_many(
        keys, lambda: run_tables(keys[0]), fresh=fresh)
    return curves, children


def adam_table(run: AdamRun) -> pd.DataFrame:
    """The Adam reference, uncached: one row per evaluated step and seed, ``step, neg_ce,
    heldout_neg_ce, tokens_evaluated`` (a forward + backward pass counted as three forward passes),
    ``seed, variant``."""
    losses, finals, heldout_losses, heldout_finals = train_adam(run)
    steps = np.unique(np.r_[np.arange(0, run.num_steps + 1, run.eval_every), run.num_steps])
    tokens_per_step = 3 * run.num_sequences * run.sequence_length
    frames = []
    for i, seed in enumerate(run.seeds):
        before = np.append(losses[i], float(finals[i]))  # loss before step t, t = 0..num_steps
        heldout = np.append(heldout_losses[i], float(heldout_finals[i]))
        frames.append(pd.DataFrame({"step": steps, "neg_ce": -before[steps],
                                    "heldout_neg_ce": -heldout[steps],
                                    "tokens_evaluated": steps * tokens_per_step, "seed": int(seed),
                                    "variant": "dense"}))
    return pd.concat(frames, ignore_index=True)


def cached_adam(run: AdamRun, fresh: bool = False) -> pd.DataFrame:
    """:func:`adam_table` through the store."""
    table, _ = store.cached(run, lambda: adam_table(run), fresh=fresh)
    return table


def runs_for_config(config: Any, fresh: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every variant's cached runs for a Study C notebook's ``config``: ``(curves, children)`` of all."""
    tables = [cached_evolve(lm_run(variant, config), fresh=fresh) for variant in config.variants]
    return (pd.concat([curves for curves, _ in tables], ignore_index=True),
            pd.concat([children for _, children in tables], ignore_index=True))
