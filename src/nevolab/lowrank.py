"""Low-rank factorized genotypes (Garbus & Pollack 2025) and the Deep GA's per-gene init/mutation scales.

A factorized weight matrix is *developed* as the product of two evolved factors, ``W = U @ V`` with
``U`` (m, r) and ``V`` (r, n) for a flax kernel W of shape (m, n) = (fan_in, fan_out). There is no
full-rank residual (the original's ``CompositeWeight`` residual is commented out). Biases and layer
norms are never factorized: they stay plain genes. The token embedding (vocab, hidden) has its own
rank. :func:`genome_layout` builds the :class:`~nevolab.encodings.Encoding` and adds,
gene by gene, the initial distribution and the mutation scale of the
original Jevo.jl code (originals.md section 1.2), for the direct (dense) and the factorized encodings.

**Flux -> flax translation.** Jevo.jl stores a dense weight as a Flux array ``W_flux`` of shape
(d1, d2) = (out, in) and factorizes it as ``A (d1, r) @ B (r, d2)``; Flux's ``nfan`` takes a 2-D
array's *second* dimension as its fan_in, so fan_in(A) = r and fan_in(B) = d2. The embedding is a
(hidden, vocab) array, so for it d1 = hidden and d2 = vocab. flax stores the transpose: a kernel
(in, out) and an embedding table (vocab, hidden) are both ``M = W_flux.T`` of shape (m, n) = (d2, d1).
Hence ``M = B.T @ A.T``: our ``U = B.T`` (m, r) and ``V = A.T`` (r, n), and the original's rules read

    g = 2 if d2 > d1 (i.e. m > n) else sqrt(2)        # which of the two rules applies
    std(U) = sqrt(g / m)      (fan_in(B) = d2 = m)
    std(V) = sqrt(g / r)      (fan_in(A) = r)

so every entry of ``U @ V`` has variance ``r * (g/r) * (g/m) = g**2 / m``: Kaiming's 2/fan_in when
m <= n (fan_in <= fan_out), and twice that, 4/fan_in, when m > n (e.g. the q/k/v projections
32 -> 16, the second feed-forward layer 128 -> 32 and the embedding, whose product then has entries of
std 2/sqrt(vocab) instead of the dense embedding's N(0, 1)). That is what the rules give; we reproduce
them rather than "fix" them.

**Per-gene mutation scales** (one Gaussian mutation of every gene per child, mr = 0.01):

=====================  ===========================  =====================================
gene kind              initial value                mutation std
=====================  ===========================  =====================================
dense kernel (m, n)    N(0, 2/fan_in), fan_in = m   mr * sqrt(2/fan_in)
bias                   0                            mr * sqrt(2)  (Kaiming with fan_in 1)
dense embedding        N(0, 1)                      mr
factor U or V          N(0, std^2) as above         sqrt(mr) * std  (= 0.1 * std)
LayerNorm scale, bias  1, 0                         0  (``no_layer_norm=true``)
=====================  ===========================  =====================================

**Parameter counts.** With q, k and v factorized as three separate (hidden, heads*head_dim)
matrices, the four TinyStories variants of the paper have genomes of 99,507 / 75,955 / 11,671 /
13,023 genes for vocab 2051 (originals.md section 1.3; the LayerNorm genes are counted although they
never mutate). Jevo.jl's ``JevoSelfAttention`` instead keeps one (head_dim, hidden) matrix per head and
projection and factorizes each of them; that layout would give 80,563 genes for the rank-4 variant,
so the table's counts imply per-projection factors, which is what we use.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nevolab.encodings import Encoding, direct_encoding
from nevolab.models.transformer import SMALL, Factors, TransformerConfig, init_params

__all__ = [
    "GENE_KINDS",
    "PAPER_VARIANTS",
    "FactorizedEncoding",
    "GeneBlock",
    "GenomeLayout",
    "classify_leaves",
    "gaussian_genotype",
    "genome_layout",
    "variant_layout",
]

PyTree = Any

GENE_KINDS = ("kernel", "bias", "embedding", "layer_norm_scale", "layer_norm_bias", "factor_u", "factor_v")


def _path_name(path) -> str:
    return "/".join(str(getattr(entry, "key", getattr(entry, "idx", entry))) for entry in path)


def classify_leaves(template: PyTree) -> list[tuple[str, str, tuple[int, ...]]]:
    """(path, kind, shape) of every leaf, in ``ravel_pytree`` order.

    Kinds follow flax's naming: ``embedding`` (an ``nn.Embed`` table), ``kernel`` (a weight matrix,
    fan_in on all axes but the last), ``scale``/``bias`` of a LayerNorm (a module holding ``scale``),
    any other ``bias`` (including a top-level ``output_bias``). Anything else raises ValueError.
    """
    flat, _ = jax.tree_util.tree_flatten_with_path(template)
    out = []
    for path, leaf in flat:
        name = _path_name(path)
        last = name.rsplit("/", 1)[-1]
        parent = template
        for entry in path[:-1]:
            parent = parent[getattr(entry, "key", getattr(entry, "idx", entry))]
        is_layer_norm = isinstance(parent, dict) and "scale" in parent and "kernel" not in parent
        shape = tuple(int(d) for d in np.shape(leaf))
        if last == "embedding" and len(shape) == 2:
            kind = "embedding"
        elif last == "kernel" and len(shape) >= 2:
            kind = "kernel"
        elif last == "scale" and is_layer_norm:
            kind = "layer_norm_scale"
        elif last == "bias" and is_layer_norm:
            kind = "layer_norm_bias"
        elif last.endswith("bias") and len(shape) == 1:
            kind = "bias"
        else:
            raise ValueError(f"cannot classify parameter {name!r} of shape {shape} (kernel, bias, embedding, "
                             "LayerNorm scale/bias are supported)")
        out.append((name, kind, shape))
    return out


@dataclasses.dataclass(frozen=True)
class GeneBlock:
    """A contiguous run of genes: a plain parameter tensor or one factor of a factorized matrix."""

    path: str  # parameter path, e.g. "block_0/query/kernel"
    kind: str  # one of GENE_KINDS
    shape: tuple[int, ...]  # shape of these genes (the factor's shape for factors)
    start: int  # offset in the genotype
    init_mean: float
    init_std: float
    mutation_scale: float

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclasses.dataclass(frozen=True, eq=False)
class GenomeLayout:
    """An encoding plus the original's per-gene initial distribution and mutation scales."""

    encoding: Encoding
    blocks: tuple[GeneBlock, ...]
    init_mean: np.ndarray  # (num_genes,) float32
    init_std: np.ndarray  # (num_genes,) float32
    mutation_scales: np.ndarray  # (num_genes,) float32

    @property
    def num_genes(self) -> int:
        return self.encoding.num_genes

    @property
    def num_params(self) -> int:
        return self.encoding.num_params

    def init_fn(self, key: jax.Array) -> jax.Array:
        """A fresh genotype: ``init_mean + init_std * N(0, 1)`` drawn from ``key`` (pure, jittable)."""
        return gaussian_genotype(key, jnp.asarray(self.init_mean), jnp.asarray(self.init_std))

    def summary(self) -> dict[str, int]:
        """Gene counts by kind, plus ``num_genes`` and ``num_params``."""
        counts = {kind: 0 for kind in GENE_KINDS}
        for block in self.blocks:
            counts[block.kind] += block.size
        return {**counts, "num_genes": self.num_genes, "num_params": self.num_params}


def gaussian_genotype(key: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
    """``mean + std * N(0, 1)`` with the product fenced off from the sum.

    The optimization barriers make the result independent of the surrounding program, so the Deep
    GA's seed-list replay reproduces the live genotype bit for bit: they stop XLA from folding a
    constant ``std`` into the ``sqrt(2)`` inside ``jax.random.normal`` and from fusing the multiply
    and the add into an FMA in some programs and not in others.
    """
    noise = jax.lax.optimization_barrier(jax.random.normal(key, mean.shape, mean.dtype))
    return mean + jax.lax.optimization_barrier(std * noise)


def _check_rank(name: str, rank: int, path: str, shape: tuple[int, int]) -> None:
    limit = min(shape)
    if isinstance(rank, bool) or not isinstance(rank, int | np.integer) or not 1 <= rank <= limit:
        raise ValueError(
            f"{name}={rank!r} is invalid for {path} of shape {shape}: it must be an integer in "
            f"[1, {limit}] (1 <= {name} <= min(fan_in, fan_out))"
        )


def _factor_stds(m: int, n: int, rank: int) -> tuple[float, float]:
    """Init stds of U (m, r) and V (r, n) for a flax matrix (m, n); see the module docstring."""
    gain = 2.0 if m > n else math.sqrt(2.0)
    return math.sqrt(gain / m), math.sqrt(gain / rank)


def genome_layout(template: PyTree, rank: int | None = None, embedding_rank: int | None = None,
                  mutation_rate: float = 0.01, full_rank_paths: tuple[str, ...] = ()) -> GenomeLayout:
    """The genotype of ``template`` with kernels of rank ``rank`` and an embedding of rank
    ``embedding_rank`` (``None``: not factorized; both None: the direct encoding), with the original's
    initial distributions and mutation scales for every gene. Kernels at ``full_rank_paths`` (e.g. a
    CNN's ``"output/kernel"``, which the paper leaves dense) are not factorized."""
    if not mutation_rate >= 0:
        raise ValueError(f"mutation_rate must be non-negative; got {mutation_rate}")
    leaves = classify_leaves(template)
    blocks: list[GeneBlock] = []
    start = 0
    factorized: list[tuple[int, int, int, int] | None] = []  # per leaf: (u_start, m, r, n) or None

    def add(path, kind, shape, mean, std, scale):
        nonlocal start
        blocks.append(GeneBlock(path, kind, tuple(shape), start, float(mean), float(std), float(scale)))
        start += math.prod(shape)

    for path, kind, shape in leaves:
        ranks = {"kernel": rank, "embedding": embedding_rank}
        leaf_rank = None if path in full_rank_paths else ranks.get(kind)
        if leaf_rank is not None:
            if len(shape) != 2:
                raise ValueError(f"only 2-D matrices can be factorized; {path} has shape {shape}")
            _check_rank("rank" if kind == "kernel" else "embedding_rank", leaf_rank, path, shape)
            m, n = shape
            std_u, std_v = _factor_stds(m, n, leaf_rank)
            factorized.append((start, m, leaf_rank, n))
            # The original mutates factors with mr replaced by sqrt(mr) (commit 355f9ab "correct factor mr").
            add(path, "factor_u", (m, leaf_rank), 0.0, std_u, math.sqrt(mutation_rate) * std_u)
            add(path, "factor_v", (leaf_rank, n), 0.0, std_v, math.sqrt(mutation_rate) * std_v)
            continue
        factorized.append(None)
        if kind == "kernel":
            fan_in = math.prod(shape[:-1])
            add(path, kind, shape, 0.0, math.sqrt(2.0 / fan_in), mutation_rate * math.sqrt(2.0 / fan_in))
        elif kind == "bias":
            add(path, kind, shape, 0.0, 0.0, mutation_rate * math.sqrt(2.0))
        elif kind == "embedding":
            add(path, kind, shape, 0.0, 1.0, mutation_rate)
        elif kind == "layer_norm_scale":
            add(path, kind, shape, 1.0, 0.0, 0.0)
        else:  # layer_norm_bias
            add(path, kind, shape, 0.0, 0.0, 0.0)

    def per_gene(field: str) -> np.ndarray:
        return np.concatenate([np.full(b.size, getattr(b, field), np.float32) for b in blocks])

    if rank is None and embedding_rank is None:
        encoding = direct_encoding(template)
    else:
        encoding = _factorized_encoding(template, leaves, factorized, start)
    return GenomeLayout(encoding, tuple(blocks), per_gene("init_mean"), per_gene("init_std"),
                        per_gene("mutation_scale"))


def _is_factors(leaf: Any) -> bool:
    return isinstance(leaf, Factors)


def _developed(leaf: Any) -> jax.Array:
    """A factorized matrix multiplied out (``U @ V``); any other leaf as it is."""
    return leaf.matrix() if isinstance(leaf, Factors) else leaf


@dataclasses.dataclass(frozen=True, eq=False)
class FactorizedEncoding(Encoding):
    """A low-rank encoding that can also hand its factorized matrices over unmultiplied.

    ``decode_factors(genotype)`` is ``decode`` with every factorized matrix left as
    :class:`~nevolab.models.transformer.Factors` ``(U, V)``, for a forward that applies ``(x @ U) @ V``
    where that is cheaper than forming ``U @ V`` (:func:`nevolab.models.transformer.fast_logits`).
    """

    decode_factors: Callable[[jax.Array], PyTree] | None = None


def _factorized_encoding(template: PyTree, leaves, factorized, num_genes: int) -> FactorizedEncoding:
    treedef = jax.tree_util.tree_structure(template)
    dtypes = [jnp.asarray(leaf).dtype for leaf in jax.tree_util.tree_leaves(template)]
    plain_starts = []
    offset = 0
    for (_, _, shape), fact in zip(leaves, factorized, strict=True):
        if fact is None:
            plain_starts.append(offset)
            offset += math.prod(shape)
        else:
            plain_starts.append(None)
            _, m, r, n = fact
            offset += m * r + r * n
    num_params = sum(math.prod(shape) for _, _, shape in leaves)

    def decode_factors(genotype: jax.Array) -> PyTree:
        out = []
        for (_, _, shape), fact, plain, dtype in zip(leaves, factorized, plain_starts, dtypes, strict=True):
            if fact is None:
                out.append(genotype[plain:plain + math.prod(shape)].reshape(shape).astype(dtype))
            else:
                s, m, r, n = fact
                u = genotype[s:s + m * r].reshape(m, r).astype(dtype)
                v = genotype[s + m * r:s + m * r + r * n].reshape(r, n).astype(dtype)
                out.append(Factors(u, v))
        # Factors is a pytree node: unflatten with the template's structure, the factors as leaves.
        return jax.tree_util.tree_unflatten(treedef, out)

    def decode(genotype: jax.Array) -> PyTree:
        # Factors.matrix: full float32 products also on accelerators that default to TF32/bf16 passes.
        return jax.tree_util.tree_map(_developed, decode_factors(genotype), is_leaf=_is_factors)

    def encode(params: PyTree) -> jax.Array:
        """Plain genes copied; factorized matrices by truncated SVD (the best rank-r approximation,
        split evenly: U = P sqrt(S), V = sqrt(S) Q^T)."""
        pieces = []
        for leaf, fact in zip(jax.tree_util.tree_leaves(params), factorized, strict=True):
            if fact is None:
                pieces.append(jnp.ravel(leaf))
            else:
                _, _, r, _ = fact
                p, s, qt = jnp.linalg.svd(leaf, full_matrices=False)
                root = jnp.sqrt(s[:r])
                pieces += [jnp.ravel(p[:, :r] * root), jnp.ravel(root[:, None] * qt[:r])]
        return jnp.concatenate(pieces)

    return FactorizedEncoding("lowrank", num_genes, num_params, decode, encode, decode_factors)


PAPER_VARIANTS: dict[str, dict[str, Any]] = {
    "dense": dict(model={}, rank=None, embedding_rank=None, label="No Factorization"),
    "lowrank": dict(model={}, rank=4, embedding_rank=32, label="Low-Rank Factorization (Larger Rank)"),
    "small": dict(model=dict(SMALL), rank=None, embedding_rank=None, label="No Factorization (Small)"),
    "rank1": dict(model={}, rank=1, embedding_rank=4, label="Low-Rank Factorization (Smaller Rank)"),
}
"""The paper's four TinyStories variants (model overrides and ranks)."""


def variant_layout(variant: str, vocab_size: int = 2051, mutation_rate: float = 0.01,
                   ranks: tuple[int | None, int | None] | None = None,
                   **model_overrides: Any) -> tuple[TransformerConfig, GenomeLayout]:
    """Model config and genome layout of one of :data:`PAPER_VARIANTS` (shapes only, no compute).

    ``ranks = (rank, embedding_rank)`` replaces the variant's ranks (factorized variants only; None:
    the paper's)."""
    if variant not in PAPER_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(PAPER_VARIANTS)}; got {variant!r}")
    spec = PAPER_VARIANTS[variant]
    rank, embedding_rank = spec["rank"], spec["embedding_rank"]
    if ranks is not None:
        if rank is None and embedding_rank is None:
            raise ValueError(f"variant {variant!r} is not factorized; it takes no ranks")
        rank, embedding_rank = ranks
    config = TransformerConfig(vocab_size=vocab_size, **{**spec["model"], **model_overrides})
    template = jax.eval_shape(lambda k: init_params(config, k), jax.random.PRNGKey(0))
    template = jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), template)
    return config, genome_layout(template, rank, embedding_rank, mutation_rate)
