"""Training given tickets with another optimizer (Lange & Sprekeler 2023, Figs 4/5, ``run_transfer.py``):
every round's mask and start values of a source pruning run are trained, as they are, by a target
optimizer (an ES, Adam or PPO), without pruning.

A ticket sequence is two arrays indexed ``[round, seed, parameter]``: ``masks`` (bool) and ``starts``
(the values each round starts from: the rewound θ₀ of the surviving weights for SNR/IMP tickets, a
fresh initialisation for the random controls). Round ``r`` of seed ``s`` draws its randomness from
the same key as the pruning driver (:meth:`~nevolab.pruning.rounds.ImpPlan.round_keys`), so training a
run's own tickets with its own optimizer gives back its test scores exactly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from nevolab.baselines.adam import AdamConfig, make_adam_round
from nevolab.baselines.ppo import PPOConfig, make_ppo_round
from nevolab.pruning.es import PruningProblem, make_es_train
from nevolab.pruning.masks import prunable_flat
from nevolab.pruning.rounds import ImpPlan
from nevolab.pruning.strategies import ESConfig
from nevolab.tasks.control import ControlTask
from nevolab.tasks.vision import VisionTask


def check_tickets(masks: np.ndarray, starts: np.ndarray, plan: ImpPlan, prunable: np.ndarray) -> None:
    """ValueError unless ``masks``/``starts`` are (R, S, P) with R = ``plan.rounds``, S its seeds, and
    every round keeps the plan's count of prunable weights (every non-prunable one unmasked)."""
    masks, starts = np.asarray(masks), np.asarray(starts)
    expected = (plan.rounds, len(plan.seeds), prunable.size)
    if masks.shape != expected or starts.shape != expected:
        raise ValueError(f"tickets must be (rounds, seeds, params) = {expected}; got masks {masks.shape}, "
                         f"starts {starts.shape}")
    kept = (masks & prunable).sum(axis=2)
    want = plan.kept[: plan.rounds][:, None]
    if not np.all(kept == want):
        raise ValueError(f"tickets keep {kept[:, 0].tolist()} prunable weights per round; the plan keeps "
                         f"{plan.kept[: plan.rounds].tolist()} (the source run's schedule must match)")
    if not np.all(masks[:, :, ~prunable]):
        raise ValueError("tickets mask a non-prunable parameter (biases are never pruned)")


def es_on_tickets(problem: PruningProblem, config: ESConfig, plan: ImpPlan, masks: np.ndarray,
                  starts: np.ndarray) -> np.ndarray:
    """(R, S) test scores of the ES ``config`` trained on each round's and seed's ticket."""
    template = problem.init_params(jax.random.PRNGKey(0))
    prunable = prunable_flat(template, problem.prunable)
    check_tickets(masks, starts, plan, prunable)
    num_params = int(ravel_pytree(template)[0].size)
    scores = np.zeros((plan.rounds, len(plan.seeds)))
    for r in range(plan.rounds):
        train = make_es_train(problem, config, num_params - plan.num_prunable + int(plan.kept[r]))
        out = train(plan.round_keys(r), jnp.asarray(masks[r]), jnp.asarray(starts[r], jnp.float32))
        scores[r] = np.asarray(out.test_score)
    return scores


def adam_on_tickets(task: VisionTask, config: AdamConfig, plan: ImpPlan, masks: np.ndarray,
                    starts: np.ndarray) -> np.ndarray:
    """(R, S) test accuracies of Adam (masked gradients, as GD-IMP) trained on each round's ticket."""
    check_tickets(masks, starts, plan, prunable_flat(task.init_params(jax.random.PRNGKey(0))))
    round_fn = make_adam_round(task, config)
    scores = np.zeros((plan.rounds, len(plan.seeds)))
    for r in range(plan.rounds):
        start = jnp.asarray(starts[r], jnp.float32)
        # The next ticket it computes is not used: the source's tickets are trained as they are.
        scores[r] = np.asarray(round_fn(plan.round_keys(r), jnp.asarray(masks[r]), start, start,
                                        jnp.int32(plan.kept[r]))[0])
    return scores


def ppo_on_tickets(task: ControlTask, config: PPOConfig, plan: ImpPlan, masks: np.ndarray,
                   starts: np.ndarray) -> np.ndarray:
    """(R, S) test returns of PPO's actor trained from each round's ticket (a critic per seed, drawn
    as PPO-IMP draws it, so that its own tickets reproduce its scores)."""
    check_tickets(masks, starts, plan, prunable_flat(task.init_params(jax.random.PRNGKey(0))))
    round_fn = make_ppo_round(task, config)
    critic_keys = jnp.stack([jax.random.fold_in(k, 0) for k in plan.seed_keys()])
    scores = np.zeros((plan.rounds, len(plan.seeds)))
    for r in range(plan.rounds):
        start = jnp.asarray(starts[r], jnp.float32)
        scores[r] = np.asarray(round_fn(plan.round_keys(r), jnp.asarray(masks[r]), start, start,
                                        plan.kept[r], critic_keys)[0])
    return scores
