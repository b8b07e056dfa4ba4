"""A population forward of the lottery-ticket CNN (:class:`nevolab.tasks.vision.CNN`) as plain GEMMs.

The members of an ES population share one batch of images, so a vmapped flax forward wastes most of
its time: XLA:CPU turns the per-member kernels of the second convolution into a grouped convolution
that runs at a few per cent of the machine's matrix-multiply rate. Here the same network is written
member-major and channels-first, ``(members, channels, batch, height, width)``:

* the first convolution is ONE matrix product of the shared batch's patches (im2col,
  ``k·k·C × batch·H·W``) against every member's kernel stacked (``members·F × k·k·C``);
* each later convolution is, per group of members, one batched matrix product of the input's
  ``k`` vertical shifts (``k·C`` rows, the padded width kept) against the kernel arranged as
  ``(k horizontal shifts)·F × k·C``, followed by ``k`` shifted adds along the width; the patches
  are ``k`` times smaller than a full im2col;
* on small feature maps (8×8 digits: 4×4 after the first pooling) a later convolution is instead one
  batched product over all members at once with the convolution written out as a dense
  ``C·H·W × F·H·W`` matrix per member (gathered from the kernel), which skips the shifts, the padding
  and the member groups that dominate there;
* ReLU, 2×2 max-pooling and the dense head (a batched product per member) as in the flax module.

Parameters are the flax module's own pytree stacked over members (``{"params": {"Conv_0": ...,
"Dense_0": ...}}``, leading axis = member), so the ES decodes genotypes exactly as for the flax path.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

PyTree = Any

#: Members per batched product of the later layers: big enough to fill the GEMM, small enough that a
#: group's activations stay in memory near the size of one member's flax forward.
GROUP_SIZE = 8
#: Later convolutions whose dense matrix has at most this many entries per member take the dense path
#: (8×8 digits: 8·16 × 16·16 = 32,768; 28×28 MNIST's 1,568 × 3,136 stays on the shifted products).
DENSE_CONV_MAX_ENTRIES = 65_536


def _same_padding(kernel_size: int) -> tuple[int, int]:
    """(low, high) zero padding of a stride-1 SAME convolution (XLA's and flax's rule)."""
    low = (kernel_size - 1) // 2
    return low, kernel_size - 1 - low


def _pool(x: jax.Array) -> jax.Array:
    """2×2 max-pooling, stride 2, VALID, over the last two axes."""
    height, width = x.shape[-2] // 2, x.shape[-1] // 2
    x = x[..., : 2 * height, : 2 * width]
    return x.reshape(*x.shape[:-2], height, 2, width, 2).max(axis=(-3, -1))


def shared_patches(images: jax.Array, kernel_size: int) -> jax.Array:
    """im2col of a batch ``(B, H, W, C)``: ``(k·k·C, B, H, W)``, rows in the kernel's (dy, dx, c) order."""
    low, high = _same_padding(kernel_size)
    height, width = images.shape[1], images.shape[2]
    padded = jnp.pad(jnp.moveaxis(images, -1, 0), ((0, 0), (0, 0), (low, high), (low, high)))
    shifts = [padded[:, :, dy:dy + height, dx:dx + width]
              for dy in range(kernel_size) for dx in range(kernel_size)]
    return jnp.concatenate(shifts, axis=0)


def first_conv(patches: jax.Array, kernel: jax.Array, bias: jax.Array) -> jax.Array:
    """The first convolution, ReLU and pooling of every member: ``(P, F, B, H/2, W/2)``.

    ``kernel`` is ``(P, k, k, C, F)``; one matrix product covers the whole population."""
    members, features = kernel.shape[0], kernel.shape[-1]
    stacked = kernel.reshape(members, -1, features)
    out = jnp.einsum("pkf,kbhw->pfbhw", stacked, patches)
    return _pool(jax.nn.relu(out + bias[:, :, None, None, None]))


def later_conv(x: jax.Array, kernel: jax.Array, bias: jax.Array) -> jax.Array:
    """A later convolution, ReLU and pooling of one member: ``x`` ``(C, B, H, W)``, kernel ``(k, k, C, F)``.

    One product over the ``k`` vertical shifts gives every horizontal shift's partial output at
    once; ``k`` shifted adds along the width finish the convolution. ``lax.map`` over a group of
    members makes the product a batched one."""
    size = kernel.shape[0]
    low, high = _same_padding(size)
    channels, batch, height, width = x.shape
    features = kernel.shape[-1]
    padded = jnp.pad(x, ((0, 0), (0, 0), (low, high), (low, high)))
    vertical = jnp.stack([padded[:, :, dy:dy + height, :] for dy in range(size)])
    vertical = vertical.reshape(size * channels, -1)  # rows (dy, c); columns (b, h, padded w)
    arranged = jnp.transpose(kernel, (1, 3, 0, 2)).reshape(size * features, size * channels)
    partial = (arranged @ vertical).reshape(size, features, batch, height, width + size - 1)
    out = sum(partial[dx, ..., dx:dx + width] for dx in range(size))
    return _pool(jax.nn.relu(out + bias[:, None, None, None]))


@functools.lru_cache(maxsize=16)
def dense_conv_index(kernel_size: int, channels: int, features: int, height: int, width: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Where each entry of a SAME convolution's dense ``(C·H·W, F·H·W)`` matrix sits in the flattened
    ``(k, k, C, F)`` kernel, and which entries are inside the kernel at all (the rest are zero)."""
    low, _ = _same_padding(kernel_size)
    axes = (channels, height, width, features, height, width)
    c, iy, ix, f, oy, ox = np.meshgrid(*(np.arange(n) for n in axes), indexing="ij")
    dy, dx = iy - oy + low, ix - ox + low
    valid = (dy >= 0) & (dy < kernel_size) & (dx >= 0) & (dx < kernel_size)
    index = ((np.clip(dy, 0, kernel_size - 1) * kernel_size + np.clip(dx, 0, kernel_size - 1)) * channels + c
             ) * features + f
    shape = (channels * height * width, features * height * width)
    return index.reshape(shape), valid.reshape(shape)


def dense_conv(x: jax.Array, kernel: jax.Array, bias: jax.Array) -> jax.Array:
    """A later convolution, ReLU and pooling of every member at once: ``x`` ``(P, B, C, H, W)``, kernel
    ``(P, k, k, C, F)`` → ``(P, B, F, H/2, W/2)``, one batched product with each member's dense matrix."""
    members, batch, channels, height, width = x.shape
    size, features = kernel.shape[1], kernel.shape[-1]
    index, valid = dense_conv_index(size, channels, features, height, width)
    matrix = jnp.where(valid, jnp.take(kernel.reshape(members, -1), jnp.asarray(index), axis=1), 0.0)
    out = jnp.einsum("pbi,pio->pbo", x.reshape(members, batch, -1), matrix)
    out = out.reshape(members, batch, features, height, width) + bias[:, None, :, None, None]
    return _pool(jax.nn.relu(out))


def _dense_path(params: PyTree, num_convs: int, height: int, width: int) -> bool:
    """Whether every later convolution is small enough for :func:`dense_conv`."""
    for layer in range(1, num_convs):
        height, width = height // 2, width // 2
        kernel = params[f"Conv_{layer}"]["kernel"]
        channels, features = kernel.shape[-2], kernel.shape[-1]
        if channels * features * (height * width) ** 2 > DENSE_CONV_MAX_ENTRIES:
            return False
    return True


def head(x: jax.Array, kernel: jax.Array, bias: jax.Array) -> jax.Array:
    """The dense layer and log-softmax of one member: ``x`` ``(F, B, h, w)`` → ``(B, classes)``.

    The flax module flattens each image as (h, w, F); the kernel's rows are read in that order."""
    features, _, height, width = x.shape
    kernel = kernel.reshape(height, width, features, -1)
    return jax.nn.log_softmax(jnp.einsum("fbij,ijfc->bc", x, kernel) + bias)


def population_log_probs(population_params: PyTree, images: jax.Array,
                         group_size: int = GROUP_SIZE) -> jax.Array:
    """Log class probabilities ``(P, B, classes)`` of a stacked population on one batch ``(B, H, W, C)``."""
    params = population_params["params"]
    num_convs = sum(1 for name in params if name.startswith("Conv_"))
    first = params["Conv_0"]
    x = first_conv(shared_patches(images, first["kernel"].shape[1]), first["kernel"], first["bias"])
    rest = {name: leaf for name, leaf in params.items() if name != "Conv_0"}
    if _dense_path(params, num_convs, images.shape[1], images.shape[2]):
        x = jnp.swapaxes(x, 1, 2)  # (P, B, F, h, w): the dense matrices' row order is (c, h, w)
        for layer in range(1, num_convs):
            x = dense_conv(x, rest[f"Conv_{layer}"]["kernel"], rest[f"Conv_{layer}"]["bias"])
        return jax.vmap(head)(jnp.swapaxes(x, 1, 2), rest["Dense_0"]["kernel"], rest["Dense_0"]["bias"])

    def member(inputs):
        member_params, member_x = inputs
        for layer in range(1, num_convs):
            conv = member_params[f"Conv_{layer}"]
            member_x = later_conv(member_x, conv["kernel"], conv["bias"])
        return head(member_x, member_params["Dense_0"]["kernel"], member_params["Dense_0"]["bias"])

    # ``group_size`` members per step, vmapped (the remainder in one last step).
    return jax.lax.map(member, (rest, x), batch_size=group_size)


def population_cross_entropy(population_params: PyTree, images: jax.Array, labels: jax.Array,
                             group_size: int = GROUP_SIZE) -> jax.Array:
    """Mean cross-entropy ``(P,)`` of each member on the shared batch."""
    log_probs = population_log_probs(population_params, images, group_size)
    index = jnp.broadcast_to(labels[None, :, None], (*log_probs.shape[:2], 1))
    return -jnp.mean(jnp.take_along_axis(log_probs, index, axis=2)[..., 0], axis=1)
