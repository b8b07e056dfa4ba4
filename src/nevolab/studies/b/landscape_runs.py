"""Pruning runs that keep what the landscape pages need (B6: connectivity and flatness; B7: the SNR/|θ|
rank correlation): per round and seed the trained network, the search std, the mask and θ₀, as NumPy
arrays, for ES (every criterion trained together, :func:`~nevolab.pruning.es.run_es_imp`) and for
GD-IMP with Adam on an image task.

The ES runs are the same as Study B's shared runs with the same settings (same seeds, so the same θ₀
per seed for ES and GD); only what is kept differs: the shared runs store a table, these the arrays.
Arrays are flat parameter vectors in ``ravel_pytree`` order; :func:`nevolab.landscape.unflatten_like`
with :func:`template` turns one back into the network's pytree.

Per method (``es_<criterion>`` and ``gd_adam``) a dict of arrays, R rounds, S seeds, P parameters:

* ``params`` (R, S, P): the trained network of each round (ES: the final search mean, which the
  pruning scores; GD: the final weights), 0 where pruned;
* ``std`` (R, S, P): ES only, the final per-weight search std σ (+inf where pruned); ``snr`` = |θ|/σ;
* ``masks`` (R, S, P): the mask each round trained with; ``init`` (S, P): θ₀ of each seed;
* ``test_score`` (R, S), ``weights_remaining`` (R,), ``prunable`` (P,), ``seeds`` (S,).
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.flatten_util import ravel_pytree

from nevolab import landscape, store
from nevolab.baselines.adam import AdamConfig, AdamStep, make_adam_round
from nevolab.config import Config, RunConfig
from nevolab.pruning.es import plan_for, run_es_imp
from nevolab.pruning.masks import prunable_flat
from nevolab.pruning.rounds import ImpPlan, run_rounds
from nevolab.pruning.strategies import es_config_for
from nevolab.studies.b import tasks
from nevolab.studies.b.runs import load_arrays, run_seeds, save_arrays
from nevolab.tasks.vision import VisionTask, accuracy, cross_entropy

PyTree = Any
Arrays = dict[str, np.ndarray]

LANDSCAPE_KIND = "study_b_landscape"


@dataclasses.dataclass(frozen=True)
class LandscapeRun(RunConfig):
    """ES pruning (and optionally Adam-IMP) on one task, keeping every round's network.

    Attributes:
        task: a Study B task name (the default vision task: ``digits``).
        strategy: the evosax strategy (``"paper"`` is not resolved here: pass a name).
        criteria: pruning criteria trained together (``snr`` and ``magnitude`` for B7).
        rounds, prune_fraction, seeds: the pruning schedule, as :class:`~nevolab.pruning.rounds.ImpPlan`.
        generations, population: the ES budget per round.
        task_kwargs: the task builder's settings (e.g. ``{"batch_size": 64}``).
        gd_epochs: Adam epochs per round for the GD-IMP run (image tasks); 0 = no GD run.
    """

    KIND: ClassVar[str] = LANDSCAPE_KIND
    VERSION: ClassVar[int] = 1
    task: str
    strategy: str
    criteria: tuple[str, ...]
    rounds: int
    prune_fraction: float
    seeds: tuple[int, ...]
    generations: int
    population: int
    task_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    gd_epochs: int = 0


def landscape_run(config: Config) -> LandscapeRun:
    """The pruning runs of a B6/B7 config (both pages share them: same parameters, same key)."""
    return LandscapeRun(task=config.task, strategy=config.strategy, criteria=("snr", "magnitude"),
                        rounds=int(config.rounds), prune_fraction=float(config.prune_fraction),
                        seeds=run_seeds(config), generations=int(config.generations),
                        population=int(config.population), task_kwargs={"batch_size": int(config.batch_size)},
                        gd_epochs=int(config.gd_epochs))


def landscape_run_for(es_run: Any, gd_epochs: int = 0) -> LandscapeRun:
    """The landscape run with the settings of a shared Study B :class:`~nevolab.studies.b.runs.ESRun`."""
    return LandscapeRun(task=es_run.task, strategy=es_run.strategy, criteria=tuple(es_run.criteria),
                        rounds=es_run.rounds, prune_fraction=es_run.prune_fraction, seeds=tuple(es_run.seeds),
                        generations=es_run.generations, population=es_run.population,
                        task_kwargs=dict(es_run.task_kwargs), gd_epochs=int(gd_epochs))


def build_task(run: LandscapeRun) -> Any:
    """The run's task, built with its settings."""
    return tasks.make_task(run.task, **run.task_kwargs)


def template(task: Any) -> PyTree:
    """A parameter pytree of the task's network (the layout of every flat array)."""
    return task.init_params(jax.random.PRNGKey(0))


def _common(plan: ImpPlan, prunable: np.ndarray, masks: np.ndarray, starts: np.ndarray,
            test_score: np.ndarray) -> Arrays:
    """What both methods keep besides the networks: masks, θ₀ (round 0 starts at it), scores, layout."""
    return {"masks": np.asarray(masks, bool), "init": np.asarray(starts[0]),
            "test_score": np.asarray(test_score),
            "weights_remaining": 100.0 * plan.kept[:plan.rounds] / plan.num_prunable,
            "prunable": np.asarray(prunable, bool), "seeds": np.asarray(plan.seeds, np.int64)}


def es_arrays(run: LandscapeRun, task: Any | None = None, checkpoint_dir: Path | None = None,
              on_round: Callable[[int], None] | None = None) -> dict[str, Arrays]:
    """Train the ES run: ``{"es_<criterion>": arrays}`` (see the module docstring)."""
    task = build_task(run) if task is None else task
    problem = tasks.pruning_problem(task)
    config = es_config_for(run.strategy, tasks.task_family(run.task), run.population, run.generations)
    plan = plan_for(problem, run.seeds, run.rounds, run.prune_fraction)
    results = run_es_imp(problem, config, run.criteria, plan, checkpoint_dir, on_round)
    prunable = prunable_flat(template(task), problem.prunable)
    out = {}
    for criterion, result in results.items():
        arrays = _common(plan, prunable, result.masks, result.start_values, result.test_score)
        arrays.update(params=np.asarray(result.final_mean), std=np.asarray(result.final_std),
                      snr=landscape.snr(result.final_mean, result.final_std))
        out[f"es_{criterion}"] = arrays
    return out


@dataclasses.dataclass(frozen=True)
class AdamParamsStep(AdamStep):
    """:class:`~nevolab.baselines.adam.AdamStep` that also keeps each round's trained weights."""

    def identity(self) -> dict[str, Any]:
        """Adam-IMP's, marked: its checkpoints hold the weights and must not be mixed with Adam-IMP's."""
        return {**super().identity(), "keeps": "final_params"}

    def __call__(self, round_index: int, keys: jax.Array, masks: jax.Array, starts: jax.Array,
                 original: jax.Array) -> tuple[dict[str, np.ndarray], jax.Array, jax.Array]:
        """Train, test and prune every seed's network; the outputs include ``final_params`` (S, P)."""
        round_fn = make_adam_round(self.task, self.config)
        score, losses, params, masks, starts = round_fn(keys, masks, starts, original,
                                                        jnp.int32(self.plan.kept[round_index + 1]))
        outputs = {"test_score": np.asarray(score), "losses": np.asarray(losses),
                   "final_params": np.asarray(params)}
        return outputs, masks, starts


def gd_arrays(run: LandscapeRun, task: VisionTask | None = None, checkpoint_dir: Path | None = None,
              on_round: Callable[[int], None] | None = None) -> Arrays:
    """Train GD-IMP with Adam (the paper's lr and batch, ``run.gd_epochs`` epochs per round): its arrays."""
    task = build_task(run) if task is None else task
    if not isinstance(task, VisionTask):
        raise ValueError(f"the GD landscape run needs an image task; {run.task!r} is not one")
    if int(run.gd_epochs) < 1:
        raise ValueError(f"gd_epochs must be >= 1 for a GD run; got {run.gd_epochs}")
    prunable = prunable_flat(template(task))
    plan = ImpPlan(run.seeds, run.rounds, run.prune_fraction, int(prunable.sum()))
    original = jnp.stack([ravel_pytree(task.init_params(k))[0] for k in plan.seed_keys()])
    step = AdamParamsStep(task, AdamConfig(epochs=int(run.gd_epochs)), plan)
    history = run_rounds(step, original, plan, checkpoint_dir, on_round)
    arrays = _common(plan, prunable, history.arrays["masks"], history.arrays["start_values"],
                     history.arrays["test_score"])
    arrays["params"] = history.arrays["final_params"]
    return arrays


def landscape_arrays(run: LandscapeRun, checkpoint_dir: Path | None = None) -> dict[str, Arrays]:
    """Every method's arrays of ``run``: ``es_<criterion>`` and, with ``gd_epochs > 0``, ``gd_adam``.

    ``checkpoint_dir`` gets one sub-folder per method, so an interrupted run resumes.
    """
    task = build_task(run)
    out = es_arrays(run, task, None if checkpoint_dir is None else checkpoint_dir / "es")
    if int(run.gd_epochs) > 0:
        out["gd_adam"] = gd_arrays(run, task, None if checkpoint_dir is None else checkpoint_dir / "gd_adam")
    return out


FlatLoss = Callable[[jax.Array], jax.Array]


def flat_objectives(task: VisionTask) -> tuple[FlatLoss, FlatLoss]:
    """(test loss, test error) of a flat parameter vector: cross-entropy, 1 − accuracy on the test set.

    The sharpness is measured on the loss (a smooth function of t), the barrier on the error, as
    the paper's Fig 6 ("test accuracy error barrier").
    """
    _, unravel = ravel_pytree(template(task))

    def test_loss(flat: jax.Array) -> jax.Array:
        return cross_entropy(task.log_probs(unravel(flat), task.x_test), task.y_test)

    def test_error(flat: jax.Array) -> jax.Array:
        return 1.0 - accuracy(task.log_probs(unravel(flat), task.x_test), task.y_test)

    return test_loss, test_error


# ----------------------------------------------------------------------------------------------
# The pages' measures over the kept arrays (flat vectors, indexed [round, seed, parameter])
# ----------------------------------------------------------------------------------------------


def pair_barriers(error_fn: FlatLoss, theta_a: np.ndarray, theta_b: np.ndarray, alphas: Any = None,
                  reference: str = "linear", batch_size: int | None = None) -> np.ndarray:
    """(N,) error barriers between the rows of ``theta_a`` and ``theta_b`` (N, P).

    One compiled program, run a pair at a time (not vmapped): one evaluation already holds the whole
    test set's activations. ``batch_size`` bounds the α evaluated together
    (:func:`nevolab.landscape.error_barrier`).
    """
    alphas = landscape.default_alphas() if alphas is None else jnp.asarray(alphas, jnp.float32)
    barrier = jax.jit(lambda a, b: landscape.error_barrier(error_fn, a, b, alphas, reference, batch_size))
    theta_a, theta_b = np.asarray(theta_a), np.asarray(theta_b)
    if theta_a.shape != theta_b.shape or theta_a.ndim != 2:
        raise ValueError("theta_a and theta_b must both be (pairs, params); "
                         f"got {theta_a.shape} and {theta_b.shape}")
    return np.array([float(barrier(jnp.asarray(a), jnp.asarray(b))) for a, b in zip(theta_a, theta_b)])


def consecutive_round_barriers(error_fn: FlatLoss, params: np.ndarray, **kwargs: Any) -> np.ndarray:
    """(R−1, S): barriers between rounds r and r+1 of each seed (``kwargs`` go to :func:`pair_barriers`)."""
    rounds, seeds, size = params.shape
    out = pair_barriers(error_fn, params[:-1].reshape(-1, size), params[1:].reshape(-1, size), **kwargs)
    return out.reshape(rounds - 1, seeds)


def seed_pair_barriers(error_fn: FlatLoss, params: np.ndarray, **kwargs: Any) -> np.ndarray:
    """(R, S(S−1)/2): barriers between every two seeds at each round (``itertools.combinations`` order)."""
    rounds, seeds, size = params.shape
    pairs = list(itertools.combinations(range(seeds), 2))
    if not pairs:
        return np.zeros((rounds, 0))
    first = params[:, [i for i, _ in pairs]].reshape(-1, size)
    second = params[:, [j for _, j in pairs]].reshape(-1, size)
    return pair_barriers(error_fn, first, second, **kwargs).reshape(rounds, len(pairs))


def round_sharpness(loss_fn: FlatLoss, template_params: PyTree, params: np.ndarray, masks: np.ndarray,
                    key: jax.Array, steps: Any, num_directions: int = 5, normalise_to: str = "self",
                    batch_size: int | None = None) -> np.ndarray:
    """(R, S, D): quadratic-fit curvatures of each round's and seed's network along D ticket directions.

    ``normalise_to``: ``"self"`` scales each direction to the network's own filters (Li et al.);
    ``"dense"`` to the seed's round-0 network (the paper's SI for its 2-D plots). The same ``key`` gives
    every round, seed and method the same Gaussian noise before masking and scaling.
    """
    if normalise_to not in ("self", "dense"):
        raise ValueError(f"normalise_to must be 'self' or 'dense'; got {normalise_to!r}")
    steps = jnp.asarray(steps, jnp.float32)

    def pytree_loss(tree: PyTree) -> jax.Array:
        return loss_fn(ravel_pytree(tree)[0])

    @jax.jit
    def curvatures(flat: jax.Array, flat_mask: jax.Array, flat_reference: jax.Array) -> jax.Array:
        tree = landscape.unflatten_like(template_params, flat)
        mask = landscape.unflatten_like(template_params, flat_mask)
        reference = landscape.unflatten_like(template_params, flat_reference)
        return landscape.sharpness(pytree_loss, tree, key, steps, num_directions, mask, reference,
                                   batch_size=batch_size).curvatures

    rounds, seeds, _ = params.shape
    out = np.zeros((rounds, seeds, int(num_directions)))
    for r in range(rounds):
        for s in range(seeds):
            reference = params[r, s] if normalise_to == "self" else params[0, s]
            out[r, s] = np.asarray(curvatures(jnp.asarray(params[r, s]), jnp.asarray(masks[r, s]),
                                              jnp.asarray(reference)))
    return out


# ----------------------------------------------------------------------------------------------
# Through the results store: the table is the cached unit, the arrays lie beside it
# ----------------------------------------------------------------------------------------------

SUMMARY_COLUMNS = ["method", "seed", "round", "weights_remaining", "test_score"]


def summary_table(arrays: dict[str, Arrays]) -> pd.DataFrame:
    """One row per (method, seed, round): the test score and weights remaining the arrays hold."""
    rows = []
    for method, values in arrays.items():
        for r, remaining in enumerate(values["weights_remaining"]):
            for s, seed in enumerate(values["seeds"]):
                rows.append({"method": method, "seed": int(seed), "round": r,
                             "weights_remaining": float(remaining),
                             "test_score": float(values["test_score"][r, s])})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def arrays_dir(run: LandscapeRun) -> Path:
    """``data/results/study_b_landscape/<hash>/``: the run's arrays, one ``<method>.npz`` each."""
    table_path, _ = store.paths_for(run)
    return table_path.with_suffix("")


def _arrays_match(arrays: dict[str, Arrays], table: pd.DataFrame) -> bool:
    """The stored arrays are the ones the stored table summarises (same methods, same test scores)."""
    try:
        summary = summary_table(arrays)
    except (KeyError, IndexError, ValueError):
        return False
    if sorted(summary.method.unique()) != sorted(table.method.unique()) or len(summary) != len(table):
        return False
    merged = table.merge(summary, on=["method", "seed", "round"], suffixes=("", "_arrays"))
    return len(merged) == len(table) and bool(
        np.allclose(merged.test_score, merged.test_score_arrays, rtol=1e-6, atol=1e-7))


def cached_arrays(run: LandscapeRun, fresh: bool = False
                  ) -> tuple[dict[str, Arrays], pd.DataFrame, dict[str, Any]]:
    """The run's arrays, summary table and provenance: loaded when stored and consistent, else trained
    (resuming from per-round checkpoints unless ``fresh``), the arrays written before the table."""
    checkpoints = store.checkpoint_path(run, suffix="")
    directory = arrays_dir(run)

    def compute() -> pd.DataFrame:
        arrays = landscape_arrays(run, None if fresh else checkpoints)
        save_arrays(directory, arrays)
        return summary_table(arrays)

    table, record = store.cached(run, compute, fresh=fresh)
    arrays = load_arrays(directory) if directory.exists() else {}
    if not _arrays_match(arrays, table):  # a table without its arrays (or with others): train again
        warnings.warn(f"recomputing {run.directory}/{run.hash()}: its arrays are missing or do not match "
                      "its table", stacklevel=2)
        table, record = store.cached(run, compute, fresh=True)
        arrays = load_arrays(directory)
    shutil.rmtree(checkpoints, ignore_errors=True)  # the stored table and arrays supersede them
    return arrays, table, record
