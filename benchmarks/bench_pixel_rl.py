"""Benchmarks of Study C's pixel RL (issue 17): does early termination save real compute under vmap?

* ``lowrank.rl.early_termination_efficiency``: the compacted chunked rollout
  (:meth:`~nevolab.tasks.pixel_rollout.PopulationRollout.compacted`) against the ideal saving.
  ``value`` = ideal time / measured time, where the ideal time is the plain vmapped rollout's time
  (every row stepped to the limit, i.e. the time without termination) scaled by alive-episode-steps
  / all steps. 1.0 means the compacted rollout costs exactly the alive steps; the target is >= 0.8.
  Setting: the racing task at 64x64 with a 4-frame stack, the paper's dense CNN (953,827
  parameters), 32 members x 2 episodes, 150-step limit, chunks of 25 steps, 16 buckets. The
  population is built so that about half the episodes end early: half the members park (their
  episodes end after 22 frames by the no-progress rule), half drive with different steering biases
  on a widened road, some leaving it (and ending) at various times, most reaching the limit.
  The plain and the compacted rollouts run in turn (``interleaved_seconds``); each round gives a
  ratio and the median over rounds is reported with its range.

* ``lowrank.rl.frames_speedup``: frames per second of the racing rollout with each member's weights
  shared across its episodes (``PopulationRollout(..., shared_weights=True)``) over today's rollout
  (a copy of the weights per episode row), timed interleaved in one run: ``value`` = the median of the
  per-round ratios oracle time / fast time; target >= 1.3. Same task, network and population as
  above, every episode stepped to the limit (the plain rollout: frames = episodes x steps, the
  network's cost isolated from compaction's). ``gflops`` / ``oracle_gflops``: XLA's FLOP count of
  each path's one-step program, times the steps, over its median time. The returns are checked
  equal to rtol 1e-5.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_pixel_rl.py``.
"""

from __future__ import annotations

import json
import statistics
import sys

import jax
import jax.numpy as jnp
import numpy as np

from nevolab.bench import interleaved_seconds, xla_flops
from nevolab.models import pixel_cnn
from nevolab.tasks.pixel_rollout import PopulationRollout
from nevolab.tasks.racing import Racing

MEMBERS, EPISODES, MAX_STEPS, CHUNK_STEPS, NUM_BUCKETS, REPEATS = 32, 2, 150, 25, 16, 5
HALF_WIDTH = 30.0  # a widened road: the biased drivers stay on it for various times
TARGET = 0.8
SPEEDUP_TARGET = 1.3


def mixed_population(key: jax.Array, members: int, config: pixel_cnn.PixelCNNConfig) -> dict:
    """Random CNNs whose output biases dominate: even members park, odd members drive, steering
    left (the track turns left) by amounts spread around the track's mean curvature."""
    def member(index, key):
        params = pixel_cnn.init_params(key, config)
        params["output"]["kernel"] = params["output"]["kernel"] * 0.05
        steer = -0.12 - 0.1 * (index // 2) / max(1, members // 2 - 1)
        gas = jnp.where(index % 2 == 0, -2.0, 1.5)
        params["output"]["bias"] = jnp.stack([steer, gas, jnp.float32(-2.0)])
        return params

    return jax.vmap(member)(jnp.arange(members), jax.random.split(key, members))


def early_termination_efficiency() -> dict:
    """Ideal / measured time of the compacted rollout over a half-early-ending population."""
    config = pixel_cnn.PAPER_CNN
    env = Racing(obs_size=config.input_shape[0], frame_stack=config.input_shape[2])
    env_params = env.default_params.replace(max_steps_in_episode=MAX_STEPS, half_width=HALF_WIDTH)
    rollout = PopulationRollout(env, env_params, lambda params, obs: pixel_cnn.apply(params, obs, config),
                                chunk_steps=CHUNK_STEPS, num_buckets=NUM_BUCKETS)
    params = mixed_population(jax.random.PRNGKey(0), MEMBERS, config)
    keys = jax.random.split(jax.random.PRNGKey(1), (MEMBERS, EPISODES))
    plain, compacted = rollout.plain(params, keys), rollout.compacted(params, keys)
    if not np.array_equal(plain.returns, compacted.returns):
        raise AssertionError("the compacted rollout's returns differ from the plain rollout's")
    timings = interleaved_seconds({"plain": (lambda: rollout.plain(params, keys).returns, ()),
                                   "compacted": (lambda: rollout.compacted(params, keys).returns, ())},
                                  repeats=REPEATS)
    alive_fraction = plain.alive_steps / plain.rows_stepped
    rounds = zip(timings["plain"]["times"], timings["compacted"]["times"])
    ratios = [alive_fraction * plain_s / compacted_s for plain_s, compacted_s in rounds]
    return {"value": statistics.median(ratios), "unit": "ideal_s / measured_s", "target": TARGET,
            "ratio_range": [min(ratios), max(ratios)], "alive_step_fraction": alive_fraction,
            "ended_early_fraction": float(plain.ended_early.mean()),
            "rows_stepped_fraction": compacted.rows_stepped / plain.rows_stepped,
            "plain_s": timings["plain"]["median"], "compacted_s": timings["compacted"]["median"],
            "plain_steps_per_s": plain.rows_stepped / timings["plain"]["median"],
            "episodes": MEMBERS * EPISODES, "max_steps": MAX_STEPS, "chunk_steps": CHUNK_STEPS,
            "num_buckets": NUM_BUCKETS, "num_params": pixel_cnn.param_count(config)}


def _racing_rollout(config: pixel_cnn.PixelCNNConfig, shared_weights: bool) -> PopulationRollout:
    env = Racing(obs_size=config.input_shape[0], frame_stack=config.input_shape[2])
    env_params = env.default_params.replace(max_steps_in_episode=MAX_STEPS, half_width=HALF_WIDTH)
    return PopulationRollout(env, env_params, lambda params, obs: pixel_cnn.apply(params, obs, config),
                             chunk_steps=CHUNK_STEPS, num_buckets=NUM_BUCKETS, shared_weights=shared_weights)


def _one_step(rollout: PopulationRollout):
    """One step of a rollout path (its gather and develop included) as a program of (params, batch)."""
    run = rollout._run_shared if rollout.shared_weights else rollout._run
    return lambda params, batch: run(params, batch, 1, EPISODES)


def frames_speedup() -> dict:
    """Racing rollout frames/s, weights shared across a member's episodes over a copy per row."""
    config = pixel_cnn.PAPER_CNN
    paths = {"oracle": _racing_rollout(config, False), "fast": _racing_rollout(config, True)}
    params = mixed_population(jax.random.PRNGKey(0), MEMBERS, config)
    keys = jax.random.split(jax.random.PRNGKey(1), (MEMBERS, EPISODES))
    batch = paths["oracle"]._init(keys)
    programs = {name: (lambda p, b, r=rollout: r._all(p, b, EPISODES), (params, batch))
                for name, rollout in paths.items()}
    returns = {name: np.asarray(fn(*args).ret) for name, (fn, args) in programs.items()}
    np.testing.assert_allclose(returns["fast"], returns["oracle"], rtol=1e-5, atol=1e-4)
    timings = interleaved_seconds(programs, repeats=REPEATS)
    rounds = zip(timings["oracle"]["times"], timings["fast"]["times"], strict=True)
    ratios = [oracle_s / fast_s for oracle_s, fast_s in rounds]
    # XLA counts a scan's body once: count one step's program and multiply by the steps
    steps = paths["oracle"].num_chunks * CHUNK_STEPS
    flops = {name: steps * xla_flops(_one_step(rollout), params, batch) for name, rollout in paths.items()}
    frames = MEMBERS * EPISODES * steps
    return {"value": statistics.median(ratios), "unit": "x", "target": SPEEDUP_TARGET,
            "ratio_range": [min(ratios), max(ratios)],
            "frames_per_s": frames / timings["fast"]["median"],
            "oracle_frames_per_s": frames / timings["oracle"]["median"],
            "gflops": flops["fast"] / timings["fast"]["median"] / 1e9,
            "oracle_gflops": flops["oracle"] / timings["oracle"]["median"] / 1e9,
            "mflop_per_frame": flops["fast"] / frames / 1e6,
            "episodes": MEMBERS * EPISODES, "members": MEMBERS, "max_steps": MAX_STEPS,
            "num_params": pixel_cnn.param_count(config)}


BENCHMARKS = {"lowrank.rl.early_termination_efficiency": early_termination_efficiency,
              "lowrank.rl.frames_speedup": frames_speedup}


if __name__ == "__main__":
    for name in sys.argv[1:] or list(BENCHMARKS):
        print(json.dumps({"name": name, **BENCHMARKS[name]()}))
