"""Tests for low-rank factorized genotypes and Deep-GA gene scales (nevolab.lowrank)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from nevolab.lowrank import (
    PAPER_VARIANTS,
    FactorizedEncoding,
    classify_leaves,
    genome_layout,
    variant_layout,
)
from nevolab.models.transformer import Factors


def lowrank_encoding(template, rank, embedding_rank=None):
    """The factorized encoding alone (a test helper over genome_layout)."""
    return genome_layout(template, rank, embedding_rank).encoding


PAPER_GENES = {"dense": 99_507, "lowrank": 75_955, "small": 11_671, "rank1": 13_023}


def _template():
    """A tiny flax-shaped parameter tree: one wide-in and one wide-out kernel, a LayerNorm, an embedding."""
    return {
        "down": {"kernel": np.zeros((64, 16), np.float32), "bias": np.zeros(16, np.float32)},
        "embed": {"embedding": np.zeros((50, 8), np.float32)},
        "ln": {"scale": np.ones(16, np.float32), "bias": np.zeros(16, np.float32)},
        "output_bias": np.zeros(50, np.float32),
        "up": {"kernel": np.zeros((16, 64), np.float32), "bias": np.zeros(64, np.float32)},
    }


def _block(layout, path, kind):
    (block,) = [b for b in layout.blocks if b.path == path and b.kind == kind]
    return block


def _genes(genotype, block):
    return np.asarray(genotype[block.start:block.start + block.size]).reshape(block.shape)


@pytest.mark.parametrize("variant", list(PAPER_VARIANTS))
def test_paper_parameter_counts(variant):
    _, layout = variant_layout(variant, vocab_size=2051)
    assert layout.num_genes == PAPER_GENES[variant]
    assert layout.num_params == (11_671 if variant == "small" else 99_507)
    assert layout.mutation_scales.shape == layout.init_std.shape == (layout.num_genes,)
    # 3 blocks x 2 LayerNorms x (scale + bias) x hidden: the genes that never mutate
    hidden = 4 if variant == "small" else 32
    assert int(np.sum(layout.mutation_scales == 0)) == 3 * 2 * 2 * hidden


def test_classify_leaves_in_ravel_order():
    kinds = [(path, kind) for path, kind, _ in classify_leaves(_template())]
    assert kinds == [
        ("down/bias", "bias"), ("down/kernel", "kernel"), ("embed/embedding", "embedding"),
        ("ln/bias", "layer_norm_bias"), ("ln/scale", "layer_norm_scale"), ("output_bias", "bias"),
        ("up/bias", "bias"), ("up/kernel", "kernel"),
    ]
    with pytest.raises(ValueError, match="cannot classify"):
        classify_leaves({"conv": {"weights": np.zeros((3, 3))}})


def test_decode_is_the_product_of_the_factors():
    layout = genome_layout(_template(), rank=3, embedding_rank=2)
    g = jax.random.normal(jax.random.PRNGKey(0), (layout.num_genes,))
    params = layout.encoding.decode(g)
    for path, leaf in (("down/kernel", params["down"]["kernel"]), ("up/kernel", params["up"]["kernel"]),
                       ("embed/embedding", params["embed"]["embedding"])):
        u, v = _genes(g, _block(layout, path, "factor_u")), _genes(g, _block(layout, path, "factor_v"))
        np.testing.assert_allclose(leaf, u @ v, rtol=1e-5, atol=1e-5)
        assert np.linalg.matrix_rank(np.asarray(leaf, np.float64), tol=1e-4) == u.shape[1]
    ln_scale = _genes(g, _block(layout, "ln/scale", "layer_norm_scale"))
    np.testing.assert_array_equal(params["ln"]["scale"], ln_scale)
    np.testing.assert_array_equal(params["up"]["bias"], _genes(g, _block(layout, "up/bias", "bias")))
    # genome size: 64*3+3*16 + 16*3+3*64 + 50*2+2*8 + biases 16+50+64 + LayerNorm 32
    assert layout.num_genes == 240 + 240 + 116 + 130 + 32
    assert layout.num_params == ravel_pytree(_template())[0].size


def test_decode_factors_keeps_the_factors_that_decode_multiplies():
    layout = genome_layout(_template(), rank=3, embedding_rank=2)
    assert isinstance(layout.encoding, FactorizedEncoding)
    g = jax.random.normal(jax.random.PRNGKey(0), (layout.num_genes,))
    factored = layout.encoding.decode_factors(g)
    dense = layout.encoding.decode(g)
    for path, leaf in (("down/kernel", factored["down"]["kernel"]), ("up/kernel", factored["up"]["kernel"]),
                       ("embed/embedding", factored["embed"]["embedding"])):
        assert isinstance(leaf, Factors)
        np.testing.assert_array_equal(leaf.u, _genes(g, _block(layout, path, "factor_u")))
        np.testing.assert_array_equal(leaf.v, _genes(g, _block(layout, path, "factor_v")))
    developed = jax.tree_util.tree_map(lambda leaf: leaf.matrix() if isinstance(leaf, Factors) else leaf,
                                       factored, is_leaf=lambda leaf: isinstance(leaf, Factors))
    leaves = jax.tree_util.tree_leaves
    for got, expected in zip(leaves(developed), leaves(dense), strict=True):
        np.testing.assert_array_equal(got, expected)  # decode is exactly the factors multiplied out
    assert not isinstance(genome_layout(_template()).encoding, FactorizedEncoding)  # direct: nothing to keep


def test_encode_is_the_best_rank_r_approximation():
    rng = np.random.default_rng(1)
    params = jax.tree_util.tree_map(lambda a: rng.normal(size=a.shape).astype(np.float32), _template())
    full = lowrank_encoding(params, rank=16, embedding_rank=8)  # rank = min(m, n): lossless
    np.testing.assert_allclose(ravel_pytree(full.decode(full.encode(params)))[0], ravel_pytree(params)[0],
                               rtol=1e-4, atol=1e-4)
    low = lowrank_encoding(params, rank=5)
    approx = low.decode(low.encode(params))
    w = np.asarray(params["down"]["kernel"], np.float64)
    singular = np.linalg.svd(w, compute_uv=False)
    error = np.linalg.norm(w - np.asarray(approx["down"]["kernel"], np.float64))
    np.testing.assert_allclose(error, np.sqrt(np.sum(singular[5:] ** 2)), rtol=1e-4)  # Eckart-Young
    np.testing.assert_array_equal(approx["embed"]["embedding"], params["embed"]["embedding"])  # unfactorized


def test_rank_validation_names_the_parameter_and_range():
    with pytest.raises(ValueError, match=r"rank=17 .*down/kernel.*\[1, 16\]"):
        genome_layout(_template(), rank=17)
    with pytest.raises(ValueError, match=r"rank=0 .*\[1, 16\]"):
        lowrank_encoding(_template(), rank=0)
    with pytest.raises(ValueError, match=r"embedding_rank=9 .*\[1, 8\]"):
        genome_layout(_template(), rank=2, embedding_rank=9)
    # on the transformer: rank 17 fits ff_in (32, 128) but not the key projection (32, 16)
    template = variant_layout("dense")[1].encoding.decode(jnp.zeros(99_507))
    with pytest.raises(ValueError, match=r"rank=17 .*block_0/key/kernel.*\[1, 16\]"):
        genome_layout(template, rank=17)


def test_dense_scales_and_initialisation():
    layout = genome_layout(_template())  # direct encoding
    assert layout.encoding.name == "direct"
    scales = layout.mutation_scales
    expect = {
        ("down/kernel", "kernel"): 0.01 * math.sqrt(2 / 64),
        ("up/kernel", "kernel"): 0.01 * math.sqrt(2 / 16),
        ("down/bias", "bias"): 0.01 * math.sqrt(2),
        ("output_bias", "bias"): 0.01 * math.sqrt(2),
        ("embed/embedding", "embedding"): 0.01,
        ("ln/scale", "layer_norm_scale"): 0.0,
        ("ln/bias", "layer_norm_bias"): 0.0,
    }
    for (path, kind), value in expect.items():
        np.testing.assert_allclose(_genes(scales, _block(layout, path, kind)), value, rtol=1e-6)
    # gene order = ravel_pytree order, so decode is the plain unravel
    genotypes = jax.vmap(layout.init_fn)(jax.random.split(jax.random.PRNGKey(0), 400))
    params = jax.vmap(layout.encoding.decode)(genotypes)
    np.testing.assert_array_equal(params["ln"]["scale"], 1.0)
    np.testing.assert_array_equal(params["down"]["bias"], 0.0)
    np.testing.assert_allclose(np.var(params["down"]["kernel"]), 2 / 64, rtol=0.05)
    np.testing.assert_allclose(np.var(params["embed"]["embedding"]), 1.0, rtol=0.05)


def test_factor_initialisation_and_scales_follow_the_two_rules():
    layout = genome_layout(_template(), rank=4, embedding_rank=2)
    shapes = (("down/kernel", 64, 16, 4), ("up/kernel", 16, 64, 4), ("embed/embedding", 50, 8, 2))
    for path, m, n, r in shapes:
        gain = 2.0 if m > n else math.sqrt(2.0)  # Flux d2 > d1  <=>  flax m > n
        u, v = _block(layout, path, "factor_u"), _block(layout, path, "factor_v")
        assert u.shape == (m, r) and v.shape == (r, n)
        assert math.isclose(u.init_std, math.sqrt(gain / m))
        assert math.isclose(v.init_std, math.sqrt(gain / r))
        assert math.isclose(u.mutation_scale, 0.1 * u.init_std)
        assert math.isclose(v.mutation_scale, 0.1 * v.init_std)
    genotypes = jax.vmap(layout.init_fn)(jax.random.split(jax.random.PRNGKey(1), 2000))
    params = jax.vmap(layout.encoding.decode)(genotypes)
    # product variance g^2 / fan_in: 4/64 for the wide-in kernel, 2/16 (Kaiming) for the wide-out one
    np.testing.assert_allclose(np.var(params["down"]["kernel"]), 4 / 64, rtol=0.05)
    np.testing.assert_allclose(np.var(params["up"]["kernel"]), 2 / 16, rtol=0.05)
    np.testing.assert_allclose(np.var(params["embed"]["embedding"]), 4 / 50, rtol=0.05)
    np.testing.assert_array_equal(params["ln"]["scale"], 1.0)
    assert np.all(np.asarray(genotypes[:, _block(layout, "ln/scale", "layer_norm_scale").start]) == 1.0)


def test_layout_init_is_a_pure_function_of_the_key():
    layout = genome_layout(_template(), rank=2)
    g = jax.jit(layout.init_fn)(jax.random.PRNGKey(3))
    assert g.shape == layout.mutation_scales.shape == (layout.encoding.num_genes,)
    np.testing.assert_array_equal(g, layout.init_fn(jax.random.PRNGKey(3)))
