"""Study C: the low-rank factorized Deep GA on a small transformer language model.

Re-runs the TinyStories experiment of Garbus & Pollack (2025) on an offline corpus: the four model
variants of :data:`nevolab.lowrank.PAPER_VARIANTS` are evolved by the Deep GA
(:mod:`nevolab.algorithms.deep_ga`) on a fixed set of token windows, minimising the mean next-token
cross-entropy; the paper plots its negative (``best_neg_ce``: the best individual of each generation).

* :func:`run_variant` -- whole runs, seeds vmapped, generations in one ``lax.scan``; a tidy DataFrame.
* :func:`mutation_effects` -- child-minus-parent loss of every child after some generations, per variant
  (the paper's claim: factorized mutations are more often and more strongly deleterious).
* :func:`adam_reference` -- backprop (Adam) on the dense model, same windows, for scale.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from nevolab.algorithms.deep_ga import DeepGA
from nevolab.encodings import Encoding
from nevolab.lowrank import PAPER_VARIANTS, GenomeLayout, variant_layout
from nevolab.models.transformer import TransformerConfig, init_params, token_cross_entropy
from nevolab.tasks.language import load_corpus, make_sequences, make_tokenizer

__all__ = [
    "adam_reference",
    "make_population_loss",
    "mutation_effects",
    "prepare_sequences",
    "run_variant",
    "setup_variant",
]


@functools.lru_cache(maxsize=8)
def _corpus_tokens(tokenizer: str, corpus: str) -> tuple[np.ndarray, int]:
    text = load_corpus(corpus)
    tok = make_tokenizer(tokenizer, text)
    return tok.encode(text), tok.model_vocab_size


def prepare_sequences(tokenizer: str = "char", num_sequences: int = 16, sequence_length: int = 64,
                      data_seed: int = 0, corpus: str = "pydoc_topics") -> tuple[np.ndarray, int]:
    """The fixed windows ``(num_sequences, sequence_length + 1)`` and the model vocabulary size."""
    tokens, vocab_size = _corpus_tokens(tokenizer, corpus)
    return make_sequences(tokens, num_sequences, sequence_length, data_seed), vocab_size


def make_population_loss(encoding: Encoding, config: TransformerConfig, sequences: jax.Array,
                         chunk_size: int = 64) -> Callable[[jax.Array], jax.Array]:
    """``population (N, num_genes) -> losses (N,)``: decode each genotype and take its mean next-token
    cross-entropy on ``sequences``. ``lax.map`` over chunks of ``chunk_size`` individuals (vmapped
    inside a chunk) bounds the activation memory."""
    sequences = jnp.asarray(sequences)

    def one(genotype: jax.Array) -> jax.Array:
        return token_cross_entropy(encoding.decode(genotype), sequences, config)

    def population_loss(population: jax.Array) -> jax.Array:
        return jax.lax.map(one, population, batch_size=min(chunk_size, population.shape[0]))

    return population_loss


def setup_variant(variant: str, vocab_size: int, mutation_rate: float = 0.01,
                  model_overrides: dict | None = None) -> tuple[TransformerConfig, GenomeLayout]:
    """Model config and genome layout of a paper variant for this vocabulary (``model_overrides``:
    TransformerConfig fields to change, e.g. ``{"num_blocks": 1}`` for quick looks and tests)."""
    overrides = model_overrides or {}
    return variant_layout(variant, vocab_size=vocab_size, mutation_rate=mutation_rate, **overrides)


def _evolve(layout: GenomeLayout, population_loss, population_size: int, num_elites: int,
            num_generations: int):
    """A jittable ``key -> (final state, per-generation metrics)`` for one seed."""
    ga = DeepGA(population_size, layout.num_genes, num_elites, layout.mutation_scales,
                max_generations=num_generations)
    params = ga.default_params

    def run(key: jax.Array):
        key_init, key_state, key_loop = jax.random.split(key, 3)
        population, init_keys = ga.sample_initial(key_init, layout.init_fn)
        state = ga.init(key_state, population, jnp.full((population_size,), jnp.inf), params, init_keys)

        def generation(state, k):
            pop, state = ga.ask(k, state, params)
            return ga.tell(k, pop, population_loss(pop), state, params)

        return jax.lax.scan(generation, state, jax.random.split(key_loop, num_generations))

    return ga, run


def _check_counts(population_size: int, num_elites: int, num_generations: int, seeds: Sequence[int]) -> None:
    if num_generations < 1:
        raise ValueError(f"num_generations must be at least 1; got {num_generations}")
    if len(seeds) < 1:
        raise ValueError("seeds must hold at least one seed")
    if not 1 <= num_elites < population_size:
        raise ValueError(f"num_elites must be in [1, {population_size - 1}]; got {num_elites}")


def run_variant(variant: str, population_size: int = 512, num_elites: int = 16, num_generations: int = 300,
                num_sequences: int = 16, sequence_length: int = 64, tokenizer: str = "char",
                seeds: Sequence[int] = (0,), data_seed: int = 0, chunk_size: int = 64,
                mutation_rate: float = 0.01, model_overrides: dict | None = None) -> pd.DataFrame:
    """Evolve one paper variant; one row per (seed, generation).

    Columns: ``variant, seed, generation, best_neg_ce`` (best individual of the generation, the
    paper's curve), ``mean_neg_ce``, ``best_so_far_neg_ce``, ``mean_mutation_effect`` and
    ``deleterious_fraction`` (children evaluated this generation vs. their parents; NaN at
    generation 0), ``tokens_evaluated`` (cumulative token predictions), ``num_genes``, ``num_params``.
    ``model_overrides`` changes the paper's architecture (see :func:`setup_variant`).
    """
    if variant not in PAPER_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(PAPER_VARIANTS)}; got {variant!r}")
    _check_counts(population_size, num_elites, num_generations, seeds)
    sequences, vocab_size = prepare_sequences(tokenizer, num_sequences, sequence_length, data_seed)
    config, layout = setup_variant(variant, vocab_size, mutation_rate, model_overrides)
    loss = make_population_loss(layout.encoding, config, sequences, chunk_size)
    _, run = _evolve(layout, loss, population_size, num_elites, num_generations)
    keys = jnp.stack([jax.random.PRNGKey(int(s)) for s in seeds])
    _, metrics = jax.jit(jax.vmap(run))(keys)
    metrics = jax.tree_util.tree_map(np.asarray, metrics)  # (seeds, generations)

    rows = []
    tokens_per_generation = population_size * num_sequences * sequence_length
    for i, seed in enumerate(seeds):
        for g in range(num_generations):
            rows.append({
                "variant": variant,
                "seed": int(seed),
                "generation": g,
                "best_neg_ce": -float(metrics["min_fitness"][i, g]),
                "mean_neg_ce": -float(metrics["mean_fitness"][i, g]),
                "best_so_far_neg_ce": -float(metrics["best_fitness"][i, g]),
                "mean_mutation_effect": float(metrics["mean_mutation_effect"][i, g]),
                "deleterious_fraction": float(metrics["deleterious_fraction"][i, g]),
                "tokens_evaluated": (g + 1) * tokens_per_generation,
                "num_genes": layout.num_genes,
                "num_params": layout.num_params,
            })
    return pd.DataFrame(rows)


def mutation_effects(variants: Sequence[str] = ("dense", "lowrank"), population_size: int = 512,
                     num_elites: int = 16, num_generations: int = 10, num_sequences: int = 16,
                     sequence_length: int = 64, tokenizer: str = "char", seed: int = 0, data_seed: int = 0,
                     chunk_size: int = 64, mutation_rate: float = 0.01, model_overrides: dict | None = None,
                     ) -> pd.DataFrame:
    """The loss change of every child relative to its parent after ``num_generations`` generations.

    One row per (variant, child): ``parent_loss``, ``child_loss``, ``effect = child_loss -
    parent_loss`` (positive = deleterious, as the GA minimises) and ``deleterious``. Summaries:
    ``df.groupby("variant")[["effect", "deleterious"]].mean()``.
    """
    for variant in variants:
        if variant not in PAPER_VARIANTS:
            raise ValueError(f"variants must be among {', '.join(PAPER_VARIANTS)}; got {variant!r}")
    _check_counts(population_size, num_elites, num_generations, (seed,))
    sequences, vocab_size = prepare_sequences(tokenizer, num_sequences, sequence_length, data_seed)
    frames = []
    for variant in variants:
        config, layout = setup_variant(variant, vocab_size, mutation_rate, model_overrides)
        loss = make_population_loss(layout.encoding, config, sequences, chunk_size)
        _, run = _evolve(layout, loss, population_size, num_elites, num_generations)

        def final_children(key, run=run, loss=loss):
            state, _ = run(key)
            return loss(state.population), state.parent_fitness, state.is_elite, state.parent_index

        outputs = jax.jit(final_children)(jax.random.PRNGKey(seed))
        child, parent, elite, parent_index = map(np.asarray, outputs)
        keep = ~elite
        frames.append(pd.DataFrame({
            "variant": variant,
            "seed": seed,
            "generation": num_generations,
            "parent_index": parent_index[keep],
            "parent_loss": parent[keep],
            "child_loss": child[keep],
            "effect": child[keep] - parent[keep],
            "deleterious": child[keep] > parent[keep],
            "num_genes": layout.num_genes,
        }))
    return pd.concat(frames, ignore_index=True)


def adam_reference(num_steps: int = 1000, learning_rate: float = 3e-3, num_sequences: int = 16,
                   sequence_length: int = 64, tokenizer: str = "char", seed: int = 0, data_seed: int = 0,
                   variant: str = "dense", eval_every: int = 10, model_overrides: dict | None = None,
                   ) -> pd.DataFrame:
    """Backprop reference: full-batch Adam on the same fixed windows, the variant's dense model.

    One row per evaluated step: ``step, neg_ce, tokens_evaluated`` (cumulative token predictions,
    counting a forward + backward pass as three forward passes, the usual estimate), so that it can be
    set against the GA's ``tokens_evaluated`` (population x windows per generation).
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be at least 1; got {num_steps}")
    if eval_every < 1:
        raise ValueError(f"eval_every must be at least 1; got {eval_every}")
    if variant not in PAPER_VARIANTS or PAPER_VARIANTS[variant]["rank"] is not None:
        dense = [v for v, s in PAPER_VARIANTS.items() if s["rank"] is None and s["embedding_rank"] is None]
        raise ValueError(f"variant must be an unfactorized one ({', '.join(dense)}); got {variant!r}")
    sequences, vocab_size = prepare_sequences(tokenizer, num_sequences, sequence_length, data_seed)
    sequences = jnp.asarray(sequences)
    overrides = {**PAPER_VARIANTS[variant]["model"], **(model_overrides or {})}
    config = TransformerConfig(vocab_size=vocab_size, **overrides)
    optimizer = optax.adam(learning_rate)

    def train(key):
        params = init_params(config, key)

        def step(carry, _):
            params, opt_state = carry
            loss, grads = jax.value_and_grad(token_cross_entropy)(params, sequences, config)
            updates, opt_state = optimizer.update(grads, opt_state)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, _), losses = jax.lax.scan(step, (params, optimizer.init(params)), None, length=num_steps)
        return losses, token_cross_entropy(params, sequences, config)

    losses, final = jax.jit(train)(jax.random.PRNGKey(seed))
    losses = np.append(np.asarray(losses), float(final))  # loss before step s, s = 0..num_steps
    steps = np.unique(np.r_[np.arange(0, num_steps + 1, eval_every), num_steps])
    tokens_per_step = 3 * num_sequences * sequence_length
    return pd.DataFrame({"step": steps, "neg_ce": -losses[steps], "tokens_evaluated": steps * tokens_per_step,
                         "seed": seed, "variant": variant})
