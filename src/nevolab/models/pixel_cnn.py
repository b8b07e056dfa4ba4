"""The CarRacing CNN of Garbus & Pollack (originals.md section 1.3) as plain functions over a pytree.

Paper: 64x64x12 input (4 stacked RGB frames), four 4x4 stride-2 valid convolutions
12 -> 32 -> 64 -> 128 -> 256 with ReLU, flatten (2x2x256 = 1024) -> Dense 256 (ReLU) -> Dense 3
(raw actions). Small variant: channels 4 -> 4 -> 8 -> 16, flatten 64 -> Dense 32 -> 3. Our racing
task is grayscale, so the input is 64x64x4 and only the first convolution's fan-in changes
(4*4*4 = 64 instead of 4*4*12 = 192).

**Convolution kernels are stored as 2-D matrices** of shape (kh*kw*cin, cout), rows in
(kh, kw, cin) order, i.e. a flax ``nn.Conv`` kernel reshaped. A convolution is then "image patches
@ kernel + bias", which (a) lets :func:`nevolab.lowrank.genome_layout` factorise conv kernels as it
factorises dense ones, ``W = U (kh*kw*cin, r) @ V (r, cout)`` (the factorisation whose gene counts
the paper reports), and (b) keeps a population forward pass (``vmap`` over members' parameters) a
batched matmul, which XLA:CPU runs far faster than the grouped convolution a vmapped
``conv_general_dilated`` with per-member kernels becomes.

Parameters are ``{"conv_0": {"kernel", "bias"}, ..., "dense_0": ..., "output": ...}``; kernels
start at Kaiming's N(0, 2/fan_in), biases at 0 (the direct encoding's rule in ``lowrank``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["PAPER_CNN", "SMALL_CNN", "PixelCNNConfig", "apply", "apply_members", "factorized_gene_count",
           "init_params", "layer_shapes", "param_count"]

PyTree = Any


@dataclasses.dataclass(frozen=True)
class PixelCNNConfig:
    """Shapes of the CNN: input (height, width, channels), conv channels, hidden dense sizes."""

    input_shape: tuple[int, int, int] = (64, 64, 4)
    conv_channels: tuple[int, ...] = (32, 64, 128, 256)
    hidden_sizes: tuple[int, ...] = (256,)
    num_actions: int = 3
    kernel_size: int = 4
    stride: int = 2


PAPER_CNN = PixelCNNConfig()
"""The paper's CarRacing network on a 64x64 grayscale 4-frame stack."""
SMALL_CNN = PixelCNNConfig(conv_channels=(4, 4, 8, 16), hidden_sizes=(32,))
"""The paper's "No Factorization (Small)" network."""


def _conv_out(size: int, config: PixelCNNConfig) -> int:
    return (size - config.kernel_size) // config.stride + 1


def layer_shapes(config: PixelCNNConfig) -> dict[str, tuple[int, int]]:
    """(fan_in, fan_out) of every layer's kernel matrix, in order; raises if the input is too small."""
    height, width, channels = config.input_shape
    shapes: dict[str, tuple[int, int]] = {}
    for index, out_channels in enumerate(config.conv_channels):
        height, width = _conv_out(height, config), _conv_out(width, config)
        if height < 1 or width < 1:
            raise ValueError(f"input {config.input_shape} is too small for {len(config.conv_channels)} "
                             f"{config.kernel_size}x{config.kernel_size} stride-{config.stride} convolutions")
        shapes[f"conv_{index}"] = (config.kernel_size ** 2 * channels, out_channels)
        channels = out_channels
    fan_in = height * width * channels
    for index, size in enumerate(config.hidden_sizes):
        shapes[f"dense_{index}"] = (fan_in, size)
        fan_in = size
    shapes["output"] = (fan_in, config.num_actions)
    return shapes


def init_params(key: jax.Array, config: PixelCNNConfig = PAPER_CNN) -> PyTree:
    """Kaiming-normal kernels (2-D matrices, see the module docstring) and zero biases."""
    shapes = layer_shapes(config)
    keys = jax.random.split(key, len(shapes))
    return {name: {"kernel": jax.random.normal(k, shape) * math.sqrt(2.0 / shape[0]),
                   "bias": jnp.zeros(shape[1])}
            for k, (name, shape) in zip(keys, shapes.items())}


def _patches(image: jax.Array, size: int, stride: int) -> jax.Array:
    """(out_h * out_w, size*size*channels) valid patches of an (h, w, c) image, rows in (kh, kw, c)
    order: strided slices only (no arithmetic), so their values are exact copies."""
    height, width, _ = image.shape
    out_h, out_w = (height - size) // stride + 1, (width - size) // stride + 1
    pieces = [image[i:i + stride * (out_h - 1) + 1:stride, j:j + stride * (out_w - 1) + 1:stride]
              for i in range(size) for j in range(size)]
    return jnp.concatenate(pieces, axis=-1).reshape(out_h * out_w, -1)


def apply(params: PyTree, obs: jax.Array, config: PixelCNNConfig = PAPER_CNN) -> jax.Array:
    """Raw action outputs (num_actions,) for one observation (h, w, c); vmap for batches."""
    x = obs.astype(jnp.float32)
    for index in range(len(config.conv_channels)):
        layer = params[f"conv_{index}"]
        out_h, out_w = _conv_out(x.shape[0], config), _conv_out(x.shape[1], config)
        x = _patches(x, config.kernel_size, config.stride) @ layer["kernel"] + layer["bias"]
        x = jax.nn.relu(x).reshape(out_h, out_w, -1)
    x = x.reshape(-1)
    for index in range(len(config.hidden_sizes)):
        x = jax.nn.relu(x @ params[f"dense_{index}"]["kernel"] + params[f"dense_{index}"]["bias"])
    return x @ params["output"]["kernel"] + params["output"]["bias"]


def apply_members(params: PyTree, obs: jax.Array, config: PixelCNNConfig = PAPER_CNN) -> jax.Array:
    """Raw outputs (members, episodes, num_actions) of members' networks (params with a leading member
    axis) on their episodes' observations (members, episodes, h, w, c).

    Each member's weights are shared by its episodes: a layer is one matmul per member over all its
    episodes' patches, reading each weight once, where a vmap over (member, episode) rows with a copy
    of the weights per row reads them once per episode. Equal to that to float rounding."""
    per_member = jax.vmap(lambda net, member_obs: apply(net, member_obs, config), in_axes=(None, 0))
    return jax.vmap(per_member)(params, obs)


def param_count(config: PixelCNNConfig = PAPER_CNN) -> int:
    """Weights plus biases of the dense (unfactorized) network."""
    return sum(fan_in * fan_out + fan_out for fan_in, fan_out in layer_shapes(config).values())


def factorized_gene_count(config: PixelCNNConfig = PAPER_CNN, rank: int = 1,
                          full_rank: tuple[str, ...] = ("output",)) -> int:
    """Genes when every kernel but those in ``full_rank`` is U (fan_in, rank) @ V (rank, fan_out)
    (the paper: rank 1 on the four convolutions and the first dense layer, output dense full)."""
    total = 0
    for name, (fan_in, fan_out) in layer_shapes(config).items():
        weights = fan_in * fan_out if name in full_rank else rank * (fan_in + fan_out)
        total += weights + fan_out
    return total
