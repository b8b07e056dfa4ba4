"""The small decoder-only, post-norm transformer language model of Study C (flax linen).

It mirrors the model the low-rank paper evolves (Garbus & Pollack 2025; Jevo.jl ``TextTransformer``
with the ``experiments/tinystories`` configs): 3 blocks, 4 heads of width 4 (attention width 16),
hidden 32, feed-forward 128 with ReLU, causal multi-head attention with rotary position embeddings,
a tied embedding / unembedding plus a separate output bias, and **post-norm** residuals::

    x = embed(tokens)                               # no sqrt(d) scaling, no additive positions
    for each block:
        x = LayerNorm(x + Attention(x))             # rotary applied to q and k
        x = LayerNorm(x + Dense(ReLU(Dense(x))))
    logits = x @ embedding.T + output_bias          # no final LayerNorm

Parameter count (all biases and both LayerNorms per block included)::

    embedding  V*H             + output bias V
    per block  q,k,v  3*(H*A + A)   out  A*H + H     (A = heads * head_dim)
               ff     H*F + F + F*H + H              LayerNorms 2 * 2H

For V=2051 this is 99,507 for the dense model (H=32, F=128, A=16) and 11,671 for the small one
(H=4, F=16, A=16): exactly the counts of originals.md section 1.3 (which include the 384 LayerNorm
parameters of the dense model). :func:`num_params` computes it in closed form; the tests check it
against the flax parameter tree.

Choices where the Julia original is ambiguous or differs across its history (documented here because
they are not visible in the parameter count):

* rotary embeddings follow RoFormer (interleaved pairs, base 10,000) and are applied to q and k of
  every block; an older Jevo.jl revision applied ``RotaryPositionEmbed`` once to the token embeddings;
* q, k and v are three separate (H, A) projections (the factorized parameter counts of the paper's
  table need them separate, see :mod:`nevolab.lowrank`);
* LayerNorm epsilon 1e-7 as Transformers.jl's ``LayerNorm`` constructed in Jevo.jl's ``develop.jl``;
* initialisation follows Jevo.jl: Kaiming-normal kernels (std sqrt(2/fan_in)), zero biases, LayerNorm
  scale 1 and bias 0, embedding N(0, 1). (The Deep GA draws its own initial genotypes with the same
  rules, see :mod:`nevolab.lowrank`.)

**Two forwards.** :class:`TransformerLM` (flax; :func:`logits_fn`, :func:`token_cross_entropy`) is the
plain dense forward, the reference. :func:`fast_logits` / :func:`fast_cross_entropy` compute the same
model from the same parameter dict without flax, for population evaluation, with any kernel or
embedding given as :class:`Factors` ``(u, v)`` applied as ``(x @ u) @ v`` where that costs fewer
multiply-adds than forming ``u @ v`` (:func:`factors_are_cheaper`). On dense parameters it performs
the reference's float32 operations in the reference's order, so it returns the same bits
(tests/test_fast_forward.py); on factors it differs from the dense product by float32 rounding.
The population forward's speed on CPU comes from evaluating few members at a time
(:func:`nevolab.studies.c.lm.chunk_size_for`): the attention scores of a chunk must stay in cache.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

__all__ = [
    "DecoderBlock",
    "Factors",
    "TransformerConfig",
    "TransformerLM",
    "apply_rotary",
    "factors_are_cheaper",
    "fast_cross_entropy",
    "fast_logits",
    "init_params",
    "logits_fn",
    "num_params",
    "rotary",
    "rotary_tables",
    "token_cross_entropy",
]

PyTree = Any

kaiming_normal = nn.initializers.variance_scaling(2.0, "fan_in", "normal")
"""std = sqrt(2 / fan_in), untruncated (Jevo.jl's ``apply_kaiming_normal_noise!`` with mr = 1)."""


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    """Architecture of the language model. Defaults: the paper's dense model with its 2051 tokens."""

    vocab_size: int = 2051
    hidden_dim: int = 32
    ff_dim: int = 128
    num_heads: int = 4
    head_dim: int = 4
    num_blocks: int = 3
    max_len: int = 1024
    layer_norm_epsilon: float = 1e-7
    rotary_base: float = 10_000.0

    def __post_init__(self):
        for name in ("vocab_size", "hidden_dim", "ff_dim", "num_heads", "head_dim", "num_blocks", "max_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if self.head_dim % 2:
            raise ValueError(f"head_dim must be even for rotary embeddings (pairs); got {self.head_dim}")

    @property
    def attention_dim(self) -> int:
        return self.num_heads * self.head_dim


SMALL = dict(hidden_dim=4, ff_dim=16)
"""The paper's "No Factorization (Small)" overrides."""


def num_params(config: TransformerConfig) -> int:
    """Closed-form parameter count (see the module docstring)."""
    v, h, f, a = config.vocab_size, config.hidden_dim, config.ff_dim, config.attention_dim
    block = 3 * (h * a + a) + (a * h + h) + (h * f + f + f * h + h) + 2 * 2 * h
    return v * h + v + config.num_blocks * block


def rotary_tables(length: int, head_dim: int, base: float = 10_000.0) -> tuple[jax.Array, jax.Array]:
    """``(cos, sin)`` of the rotary angles ``t * base**(-2i/head_dim)``, each (length, head_dim // 2)."""
    inv_freq = base ** (-jnp.arange(0, head_dim, 2, dtype=jnp.float32) / head_dim)
    angle = jnp.arange(length, dtype=jnp.float32)[:, None] * inv_freq[None, :]
    return jnp.cos(angle), jnp.sin(angle)


def apply_rotary(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    """Rotate the dimension pairs (2i, 2i+1) of ``x`` (..., T, heads, head_dim) by the angles of
    :func:`rotary_tables` (T, head_dim // 2)."""
    cos, sin = cos[:, None, :], sin[:, None, :]  # broadcast over heads
    even, odd = x[..., 0::2], x[..., 1::2]
    rotated = jnp.stack([even * cos - odd * sin, even * sin + odd * cos], axis=-1)
    return rotated.reshape(x.shape).astype(x.dtype)


def rotary(x: jax.Array, base: float = 10_000.0) -> jax.Array:
    """RoFormer rotary position embedding of ``x`` (..., T, heads, head_dim), positions 0..T-1.

    Dimension pairs (2i, 2i+1) are rotated by the angle ``t * base**(-2i/head_dim)``: the dot
    product of a rotated query at t and a rotated key at s depends only on t - s.
    """
    return apply_rotary(x, *rotary_tables(x.shape[-3], x.shape[-1], base))


def _causal_attention(q: jax.Array, k: jax.Array, v: jax.Array) -> jax.Array:
    """Causal softmax attention of q, k, v (..., T, heads, head_dim) -> (..., T, heads, head_dim)."""
    length, head_dim = q.shape[-3], q.shape[-1]
    scores = jnp.einsum("...thd,...shd->...hts", q, k) / jnp.sqrt(jnp.float32(head_dim))
    causal = jnp.tril(jnp.ones((length, length), dtype=bool))
    scores = jnp.where(causal, scores, jnp.finfo(scores.dtype).min)
    weights = jax.nn.softmax(scores, axis=-1)
    return jnp.einsum("...hts,...shd->...thd", weights, v)


class DecoderBlock(nn.Module):
    """Post-norm block: LN(x + causal rotary MHA(x)), then LN(x + FF(x))."""

    config: TransformerConfig

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        c = self.config

        def heads(name: str) -> jax.Array:
            y = nn.Dense(c.attention_dim, kernel_init=kaiming_normal, name=name)(x)
            return y.reshape(*y.shape[:-1], c.num_heads, c.head_dim)

        q = rotary(heads("query"), c.rotary_base)
        k = rotary(heads("key"), c.rotary_base)
        v = heads("value")
        attended = _causal_attention(q, k, v).reshape(*x.shape[:-1], c.attention_dim)
        attended = nn.Dense(c.hidden_dim, kernel_init=kaiming_normal, name="out")(attended)
        x = nn.LayerNorm(epsilon=c.layer_norm_epsilon, name="ln_attention")(x + attended)

        hidden = nn.relu(nn.Dense(c.ff_dim, kernel_init=kaiming_normal, name="ff_in")(x))
        hidden = nn.Dense(c.hidden_dim, kernel_init=kaiming_normal, name="ff_out")(hidden)
        return nn.LayerNorm(epsilon=c.layer_norm_epsilon, name="ln_ff")(x + hidden)


class TransformerLM(nn.Module):
    """Decoder-only LM: tokens (..., T) int -> next-token logits (..., T, vocab_size)."""

    config: TransformerConfig

    @nn.compact
    def __call__(self, tokens: jax.Array) -> jax.Array:
        c = self.config
        if tokens.shape[-1] > c.max_len:
            raise ValueError(f"sequence length {tokens.shape[-1]} exceeds max_len={c.max_len}")
        embed = nn.Embed(c.vocab_size, c.hidden_dim, embedding_init=nn.initializers.normal(1.0), name="embed")
        x = embed(tokens)
        for i in range(c.num_blocks):
            x = DecoderBlock(c, name=f"block_{i}")(x)
        output_bias = self.param("output_bias", nn.initializers.zeros, (c.vocab_size,))
        return embed.attend(x) + output_bias  # tied unembedding: x @ embedding.T


@functools.partial(jax.jit, static_argnums=0)
def init_params(config: TransformerConfig, key: jax.Array) -> PyTree:
    """Freshly initialised parameters (a plain nested dict). Jitted: flax's eager ``init`` dispatches
    (and compiles) every small op separately, which is far slower on CPU."""
    return TransformerLM(config).init(key, jnp.zeros((1, 2), jnp.int32))["params"]


def logits_fn(params: PyTree, tokens: jax.Array, config: TransformerConfig) -> jax.Array:
    """Next-token logits (..., T, vocab_size) for tokens (..., T)."""
    return TransformerLM(config).apply({"params": params}, tokens)


def token_cross_entropy(params: PyTree, tokens: jax.Array, config: TransformerConfig) -> jax.Array:
    """Mean next-token cross-entropy (nats) over all positions of ``tokens`` (..., T+1).

    Inputs are ``tokens[..., :-1]`` and targets ``tokens[..., 1:]``; this is the original's
    ``shift_decode_loss`` without masking (the fixed windows have no padding). The evolutionary
    fitness is this loss (minimised); the paper plots its negative.
    """
    logits = logits_fn(params, tokens[..., :-1], config)
    return optax.softmax_cross_entropy_with_integer_labels(logits, tokens[..., 1:]).mean()


# ----------------------------------------------------------------------------- the fast forward


class Factors(NamedTuple):
    """A weight matrix kept as its two factors, ``W = u @ v`` with u (m, r) and v (r, n)."""

    u: jax.Array
    v: jax.Array

    def matrix(self) -> jax.Array:
        """``u @ v`` in full float32 (HIGHEST also on accelerators that default to TF32/bf16)."""
        return jnp.matmul(self.u, self.v, precision=jax.lax.Precision.HIGHEST)


def factors_are_cheaper(rows: int, m: int, rank: int, n: int) -> bool:
    """Whether ``(x @ u) @ v`` for ``rows`` rows of x costs fewer multiply-adds than forming
    ``u @ v`` (m, rank, n) and then ``x @ (u @ v)``."""
    return rows * (m * rank + rank * n) < m * rank * n + rows * m * n


def _matmul(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """``x @ kernel`` over x's last axis, exactly as flax's ``Dense`` contracts it."""
    return jax.lax.dot_general(x, kernel, (((x.ndim - 1,), (0,)), ((), ())))


def _rows(x: jax.Array) -> int:
    return math.prod(x.shape[:-1])


def _apply(x: jax.Array, kernel: jax.Array | Factors) -> jax.Array:
    """``x @ kernel``; a :class:`Factors` kernel as ``(x @ u) @ v`` where that is cheaper."""
    if isinstance(kernel, Factors):
        (m, rank), n = kernel.u.shape, kernel.v.shape[1]
        if factors_are_cheaper(_rows(x), m, rank, n):
            return _matmul(_matmul(x, kernel.u), kernel.v)
        kernel = kernel.matrix()
    return _matmul(x, kernel)


def _dense(x: jax.Array, layer: PyTree) -> jax.Array:
    """flax ``Dense``: ``x @ kernel + bias``."""
    return _apply(x, layer["kernel"]) + layer["bias"]


def _layer_norm(x: jax.Array, layer: PyTree, epsilon: float) -> jax.Array:
    """flax ``LayerNorm`` (fast variance), written out in flax's order of operations."""
    mean = x.mean(-1, keepdims=True)
    mean_sq = jax.lax.square(x).mean(-1, keepdims=True)
    var = jnp.maximum(0.0, mean_sq - jax.lax.square(mean))
    return (x - mean) * (jax.lax.rsqrt(var + epsilon) * layer["scale"]) + layer["bias"]


def _fast_block(x: jax.Array, block: PyTree, c: TransformerConfig, cos: jax.Array, sin: jax.Array
                ) -> jax.Array:
    """:class:`DecoderBlock` on a plain parameter dict whose kernels may be :class:`Factors`."""
    # q, k and v stay three matmuls: fused into one (H, 3A) matmul they ran ~3% faster but rounded
    # differently from the reference at some widths (XLA:CPU picks the kernel by shape).
    q, k, v = (_dense(x, block[name]).reshape(*x.shape[:-1], c.num_heads, c.head_dim)
               for name in ("query", "key", "value"))
    attended = _causal_attention(apply_rotary(q, cos, sin), apply_rotary(k, cos, sin), v)
    attended = _dense(attended.reshape(*x.shape[:-1], c.attention_dim), block["out"])
    x = _layer_norm(x + attended, block["ln_attention"], c.layer_norm_epsilon)
    hidden = _dense(jax.nn.relu(_dense(x, block["ff_in"])), block["ff_out"])
    return _layer_norm(x + hidden, block["ln_ff"], c.layer_norm_epsilon)


def _embed_and_unembed(table: jax.Array | Factors, tokens: jax.Array
                       ) -> tuple[jax.Array, Callable[[jax.Array], jax.Array]]:
    """The embedded tokens and the tied unembedding ``x -> x @ table.T``.

    A factorized table (vocab, hidden) = u @ v is formed once for the lookup unless there are fewer
    tokens than vocabulary rows (forming costs vocab*r*hidden, a factored lookup tokens*r*hidden); the
    unembedding uses the factors where ``(x @ v.T) @ u.T`` (hidden*r + r*vocab per row) is cheaper
    than ``x @ table.T`` (hidden*vocab per row).
    """
    if not isinstance(table, Factors):
        return jnp.take(table, tokens, axis=0), lambda x: _matmul(x, table.T)
    (vocab, rank), hidden = table.u.shape, table.v.shape[1]
    if tokens.size < vocab:
        embedded, formed = _matmul(jnp.take(table.u, tokens, axis=0), table.v), None
    else:
        formed = table.matrix()
        embedded = jnp.take(formed, tokens, axis=0)

    def unembed(x: jax.Array) -> jax.Array:
        if formed is None or hidden * rank + rank * vocab < hidden * vocab:
            return _matmul(_matmul(x, table.v.T), table.u.T)
        return _matmul(x, formed.T)

    return embedded, unembed


def _fast_hidden(params: PyTree, tokens: jax.Array, config: TransformerConfig
                 ) -> tuple[jax.Array, Callable[[jax.Array], jax.Array]]:
    """The last block's output for ``tokens`` and the tied unembedding (see :func:`fast_logits`)."""
    c = config
    if tokens.shape[-1] > c.max_len:
        raise ValueError(f"sequence length {tokens.shape[-1]} exceeds max_len={c.max_len}")
    # The rotary tables depend on the length only: computed once, shared by every block.
    cos, sin = rotary_tables(tokens.shape[-1], c.head_dim, c.rotary_base)
    x, unembed = _embed_and_unembed(params["embed"]["embedding"], tokens)
    for i in range(c.num_blocks):
        x = _fast_block(x, params[f"block_{i}"], c, cos, sin)
    return x, unembed


def fast_logits(params: PyTree, tokens: jax.Array, config: TransformerConfig) -> jax.Array:
    """:func:`logits_fn` without flax, on a parameter dict whose kernels and embedding may be
    :class:`Factors` (see the module docstring)."""
    x, unembed = _fast_hidden(params, tokens, config)
    return unembed(x) + params["output_bias"]


CE_BLOCK_ROWS = 128
"""Token positions whose logits :func:`fast_cross_entropy` forms at once. At a 2051-token vocabulary
one window's logits (64 x 2051 float32 per window) would leave the cache between the unembedding, the
log-sum-exp and the target lookup; 128 rows (1 MiB) stay in L2, and the population loss ran 2.1x
faster (benchmark ``lowrank.lm.bpe.tokens_per_s``)."""


def fast_cross_entropy(params: PyTree, tokens: jax.Array, config: TransformerConfig,
                       block_rows: int = CE_BLOCK_ROWS) -> jax.Array:
    """:func:`token_cross_entropy` through :func:`fast_logits`, the unembedding and softmax taken
    ``block_rows`` token positions at a time (``lax.map``; padded rows carry zero weight)."""
    x, unembed = _fast_hidden(params, tokens[..., :-1], config)
    hidden, labels = x.reshape(-1, x.shape[-1]), tokens[..., 1:].reshape(-1)
    rows = labels.shape[0]
    block = min(block_rows, rows)
    blocks = -(-rows // block)
    padding = blocks * block - rows
    hidden = jnp.pad(hidden, ((0, padding), (0, 0))).reshape(blocks, block, -1)
    labels = jnp.pad(labels, (0, padding)).reshape(blocks, block)
    weights = (jnp.arange(blocks * block) < rows).astype(hidden.dtype).reshape(blocks, block)

    def block_sum(args: tuple[jax.Array, jax.Array, jax.Array]) -> jax.Array:
        rows_hidden, rows_labels, rows_weights = args
        logits = unembed(rows_hidden) + params["output_bias"]
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, rows_labels)
        return jnp.sum(losses * rows_weights)

    return jax.lax.map(block_sum, (hidden, labels, weights)).sum() / rows
