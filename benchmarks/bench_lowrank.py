"""Benchmarks of Study C: one Deep GA generation of the transformer LM, dense vs rank-4 factorized.

``BENCHMARKS`` maps a name to a zero-argument function returning a dict with at least ``value`` and
``unit``. Each function compiles first, then reports the median of a few timed repetitions.

* ``lowrank.lm.dense.gen_s`` / ``lowrank.lm.rank4.gen_s``: seconds for one generation (evaluate the
  whole population + ``tell``) at population 512, 16 elites, on a fixed batch of 16 char-level windows
  of 64 tokens from the offline corpus; ``peak_rss_mb`` is the process's peak resident memory so far
  (``resource.getrusage``; it never decreases, so run a benchmark alone for its own peak). The rank-4
  forward applies its factors as ``(x @ U) @ V`` (``nevolab.models.transformer.fast_logits``).
* ``lowrank.lm.tokens_per_s``: tokens per second of the dense population forward (512 members x 16
  windows x 64 tokens, 3 blocks), the population loss exactly as Study C's runs evaluate it.
* ``lowrank.lm.population_vs_inference``: that forward's tokens per second divided by the same
  model's with one weight set shared by all 512 x 16 windows (batch inference, chunked alike),
  timed interleaved in one process (``nevolab.bench.interleaved_seconds``): the median of the
  per-round ratios. EGGROLL (Sarkar et al. 2025) reports 0.91 for its low-rank populations.
* ``lowrank.lm.forward_flops_fraction`` (a report, not a target): achieved FLOP/s of the dense
  population forward pass (matmul FLOPs counted analytically) as a fraction of a plain ``jnp.matmul``
  measured in the same process. At hidden size 32 the forward cannot approach a 1024^3 matmul.

* ``lowrank.lm.bpe.tokens_per_s``: tokens per second of the dense population forward at Study C's
  default scale and tokenisation: the 2048-token BPE (model vocabulary 2051), population 128 for each
  of 6 seeds vmapped (as the runs evaluate it), 16 windows of 64 tokens. At vocabulary 2051 the tied
  unembedding is most of a token's arithmetic. The record adds, timed interleaved in the same run, the
  same forward with every window's logits formed at once (``unblocked``, the oracle) and the median
  per-round speed-up of the blocked softmax (``nevolab.models.transformer.CE_BLOCK_ROWS``).

* ``lowrank.lm.width128.rank4_over_dense``: seconds of one rank-4 generation over one dense
  generation at width 128 (hidden 128, feed-forward 512, 4 heads of 16: the paper's model with every
  width times 4), population 128 (smaller than above, to bound memory: a dense width-128 genome has
  about 0.5M genes), timed interleaved in one run: the median of the per-round ratios; target <= 0.6.
  The record adds the same ratio at the paper's width 32 (``width32_ratio``), measured in the same
  run. At width 32 the matmuls the factors shrink are a small part of a generation, at 128 most of it.
  ``gflops`` / ``oracle_gflops``: XLA's FLOP count of the rank-4 / dense population forward over the
  generation's time.

The population loss evaluates a few members at a time (``nevolab.studies.c.lm.chunk_size_for``: 4
here), so that a chunk's attention scores stay in cache; with 64 at a time the same forward ran at
about a quarter of the speed.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_lowrank.py [name ...]``.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time

import jax
import jax.numpy as jnp

from nevolab.algorithms.deep_ga import DeepGA
from nevolab.bench import interleaved_seconds, median_seconds, xla_flops
from nevolab.models.transformer import CE_BLOCK_ROWS, fast_cross_entropy
from nevolab.studies.c.lm import chunk_size_for, make_population_loss, prepare_sequences
from nevolab.studies.c.variants import setup_variant

POPULATION, ELITES, NUM_SEQUENCES, SEQUENCE_LENGTH = 512, 16, 16, 64
TOKENS = POPULATION * NUM_SEQUENCES * SEQUENCE_LENGTH  # predicted tokens per population forward


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def _chunk_size(config) -> int:
    return chunk_size_for(NUM_SEQUENCES, SEQUENCE_LENGTH, config.vocab_size, config=config)


def _setup(variant: str, model_overrides: dict | None = None):
    sequences, vocab_size = prepare_sequences("char", NUM_SEQUENCES, SEQUENCE_LENGTH, data_seed=0)
    config, layout = setup_variant(variant, vocab_size, model_overrides=model_overrides)
    population_loss = make_population_loss(layout.encoding, config, _chunk_size(config))
    sequences = jnp.asarray(sequences)
    return config, layout, lambda population: population_loss(population, sequences)


def _dense_population(layout) -> jax.Array:
    keys = jax.random.split(jax.random.PRNGKey(0), POPULATION)
    return jax.jit(jax.vmap(layout.init_fn))(keys)


def _generation_program(variant: str, population_size: int = POPULATION, model_overrides: dict | None = None):
    """(jitted ``generation(state, key)``: ask, evaluate, tell; its first state; config; layout;
    the population loss)."""
    config, layout, loss = _setup(variant, model_overrides)
    ga = DeepGA(population_size, layout.num_genes, ELITES, layout.mutation_scales, max_generations=8)
    params = ga.default_params
    population, init_keys = jax.jit(lambda k: ga.sample_initial(k, layout.init_fn))(jax.random.PRNGKey(0))
    losses = jnp.full((population_size,), jnp.inf)
    state = ga.init(jax.random.PRNGKey(1), population, losses, params, init_keys)

    @jax.jit
    def generation(state, key):
        pop, state = ga.ask(key, state, params)
        return ga.tell(key, pop, loss(pop), state, params)

    return generation, state, config, layout, loss


def _generation(variant: str) -> dict:
    generation, state, config, layout, _ = _generation_program(variant)
    compile_s, seconds = median_seconds(generation, state, jax.random.PRNGKey(2))
    return {
        "value": seconds,
        "unit": "s/generation",
        "compile_s": compile_s,
        "peak_rss_mb": _peak_rss_mb(),
        "population": POPULATION,
        "batch": f"{NUM_SEQUENCES}x{SEQUENCE_LENGTH}",
        "chunk_size": _chunk_size(config),
        "vocab_size": config.vocab_size,
        "num_genes": layout.num_genes,
        "num_params": layout.num_params,
        "device": jax.devices()[0].device_kind,
    }


def bench_dense_generation() -> dict:
    """One generation of the dense model (99,507-gene genomes at vocab 2051; 35,223 at char vocab)."""
    return _generation("dense")


def bench_rank4_generation() -> dict:
    """One generation of the rank-4 (embedding rank 32) factorized model."""
    return _generation("lowrank")


def forward_matmul_flops(config, num_sequences: int, sequence_length: int) -> int:
    """Matmul FLOPs of one forward pass over the windows (2 per multiply-add; q/k/v/o, feed-forward,
    attention scores and values over the full T x T matrix, tied unembedding)."""
    h, a, f, v, t = config.hidden_dim, config.attention_dim, config.ff_dim, config.vocab_size, sequence_length
    per_token = config.num_blocks * (2 * 3 * h * a + 2 * a * h + 2 * 2 * h * f + 2 * 2 * t * a) + 2 * h * v
    return per_token * num_sequences * sequence_length


def bench_tokens_per_s() -> dict:
    """Tokens per second of the dense population forward (the population loss of Study C's runs)."""
    config, layout, loss = _setup("dense")
    compile_s, seconds = median_seconds(jax.jit(loss), _dense_population(layout))
    return {
        "value": TOKENS / seconds,
        "unit": "tokens/s",
        "forward_s": seconds,
        "compile_s": compile_s,
        "population": POPULATION,
        "batch": f"{NUM_SEQUENCES}x{SEQUENCE_LENGTH}",
        "num_blocks": config.num_blocks,
        "chunk_size": _chunk_size(config),
        "peak_rss_mb": _peak_rss_mb(),
        "device": jax.devices()[0].device_kind,
    }


def bench_bpe_tokens_per_s(repeats: int = 5, seeds: int = 6, population: int = 128) -> dict:
    """Tokens per second of the dense population forward at the default's BPE scale, blocked softmax
    against the unblocked oracle (interleaved)."""
    sequences, vocab_size = prepare_sequences("bpe", NUM_SEQUENCES, SEQUENCE_LENGTH, data_seed=0)
    config, layout = setup_variant("dense", vocab_size)
    chunk = chunk_size_for(NUM_SEQUENCES, SEQUENCE_LENGTH, vocab_size, config=config, copies=seeds)
    keys = jax.random.split(jax.random.PRNGKey(0), seeds * population)
    populations = jax.jit(jax.vmap(layout.init_fn))(keys).reshape(seeds, population, -1)
    sequences = jnp.asarray(sequences)

    def seeds_loss(block_rows: int):
        loss = make_population_loss(layout.encoding, config, chunk, block_rows=block_rows)
        return jax.jit(jax.vmap(lambda members: loss(members, sequences)))

    unblocked_rows = NUM_SEQUENCES * SEQUENCE_LENGTH
    timings = interleaved_seconds({"blocked": (seeds_loss(CE_BLOCK_ROWS), (populations,)),
                                   "unblocked": (seeds_loss(unblocked_rows), (populations,))},
                                  repeats=repeats)
    speedups = [plain / fast for fast, plain in
                zip(timings["blocked"]["times"], timings["unblocked"]["times"], strict=True)]
    tokens = seeds * population * NUM_SEQUENCES * SEQUENCE_LENGTH
    return {
        "value": tokens / timings["blocked"]["median"],
        "unit": "tokens/s",
        "unblocked_tokens_per_s": tokens / timings["unblocked"]["median"],
        "speedup_over_unblocked": statistics.median(speedups),
        "speedups": speedups,
        "block_rows": CE_BLOCK_ROWS,
        "seeds": seeds,
        "population": population,
        "batch": f"{NUM_SEQUENCES}x{SEQUENCE_LENGTH}",
        "vocab_size": vocab_size,
        "chunk_size": chunk,
        "compile_s": timings["blocked"]["first"],
        "peak_rss_mb": _peak_rss_mb(),
        "device": jax.devices()[0].device_kind,
    }


def bench_population_vs_inference(repeats: int = 5) -> dict:
    """Population forward tokens/s over the same model's with one shared weight set (interleaved)."""
    config, layout, loss = _setup("dense")
    population = _dense_population(layout)
    sequences, _ = prepare_sequences("char", NUM_SEQUENCES, SEQUENCE_LENGTH, data_seed=0)
    # the same POPULATION x NUM_SEQUENCES windows, in the population loss's chunks, one weight set
    windows = jnp.broadcast_to(jnp.asarray(sequences), (POPULATION, *sequences.shape))
    shared = layout.encoding.decode(population[0])

    @jax.jit
    def inference(params, windows):
        return jax.lax.map(lambda w: fast_cross_entropy(params, w, config), windows,
                           batch_size=_chunk_size(config))

    timings = interleaved_seconds({"population": (jax.jit(loss), (population,)),
                                   "inference": (inference, (shared, windows))}, repeats=repeats)
    ratios = [inf / pop for pop, inf in zip(timings["population"]["times"], timings["inference"]["times"],
                                            strict=True)]
    return {
        "value": statistics.median(ratios),
        "unit": "population tokens/s / shared-weights tokens/s",
        "ratios": ratios,
        "population_tokens_per_s": TOKENS / timings["population"]["median"],
        "inference_tokens_per_s": TOKENS / timings["inference"]["median"],
        "chunk_size": _chunk_size(config),
        "peak_rss_mb": _peak_rss_mb(),
        "device": jax.devices()[0].device_kind,
    }


def bench_forward_flops_fraction() -> dict:
    """Achieved FLOP/s of the dense population forward vs a plain 1024^3 float32 ``jnp.matmul``."""
    config, layout, loss = _setup("dense")
    _, forward_s = median_seconds(jax.jit(loss), _dense_population(layout))
    flops = POPULATION * forward_matmul_flops(config, NUM_SEQUENCES, SEQUENCE_LENGTH)

    n = 1024
    a = jax.random.normal(jax.random.PRNGKey(1), (n, n))
    b = jax.random.normal(jax.random.PRNGKey(2), (n, n))
    _, matmul_s = median_seconds(jax.jit(jnp.matmul), a, b, repeats=5)
    matmul_flops_per_s = 2 * n**3 / matmul_s
    achieved = flops / forward_s
    return {
        "value": achieved / matmul_flops_per_s,
        "unit": "fraction of jnp.matmul FLOP/s",
        "forward_gflop_per_s": achieved / 1e9,
        "matmul_gflop_per_s": matmul_flops_per_s / 1e9,
        "forward_s": forward_s,
        "forward_gflop": flops / 1e9,
        "peak_rss_mb": _peak_rss_mb(),
        "device": jax.devices()[0].device_kind,
    }


WIDE_POPULATION = 128


def _width(hidden: int) -> dict:
    """The paper's model (hidden 32, feed-forward 128, 4 heads of 4) with every width scaled to ``hidden``."""
    return {"hidden_dim": hidden, "ff_dim": 4 * hidden, "num_heads": 4, "head_dim": hidden // 8}


def _rank4_over_dense(hidden: int, repeats: int) -> dict:
    """Rank-4 / dense generation seconds at width ``hidden``, interleaved: per-round ratios and timings."""
    programs = {variant: _generation_program(variant, WIDE_POPULATION, _width(hidden))
                for variant in ("dense", "lowrank")}
    key = jax.random.PRNGKey(2)
    calls = {variant: (program[0], (program[1], key)) for variant, program in programs.items()}
    timings = interleaved_seconds(calls, repeats=repeats)
    ratios = [rank4 / dense for dense, rank4 in zip(timings["dense"]["times"], timings["lowrank"]["times"],
                                                    strict=True)]
    genes = {variant: program[3].num_genes for variant, program in programs.items()}
    return {"ratios": ratios, "timings": timings, "genes": genes,
            "flops": {variant: _forward_flops(program) for variant, program in programs.items()}}


def _forward_flops(program) -> float:
    """XLA's FLOP count of a generation's population forward. XLA counts the body of the loss's
    ``lax.map`` over chunks once, so one chunk is counted and multiplied by the chunks."""
    _, state, config, _, loss = program
    chunk = _chunk_size(config)
    return WIDE_POPULATION // chunk * xla_flops(loss, state.population[:chunk])


def bench_width128_rank4_over_dense(repeats: int = 5) -> dict:
    """A rank-4 generation's time over a dense one's at width 128 (and at 32 beside it), interleaved."""
    wide, narrow = _rank4_over_dense(128, repeats), _rank4_over_dense(32, repeats)
    timings, flops = wide["timings"], wide["flops"]
    return {
        "value": statistics.median(wide["ratios"]),
        "unit": "rank-4 s / dense s",
        "target": 0.6,
        "ratio_range": [min(wide["ratios"]), max(wide["ratios"])],
        "dense_gen_s": timings["dense"]["median"],
        "rank4_gen_s": timings["lowrank"]["median"],
        "gflops": flops["lowrank"] / timings["lowrank"]["median"] / 1e9,
        "oracle_gflops": flops["dense"] / timings["dense"]["median"] / 1e9,
        "width32_ratio": statistics.median(narrow["ratios"]),
        "width32_ratio_range": [min(narrow["ratios"]), max(narrow["ratios"])],
        "width32_dense_gen_s": narrow["timings"]["dense"]["median"],
        "width32_rank4_gen_s": narrow["timings"]["lowrank"]["median"],
        "dense_genes": wide["genes"]["dense"],
        "rank4_genes": wide["genes"]["lowrank"],
        "population": WIDE_POPULATION,
        "batch": f"{NUM_SEQUENCES}x{SEQUENCE_LENGTH}",
        "peak_rss_mb": _peak_rss_mb(),
        "device": jax.devices()[0].device_kind,
    }


BENCHMARKS = {
    "lowrank.lm.width128.rank4_over_dense": bench_width128_rank4_over_dense,
    "lowrank.lm.dense.gen_s": bench_dense_generation,
    "lowrank.lm.rank4.gen_s": bench_rank4_generation,
    "lowrank.lm.tokens_per_s": bench_tokens_per_s,
    "lowrank.lm.bpe.tokens_per_s": bench_bpe_tokens_per_s,
    "lowrank.lm.population_vs_inference": bench_population_vs_inference,
    "lowrank.lm.forward_flops_fraction": bench_forward_flops_fraction,
}


if __name__ == "__main__":
    for name in sys.argv[1:] or list(BENCHMARKS):
        start = time.perf_counter()
        result = BENCHMARKS[name]()
        result["wall_s"] = time.perf_counter() - start
        print(json.dumps({name: result}), flush=True)
