"""Tests for the Study C transformer language model (nevolab.models.transformer)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from nevolab.models.transformer import (
    SMALL,
    TransformerConfig,
    init_params,
    logits_fn,
    num_params,
    rotary,
    token_cross_entropy,
)

_logits = jax.jit(logits_fn, static_argnums=2)
_loss = jax.jit(token_cross_entropy, static_argnums=2)

TINY = TransformerConfig(vocab_size=11, hidden_dim=8, ff_dim=12, num_heads=2, head_dim=4, num_blocks=2,
                         max_len=16)


def _count(config: TransformerConfig) -> int:
    shapes = jax.eval_shape(lambda k: init_params(config, k), jax.random.PRNGKey(0))
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(shapes))


@pytest.mark.parametrize(("overrides", "expected"), [({}, 99_507), (SMALL, 11_671)])
def test_parameter_count_matches_the_paper(overrides, expected):
    config = TransformerConfig(vocab_size=2051, **overrides)
    assert _count(config) == expected == num_params(config)


def test_closed_form_count_on_other_shapes():
    for config in (TINY, TransformerConfig(vocab_size=103, num_blocks=1, head_dim=2, num_heads=3)):
        assert _count(config) == num_params(config)


# ----------------------------------------------------------------------------- NumPy reference model


def _np_layer_norm(x, scale, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * scale + bias


def _np_rotary(x, base):
    """Rotary embedding written with complex numbers: pair (x0, x1) -> (x0 + i x1) * exp(i t theta)."""
    length, _, head_dim = x.shape
    z = x[..., 0::2] + 1j * x[..., 1::2]
    theta = base ** (-np.arange(head_dim // 2) * 2.0 / head_dim)
    z = z * np.exp(1j * np.arange(length)[:, None, None] * theta[None, None, :])
    out = np.empty_like(x)
    out[..., 0::2], out[..., 1::2] = z.real, z.imag
    return out


def _np_forward(params, tokens, c: TransformerConfig):
    p = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), params)
    embedding = p["embed"]["embedding"]
    x = embedding[tokens]
    length = len(tokens)
    for i in range(c.num_blocks):
        b = p[f"block_{i}"]

        def proj(name, inp, b=b):
            return inp @ b[name]["kernel"] + b[name]["bias"]

        q, k, v = (proj(n, x).reshape(length, c.num_heads, c.head_dim) for n in ("query", "key", "value"))
        q, k = _np_rotary(q, c.rotary_base), _np_rotary(k, c.rotary_base)
        out = np.zeros((length, c.num_heads, c.head_dim))
        for t in range(length):  # explicit causal loop: position t sees keys 0..t only
            s = np.einsum("hd,shd->hs", q[t], k[: t + 1]) / np.sqrt(c.head_dim)
            w = np.exp(s - s.max(-1, keepdims=True))
            w /= w.sum(-1, keepdims=True)
            out[t] = np.einsum("hs,shd->hd", w, v[: t + 1])
        attended = proj("out", out.reshape(length, -1))
        x = _np_layer_norm(x + attended, **b["ln_attention"], eps=c.layer_norm_epsilon)
        hidden = np.maximum(proj("ff_in", x), 0.0)
        x = _np_layer_norm(x + proj("ff_out", hidden), **b["ln_ff"], eps=c.layer_norm_epsilon)
    return x @ embedding.T + p["output_bias"]


@functools.partial(jax.jit, static_argnums=0)
def _perturbed_params(config, seed=0):
    """Random params with non-trivial biases and LayerNorm affine terms (so all of them are tested)."""
    params = init_params(config, jax.random.PRNGKey(seed))
    flat, unravel = ravel_pytree(params)
    return unravel(flat + 0.3 * jax.random.normal(jax.random.PRNGKey(seed + 100), flat.shape))


@pytest.fixture(scope="module")
def params():
    return _perturbed_params(TINY, 0)


def test_forward_matches_numpy_reference(params):
    # two rows in one batch: the second is the first with token 4 changed, which must not change the
    # logits of earlier positions (causal mask)
    tokens = np.array([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3], [3, 1, 4, 1, 7, 9, 2, 6, 5, 3]])
    got = np.asarray(_logits(params, jnp.asarray(tokens), TINY))
    for row, expected in zip(got, tokens, strict=True):
        np.testing.assert_allclose(row, _np_forward(params, expected, TINY), rtol=2e-4, atol=2e-4)
    np.testing.assert_array_equal(got[0, :4], got[1, :4])
    assert not np.allclose(got[0, 4:], got[1, 4:])


def test_rotary_is_a_relative_rotation():
    rng = np.random.default_rng(0)
    q = np.broadcast_to(rng.normal(size=(1, 2, 4)), (9, 2, 4)).astype(np.float32)  # same vector at all t
    k = np.broadcast_to(rng.normal(size=(1, 2, 4)), (9, 2, 4)).astype(np.float32)
    rq, rk = (np.asarray(x, np.float64) for x in jax.jit(jax.vmap(rotary))(jnp.stack([q, k])))
    np.testing.assert_allclose(np.linalg.norm(rq, axis=-1), np.linalg.norm(q, axis=-1), rtol=1e-5)
    np.testing.assert_allclose(rq[0], q[0])  # position 0 is not rotated
    dots = np.einsum("thd,shd->hts", rq, rk)
    # <R_t q, R_s k> depends only on t - s
    np.testing.assert_allclose(dots[:, 5, 2], dots[:, 7, 4], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dots[:, 3, 3], dots[:, 8, 8], rtol=1e-4, atol=1e-5)
    assert not np.allclose(dots[:, 5, 2], dots[:, 5, 3])
    np.testing.assert_allclose(rq, _np_rotary(q.astype(np.float64), 10_000.0), rtol=1e-5, atol=1e-6)


def test_cross_entropy_known_values(params):
    tokens = jnp.array([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]])
    logits = np.concatenate([_np_forward(params, np.asarray(row[:-1]), TINY) for row in tokens])
    targets = np.asarray(tokens[:, 1:]).ravel()
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -log_probs[np.arange(len(targets)), targets].mean()
    np.testing.assert_allclose(_loss(params, tokens, TINY), expected, rtol=1e-4)
    # all-zero embedding and output bias give uniform predictions: CE = ln(vocab)
    uniform = jax.tree_util.tree_map(jnp.zeros_like, params)
    np.testing.assert_allclose(_loss(uniform, tokens, TINY), np.log(TINY.vocab_size), rtol=1e-6)


def test_config_validation():
    with pytest.raises(ValueError, match="hidden_dim"):
        TransformerConfig(hidden_dim=0)
    with pytest.raises(ValueError, match="head_dim"):
        TransformerConfig(head_dim=3)
    shapes = jax.eval_shape(lambda k: init_params(TINY, k), jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="max_len"):  # raised while tracing: nothing is compiled
        jax.eval_shape(lambda p: logits_fn(p, jnp.zeros((17,), jnp.int32), TINY), shapes)
