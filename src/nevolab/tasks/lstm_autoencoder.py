"""LSTM sequence auto-encoder task (JAX port).

Port of the LSTM encoder-decoder of "NN auto-encoders: backpropagation and
bio-inspired algorithms in a limited parameters context" (original PyTorch
code: github.com/fruttasecca/backprop_vs_bio, ``src/lstm_autoenc.py`` and the
``classData`` dataset of ``src/tasks.py``).

Model (batch-first, single-layer, unidirectional):

* encoder ``nn.LSTM(2, h)`` run from a zero state over the one-hot sequence;
* its final ``(h, c)`` initialise a decoder ``nn.LSTM(1, h)`` that is fed an
  all-ones input of the same length as the input sequence;
* every decoder output goes through ``Linear(h, h) -> LeakyReLU(0.01) ->
  Linear(h, 2)``, giving per-step class logits;
* loss: mean cross-entropy over all samples and timesteps.

Parameters are a flat tuple of arrays in PyTorch's ``named_parameters()``
order and layout (see :data:`PARAM_NAMES`), so that
``jax.flatten_util.ravel_pytree(params)`` yields exactly PyTorch's flattening
order, which the paper's global DCT parameter encoding relies on. Each LSTM
keeps PyTorch's two biases (``bias_ih`` and ``bias_hh``) and gate order
``i, f, g, o``.

Note: Flax's LSTM cells are deliberately not used. They keep a single bias per
gate and a different kernel layout, so they cannot reproduce the paper's
parameter counts (e.g. 42 parameters for ``seq_len = h = 1``) nor PyTorch's
flattening order.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from nevolab.tasks.autoencoders import DATA_SEED
from nevolab.xla import materialize

__all__ = [
    "INPUT_SIZE",
    "NUM_CLASSES",
    "PARAM_NAMES",
    "apply_lstm_autoencoder",
    "init_lstm_autoencoder",
    "lstm_autoencoder_loss",
    "lstm_autoencoder_loss_fast",
    "lstm_cell",
    "make_sequence_data",
    "num_params",
    "param_shapes",
]

NUM_CLASSES: int = 2
"""Number of symbol classes (the paper's ``classData`` with 2 classes)."""

INPUT_SIZE: int = NUM_CLASSES
"""Encoder input size (one-hot symbols)."""

DECODER_INPUT_SIZE: int = 1
"""Decoder input size (an all-ones sequence)."""

LEAKY_RELU_SLOPE: float = 0.01
"""PyTorch's default ``nn.LeakyReLU`` negative slope."""

PARAM_NAMES: tuple[str, ...] = (
    "encoder.weight_ih_l0",
    "encoder.weight_hh_l0",
    "encoder.bias_ih_l0",
    "encoder.bias_hh_l0",
    "decoder.weight_ih_l0",
    "decoder.weight_hh_l0",
    "decoder.bias_ih_l0",
    "decoder.bias_hh_l0",
    "hidden2output.0.weight",
    "hidden2output.0.bias",
    "hidden2output.2.weight",
    "hidden2output.2.bias",
)
"""PyTorch ``named_parameters()`` names, in the order of the params tuple."""

Params = tuple[jax.Array, ...]


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def make_sequence_data(
    seq_len: int,
    num_batches: int = 2000,
    batch_size: int = 40,
    seed: int = DATA_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """Random binary sequences of the paper's ``classData`` (2 classes).

    Reproduces ``classData(seq_len, num_classes=2, seed=seed)`` wrapped in an
    unshuffled ``DataLoader``: with ``rng = np.random.RandomState(seed)`` the
    original draws ``rng.randint(0, 2, seq_len)`` once per sample, in order,
    and batches consecutive samples. A single ``rng.randint(0, 2, (n, seq_len))``
    call consumes the stream in the same order and gives identical numbers
    (checked in the tests), so the data are generated in one vectorised draw.

    The result is cached; the returned arrays are read-only.

    Args:
      seq_len: length of each sequence.
      num_batches: number of batches (the paper uses 2000).
      batch_size: samples per batch (the paper uses 40).
      seed: seed of ``np.random.RandomState`` (the paper's :data:`DATA_SEED`).

    Returns:
      ``(inputs, targets)``: one-hot inputs of shape
      ``(num_batches, batch_size, seq_len, 2)`` float32 and class-index targets
      of shape ``(num_batches, batch_size, seq_len)`` int32.
    """
    rng = np.random.RandomState(seed)
    x = rng.randint(0, NUM_CLASSES, (num_batches * batch_size, seq_len))
    targets = x.reshape(num_batches, batch_size, seq_len).astype(np.int32)
    inputs = np.eye(NUM_CLASSES, dtype=np.float32)[targets]
    inputs.setflags(write=False)
    targets.setflags(write=False)
    return inputs, targets


# --------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------


def param_shapes(hidden_size: int) -> tuple[tuple[int, ...], ...]:
    """Shapes of the parameters, in PyTorch ``named_parameters()`` order.

    Args:
      hidden_size: LSTM hidden size ``h``.

    Returns:
      A tuple of 12 shapes matching :data:`PARAM_NAMES`.
    """
    h = hidden_size
    return (
        (4 * h, INPUT_SIZE),
        (4 * h, h),
        (4 * h,),
        (4 * h,),
        (4 * h, DECODER_INPUT_SIZE),
        (4 * h, h),
        (4 * h,),
        (4 * h,),
        (h, h),
        (h,),
        (NUM_CLASSES, h),
        (NUM_CLASSES,),
    )


def num_params(hidden_size: int) -> int:
    """Total number of trainable parameters (independent of ``seq_len``).

    Args:
      hidden_size: LSTM hidden size ``h``.

    Returns:
      The parameter count, e.g. 42 for ``h = 1`` and 1212 for ``h = 10``.
    """
    return sum(math.prod(s) for s in param_shapes(hidden_size))


def init_lstm_autoencoder(key: jax.Array, hidden_size: int) -> Params:
    """PyTorch-default initialisation of the auto-encoder parameters.

    Every LSTM parameter is drawn from ``U(-1/sqrt(h), 1/sqrt(h))``; each
    ``Linear`` weight and bias from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``
    (``fan_in = h`` for both linear layers).

    Args:
      key: a ``jax.random`` key.
      hidden_size: LSTM hidden size ``h`` (static).

    Returns:
      A tuple of 12 float32 arrays in PyTorch ``named_parameters()`` order
      (see :data:`PARAM_NAMES`).
    """
    shapes = param_shapes(hidden_size)
    bound = 1.0 / math.sqrt(hidden_size)  # LSTM: 1/sqrt(h); Linear: fan_in = h
    # One draw for all parameters (cheap to compile), split in PyTorch order.
    flat = jax.random.uniform(
        key, (num_params(hidden_size),), jnp.float32, -bound, bound
    )
    sizes = [math.prod(s) for s in shapes]
    offsets = np.cumsum([0, *sizes])
    return tuple(
        flat[int(a) : int(b)].reshape(s)
        for a, b, s in zip(offsets[:-1], offsets[1:], shapes, strict=True)
    )


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------


def lstm_cell(
    weight_ih: jax.Array,
    weight_hh: jax.Array,
    bias_ih: jax.Array,
    bias_hh: jax.Array,
    carry: tuple[jax.Array, jax.Array],
    x: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """One step of a PyTorch ``nn.LSTM`` cell (gate order ``i, f, g, o``).

    ``gates = x W_ih^T + b_ih + h W_hh^T + b_hh``; ``c' = f * c + i * g``;
    ``h' = o * tanh(c')`` with sigmoid ``i, f, o`` and tanh ``g``.

    Args:
      weight_ih: ``(4h, in)`` input weights.
      weight_hh: ``(4h, h)`` recurrent weights.
      bias_ih: ``(4h,)`` input bias.
      bias_hh: ``(4h,)`` recurrent bias.
      carry: ``(h, c)``, each of shape ``(..., h)``.
      x: input of shape ``(..., in)``.

    Returns:
      The new ``(h, c)``.
    """
    h, c = carry
    gates = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    i, f, g, o = jnp.split(gates, 4, axis=-1)
    i = jax.nn.sigmoid(i)
    f = jax.nn.sigmoid(f)
    g = jnp.tanh(g)
    o = jax.nn.sigmoid(o)
    c_new = f * c + i * g
    h_new = o * jnp.tanh(c_new)
    return h_new, c_new


def _run_lstm(
    weights: Params,
    carry: tuple[jax.Array, jax.Array],
    xs: jax.Array,
) -> tuple[tuple[jax.Array, jax.Array], jax.Array]:
    """Run an LSTM over time-major ``xs`` (seq, batch, in) with ``lax.scan``."""

    def step(carry, x):
        new = lstm_cell(*weights, carry, x)
        return new, new[0]

    return jax.lax.scan(step, carry, xs)


def apply_lstm_autoencoder(params: Params, inputs: jax.Array) -> jax.Array:
    """Forward pass of the auto-encoder.

    Args:
      params: tuple from :func:`init_lstm_autoencoder`.
      inputs: one-hot sequences of shape ``(batch, seq_len, 2)``.

    Returns:
      Logits of shape ``(batch, seq_len, 2)``.
    """
    enc, dec = params[0:4], params[4:8]
    w1, b1, w2, b2 = params[8:12]
    hidden_size = enc[1].shape[-1]
    batch, seq_len = inputs.shape[0], inputs.shape[1]
    dtype = enc[0].dtype

    zeros = jnp.zeros((batch, hidden_size), dtype)
    xs = jnp.swapaxes(inputs, 0, 1).astype(dtype)  # (seq, batch, 2)
    memory, _ = _run_lstm(enc, (zeros, zeros), xs)

    dec_in = jnp.ones((seq_len, batch, DECODER_INPUT_SIZE), dtype)
    _, outputs = _run_lstm(dec, memory, dec_in)  # (seq, batch, h)

    hid = jax.nn.leaky_relu(outputs @ w1.T + b1, LEAKY_RELU_SLOPE)
    logits = hid @ w2.T + b2
    return jnp.swapaxes(logits, 0, 1)


def lstm_autoencoder_loss(
    params: Params, inputs: jax.Array, targets: jax.Array
) -> jax.Array:
    """Mean cross-entropy over all samples and timesteps.

    Matches PyTorch ``CrossEntropyLoss()`` on the ``(batch * seq_len, 2)``
    logits.

    Args:
      params: tuple from :func:`init_lstm_autoencoder`.
      inputs: one-hot sequences of shape ``(batch, seq_len, 2)``.
      targets: class indices of shape ``(batch, seq_len)``.

    Returns:
      Scalar loss.
    """
    logits = apply_lstm_autoencoder(params, inputs)
    logp = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.take_along_axis(logp, targets[..., None].astype(jnp.int32), axis=-1)
    return jnp.mean(nll)


# --------------------------------------------------------------------------
# Fast population loss
# --------------------------------------------------------------------------


def _gate_activations(
    gates: jax.Array, c: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """The LSTM cell's update from its pre-activations ``gates`` ``(4h, batch)`` (gate-major)."""
    i, f, g, o = jnp.split(gates, 4, axis=0)
    c_new = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return jax.nn.sigmoid(o) * jnp.tanh(c_new), c_new


def lstm_autoencoder_loss_fast(
    params: Params, inputs: jax.Array, targets: jax.Array
) -> jax.Array:
    """:func:`lstm_autoencoder_loss`, computed in the layout that is fast for a vmapped population.

    The same model and loss (equal up to float rounding), rearranged for XLA:CPU when it is
    vmapped over thousands of nets, each a handful of ``(40 x 10) @ (10 x 40)`` products:

    * states are kept transposed, ``(h, batch)``: a net's four gates are one ``(4h, h) @ (h,
      batch)`` product whose gate slices are contiguous row blocks, and the activations run along
      the batch axis (a vector of 40) instead of along ``h`` (a vector of 10);
    * input projections leave the recurrence: the encoder's one-hot input contributes
      ``W_ih x`` as two broadcast multiply-adds fused into the activations, the decoder's
      all-ones input is a constant added to its biases, and the encoder's first step (zero
      state) needs no product at all: 2 * seq_len - 1 recurrent products instead of 4 * seq_len;
    * the sequence is unrolled (it is 3 or 4 steps long) and the output head runs once on all
      decoder steps.

    Arguments and result are those of :func:`lstm_autoencoder_loss`.
    """
    w_ih_e, w_hh_e, b_ih_e, b_hh_e, w_ih_d, w_hh_d, b_ih_d, b_hh_d, w1, b1, w2, b2 = params
    dtype = w_ih_e.dtype
    batch, seq_len, _ = inputs.shape
    # (seq, in, batch), in a buffer of its own: fused, its transposed reads would be recomputed for
    # every gate of every net.
    xs = materialize(jnp.transpose(inputs, (1, 2, 0)).astype(dtype))
    bias_e = (b_ih_e + b_hh_e)[:, None]

    def encoder_input(t: int) -> jax.Array:
        # W_ih x_t, as multiply-adds over the (two) input features: fused into the activations.
        terms = [w_ih_e[:, k, None] * xs[t, k][None, :] for k in range(w_ih_e.shape[1])]
        return functools.reduce(jnp.add, terms) + bias_e

    c = jnp.zeros((w_hh_e.shape[1], batch), dtype)
    h, c = _gate_activations(encoder_input(0), c)  # zero state: no recurrent product
    for t in range(1, seq_len):
        h, c = _gate_activations(encoder_input(t) + w_hh_e @ h, c)

    # The decoder's input is all ones: W_ih 1 is a constant column, added to the biases.
    bias_d = (w_ih_d.sum(axis=1) + b_ih_d + b_hh_d)[:, None]
    outputs = []
    for _ in range(seq_len):
        h, c = _gate_activations(w_hh_d @ h + bias_d, c)
        outputs.append(h)
    hidden = jnp.concatenate(outputs, axis=1)  # (h, seq * batch), step-major
    hid = jax.nn.leaky_relu(w1 @ hidden + b1[:, None], LEAKY_RELU_SLOPE)
    logits = w2 @ hid + b2[:, None]  # (classes, seq * batch)
    logp = jax.nn.log_softmax(logits, axis=0)
    labels = jnp.transpose(targets).reshape(1, -1)  # step-major, like ``hidden``
    classes = jnp.arange(logits.shape[0])[:, None]
    # A select, not a gather: the labels are shared by the whole population.
    nll = -jnp.sum(jnp.where(classes == labels, logp, 0.0), axis=0)
    return jnp.mean(nll)
