"""A whole population's tanh MLP forward as one batched matrix product per layer.

``MLPPolicy`` (nevolab.tasks.control) applied to one member and one observation is a chain of
vector-matrix products; vmapped over members and episodes, XLA:CPU runs them as many tiny products
plus the gather/transpose glue of the batching. Here the members' stacked kernels, shaped
``(members, in, out)``, meet the observations of all their episodes, ``(members, episodes, in)``, in a
single ``einsum`` per layer: one batched GEMM of ``episodes × in × out`` per member.

A rollout steps its members in chunks (:func:`members_per_chunk`) small enough that a chunk's
weights stay in a core's cache across all its time steps; streamed from the shared cache at every
step instead, the weights of a population of 256 2×64 policies cost a sixth of the rollout's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

PyTree = Any
Layer = tuple[jax.Array, jax.Array]

#: Bytes of policy weights per chunk of members: about a core's L2 cache (1 MiB on the AMD EPYC
#: these runs are timed on); 32 to 64 members of the paper's 2×64 policy were fastest there.
CHUNK_BYTES = 1 << 20


def _layer_index(name: str) -> int:
    # flax names the layers of an ``nn.compact`` module Dense_0, Dense_1, ...: sort by number, so
    # Dense_10 comes after Dense_9.
    return int(name.rsplit("_", 1)[1])


def stacked_layers(population_params: PyTree) -> list[Layer]:
    """The ``(kernel, bias)`` of each Dense layer in order, each with a leading member axis."""
    inner = population_params["params"]
    return [(inner[name]["kernel"], inner[name]["bias"]) for name in sorted(inner, key=_layer_index)]


def population_forward(layers: Sequence[Layer], observations: jax.Array) -> jax.Array:
    """Outputs ``(members, episodes, out)`` of every member's MLP on its own episodes' observations.

    ``observations`` is ``(members, episodes, in)``; hidden layers are tanh, the last one linear.
    """
    x = observations
    for index, (kernel, bias) in enumerate(layers):
        x = jnp.einsum("mei,mio->meo", x, kernel) + bias[:, None, :]
        if index < len(layers) - 1:
            x = jnp.tanh(x)
    return x


def members_per_chunk(population_params: PyTree, chunk_bytes: int = CHUNK_BYTES) -> int:
    """The largest divisor of the member count whose members' weights fit in ``chunk_bytes``
    (at least 1)."""
    leaves = jax.tree_util.tree_leaves(population_params)
    members = int(leaves[0].shape[0])
    member_bytes = sum(leaf.size // members * leaf.dtype.itemsize for leaf in leaves)
    fitting = max(1, chunk_bytes // max(1, member_bytes))
    return max(d for d in range(1, members + 1) if members % d == 0 and d <= fitting)
