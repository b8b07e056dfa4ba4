"""Masked (sparse) encodings: the genotype holds only the unpruned coordinates of a network.

A lottery-ticket ES searches over the surviving weights only (the original code's
``MaskedParameterReshaper``): pruned weights are not part of the search distribution, so they
cost no memory in the ES state and cannot drift away from zero. Decoding scatters the genotype
into a fixed background vector (zeros for pruning) at the surviving positions.

:func:`scatter_genotype` / :func:`gather_genotype` take the indices as an *array*, so one compiled
function serves many masks of the same size: the pruning loop uses them to ``vmap`` a whole pruning
round over seeds whose masks differ but keep the same number of weights.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

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


def gather_genotype(flat_params: jax.Array, indices: jax.Array) -> jax.Array:
    """The genotype of a flat parameter vector: its entries at ``indices``."""
    return flat_params[indices]


def scatter_genotype(genotype: jax.Array, indices: jax.Array, background: jax.Array) -> jax.Array:
    """The flat phenotype: ``background`` with ``genotype`` written at ``indices``.

    ``indices`` may be a traced array (one compiled function for many masks of equal size).
    """
    return background.at[indices].set(genotype.astype(background.dtype))
