"""Study A's runs as tidy tables through the results store: a notebook's Config → its
:class:`~nevolab.studies.a.train.AERun` keys → cached tables of running-min loss curves."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
import pandas as pd

from nevolab import store
from nevolab.config import Config
from nevolab.runner import run_vmapped
from nevolab.studies.a.cases import ALGORITHMS, CASES
from nevolab.studies.a.hyperparameters import best_config
from nevolab.studies.a.train import (
    AERun,
    algorithm_quirks,
    make_train,
    recorded_generations,
    time_single_run,
)

CURVE_COLUMNS = ("case", "algorithm", "repeat", "generation", "evaluations", "min_loss", "best_loss",
                 "time_s", "run_time_s")
# The columns of a curves table that change along a run; the others name the run and its repeat.
PER_GENERATION_COLUMNS = ("generation", "evaluations", "min_loss", "best_loss", "time_s")


def best_hyperparameters(case: str, algorithm: str) -> dict[str, Any]:
    """The authors' best configuration of ``algorithm`` (e.g. ``"de_idct"``) on ``case``, shipped as
    package data (transcribed from the original repository's ``best_configurations/``)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; valid: {', '.join(ALGORITHMS)}")
    config = best_config(algorithm.removesuffix("_idct"), case, idct=algorithm.endswith("_idct"))
    return {key: value for key, value in config.items()
            if key not in ("raw", "source_file") and value is not None}


def ae_run(case: str, algorithm: str, config: Config, faithful: bool | None = None) -> AERun:
    """The run of ``algorithm`` on ``case`` with a notebook's scale parameters (``faithful`` defaults
    to the notebook's own setting; ``lstm_repeats`` repeats on the LSTM cases, as the paper)."""
    repeats = config.lstm_repeats if CASES[case].kind == "lstm" else config.repeats
    return AERun(case=case, algorithm=algorithm, hyperparameters=best_hyperparameters(case, algorithm),
                 repeats=repeats, generations=config.generations, seed=config.seed,
                 faithful=bool(config.values.get("faithful", False) if faithful is None else faithful),
                 per_layer_dct=config.values.get("dct", "global") == "per_layer",
                 fast_lstm=config.lstm_loss == "fast")


def run_configs(config: Config) -> list[AERun]:
    """Every run a Study A notebook's parameters lead to (a2 adds the faithful runs of its quirk cases)."""
    runs = [ae_run(case, algorithm, config) for case in config.cases for algorithm in config.algorithms]
    if "modes" in config.values:  # a3: backprop has no quirk, so both modes share its runs
        modes = config.modes
        runs = [run for run in runs if "corrected" in modes or run.algorithm == "backprop"]
        if "faithful" in modes:
            runs += [ae_run(case, algorithm, config, faithful=True) for case in config.cases
                     for algorithm in config.algorithms if algorithm != "backprop"]
    if "quirk_cases" in config.values:
        runs += [ae_run(case, algorithm, config, faithful=True) for case in config.quirk_cases
                 for algorithm in config.algorithms if algorithm != "backprop"]  # backprop has no quirk
    if "ablation_cases" in config.values:  # a2: one quirk at a time
        runs = unique_runs([*runs, *(run for case in config.ablation_cases
                                     for algorithm in config.ablation_algorithms
                                     for run in single_quirk_runs(case, algorithm, config))])
    return runs


def single_quirk_runs(case: str, algorithm: str, config: Config) -> list[AERun]:
    """The ablation of ``algorithm`` on ``case``: corrected, each of its quirks alone, then faithful
    (all quirks), with a notebook's scale parameters."""
    quirks = algorithm_quirks(algorithm)
    if not quirks:
        raise ValueError(f"{algorithm} has no quirks to ablate")
    corrected = ae_run(case, algorithm, config, faithful=False)
    singles = [dataclasses.replace(corrected, quirks=(quirk,)) for quirk in quirks]
    return unique_runs([corrected, *singles, ae_run(case, algorithm, config, faithful=True)])


def unique_runs(runs: Sequence[AERun]) -> list[AERun]:
    """``runs`` without repeated keys, first occurrences in order."""
    return list({run.hash(): run for run in reversed(runs)}.values())[::-1]


def run_case(run: AERun, measure_time: bool = True, progress: bool = False,
             chunk_length: int | None = None) -> pd.DataFrame:
    """All repeats of ``run`` as a tidy table of running-min loss curves.

    Columns: case, algorithm, repeat, generation (1-based), evaluations (cumulative network
    evaluations), min_loss (this generation's best loss on its batch), best_loss (running min), and
    time_s (elapsed wall time of one run at that generation); recorded on a geometric grid of
    generations. ``run_time_s`` is the measured wall time of one whole run (a compiled single run,
    median of three), spread evenly over its generations since every generation costs the same.
    """
    program = make_train(run)
    keys = jax.random.split(jax.random.key(run.seed), run.repeats)
    chunk_length = chunk_length or run.chunk_length
    _, metrics = run_vmapped(program, keys, run.generations, chunk_length=chunk_length,
                             checkpoint=store.checkpoint_path(run) if chunk_length else None,
                             progress=f"{run.case}/{run.algorithm}" if progress else None)
    run_time_s = time_single_run(program, run.generations, keys[0]) if measure_time else float("nan")
    index = recorded_generations(run.generations)
    evaluations = np.cumsum(metrics["num_evaluations"], axis=1)
    frames = [pd.DataFrame({
        "case": run.case,
        "algorithm": run.algorithm,
        "repeat": repeat,
        "generation": index + 1,
        "evaluations": evaluations[repeat, index],
        "min_loss": metrics["min_fitness"][repeat, index],
        "best_loss": metrics["best_fitness"][repeat, index],
        "time_s": (index + 1) / run.generations * run_time_s,
        "run_time_s": run_time_s,
    }) for repeat in range(run.repeats)]
    return pd.concat(frames, ignore_index=True)


def cached_run(run: AERun, fresh: bool = False, progress: bool = False) -> pd.DataFrame:
    """:func:`run_case`, cached under ``study_a_runs/`` so that every Study A figure reuses it."""
    table, _ = store.cached(run, lambda: run_case(run, progress=progress), fresh=fresh)
    return table


def curves(runs: Sequence[AERun], fresh: bool = False, progress: bool = False) -> pd.DataFrame:
    """The loss curves of ``runs``, one tidy table."""
    return pd.concat([cached_run(run, fresh, progress) for run in runs], ignore_index=True)


def final_losses(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (case, algorithm, repeat): the running-min loss at the last generation."""
    last = results.groupby(["case", "algorithm"]).generation.transform("max")
    return results[results.generation == last].reset_index(drop=True)


def final_losses_by_code(config: Config, fresh: bool = False) -> pd.DataFrame:
    """A2's table: final losses of the corrected runs and, on the quirk cases, of the faithful ones,
    with a ``code`` column (``corrected`` / ``faithful``)."""
    # Not the ablation's runs: corrected ones of the cases, faithful ones of the quirk cases.
    runs = [run for run in run_configs(config) if not run.quirks and run.algorithm in config.algorithms]
    corrected = final_losses(curves([run for run in runs if not run.faithful and run.case in config.cases],
                                    fresh))
    faithful_runs = [run for run in runs if run.faithful and run.case in config.quirk_cases]
    faithful = final_losses(curves(faithful_runs, fresh)) if faithful_runs else corrected.iloc[:0]
    return pd.concat([corrected.assign(code="corrected"), faithful.assign(code="faithful")],
                     ignore_index=True)


def equal_evaluation_budget(curves: pd.DataFrame, case: str) -> int:
    """The smallest total of network evaluations any run of ``case`` in ``curves`` spends.

    Every algorithm (and code, and repeat) in ``curves`` counts, so every run can be read at the
    budget; leave backprop out to compare the bio-inspired algorithms, since its evaluations are
    gradient steps, one per batch.
    """
    subset = curves[curves.case == case]
    if subset.empty:
        raise ValueError(f"no curves of case {case!r}")
    return int(_per_run(subset).evaluations.max().min())


def _per_run(curves: pd.DataFrame) -> pd.core.groupby.DataFrameGroupBy:
    """``curves`` grouped by run and repeat (every column that does not change along a run)."""
    run_columns = [column for column in curves.columns if column not in PER_GENERATION_COLUMNS]
    return curves.groupby(run_columns, dropna=False, sort=False)


def losses_at_evaluations(curves: pd.DataFrame, budget: int) -> pd.DataFrame:
    """One row per run and repeat, like :func:`final_losses`: the last recorded point with at most
    ``budget`` network evaluations (its ``evaluations`` column says how many were spent).

    Curves are recorded on a geometric grid of generations, so the point read is the last recorded
    generation within the budget, not the exact generation that exhausts it: the running-min loss is
    that of a slightly smaller budget, never of a larger one (conservative: at worst a loss is
    overstated, by the improvement between two recorded generations). Runs with no recorded point
    within the budget are left out.
    """
    within = curves[curves.evaluations <= budget]
    last = _per_run(within).evaluations.transform("max")
    return within[within.evaluations == last].reset_index(drop=True)
