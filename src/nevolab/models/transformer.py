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
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

__all__ = [
    "DecoderBlock",
    "TransformerConfig",
    "TransformerLM",
    "init_params",
    "logits_fn",
    "num_params",
    "rotary",
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


def rotary(x: jax.Array, base: float = 10_000.0) -> jax.Array:
    """RoFormer rotary position embedding of ``x`` (..., T, heads, head_dim), positions 0..T-1.

    Dimension pairs (2i, 2i+1) are rotated by the angle ``t * base**(-2i/head_dim)``: the dot
    product of a rotated query at t and a rotated key at s depends only on t - s.
    """
    length, head_dim = x.shape[-3], x.shape[-1]
    inv_freq = base ** (-jnp.arange(0, head_dim, 2, dtype=jnp.float32) / head_dim)
    angle = jnp.arange(length, dtype=jnp.float32)[:, None] * inv_freq[None, :]  # (T, hd/2)
    cos, sin = jnp.cos(angle)[:, None, :], jnp.sin(angle)[:, None, :]  # broadcast over heads
    even, odd = x[..., 0::2], x[..., 1::2]
    rotated = jnp.stack([even * cos - odd * sin, even * sin + odd * cos], axis=-1)
    return rotated.reshape(x.shape).astype(x.dtype)


class DecoderBlock(nn.Module):
    """Post-norm block: LN(x + causal rotary MHA(x)), then LN(x + FF(x))."""

    config: TransformerConfig

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        c = self.config
        length = x.shape[-2]

        def heads(name: str) -> jax.Array:
            y = nn.Dense(c.attention_dim, kernel_init=kaiming_normal, name=name)(x)
            return y.reshape(*y.shape[:-1], c.num_heads, c.head_dim)

        q = rotary(heads("query"), c.rotary_base)
        k = rotary(heads("key"), c.rotary_base)
        v = heads("value")
        scores = jnp.einsum("...thd,...shd->...hts", q, k) / jnp.sqrt(jnp.float32(c.head_dim))
        causal = jnp.tril(jnp.ones((length, length), dtype=bool))
        scores = jnp.where(causal, scores, jnp.finfo(scores.dtype).min)
        weights = jax.nn.softmax(scores, axis=-1)
        attended = jnp.einsum("...hts,...shd->...thd", weights, v).reshape(*x.shape[:-1], c.attention_dim)
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
