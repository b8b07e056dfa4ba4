"""Tests for masked (sparse) encodings (nevolab.masked)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from nevolab.encodings import Encoding
from nevolab.masked import flatten_mask, gather_genotype, scatter_genotype

PyTree = Any


def mask_indices(flat_mask: np.ndarray | jax.Array) -> np.ndarray:
    """The surviving (True) positions of a concrete flat mask, ascending, as int32."""
    return np.flatnonzero(np.asarray(flat_mask)).astype(np.int32)


def masked_encoding(template: PyTree, mask: PyTree, fixed_values: PyTree | None = None) -> Encoding:
    """An encoding whose genotype is only the coordinates where ``mask`` is True.

    Args:
        template: a parameter pytree (fixes structure, shapes, dtype and flattening order).
        mask: a boolean pytree with the template's structure; True = searched (unpruned).
        fixed_values: phenotype values at the coordinates outside the mask. ``None`` (the pruning
            case) means zero. Values inside the mask are ignored: they come from the genotype.

    Returns:
        An :class:`Encoding` with ``num_genes`` = number of True entries. ``decode`` scatters the
        genotype into the background with static indices; ``encode`` gathers the masked entries, so
        ``encode(decode(g)) == g`` and ``decode(encode(p))`` is ``p`` with pruned entries replaced by
        ``fixed_values`` (zero). The flat genotype can be handed to any evosax strategy as its
        ``solution``.
    """
    flat_template, unravel = ravel_pytree(template)
    flat_mask = flatten_mask(template, mask)
    indices = mask_indices(flat_mask)
    if fixed_values is None:
        background = jnp.zeros_like(flat_template)
    else:
        background = ravel_pytree(fixed_values)[0].astype(flat_template.dtype)
        if background.shape != flat_template.shape:
            raise ValueError(
                f"fixed_values must have the template's {flat_template.size} parameters; "
                f"got {background.size}"
            )
    # Zero the searched coordinates of the background so that nothing leaks through the mask.
    background = jnp.where(jnp.asarray(flat_mask), 0.0, background).astype(flat_template.dtype)
    static_indices = jnp.asarray(indices)

    def decode(genotype: jax.Array) -> PyTree:
        return unravel(scatter_genotype(genotype, static_indices, background))

    def encode(params: PyTree) -> jax.Array:
        return gather_genotype(ravel_pytree(params)[0], static_indices)

    return Encoding(
        name="masked",
        num_genes=int(indices.size),
        num_params=int(flat_template.size),
        decode=decode,
        encode=encode,
    )


def _template():
    return {
        "layer": {"kernel": jnp.arange(6.0).reshape(2, 3) + 1.0, "bias": jnp.array([10.0, 20.0, 30.0])},
        "out": {"kernel": jnp.array([[-1.0], [-2.0], [-3.0]])},
    }


def _mask():
    return {
        "layer": {"kernel": np.array([[True, False, True], [False, False, True]]),
                  "bias": np.array([True, True, True])},
        "out": {"kernel": np.array([[False], [True], [False]])},
    }


def test_genotype_holds_only_unpruned_coordinates_in_flattening_order():
    encoding = masked_encoding(_template(), _mask())
    flat_mask = flatten_mask(_template(), _mask())
    assert encoding.num_genes == int(flat_mask.sum()) == 7
    assert encoding.num_params == 12
    genotype = encoding.encode(_template())
    flat = np.asarray(ravel_pytree(_template())[0])
    np.testing.assert_array_equal(np.asarray(genotype), flat[flat_mask])


def test_decode_puts_zeros_at_pruned_positions_and_round_trips():
    template, mask = _template(), _mask()
    encoding = masked_encoding(template, mask)
    genotype = jnp.arange(1.0, encoding.num_genes + 1.0)
    decoded = encoding.decode(genotype)
    for path_leaf, mask_leaf in zip(jax.tree_util.tree_leaves(decoded), jax.tree_util.tree_leaves(mask),
                                    strict=True):
        assert np.all(np.asarray(path_leaf)[~mask_leaf] == 0.0)
        assert np.all(np.asarray(path_leaf)[mask_leaf] != 0.0)
    np.testing.assert_array_equal(np.asarray(encoding.encode(decoded)), np.asarray(genotype))
    # decode(encode(p)) is p with the pruned entries zeroed.
    masked_template = jax.tree_util.tree_map(lambda p, m: p * m, template, mask)
    again = encoding.decode(encoding.encode(template))
    leaves = zip(jax.tree_util.tree_leaves(again), jax.tree_util.tree_leaves(masked_template), strict=True)
    for a, b in leaves:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_fixed_values_fill_the_unsearched_coordinates():
    template, mask = _template(), _mask()
    fixed = jax.tree_util.tree_map(lambda p: jnp.full_like(p, 7.0), template)
    encoding = masked_encoding(template, mask, fixed_values=fixed)
    flat = np.asarray(encoding.decode_flat(jnp.zeros(encoding.num_genes)))
    flat_mask = flatten_mask(template, mask)
    assert np.all(flat[~flat_mask] == 7.0)
    assert np.all(flat[flat_mask] == 0.0)


def test_mask_with_wrong_structure_or_shape_raises():
    template = _template()
    bad_shape = _mask()
    bad_shape["out"]["kernel"] = np.ones((1, 3), bool)
    with pytest.raises(ValueError, match="shape"):
        masked_encoding(template, bad_shape)
    with pytest.raises(ValueError, match="structure"):
        masked_encoding(template, {"layer": _mask()["layer"]})


def test_traced_indices_match_static_encoding_under_vmap():
    """The pruning loop scatters with traced indices (one program for many masks of equal size)."""
    template, mask = _template(), _mask()
    encoding = masked_encoding(template, mask)
    indices = jnp.asarray(mask_indices(flatten_mask(template, mask)))
    genotypes = jax.random.normal(jax.random.PRNGKey(0), (5, encoding.num_genes))
    background = jnp.zeros(encoding.num_params)
    traced = jax.jit(jax.vmap(scatter_genotype, in_axes=(0, None, None)))(genotypes, indices, background)
    static = jax.vmap(encoding.decode_flat)(genotypes)
    np.testing.assert_array_equal(np.asarray(traced), np.asarray(static))
    np.testing.assert_array_equal(np.asarray(gather_genotype(traced[0], indices)), np.asarray(genotypes[0]))


def test_usable_as_an_evosax_solution():
    from evosax.algorithms import SNES

    template, mask = _template(), _mask()
    encoding = masked_encoding(template, mask)
    es = SNES(population_size=8, solution=jnp.zeros(encoding.num_genes))
    params = es.default_params.replace(std_init=0.5)
    state = es.init(jax.random.PRNGKey(0), encoding.encode(template), params)
    population, state = es.ask(jax.random.PRNGKey(1), state, params)
    assert population.shape == (8, encoding.num_genes)
    decoded = jax.vmap(encoding.decode)(population)
    kernel = np.asarray(decoded["layer"]["kernel"])
    assert kernel.shape == (8, 2, 3)
    assert np.all(kernel[:, ~mask["layer"]["kernel"]] == 0.0)
    assert np.all(np.asarray(decoded["out"]["kernel"])[:, ~mask["out"]["kernel"]] == 0.0)
