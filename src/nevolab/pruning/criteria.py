"""Pruning criteria, registered by name: each scores every weight from what a round of training left
(final mean, search std, start values) and says which weights may survive and how the next round's
start values are made (rewind to θ₀, re-initialise, or one of the permutation controls).

Registered: ``magnitude`` (ES-IMP, the original's ``final-ticket``), ``snr`` and ``snr_faithful``
(``sig2noise``), ``random`` (``random-reinit``), ``permute_values`` (``final-ticket_permute``,
"mask/permuted"), ``permute_mask`` (``final_permute-ticket_permute``, "permuted/permuted"),
``mask_reinit`` and ``movement``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp
from flax import struct


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
