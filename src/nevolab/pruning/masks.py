"""Mask algebra of iterative pruning, on flat parameter vectors (``ravel_pytree`` order).

**Sparsity schedule.** Round ``r`` trains a network with ``(1 - prune_fraction)**r`` of its prunable
weights (kernels; biases are never pruned). With the paper's ``prune_fraction = 0.2`` and 20 rounds the
trained networks have 100 %, 80 %, ..., 0.8¹⁹ = **1.44 %** of their weights, the x-ticks of the paper's
figures. The 0.8²⁰ ≈ 1.15 % that a naive count gives is the mask computed *after* the last round, which
the original never trains. The percentages are of the prunable weights, as in the original.

**Exact counts.** The original thresholds at ``jnp.percentile(scores, sparsity*100)`` over all
prunable weights and keeps ``score >= threshold``; with ties and interpolation the kept count can differ
slightly between seeds. Here round ``r`` keeps exactly ``round(N * (1-f)**r)`` weights (ties go to the
lower flat index), so every seed has the same genotype length and a whole round can be ``vmap``-ed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nevolab.masked import flatten_mask
from nevolab.pruning.criteria import Criterion, PruneInputs

PyTree = Any


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
    check_fraction(prune_fraction)
    return np.array(
        [max(1, math.floor(num_prunable * (1.0 - prune_fraction) ** r + 0.5)) for r in range(rounds)],
        dtype=np.int64,
    )


def check_fraction(prune_fraction: float) -> None:
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


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where a network's prunable weights are: ``prunable`` (P,) bool, the ``segments`` (layers) the
    permutation controls shuffle within, and ``reinit(key)``, a fresh flat initialisation."""

    prunable: jax.Array
    segments: tuple[tuple[int, int], ...]
    reinit: Callable[[jax.Array], jax.Array]


def next_ticket(criterion: Criterion, inputs: PruneInputs, key: jax.Array, original_init: jax.Array,
                num_keep: int | jax.Array, layout: Layout) -> tuple[jax.Array, jax.Array]:
    """The next round's (mask, start values) for one seed. Jittable (``num_keep`` may be traced).

    ``layout.reinit`` serves the ``reinit`` rewinds. Pruned positions of the start values are 0.
    """
    k_score, k_rewind = jax.random.split(key)
    scores = criterion.score(inputs, k_score)
    candidates = layout.prunable & (inputs.mask if criterion.candidates == "remaining" else True)
    mask = top_k_mask(scores, candidates, num_keep) | ~layout.prunable
    if criterion.rewind == "init":
        values = original_init
    elif criterion.rewind == "reinit":
        values = layout.reinit(k_rewind)
    elif criterion.rewind == "permute_values":
        values = _permute_values(k_rewind, original_init, mask, layout.segments)
    else:
        mask, values = _permute_mask_and_values(k_rewind, original_init, mask, layout.segments)
    return mask, jnp.where(mask, values, 0.0)
