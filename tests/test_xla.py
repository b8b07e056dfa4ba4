"""The speed-only XLA:CPU choices: sort-free ranking, materialisation, unrolled threefry, select-chain
gathers and the sparse Cauchy draw. Each must give exactly what the plain JAX expression gives."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nevolab import xla


def _draws(key):
    key_a, key_b = jax.random.split(jax.random.fold_in(key, 7))
    return (jax.random.uniform(key_a, (5, 33)), jax.random.normal(key_b, (17,)),
            jax.random.bits(key, (3, 4), jnp.uint32), jax.random.cauchy(key_b, (64,)))


@pytest.mark.parametrize(("shape", "axis"), [((8,), 0), ((4, 98), 0), ((3, 5, 7), 1), ((10, 6, 4), -1),
                                             ((xla.SMALL_SORT + 1,), 0)])
def test_stable_argsort_equals_a_stable_sort_with_ties_and_infinities(shape, axis):
    for trial in range(12):
        values = jax.random.uniform(jax.random.key(trial), shape)
        if trial % 2:
            values = jnp.round(values * 3) / 3  # many ties: index order must break them
        if trial % 3 == 0:
            values = values.at[(0,) * len(shape)].set(jnp.inf)  # sanitised losses are +inf
        expected = jnp.argsort(values, axis=axis, stable=True)
        np.testing.assert_array_equal(xla.stable_argsort(values, axis), expected)
        np.testing.assert_array_equal(jax.jit(xla.stable_argsort, static_argnums=1)(values, axis), expected)


def test_stable_argsort_under_vmap_and_jit():
    values = jax.random.uniform(jax.random.key(3), (6, 4, 9))
    got = jax.jit(jax.vmap(lambda v: xla.stable_argsort(v, axis=0)))(values)
    np.testing.assert_array_equal(got, jnp.argsort(values, axis=1, stable=True))


def test_materialize_is_the_identity_also_batched_and_for_nan():
    values = jnp.asarray([[jnp.nan, -0.0, 2.0], [1.0, jnp.inf, -3.0]])
    np.testing.assert_array_equal(jax.jit(xla.materialize)(values), values)
    np.testing.assert_array_equal(jax.jit(jax.vmap(xla.materialize))(values), values)


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.int8, jnp.uint32, jnp.uint8, jnp.bool_])
def test_materialize_is_the_identity_for_integers_and_booleans(dtype):
    raw = np.array([[0, 1, 2], [3, 4, 5]]) if dtype != jnp.bool_ else np.array([[0, 1, 1], [0, 0, 1]])
    values = jnp.asarray(raw).astype(dtype)
    if jnp.issubdtype(dtype, jnp.integer):  # the extremes of the range, too
        values = values.at[0, 0].set(jnp.iinfo(dtype).min).at[1, 2].set(jnp.iinfo(dtype).max)
    for fn in (jax.jit(xla.materialize), jax.jit(jax.vmap(xla.materialize))):
        result = fn(values)
        assert result.dtype == values.dtype
        np.testing.assert_array_equal(result, values)
    text = jax.jit(jax.vmap(xla.materialize)).lower(values).as_text()
    assert "stablehlo.case" in text or "stablehlo.if" in text


def test_materialize_keeps_its_conditional_under_vmap():
    # A batched predicate would have turned the conditional into a (fusible) select.
    text = jax.jit(jax.vmap(xla.materialize)).lower(jnp.ones((4, 3))).as_text()
    assert "stablehlo.case" in text or "stablehlo.if" in text


def test_unrolled_threefry_gives_the_same_bits_as_the_rolled_lowering():
    from jax._src.interpreters import mlir
    from jax._src.random import threefry2x32 as threefry

    key = jax.random.key(42)
    unrolled_text = jax.jit(lambda k: _draws(k)).lower(key).as_text()
    assert "stablehlo.while" not in unrolled_text  # nevolab's import installed the unrolled rule
    unrolled = jax.jit(lambda k: _draws(k))(key)
    mlir.register_lowering(threefry.threefry2x32_p, threefry._threefry2x32_cpu_lowering_rule, platform="cpu")
    try:
        assert "stablehlo.while" in jax.jit(lambda k: _draws(k)).lower(key).as_text()
        rolled = jax.jit(lambda k: _draws(k))(key)
    finally:
        mlir.register_lowering(threefry.threefry2x32_p, threefry._threefry2x32_lowering_rule, platform="cpu")
    for a, b in zip(unrolled, rolled, strict=True):
        np.testing.assert_array_equal(a, b)


def test_take_rows_and_take_along_rows_equal_gathers_bit_for_bit():
    values = jax.random.normal(jax.random.key(0), (8, 98)).at[3, 5].set(-0.0).at[2, 7].set(jnp.nan)
    rows = jax.random.randint(jax.random.key(1), (2, 3), 0, 8)
    np.testing.assert_array_equal(jax.jit(xla.take_rows)(values, rows), values[rows])
    indices = jax.random.randint(jax.random.key(2), (4, 98), 0, 8)
    np.testing.assert_array_equal(jax.jit(xla.take_along_rows)(values, indices),
                                  jnp.take_along_axis(values, indices, axis=0))
    # Signed zeros survive (a one-hot sum would turn -0.0 into +0.0).
    assert np.signbit(xla.take_rows(values, jnp.asarray([3]))[0, 5])
    batched = jax.jit(jax.vmap(xla.take_rows))(jnp.stack([values, -values]), jnp.stack([rows, rows[::-1]]))
    np.testing.assert_array_equal(batched[1], (-values)[rows[::-1]])


def test_inverse_permutation_inverts():
    permutations = jax.vmap(lambda k: jax.random.permutation(k, 8))(jax.random.split(jax.random.key(4), 5))
    inverse = jax.jit(xla.inverse_permutation)(permutations)
    np.testing.assert_array_equal(np.take_along_axis(np.asarray(inverse), np.asarray(permutations), axis=1),
                                  np.broadcast_to(np.arange(8), (5, 8)))


@pytest.mark.parametrize("scale", [1.0, 0.245])
def test_sparse_cauchy_equals_masked_cauchy_bit_for_bit(scale):
    def reference(key, where):
        return jnp.where(where, scale * jax.random.cauchy(key, where.shape), 0.0)

    for trial in range(5):
        key_where, key_noise = jax.random.split(jax.random.key(trial))
        where = jax.random.bernoulli(key_where, 0.05 + 0.2 * trial, (4, 98))
        expected = jax.jit(reference)(key_noise, where)
        np.testing.assert_array_equal(jax.jit(xla.sparse_cauchy, static_argnums=2)(key_noise, where, scale),
                                      expected)
        assert np.all(expected[~np.asarray(where)] == 0)
