"""Masked (sparse) encodings: the genotype holds only the unpruned coordinates of a network.

A lottery-ticket ES searches over the surviving weights only (the original code's
``MaskedParameterReshaper``): pruned weights are not part of the search distribution, so they
cost no memory in the ES state and cannot drift away from zero. Decoding scatters the genotype
into a fixed background vector (zeros for pruning) at the surviving positions.

Two layers:

* :func:`masked_encoding` builds an :class:`~nevolab.encodings.Encoding` from a concrete mask,
  with the surviving positions baked in as static NumPy indices (cheapest gather/scatter);
* :func:`scatter_genotype` / :func:`gather_genotype` take the indices as an *array*, so one compiled
  function serves many masks of the same size. The pruning loop uses them to ``vmap`` a whole
  pruning round over seeds whose masks differ but keep the same number of weights.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from nevolab.encodings import Encoding

PyTree = Any


def flatten_mask(template: PyTree, mask: PyTree) -> np.ndarray:
    """A boolean mask pytree (same structure and shapes as ``template``) as one flat NumPy vector
    in the template's ``ravel_pytree`` order. Raises ValueError on a structure or shape mismatch."""
    template_leaves, template_def = jax.tree_util.tree_flatten(template)
    mask_leaves, mask_def = jax.tree_util.tree_flatten(mask)
    if template_def != mask_def:
        raise ValueError(f"mask must have the template's tree structure {template_def}; got {mask_def}")
    for t_leaf, m_leaf in zip(template_leaves, mask_leaves, strict=True):
        if np.shape(t_leaf) != np.shape(m_leaf):
            raise ValueError(
                f"mask leaf shape {np.shape(m_leaf)} does not match parameter shape {np.shape(t_leaf)}"
            )
    if not mask_leaves:
        return np.zeros((0,), bool)
    return np.concatenate([np.asarray(leaf).astype(bool).ravel() for leaf in mask_leaves])


def mask_indices(flat_mask: np.ndarray | jax.Array) -> np.ndarray:
    """The surviving (True) positions of a concrete flat mask, ascending, as int32."""
    return np.flatnonzero(np.asarray(flat_mask)).astype(np.int32)


def gather_genotype(flat_params: jax.Array, indices: jax.Array) -> jax.Array:
    """The genotype of a flat parameter vector: its entries at ``indices``."""
    return flat_params[indices]


def scatter_genotype(genotype: jax.Array, indices: jax.Array, background: jax.Array) -> jax.Array:
    """The flat phenotype: ``background`` with ``genotype`` written at ``indices``.

    ``indices`` may be a traced array (one compiled function for many masks of equal size).
    """
    return background.at[indices].set(genotype.astype(background.dtype))


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
