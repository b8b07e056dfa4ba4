"""Benchmark of the fast population rollout of Study B's Pendulum policy against the vmapped one.

* ``tickets.pendulum.policy_speedup``: the bare rollout of ``tickets.pendulum.rollout_steps_per_s``
  (population 256, 8 episodes each of the task's episode length, the paper's 2×64 tanh MLP, all
  members on the same episode keys) computed two ways in one process, timed interleaved: the oracle
  vmaps each member's :meth:`ControlTask.mean_return` (the path the runs use), the fast path
  (``population_mean_return(..., fast=True)``) steps the episodes of a chunk of members (32 here,
  ``member_chunk``: their weights stay in cache) in one ``lax.scan`` with each policy layer one
  batched ``einsum`` over members. ``value`` is the median over rounds of oracle time / fast time;
  ``steps_per_s`` and ``oracle_steps_per_s`` are both throughputs (env steps per second), ``gflops``
  and ``oracle_gflops`` the arithmetic over each one's median time. Both compute the same
  arithmetic, counted once on the oracle's program: XLA counts the body of its ``lax.scan`` once,
  not once per step, so its count is multiplied by the episode length (outside its loop there are
  only the episodes' first resets). The fast program is not counted itself: it draws all automatic
  resets before its loop, which the multiplication would count once per step.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_pendulum.py [name ...]``.
"""

from __future__ import annotations

import json
import statistics
import sys

import jax

from nevolab.bench import interleaved_seconds, xla_flops
from nevolab.tasks.control import make_control_task
from nevolab.tasks.population_mlp import members_per_chunk

POPULATION, ROLLOUTS, HIDDEN = 256, 8, (64, 64)
INTERLEAVED_REPEATS = 7


def _rollout(task, fast: bool):
    """The jitted population rollout: every member's mean return over ``ROLLOUTS`` episodes."""
    return jax.jit(lambda params, key: task.population_mean_return(params, key, ROLLOUTS, fast=fast))


def pendulum_policy_speedup() -> dict:
    task = make_control_task("Pendulum-v1", hidden_sizes=HIDDEN, num_rollouts=ROLLOUTS, test_rollouts=32)
    members = jax.vmap(task.init_params)(jax.random.split(jax.random.PRNGKey(0), POPULATION))
    args = (members, jax.random.PRNGKey(1))
    oracle, fast = _rollout(task, fast=False), _rollout(task, fast=True)
    timed = interleaved_seconds({"oracle": (oracle, args), "fast": (fast, args)}, repeats=INTERLEAVED_REPEATS)
    # Per round both programs see the same machine; the median of the per-round ratios is stable.
    ratios = [slow / quick for slow, quick in zip(timed["oracle"]["times"], timed["fast"]["times"])]
    steps = POPULATION * ROLLOUTS * task.episode_length
    fast_s, oracle_s = timed["fast"]["median"], timed["oracle"]["median"]
    flops = task.episode_length * xla_flops(oracle, *args)
    return {
        "value": statistics.median(ratios), "unit": "x", "ratio_range": [min(ratios), max(ratios)],
        "steps_per_s": steps / fast_s, "oracle_steps_per_s": steps / oracle_s,
        "gflops": flops / fast_s / 1e9, "oracle_gflops": flops / oracle_s / 1e9,
        "gflop_per_call": flops / 1e9,
        "seconds": fast_s, "oracle_seconds": oracle_s,
        "compile_and_first_s": timed["fast"]["first"], "oracle_compile_and_first_s": timed["oracle"]["first"],
        "timing": "medians over interleaved repeats", "repeats": INTERLEAVED_REPEATS,
        "population": POPULATION, "rollouts": ROLLOUTS, "episode_length": task.episode_length,
        "hidden": list(HIDDEN), "member_chunk": members_per_chunk(members),
    }


BENCHMARKS = {"tickets.pendulum.policy_speedup": pendulum_policy_speedup}


if __name__ == "__main__":
    for name in sys.argv[1:] or list(BENCHMARKS):
        print(json.dumps({"name": name, **BENCHMARKS[name]()}))
