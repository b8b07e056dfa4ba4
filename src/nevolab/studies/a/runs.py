"""Study A's runs as tidy tables through the results store: a notebook's Config → its
:class:`~nevolab.studies.a.train.AERun` keys → cached tables of running-min loss curves."""

from __future__ import annotations

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
from nevolab.studies.a.train import AERun, make_train, recorded_generations, time_single_run

CURVE_COLUMNS = ("case", "algorithm", "repeat", "generation", "evaluations", "min_loss", "best_loss",
                 "time_s", "run_time_s")


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
                 per_layer_dct=config.values.get("dct", "global") == "per_layer")


def run_configs(config: Config) -> list[AERun]:
    """Every run a Study A notebook's parameters lead to (a2 adds the faithful runs of its quirk cases)."""
    runs = [ae_run(case, algorithm, config) for case in config.cases for algorithm in config.algorithms]
    if "quirk_cases" in config.values:
        runs += [ae_run(case, algorithm, config, faithful=True) for case in config.quirk_cases
                 for algorithm in config.algorithms if algorithm != "backprop"]  # backprop has no quirk
    return runs


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
    table, _ = store.cached(run, lambda: run_case(run, progress=progress), fresh=fresh,
                            seeds={"master_seed": run.seed, "repeats": run.repeats, "data_seed": 1337})
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
    runs = run_configs(config)
    corrected = final_losses(curves([run for run in runs if not run.faithful], fresh))
    faithful_runs = [run for run in runs if run.faithful]
    faithful = final_losses(curves(faithful_runs, fresh)) if faithful_runs else corrected.iloc[:0]
    return pd.concat([corrected.assign(code="corrected"), faithful.assign(code="faithful")],
                     ignore_index=True)
