"""The one iterative-pruning round driver that ES, Adam and PPO share (Lange & Sprekeler 2023)::

    θ₀ = init(seed); mask = dense
    for round r = 0, 1, ..., rounds-1:
        train on the unmasked weights, starting from the round's start values
        score every weight, prune globally to the next round's count
        rewind the survivors to θ₀ (or to a control's transformed values)

A :class:`RoundStep` does one round (train, then prune) for all runs at once; the driver owns what is
common: the keys (seed ``s`` initialises its network with ``PRNGKey(s)`` and draws round ``r``'s
randomness from ``fold_in(PRNGKey(s), r + 1)``, common to every run of that seed), the sparsity
schedule, the history of every round, checkpoints after every round and resuming from them. A run
resumed from a checkpoint reproduces the uninterrupted one exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from nevolab.pruning.checkpoints import fingerprint, load_checkpoint, save_checkpoint
from nevolab.pruning.masks import check_fraction, kept_counts


@dataclasses.dataclass(frozen=True)
class ImpPlan:
    """The schedule of an iterative-pruning run: seeds, rounds, fraction pruned per round.

    Attributes:
        seeds: one network per seed (``PRNGKey(seed)`` initialises it), distinct.
        rounds: trained networks (the paper: 20, i.e. 100 % → 1.44 % with fraction 0.2).
        prune_fraction: share of the remaining prunable weights removed per round, in (0, 1).
        num_prunable: prunable weights of the network.
    """

    seeds: tuple[int, ...]
    rounds: int
    prune_fraction: float
    num_prunable: int

    def __post_init__(self) -> None:
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, int | np.integer) or self.rounds < 1:
            raise ValueError(f"rounds must be an integer >= 1 (the paper uses 20); got {self.rounds!r}")
        check_fraction(self.prune_fraction)
        seeds = tuple(int(s) for s in self.seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be a non-empty sequence of distinct integers; got {self.seeds!r}")
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "prune_fraction", float(self.prune_fraction))
        if self.num_prunable < 1:
            raise ValueError("the network has no prunable weights")

    @property
    def kept(self) -> np.ndarray:
        """(rounds + 1,) prunable weights trained in each round; the last is the mask after it."""
        return kept_counts(self.num_prunable, self.prune_fraction, self.rounds + 1)

    def seed_keys(self) -> list[jax.Array]:
        """``PRNGKey(seed)`` per seed: the networks' initialisation keys."""
        return [jax.random.PRNGKey(s) for s in self.seeds]

    def round_keys(self, round_index: int) -> jax.Array:
        """(S, 2): every seed's key of round ``round_index``."""
        return jnp.stack([jax.random.fold_in(k, round_index + 1) for k in self.seed_keys()])


class RoundStep(Protocol):
    """One round of training and pruning for all runs (runs are seeds, or criteria × seeds)."""

    def identity(self) -> dict[str, Any]:
        """What makes two runs the same (enters the checkpoint fingerprint)."""
        ...

    def __call__(self, round_index: int, keys: jax.Array, masks: jax.Array, starts: jax.Array,
                 original: jax.Array) -> tuple[dict[str, np.ndarray], jax.Array, jax.Array]:
        """``(outputs per run, next masks, next starts)`` from seed keys (S, 2) and run arrays (N, P)."""
        ...


@dataclasses.dataclass(frozen=True)
class GradientRoundStep:
    """Base of the gradient baselines' round steps: one task trained by one optimizer's settings.

    A subclass names its optimizer (``OPTIMIZER``, the key of its settings in the checkpoint
    fingerprint) and writes ``__call__`` (see :class:`RoundStep`)."""

    OPTIMIZER: ClassVar[str] = ""

    task: Any
    config: Any
    plan: ImpPlan

    def identity(self) -> dict[str, Any]:
        """The task and the optimizer's settings."""
        return {"problem": self.task.name, self.OPTIMIZER: dataclasses.asdict(self.config)}


@dataclasses.dataclass
class RoundsHistory:
    """Every round of a driven run: ``arrays[name]`` is (R, N, ...) with N runs; ``masks`` and
    ``start_values`` are what each round trained with; ``next_mask``/``next_start`` the ticket after."""

    kept: np.ndarray
    arrays: dict[str, np.ndarray]
    next_mask: np.ndarray
    next_start: np.ndarray


def run_rounds(step: RoundStep, original: jax.Array, plan: ImpPlan, checkpoint_dir: Path | None = None,
               on_round: Callable[[int], None] | None = None) -> RoundsHistory:
    """Drive ``plan.rounds`` rounds of ``step`` from the networks ``original`` (N runs, P parameters).

    With ``checkpoint_dir`` the state is written atomically after every round and a run of the same
    identity (``rounds`` may differ) resumes from it; ``on_round(completed)`` is called after each
    round's checkpoint (an exception raised there interrupts the run like a crash would)."""
    kept = plan.kept
    identity = {**step.identity(), "prune_fraction": plan.prune_fraction, "seeds": list(plan.seeds)}
    stamp = fingerprint(identity)
    done, history, masks, starts, original = _resume(checkpoint_dir, stamp, original)
    for r in range(done, plan.rounds):
        outputs, next_masks, next_starts = step(r, plan.round_keys(r), masks, starts, original)
        history.setdefault("masks", []).append(np.asarray(masks))
        history.setdefault("start_values", []).append(np.asarray(starts))
        for name, value in outputs.items():
            history.setdefault(name, []).append(np.asarray(value))
        masks, starts = next_masks, next_starts
        if checkpoint_dir is not None:
            meta = {"fingerprint": stamp, "completed_rounds": r + 1, **identity}
            save_checkpoint(checkpoint_dir, meta, history, {"mask": masks, "start": starts,
                                                            "original_init": original})
        if on_round is not None:
            on_round(r + 1)
    if done > plan.rounds:  # a longer run was checkpointed: the ticket after `rounds` is its next mask
        masks, starts = history["masks"][plan.rounds], history["start_values"][plan.rounds]
    arrays = {k: np.stack(v[:plan.rounds]) for k, v in history.items()}
    return RoundsHistory(kept[:plan.rounds], arrays, np.asarray(masks), np.asarray(starts))


def _resume(directory: Path | None, stamp: str, original: jax.Array
            ) -> tuple[int, dict[str, list[np.ndarray]], jax.Array, jax.Array, jax.Array]:
    """``(completed rounds, history, masks, starts, original)``: from a checkpoint, or a fresh start."""
    loaded = load_checkpoint(directory) if directory is not None else None
    if loaded is None:
        return 0, {}, jnp.ones(original.shape, bool), original, original
    meta, history, carry = loaded
    if meta["fingerprint"] != stamp:
        raise ValueError(f"checkpoint in {directory} belongs to a different run (fingerprint "
                         f"{meta['fingerprint'][:12]} != {stamp[:12]}); use another checkpoint_dir")
    masks, starts, original = (jnp.asarray(carry[k]) for k in ("mask", "start", "original_init"))
    return int(meta["completed_rounds"]), history, masks, starts, original


def split_runs(history: RoundsHistory, groups: Sequence[str]) -> dict[str, RoundsHistory]:
    """Split a history whose runs are group-major (run ``g * S + s``) into one history per group."""
    size = history.next_mask.shape[0] // len(groups)
    out = {}
    for g, name in enumerate(groups):
        rows = slice(g * size, (g + 1) * size)
        out[name] = RoundsHistory(history.kept, {k: v[:, rows] for k, v in history.arrays.items()},
                                  history.next_mask[rows], history.next_start[rows])
    return out
