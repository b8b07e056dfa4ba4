"""GD-IMP on the image tasks: Adam on masked gradients (``configs/train/sgd_mnist.yaml`` of the
original: lr 3e-4, batch 128, 2 epochs per round), global magnitude pruning of the kernels, rewind to
θ₀. Network seed ``s`` is ``PRNGKey(s)``, as for the ES runs, so both start from the same θ₀."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
from jax.flatten_util import ravel_pytree

from nevolab.pruning.criteria import PruneInputs, get_criterion
from nevolab.pruning.masks import Layout, next_ticket, prunable_flat, prunable_segments
from nevolab.pruning.results import gd_imp_frame
from nevolab.pruning.rounds import GradientRoundStep, ImpPlan, run_rounds
from nevolab.tasks.vision import VisionTask, cross_entropy


@dataclasses.dataclass(frozen=True)
class AdamConfig:
    """Adam on masked gradients, as ``configs/train/sgd_mnist.yaml``."""

    learning_rate: float = 3e-4
    batch_size: int = 128
    epochs: int = 2

    def __post_init__(self) -> None:
        if int(self.epochs) < 1 or int(self.batch_size) < 1 or not self.learning_rate > 0:
            raise ValueError(f"epochs, batch_size and learning_rate must be positive; got "
                             f"{self.epochs}, {self.batch_size}, {self.learning_rate}")


@functools.lru_cache(maxsize=8)
def make_adam_round(task: VisionTask, config: AdamConfig) -> Callable:
    """Jitted ``(keys, masks, starts, originals, num_keep_next) -> (test accuracy, losses, final
    params, next masks, next starts)``, vmapped over seeds (flat parameter vectors). The mask is a
    multiplier and ``num_keep`` a traced value, so every round runs the same compiled program."""
    template = task.init_params(jax.random.PRNGKey(0))
    _, unravel = ravel_pytree(template)
    prunable = prunable_flat(template)
    segments = prunable_segments(template, prunable)
    optimizer = optax.adam(config.learning_rate)
    num_train = int(task.x_train.shape[0])
    batch = min(config.batch_size, num_train)
    steps_per_epoch = num_train // batch
    prunable_j = jnp.asarray(prunable)
    magnitude = get_criterion("magnitude")

    def loss_fn(flat, images, labels):
        return cross_entropy(task.log_probs(unravel(flat), images), labels)

    def one_seed(key, mask, start, original, num_keep_next):
        maskf = mask.astype(jnp.float32)
        params = start * maskf
        opt_state = optimizer.init(params)

        def step(carry, index):
            params, opt_state = carry
            loss, grad = jax.value_and_grad(loss_fn)(params, task.x_train[index], task.y_train[index])
            updates, opt_state = optimizer.update(grad * maskf, opt_state, params)
            return (optax.apply_updates(params, updates) * maskf, opt_state), loss

        epoch_keys = jax.random.split(jax.random.fold_in(key, 0), config.epochs)
        # Each epoch: a fresh shuffle, cut into full batches (the remainder is dropped).
        order = jax.vmap(lambda k: jax.random.permutation(k, num_train)[: steps_per_epoch * batch])(
            epoch_keys)
        (params, _), losses = jax.lax.scan(step, (params, opt_state), order.reshape(-1, batch))
        inputs = PruneInputs(final_mean=params, final_std=jnp.ones_like(params),
                             final_std_faithful=jnp.ones_like(params), start_values=start, mask=mask)
        layout = Layout(prunable_j, segments, lambda k: original)
        next_mask, next_start = next_ticket(magnitude, inputs, jax.random.fold_in(key, 1), original,
                                            num_keep_next, layout)
        return task.test_score(unravel(params)), losses, params, next_mask, next_start

    return jax.jit(jax.vmap(one_seed, in_axes=(0, 0, 0, 0, None)))


@dataclasses.dataclass(frozen=True)
class AdamStep(GradientRoundStep):
    """One GD-IMP round with Adam for every seed (the driver's :class:`~nevolab.pruning.rounds.RoundStep`)."""

    OPTIMIZER: ClassVar[str] = "adam"

    def __call__(self, round_index: int, keys: jax.Array, masks: jax.Array, starts: jax.Array,
                 original: jax.Array) -> tuple[dict[str, np.ndarray], jax.Array, jax.Array]:
        """Train, test and prune every seed's network."""
        round_fn = make_adam_round(self.task, self.config)
        accuracy, losses, _, masks, starts = round_fn(keys, masks, starts, original,
                                                      jnp.int32(self.plan.kept[round_index + 1]))
        return {"test_score": np.asarray(accuracy), "losses": np.asarray(losses)}, masks, starts


def run_adam_imp(task: VisionTask, config: AdamConfig, plan: ImpPlan, checkpoint_dir: Path | None = None,
                 on_round: Callable[[int], None] | None = None) -> pd.DataFrame:
    """GD-IMP with Adam: one row per (round, seed), ``method="GD"``, ``strategy="Adam"``."""
    if not isinstance(task, VisionTask):
        raise ValueError(f"Adam-IMP needs a VisionTask; got {type(task).__name__}")
    original = jnp.stack([ravel_pytree(task.init_params(k))[0] for k in plan.seed_keys()])
    history = run_rounds(AdamStep(task, config, plan), original, plan, checkpoint_dir, on_round)
    losses = history.arrays["losses"]

    def extra(r: int, i: int) -> dict[str, Any]:
        return {"final_mean_train_loss": float(losses[r, i, -1]), "epochs": config.epochs,
                "batch_size": config.batch_size, "learning_rate": config.learning_rate}

    return gd_imp_frame(task.name, "Adam", history, plan, extra)
