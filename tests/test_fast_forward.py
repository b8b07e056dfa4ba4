"""The fast forward of Study C's language model against the plain dense (flax) forward.

``fast_logits`` / ``fast_cross_entropy`` (nevolab.models.transformer) and the population loss built
on them (nevolab.studies.c.lm.make_population_loss) must give the losses of ``token_cross_entropy``
on the decoded dense weights: the same bits for dense weights on CPU (the committed Study C results
were computed with the plain forward), float32 rounding where factors are applied unmultiplied.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

from nevolab.lowrank import genome_layout
from nevolab.models import transformer
from nevolab.models.transformer import (
    Factors,
    TransformerConfig,
    factors_are_cheaper,
    fast_cross_entropy,
    fast_logits,
    init_params,
    logits_fn,
    token_cross_entropy,
)
from nevolab.studies.c.lm import chunk_size_for, make_population_loss

CONFIG = TransformerConfig(vocab_size=11, hidden_dim=8, ff_dim=12, num_heads=2, head_dim=4, num_blocks=2,
                           max_len=16)
POPULATION = 10  # not a multiple of the chunk: lax.map's remainder path is exercised too


def _template(config: TransformerConfig):
    shapes = jax.eval_shape(lambda k: init_params(config, k), jax.random.PRNGKey(0))
    return jax.tree_util.tree_map(lambda a: np.zeros(a.shape, a.dtype), shapes)


@functools.partial(jax.jit, static_argnums=0)
def _perturbed_params(config, seed=0):
    """Random params with non-trivial biases and LayerNorm affine terms (so all of them are tested)."""
    params = init_params(config, jax.random.PRNGKey(seed))
    flat, unravel = ravel_pytree(params)
    return unravel(flat + 0.3 * jax.random.normal(jax.random.PRNGKey(seed + 100), flat.shape))


def _tokens(shape, seed=1):
    return jax.random.randint(jax.random.PRNGKey(seed), shape, 0, CONFIG.vocab_size)


def _population(layout, seed=2):
    """Genotypes with every gene moved (LayerNorm genes too), so every parameter is exercised."""
    keys = jax.random.split(jax.random.PRNGKey(seed), POPULATION)
    base = jax.vmap(layout.init_fn)(keys)
    return base + 0.05 * jax.random.normal(jax.random.PRNGKey(seed + 1), base.shape)


def test_fast_logits_equal_the_flax_forward_on_dense_weights():
    params = _perturbed_params(CONFIG)
    tokens = _tokens((3, 9))
    plain = jax.jit(logits_fn, static_argnums=2)(params, tokens, CONFIG)
    fast = jax.jit(fast_logits, static_argnums=2)(params, tokens, CONFIG)
    np.testing.assert_allclose(fast, plain, rtol=1e-5, atol=1e-6)
    plain_loss = jax.jit(token_cross_entropy, static_argnums=2)(params, _tokens((3, 10)), CONFIG)
    fast_loss = jax.jit(fast_cross_entropy, static_argnums=2)(params, _tokens((3, 10)), CONFIG)
    np.testing.assert_allclose(fast_loss, plain_loss, rtol=1e-6)


def test_fast_forward_validates_the_length():
    with pytest.raises(ValueError, match="max_len"):
        jax.eval_shape(lambda p: fast_logits(p, jnp.zeros((17,), jnp.int32), CONFIG), _template(CONFIG))


def test_dense_population_loss_is_the_plain_one():
    """Dense genotypes: the fast population loss is the plain forward's to float32 rounding (its
    softmax is taken in blocks of token positions, so the sums are ordered differently)."""
    layout = genome_layout(_template(CONFIG))
    population = _population(layout)
    sequences = _tokens((3, 10))
    fast = jax.jit(make_population_loss(layout.encoding, CONFIG, chunk_size=4))(population, sequences)
    plain = jax.jit(make_population_loss(layout.encoding, CONFIG, chunk_size=4, plain=True))(population,
                                                                                          sequences)
    per_member = [jax.jit(token_cross_entropy, static_argnums=2)(layout.encoding.decode(g), sequences, CONFIG)
                  for g in population]
    np.testing.assert_allclose(fast, per_member, rtol=1e-5)
    np.testing.assert_allclose(plain, per_member, rtol=1e-5)
    np.testing.assert_allclose(fast, plain, rtol=1e-6)


@pytest.mark.parametrize("block_rows", [1, 5, 27, 128])
def test_blocked_cross_entropy_is_the_mean_over_every_position(block_rows):
    """Blocks that do not divide the 27 positions are padded with zero-weight rows: the loss is still
    the mean over every real position, whatever the block size."""
    params = _perturbed_params(CONFIG)
    tokens = _tokens((3, 10))
    logits = jax.jit(fast_logits, static_argnums=2)(params, tokens[..., :-1], CONFIG)
    per_position = optax.softmax_cross_entropy_with_integer_labels(logits, tokens[..., 1:])
    blocked = jax.jit(fast_cross_entropy, static_argnums=(2, 3))(params, tokens, CONFIG, block_rows)
    np.testing.assert_allclose(blocked, per_position.mean(), rtol=1e-6)


@pytest.mark.parametrize(("rank", "embedding_rank"), [(1, 2), (2, 4), (4, 8)])
def test_factorized_population_loss_matches_the_dense_product(rank, embedding_rank, monkeypatch):
    """Factorized genotypes: the fast forward applies the factors (no kernel multiplied out where the
    factors are cheaper) and gives the plain forward's losses on ``U @ V`` to float32 rounding."""
    layout = genome_layout(_template(CONFIG), rank=rank, embedding_rank=embedding_rank)
    population = _population(layout)
    sequences = _tokens((4, 13))
    rows = 4 * 12
    plain_per_member = [jax.jit(token_cross_entropy, static_argnums=2)(layout.encoding.decode(g), sequences,
                                                                       CONFIG) for g in population]
    fast_per_member = [jax.jit(fast_cross_entropy, static_argnums=2)(layout.encoding.decode_factors(g),
                                                                     sequences, CONFIG) for g in population]

    formed = []
    matrix = Factors.matrix
    monkeypatch.setattr(Factors, "matrix", lambda self: formed.append(self.u.shape) or matrix(self))
    fast = jax.jit(make_population_loss(layout.encoding, CONFIG, chunk_size=4))(population, sequences)
    np.testing.assert_allclose(fast, plain_per_member, rtol=1e-5)
    np.testing.assert_allclose(fast, fast_per_member, rtol=1e-5)  # population forward = per-member forward
    cheaper = [shape for shape in ((8, rank, 12), (12, rank, 8), (8, rank, 8))
               if factors_are_cheaper(rows, *shape)]
    assert cheaper  # the test's shapes do exercise the factored path
    kernels_formed = {u_shape for u_shape in formed if u_shape != (CONFIG.vocab_size, embedding_rank)}
    assert not kernels_formed & {(m, r) for m, r, _ in cheaper}


def test_factorized_embedding_with_fewer_tokens_than_vocabulary_rows():
    """Fewer tokens than vocabulary rows: the lookup and the unembedding both use the factors."""
    config = TransformerConfig(vocab_size=64, hidden_dim=8, ff_dim=12, num_heads=2, head_dim=4, num_blocks=1)
    layout = genome_layout(_template(config), rank=2, embedding_rank=3)
    genotype = _population(layout)[0]
    tokens = jax.random.randint(jax.random.PRNGKey(5), (2, 5), 0, config.vocab_size)  # 10 < 64 rows
    fast = jax.jit(fast_logits, static_argnums=2)(layout.encoding.decode_factors(genotype), tokens, config)
    plain = jax.jit(logits_fn, static_argnums=2)(layout.encoding.decode(genotype), tokens, config)
    np.testing.assert_allclose(fast, plain, rtol=1e-5, atol=1e-5)


def test_factored_product_is_chosen_only_where_cheaper():
    assert factors_are_cheaper(1024, 32, 4, 16)  # rank-4 q/k/v projection of 1024 tokens
    assert factors_are_cheaper(1024, 32, 4, 128)  # rank-4 feed-forward
    assert not factors_are_cheaper(1024, 32, 32, 32)  # full rank: forming is as cheap
    assert not factors_are_cheaper(1024, 32, 16, 16)  # rank 16 of a 32 x 16 matrix: forming is cheaper
    x = jax.random.normal(jax.random.PRNGKey(0), (64, 32))
    u = jax.random.normal(jax.random.PRNGKey(1), (32, 4))
    v = jax.random.normal(jax.random.PRNGKey(2), (4, 16))
    np.testing.assert_allclose(transformer._apply(x, Factors(u, v)), x @ (u @ v), rtol=1e-5, atol=1e-5)


def test_chunk_size_keeps_the_activations_of_a_chunk_in_cache():
    paper = TransformerConfig(vocab_size=103)
    # 16 windows of 64 tokens: 1 MiB of attention scores per member -> 4 members per 4 MiB chunk
    assert chunk_size_for(16, 64, 103, config=paper) == 4
    assert chunk_size_for(8, 32, 103, config=paper) == 16  # capped by ``largest``
    assert chunk_size_for(8, 32, 103, largest=64, config=paper) == 32
    assert chunk_size_for(1024, 64, 2051, config=TransformerConfig()) == 1  # never below one
