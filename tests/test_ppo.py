"""Tests for PPO with iterative magnitude pruning (nevolab.baselines.ppo), Study B's gradient baseline.

Compilation dominates (a PPO round is one large XLA program: about 10-15 s each on the 2-core
CPU), so the tests compile only two PPO programs: the vmapped round on CartPole (discrete actions),
shared by every round-level test, and the single-seed training function on a tiny Pendulum
(continuous actions, a learned log-std). A cold run takes about 55 s on a loaded 2-core CPU, a run
with JAX's persistent compilation cache about 20 s.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from jax.flatten_util import ravel_pytree

import nevolab.baselines.ppo as ppo
from nevolab import xla
from nevolab.baselines.ppo import PPOConfig, make_ppo_round, make_ppo_train, run_ppo_imp
from nevolab.pruning.masks import kept_counts, prunable_flat
from nevolab.pruning.rounds import ImpPlan
from nevolab.tasks.control import make_control_task

SEEDS = (0, 1)
# 48 updates of 16 envs x 64 steps (49,152 steps): CartPole test returns go from 10-30 to 200+.
CARTPOLE_CONFIG = PPOConfig(total_timesteps=50_000, num_envs=16, num_steps=64, num_minibatches=4)
# 6 updates of 4 envs x 8 steps on 10-step episodes: only the invariants, not learning.
TINY_CONFIG = PPOConfig(total_timesteps=192, num_envs=4, num_steps=8, num_minibatches=2, update_epochs=2)


@pytest.fixture(scope="module")
def cartpole():
    return make_control_task("CartPole-v1", hidden_sizes=(16, 16), test_rollouts=8)


@pytest.fixture(scope="module")
def two_rounds(cartpole):
    """Rounds 0 and 1 of GD-IMP called directly, with the keys run_ppo_imp uses."""
    task = cartpole
    template = task.init_params(jax.random.PRNGKey(0))
    prunable = prunable_flat(template)
    kept = kept_counts(int(prunable.sum()), 0.2, 3)
    seed_keys = [jax.random.PRNGKey(s) for s in SEEDS]
    original = jnp.stack([ravel_pytree(task.init_params(k))[0] for k in seed_keys])
    critic_keys = jnp.stack([jax.random.fold_in(k, 0) for k in seed_keys])
    round_fn = make_ppo_round(task, CARTPOLE_CONFIG)
    outputs, masks, starts = [], jnp.ones(original.shape, bool), original
    for r in range(2):
        keys = jnp.stack([jax.random.fold_in(k, r + 1) for k in seed_keys])
        out = round_fn(keys, masks, starts, original, kept[r + 1], critic_keys)
        outputs.append({"mask": np.asarray(masks), "start": np.asarray(starts),
                        **dict(zip(("score", "actor", "next_mask", "next_start", "curve"),
                                   (np.asarray(x) for x in out)))})
        masks, starts = out[2], out[3]
    # The initial policies on round 0's test episodes (the round's test key is split(key, 3)[1]).
    test_score = jax.jit(task.test_score, compiler_options=xla.compiler_options("ppo"))
    init_score = [test_score(task.init_params(k), jax.random.split(jax.random.fold_in(k, 1), 3)[1])
                  for k in seed_keys]
    return {"rounds": outputs, "prunable": prunable, "kept": kept, "original": np.asarray(original),
            "init_score": np.asarray(init_score)}


def test_ppo_learns_cartpole(two_rounds):
    """The trained dense policy clearly beats its own initialisation (same test episodes)."""
    dense = two_rounds["rounds"][0]
    init = two_rounds["init_score"]
    assert np.all(init < 60.0)  # untrained tanh MLPs balance for a few dozen steps at most
    assert np.all(dense["score"] > init + 50.0), (init, dense["score"])
    curve = dense["curve"]
    assert curve.shape == (len(SEEDS), CARTPOLE_CONFIG.num_updates)
    assert np.all(curve[:, -1] > curve[:, 0])  # training returns rise too


def test_round_prunes_actor_kernels_and_rewinds(two_rounds):
    prunable, kept, original = two_rounds["prunable"], two_rounds["kept"], two_rounds["original"]
    for r, out in enumerate(two_rounds["rounds"]):
        mask, actor, next_mask, next_start = out["mask"], out["actor"], out["next_mask"], out["next_start"]
        assert actor.shape == original.shape  # the flat actor only: the critic is not in the mask
        assert np.all(actor[~mask] == 0.0)  # masked weights stay exactly zero through training
        # surviving kernels train (all but those feeding a hidden unit whose outputs were all pruned)
        assert np.mean(actor[mask & prunable] != original[mask & prunable]) > 0.9
        for s in range(len(SEEDS)):
            assert next_mask[s][prunable].sum() == kept[r + 1]  # round(N 0.8^(r+1)) kernels
            assert np.all(next_mask[s][~prunable])  # biases are never pruned
            assert np.all(next_mask[s] <= mask[s])  # survivors come from the trained ticket
            # global magnitude: every kept kernel is at least as large as every pruned candidate
            kept_values = np.abs(actor[s][next_mask[s] & prunable])
            dropped = np.abs(actor[s][~next_mask[s] & mask[s] & prunable])
            assert kept_values.min() >= dropped.max()
            # rewind: survivors get their initial values, pruned positions 0
            np.testing.assert_array_equal(next_start[s][next_mask[s]], original[s][next_mask[s]])
            assert np.all(next_start[s][~next_mask[s]] == 0.0)
    second = two_rounds["rounds"][1]
    np.testing.assert_array_equal(second["mask"], two_rounds["rounds"][0]["next_mask"])
    assert np.all(np.isfinite(second["score"]))


def test_run_ppo_imp_table_is_deterministic_and_matches_the_rounds(cartpole, two_rounds):
    plan = ImpPlan(SEEDS, 2, 0.2, int(two_rounds["prunable"].sum()))
    frame = run_ppo_imp(cartpole, CARTPOLE_CONFIG, plan)
    again = run_ppo_imp(cartpole, CARTPOLE_CONFIG, plan)
    pd.testing.assert_frame_equal(frame, again)
    columns = ["task", "method", "strategy", "criterion", "label", "seed", "round", "weights_remaining",
               "weights_remaining_nominal", "num_genes", "test_performance", "final_mean_train_loss",
               "final_train_return"]
    assert list(frame.columns[: len(columns)]) == columns
    assert {f.name for f in dataclasses.fields(PPOConfig)} | {"env_steps"} <= set(frame.columns)
    assert set(frame["method"]) == {"GD"} and set(frame["strategy"]) == {"PPO"}
    assert set(frame["label"]) == {"GD-IMP"} and set(frame["criterion"]) == {"magnitude"}
    assert frame["seed"].tolist() == [0, 1, 0, 1] and frame["round"].tolist() == [0, 0, 1, 1]
    np.testing.assert_allclose(frame["weights_remaining"], [100, 100, 80, 80], atol=0.2)
    np.testing.assert_allclose(frame["final_mean_train_loss"], -frame["final_train_return"])
    assert set(frame["env_steps"]) == {CARTPOLE_CONFIG.env_steps}
    # Same keys as the direct calls: the same numbers.
    direct = np.concatenate([out["score"] for out in two_rounds["rounds"]])
    np.testing.assert_array_equal(frame["test_performance"].to_numpy(), direct)


def test_critic_and_log_std_are_dense_and_trained():
    """On a continuous task with a sparse actor mask: only the actor is masked."""
    task = make_control_task("Pendulum-v1", hidden_sizes=(4,), episode_length=10, test_rollouts=2)
    template = task.init_params(jax.random.PRNGKey(0))
    original = ravel_pytree(template)[0]
    prunable = prunable_flat(template)
    mask = jax.random.bernoulli(jax.random.PRNGKey(1), 0.5, original.shape) | ~prunable
    critic_init = ppo.init_critic(task, jax.random.PRNGKey(3))
    train = jax.jit(make_ppo_train(task, TINY_CONFIG), compiler_options=xla.compiler_options("ppo"))
    out = train(jax.random.PRNGKey(2), critic_init, mask, original)
    actor, mask = np.asarray(out.params["actor"]), np.asarray(mask)
    assert np.all(actor[~mask] == 0.0)
    # Most unmasked weights move (not those feeding a hidden unit whose outputs are all masked).
    assert np.mean(actor[mask] != np.asarray(original)[mask]) > 0.5
    assert set(out.params["critic"]["params"]) == {"Dense_0", "Dense_1"}  # hidden (4,) + value head
    initial_critic = ppo.critic_unravel(task)(critic_init)
    for trained, initial in zip(jax.tree_util.tree_leaves(out.params["critic"]),
                                jax.tree_util.tree_leaves(initial_critic)):
        trained = np.asarray(trained)
        assert np.all(trained != np.asarray(initial)), "every critic parameter trains"
    assert out.params["log_std"].shape == (1,) and float(out.params["log_std"][0]) != 0.0
    assert out.return_curve.shape == (TINY_CONFIG.num_updates,)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_minibatches": 7}, "num_minibatches must divide num_envs \\* num_steps = 2048"),
        ({"total_timesteps": 1000}, "total_timesteps must give at least one update"),
        ({"num_envs": 0}, "num_envs must be an integer >= 1"),
        ({"gamma": 1.5}, "gamma must be in"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"normalize_rewards": "yes"}, "normalize_rewards must be a bool"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PPOConfig(**kwargs)


def test_ppo_imp_needs_a_control_task_object():
    with pytest.raises(ValueError, match="PPO needs a ControlTask"):
        make_ppo_train("pendulum", TINY_CONFIG)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="PPO needs a ControlTask"):
        run_ppo_imp("pendulum", TINY_CONFIG, ImpPlan((0,), 1, 0.2, 16))  # type: ignore[arg-type]
    task = make_control_task("Pendulum-v1", hidden_sizes=(4,), episode_length=10)
    with pytest.raises(ValueError, match="config must be a PPOConfig"):
        run_ppo_imp(task, {"total_timesteps": 192}, ImpPlan((0,), 1, 0.2, 16))  # type: ignore[arg-type]
