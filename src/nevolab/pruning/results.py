"""What an iterative-pruning run leaves: every round's arrays per seed, and its tidy tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from nevolab.pruning.rounds import ImpPlan, RoundsHistory


@dataclasses.dataclass
class PruningResult:
    """All rounds of one pruning run, seeds stacked on axis 1.

    Arrays are indexed ``[round, seed, ...]``: ``test_score``/``test_score_best`` (R, S),
    ``min_loss_curve``/``mean_loss_curve`` (R, S, G), and the flat per-parameter ``masks`` (the mask
    each round TRAINED with), ``start_values`` (what it started from), ``final_mean``, ``final_std``
    (R, S, P). ``next_mask``/``next_start`` (S, P) are the ticket after the last round.
    """

    problem: str
    strategy: str
    criterion: str
    seeds: tuple[int, ...]
    prune_fraction: float
    num_params: int
    num_prunable: int
    kept: np.ndarray  # (R,) prunable weights trained in each round
    arrays: dict[str, np.ndarray]
    next_mask: np.ndarray
    next_start: np.ndarray

    @classmethod
    def from_history(cls, history: RoundsHistory, problem: str, strategy: str, criterion: str,
                     plan: ImpPlan) -> PruningResult:
        """The result of one criterion's runs (one run per seed of ``plan``)."""
        return cls(problem=problem, strategy=strategy, criterion=criterion, seeds=plan.seeds,
                   prune_fraction=plan.prune_fraction, num_params=int(history.next_mask.shape[1]),
                   num_prunable=plan.num_prunable, kept=history.kept, arrays=history.arrays,
                   next_mask=history.next_mask, next_start=history.next_start)

    @property
    def rounds(self) -> int:
        """Trained networks."""
        return int(self.kept.size)

    @property
    def weights_remaining(self) -> np.ndarray:
        """Percent of prunable weights trained in each round (100, 80, 64, ...)."""
        return 100.0 * self.kept / self.num_prunable

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per (seed, round)."""
        rows = []
        genes = self.num_params - self.num_prunable + self.kept
        for r in range(self.rounds):
            for s, seed in enumerate(self.seeds):
                rows.append({
                    "problem": self.problem,
                    "strategy": self.strategy,
                    "criterion": self.criterion,
                    "seed": seed,
                    "round": r,
                    "weights_remaining": float(self.weights_remaining[r]),
                    "weights_remaining_nominal": 100.0 * (1.0 - self.prune_fraction) ** r,
                    "num_genes": int(genes[r]),
                    "test_performance": float(self.arrays["test_score"][r, s]),
                    "test_performance_best_member": float(self.arrays["test_score_best"][r, s]),
                    "final_min_train_loss": float(self.arrays["min_loss_curve"][r, s, -1]),
                    "final_mean_train_loss": float(self.arrays["mean_loss_curve"][r, s, -1]),
                })
        return pd.DataFrame(rows)


def gd_imp_frame(task: str, strategy: str, history: RoundsHistory, plan: ImpPlan,
                 extra: Callable[[int, int], dict[str, Any]]) -> pd.DataFrame:
    """The tidy table of a gradient-descent IMP run (Adam on images, PPO on control), one row per
    (round, seed), with the columns of the ES tables so that both plot on one axis; ``extra(round,
    seed index)`` gives each row's further columns."""
    kept, num_params = plan.kept, int(history.next_mask.shape[1])
    rows = []
    for r in range(plan.rounds):
        for i, seed in enumerate(plan.seeds):
            rows.append({
                "task": task, "method": "GD", "strategy": strategy, "criterion": "magnitude",
                "label": "GD-IMP", "seed": seed, "round": r,
                "weights_remaining": 100.0 * kept[r] / plan.num_prunable,
                "weights_remaining_nominal": 100.0 * (1.0 - plan.prune_fraction) ** r,
                "num_genes": int(num_params - plan.num_prunable + kept[r]),
                "test_performance": float(history.arrays["test_score"][r, i]),
                **extra(r, i),
            })
    return pd.DataFrame(rows)
