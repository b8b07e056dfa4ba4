"""Study C's model variants: the paper's four, one control, their set-up, ranks, labels and genome sizes.

The paper's variants (model overrides and ranks) are :data:`nevolab.lowrank.PAPER_VARIANTS`; this
module holds every variant name Study C uses (the specs read them here, the pixel networks' too),
and adds what the notebooks choose about them (the ``rank``/``embedding_rank`` parameters apply to
``lowrank`` only), how the pages name them, and one control that is not in the paper:

**dense_matched** is the dense network (same genes, same mutation rule) whose tied embedding starts
at the scale of the low-rank variant's *developed* embedding instead of Jevo.jl's N(0, 1). The
factorized embedding ``U @ V`` of a (vocab, hidden) table has entries of variance
``r * std_u**2 * std_v**2 = g**2 / vocab`` (``g = 2`` when vocab > hidden, see :mod:`nevolab.lowrank`),
independent of the rank, so ``dense_matched`` draws its embedding from N(0, (g / sqrt(vocab))**2):
std 2/sqrt(103) = 0.197 for the char vocabulary, 2/sqrt(2051) = 0.044 for the BPE one. With the
tied unembedding this sets the starting logit scale, hence the starting loss, to the low-rank one's
(the N(0, 1) embedding starts the dense variant nats below the uniform guess, the low-rank one at it).

Mutation: Jevo.jl draws a plain tensor's mutation with the same ``init!`` as its initial value, scaled
by ``mr`` (a dense embedding: ``N(0, 1) * 0.01``). ``dense_matched`` keeps that rule with the scaled
``init!``, so its embedding mutates by ``0.01 * std`` (0.002 for char instead of 0.01), the same
*relative* step as every other dense tensor. Keeping the absolute 0.01 instead would make the embedding's
relative step ``sqrt(vocab) / 2`` times larger (5x for char, 23x for BPE) and change a second thing
besides the starting point.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below are read by the specs, which import no model code
    import pandas as pd

    from nevolab.lowrank import GenomeLayout
    from nevolab.models.transformer import TransformerConfig

__all__ = [
    "CONTROLS",
    "PAPER_VARIANTS",
    "PIXEL_VARIANTS",
    "VARIANTS",
    "check_variant",
    "embedding_init_std",
    "genome_sizes",
    "matched_embedding_std",
    "setup_variant",
    "variant_label",
    "variant_ranks",
]

PAPER_VARIANTS: tuple[str, ...] = ("dense", "lowrank", "small", "rank1")
"""The paper's language-model variants, by name (:data:`nevolab.lowrank.PAPER_VARIANTS` defines their
networks and ranks; a test checks the two list the same names)."""

CONTROLS: dict[str, str] = {"dense_matched": "dense"}
"""Study C's control variants (not in the paper) and the paper variant whose network each one uses."""

VARIANTS: tuple[str, ...] = (*PAPER_VARIANTS, *CONTROLS)
"""Every variant a Study C language-model run can use: the paper's four, then the controls."""

PIXEL_VARIANTS: tuple[str, ...] = ("dense", "factorized", "small")
"""The paper's CarRacing / Atari networks: No Factorization, Low-Rank, No Factorization (Small)."""


def check_variant(variant: str) -> None:
    """Raise ValueError unless ``variant`` is one of :data:`VARIANTS`."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {variant!r}")


def embedding_init_std(layout: GenomeLayout) -> float:
    """Std of the token embedding a layout develops at initialisation: the plain embedding's init std,
    or ``sqrt(r) * std_u * std_v`` for a factorized one (``U @ V`` sums r products of independent
    zero-mean entries)."""
    blocks = {b.kind: b for b in layout.blocks if b.path.endswith("embedding")}
    if "embedding" in blocks:
        return blocks["embedding"].init_std
    u, v = blocks["factor_u"], blocks["factor_v"]
    return math.sqrt(u.shape[1]) * u.init_std * v.init_std


def matched_embedding_std(vocab_size: int, model_overrides: Mapping[str, Any] | None = None) -> float:
    """Std of the low-rank variant's developed token embedding ``U @ V`` under the original's init
    rules: ``dense_matched``'s embedding init std. Independent of the rank (see the module
    docstring), so rank 1, which fits every hidden size, is used."""
    from nevolab.lowrank import variant_layout

    _, layout = variant_layout("lowrank", vocab_size=vocab_size, ranks=(1, 1), **dict(model_overrides or {}))
    return embedding_init_std(layout)


def _rescale_embedding(layout: GenomeLayout, std: float) -> GenomeLayout:
    """``layout`` with its (plain) embedding drawn from N(0, std**2) and mutated by ``mr * std``
    (init and mutation both scale with the embedding's ``init!``, as every plain gene's do)."""
    import numpy as np

    (block,) = [b for b in layout.blocks if b.kind == "embedding"]
    factor = std / block.init_std
    genes = slice(block.start, block.start + block.size)
    init_std, mutation_scales = layout.init_std.copy(), layout.mutation_scales.copy()
    init_std[genes] *= np.float32(factor)
    mutation_scales[genes] *= np.float32(factor)
    scaled = dataclasses.replace(block, init_std=block.init_std * factor,
                                 mutation_scale=block.mutation_scale * factor)
    blocks = tuple(scaled if b is block else b for b in layout.blocks)
    return dataclasses.replace(layout, blocks=blocks, init_std=init_std, mutation_scales=mutation_scales)


def setup_variant(variant: str, vocab_size: int, mutation_rate: float = 0.01,
                  model_overrides: Mapping[str, Any] | None = None,
                  ranks: tuple[int | None, int | None] | None = None,
                  ) -> tuple[TransformerConfig, GenomeLayout]:
    """Model config and genome layout of a variant (see :data:`VARIANTS`) for this vocabulary.

    ``model_overrides``: TransformerConfig fields to change (e.g. ``{"num_blocks": 1}``);
    ``ranks``: ``(rank, embedding_rank)`` replacing a factorized variant's.
    """
    from nevolab.lowrank import variant_layout

    check_variant(variant)
    overrides = dict(model_overrides or {})
    if variant not in CONTROLS:
        return variant_layout(variant, vocab_size=vocab_size, mutation_rate=mutation_rate, ranks=ranks,
                              **overrides)
    config, layout = variant_layout(CONTROLS[variant], vocab_size=vocab_size, mutation_rate=mutation_rate,
                                    ranks=ranks, **overrides)
    return config, _rescale_embedding(layout, matched_embedding_std(vocab_size, overrides))


def variant_ranks(variant: str, rank: int, embedding_rank: int) -> tuple[int, int] | None:
    """The ranks a notebook gives a variant: ``(rank, embedding_rank)`` for ``lowrank`` (the paper's
    4 and 32 by default), None (the variant's own) for the others."""
    return (rank, embedding_rank) if variant == "lowrank" else None


def variant_label(variant: str, rank: int = 4, embedding_rank: int = 32, short: bool = False) -> str:
    """The paper's legend label of a variant, with its ranks or sizes (``short``: a few words)."""
    from nevolab.lowrank import PAPER_VARIANTS as NETWORKS

    if short:
        spec = NETWORKS.get(variant, {})
        return {"dense": "dense", "dense_matched": "dense, matched init", "small": "small dense",
                "adam": "Adam",
                "lowrank": f"low-rank r{rank}/e{embedding_rank}",
                "rank1": f"low-rank r{spec.get('rank')}/e{spec.get('embedding_rank')}"}[variant]
    if variant == "adam":
        return "Adam (backprop), dense model"
    if variant == "lowrank":
        return f"Low-Rank Factorization (Larger Rank: {rank}, embedding {embedding_rank})"
    if variant == "dense_matched":
        return "No Factorization, embedding init matched to low-rank (control)"
    spec = NETWORKS[variant]
    detail = {"dense": "hidden 32, ff 128", "small": "hidden 4, ff 16",
              "rank1": f"rank {spec['rank']}, embedding {spec['embedding_rank']}"}[variant]
    return f"{spec['label']} ({detail})"


def genome_sizes(variants: Sequence[str], vocab_size: int, num_generations: int, rank: int = 4,
                 embedding_rank: int = 32, num_blocks: int = 3) -> pd.DataFrame:
    """Storage of each variant's genome (shapes only): evolved genes and network parameters (float32
    bytes) against a full-length seed list after ``num_generations`` generations (one 8-byte key for
    the initial network plus one per generation's mutation)."""
    import pandas as pd

    rows = []
    for variant in variants:
        _, layout = setup_variant(variant, vocab_size, model_overrides={"num_blocks": num_blocks},
                                  ranks=variant_ranks(variant, rank, embedding_rank))
        seed_bytes = 8 * (num_generations + 1)
        rows.append({"variant": variant, "num_params": layout.num_params, "num_genes": layout.num_genes,
                     "network_bytes": 4 * layout.num_params, "genotype_bytes": 4 * layout.num_genes,
                     "seed_list_bytes": seed_bytes, "compression": 4 * layout.num_params / seed_bytes})
    return pd.DataFrame(rows)
