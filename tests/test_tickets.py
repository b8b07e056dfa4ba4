"""Tests for Study B's runs: tasks, tuned strategies, the ES run table and Adam-IMP (nevolab.studies.b,
nevolab.baselines.adam)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from nevolab.baselines.adam import AdamConfig, make_adam_round, run_adam_imp
from nevolab.datasets import ImageDataset, load_dataset
from nevolab.pruning.es import plan_for, run_es_imp
from nevolab.pruning.masks import prunable_flat
from nevolab.pruning.rounds import ImpPlan
from nevolab.pruning.strategies import HPARAM_SOURCES, STRATEGIES, TUNED_HPARAMS, es_config_for
from nevolab.studies.b.analysis import mean_sem
from nevolab.studies.b.runs import ESRun, es_table
from nevolab.studies.b.tasks import PAPER_SEEDS, make_task, pruning_problem, task_family
from nevolab.tasks.control import make_control_task
from nevolab.tasks.vision import make_vision_task

TINY_PENDULUM = {"hidden_sizes": (4,), "episode_length": 10, "num_rollouts": 2, "test_rollouts": 2}


@pytest.fixture(scope="module")
def small_digits_task():
    full = load_dataset("digits")
    subset = ImageDataset("digits-256", full.x_train[:256], full.y_train[:256], full.x_test[:100],
                          full.y_test[:100], 10, "first 256/100 of sklearn digits")
    return make_vision_task(subset, batch_size=64)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"task": "pong"}, "unknown task 'pong'"),
        ({"strategy": "OpenES"}, r"unknown strategy 'OpenES'.*Sep_CMA_ES, SNES, PGPE, DES"),
        ({"criteria": ("grasp",)}, "unknown criterion 'grasp'"),
        ({"rounds": 0}, "rounds must be"),
        ({"prune_fraction": 0.0}, "prune_fraction must be in"),
    ],
)
def test_bad_run_raises_before_compute(changes, message):
    run = ESRun(kind="es", task="pendulum", strategy="SNES", criteria=("snr",), rounds=1, prune_fraction=0.2,
                seeds=(1,), generations=3, population=8, task_kwargs=TINY_PENDULUM)
    with pytest.raises(ValueError, match=message):
        es_table(dataclasses.replace(run, **changes))


def test_tuned_hyperparameters_are_the_originals():
    for strategy in STRATEGIES:
        for family in ("gymnax", "vision"):
            assert (strategy, family) in TUNED_HPARAMS and (strategy, family) in HPARAM_SOURCES
    config = es_config_for("Sep_CMA_ES", "vision", 128, 4000)
    assert (config.std_init, config.elite_ratio, config.mean_decay) == (0.025, 0.5, 1e-4)
    snes = es_config_for("SNES", "gymnax", 100, 2000)
    assert (snes.std_init, snes.temperature) == (0.1, 16.0)
    pgpe = es_config_for("PGPE", "vision", 128, 10, std_init=0.3)  # overrides win
    assert (pgpe.learning_rate, pgpe.lr_decay, pgpe.std_limit, pgpe.std_init) == (0.01, 0.999, 0.01, 0.3)
    assert task_family("pendulum") == task_family("CartPole-v1") == "gymnax"
    assert task_family("kmnist") == "vision"
    assert len(PAPER_SEEDS) == 5


def test_es_run_on_pendulum_gives_a_tidy_table():
    # One round keeps this test to one compiled program; test_pruning covers the multi-round loop.
    task = make_task("pendulum", **TINY_PENDULUM)
    problem = pruning_problem(task)
    plan = plan_for(problem, (1, 2), 1, 0.2)
    result = run_es_imp(problem, es_config_for("SNES", "gymnax", 8, 3), ["snr"], plan)["snr"]
    frame = result.to_frame()
    assert len(frame) == 2 and list(frame["seed"]) == [1, 2] and list(frame["round"]) == [0, 0]
    assert frame["weights_remaining"].tolist() == [100.0, 100.0] and frame["num_genes"].tolist() == [21, 21]
    # Pendulum rewards lie in [-16.27, 0] per step; 10 steps
    assert frame["test_performance"].between(-163.0, 0.0).all()
    np.testing.assert_array_equal(result.test_score.ravel(), frame["test_performance"].to_numpy())
    # the ticket for the next round: 16 kernels -> 13, biases (5) kept
    assert result.masks.shape == (1, 2, 21)
    np.testing.assert_array_equal(result.next_mask.sum(axis=1), [18, 18])
    table = mean_sem(frame, "test_performance", ["round"])
    assert list(table["count"]) == [2]
    np.testing.assert_allclose(table["sem"], table["std"] / np.sqrt(2))


def test_gd_imp_table_and_round_invariants(small_digits_task):
    task = small_digits_task
    config = AdamConfig(learning_rate=1e-2, batch_size=32, epochs=2)
    num_prunable = int(prunable_flat(task.init_params(jax.random.PRNGKey(0))).sum())
    frame = run_adam_imp(task, config, ImpPlan((3, 4), 2, 0.2, num_prunable))
    assert len(frame) == 4 and set(frame["method"]) == {"GD"}
    np.testing.assert_allclose(frame["weights_remaining"], [100, 100, 80, 80])
    assert frame["test_performance"].between(0.0, 1.0).all()
    assert frame.loc[frame["round"] == 0, "test_performance"].mean() > 0.3  # well above chance (0.1)
    with pytest.raises(ValueError, match="VisionTask"):
        run_adam_imp(make_control_task("Pendulum-v1", hidden_sizes=(4,)), config, ImpPlan((3,), 1, 0.2, 16))

    # The same compiled round (cached), on a random ticket: masked gradients, global magnitude pruning.
    round_fn = make_adam_round(task, config)
    prunable = prunable_flat(task.init_params(jax.random.PRNGKey(0)))
    original = jnp.stack([ravel_pytree(task.init_params(jax.random.PRNGKey(s)))[0] for s in (3, 4)])
    mask = jax.random.bernoulli(jax.random.PRNGKey(1), 0.5, original.shape) | ~prunable
    keys = jnp.stack([jax.random.PRNGKey(2), jax.random.PRNGKey(5)])
    _, losses, params, next_mask, next_start = round_fn(keys, mask, original, original, jnp.int32(1000))
    params, mask, next_mask, original = (np.asarray(x) for x in (params, mask, next_mask, original))
    assert np.all(params[~mask] == 0.0)  # pruned weights never move
    assert np.any(params[mask] != original[mask])
    assert np.all(np.asarray(losses)[:, -1] < np.asarray(losses)[:, 0])  # Adam learns
    for s in range(2):
        assert next_mask[s][prunable].sum() == 1000 and np.all(next_mask[s][~prunable])
        assert np.all(next_mask[s] <= mask[s])  # survivors come from the trained ticket
        kept = np.abs(params[s][prunable & next_mask[s]])
        dropped = np.abs(params[s][prunable & mask[s] & ~next_mask[s]])
        assert kept.min() >= dropped.max()  # one global magnitude threshold
        np.testing.assert_array_equal(np.asarray(next_start)[s], np.where(next_mask[s], original[s], 0.0))
