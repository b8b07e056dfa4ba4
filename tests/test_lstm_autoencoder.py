"""Tests for the LSTM sequence auto-encoder task (nevolab.tasks.lstm_autoencoder)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

from nevolab.tasks.lstm_autoencoder import (
    PARAM_NAMES,
    apply_lstm_autoencoder,
    init_lstm_autoencoder,
    lstm_autoencoder_loss,
    lstm_cell,
    make_sequence_data,
    num_params,
    param_shapes,
)

_init = jax.jit(init_lstm_autoencoder, static_argnums=1)
_apply = jax.jit(apply_lstm_autoencoder)
_loss = jax.jit(lstm_autoencoder_loss)

# --------------------------------------------------------------------------
# NumPy reference of the PyTorch model (float64)
# --------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _np_lstm_cell(w_ih, w_hh, b_ih, b_hh, h, c, x):
    """PyTorch nn.LSTM equations, written out gate by gate (order i, f, g, o)."""
    n = h.shape[-1]
    gates = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i = _sigmoid(gates[..., 0 * n : 1 * n])
    f = _sigmoid(gates[..., 1 * n : 2 * n])
    g = np.tanh(gates[..., 2 * n : 3 * n])
    o = _sigmoid(gates[..., 3 * n : 4 * n])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new


def _np_autoencoder(params, inputs: np.ndarray) -> np.ndarray:
    p = [np.asarray(a, np.float64) for a in params]
    batch, seq_len, _ = inputs.shape
    n = p[1].shape[1]
    h = np.zeros((batch, n))
    c = np.zeros((batch, n))
    for t in range(seq_len):
        h, c = _np_lstm_cell(*p[0:4], h, c, inputs[:, t].astype(np.float64))
    outs = []
    for _ in range(seq_len):
        h, c = _np_lstm_cell(*p[4:8], h, c, np.ones((batch, 1)))
        z = h @ p[8].T + p[9]
        z = np.where(z >= 0, z, 0.01 * z)
        outs.append(z @ p[10].T + p[11])
    return np.stack(outs, axis=1)


def _per_sample_loop_data(seq_len, num_batches, batch_size, seed=1337):
    """The original classData loop (2 classes), batched like an unshuffled DataLoader."""
    rnd = np.random.RandomState(seed)
    xs, ys = [], []
    for _ in range(num_batches * batch_size):
        x = rnd.randint(0, 2, seq_len)
        x_onehot = np.zeros((x.size, 2))
        x_onehot[np.arange(x.size), x] = 1
        xs.append(x_onehot)
        ys.append(x)
    xs = np.asarray(xs, np.float32).reshape(num_batches, batch_size, seq_len, 2)
    ys = np.asarray(ys).reshape(num_batches, batch_size, seq_len)
    return xs, ys


# --------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seq_len", "hidden", "expected"),
    [(1, 1, 42), (2, 2, 100), (3, 3, 176), (4, 4, 270), (1, 10, 1212), (7, 10, 1212)],
)
def test_param_counts(seq_len, hidden, expected):
    assert num_params(hidden) == expected
    params = _init(jax.random.key(0), hidden)
    flat, _ = ravel_pytree(params)
    assert flat.shape == (expected,)
    # The model runs on sequences of any length with the same parameters.
    inputs = jax.ShapeDtypeStruct((3, seq_len, 2), jnp.float32)
    out = jax.eval_shape(apply_lstm_autoencoder, params, inputs)
    assert out.shape == (3, seq_len, 2) and out.dtype == jnp.float32


def test_param_layout_is_pytorch_order():
    h = 3
    params = _init(jax.random.key(1), h)
    assert len(params) == len(PARAM_NAMES) == 12
    assert tuple(p.shape for p in params) == param_shapes(h)
    assert params[0].shape == (4 * h, 2)  # encoder.weight_ih_l0
    assert params[4].shape == (4 * h, 1)  # decoder.weight_ih_l0
    assert params[10].shape == (2, h)  # hidden2output.2.weight
    # ravel_pytree keeps the tuple order and flattens each array row-major,
    # like torch.cat([p.flatten() for p in model.parameters()]).
    flat, unravel = ravel_pytree(params)
    expected = np.concatenate([np.asarray(p).ravel() for p in params])
    np.testing.assert_array_equal(np.asarray(flat), expected)
    for a, b in zip(unravel(flat), params, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_init_is_pytorch_default_uniform():
    h = 10
    params = _init(jax.random.key(2), h)
    bound = 1.0 / math.sqrt(h)
    for p in params:
        assert p.dtype == jnp.float32
        assert float(jnp.max(jnp.abs(p))) <= bound
    # Not degenerate: the large matrices fill most of the interval.
    for p in (params[1], params[5], params[8]):
        assert float(jnp.max(jnp.abs(p))) > 0.8 * bound
        assert float(jnp.std(p)) == pytest.approx(bound / math.sqrt(3), rel=0.25)
    other = _init(jax.random.key(3), h)
    assert not np.allclose(np.asarray(params[1]), np.asarray(other[1]))


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


@pytest.mark.parametrize("seq_len", [1, 3, 10])
def test_vectorised_data_matches_per_sample_loop(seq_len):
    inputs, targets = make_sequence_data(seq_len, num_batches=3, batch_size=40)
    ref_x, ref_y = _per_sample_loop_data(seq_len, num_batches=3, batch_size=40)
    assert inputs.shape == (3, 40, seq_len, 2) and inputs.dtype == np.float32
    assert targets.shape == (3, 40, seq_len) and targets.dtype == np.int32
    np.testing.assert_array_equal(inputs, ref_x)
    np.testing.assert_array_equal(targets, ref_y)


def test_full_dataset_shapes_cache_and_prefix():
    inputs, targets = make_sequence_data(2)
    assert inputs.shape == (2000, 40, 2, 2)
    assert targets.shape == (2000, 40, 2)
    assert make_sequence_data(2) is make_sequence_data(2)  # lru_cache
    assert not inputs.flags.writeable and not targets.flags.writeable
    small_x, small_y = make_sequence_data(2, num_batches=3)
    np.testing.assert_array_equal(inputs[:3], small_x)
    np.testing.assert_array_equal(targets[:3], small_y)
    # One-hot consistent with targets; both classes appear.
    np.testing.assert_array_equal(inputs.argmax(-1), targets)
    np.testing.assert_array_equal(inputs.sum(-1), 1.0)
    assert 0.45 < targets.mean() < 0.55


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------


def test_lstm_cell_matches_numpy_reference():
    rng = np.random.default_rng(0)
    h, n_in, batch = 3, 2, 5
    w_ih, w_hh = rng.normal(size=(4 * h, n_in)), rng.normal(size=(4 * h, h))
    b_ih, b_hh = rng.normal(size=4 * h), rng.normal(size=4 * h)
    h0, c0 = rng.normal(size=(batch, h)), rng.normal(size=(batch, h))
    x = rng.normal(size=(batch, n_in))
    ref_h, ref_c = _np_lstm_cell(w_ih, w_hh, b_ih, b_hh, h0, c0, x)
    args = [jnp.asarray(a, jnp.float32) for a in (w_ih, w_hh, b_ih, b_hh)]
    got_h, got_c = lstm_cell(
        *args,
        (jnp.asarray(h0, jnp.float32), jnp.asarray(c0, jnp.float32)),
        jnp.asarray(x, jnp.float32),
    )
    np.testing.assert_allclose(np.asarray(got_h), ref_h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(got_c), ref_c, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("seq_len", "hidden"), [(1, 1), (4, 3), (6, 10)])
def test_forward_matches_numpy_reference(seq_len, hidden):
    params = _init(jax.random.key(seq_len), hidden)
    # Larger weights than the default init exercise the non-linearities.
    params = tuple(3.0 * p for p in params)
    inputs, targets = make_sequence_data(seq_len, num_batches=1, batch_size=7)
    logits = _apply(params, inputs[0])
    assert logits.shape == (7, seq_len, 2)
    ref = _np_autoencoder(params, inputs[0])
    np.testing.assert_allclose(np.asarray(logits), ref, rtol=1e-4, atol=1e-4)
    # Loss = PyTorch CrossEntropyLoss on the flattened (batch * seq, 2) logits.
    flat = ref.reshape(-1, 2)
    y = targets[0].reshape(-1)
    logz = np.log(np.exp(flat).sum(-1))
    ref_loss = np.mean(logz - flat[np.arange(y.size), y])
    loss = _loss(params, inputs[0], targets[0])
    assert float(loss) == pytest.approx(ref_loss, rel=1e-4, abs=1e-5)


@pytest.mark.parametrize(("seq_len", "hidden"), [(1, 1), (5, 4), (10, 10)])
def test_loss_at_init_near_ln2(seq_len, hidden):
    inputs, targets = make_sequence_data(seq_len, num_batches=1)
    params = _init(jax.random.key(0), hidden)
    loss = float(_loss(params, inputs[0], targets[0]))
    assert math.isfinite(loss)
    assert abs(loss - math.log(2)) < 0.25


def test_jit_vmap_over_parameter_vectors():
    hidden, pop = 2, 6
    inputs, targets = make_sequence_data(3, num_batches=1)
    _, unravel = ravel_pytree(_init(jax.random.key(0), hidden))
    keys = jax.random.split(jax.random.key(1), pop)
    flats = jax.jit(
        jax.vmap(lambda k: ravel_pytree(init_lstm_autoencoder(k, hidden))[0])
    )(keys)
    assert flats.shape == (pop, num_params(hidden))

    @jax.jit
    def population_loss(flats, x, y):
        return jax.vmap(lambda f: lstm_autoencoder_loss(unravel(f), x, y))(flats)

    losses = population_loss(flats, inputs[0], targets[0])
    assert losses.shape == (pop,)
    assert np.all(np.isfinite(np.asarray(losses)))
    single = jax.jit(lambda f: lstm_autoencoder_loss(unravel(f), inputs[0], targets[0]))
    for i in (0, pop - 1):
        assert float(losses[i]) == pytest.approx(
            float(single(flats[i])), rel=1e-5, abs=1e-6
        )
    # Gradients flow through the whole flat vector.
    grads = jax.jit(
        jax.grad(lambda f: lstm_autoencoder_loss(unravel(f), inputs[0], targets[0]))
    )(flats[0])
    assert grads.shape == (num_params(hidden),)
    assert np.all(np.isfinite(np.asarray(grads)))


def test_adagrad_learns_seq1_h1():
    """seq_len = 1 is learnable: the decoder only has to copy the bit.

    With h = 1 most initialisations get stuck at ln 2 within 300 steps (about
    20-25 % of seeds learn it; ~35 % after 1000 steps), so 16 seeds are trained
    in parallel (vmap) and the best one must clearly learn the task.
    """
    inputs, targets = make_sequence_data(1)
    steps, n_seeds = 300, 16
    opt = optax.adagrad(0.1)

    def train(key):
        params = init_lstm_autoencoder(key, 1)

        def step(carry, batch):
            params, state = carry
            loss, grads = jax.value_and_grad(lstm_autoencoder_loss)(params, *batch)
            updates, state = opt.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), loss

        (params, _), losses = jax.lax.scan(
            step, (params, opt.init(params)), (inputs[:steps], targets[:steps])
        )
        # Held-out evaluation on later batches.
        x_eval = inputs[1000:1100].reshape(-1, 1, 2)
        y_eval = targets[1000:1100].reshape(-1, 1)
        return losses, lstm_autoencoder_loss(params, x_eval, y_eval)

    losses, eval_loss = jax.jit(jax.vmap(train))(
        jax.random.split(jax.random.key(0), n_seeds)
    )
    losses, eval_loss = np.asarray(losses), np.asarray(eval_loss)
    assert np.all(np.isfinite(losses))
    best = int(np.argmin(eval_loss))
    assert eval_loss[best] < 0.25 < math.log(2)
    assert losses[best, -20:].mean() < 0.25
