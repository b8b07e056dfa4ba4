"""Iterative pruning for evolution strategies (Lange & Sprekeler 2023, "Lottery Tickets in
Evolutionary Optimization"): criteria, global masks, and the train → prune → rewind loop.

The loop (``run_es.py`` of the original, see ``originals.md`` §2.1)::

    θ₀ = init(seed); mask = dense
    for round r = 0, 1, ..., rounds-1:
        train an ES on the unmasked weights only, starting from the round's start values,
            with the search std re-initialised to the strategy's σ₀
        score every weight from the FINAL search mean (and std), prune globally
        rewind the survivors to θ₀ (or to a control's transformed values)

**Sparsity schedule.** Round ``r`` trains a network with ``(1 - prune_fraction)**r`` of its prunable
weights (kernels; biases are never pruned). With the paper's ``prune_fraction = 0.2`` and 20 rounds the
trained networks have 100 %, 80 %, ..., 0.8¹⁹ = **1.44 %** of their weights, the x-ticks of the paper's
figures (``[100, 32.77, 10.74, 3.52, 1.44]`` = 0.8^{0,5,10,15,19}). The 0.8²⁰ ≈ 1.15 % that a naive
count gives is the mask computed *after* the last round, which the original never trains: its iteration
0 is the dense mask and ``imp_iter_sparsity(i) = 1 - 0.8**i`` for the mask trained at iteration i+1.
The percentages are of the prunable weights, as in the original (``prunable_sparsity``).

**Exact counts.** The original thresholds at ``jnp.percentile(scores, sparsity*100)`` over all
prunable weights (pruned ones included, they score lowest) and keeps ``score >= threshold``; with ties
and interpolation the kept count can differ slightly between seeds. Here round ``r`` keeps exactly
``round(N * (1-f)**r)`` weights (ties go to the lower flat index), so every seed has the same genotype
length and a whole round can be ``vmap``-ed over seeds.

**Criteria** are registered by name (:data:`CRITERIA`, :func:`register_criterion`); each is a score
function over :class:`PruneInputs` plus how candidates are chosen and how the next start values
are made (rewind, re-initialise, permute). Registered: ``magnitude`` (ES-IMP, the original's
``final-ticket``), ``snr`` and ``snr_faithful`` (``sig2noise``), ``random`` (``random-reinit``),
``permute_values`` (``final-ticket_permute``, "mask/permuted"), ``permute_mask`` (
``final_permute-ticket_permute``, "permuted/permuted"), ``mask_reinit`` and ``movement``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
from flax import struct
from jax.flatten_util import ravel_pytree

from nevolab.algorithms.base import materialize
from nevolab.masked import flatten_mask, scatter_genotype

PyTree = Any

# --------------------------------------------------------------------------------------------
# Strategies (evosax 0.3.2) and their per-dimension search std
# --------------------------------------------------------------------------------------------

STRATEGIES = ("Sep_CMA_ES", "SNES", "PGPE", "DES")


@dataclasses.dataclass(frozen=True)
class ESConfig:
    """One evosax strategy with the knobs the original tuned (``src/es/tuned_hparams``).

    Attributes:
        strategy: one of :data:`STRATEGIES` (evosax class names; ``DES`` is ``DiscoveredES``).
        population_size: members per generation (even for PGPE).
        generations: generations per pruning round.
        std_init: σ₀, the initial search std (re-initialised every round).
        temperature: SNES/DES rank-weight temperature (evosax 0.1.x ``temperature``: DES-style
            sigmoid weights). ``None`` keeps evosax 0.3.2's default weights.
        elite_ratio: Sep-CMA-ES share of positively weighted members (``None`` = 0.5).
        learning_rate, lr_decay, lr_limit: PGPE's Adam learning rate, multiplied by ``lr_decay``
            every generation down to ``lr_limit`` (evosax 0.1.x ``lrate_*``).
        std_decay, std_limit: PGPE's std, multiplied by ``std_decay`` after every update and
            floored at ``std_limit`` (evosax 0.1.x ``sigma_decay``/``sigma_limit``).
        mean_decay: the mean shrinks by ``(1 - mean_decay)`` after every update (the original's
            ``es_config.mean_decay``, 1e-4 for gymnax and MNIST).
    """

    strategy: str
    population_size: int
    generations: int
    std_init: float
    temperature: float | None = None
    elite_ratio: float | None = None
    learning_rate: float | None = None
    lr_decay: float = 1.0
    lr_limit: float = 0.0
    std_decay: float = 1.0
    std_limit: float = 0.0
    mean_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; valid: {', '.join(STRATEGIES)}")
        if int(self.population_size) < 4:
            raise ValueError(f"population_size must be at least 4; got {self.population_size}")
        if self.strategy == "PGPE" and self.population_size % 2:
            raise ValueError(f"population_size must be even for PGPE; got {self.population_size}")
        if int(self.generations) < 1:
            raise ValueError(f"generations must be at least 1; got {self.generations}")
        if not self.std_init > 0:
            raise ValueError(f"std_init must be positive; got {self.std_init}")
        if self.elite_ratio is not None and not 0 < self.elite_ratio <= 0.5:
            raise ValueError(f"elite_ratio must be in (0, 0.5]; got {self.elite_ratio}")
        if not 0 <= self.mean_decay < 1:
            raise ValueError(f"mean_decay must be in [0, 1); got {self.mean_decay}")


def _temperature_weights(population_size: int, temperature: float) -> jax.Array:
    """evosax's DES rank weights (best first): softmax(-20 sigmoid(T * centred rank))."""
    from evosax.algorithms.distribution_based.discovered_es import get_weights

    return get_weights(population_size, temperature)


def build_strategy(config: ESConfig, num_genes: int) -> tuple[Any, Any]:
    """The evosax strategy and its params for a flat genotype of ``num_genes`` entries."""
    from evosax.algorithms import PGPE, SNES, DiscoveredES, Sep_CMA_ES

    solution = jnp.zeros((num_genes,), jnp.float32)
    if config.strategy == "Sep_CMA_ES":
        es = Sep_CMA_ES(config.population_size, solution)
        if config.elite_ratio is not None:
            # evosax reads elite_ratio when it builds default_params (mu_eff, learning rates);
            # the rank weights themselves must be truncated to the elite by hand.
            es.elite_ratio = config.elite_ratio
        params = es.default_params
        if config.elite_ratio is not None:
            mu = es.num_elites
            prime = jnp.log((config.population_size + 1) / 2) - jnp.log(jnp.arange(1, mu + 1))
            weights = jnp.zeros(config.population_size).at[:mu].set(prime / prime.sum())
            params = params.replace(weights=weights)
        params = params.replace(std_init=jnp.asarray(config.std_init, jnp.float32))
    elif config.strategy == "SNES":
        es = SNES(config.population_size, solution)
        params = es.default_params.replace(std_init=jnp.asarray(config.std_init, jnp.float32))
        if config.temperature is not None:
            params = params.replace(weights=_temperature_weights(config.population_size, config.temperature))
    elif config.strategy == "DES":
        es = DiscoveredES(config.population_size, solution)
        if config.temperature is not None:
            es.temperature = config.temperature
        params = es.default_params.replace(std_init=config.std_init)
    else:
        lr = 0.01 if config.learning_rate is None else config.learning_rate
        schedule = (optax.constant_schedule(lr) if config.lr_decay == 1.0 else
                    optax.exponential_decay(lr, 1, config.lr_decay, end_value=config.lr_limit))
        es = PGPE(config.population_size, solution, optimizer=optax.adam(schedule))
        params = es.default_params.replace(std_init=config.std_init)
    return es, params


def search_std(strategy: str, state: Any, faithful: bool = False) -> jax.Array:
    """The per-dimension search std σ of a strategy state (``stack.md`` §1.3).

    SNES, PGPE and DES keep a vector ``state.std``. Sep-CMA-ES samples ``mean + std * sqrt(C) * z``,
    so its marginal std is ``std * sqrt(C)``. ``faithful=True`` returns what the original divided
    by for Sep-CMA-ES (``masked_es.py``: ``flat_to_sigma(es_state.C)``): the diagonal covariance
    ``C`` itself, without the global step size and without the square root.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    if strategy == "Sep_CMA_ES":
        return state.C if faithful else state.std * jnp.sqrt(state.C)
    return state.std


def _after_tell(config: ESConfig, state: Any) -> Any:
    """The evosax 0.1.x decays that 0.3.2 no longer has (mean decay, PGPE std decay)."""
    if config.mean_decay:
        state = state.replace(mean=state.mean * (1.0 - config.mean_decay))
    if config.strategy == "PGPE" and config.std_decay != 1.0:
        state = state.replace(std=jnp.maximum(state.std * config.std_decay, config.std_limit))
    return state


# --------------------------------------------------------------------------------------------
# Criteria
# --------------------------------------------------------------------------------------------


@struct.dataclass
class PruneInputs:
    """Everything a criterion may look at, as flat vectors over all parameters (one seed).

    ``final_std`` is +inf at pruned positions, so their SNR is 0 (the original used 1e20).
    """

    final_mean: jax.Array  # (P,) final ES mean, 0 where pruned
    final_std: jax.Array  # (P,) per-dimension σ (Sep-CMA-ES: std*sqrt(C))
    final_std_faithful: jax.Array  # (P,) what the original divided by (Sep-CMA-ES: C)
    start_values: jax.Array  # (P,) the values this round started from
    mask: jax.Array  # (P,) bool, the mask this round trained with


ScoreFn = Callable[[PruneInputs, jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True)
class Criterion:
    """A pruning criterion.

    Attributes:
        name: registry key.
        score: ``(inputs, key) -> (P,) scores``; the highest-scoring candidates survive.
        candidates: ``"remaining"`` (only weights that survived so far can survive again) or
            ``"all"`` (every prunable weight, as for the random-mask control).
        rewind: how the next round's start values are made: ``"init"`` (the surviving weights of
            θ₀), ``"reinit"`` (a fresh initialisation), ``"permute_values"`` (θ₀'s surviving values
            shuffled within each layer), ``"permute_mask"`` (the mask is also shuffled within each
            layer, keeping each layer's sparsity).
        description: one line for tables and docs.
    """

    name: str
    score: ScoreFn
    candidates: Literal["remaining", "all"] = "remaining"
    rewind: Literal["init", "reinit", "permute_values", "permute_mask"] = "init"
    description: str = ""


CRITERIA: dict[str, Criterion] = {}

REWINDS = ("init", "reinit", "permute_values", "permute_mask")


def register_criterion(criterion: Criterion, overwrite: bool = False) -> Criterion:
    """Add a criterion to :data:`CRITERIA` (e.g. SNIP later). Returns it."""
    if criterion.candidates not in ("remaining", "all"):
        raise ValueError(f"candidates must be 'remaining' or 'all'; got {criterion.candidates!r}")
    if criterion.rewind not in REWINDS:
        raise ValueError(f"rewind must be one of {', '.join(REWINDS)}; got {criterion.rewind!r}")
    if criterion.name in CRITERIA and not overwrite:
        raise ValueError(f"criterion {criterion.name!r} is already registered")
    CRITERIA[criterion.name] = criterion
    return criterion


def get_criterion(name: str) -> Criterion:
    """The registered criterion ``name``; ValueError naming the valid ones otherwise."""
    if name not in CRITERIA:
        raise ValueError(f"unknown criterion {name!r}; valid: {', '.join(sorted(CRITERIA))}")
    return CRITERIA[name]


def magnitude_score(inputs: PruneInputs, key: jax.Array) -> jax.Array:
    """|θ_final|: iterative magnitude pruning."""
    del key
    return jnp.abs(inputs.final_mean)


def snr_score(inputs: PruneInputs, key: jax.Array) -> jax.Array:
    """|μ_final| / σ_final, σ the per-dimension search std."""
    del key
    return jnp.abs(inputs.final_mean) / inputs.final_std


def snr_faithful_score(inputs: PruneInputs, key: jax.Array) -> jax.Array:
    """|μ_final| / σ as the original computed it (for Sep-CMA-ES: divided by C)."""
    del key
    return jnp.abs(inputs.final_mean) / inputs.final_std_faithful


def random_score(inputs: PruneInputs, key: jax.Array) -> jax.Array:
    """Uniform random scores: a sparsity-matched random mask."""
    return jax.random.uniform(key, inputs.final_mean.shape)


def movement_score(inputs: PruneInputs, key: jax.Array) -> jax.Array:
    """|θ_final − θ_start|: how far training moved each weight."""
    del key
    return jnp.abs(inputs.final_mean - inputs.start_values)


for _criterion in (
    Criterion("magnitude", magnitude_score, description="ES-IMP: |final mean|, rewind to init"),
    Criterion("snr", snr_score, description="ES-SNR: |final mean| / search std, rewind to init"),
    Criterion("snr_faithful", snr_faithful_score,
              description="ES-SNR as the original code (Sep-CMA-ES divides by C), rewind to init"),
    Criterion("random", random_score, candidates="all", rewind="reinit",
              description="ES-Random: sparsity-matched random mask over all kernels, fresh init"),
    Criterion("permute_values", magnitude_score, rewind="permute_values",
              description="mask/permuted: magnitude mask, init values shuffled within layers"),
    Criterion("permute_mask", magnitude_score, rewind="permute_mask",
              description="permuted/permuted: mask and init values shuffled within layers"),
    Criterion("mask_reinit", magnitude_score, rewind="reinit",
              description="magnitude mask, fresh init"),
    Criterion("movement", movement_score, description="|final − start|, rewind to init"),
):
    register_criterion(_criterion)

#: The original repository's ``baseline_name`` for each criterion.
ORIGINAL_NAMES = {
    "magnitude": "final-ticket",
    "snr": "sig2noise",
    "snr_faithful": "sig2noise",
    "random": "random-reinit",
    "permute_values": "final-ticket_permute",
    "permute_mask": "final_permute-ticket_permute",
    "mask_reinit": "mask-reinit",
    "movement": "movement",
}

# --------------------------------------------------------------------------------------------
# Masks
# --------------------------------------------------------------------------------------------


def _leaf_name(path: tuple) -> str:
    last = path[-1] if path else None
    for attr in ("key", "name", "idx"):
        if hasattr(last, attr):
            return str(getattr(last, attr))
    return str(last)


def default_prunable(params: PyTree) -> PyTree:
    """One bool per leaf: every leaf except those named ``bias`` (the original's rule)."""
    return jax.tree_util.tree_map_with_path(lambda path, _: _leaf_name(path) != "bias", params)


def prunable_flat(template: PyTree, prunable: PyTree | None = None) -> np.ndarray:
    """The prunable positions as a flat bool vector. ``prunable`` holds one bool per leaf or a bool
    array per leaf; ``None`` means :func:`default_prunable`."""
    if prunable is None:
        prunable = default_prunable(template)
    expanded = jax.tree_util.tree_map(
        lambda leaf, flag: np.broadcast_to(np.asarray(flag, bool), np.shape(leaf)), template, prunable
    )
    return flatten_mask(template, expanded)


def prunable_segments(template: PyTree, prunable: np.ndarray) -> tuple[tuple[int, int], ...]:
    """(start, stop) of every leaf in the flat vector that holds prunable weights (the "layers"
    within which the permutation controls shuffle)."""
    segments, start = [], 0
    for leaf in jax.tree_util.tree_leaves(template):
        stop = start + int(np.size(leaf))
        if stop > start and prunable[start:stop].any():
            segments.append((start, stop))
        start = stop
    return tuple(segments)


def kept_counts(num_prunable: int, prune_fraction: float, rounds: int) -> np.ndarray:
    """Prunable weights trained in rounds 0..rounds-1: ``round(N (1-f)^r)``, at least 1."""
    _check_fraction(prune_fraction)
    return np.array(
        [max(1, math.floor(num_prunable * (1.0 - prune_fraction) ** r + 0.5)) for r in range(rounds)],
        dtype=np.int64,
    )


def _check_fraction(prune_fraction: float) -> None:
    if not 0.0 < float(prune_fraction) < 1.0:
        raise ValueError(f"prune_fraction must be in (0, 1) (the paper uses 0.2); got {prune_fraction}")


def top_k_mask(scores: jax.Array, candidates: jax.Array, num_keep: int | jax.Array) -> jax.Array:
    """Keep the ``num_keep`` highest-scoring candidates (one global threshold; NaN scores count as
    lowest; ties keep the lower index). Non-candidates are False. Jittable; ``num_keep`` may be
    traced (the mask is "rank < num_keep", so one compiled program serves every round)."""
    ranked = jnp.where(candidates & ~jnp.isnan(scores), scores, -jnp.inf)
    # Non-candidates must never outrank a candidate, even one scoring -inf.
    key = jnp.where(candidates, -ranked, jnp.inf)
    order = jnp.argsort(key, stable=True)
    rank = jnp.zeros(scores.shape, jnp.int32).at[order].set(jnp.arange(scores.size, dtype=jnp.int32))
    return (rank < num_keep) & candidates


def prune_mask(scores: PyTree, current_mask: PyTree, prune_fraction: float,
               prunable_tree: PyTree | None = None, num_keep: int | None = None) -> PyTree:
    """One global pruning step over all prunable (non-bias) weights.

    Removes ``prune_fraction`` of the prunable weights that are still unmasked (keeps
    ``round(remaining * (1 - prune_fraction))``, or exactly ``num_keep`` when given), by one
    threshold over the scores of all layers together. Non-prunable entries keep their current
    mask value; pruned weights stay pruned.

    Args:
        scores: pytree of per-weight scores (higher = keep), shaped like the parameters.
        current_mask: pytree of bools, same structure.
        prune_fraction: in (0, 1); 0.2 in the paper.
        prunable_tree: one bool (or bool array) per leaf; ``None`` = every non-``bias`` leaf.
        num_keep: overrides the count derived from ``prune_fraction``.

    Returns:
        The new boolean mask pytree.
    """
    _check_fraction(prune_fraction)
    flat_scores, unravel = ravel_pytree(scores)
    mask = flatten_mask(scores, current_mask)
    prunable = prunable_flat(scores, prunable_tree)
    remaining = int(np.sum(mask & prunable))
    if num_keep is None:
        num_keep = max(1, math.floor(remaining * (1.0 - prune_fraction) + 0.5)) if remaining else 0
    if not 0 <= num_keep <= remaining:
        raise ValueError(f"num_keep must be between 0 and the {remaining} remaining weights; got {num_keep}")
    kept = top_k_mask(flat_scores, jnp.asarray(mask & prunable), num_keep)
    new_flat = np.where(prunable, np.asarray(kept), mask)
    leaves, treedef = jax.tree_util.tree_flatten(scores)
    out, start = [], 0
    for leaf in leaves:
        stop = start + int(np.size(leaf))
        out.append(new_flat[start:stop].reshape(np.shape(leaf)))
        start = stop
    del unravel
    return jax.tree_util.tree_unflatten(treedef, out)


def _permute_values(key: jax.Array, values: jax.Array, mask: jax.Array,
                    segments: Sequence[tuple[int, int]]) -> jax.Array:
    """Shuffle the values at masked positions within each segment; other positions unchanged."""
    out = values
    for i, (a, b) in enumerate(segments):
        seg_values, seg_mask = values[a:b], mask[a:b]
        noise = jax.random.uniform(jax.random.fold_in(key, i), (b - a,))
        # First n entries of both orders are the n masked positions: ascending, and shuffled.
        dest = jnp.argsort(~seg_mask, stable=True)
        src = jnp.argsort(jnp.where(seg_mask, noise, 2.0), stable=True)
        out = out.at[a:b].set(seg_values.at[dest].set(seg_values[src]))
    return out


def _permute_mask_and_values(key: jax.Array, values: jax.Array, mask: jax.Array,
                             segments: Sequence[tuple[int, int]]) -> tuple[jax.Array, jax.Array]:
    """Shuffle the mask within each segment (keeping its sparsity), and place the segment's
    surviving values, in random order, at the new mask's positions."""
    new_mask, new_values = mask, values
    for i, (a, b) in enumerate(segments):
        k_mask, k_values = jax.random.split(jax.random.fold_in(key, i))
        seg_mask, seg_values = mask[a:b], values[a:b]
        seg_new_mask = seg_mask[jax.random.permutation(k_mask, b - a)]
        noise = jax.random.uniform(k_values, (b - a,))
        src = jnp.argsort(~seg_mask, stable=True)  # old survivors first
        dest = jnp.argsort(jnp.where(seg_new_mask, noise, 2.0), stable=True)  # new survivors first, shuffled
        placed = jnp.zeros_like(seg_values).at[dest].set(seg_values[src])
        new_mask = new_mask.at[a:b].set(seg_new_mask)
        new_values = new_values.at[a:b].set(jnp.where(seg_new_mask, placed, 0.0))
    return new_mask, new_values


def next_ticket(criterion: Criterion, inputs: PruneInputs, key: jax.Array, original_init: jax.Array,
                prunable: jax.Array, num_keep: int, segments: Sequence[tuple[int, int]],
                reinit: Callable[[jax.Array], jax.Array]) -> tuple[jax.Array, jax.Array]:
    """The next round's (mask, start values) for one seed. Jittable (``num_keep`` may be traced).

    ``reinit(key)`` returns a fresh flat initialisation (used by the ``reinit`` rewinds).
    Pruned positions of the start values are 0.
    """
    k_score, k_rewind = jax.random.split(key)
    scores = criterion.score(inputs, k_score)
    candidates = prunable & (inputs.mask if criterion.candidates == "remaining" else True)
    mask = top_k_mask(scores, candidates, num_keep) | ~prunable
    if criterion.rewind == "init":
        values = original_init
    elif criterion.rewind == "reinit":
        values = reinit(k_rewind)
    elif criterion.rewind == "permute_values":
        values = _permute_values(k_rewind, original_init, mask, segments)
    else:
        mask, values = _permute_mask_and_values(k_rewind, original_init, mask, segments)
    return mask, jnp.where(mask, values, 0.0)


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class PruningProblem:
    """What the pruning loop needs from a task.

    Attributes:
        name: identifies the task *and its settings* (it enters the checkpoint fingerprint).
        init_params: ``key -> params`` (a fresh network; also used by the re-init controls).
        train_loss: ``(params, key) -> scalar`` to minimise; the whole population of a generation
            is evaluated with the same key (same batch / same episodes).
        test_score: ``(params, key) -> scalar``, higher is better (accuracy, mean return).
        prunable: one bool per leaf (or bool arrays); ``None`` = every non-``bias`` leaf.
        population_chunk: evaluate the population this many members at a time (``lax.map``)
            instead of all at once (``vmap``), to bound memory (e.g. a CNN on 1,024 images per
            member); ``None`` = all at once.
    """

    name: str
    init_params: Callable[[jax.Array], PyTree]
    train_loss: Callable[[PyTree, jax.Array], jax.Array]
    test_score: Callable[[PyTree, jax.Array], jax.Array]
    prunable: PyTree | None = None
    population_chunk: int | None = None


@struct.dataclass
class TrainOutput:
    """One run's outcome of one round of ES training (stacked over runs by ``vmap``)."""

    test_score: jax.Array  # () test score of the final mean (the paper's reported number)
    test_score_best: jax.Array  # () test score of the best member seen in training
    min_loss_curve: jax.Array  # (G,) best training loss in each generation
    mean_loss_curve: jax.Array  # (G,) mean training loss of each generation
    final_mean: jax.Array  # (P,) 0 where pruned
    final_std: jax.Array  # (P,) +inf where pruned
    final_std_faithful: jax.Array  # (P,) +inf where pruned


def _round_keys(key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """(init, generations, test, prune) keys of one round, shared by training and pruning."""
    k_init, k_scan, k_test, k_prune = jax.random.split(key, 4)
    return k_init, k_scan, k_test, k_prune


@functools.lru_cache(maxsize=32)
def _make_train(problem: PruningProblem, config: ESConfig, num_genes: int) -> Callable:
    """``jit(vmap(train))``: one round of ES training on the unmasked coordinates, for a batch of
    runs ``(keys, masks, start_values) -> TrainOutput``.

    It does not depend on the pruning criterion, so all criteria of a study share one compiled
    program per round (the genotype length ``num_genes`` is the only shape that changes). Cached,
    so that a resumed run does not recompile.
    """
    template = problem.init_params(jax.random.PRNGKey(0))
    flat_template, unravel = ravel_pytree(template)
    num_params = int(flat_template.size)
    es, es_params = build_strategy(config, num_genes)
    background = jnp.zeros((num_params,), jnp.float32)
    inf = jnp.full((num_params,), jnp.inf, jnp.float32)

    def train_one(key, mask, start_values):
        k_init, k_scan, k_test, _ = _round_keys(key)
        indices = jnp.nonzero(mask, size=num_genes)[0]
        # Where each unmasked position's value sits in the genotype. Decoding gathers through it:
        # the same values as scattering the genotype to ``indices``, but XLA:CPU scatters a
        # population element by element and through a transposed copy, several times slower.
        positions = jnp.clip(jnp.cumsum(mask) - 1, 0, num_genes - 1)

        def decode_population(population):  # (members, num_genes) -> (members, num_params)
            # take_along_axis (a gather with the members as batch) writes members-major rows;
            # ``take(..., axis=1)`` made XLA build a genes-major array and transpose it.
            sources = jnp.broadcast_to(positions, (population.shape[0], num_params))
            return jnp.where(mask, jnp.take_along_axis(population, sources, axis=1), background)

        state = es.init(k_init, start_values[indices], es_params)

        def generation(state, k):
            k_ask, k_eval, k_tell = jax.random.split(k, 3)
            population, state = es.ask(k_ask, state, es_params)
            # Materialised once: otherwise XLA fuses the Gaussian sampling into each of its four
            # consumers (decoding and the strategy's tell) and computes it four times.
            population = materialize(population)

            def evaluate(flat_params):
                return problem.train_loss(unravel(flat_params), k_eval)

            members = decode_population(population)
            if problem.population_chunk is None:
                loss = jax.vmap(evaluate)(members)
            else:
                loss = jax.lax.map(evaluate, members, batch_size=problem.population_chunk)
            state, _ = es.tell(k_tell, population, loss, state, es_params)
            state = _after_tell(config, state)
            finite = jnp.where(jnp.isfinite(loss), loss, jnp.nan)
            return state, (jnp.nanmin(finite), jnp.nanmean(finite))

        state, (min_curve, mean_curve) = jax.lax.scan(
            generation, state, jax.random.split(k_scan, config.generations))
        std = jnp.broadcast_to(search_std(config.strategy, state), (num_genes,))
        std_faithful = jnp.broadcast_to(search_std(config.strategy, state, faithful=True), (num_genes,))
        final_mean = scatter_genotype(state.mean, indices, background)
        best = scatter_genotype(state.best_solution, indices, background)
        # One vmapped test evaluation for both networks: half the code for XLA to compile.
        scores = jax.vmap(lambda flat: problem.test_score(unravel(flat), k_test))(
            jnp.stack([final_mean, best]))
        return TrainOutput(
            test_score=scores[0],
            test_score_best=scores[1],
            min_loss_curve=min_curve,
            mean_loss_curve=mean_curve,
            final_mean=final_mean,
            final_std=scatter_genotype(std, indices, inf),
            final_std_faithful=scatter_genotype(std_faithful, indices, inf),
        )

    return jax.jit(jax.vmap(train_one))


@functools.lru_cache(maxsize=32)
def _make_prune(problem: PruningProblem, criterion: Criterion) -> Callable:
    """``jit(vmap(prune))``: the next (mask, start values) of a batch of runs of one criterion,
    ``(keys, masks, start_values, trained, original_init, num_keep) -> (masks, starts)``.

    ``num_keep`` is traced, so one compiled program serves every round."""
    template = problem.init_params(jax.random.PRNGKey(0))
    prunable = prunable_flat(template, problem.prunable)
    segments = prunable_segments(template, prunable)
    prunable_j = jnp.asarray(prunable)

    def reinit(key: jax.Array) -> jax.Array:
        return ravel_pytree(problem.init_params(key))[0].astype(jnp.float32)

    def prune_one(key, mask, start_values, trained: TrainOutput, original_init, num_keep):
        k_prune = _round_keys(key)[3]
        inputs = PruneInputs(final_mean=trained.final_mean, final_std=trained.final_std,
                             final_std_faithful=trained.final_std_faithful, start_values=start_values,
                             mask=mask)
        return next_ticket(criterion, inputs, k_prune, original_init, prunable_j, num_keep, segments,
                           reinit)

    # Cheap to run but slow to optimise (threefry for the re-initialisation, per-layer argsorts):
    # XLA's backend optimisations would cost seconds of compile time per criterion for nothing.
    return jax.jit(jax.vmap(prune_one, in_axes=(0, 0, 0, 0, 0, None)),
                   compiler_options={"xla_backend_optimization_level": 0})


_HISTORY = ("test_score", "test_score_best", "min_loss_curve", "mean_loss_curve", "final_mean",
            "final_std", "masks", "start_values")


@dataclasses.dataclass
class PruningResult:
    """All rounds of one pruning run, seeds stacked on axis 1.

    Arrays are indexed ``[round, seed, ...]``: ``test_score``/``test_score_best`` (R, S),
    ``min_loss_curve``/``mean_loss_curve`` (R, S, G), and the flat per-parameter ``masks`` (the mask
    each round TRAINED with), ``start_values`` (what it started from), ``final_mean``, ``final_std``
    (R, S, P). ``next_mask``/``next_start`` (S, P) are the ticket after the last round.
    """

    problem: str
    strategy: str
    criterion: str
    seeds: tuple[int, ...]
    prune_fraction: float
    num_params: int
    num_prunable: int
    kept: np.ndarray  # (R,) prunable weights trained in each round
    arrays: dict[str, np.ndarray]
    next_mask: np.ndarray
    next_start: np.ndarray

    @property
    def rounds(self) -> int:
        return int(self.kept.size)

    @property
    def weights_remaining(self) -> np.ndarray:
        """Percent of prunable weights trained in each round (100, 80, 64, ...)."""
        return 100.0 * self.kept / self.num_prunable

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per (seed, round)."""
        rows = []
        genes = self.num_params - self.num_prunable + self.kept
        for r in range(self.rounds):
            for s, seed in enumerate(self.seeds):
                rows.append({
                    "problem": self.problem,
                    "strategy": self.strategy,
                    "criterion": self.criterion,
                    "seed": seed,
                    "round": r,
                    "weights_remaining": float(self.weights_remaining[r]),
                    "weights_remaining_nominal": 100.0 * (1.0 - self.prune_fraction) ** r,
                    "num_genes": int(genes[r]),
                    "test_performance": float(self.arrays["test_score"][r, s]),
                    "test_performance_best_member": float(self.arrays["test_score_best"][r, s]),
                    "final_min_train_loss": float(self.arrays["min_loss_curve"][r, s, -1]),
                    "final_mean_train_loss": float(self.arrays["mean_loss_curve"][r, s, -1]),
                })
        return pd.DataFrame(rows)


def gd_imp_row(task: str, strategy: str, seed: int, round_: int, kept: np.ndarray, num_prunable: int,
               num_params: int, prune_fraction: float, test_performance: float,
               **extra: Any) -> dict[str, Any]:
    """One row of a gradient-descent IMP table (Adam on images, PPO on control), with the columns of
    the ES tables so that both plot on one axis; ``extra`` columns follow."""
    return {
        "task": task, "method": "GD", "strategy": strategy, "criterion": "magnitude", "label": "GD-IMP",
        "seed": seed, "round": round_,
        "weights_remaining": 100.0 * kept[round_] / num_prunable,
        "weights_remaining_nominal": 100.0 * (1.0 - prune_fraction) ** round_,
        "num_genes": int(num_params - num_prunable + kept[round_]),
        "test_performance": test_performance,
        **extra,
    }


def _fingerprint(problem: PruningProblem, config: ESConfig, criteria: Sequence[str], prune_fraction: float,
                 seeds: tuple[int, ...], num_params: int) -> str:
    record = {
        "problem": problem.name,
        "num_params": num_params,
        "es": dataclasses.asdict(config),
        "criteria": list(criteria),
        "prune_fraction": prune_fraction,
        "seeds": list(seeds),
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


CHECKPOINT_FILE = "pruning_state.npz"
PROGRESS_FILE = "pruning_progress.json"


def _save_checkpoint(directory: Path, meta: dict, history: dict[str, list], carry: dict) -> None:
    import io

    buffer = io.BytesIO()
    arrays = {f"history_{k}": np.stack(v) for k, v in history.items() if v}
    arrays.update({f"carry_{k}": np.asarray(v) for k, v in carry.items()})
    arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True))
    np.savez(buffer, **arrays)
    # The .npz is the commit point; the .json is a readable mirror written after it.
    _atomic_write_bytes(directory / CHECKPOINT_FILE, buffer.getvalue())
    _atomic_write_bytes(directory / PROGRESS_FILE, json.dumps(meta, indent=2, sort_keys=True).encode())


def _load_checkpoint(directory: Path) -> tuple[dict, dict[str, list], dict] | None:
    path = directory / CHECKPOINT_FILE
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        history = {k: list(data[f"history_{k}"]) if f"history_{k}" in data else [] for k in _HISTORY}
        carry = {k[len("carry_"):]: data[k] for k in data.files if k.startswith("carry_")}
    return meta, history, carry


def run_pruning(problem: PruningProblem, config: ESConfig, criterion: str = "snr", rounds: int = 20,
                prune_fraction: float = 0.2, seeds: Sequence[int] = (0,),
                checkpoint_dir: str | os.PathLike | None = None, resume: bool = True,
                on_round: Callable[[int], None] | None = None) -> PruningResult:
    """Iterative ES pruning with one criterion: :func:`run_pruning_many` with ``[criterion]``."""
    return run_pruning_many(problem, config, [criterion], rounds, prune_fraction, seeds, checkpoint_dir,
                            resume, on_round)[criterion]


def run_pruning_many(problem: PruningProblem, config: ESConfig, criteria: Sequence[str] = ("snr",),
                     rounds: int = 20, prune_fraction: float = 0.2, seeds: Sequence[int] = (0,),
                     checkpoint_dir: str | os.PathLike | None = None, resume: bool = True,
                     on_round: Callable[[int], None] | None = None) -> dict[str, PruningResult]:
    """Iterative ES pruning: ``rounds`` × (train on the ticket → prune from the final mean → rewind),
    for several criteria at once.

    Every round is one jitted ``lax.scan`` over generations, ``vmap``-ed over all (criterion, seed)
    runs: the criteria differ only in their masks and start values, so they share one compiled
    training program per round. Seed ``s`` initialises the network with ``PRNGKey(s)`` (as the
    original) and draws round ``r``'s randomness from ``fold_in(PRNGKey(s), r + 1)`` for every
    criterion (common random numbers, like the original's ES seed ``seed + iteration``). Round 0
    trains the same dense network for every criterion, so it is trained once per seed. A run resumed
    from a checkpoint reproduces the uninterrupted one exactly.

    Args:
        problem: the task (:class:`PruningProblem`).
        config: the strategy (:class:`ESConfig`).
        criteria: names in :data:`CRITERIA`, distinct.
        rounds: trained networks (the paper: 20, i.e. 100 % → 1.44 %).
        prune_fraction: share of the remaining prunable weights removed per round, in (0, 1).
        seeds: integer seeds, one network per seed.
        checkpoint_dir: if given, the state is written atomically after every round
            (``pruning_state.npz`` + ``pruning_progress.json``).
        resume: continue from ``checkpoint_dir`` if it holds a checkpoint of the same run
            (same problem, strategy settings, criteria, fraction and seeds; ``rounds`` may differ).
        on_round: called with the number of completed rounds after each round's checkpoint (a
            progress hook; an exception raised there interrupts the run like a crash would).

    Returns:
        ``{criterion: PruningResult}``; ``.to_frame()`` gives each tidy table.
    """
    criteria = tuple(criteria)
    crits = [get_criterion(c) for c in criteria]
    if not criteria or len(set(criteria)) != len(criteria):
        raise ValueError(f"criteria must be a non-empty sequence of distinct names; got {criteria!r}")
    if not isinstance(rounds, int | np.integer) or rounds < 1:
        raise ValueError(f"rounds must be an integer >= 1 (the paper uses 20); got {rounds!r}")
    _check_fraction(prune_fraction)
    seeds = tuple(int(s) for s in seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty sequence of distinct integers; got {seeds!r}")

    template = problem.init_params(jax.random.PRNGKey(0))
    num_params = int(ravel_pytree(template)[0].size)
    prunable = prunable_flat(template, problem.prunable)
    num_prunable = int(prunable.sum())
    if num_prunable == 0:
        raise ValueError(f"problem {problem.name!r} has no prunable weights")
    kept = kept_counts(num_prunable, prune_fraction, rounds + 1)
    fingerprint = _fingerprint(problem, config, criteria, float(prune_fraction), seeds, num_params)
    seed_keys = [jax.random.PRNGKey(s) for s in seeds]
    num_seeds, num_runs = len(seeds), len(seeds) * len(criteria)

    directory = Path(checkpoint_dir) if checkpoint_dir is not None else None
    loaded = _load_checkpoint(directory) if directory is not None and resume else None
    if loaded is not None:
        meta, history, carry = loaded
        if meta["fingerprint"] != fingerprint:
            raise ValueError(
                f"checkpoint in {directory} belongs to a different run (fingerprint "
                f"{meta['fingerprint'][:12]} != {fingerprint[:12]}); "
                "use another checkpoint_dir or resume=False"
            )
        done = int(meta["completed_rounds"])
        masks, starts, original = (jnp.asarray(carry[k]) for k in ("mask", "start", "original_init"))
    else:
        done = 0
        history = {k: [] for k in _HISTORY}
        # Runs are criterion-major: run c * S + s is criterion c, seed s.
        original = jnp.tile(
            jnp.stack([ravel_pytree(problem.init_params(k))[0].astype(jnp.float32) for k in seed_keys]),
            (len(criteria), 1))
        masks = jnp.ones((num_runs, num_params), bool)
        starts = original

    for r in range(done, rounds):
        num_genes = num_params - num_prunable + int(kept[r])
        train = _make_train(problem, config, num_genes)
        seed_round_keys = jnp.stack([jax.random.fold_in(k, r + 1) for k in seed_keys])
        keys = jnp.tile(seed_round_keys, (len(criteria), 1))
        if r == 0:  # every criterion starts from the same dense network: train it once per seed
            trained = train(seed_round_keys, masks[:num_seeds], starts[:num_seeds])
            trained = jax.tree_util.tree_map(lambda x: jnp.tile(x, (len(criteria),) + (1,) * (x.ndim - 1)),
                                             trained)
        else:
            trained = train(keys, masks, starts)
        next_masks, next_starts = [], []
        for c, crit in enumerate(crits):
            rows = slice(c * num_seeds, (c + 1) * num_seeds)
            pick = functools.partial(jax.tree_util.tree_map, lambda x, rows=rows: x[rows])
            mask_c, start_c = _make_prune(problem, crit)(keys[rows], masks[rows], starts[rows], pick(trained),
                                                         original[rows], jnp.int32(kept[r + 1]))
            next_masks.append(mask_c)
            next_starts.append(start_c)
        trained = jax.device_get(trained)
        history["masks"].append(np.asarray(masks))
        history["start_values"].append(np.asarray(starts))
        for name in ("test_score", "test_score_best", "min_loss_curve", "mean_loss_curve", "final_mean",
                     "final_std"):
            history[name].append(np.asarray(getattr(trained, name)))
        masks, starts = jnp.concatenate(next_masks), jnp.concatenate(next_starts)
        if directory is not None:
            meta = {"fingerprint": fingerprint, "completed_rounds": r + 1, "problem": problem.name,
                    "strategy": config.strategy, "criteria": list(criteria), "seeds": list(seeds),
                    "prune_fraction": float(prune_fraction)}
            _save_checkpoint(directory, meta, history,
                             {"mask": masks, "start": starts, "original_init": original})
        if on_round is not None:
            on_round(r + 1)

    if done > rounds:  # a longer run was checkpointed: the ticket after round `rounds` is its next mask
        masks, starts = history["masks"][rounds], history["start_values"][rounds]
    arrays = {k: np.stack(v[:rounds]) for k, v in history.items()}
    results = {}
    for c, name in enumerate(criteria):
        rows = slice(c * num_seeds, (c + 1) * num_seeds)
        results[name] = PruningResult(
            problem=problem.name, strategy=config.strategy, criterion=name, seeds=seeds,
            prune_fraction=float(prune_fraction), num_params=num_params, num_prunable=num_prunable,
            kept=kept[:rounds], arrays={k: v[:, rows] for k, v in arrays.items()},
            next_mask=np.asarray(masks)[rows], next_start=np.asarray(starts)[rows],
        )
    return results
