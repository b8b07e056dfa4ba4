"""A whole population's tanh MLP forward as one batched matrix product per layer.

``MLPPolicy`` (nevolab.tasks.control) applied to one member and one observation is a chain of
vector-matrix products; vmapped over members and episodes, XLA:CPU runs them as many tiny products
plus the gather/transpose glue of the batching. Here the members' stacked kernels, shaped
``(members, in, out)``, meet the observations of all their episodes, ``(members, episodes, in)``, in a
single ``einsum`` per layer: one batched GEMM of ``episodes × in × out`` per member.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

PyTree = Any
Layer = tuple[jax.Array, jax.Array]


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
