"""Study C's compiled runs: the Deep GA and the Adam reference on a small transformer language model.

A run is described whole by a frozen run config (:class:`LMRun`, :class:`AdamRun`; also the cache
key, see :mod:`nevolab.studies.c.runs`). :func:`make_train` turns an :class:`LMRun` into what
:func:`nevolab.runner.run_vmapped` needs (the purejaxrl shape: init and one generation step, seeds
vmapped, generations scanned); :func:`evolve` runs it. Fitness is the mean next-token cross-entropy
on a fixed set of token windows (minimised; the paper plots its negative). A second fixed set of
windows, never trained on, is scored on the best individual every ``heldout_every`` generations (and
on Adam's parameters as often), so memorisation shows against generalisation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from nevolab import runner
from nevolab.algorithms.deep_ga import DeepGA, DeepGAParams, DeepGAState
from nevolab.config import RunConfig
from nevolab.encodings import Encoding
from nevolab.lowrank import PAPER_VARIANTS, FactorizedEncoding
from nevolab.models.transformer import (
    CE_BLOCK_ROWS,
    TransformerConfig,
    fast_cross_entropy,
    init_params,
    token_cross_entropy,
)
from nevolab.studies.c.variants import check_variant, setup_variant
from nevolab.tasks.language import corpus_tokens, make_heldout_sequences, make_sequences

__all__ = [
    "AdamRun",
    "LMRun",
    "Train",
    "chunk_size_for",
    "evolve",
    "make_adam_train",
    "make_population_loss",
    "make_train",
    "prepare_heldout",
    "prepare_sequences",
    "train_adam",
]

CORPUS = "pydoc_topics"

CHUNK_BYTES = 1 << 22
"""Upper bound on the largest float32 activation one evaluation chunk holds (4 MiB): the attention
scores, the feed-forward hidden layer or the logits of its members. It sets the chunk size: on
XLA:CPU the forward is bound by memory traffic, and a chunk whose activations stay in cache runs
several times faster than one that streams them through main memory (benchmarks/bench_lowrank.py)."""


@dataclasses.dataclass(frozen=True)
class LMRun(RunConfig):
    """The Deep GA runs of one variant, all seeds: everything their numbers depend on.

    ``kind`` is ``"curves"`` for the run itself; the same run's per-child table is stored under
    ``dataclasses.replace(run, kind="children")``. The field names and JSON values are those of the
    cache keys the committed results were stored under, so they keep their file names.
    """

    KIND: ClassVar[str] = "study_c_runs"
    VERSION: ClassVar[int] = 2  # bump when a change changes a run's numbers

    kind: str
    variant: str
    population_size: int
    num_elites: int
    num_generations: int
    num_sequences: int
    sequence_length: int
    tokenizer: str
    seeds: tuple[int, ...]
    data_seed: int
    mutation_rate: float
    model_overrides: dict[str, Any]  # TransformerConfig fields, e.g. {"num_blocks": 1}
    ranks: tuple[int, int] | None  # (rank, embedding_rank) replacing a factorized variant's
    num_heldout: int  # held-out windows, disjoint from the training ones
    heldout_every: int  # generations between scorings of the best individual on them (and the last)

    def __post_init__(self) -> None:
        check_variant(self.variant)
        if self.num_generations < 1:
            raise ValueError(f"num_generations must be at least 1; got {self.num_generations}")
        if self.num_heldout < 1 or self.heldout_every < 1:
            raise ValueError(f"num_heldout and heldout_every must be at least 1; got {self.num_heldout} "
                             f"and {self.heldout_every}")
        if len(self.seeds) < 1:
            raise ValueError("seeds must hold at least one seed")
        if not 1 <= self.num_elites < self.population_size:
            raise ValueError(f"num_elites must be in [1, {self.population_size - 1}]; got {self.num_elites}")

    def __hash__(self) -> int:  # model_overrides is a dict (the key's JSON form), so hash the key
        return hash(self.hash())


@dataclasses.dataclass(frozen=True)
class AdamRun(RunConfig):
    """Full-batch Adam on the dense model, same windows, all seeds (the backprop reference)."""

    KIND: ClassVar[str] = "study_c_runs"
    VERSION: ClassVar[int] = 2  # v2: the held-out windows scored every eval_every steps

    kind: str
    num_steps: int
    learning_rate: float
    num_sequences: int
    sequence_length: int
    tokenizer: str
    seeds: tuple[int, ...]
    data_seed: int
    eval_every: int
    model_overrides: dict[str, Any]
    num_heldout: int

    def __post_init__(self) -> None:
        if self.num_steps < 1:
            raise ValueError(f"num_steps must be at least 1; got {self.num_steps}")
        if self.eval_every < 1:
            raise ValueError(f"eval_every must be at least 1; got {self.eval_every}")
        if self.num_heldout < 1:
            raise ValueError(f"num_heldout must be at least 1; got {self.num_heldout}")
        if len(self.seeds) < 1:
            raise ValueError("seeds must hold at least one seed")

    def __hash__(self) -> int:
        return hash(self.hash())


def prepare_sequences(tokenizer: str = "char", num_sequences: int = 16, sequence_length: int = 64,
                      data_seed: int = 0) -> tuple[np.ndarray, int]:
    """The fixed windows ``(num_sequences, sequence_length + 1)`` and the model vocabulary size."""
    tokens, vocab_size = corpus_tokens(tokenizer, CORPUS)
    return make_sequences(tokens, num_sequences, sequence_length, data_seed), vocab_size


def prepare_heldout(tokenizer: str, num_sequences: int, num_heldout: int, sequence_length: int,
                    data_seed: int = 0) -> np.ndarray:
    """The held-out windows ``(num_heldout, sequence_length + 1)``, disjoint from the training ones."""
    tokens, _ = corpus_tokens(tokenizer, CORPUS)
    return make_heldout_sequences(tokens, num_sequences, num_heldout, sequence_length, data_seed)


def chunk_size_for(num_sequences: int, sequence_length: int, vocab_size: int, largest: int = 16,
                   config: TransformerConfig | None = None, copies: int = 1) -> int:
    """Individuals evaluated at once (vmapped) inside the population loss: a power of two, at most
    ``largest``, fewer when the largest activation (attention scores, feed-forward hidden layer or
    logits of ``CE_BLOCK_ROWS`` positions of ``config``; the paper's model when None) of one
    individual times ``copies`` (populations
    vmapped around the loss, e.g. seeds) would exceed :data:`CHUNK_BYTES`."""
    c = config or TransformerConfig(vocab_size=vocab_size)
    tokens = num_sequences * sequence_length
    largest_activation = 4 * max(num_sequences * c.num_heads * sequence_length**2, tokens * c.ff_dim,
                                 min(tokens, CE_BLOCK_ROWS) * vocab_size)
    fits = max(1, min(largest, CHUNK_BYTES // (largest_activation * copies)))
    return 1 << (fits.bit_length() - 1)  # a power of two divides the usual populations: no remainder


def make_population_loss(encoding: Encoding, config: TransformerConfig, chunk_size: int | None = None,
                         plain: bool = False, block_rows: int = CE_BLOCK_ROWS
                         ) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``(population (N, num_genes), sequences) -> losses (N,)``: each genotype's mean next-token
    cross-entropy. ``lax.map`` over chunks of ``chunk_size`` individuals (vmapped inside a chunk;
    None: :func:`chunk_size_for` the sequences) bounds the activation memory.

    The forward is :func:`~nevolab.models.transformer.fast_cross_entropy`, on factors where the
    encoding keeps them (:class:`~nevolab.lowrank.FactorizedEncoding`); ``plain``: the flax forward on
    the decoded dense weights instead (the reference the fast one is tested against). ``block_rows``:
    the token positions whose logits the fast forward forms at once.
    """
    if plain:
        decode, loss = encoding.decode, token_cross_entropy
    else:
        decode = encoding.decode_factors if isinstance(encoding, FactorizedEncoding) else encoding.decode

        def loss(params: Any, sequences: jax.Array, config: TransformerConfig) -> jax.Array:
            return fast_cross_entropy(params, sequences, config, block_rows)

    def population_loss(population: jax.Array, sequences: jax.Array) -> jax.Array:
        def one(genotype: jax.Array) -> jax.Array:
            return loss(decode(genotype), sequences, config)

        size = chunk_size or chunk_size_for(sequences.shape[-2], sequences.shape[-1] - 1, config.vocab_size,
                                            config=config)
        return jax.lax.map(one, population, batch_size=min(size, population.shape[0]))

    return population_loss


@struct.dataclass
class CommittedKeyState:
    """A Deep GA state plus the generation keys of the committed runs' key schedule."""

    ga: DeepGAState
    generation_keys: jax.Array  # (num_generations, 2) uint32: split(loop key, num_generations)


class RecordingDeepGA:
    """The Deep GA as Study C runs it: the committed runs' keys, and every child recorded.

    The committed runs split each seed's key into (init, state, loop) keys and used
    ``split(loop key, num_generations)[g]`` for both ask and tell of generation ``g``; this adapter
    keeps that schedule (the runner's own keys would change every committed number). The per-child
    records (``child_loss``, ``child_effect``, ``best_seed_length``) are the Deep GA's own metrics.
    """

    def __init__(self, ga: DeepGA):
        self.ga = ga

    def ask(self, key: jax.Array, state: CommittedKeyState, params: DeepGAParams
            ) -> tuple[jax.Array, CommittedKeyState]:
        del key  # the committed schedule's key instead
        population, ga_state = self.ga.ask(_generation_key(state), state.ga, params)
        return population, state.replace(ga=ga_state)

    def tell(self, key: jax.Array, population: jax.Array, fitness: jax.Array, state: CommittedKeyState,
             params: DeepGAParams) -> tuple[CommittedKeyState, dict[str, jax.Array]]:
        del key
        ga_state, metrics = self.ga.tell(_generation_key(state), population, fitness, state.ga, params)
        return state.replace(ga=ga_state), metrics


def _generation_key(state: CommittedKeyState) -> jax.Array:
    return state.generation_keys[state.ga.generation_counter]


class Train(NamedTuple):
    """What :func:`nevolab.runner.run_vmapped` needs for one :class:`LMRun`, plus its genome layout."""

    init_fn: Callable[[jax.Array], CommittedKeyState]
    step: runner.StepFn
    keys: jax.Array  # (num_seeds, 2): PRNGKey(seed) per seed
    data: tuple[jax.Array, jax.Array]  # the fixed training windows and the held-out windows
    num_genes: int
    num_params: int


def make_train(run: LMRun) -> Train:
    """The Deep GA of ``run`` in the runner's shape: init, one generation step, keys and data."""
    sequences, vocab_size = prepare_sequences(run.tokenizer, run.num_sequences, run.sequence_length,
                                              run.data_seed)
    config, layout = setup_variant(run.variant, vocab_size, run.mutation_rate, run.model_overrides,
                                   run.ranks)
    ga = DeepGA(run.population_size, layout.num_genes, run.num_elites, layout.mutation_scales,
                max_generations=run.num_generations)
    params = ga.default_params
    # the seeds are vmapped around the loss (evolve): each chunk holds its members for every seed
    loss = make_population_loss(layout.encoding, config,
                                chunk_size_for(run.num_sequences, run.sequence_length, vocab_size,
                                               config=config, copies=len(run.seeds)))
    seed_keys = jnp.stack([jax.random.PRNGKey(int(seed)) for seed in run.seeds])
    # run_vmapped hands init_fn the second half of split(seed key); the committed runs drew from
    # split(seed key, 3) instead, so init_fn finds its seed key by that half.
    runner_init_keys = jax.vmap(lambda key: jax.random.split(key)[1])(seed_keys)

    def init_fn(init_key: jax.Array) -> CommittedKeyState:
        seed_key = seed_keys[jnp.argmax(jnp.all(runner_init_keys == init_key, axis=-1))]
        key_init, key_state, key_loop = jax.random.split(seed_key, 3)
        population, init_keys = ga.sample_initial(key_init, layout.init_fn)
        state = ga.init(key_state, population, jnp.full((run.population_size,), jnp.inf), params, init_keys)
        return CommittedKeyState(ga=state, generation_keys=jax.random.split(key_loop, run.num_generations))

    generation_step = runner.make_generation_step(
        RecordingDeepGA(ga), params, lambda genotypes, generation, data: loss(genotypes, data[0]))
    heldout_loss = make_population_loss(layout.encoding, config, 1)

    def step(state: CommittedKeyState, keys: Any, generation: jax.Array, data: tuple[jax.Array, jax.Array]
             ) -> tuple[CommittedKeyState, dict[str, jax.Array]]:
        state, metrics = generation_step(state, keys, generation, data)
        due = (generation % run.heldout_every == 0) | (generation == run.num_generations - 1)
        # generation is not batched over seeds, so under vmap this stays a branch: off-generations skip it
        metrics["heldout_loss"] = jax.lax.cond(
            due, lambda: heldout_loss(state.ga.best_solution[None], data[1])[0].astype(jnp.float32),
            lambda: jnp.float32(jnp.nan))
        return state, metrics

    step.derive_keys = generation_step.derive_keys  # type: ignore[attr-defined]
    heldout = prepare_heldout(run.tokenizer, run.num_sequences, run.num_heldout, run.sequence_length,
                              run.data_seed)
    return Train(init_fn, step, seed_keys, (jnp.asarray(sequences), jnp.asarray(heldout)),
                 layout.num_genes, layout.num_params)


def evolve(run: LMRun, checkpoint: Path | None = None, chunk_length: int | None = None
           ) -> tuple[Train, dict[str, np.ndarray]]:
    """Every seed of ``run`` (vmapped): its :class:`Train` and the per-generation metrics, arrays
    ``(seeds, generations[, population])``.

    Without ``checkpoint`` or ``chunk_length``: one compiled program, initialisation included, which
    gives the committed numbers bit for bit. With them: :func:`nevolab.runner.run_vmapped`, saved
    after every chunk and resumed after a kill with numbers identical to an uninterrupted chunked
    run; those differ from the one-program numbers in the last float32 digits, because XLA compiles
    the population's loss differently when the initial states enter the program as arguments.
    """
    train = make_train(run)
    if checkpoint is None and chunk_length is None:
        return train, _evolve_in_one_program(train, run.num_generations)
    program = runner.Program(train.init_fn, train.step, train.data)
    _, metrics = runner.run_vmapped(program, train.keys, run.num_generations, chunk_length=chunk_length,
                                    checkpoint=checkpoint)
    return train, metrics


def _evolve_in_one_program(train: Train, num_generations: int) -> dict[str, np.ndarray]:
    """The runner's scan (:func:`nevolab.runner.make_chunk`) over all generations with the
    initialisation in the same compiled program, seeds vmapped; keys split as run_vmapped does."""
    chunk = runner.make_chunk(train.step, num_generations)

    def one(key: jax.Array, data: jax.Array) -> dict[str, jax.Array]:
        run_key, init_key = jax.random.split(key)
        return chunk(train.init_fn(init_key), run_key, jnp.int32(0), data)[1]

    metrics = jax.jit(jax.vmap(one, in_axes=(0, None)))(train.keys, train.data)
    return jax.tree_util.tree_map(np.asarray, metrics)


def make_adam_train(run: AdamRun
                    ) -> Callable[[jax.Array], tuple[jax.Array, jax.Array, jax.Array, jax.Array]]:
    """``train(key) -> (loss before each step (num_steps,), final loss, held-out loss before each step
    (num_steps,; NaN but every eval_every-th), final held-out loss)``: full-batch Adam on the dense
    model from the initialisation of ``key``."""
    sequences, vocab_size = prepare_sequences(run.tokenizer, run.num_sequences, run.sequence_length,
                                              run.data_seed)
    sequences = jnp.asarray(sequences)
    heldout = jnp.asarray(prepare_heldout(run.tokenizer, run.num_sequences, run.num_heldout,
                                          run.sequence_length, run.data_seed))
    config = TransformerConfig(vocab_size=vocab_size, **{**PAPER_VARIANTS["dense"]["model"],
                                                         **run.model_overrides})
    optimizer = optax.adam(run.learning_rate)

    def train(key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
        params = init_params(config, key)

        def step(carry: tuple[Any, Any], t: jax.Array) -> tuple[tuple[Any, Any], tuple[jax.Array, jax.Array]]:
            params, opt_state = carry
            # t is not batched over seeds, so under vmap this stays a branch
            heldout_loss = jax.lax.cond(t % run.eval_every == 0,
                                        lambda: token_cross_entropy(params, heldout, config),
                                        lambda: jnp.float32(jnp.nan))
            loss, grads = jax.value_and_grad(token_cross_entropy)(params, sequences, config)
            updates, opt_state = optimizer.update(grads, opt_state)
            return (optax.apply_updates(params, updates), opt_state), (loss, heldout_loss)

        carry = (params, optimizer.init(params))
        (params, _), (losses, heldout_losses) = jax.lax.scan(step, carry, jnp.arange(run.num_steps))
        return (losses, token_cross_entropy(params, sequences, config), heldout_losses,
                token_cross_entropy(params, heldout, config))

    return train


def train_adam(run: AdamRun) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every seed of ``run`` (vmapped): training losses before each step (seeds, num_steps) and final
    (seeds,), then the same on the held-out windows (NaN but every ``eval_every``-th step)."""
    keys = jnp.stack([jax.random.PRNGKey(int(seed)) for seed in run.seeds])
    outputs = jax.jit(jax.vmap(make_adam_train(run)))(keys)
    return tuple(np.asarray(output) for output in outputs)  # type: ignore[return-value]
