"""Tests for the lottery-ticket CNN and its fitness functions (nevolab.tasks.vision)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from nevolab.datasets import ImageDataset
from nevolab.pruning.masks import prunable_flat
from nevolab.tasks.vision import CNN, make_vision_task


def cnn_num_params(image_shape: tuple[int, int, int], features: tuple[int, ...] = (8, 16),
                   kernel_size: int = 5, num_classes: int = 10) -> int:
    """Parameter count of :class:`CNN` on ``image_shape`` (H, W, C), by formula."""
    height, width, channels = image_shape
    total, previous = 0, channels
    for f in features:
        total += kernel_size * kernel_size * previous * f + f
        previous = f
        height, width = height // 2, width // 2
    return total + height * width * previous * num_classes + num_classes


def count_params(params) -> int:
    """Number of scalars in a parameter pytree."""
    return int(sum(np.size(leaf) for leaf in jax.tree_util.tree_leaves(params)))


@pytest.fixture(scope="module")
def digits_task():
    return make_vision_task("digits", batch_size=64)


def test_paper_cnn_has_11274_parameters_on_28x28():
    params = CNN().init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))
    assert count_params(params) == 11_274 == cnn_num_params((28, 28, 1))
    assert int(prunable_flat(params).sum()) == 11_240  # biases are not prunable
    np.testing.assert_array_equal(np.asarray(params["params"]["Dense_0"]["bias"]), 0.0)
    conv_bias = np.asarray(params["params"]["Conv_0"]["bias"])
    assert np.all((conv_bias >= 0) & (conv_bias <= 0.05)) and conv_bias.std() > 0


def test_digits_cnn_shape(digits_task):
    params = digits_task.init_params(jax.random.PRNGKey(0))
    assert count_params(params) == 4_074 == cnn_num_params((8, 8, 1))
    assert params["params"]["Dense_0"]["kernel"].shape == (64, 10)


def _np_conv_same(x, kernel, bias):
    """Cross-correlation with SAME zero padding, (H, W, Cin) * (k, k, Cin, Cout)."""
    k = kernel.shape[0]
    pad = k // 2
    padded = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
    out = np.zeros((x.shape[0], x.shape[1], kernel.shape[3]))
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = np.tensordot(padded[i:i + k, j:j + k], kernel, axes=3) + bias
    return out


def _np_pool(x):
    h, w, c = x.shape
    return x[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2, c).max(axis=(1, 3))


def test_forward_pass_matches_a_numpy_reference(digits_task):
    params = digits_task.init_params(jax.random.PRNGKey(3))
    p = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), params["params"])
    image = np.asarray(digits_task.x_test[0], np.float64)
    x = _np_pool(np.maximum(_np_conv_same(image, p["Conv_0"]["kernel"], p["Conv_0"]["bias"]), 0))
    x = _np_pool(np.maximum(_np_conv_same(x, p["Conv_1"]["kernel"], p["Conv_1"]["bias"]), 0))
    logits = x.reshape(-1) @ p["Dense_0"]["kernel"] + p["Dense_0"]["bias"]
    expected = logits - np.log(np.sum(np.exp(logits - logits.max()))) - logits.max()
    got = np.asarray(digits_task.log_probs(params, digits_task.x_test[:1]))[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_zero_network_has_known_loss_and_accuracy(digits_task):
    zero = jax.tree_util.tree_map(jnp.zeros_like, digits_task.init_params(jax.random.PRNGKey(0)))
    loss = float(digits_task.train_loss(zero, jax.random.PRNGKey(1)))
    np.testing.assert_allclose(loss, np.log(10.0), rtol=1e-6)  # uniform prediction
    # all classes tie, argmax picks class 0: accuracy = share of zeros in the test set
    share_of_zeros = float(np.mean(np.asarray(digits_task.y_test) == 0))
    np.testing.assert_allclose(float(digits_task.test_score(zero)), share_of_zeros, rtol=1e-6)


def test_batches_are_drawn_without_replacement():
    rng = np.random.default_rng(0)
    tiny = ImageDataset("tiny", rng.normal(size=(12, 8, 8, 1)).astype(np.float32),
                        rng.integers(0, 10, 12).astype(np.int32),
                        rng.normal(size=(4, 8, 8, 1)).astype(np.float32),
                        rng.integers(0, 10, 4).astype(np.int32), 10, "random")
    task = make_vision_task(tiny, batch_size=12)
    images, _ = task.sample_batch(jax.random.PRNGKey(0))
    assert len({float(v) for v in np.asarray(images).reshape(12, -1)[:, 0]}) == 12
    params = task.init_params(jax.random.PRNGKey(0))
    # a batch that is the whole training set gives the same loss for any key
    losses = [float(task.train_loss(params, jax.random.PRNGKey(k))) for k in range(3)]
    np.testing.assert_allclose(losses, losses[0], rtol=1e-5)
    assert make_vision_task(tiny, batch_size=1000).batch_size == 12


def test_population_loss_is_the_member_loss(digits_task):
    members = [digits_task.init_params(jax.random.PRNGKey(i)) for i in range(3)]
    stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *members)
    key = jax.random.PRNGKey(9)
    losses = np.asarray(digits_task.population_loss(stacked, key))
    for i, member in enumerate(members):
        np.testing.assert_allclose(losses[i], float(digits_task.train_loss(member, key)), rtol=1e-5)
    assert ravel_pytree(members[0])[0].size == 4_074


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="unknown dataset"):
        make_vision_task("svhn")
    with pytest.raises(ValueError, match="batch_size"):
        make_vision_task("digits", batch_size=0)
