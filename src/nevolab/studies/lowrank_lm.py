"""Study C: the low-rank factorized Deep GA on a small transformer language model.

Re-runs the TinyStories experiment of Garbus & Pollack (2025) on an offline corpus: the four model
variants of :data:`nevolab.lowrank.PAPER_VARIANTS` are evolved by the Deep GA
(:mod:`nevolab.algorithms.deep_ga`) on a fixed set of token windows, minimising the mean next-token
cross-entropy; the paper plots its negative (``best_neg_ce``: the best individual of each generation).

* :func:`run_variant` -- whole runs, seeds vmapped, generations in one ``lax.scan``; a tidy DataFrame.
* :func:`mutation_effects` -- child-minus-parent loss of every child after some generations, per variant
  (the paper's claim: factorized mutations are more often and more strongly deleterious).
* :func:`adam_reference` -- backprop (Adam) on the dense model, same windows, for scale.
* :func:`evolve_variant` -- :func:`run_variant` plus every child's fitness change against its parent;
  :func:`study_runs` / :func:`cached_adam` cache whole runs under ``data/results/study_c_runs/`` so
  the three Study C notebooks share them; :func:`study_c_claims` tests the paper's claims.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from nevolab.algorithms.base import sanitize_fitness
from nevolab.algorithms.deep_ga import DeepGA
from nevolab.encodings import Encoding
from nevolab.lowrank import PAPER_VARIANTS, GenomeLayout, variant_layout
from nevolab.models.transformer import TransformerConfig, init_params, token_cross_entropy
from nevolab.tasks.language import load_corpus, make_sequences, make_tokenizer

__all__ = [
    "CLAIMS",
    "adam_reference",
    "cached_adam",
    "cached_evolve",
    "evolve_variant",
    "genome_sizes",
    "kruskal_wallis",
    "make_population_loss",
    "mutation_effects",
    "per_seed_outcomes",
    "prepare_sequences",
    "run_variant",
    "runs_for_config",
    "setup_variant",
    "study_c_claims",
    "study_runs",
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
                  model_overrides: dict | None = None, ranks: tuple[int | None, int | None] | None = None,
                  ) -> tuple[TransformerConfig, GenomeLayout]:
    """Model config and genome layout of a paper variant for this vocabulary (``model_overrides``:
    TransformerConfig fields to change, e.g. ``{"num_blocks": 1}`` for quick looks and tests;
    ``ranks``: ``(rank, embedding_rank)`` replacing a factorized variant's)."""
    overrides = model_overrides or {}
    return variant_layout(variant, vocab_size=vocab_size, mutation_rate=mutation_rate, ranks=ranks,
                          **overrides)


def _evolve(layout: GenomeLayout, population_loss, population_size: int, num_elites: int,
            num_generations: int, record_children: bool = False):
    """A jittable ``key -> (final state, per-generation metrics)`` for one seed.

    With ``record_children`` the metrics also hold, per generation, every row's loss
    (``child_loss``, (N,)), its loss change against its parent (``child_effect``, NaN for the
    unmutated elites and in generation 0) and the seed-list length of the generation's best
    individual (``best_seed_length``)."""
    ga = DeepGA(population_size, layout.num_genes, num_elites, layout.mutation_scales,
                max_generations=num_generations)
    params = ga.default_params

    def run(key: jax.Array):
        key_init, key_state, key_loop = jax.random.split(key, 3)
        population, init_keys = ga.sample_initial(key_init, layout.init_fn)
        state = ga.init(key_state, population, jnp.full((population_size,), jnp.inf), params, init_keys)

        def generation(state, k):
            pop, state = ga.ask(k, state, params)
            fitness = population_loss(pop)
            extra = {}
            if record_children:
                clean = sanitize_fitness(fitness)
                mutated = ~state.is_elite & jnp.isfinite(state.parent_fitness)
                extra = {
                    "child_loss": clean,
                    "child_effect": jnp.where(mutated, clean - state.parent_fitness, jnp.nan),
                    "best_seed_length": state.seed_length[jnp.argmin(clean)],
                }
            state, metrics = ga.tell(k, pop, fitness, state, params)
            return state, {**metrics, **extra}

        return jax.lax.scan(generation, state, jax.random.split(key_loop, num_generations))

    return ga, run


def _check_counts(population_size: int, num_elites: int, num_generations: int, seeds: Sequence[int]) -> None:
    if num_generations < 1:
        raise ValueError(f"num_generations must be at least 1; got {num_generations}")
    if len(seeds) < 1:
        raise ValueError("seeds must hold at least one seed")
    if not 1 <= num_elites < population_size:
        raise ValueError(f"num_elites must be in [1, {population_size - 1}]; got {num_elites}")


def default_effect_generations(num_generations: int) -> list[int]:
    """Generations whose children are kept one by one: the first with parents (1), every tenth of
    the run and the last."""
    points = {1, num_generations - 1, *(round(num_generations * i / 10) for i in range(1, 10))}
    return sorted(g for g in points if 1 <= g < num_generations)


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    count = mask.sum(-1)
    total = np.where(mask, values, 0.0).sum(-1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def evolve_variant(variant: str, population_size: int = 512, num_elites: int = 16, num_generations: int = 300,
                   num_sequences: int = 16, sequence_length: int = 64, tokenizer: str = "char",
                   seeds: Sequence[int] = (0,), data_seed: int = 0, chunk_size: int = 64,
                   mutation_rate: float = 0.01, model_overrides: dict | None = None,
                   ranks: tuple[int | None, int | None] | None = None,
                   effect_generations: Sequence[int] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evolve one paper variant for every seed (vmapped); ``(curves, children)``.

    ``curves`` has one row per (seed, generation): ``best_neg_ce`` (the generation's best individual,
    the paper's curve), ``mean_neg_ce``, ``best_so_far_neg_ce``; the mutation effects of the children
    evaluated in that generation against their parents -- ``deleterious_fraction`` (share whose loss
    rose), ``mean_delta_fitness`` and ``median_delta_fitness`` (child minus parent negative
    cross-entropy: negative = deleterious), ``deleterious_magnitude`` (mean loss increase, nats, of
    the deleterious ones), ``mean_mutation_effect`` (the GA's own metric: mean loss change); all NaN
    at generation 0, which has no parents -- and ``best_seed_length`` (keys in the seed list of the
    generation's best individual: its compact genome is 8 bytes per key), ``tokens_evaluated``
    (cumulative token predictions), ``num_genes`` and ``num_params``.

    ``children`` has one row per mutated child of the ``effect_generations`` (default
    :func:`default_effect_generations`): ``parent_neg_ce``, ``child_neg_ce``, ``delta_fitness``
    (child minus parent) and ``deleterious`` (``delta_fitness < 0``).
    """
    if variant not in PAPER_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(PAPER_VARIANTS)}; got {variant!r}")
    _check_counts(population_size, num_elites, num_generations, seeds)
    sequences, vocab_size = prepare_sequences(tokenizer, num_sequences, sequence_length, data_seed)
    config, layout = setup_variant(variant, vocab_size, mutation_rate, model_overrides, ranks)
    loss = make_population_loss(layout.encoding, config, sequences, chunk_size)
    _, run = _evolve(layout, loss, population_size, num_elites, num_generations, record_children=True)
    keys = jnp.stack([jax.random.PRNGKey(int(s)) for s in seeds])
    _, metrics = jax.jit(jax.vmap(run))(keys)
    m = jax.tree_util.tree_map(np.asarray, metrics)  # (seeds, generations[, population])

    effect = m["child_effect"].astype(np.float64)  # child loss - parent loss; NaN: elite / no parent
    mutated = ~np.isnan(effect)
    harmful = mutated & (effect > 0)
    finite = mutated & np.isfinite(effect)
    with np.errstate(invalid="ignore", divide="ignore"):
        deleterious_fraction = np.where(mutated.any(-1), harmful.sum(-1) / np.maximum(mutated.sum(-1), 1),
                                        np.nan)
        mean_delta = -_masked_mean(effect, finite)
        magnitude = _masked_mean(effect, harmful & finite)
        # median over the finite effects: sort them first (non-finite last), pick the middle one(s)
        counts = finite.sum(-1)
        ordered = np.sort(np.where(finite, effect, np.inf), axis=-1)
        lower = np.take_along_axis(ordered, np.maximum((counts - 1) // 2, 0)[..., None], -1)[..., 0]
        upper = np.take_along_axis(ordered, np.maximum(counts // 2, 0)[..., None], -1)[..., 0]
        median_delta = np.where(counts > 0, -(lower + upper) / 2, np.nan)

    num_seeds = len(seeds)
    generations = np.arange(num_generations)
    tokens_per_generation = population_size * num_sequences * sequence_length
    curves = pd.DataFrame({
        "variant": variant,
        "seed": np.repeat(np.asarray(seeds, int), num_generations),
        "generation": np.tile(generations, num_seeds),
        "best_neg_ce": -m["min_fitness"].ravel().astype(float),
        "mean_neg_ce": -m["mean_fitness"].ravel().astype(float),
        "best_so_far_neg_ce": -m["best_fitness"].ravel().astype(float),
        "deleterious_fraction": deleterious_fraction.ravel(),
        "mean_delta_fitness": mean_delta.ravel(),
        "median_delta_fitness": median_delta.ravel(),
        "deleterious_magnitude": magnitude.ravel(),
        "mean_mutation_effect": m["mean_mutation_effect"].ravel().astype(float),
        "best_seed_length": m["best_seed_length"].ravel().astype(int),
        "tokens_evaluated": np.tile((generations + 1) * tokens_per_generation, num_seeds),
        "num_genes": layout.num_genes,
        "num_params": layout.num_params,
    })

    chosen = default_effect_generations(num_generations) if effect_generations is None else effect_generations
    frames = []
    for i, seed in enumerate(seeds):
        for g in chosen:
            if not 0 <= g < num_generations:
                raise ValueError(f"effect_generations must lie in [0, {num_generations - 1}]; got {g}")
            rows = np.flatnonzero(mutated[i, g])
            child = m["child_loss"][i, g, rows].astype(float)
            parent = child - effect[i, g, rows]
            frames.append(pd.DataFrame({
                "variant": variant, "seed": int(seed), "generation": int(g), "child": rows,
                "parent_neg_ce": -parent, "child_neg_ce": -child, "delta_fitness": parent - child,
                "deleterious": effect[i, g, rows] > 0,
            }))
    columns = ["variant", "seed", "generation", "child", "parent_neg_ce", "child_neg_ce", "delta_fitness",
               "deleterious"]
    children = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return curves, children


def run_variant(variant: str, population_size: int = 512, num_elites: int = 16, num_generations: int = 300,
                num_sequences: int = 16, sequence_length: int = 64, tokenizer: str = "char",
                seeds: Sequence[int] = (0,), data_seed: int = 0, chunk_size: int = 64,
                mutation_rate: float = 0.01, model_overrides: dict | None = None,
                ranks: tuple[int | None, int | None] | None = None) -> pd.DataFrame:
    """Evolve one paper variant; one row per (seed, generation) (the ``curves`` of :func:`evolve_variant`).

    Columns include ``variant, seed, generation, best_neg_ce`` (best individual of the generation, the
    paper's curve), ``mean_neg_ce``, ``best_so_far_neg_ce``, ``mean_mutation_effect`` and
    ``deleterious_fraction`` (children evaluated this generation vs. their parents; NaN at
    generation 0), ``tokens_evaluated`` (cumulative token predictions), ``num_genes``, ``num_params``.
    ``model_overrides`` changes the paper's architecture (see :func:`setup_variant`).
    """
    return evolve_variant(variant, population_size, num_elites, num_generations, num_sequences,
                          sequence_length, tokenizer, seeds, data_seed, chunk_size, mutation_rate,
                          model_overrides, ranks,
                          effect_generations=())[0]


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
                   seeds: Sequence[int] | None = None) -> pd.DataFrame:
    """Backprop reference: full-batch Adam on the same fixed windows, the variant's dense model.

    One row per evaluated step: ``step, neg_ce, tokens_evaluated`` (cumulative token predictions,
    counting a forward + backward pass as three forward passes, the usual estimate), so that it can be
    set against the GA's ``tokens_evaluated`` (population x windows per generation). ``seeds``: several
    initialisations trained at once (vmapped; the ``seed`` column tells them apart) instead of ``seed``.
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

    seed_list = [seed] if seeds is None else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("seeds must hold at least one seed")
    keys = jnp.stack([jax.random.PRNGKey(s) for s in seed_list])
    all_losses, finals = jax.jit(jax.vmap(train))(keys)
    steps = np.unique(np.r_[np.arange(0, num_steps + 1, eval_every), num_steps])
    tokens_per_step = 3 * num_sequences * sequence_length
    frames = []
    for i, s in enumerate(seed_list):
        # loss before step t, t = 0..num_steps
        losses = np.append(np.asarray(all_losses[i]), float(finals[i]))
        frames.append(pd.DataFrame({"step": steps, "neg_ce": -losses[steps],
                                    "tokens_evaluated": steps * tokens_per_step, "seed": s,
                                    "variant": variant}))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------------
# Cached runs shared by the Study C notebooks, genome sizes, claims
# --------------------------------------------------------------------------------------------------

RUNS_NOTEBOOK = "study_c_runs"
RUNS_VERSION = 1  # bump when a change to this module changes the numbers of a run

LOGITS_PER_CHUNK = 1 << 24
"""Upper bound on the float32 logits one evaluation chunk holds (64 MiB); sets the chunk size."""


def chunk_size_for(num_sequences: int, sequence_length: int, vocab_size: int, largest: int = 16) -> int:
    """Individuals evaluated at once (vmapped) inside the population loss: at most ``largest`` (16 was
    the fastest on a 2-core CPU), fewer when the logits of one individual are large."""
    return int(max(1, min(largest, LOGITS_PER_CHUNK // (num_sequences * sequence_length * vocab_size))))


def _runs_config(kind: str, values: dict):
    from nevolab.config import Config

    return Config(RUNS_NOTEBOOK, "-", {"kind": kind, **values}, (), RUNS_VERSION)


def _load_all(configs):
    """The cached tables of ``configs``, or None if one is missing or stale (stale ones are reported)."""
    import warnings

    from nevolab import store

    tables = []
    for config in configs:
        try:
            tables.append(store.load(config)[0])
        except FileNotFoundError:
            return None
        except store.StaleResult as reason:
            warnings.warn(f"recomputing {RUNS_NOTEBOOK}: {reason}", stacklevel=3)
            return None
    return tables


def _save_all(configs, tables, seconds: float, seeds) -> list[pd.DataFrame]:
    from nevolab import store

    for config, table in zip(configs, tables, strict=True):
        store.save(config, table, seconds, seeds)
    return [store.load(config)[0] for config in configs]  # the CSV-rounded numbers, as a cached run


def cached_evolve(variant: str, *, population_size: int, num_elites: int, num_generations: int,
                  num_sequences: int, sequence_length: int, tokenizer: str, seeds: Sequence[int],
                  data_seed: int = 0, mutation_rate: float = 0.01, model_overrides: dict | None = None,
                  ranks: tuple[int | None, int | None] | None = None, fresh: bool = False,
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`evolve_variant` cached in the results store under ``study_c_runs/`` (one table of curves,
    one of children per run), so that every Study C notebook reuses the same runs."""
    import time

    values = {"variant": variant, "population_size": population_size, "num_elites": num_elites,
              "num_generations": num_generations, "num_sequences": num_sequences,
              "sequence_length": sequence_length, "tokenizer": tokenizer, "seeds": [int(s) for s in seeds],
              "data_seed": data_seed, "mutation_rate": mutation_rate,
              "model_overrides": dict(sorted((model_overrides or {}).items())),
              "ranks": list(ranks) if ranks is not None else None}
    configs = [_runs_config("curves", values), _runs_config("children", values)]
    if not fresh and (tables := _load_all(configs)) is not None:
        return tables[0], tables[1]
    _, vocab_size = prepare_sequences(tokenizer, 1, 1, data_seed)
    start = time.perf_counter()
    curves, children = evolve_variant(
        variant, population_size, num_elites, num_generations, num_sequences, sequence_length, tokenizer,
        seeds, data_seed, chunk_size_for(num_sequences, sequence_length, vocab_size), mutation_rate,
        model_overrides, ranks)
    tables = _save_all(configs, [curves, children], time.perf_counter() - start,
                       {"seeds": values["seeds"], "data_seed": data_seed})
    return tables[0], tables[1]


def cached_adam(*, num_steps: int, learning_rate: float, num_sequences: int, sequence_length: int,
                tokenizer: str, seeds: Sequence[int], data_seed: int = 0, eval_every: int = 1,
                model_overrides: dict | None = None, fresh: bool = False) -> pd.DataFrame:
    """:func:`adam_reference` of the dense model for every seed, cached under ``study_c_runs/``."""
    import time

    values = {"num_steps": num_steps, "learning_rate": learning_rate, "num_sequences": num_sequences,
              "sequence_length": sequence_length, "tokenizer": tokenizer, "seeds": [int(s) for s in seeds],
              "data_seed": data_seed, "eval_every": eval_every,
              "model_overrides": dict(sorted((model_overrides or {}).items()))}
    configs = [_runs_config("adam", values)]
    if not fresh and (tables := _load_all(configs)) is not None:
        return tables[0]
    start = time.perf_counter()
    table = adam_reference(num_steps, learning_rate, num_sequences, sequence_length, tokenizer,
                           data_seed=data_seed, variant="dense", eval_every=eval_every,
                           model_overrides=model_overrides, seeds=seeds)
    return _save_all(configs, [table], time.perf_counter() - start,
                     {"seeds": values["seeds"], "data_seed": data_seed})[0]


def variant_ranks(variant: str, rank: int, embedding_rank: int) -> tuple[int, int] | None:
    """The ranks a notebook gives a variant: ``(rank, embedding_rank)`` for ``lowrank`` (the paper's
    4 and 32 by default), None (the variant's own) for the others."""
    return (rank, embedding_rank) if variant == "lowrank" else None


def study_runs(variants: Sequence[str], *, population_size: int, num_elites: int, num_generations: int,
               num_seeds: int, tokenizer: str, num_sequences: int, sequence_length: int, rank: int,
               embedding_rank: int, mutation_rate: float, num_blocks: int, fresh: bool = False,
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every variant's cached runs (seeds ``0 .. num_seeds-1``): ``(curves, children)`` of all of them."""
    curves, children = [], []
    for variant in variants:
        c, ch = cached_evolve(variant, population_size=population_size, num_elites=num_elites,
                              num_generations=num_generations, num_sequences=num_sequences,
                              sequence_length=sequence_length, tokenizer=tokenizer, seeds=range(num_seeds),
                              mutation_rate=mutation_rate, model_overrides={"num_blocks": num_blocks},
                              ranks=variant_ranks(variant, rank, embedding_rank), fresh=fresh)
        curves.append(c)
        children.append(ch)
    return pd.concat(curves, ignore_index=True), pd.concat(children, ignore_index=True)


def runs_for_config(config, fresh: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`study_runs` with a Study C notebook's parameters (``nevolab.specs.study_c``)."""
    return study_runs(config.variants, population_size=config.population, num_elites=config.elites,
                      num_generations=config.generations, num_seeds=config.seeds, tokenizer=config.tokenizer,
                      num_sequences=config.num_sequences, sequence_length=config.sequence_length,
                      rank=config.rank, embedding_rank=config.embedding_rank,
                      mutation_rate=config.mutation_rate, num_blocks=config.num_blocks, fresh=fresh)


VARIANT_COLOR_KEYS = {"dense": "dense", "lowrank": "lowrank", "small": "small_dense", "rank1": "lowrank_r1",
                      "adam": "adam"}
"""Study C's names in :data:`nevolab.plotting.METHOD_COLORS`."""


def variant_label(variant: str, rank: int = 4, embedding_rank: int = 32, short: bool = False) -> str:
    """The paper's legend label of a variant, with its ranks or sizes (``short``: a few words)."""
    if short:
        spec = PAPER_VARIANTS.get(variant, {})
        return {"dense": "dense", "small": "small dense", "adam": "Adam",
                "lowrank": f"low-rank r{rank}/e{embedding_rank}",
                "rank1": f"low-rank r{spec.get('rank')}/e{spec.get('embedding_rank')}"}[variant]
    if variant == "adam":
        return "Adam (backprop), dense model"
    if variant == "lowrank":
        return f"Low-Rank Factorization (Larger Rank: {rank}, embedding {embedding_rank})"
    spec = PAPER_VARIANTS[variant]
    detail = {"dense": "hidden 32, ff 128", "small": "hidden 4, ff 16",
              "rank1": f"rank {spec['rank']}, embedding {spec['embedding_rank']}"}[variant]
    return f"{spec['label']} ({detail})"


def adam_steps_for_budget(population_size: int, num_generations: int) -> int:
    """Adam steps on the same token budget as a GA run: the GA predicts ``population x windows`` tokens
    per generation, an Adam step costs about three forward passes over the windows."""
    return max(1, round(population_size * num_generations / 3))


def genome_sizes(variants: Sequence[str], vocab_size: int, num_generations: int, rank: int = 4,
                 embedding_rank: int = 32, num_blocks: int = 3) -> pd.DataFrame:
    """Storage of each variant's genome (shapes only): evolved genes and network parameters (float32
    bytes) against a full-length seed list after ``num_generations`` generations (one 8-byte key for
    the initial network plus one per generation's mutation)."""
    rows = []
    for variant in variants:
        _, layout = setup_variant(variant, vocab_size, model_overrides={"num_blocks": num_blocks},
                                  ranks=variant_ranks(variant, rank, embedding_rank))
        seed_bytes = 8 * (num_generations + 1)
        rows.append({"variant": variant, "num_params": layout.num_params, "num_genes": layout.num_genes,
                     "network_bytes": 4 * layout.num_params, "genotype_bytes": 4 * layout.num_genes,
                     "seed_list_bytes": seed_bytes, "compression": 4 * layout.num_params / seed_bytes})
    return pd.DataFrame(rows)


def last_generation(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per (variant, seed): the last generation (where the paper's scripts test)."""
    last = curves.groupby("variant").generation.transform("max")
    return curves[curves.generation == last].reset_index(drop=True)


def per_seed_outcomes(curves: pd.DataFrame, tail_fraction: float = 0.1) -> pd.DataFrame:
    """One row per (variant, seed): ``final_neg_ce`` (best individual at the last generation) and the
    mutation effects of the last ``tail_fraction`` of the generations (at least the last one):
    ``deleterious_fraction`` (children weighted equally per generation) and ``deleterious_magnitude``
    (mean loss increase of the deleterious children, nats)."""
    if not 0 < tail_fraction <= 1:
        raise ValueError(f"tail_fraction must be in (0, 1]; got {tail_fraction}")
    rows = []
    for (variant, seed), run in curves.groupby(["variant", "seed"], sort=False):
        last = run.generation.max()
        tail = run[run.generation > last - max(1, round(tail_fraction * (last + 1)))]
        rows.append({"variant": variant, "seed": seed, "generation": last,
                     "final_neg_ce": float(run[run.generation == last].best_neg_ce.iloc[0]),
                     "deleterious_fraction": float(tail.deleterious_fraction.mean()),
                     "deleterious_magnitude": float(tail.deleterious_magnitude.mean()),
                     "tail_generations": len(tail)})
    return pd.DataFrame(rows)


def glass_delta_original(a: np.ndarray, control: np.ndarray) -> float:
    """Glass's delta as the paper's ``p-values.py``: (mean(a) - mean(control)) / np.std(control)
    (population standard deviation, ddof = 0)."""
    a, control = np.asarray(a, float), np.asarray(control, float)
    spread = control.std()
    return float((a.mean() - control.mean()) / spread) if spread > 0 else float("nan")


def kruskal_wallis(outcomes: pd.DataFrame, variants: Sequence[str] = ("dense", "lowrank", "small"),
                   column: str = "final_neg_ce") -> dict:
    """Kruskal-Wallis H test over ``variants`` (the paper's three main ones) at the last generation."""
    from scipy import stats as sps

    groups = [outcomes[outcomes.variant == v][column].to_numpy(float) for v in variants]
    if len(groups) < 2 or any(g.size == 0 for g in groups):
        return {"variants": ", ".join(variants), "statistic": float("nan"), "p_value": float("nan")}
    try:
        statistic, p_value = sps.kruskal(*groups)
    except ValueError:  # all values identical
        statistic, p_value = float("nan"), float("nan")
    return {"variants": ", ".join(variants), "statistic": float(statistic), "p_value": float(p_value),
            "n": ", ".join(str(g.size) for g in groups)}


CLAIMS = (
    # (family, metric column, factorized variant, comparator, claimed sign of factorized - comparator)
    ("Factorized >= dense on language modelling", "final_neg_ce", "lowrank", "dense", +1),
    ("Factorized >= dense on language modelling", "final_neg_ce", "rank1", "dense", +1),
    ("Factorized >= small dense", "final_neg_ce", "lowrank", "small", +1),
    ("Factorized >= small dense of similar evolved size", "final_neg_ce", "rank1", "small", +1),
    ("Factorized mutations are more often deleterious", "deleterious_fraction", "lowrank", "dense", +1),
    ("Factorized mutations are more often deleterious", "deleterious_fraction", "rank1", "dense", +1),
    ("Factorized mutations are more strongly deleterious", "deleterious_magnitude", "lowrank", "dense", +1),
    ("Factorized mutations are more strongly deleterious", "deleterious_magnitude", "rank1", "dense", +1),
)
"""The claims Study C tests, each as a difference of per-seed means (factorized minus comparator)."""


def study_c_claims(outcomes: pd.DataFrame, seed: int = 0, families: Sequence[str] | None = None,
                   ) -> pd.DataFrame:
    """Every claim of :data:`CLAIMS` whose variants are in ``outcomes`` (see :func:`per_seed_outcomes`).

    The effect is mean(factorized) - mean(comparator) over seeds with a 95% percentile-bootstrap
    interval and the shared verdict rule (:func:`nevolab.stats.verdict`); next to it the statistics of
    the paper's ``p-values.py``: the two-sided Wilcoxon rank-sum p-value (``scipy.stats.ranksums``) and
    Glass's delta with the comparator as control (``np.std``, ddof 0).
    """
    from scipy import stats as sps

    from nevolab.stats import bootstrap_mean_difference, verdict

    rows = []
    for family, column, factorized, comparator, sign in CLAIMS:
        if families is not None and family not in families:
            continue
        a = outcomes[outcomes.variant == factorized][column].dropna().to_numpy(float)
        b = outcomes[outcomes.variant == comparator][column].dropna().to_numpy(float)
        if a.size < 2 or b.size < 2:
            continue
        effect, low, high = bootstrap_mean_difference(a, b, seed=seed)
        rows.append({
            "claim": family, "comparison": f"{factorized} vs {comparator}", "metric": column,
            "factorized": a.mean(), "comparator": b.mean(), "effect": effect, "low": low, "high": high,
            "ranksums_p": float(sps.ranksums(a, b).pvalue), "glass_delta": glass_delta_original(a, b),
            "verdict": verdict(low, high, sign), "n": f"{a.size} vs {b.size}",
        })
    return pd.DataFrame(rows)
