"""Iterative pruning with evolution strategies (Lange & Sprekeler 2023, ``run_es.py`` of the original):
the compiled ES training round on a masked genotype, the compiled pruning step, and the ES run.

Every round is one jitted ``lax.scan`` over generations, ``vmap``-ed over all (criterion, seed) runs:
the criteria differ only in their masks and start values, so they share one compiled training program
per round. The search std is re-initialised every round to the strategy's σ₀; weights are scored from
the FINAL search mean (and std). Round 0 trains the same dense network for every criterion, so it is
trained once per seed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.flatten_util import ravel_pytree

from nevolab.config import ConfigError, memory_budget_bytes
from nevolab.masked import scatter_genotype
from nevolab.pruning.criteria import Criterion, PruneInputs, get_criterion
from nevolab.pruning.masks import Layout, next_ticket, prunable_flat, prunable_segments
from nevolab.pruning.results import PruningResult
from nevolab.pruning.rounds import ImpPlan, run_rounds, split_runs
from nevolab.pruning.strategies import ESConfig, after_tell, build_strategy, search_std
from nevolab.xla import compiler_options, materialize

PyTree = Any


@dataclasses.dataclass(frozen=True, eq=False)
class PruningProblem:
    """What the pruning loop needs from a task.

    Attributes:
        name: identifies the task *and its settings* (it enters the checkpoint fingerprint).
        init_params: ``key -> params`` (a fresh network; also used by the re-init controls).
        train_loss: ``(params, key) -> scalar`` to minimise; the whole population of a generation
            is evaluated with the same key (same batch / same episodes).
        test_score: ``(params, key) -> scalar``, higher is better (accuracy, mean return).
        prunable: one bool per leaf (or bool arrays); ``None`` = every non-``bias`` leaf.
        population_chunk: evaluate the population this many members at a time (``lax.map``)
            instead of all at once (``vmap``), to bound memory (e.g. a CNN on 1,024 images per
            member); ``None`` = chosen from ``member_bytes`` and the memory budget
            (:func:`choose_chunk`: all at once whenever the population fits).
        population_loss: ``(stacked params, key) -> (members,)``, a whole-population evaluation
            that replaces ``vmap(train_loss)`` (e.g. the CNN's shared-batch forward); ``None`` =
            ``vmap(train_loss)``.
        member_bytes: peak bytes of one member's evaluation; ``None`` = never chunk automatically.
        shared_bytes: bytes an evaluation holds once per run, whatever its number of members.
    """

    name: str
    init_params: Callable[[jax.Array], PyTree]
    train_loss: Callable[[PyTree, jax.Array], jax.Array]
    test_score: Callable[[PyTree, jax.Array], jax.Array]
    prunable: PyTree | None = None
    population_chunk: int | None = None
    population_loss: Callable[[PyTree, jax.Array], jax.Array] | None = None
    member_bytes: float | None = None
    shared_bytes: float = 0.0


def choose_chunk(population: int, runs: int, member_bytes: float | None, shared_bytes: float = 0.0,
                 budget: float | None = None) -> int | None:
    """Members evaluated at a time so that ``runs`` evaluations fit the memory budget: ``None`` when
    the whole population fits (evaluated at once), else the smallest balanced chunk that needs as few
    steps as the largest chunk that fits; :class:`ConfigError` when one member does not fit."""
    if member_bytes is None:
        return None
    budget = memory_budget_bytes() if budget is None else budget
    fits = int((budget - runs * shared_bytes) // (runs * member_bytes))
    if fits >= population:
        return None
    if fits < 1:
        needed = runs * (member_bytes + shared_bytes)
        raise ConfigError(
            f"population evaluation: {runs} run(s) of even one member need about {needed / 2**30:.3g} GB, "
            f"over the memory budget of {budget / 2**30:.3g} GB (NEVOLAB_MEMORY_GB); lower the batch "
            "or the runs")
    steps = -(-population // fits)
    return -(-population // steps)


def problem_chunk(problem: PruningProblem, population: int, runs: int) -> int | None:
    """The problem's hand-set ``population_chunk``, else :func:`choose_chunk` for its shapes."""
    if problem.population_chunk is not None:
        return problem.population_chunk
    return choose_chunk(population, runs, problem.member_bytes, problem.shared_bytes)


def map_chunks(fn: Callable[[Any], jax.Array], xs: Any, chunk: int) -> jax.Array:
    """``fn`` (rows -> per-row values) over ``xs`` (an array or a pytree of arrays with a common
    leading axis) ``chunk`` rows at a time (a ``lax.map`` over whole chunks, then the remainder),
    concatenated."""
    rows = jax.tree_util.tree_leaves(xs)[0].shape[0]
    steps, rest = divmod(rows, chunk)

    def rows_of(start: int, stop: int) -> Any:
        return jax.tree_util.tree_map(lambda leaf: leaf[start:stop], xs)

    parts = []
    if steps:
        full = jax.tree_util.tree_map(
            lambda leaf: leaf[: steps * chunk].reshape(steps, chunk, *leaf.shape[1:]), xs)
        one = jax.tree_util.tree_map(lambda leaf: leaf[0], full)
        parts.append(jax.lax.map(fn, full).reshape(steps * chunk, *jax.eval_shape(fn, one).shape[1:]))
    if rest:
        parts.append(fn(rows_of(steps * chunk, rows)))
    return jnp.concatenate(parts) if len(parts) > 1 else parts[0]


@struct.dataclass
class TrainOutput:
    """One run's outcome of one round of ES training (stacked over runs by ``vmap``)."""

    test_score: jax.Array  # () test score of the final mean (the paper's reported number)
    test_score_best: jax.Array  # () test score of the best member seen in training
    min_loss_curve: jax.Array  # (G,) best training loss in each generation
    mean_loss_curve: jax.Array  # (G,) mean training loss of each generation
    final_mean: jax.Array  # (P,) 0 where pruned
    final_std: jax.Array  # (P,) +inf where pruned
    final_std_faithful: jax.Array  # (P,) +inf where pruned


def round_keys(key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """(init, generations, test, prune) keys of one round, shared by training and pruning."""
    k_init, k_scan, k_test, k_prune = jax.random.split(key, 4)
    return k_init, k_scan, k_test, k_prune


def population_losses(problem: PruningProblem, unravel: Callable[[jax.Array], PyTree], members: jax.Array,
                      key: jax.Array, chunk: int | None) -> jax.Array:
    """Training losses ``(members,)`` of flat parameter rows, ``chunk`` members at a time (``None``:
    all at once), through the problem's ``population_loss`` or else ``vmap(train_loss)``."""
    def evaluate(flat_params):
        return problem.train_loss(unravel(flat_params), key)

    def evaluate_together(flat_members):
        return problem.population_loss(jax.vmap(unravel)(flat_members), key)

    if problem.population_loss is not None:
        return evaluate_together(members) if chunk is None else map_chunks(evaluate_together, members, chunk)
    if chunk is None:
        return jax.vmap(evaluate)(members)
    return jax.lax.map(evaluate, members, batch_size=chunk)


@functools.lru_cache(maxsize=32)
def make_es_train(problem: PruningProblem, config: ESConfig, num_genes: int) -> Callable:
    """``jit(vmap(train))``: one round of ES training on the unmasked coordinates, for a batch of
    runs ``(keys, masks, start_values) -> TrainOutput``.

    It does not depend on the pruning criterion, so all criteria of a study share one compiled
    program per round (the genotype length ``num_genes`` is the only shape that changes). Cached,
    so that a resumed run does not recompile.
    """
    template = problem.init_params(jax.random.PRNGKey(0))
    flat_template, unravel = ravel_pytree(template)
    num_params = int(flat_template.size)
    es, es_params = build_strategy(config, num_genes)
    background = jnp.zeros((num_params,), jnp.float32)
    inf = jnp.full((num_params,), jnp.inf, jnp.float32)

    def train_one(key, mask, start_values, chunk):
        k_init, k_scan, k_test, _ = round_keys(key)
        indices = jnp.nonzero(mask, size=num_genes)[0]
        # Where each unmasked position's value sits in the genotype. Decoding gathers through it:
        # the same values as scattering the genotype to ``indices``, but XLA:CPU scatters a
        # population element by element and through a transposed copy, several times slower.
        positions = jnp.clip(jnp.cumsum(mask) - 1, 0, num_genes - 1)

        def decode_population(population):  # (members, num_genes) -> (members, num_params)
            # take_along_axis (a gather with the members as batch) writes members-major rows;
            # ``take(..., axis=1)`` made XLA build a genes-major array and transpose it.
            sources = jnp.broadcast_to(positions, (population.shape[0], num_params))
            return jnp.where(mask, jnp.take_along_axis(population, sources, axis=1), background)

        state = es.init(k_init, start_values[indices], es_params)

        def generation(state, k):
            k_ask, k_eval, k_tell = jax.random.split(k, 3)
            population, state = es.ask(k_ask, state, es_params)
            # Materialised once: otherwise XLA fuses the Gaussian sampling into each of its four
            # consumers (decoding and the strategy's tell) and computes it four times.
            population = materialize(population)

            loss = population_losses(problem, unravel, decode_population(population), k_eval, chunk)
            state, _ = es.tell(k_tell, population, loss, state, es_params)
            state = after_tell(config, state)
            finite = jnp.where(jnp.isfinite(loss), loss, jnp.nan)
            return state, (jnp.nanmin(finite), jnp.nanmean(finite))

        state, (min_curve, mean_curve) = jax.lax.scan(
            generation, state, jax.random.split(k_scan, config.generations))
        std = jnp.broadcast_to(search_std(config.strategy, state), (num_genes,))
        std_faithful = jnp.broadcast_to(search_std(config.strategy, state, faithful=True), (num_genes,))
        final_mean = scatter_genotype(state.mean, indices, background)
        best = scatter_genotype(state.best_solution, indices, background)
        # One vmapped test evaluation for both networks: half the code for XLA to compile.
        scores = jax.vmap(lambda flat: problem.test_score(unravel(flat), k_test))(
            jnp.stack([final_mean, best]))
        return TrainOutput(
            test_score=scores[0],
            test_score_best=scores[1],
            min_loss_curve=min_curve,
            mean_loss_curve=mean_curve,
            final_mean=final_mean,
            final_std=scatter_genotype(std, indices, inf),
            final_std_faithful=scatter_genotype(std_faithful, indices, inf),
        )

    def train(keys, masks, starts):
        # The number of runs is a static shape here, so the chunk is chosen once per compilation.
        chunk = problem_chunk(problem, config.population_size, keys.shape[0])
        return jax.vmap(functools.partial(train_one, chunk=chunk))(keys, masks, starts)

    return jax.jit(train)


@functools.lru_cache(maxsize=32)
def make_es_prune(problem: PruningProblem, criterion: Criterion) -> Callable:
    """``jit(vmap(prune))``: the next (mask, start values) of a batch of runs of one criterion,
    ``(keys, masks, start_values, trained, original_init, num_keep) -> (masks, starts)``.

    ``num_keep`` is traced, so one compiled program serves every round."""
    template = problem.init_params(jax.random.PRNGKey(0))
    prunable = prunable_flat(template, problem.prunable)

    def reinit(key: jax.Array) -> jax.Array:
        return ravel_pytree(problem.init_params(key))[0].astype(jnp.float32)

    layout = Layout(jnp.asarray(prunable), prunable_segments(template, prunable), reinit)

    def prune_one(key, mask, start_values, trained: TrainOutput, original_init, num_keep):
        k_prune = round_keys(key)[3]
        inputs = PruneInputs(final_mean=trained.final_mean, final_std=trained.final_std,
                             final_std_faithful=trained.final_std_faithful, start_values=start_values,
                             mask=mask)
        return next_ticket(criterion, inputs, k_prune, original_init, num_keep, layout)

    # Cheap to run but slow to optimise (threefry for the re-initialisation, per-layer argsorts):
    # XLA's backend optimisations would cost seconds of compile time per criterion for nothing.
    return jax.jit(jax.vmap(prune_one, in_axes=(0, 0, 0, 0, 0, None)),
                   compiler_options=compiler_options("prune"))


_OUTPUTS = ("test_score", "test_score_best", "min_loss_curve", "mean_loss_curve", "final_mean", "final_std")


@dataclasses.dataclass(frozen=True)
class ESStep:
    """One ES round for every (criterion, seed) run; runs are criterion-major (run ``c * S + s``)."""

    problem: PruningProblem
    config: ESConfig
    criteria: tuple[str, ...]
    plan: ImpPlan
    num_params: int

    def identity(self) -> dict[str, Any]:
        """The problem, network size, strategy settings and criteria."""
        return {"problem": self.problem.name, "num_params": self.num_params,
                "es": dataclasses.asdict(self.config), "criteria": list(self.criteria)}

    def __call__(self, round_index: int, keys: jax.Array, masks: jax.Array, starts: jax.Array,
                 original: jax.Array) -> tuple[dict[str, np.ndarray], jax.Array, jax.Array]:
        """Train every run on its ticket, then prune each criterion's runs to the next ticket."""
        kept = self.plan.kept
        num_seeds, copies = keys.shape[0], len(self.criteria)
        num_genes = self.num_params - self.plan.num_prunable + int(kept[round_index])
        train = make_es_train(self.problem, self.config, num_genes)
        tiled = jnp.tile(keys, (copies, 1))
        if round_index == 0:  # every criterion starts from the same dense network: train it once per seed
            trained = train(keys, masks[:num_seeds], starts[:num_seeds])
            trained = jax.tree_util.tree_map(lambda x: jnp.tile(x, (copies,) + (1,) * (x.ndim - 1)), trained)
        else:
            trained = train(tiled, masks, starts)
        next_masks, next_starts = [], []
        for c, name in enumerate(self.criteria):
            rows = slice(c * num_seeds, (c + 1) * num_seeds)
            pick = functools.partial(jax.tree_util.tree_map, lambda x, rows=rows: x[rows])
            prune = make_es_prune(self.problem, get_criterion(name))
            mask_c, start_c = prune(tiled[rows], masks[rows], starts[rows], pick(trained), original[rows],
                                    jnp.int32(kept[round_index + 1]))
            next_masks.append(mask_c)
            next_starts.append(start_c)
        trained = jax.device_get(trained)
        outputs = {name: np.asarray(getattr(trained, name)) for name in _OUTPUTS}
        return outputs, jnp.concatenate(next_masks), jnp.concatenate(next_starts)


def run_es_imp(problem: PruningProblem, config: ESConfig, criteria: Sequence[str], plan: ImpPlan,
               checkpoint_dir: Path | None = None,
               on_round: Callable[[int], None] | None = None) -> dict[str, PruningResult]:
    """Iterative ES pruning with several criteria trained together: ``{criterion: PruningResult}``.

    ``plan.num_prunable`` must be the problem's count of prunable weights; checkpoints and
    ``on_round`` as :func:`~nevolab.pruning.rounds.run_rounds`."""
    criteria = tuple(criteria)
    for name in criteria:
        get_criterion(name)
    if not criteria or len(set(criteria)) != len(criteria):
        raise ValueError(f"criteria must be a non-empty sequence of distinct names; got {criteria!r}")
    # Refused in one line before any round when even one member of every run cannot fit.
    problem_chunk(problem, config.population_size, len(criteria) * len(plan.seeds))
    template = problem.init_params(jax.random.PRNGKey(0))
    num_params = int(ravel_pytree(template)[0].size)
    if int(prunable_flat(template, problem.prunable).sum()) != plan.num_prunable:
        raise ValueError(f"plan.num_prunable {plan.num_prunable} does not match problem {problem.name!r}")
    original = jnp.tile(
        jnp.stack([ravel_pytree(problem.init_params(k))[0].astype(jnp.float32) for k in plan.seed_keys()]),
        (len(criteria), 1))
    step = ESStep(problem, config, criteria, plan, num_params)
    history = run_rounds(step, original, plan, checkpoint_dir, on_round)
    return {name: PruningResult.from_history(part, problem.name, config.strategy, name, plan)
            for name, part in split_runs(history, criteria).items()}


def plan_for(problem: PruningProblem, seeds: Sequence[int], rounds: int, prune_fraction: float) -> ImpPlan:
    """The :class:`ImpPlan` of ``problem``: its count of prunable weights with the given schedule."""
    template = problem.init_params(jax.random.PRNGKey(0))
    return ImpPlan(tuple(seeds), rounds, prune_fraction, int(prunable_flat(template, problem.prunable).sum()))
