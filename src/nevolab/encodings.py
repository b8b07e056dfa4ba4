"""Genotype -> phenotype encodings over parameter pytrees.

An :class:`Encoding` maps a flat genotype vector (what an evolutionary algorithm searches) to a
parameter pytree (what a model consumes). Every encoding is a pair of pure, jittable functions:

* ``decode(genotype) -> params``: used inside the fitness function, vmapped over the population;
* ``encode(params) -> genotype``: used once, to turn freshly initialised networks into genotypes.

Encodings are built from a *template* parameter pytree; its leaf order (``ravel_pytree`` order) is the
"flattening order" of the phenotype. Study A's models keep PyTorch's ``named_parameters`` order so the
global DCT sees the same vector the original code did.

Other studies add encodings with the same shape: masked (sparse) encodings for lottery tickets and
low-rank factorised encodings for Study C.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

PyTree = Any


@dataclasses.dataclass(frozen=True, eq=False)
class Encoding:
    """A genotype <-> phenotype map.

    Attributes:
        name: short identifier ("direct", "dct_global", ...).
        num_genes: length of the genotype vector.
        num_params: number of phenotype parameters.
        decode: genotype (num_genes,) -> parameter pytree.
        encode: parameter pytree -> genotype (num_genes,).
    """

    name: str
    num_genes: int
    num_params: int
    decode: Callable[[jax.Array], PyTree]
    encode: Callable[[PyTree], jax.Array]

    def decode_flat(self, genotype: jax.Array) -> jax.Array:
        """The phenotype as one flat vector, in the template's flattening order."""
        return ravel_pytree(self.decode(genotype))[0]


def direct_encoding(template: PyTree) -> Encoding:
    """The identity encoding: the genotype is the flattened parameter vector."""
    flat, unravel = ravel_pytree(template)
    size = int(flat.size)
    return Encoding(
        name="direct",
        num_genes=size,
        num_params=size,
        decode=unravel,
        encode=lambda params: ravel_pytree(params)[0],
    )


def dct_basis(length: int, num_coefficients: int) -> np.ndarray:
    """The first ``num_coefficients`` orthonormal DCT-II basis vectors of a length-``length`` signal.

    Returns a (length, num_coefficients) matrix ``B`` with orthonormal columns, such that
    ``B @ c`` equals ``scipy.fft.idct(c, n=length, norm="ortho")`` (the coefficients zero-padded to
    ``length``) and ``B.T @ x`` equals the first ``num_coefficients`` entries of
    ``scipy.fft.dct(x, norm="ortho")``. For ``num_coefficients == length`` it is the full orthogonal
    DCT matrix, so the transform is lossless.
    """
    if not 1 <= num_coefficients <= length:
        raise ValueError(
            f"num_coefficients must be in [1, {length}] for a signal of length {length}; "
            f"got {num_coefficients}"
        )
    n = np.arange(length)[:, None]
    k = np.arange(num_coefficients)[None, :]
    basis = np.cos(np.pi * (2 * n + 1) * k / (2 * length)) * np.sqrt(2.0 / length)
    basis[:, 0] = np.sqrt(1.0 / length)
    return basis


def _check_dct_length(name: str, num_coefficients: int, num_params: int) -> None:
    if not 1 <= num_coefficients <= num_params:
        raise ValueError(
            f"{name}={num_coefficients} is impossible: the DCT genotype length must be between 1 and "
            f"the number of network parameters ({num_params})"
        )


def dct_global_encoding(template: PyTree, num_coefficients: int, faithful: bool = False) -> Encoding:
    """The paper's IDCT encoding: the genotype holds the first k DCT-II coefficients of the whole
    flattened parameter vector; decoding zero-pads them and applies the inverse (orthonormal) DCT.

    ``encode`` maps an initial network to its genotype. The original code calls
    ``scipy.fftpack.dct(w, n=k, norm="ortho")``, which *truncates* ``w`` to its first k entries and
    takes a length-k DCT: a genotype whose decoded network is not a projection of ``w``.
    ``faithful=True`` reproduces that; the default projects ``w`` onto the k retained basis vectors
    (the least-squares closest genotype).
    """
    flat, unravel = ravel_pytree(template)
    num_params = int(flat.size)
    _check_dct_length("num_coefficients", num_coefficients, num_params)
    basis = jnp.asarray(dct_basis(num_params, num_coefficients), dtype=flat.dtype)
    truncated_basis = jnp.asarray(dct_basis(num_coefficients, num_coefficients), dtype=flat.dtype)

    def decode(genotype: jax.Array) -> PyTree:
        return unravel(basis @ genotype)

    def encode(params: PyTree) -> jax.Array:
        vector = ravel_pytree(params)[0]
        if faithful:
            return truncated_basis.T @ vector[:num_coefficients]
        return basis.T @ vector

    return Encoding("dct_global", num_coefficients, num_params, decode, encode)


def split_coefficients(leaf_sizes: list[int], num_coefficients: int) -> list[int]:
    """Share ``num_coefficients`` among leaves in proportion to their sizes (largest remainder),
    at least one and at most ``size`` per leaf."""
    total = sum(leaf_sizes)
    if not len(leaf_sizes) <= num_coefficients <= total:
        raise ValueError(
            f"num_coefficients={num_coefficients} is impossible for a per-layer DCT over "
            f"{len(leaf_sizes)} tensors with {total} parameters: it must be between "
            f"{len(leaf_sizes)} and {total}"
        )
    spare = num_coefficients - len(leaf_sizes)
    capacity = np.array(leaf_sizes) - 1
    exact = spare * capacity / max(int(capacity.sum()), 1)
    shares = np.floor(exact).astype(int)
    order = np.argsort(-(exact - shares), kind="stable")
    for index in order[: spare - int(shares.sum())]:
        shares[index] += 1
    return [int(s) + 1 for s in shares]


def dct_per_layer_encoding(template: PyTree, num_coefficients: int) -> Encoding:
    """A per-tensor IDCT encoding (the paper's suggested future work): each parameter tensor is the
    inverse DCT of its own low-frequency coefficients. The k genes are shared among tensors in
    proportion to their sizes, at least one per tensor."""
    leaves, treedef = jax.tree_util.tree_flatten(template)
    sizes = [int(np.size(leaf)) for leaf in leaves]
    shares = split_coefficients(sizes, num_coefficients)
    bases = [jnp.asarray(dct_basis(n, k), dtype=jnp.asarray(leaf).dtype)
             for n, k, leaf in zip(sizes, shares, leaves, strict=True)]
    offsets = np.cumsum([0, *shares])

    def decode(genotype: jax.Array) -> PyTree:
        new_leaves = [
            (basis @ genotype[start:stop]).reshape(jnp.shape(leaf))
            for basis, start, stop, leaf in zip(bases, offsets[:-1], offsets[1:], leaves, strict=True)
        ]
        return jax.tree_util.tree_unflatten(treedef, new_leaves)

    def encode(params: PyTree) -> jax.Array:
        param_leaves = jax.tree_util.tree_leaves(params)
        return jnp.concatenate(
            [basis.T @ jnp.ravel(leaf) for basis, leaf in zip(bases, param_leaves, strict=True)]
        )

    return Encoding("dct_per_layer", num_coefficients, sum(sizes), decode, encode)


ENCODINGS = ("direct", "dct_global", "dct_per_layer")


def make_encoding(name: str, template: PyTree, num_coefficients: int | None = None,
                  faithful: bool = False) -> Encoding:
    """Build an encoding by name. ``num_coefficients`` is required by the DCT encodings."""
    if name == "direct":
        return direct_encoding(template)
    if name not in ENCODINGS:
        raise ValueError(f"unknown encoding {name!r}; valid: {', '.join(ENCODINGS)}")
    if num_coefficients is None:
        raise ValueError(f"encoding {name!r} needs num_coefficients (the DCT genotype length)")
    if name == "dct_global":
        return dct_global_encoding(template, num_coefficients, faithful=faithful)
    return dct_per_layer_encoding(template, num_coefficients)
