"""Study A's feed-forward task: linear autoencoders on correlated Gaussian data.

Faithful to the original code (fruttasecca/backprop_vs_bio, ``tasks.py`` and ``autoenc.py``):

* data from ``np.random.RandomState(DATA_SEED)``: a symmetric matrix ``(U + U^T)/2 + s I`` (s = 0.5 for
  d <= 4, else 1.0), a uniform mean, then 80,000 samples in 2000 unshuffled batches of 40;
* the network d -> d/2 -> d/4 -> d/2 -> d with no nonlinearity (29 parameters for d=4, 98 for d=8);
* PyTorch's default ``nn.Linear`` initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights
  and biases;
* mean squared error.

Parameters are a tuple of ``(weight (out, in), bias (out,))`` pairs, in PyTorch's
``named_parameters`` order, so that flattening them gives the vector the original DCT encoding saw.
"""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np

DATA_SEED = 1337  # the original's data seed, for both the feed-forward and the LSTM cases
NUM_BATCHES = 2000
BATCH_SIZE = 40


@functools.lru_cache(maxsize=8)
def make_gaussian_data(dim: int, num_batches: int = NUM_BATCHES, batch_size: int = BATCH_SIZE,
                       seed: int = DATA_SEED) -> np.ndarray:
    """The original's ``realValuedData``: (num_batches, batch_size, dim) float32 samples.

    The original draws the samples one at a time (``multivariate_normal(mu, cov, size=1)``); one
    call with ``size=n`` consumes the same standard normals in the same order and applies the same
    SVD factor, so it gives the same numbers (to float64 rounding; see the tests), in one call.
    """
    rng = np.random.RandomState(seed)
    symmetric = rng.uniform(size=dim * dim).reshape(dim, dim)
    shift = 0.5 if dim <= 4 else 1.0
    covariance = (symmetric + symmetric.T) / 2 + shift * np.eye(dim)
    mean = rng.uniform(size=dim)
    samples = rng.multivariate_normal(mean, covariance, size=num_batches * batch_size)
    samples = samples.reshape(num_batches, batch_size, dim).astype(np.float32)
    samples.setflags(write=False)
    return samples


def ff_layer_sizes(dim: int) -> tuple[int, ...]:
    """d -> d/2 -> d/4 -> d/2 -> d."""
    if dim < 4 or dim % 4:
        raise ValueError(f"dim must be a multiple of 4 (at least 4) for the d/2, d/4 bottleneck; got {dim}")
    return (dim, dim // 2, dim // 4, dim // 2, dim)


def init_ff_autoencoder(key: jax.Array, dim: int) -> tuple[tuple[jax.Array, jax.Array], ...]:
    """PyTorch-default initialised linear autoencoder parameters."""
    sizes = ff_layer_sizes(dim)
    layers = []
    layer_keys = jax.random.split(key, len(sizes) - 1)
    for layer_key, (fan_in, fan_out) in zip(layer_keys, itertools.pairwise(sizes), strict=True):
        bound = 1.0 / np.sqrt(fan_in)
        key_w, key_b = jax.random.split(layer_key)
        weight = jax.random.uniform(key_w, (fan_out, fan_in), minval=-bound, maxval=bound)
        bias = jax.random.uniform(key_b, (fan_out,), minval=-bound, maxval=bound)
        layers.append((weight, bias))
    return tuple(layers)


def apply_ff_autoencoder(params: tuple[tuple[jax.Array, jax.Array], ...], inputs: jax.Array) -> jax.Array:
    """Reconstruct ``inputs`` (batch, dim); the original has no nonlinearity."""
    hidden = inputs
    for weight, bias in params:
        hidden = hidden @ weight.T + bias
    return hidden


def ff_autoencoder_loss(params: tuple[tuple[jax.Array, jax.Array], ...], inputs: jax.Array) -> jax.Array:
    """Mean squared reconstruction error (``nn.MSELoss``)."""
    return jnp.mean((apply_ff_autoencoder(params, inputs) - inputs) ** 2)


def ff_autoencoder_loss_samples_minor(params: tuple[tuple[jax.Array, jax.Array], ...],
                                      inputs: jax.Array) -> jax.Array:
    """:func:`ff_autoencoder_loss` computed with the samples on the minor axis, each layer as a
    broadcast multiply-and-sum rather than a matrix product, and the mean in vector-friendly
    order: the form used to evaluate populations.

    Vmapped over a population (and over repeats), the matrix products become hundreds of batched
    8x4 GEMMs, which XLA:CPU hands to a GEMM library whose per-matrix overhead dominates; this form
    is a few fused vectorised loops instead. The sums
    are rounded differently (the GEMM library uses fused multiply-adds; the mean adds features,
    then blocks of samples), so losses agree with :func:`ff_autoencoder_loss` to float32 rounding
    (~1e-7 relative), not bit for bit.
    """
    hidden = inputs.T  # (features, samples)
    for weight, bias in params:
        hidden = jnp.sum(weight[:, :, None] * hidden[None, :, :], axis=1) + bias[:, None]
    return mean_of_squares(hidden - inputs.T)


def mean_of_squares(errors: jax.Array, lanes: int = 8) -> jax.Array:
    """``jnp.mean(errors ** 2)`` of a (features, samples) array, summed as elementwise adds.

    XLA:CPU reduces each output with one sequential chain of adds, and rewrites a reduction over
    more than 32 elements into a slower windowed one; the 320 squared errors of a network on a
    batch cost more that way than its four layers. Here the features are added row by row (vector
    adds over the samples), then blocks of ``lanes`` samples, leaving one short reduction.
    """
    per_sample = functools.reduce(jnp.add, [row * row for row in errors])  # (samples,)
    if per_sample.shape[0] % lanes == 0:
        per_sample = functools.reduce(jnp.add, list(per_sample.reshape(-1, lanes)))
    return jnp.sum(per_sample) / errors.size


def ff_num_params(dim: int) -> int:
    """29 for d=4, 98 for d=8."""
    sizes = ff_layer_sizes(dim)
    return sum(fan_out * (fan_in + 1) for fan_in, fan_out in itertools.pairwise(sizes))
