"""Image classification with the lottery-ticket paper's small CNN.

The network (``src/tasks/mnist_policy.py`` of the original, ``originals.md`` §2.3)::

    Conv 5x5, 8 filters, SAME, ReLU → max-pool 2 → Conv 5x5, 16 filters, SAME, ReLU → max-pool 2
    → flatten → Dense 10 → log-softmax

On 28x28x1 inputs it has 11,274 parameters (208 + 3,216 + 7,850), 11,240 of them prunable kernels.
Convolution biases start at ``uniform(0.05)``, the output bias at zero, kernels at flax's
lecun-normal default, as in the original. On scikit-learn's 8x8 digits the same layers see
8x8 → 4x4 → 2x2x16 = 64 features, so the dense layer is 64 → 10 and the network has 4,074
parameters (4,040 prunable).

Training fitness (minimised) is the mean cross-entropy on a batch drawn without replacement
(the original: 1,024 images per evaluation, the same batch for the whole population); the test
score is the accuracy on the whole test set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from nevolab.datasets import ImageDataset, load_dataset
from nevolab.models import population_cnn

PyTree = Any


class CNN(nn.Module):
    """The paper's CNN; accepts ``(N, H, W, C)`` or a single ``(H, W, C)`` image."""

    features: Sequence[int] = (8, 16)
    kernel_size: int = 5
    num_classes: int = 10

    @nn.compact
    def __call__(self, images: jax.Array) -> jax.Array:
        single = images.ndim == 3
        x = images[None] if single else images
        for features in self.features:
            x = nn.Conv(features, (self.kernel_size, self.kernel_size), padding="SAME",
                        bias_init=nn.initializers.uniform(0.05))(x)
            x = nn.relu(x)
            x = nn.max_pool(x, window_shape=(2, 2), strides=(2, 2))
        x = x.reshape((x.shape[0], -1))
        x = nn.log_softmax(nn.Dense(self.num_classes)(x))
        return x[0] if single else x


FLOAT_BYTES = 4
#: Floats the vmapped flax forward holds per input pixel, image and member (XLA's temporary buffers,
#: measured with ``compiled.memory_analysis()`` on 8×8 and 28×28 inputs).
CNN_FLOATS_PER_PIXEL = 16
#: The same for the fast forward, whose later layers run a group of members at a time. Its forward
#: alone holds about 3 floats per member (the first layer's pooled output) plus about 40 (28×28) to 60
#: (8×8) per member of the group in flight and the shared patches; inside the ES program (MNIST-5k,
#: population 128 × batch 1,024, all at once) the process peaked near 9 GB, so a member is budgeted
#: like the flax forward's.
FAST_FLOATS_PER_PIXEL = 16
FAST_GROUP_FLOATS_PER_PIXEL = 64


def evaluation_bytes(batch_pixels: int, fast: bool, kernel_size: int = 5, channels: int = 1
                     ) -> tuple[float, float]:
    """(bytes per member, bytes per evaluation whatever its members) of a population's training
    evaluation on ``batch_pixels`` input pixels (images × height × width): the flax forward's or the
    fast forward's activations, and the fast forward's patches and group of members in flight."""
    member = float(batch_pixels * (FAST_FLOATS_PER_PIXEL if fast else CNN_FLOATS_PER_PIXEL) * FLOAT_BYTES)
    if not fast:
        return member, 0.0
    shared = kernel_size ** 2 * channels + population_cnn.GROUP_SIZE * FAST_GROUP_FLOATS_PER_PIXEL
    return member, float(batch_pixels * shared * FLOAT_BYTES)


def cnn_parameter_count(image_shape: tuple[int, int, int], features: Sequence[int] = (8, 16),
                        num_classes: int = 10) -> int:
    """Parameters of the paper's :class:`CNN` on ``image_shape`` (traced, nothing allocated)."""
    model = CNN(tuple(features), num_classes=num_classes)
    shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, *image_shape), jnp.float32))
    return int(sum(np.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(shapes)))


def cross_entropy(log_probs: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean negative log-likelihood of integer labels under log-probabilities."""
    return -jnp.mean(jnp.take_along_axis(log_probs, labels[:, None], axis=1))


def accuracy(log_probs: jax.Array, labels: jax.Array) -> jax.Array:
    """Share of argmax predictions equal to the labels."""
    return jnp.mean(jnp.argmax(log_probs, axis=1) == labels)


@dataclasses.dataclass(frozen=True, eq=False)
class VisionTask:
    """A dataset on the device plus the CNN; methods are pure and jittable.

    Attributes:
        dataset: the :class:`~nevolab.datasets.ImageDataset` (NumPy arrays, provenance).
        model: the :class:`CNN`.
        batch_size: training images per fitness evaluation (capped at the training set size).
        x_train, y_train, x_test, y_test: the arrays as ``jnp`` (device-resident).
    """

    dataset: ImageDataset
    model: CNN
    batch_size: int
    x_train: jax.Array
    y_train: jax.Array
    x_test: jax.Array
    y_test: jax.Array

    @property
    def name(self) -> str:
        """Identifies the task and its settings (used in checkpoint fingerprints)."""
        return f"{self.dataset.name}/cnn{'-'.join(map(str, self.model.features))}/batch{self.batch_size}"

    def init_params(self, key: jax.Array) -> PyTree:
        """A fresh network."""
        return self.model.init(key, jnp.zeros((1, *self.dataset.image_shape), jnp.float32))

    def log_probs(self, params: PyTree, images: jax.Array) -> jax.Array:
        """Log class probabilities ``(N, num_classes)``."""
        return self.model.apply(params, images)

    def sample_batch(self, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``batch_size`` training images drawn without replacement."""
        index = jax.random.choice(key, self.x_train.shape[0], (self.batch_size,), replace=False)
        return self.x_train[index], self.y_train[index]

    def train_loss(self, params: PyTree, key: jax.Array) -> jax.Array:
        """Fitness to minimise: cross-entropy on the batch drawn with ``key``."""
        images, labels = self.sample_batch(key)
        return cross_entropy(self.log_probs(params, images), labels)

    def test_score(self, params: PyTree, key: jax.Array | None = None) -> jax.Array:
        """Test accuracy on the whole test set (``key`` unused; kept for the common signature)."""
        del key
        return accuracy(self.log_probs(params, self.x_test), self.y_test)

    def population_loss(self, population_params: PyTree, key: jax.Array, fast: bool = False) -> jax.Array:
        """Training loss of a stacked population, all members on the same batch.

        ``fast`` uses :mod:`nevolab.models.population_cnn` (shared-batch GEMMs; equal to the vmapped
        flax forward up to float rounding) instead of ``vmap`` over :meth:`train_loss`."""
        if not fast:
            return jax.vmap(self.train_loss, in_axes=(0, None))(population_params, key)
        images, labels = self.sample_batch(key)
        return population_cnn.population_cross_entropy(population_params, images, labels)

    def fast_population_loss(self, population_params: PyTree, key: jax.Array) -> jax.Array:
        """:meth:`population_loss` with ``fast=True``."""
        return self.population_loss(population_params, key, fast=True)

    def _batch_pixels(self) -> int:
        return self.batch_size * self.dataset.image_shape[0] * self.dataset.image_shape[1]

    def _evaluation_bytes(self, fast: bool) -> tuple[float, float]:
        channels = self.dataset.image_shape[2]
        return evaluation_bytes(self._batch_pixels(), fast, self.model.kernel_size, channels)

    def member_bytes(self, fast: bool = False) -> float:
        """Peak bytes one more member adds to a population's training evaluation (its activations)."""
        return self._evaluation_bytes(fast)[0]

    def shared_bytes(self, fast: bool = False) -> float:
        """Bytes a population evaluation holds whatever its size: the fast forward's patches and its
        group of members in flight (nothing for the vmapped flax forward)."""
        return self._evaluation_bytes(fast)[1]


def make_vision_task(dataset: str | ImageDataset = "digits", batch_size: int = 1024,
                     features: Sequence[int] = (8, 16), download: bool = True) -> VisionTask:
    """Build a :class:`VisionTask`.

    Args:
        dataset: a name from :data:`nevolab.datasets.DATASETS` or a loaded dataset.
            ``"digits"`` is the fast offline default.
        batch_size: images per training evaluation (the original: 1,024).
        features: convolution widths (the paper: 8, 16).
        download: allow downloading the IDX datasets (MNIST, Fashion-MNIST, K-MNIST).
    """
    data = load_dataset(dataset, download=download) if isinstance(dataset, str) else dataset
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    if any(int(f) < 1 for f in features):
        raise ValueError(f"features must be positive integers; got {tuple(features)}")
    return VisionTask(
        dataset=data,
        model=CNN(tuple(int(f) for f in features), num_classes=data.num_classes),
        batch_size=min(int(batch_size), int(data.x_train.shape[0])),
        x_train=jnp.asarray(data.x_train), y_train=jnp.asarray(data.y_train),
        x_test=jnp.asarray(data.x_test), y_test=jnp.asarray(data.y_test),
    )

