"""The paper's four model variants as Study C uses them: set-up, ranks, labels and genome sizes.

The variants themselves (model overrides and ranks) are :data:`nevolab.lowrank.PAPER_VARIANTS`;
this module adds what the notebooks choose about them (the ``rank``/``embedding_rank`` parameters
apply to ``lowrank`` only) and how the pages name and colour them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from nevolab.lowrank import PAPER_VARIANTS, GenomeLayout, variant_layout
from nevolab.models.transformer import TransformerConfig

__all__ = [
    "check_variant",
    "genome_sizes",
    "setup_variant",
    "variant_label",
    "variant_ranks",
]



def check_variant(variant: str) -> None:
    """Raise ValueError unless ``variant`` is one of the paper's."""
    if variant not in PAPER_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(PAPER_VARIANTS)}; got {variant!r}")


def setup_variant(variant: str, vocab_size: int, mutation_rate: float = 0.01,
                  model_overrides: Mapping[str, Any] | None = None,
                  ranks: tuple[int | None, int | None] | None = None,
                  ) -> tuple[TransformerConfig, GenomeLayout]:
    """Model config and genome layout of a paper variant for this vocabulary.

    ``model_overrides``: TransformerConfig fields to change (e.g. ``{"num_blocks": 1}``);
    ``ranks``: ``(rank, embedding_rank)`` replacing a factorized variant's.
    """
    return variant_layout(variant, vocab_size=vocab_size, mutation_rate=mutation_rate, ranks=ranks,
                          **dict(model_overrides or {}))


def variant_ranks(variant: str, rank: int, embedding_rank: int) -> tuple[int, int] | None:
    """The ranks a notebook gives a variant: ``(rank, embedding_rank)`` for ``lowrank`` (the paper's
    4 and 32 by default), None (the variant's own) for the others."""
    return (rank, embedding_rank) if variant == "lowrank" else None


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
