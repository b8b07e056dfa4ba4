"""Study C notebooks (Garbus & Pollack 2025, low-rank factorized neuroevolution of a transformer LM).

Three notebooks share one set of run parameters, so that their runs (cached per variant under
``data/results/study_c_runs/``) are computed once:

* ``c1_lm_fitness_curves`` -- best negative cross-entropy against generation for the four variants
  and the ``dense_matched`` control, with the starting losses, the uniform-guess line and an Adam
  reference; parameter counts and genome sizes;
* ``c2_mutation_effects`` -- the distribution of child-minus-parent fitness, dense vs factorized, at
  equal generation and at matched fitness (:mod:`nevolab.studies.c.confound`);
* ``c3_claims`` -- the paper's claims with its own statistics and a computed verdict.

Scale: the ``paper`` profile is the paper's GA (population 512, 16 elites, 300 generations, a 2048-token
BPE, 1024 sequences) on the offline corpus (TinyStories needs the internet); ``default`` keeps the BPE
and is scaled down to :data:`LM_DEFAULT_BUDGET_MIN` minutes of compute on a 2-core CPU for every
variant and Adam; ``smoke`` takes seconds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from nevolab.config import NotebookSpec, Param
from nevolab.studies.c.pixel_tasks import (
    ENVPOOL_PIXEL_TASKS,
    MINATAR_GAMES,
    PIXEL_TASKS,
    RACING,
    pixel_task_problem,
)
from nevolab.studies.c.variants import PAPER_VARIANTS, PIXEL_VARIANTS, VARIANTS
from nevolab.tasks.language import corpus_tokens

__all__ = ["LM_DEFAULT_BUDGET_MIN", "MINATAR_GAMES", "PAPER_PIXEL_TASKS", "PAPER_VARIANTS",
           "PIXEL_DEFAULT_BUDGET_MIN", "PIXEL_TASKS", "PIXEL_VARIANTS", "RACING", "SPECS",
           "SPECS_BY_NAME", "TOKENIZERS", "VARIANTS", "pixel_task_problem", "seed_list"]

TOKENIZERS = ("char", "bpe")

PAPER_PIXEL_TASKS = ("envpool:CarRacing-v3", "envpool:Asteroids", "envpool:Frostbite", "envpool:Gravitar",
                     "envpool:Kangaroo")
"""The paper profile's tasks: the paper's own environments (needs the envpool extra)."""

LM_DEFAULT_BUDGET_MIN = 60
"""Minutes of compute C1–C3's default runs (every variant and Adam) are sized for on a 2-core CPU."""

PIXEL_DEFAULT_BUDGET_MIN = 90
"""Minutes of compute C4–C5's default racing runs are sized for on a 2-core CPU."""


def seed_list(count: int) -> tuple[int, ...]:
    """The seeds of ``count`` independent runs: 0, 1, ..., count - 1 (the ``seeds`` parameters' meaning)."""
    return tuple(range(count))


def _model_limits() -> dict[str, int]:
    """The paper's model dimensions (``TransformerConfig`` defaults), read without building a model."""
    from nevolab.models.transformer import TransformerConfig

    config = TransformerConfig()
    return {"hidden": config.hidden_dim, "attention": config.attention_dim, "ff": config.ff_dim,
            "context": config.max_len}


def _check_elites(value: int, values: Mapping[str, Any]) -> str | None:
    population = values["population"]
    if value >= population:
        return (f"must be below population={population} (the GA keeps k elites and makes population - k "
                f"mutated children); got {value}")
    return None


def _check_rank(value: int, values: Mapping[str, Any]) -> str | None:
    dims = _model_limits()
    limit = min(dims["hidden"], dims["attention"], dims["ff"])
    if not 1 <= value <= limit:
        return (f"must be in [1, {limit}]: at most min(fan_in, fan_out) of the model's smallest weight "
                f"matrix (query/key/value {dims['hidden']}x{dims['attention']}); got {value}")
    return None


def _check_embedding_rank(value: int, values: Mapping[str, Any]) -> str | None:
    limit = _model_limits()["hidden"]  # the embedding is (vocabulary, hidden); both vocabularies are larger
    if not 1 <= value <= limit:
        return (f"must be in [1, {limit}]: at most min(vocabulary, hidden) = min(fan_in, fan_out) of the "
                f"token embedding (vocabulary x {limit}); got {value}")
    return None


def _check_sequence_length(value: int, values: Mapping[str, Any]) -> str | None:
    context = _model_limits()["context"]
    if not 1 <= value <= context:
        return f"must be in [1, {context}] (the model's context, max_len = {context} tokens); got {value}"
    return None


def _check_num_sequences(value: int, values: Mapping[str, Any]) -> str | None:
    if value < 1:
        return f"must be >= 1; got {value}"
    length = values["sequence_length"]
    tokens, _ = corpus_tokens(values["tokenizer"], "pydoc_topics")
    available = tokens.size // (length + 1)
    if value > available:
        return (f"{value} windows of sequence_length+1 = {length + 1} tokens do not fit: the "
                f"{values['tokenizer']}-tokenized offline corpus ({tokens.size:,} tokens) holds {available}")
    return None


def _check_heldout_sequences(value: int, values: Mapping[str, Any]) -> str | None:
    length = values["sequence_length"]
    tokens, _ = corpus_tokens(values["tokenizer"], "pydoc_topics")
    left = tokens.size // (length + 1) - values["num_sequences"]
    if value > left:
        return (f"must be at most {left}: the {values['tokenizer']}-tokenized offline corpus holds "
                f"{left} windows of {length + 1} tokens beside the {values['num_sequences']} training ones; "
                f"got {value}")
    return None


def _lm_memory(values: Mapping[str, Any]) -> tuple[float, str]:
    """The estimated peak memory, in bytes, of one variant's Deep GA runs (all seeds vmapped), and the
    parameter that sets it.

    Per seed the GA holds its population, its children and the state's copy (float32 genes, at most
    the dense model's, whose embedding grows with the vocabulary), every member's seed list (8 bytes a
    generation) and the per-child records of every generation; the loss's activations are chunked
    (:data:`nevolab.studies.c.lm.CHUNK_BYTES`) and do not grow with the population.
    """
    dims = _model_limits()
    _, vocab_size = corpus_tokens(values["tokenizer"], "pydoc_topics")
    hidden, attention, ff = dims["hidden"], dims["attention"], dims["ff"]
    block = 4 * hidden * max(hidden, attention) + 2 * hidden * ff + 4 * hidden + ff + 4 * hidden
    genes = vocab_size * hidden + values["num_blocks"] * block
    per_member = 3 * 4.0 * genes + 8.0 * values["generations"] + 2 * 4.0 * values["generations"]
    return float(values["seeds"]) * values["population"] * per_member, "population"


def _pixel_memory(values: Mapping[str, Any]) -> tuple[float, str]:
    """The estimated peak memory of C4/C5's largest population evaluation (see
    :func:`nevolab.studies.c.pixel_tasks.peak_memory`)."""
    from nevolab.studies.c.pixel_tasks import peak_memory

    return peak_memory(values)


def _run_params() -> tuple[Param, ...]:
    """The parameters that determine the runs (shared by c1, c2 and c3)."""
    return (
        Param("variants", "str_list", {"smoke": ["dense", "lowrank", "small", "dense_matched"],
                                       "default": list(VARIANTS), "paper": list(PAPER_VARIANTS)},
              paper=list(PAPER_VARIANTS),
              help="dense (No Factorization); lowrank (rank, embedding_rank); small (hidden 4, ff 16); "
                   "rank1 (rank 1, embedding rank 4); dense_matched (not in the paper: dense with its "
                   "embedding initialised at the low-rank embedding's scale)", choices=VARIANTS),
        Param("population", "int", {"smoke": 16, "default": 128, "paper": 512}, paper=512,
              help="population size N (the Deep GA evaluates all N every generation)", minimum=2,
              maximum=8192),
        Param("elites", "int", {"smoke": 2, "default": 4, "paper": 16}, paper=16,
              help="truncation k: the best k survive unmutated and parent all children (paper: N/32)",
              minimum=1, check=_check_elites),
        Param("generations", "int", {"smoke": 4, "default": 200, "paper": 300}, paper=300,
              help="generations", minimum=2, maximum=10_000),
        Param("seeds", "int", {"smoke": 2, "default": 6, "paper": 5},
              paper="unverified (the plot script averages every run directory)",
              help="independent runs per variant (seeds 0, 1, ...)", minimum=2, maximum=64),
        Param("tokenizer", "str", {"smoke": "bpe", "default": "bpe", "paper": "bpe"},
              paper="bpe: 2048-token HuggingFace BPE (model vocabulary 2051) on TinyStories",
              help="char (103 symbols) or bpe (the original's 2048-token BPE recipe, model vocabulary 2051), "
                   "both on the offline corpus (CPython's pydoc topics; TinyStories needs the internet)",
              choices=TOKENIZERS),
        Param("sequence_length", "int", {"smoke": 16, "default": 64, "paper": 64},
              paper="whole stories (no truncation)", help="tokens per fixed training window",
              check=_check_sequence_length),
        Param("num_sequences", "int", {"smoke": 2, "default": 16, "paper": 1024}, paper="1024 stories",
              help="fixed windows, the same every generation (fitness = -mean cross-entropy on them)",
              check=_check_num_sequences),
        Param("heldout_sequences", "int", {"smoke": 2, "default": 16, "paper": 64},
              paper="none (the paper reports training fitness only)",
              help="held-out windows, disjoint from the training ones, scored on the best individual "
                   "(and on Adam) to show memorisation against generalisation", minimum=1,
              check=_check_heldout_sequences),
        Param("heldout_every", "int", {"smoke": 2, "default": 10, "paper": 10},
              paper="not in the paper (ours)",
              help="generations between held-out scorings of the best individual (the last is always "
                   "scored)", minimum=1, maximum=10_000),
        Param("rank", "int", {"default": 4}, paper=4,
              help="rank of every factorized weight matrix of the lowrank variant", check=_check_rank),
        Param("embedding_rank", "int", {"default": 32}, paper=32,
              help="rank of the factorized token embedding of the lowrank variant",
              check=_check_embedding_rank),
        Param("mutation_rate", "float", {"default": 0.01}, paper=0.01,
              help="mr: Gaussian mutation std relative to the init std (sqrt(mr) for factors)", minimum=0,
              maximum=1),
        Param("num_blocks", "int", {"smoke": 1, "default": 3, "paper": 3}, paper=3,
              help="transformer blocks (hidden 32, 4 heads of 4, ff 128 as the paper)", minimum=1,
              maximum=12),
    )


def _check_learning_rate(value: float, values: Mapping[str, Any]) -> str | None:
    return None if value > 0 else f"must be > 0; got {value}"


def _check_pixel_tasks(value: list[str], values: Mapping[str, Any]) -> str | None:
    """Known tasks, installed (an envpool task without the extra names the install command), and racing
    among them unless every task is envpool's (C4 on the real environments alone)."""
    problems = [problem for problem in map(pixel_task_problem, value) if problem]
    if problems:
        return problems[0]
    if RACING in value or all(task in ENVPOOL_PIXEL_TASKS for task in value):
        return None
    return (f"must include {RACING!r} (C5 and the claims rest on it) unless every task is an envpool one; "
            f"got {value}")


def _check_finalists(value: int, values: Mapping[str, Any]) -> str | None:
    population = values["population"]
    if not 1 <= value < population:
        return f"must be in [1, {population - 1}] (below population={population}); got {value}"
    return None


def _check_parents(value: int, values: Mapping[str, Any]) -> str | None:
    finalists = values["finalists"]
    if not 1 <= value <= finalists:
        return f"must be in [1, {finalists}] (at most finalists={finalists}); got {value}"
    return None


def _check_atari_parents(value: int, values: Mapping[str, Any]) -> str | None:
    population = values["atari_population"]
    if not 1 <= value < population:
        return f"must be in [1, {population - 1}] (below atari_population={population}); got {value}"
    return None


def _check_obs_size(value: int, values: Mapping[str, Any]) -> str | None:
    if value < 46:
        return (f"must be >= 46: the CarRacing CNN's four 4x4 stride-2 convolutions need 46 pixels "
                f"(46 -> 22 -> 10 -> 4 -> 1); got {value}")
    return None


def _pixel_params() -> tuple[Param, ...]:
    """The parameters of C4 and C5's runs (shared, so their runs are computed once)."""
    return (
        Param("tasks", "str_list", {"smoke": [RACING], "default": [RACING, "minatar:Breakout"],
                                    "paper": list(PAPER_PIXEL_TASKS)},
              paper="CarRacing-v3; Atari Asteroids, Frostbite, Gravitar, Kangaroo",
              help="racing (a JAX task with CarRacing's rules) and minatar:<game> (gymnax's MinAtar, "
                   "standing in for the paper's Atari games); envpool:CarRacing-v3 and envpool:<game> "
                   "(the paper's real environments; needs the envpool extra)", choices=PIXEL_TASKS,
              check=_check_pixel_tasks),
        Param("variants", "str_list", {"default": list(PIXEL_VARIANTS)}, paper=list(PIXEL_VARIANTS),
              help="dense (No Factorization); factorized (rank-r factors on every kernel but the output); "
                   "small (No Factorization (Small))", choices=PIXEL_VARIANTS),
        Param("seeds", "int", {"smoke": 2, "default": 6, "paper": 15}, paper=15,
              help="independent runs per variant and task (seeds 0, 1, ...)", minimum=2, maximum=64),
        Param("population", "int", {"smoke": 8, "default": 48, "paper": 256}, paper=256,
              help="racing: population size N", minimum=3, maximum=4096),
        Param("finalists", "int", {"smoke": 4, "default": 12, "paper": 32}, paper=32,
              help="racing: members that go on to stage 2", check=_check_finalists),
        Param("parents", "int", {"smoke": 2, "default": 4, "paper": 8}, paper=8,
              help="racing: finalists kept unmutated as the next generation's parents", check=_check_parents),
        Param("stage1_episodes", "int", {"default": 2}, paper=2,
              help="racing: episodes every member plays in stage 1", minimum=1, maximum=64),
        Param("stage2_episodes", "int", {"smoke": 2, "default": 4, "paper": 4}, paper=4,
              help="racing: further episodes each finalist plays in stage 2", minimum=1, maximum=64),
        Param("generations", "int", {"smoke": 2, "default": 40, "paper": 40}, paper=40,
              help="racing: generations", minimum=1, maximum=1000),
        Param("max_steps", "int", {"smoke": 40, "default": 300, "paper": 1000}, paper=1000,
              help="racing: frames per episode at most (CarRacing-v3's limit is 1000)", minimum=25,
              maximum=10_000),
        Param("obs_size", "int", {"smoke": 48, "default": 48, "paper": 64}, paper=64,
              help="racing: side of the grayscale image (4 stacked frames)", maximum=256,
              check=_check_obs_size),
        Param("rank", "int", {"default": 1}, paper=1,
              help="racing: rank of the factorized variant's kernels", minimum=1, maximum=32),
        Param("early_termination", "bool", {"default": True}, paper=True,
              help="racing: end an episode after 21 frames in a row without a new tile (the original's "
                   "rule)"),
        Param("atari_population", "int", {"smoke": 8, "default": 32, "paper": 512}, paper=512,
              help="MinAtar: population size (one episode each, one stage)", minimum=3, maximum=8192),
        Param("atari_parents", "int", {"smoke": 2, "default": 4, "paper": 16}, paper=16,
              help="MinAtar: truncation k", check=_check_atari_parents),
        Param("atari_generations", "int", {"smoke": 2, "default": 20, "paper": 300}, paper=300,
              help="MinAtar: generations", minimum=1, maximum=10_000),
        Param("atari_max_steps", "int", {"smoke": 40, "default": 300, "paper": 2500}, paper=2500,
              help="MinAtar: agent steps per episode at most (the paper's n_steps)", minimum=25,
              maximum=10_000),
        Param("atari_rank", "int", {"default": 4}, paper=4,
              help="MinAtar: rank of the factorized variant's kernels", minimum=1, maximum=32),
        Param("mutation_rate", "float", {"default": 0.01}, paper=0.01,
              help="mr: Gaussian mutation std relative to the init std (sqrt(mr) for factors)", minimum=0,
              maximum=1),
        Param("chunk_steps", "int", {"smoke": 10, "default": 12, "paper": 50}, paper="not applicable",
              help="steps between compactions of the alive episodes (changes compute, never a return)",
              minimum=1, maximum=10_000),
    )


SPECS: tuple[NotebookSpec, ...] = (
    NotebookSpec(
        name="c1_lm_fitness_curves",
        memory_estimate=_lm_memory,
        title="Study C, Figure 1: best negative cross-entropy against generation",
        description="The Deep GA on a small transformer language model: best individual's negative "
                    "cross-entropy per generation for the dense, low-rank, small dense and rank-1 variants "
                    "and a dense control started at the low-rank loss, against the uniform guess and Adam "
                    "on the same token budget; starting losses; genome sizes.",
        params=(*_run_params(),
                Param("adam_learning_rate", "float", {"default": 3e-3},
                      paper="not in the paper (our reference)",
                      help="Adam's learning rate for the backprop reference (dense model, same windows and "
                           "token budget)", maximum=1, check=_check_learning_rate)),
    ),
    NotebookSpec(
        name="c2_mutation_effects",
        memory_estimate=_lm_memory,
        title="Study C, Figure 2: the fitness effect of a mutation, dense vs factorized",
        description="Distribution of child-minus-parent negative cross-entropy over the run, and the "
                    "fraction of deleterious mutations, for every variant, at equal generation and at "
                    "matched fitness.",
        params=_run_params(),
    ),
    NotebookSpec(
        name="c3_claims",
        memory_estimate=_lm_memory,
        claims_page=True,
        title="Study C, Table: the paper's claims, tested",
        version=3,  # v2: the claims table of verdict rule v2; v3: Holm per claim, power on the Holm floor
        description="Factorized vs dense and small dense at the last generation, and whether factorized "
                    "mutations are more often and more strongly deleterious: the paper's statistics "
                    "(Kruskal-Wallis, rank-sum, Glass's delta) beside the book's verdict rule.",
        params=_run_params(),
    ),
    NotebookSpec(
        name="c4_pixel_rl_scores",
        memory_estimate=_pixel_memory,
        title="Study C, pixel RL: best score per generation, dense vs factorized vs small",
        description="The Deep GA with two-stage selection on a racing task with CarRacing's rules (and "
                    "MinAtar games): the best finalist's score per generation with 95% intervals for the "
                    "dense, rank-1 factorized and small dense CNNs, and an evolved policy's episode.",
        params=_pixel_params(),
    ),
    NotebookSpec(
        name="c5_selection_stages",
        memory_estimate=_pixel_memory,
        claims_page=True,
        version=2,  # v2: Holm per claim, claims at matched parent fitness and at scale, C.5 and C.6 added
        title="Study C, pixel RL: the two selection stages at the last generation",
        description="Stage-1 and stage-2 mean scores and evaluation cost at the last generation, dense vs "
                    "factorized: does early termination end factorized children's episodes sooner, at an "
                    "equal final score? The paper's statistics beside the book's verdicts.",
        params=_pixel_params(),
    ),
)


# --- C6: the stage-1 claims on the real CarRacing-v3 (envpool) -------------------------------------

REAL_TASK = "envpool:CarRacing-v3"
"""C6's task: the paper's own CarRacing-v3, through the envpool extra."""


def _check_real_variants(value: list[str], values: Mapping[str, Any]) -> str | None:
    if {"dense", "factorized"} <= set(value):
        return None
    return f"must include 'dense' and 'factorized' (C6 compares them); got {value}"


def _real_memory(values: Mapping[str, Any]) -> tuple[float, str]:
    """C6's largest population evaluation (:func:`nevolab.studies.c.pixel_tasks.peak_memory` of its task;
    the image side is the task's own, 64)."""
    from nevolab.studies.c.pixel_tasks import peak_memory

    return peak_memory({**values, "tasks": [REAL_TASK], "obs_size": 64})


def _real_params() -> tuple[Param, ...]:
    """C6's parameters: C4/C5's racing ones (:func:`_pixel_params`) on envpool's CarRacing-v3, with its
    own variants, default size and episode limit."""
    racing = {param.name: param for param in _pixel_params()}

    def sized(name: str, presets: dict[str, Any], **changes: Any) -> Param:
        return dataclasses.replace(racing[name], presets=presets, **changes)

    return (
        Param("variants", "str_list", {"default": ["dense", "factorized"], "paper": list(PIXEL_VARIANTS)},
              paper=list(PIXEL_VARIANTS),
              help="dense (No Factorization); factorized (rank-r factors on every kernel but the output); "
                   "small (No Factorization (Small)); dense and factorized are needed",
              choices=PIXEL_VARIANTS, check=_check_real_variants),
        sized("seeds", {"smoke": 2, "default": 6, "paper": 15},
              help="independent runs per variant (seeds 0, 1, ...)"),
        sized("population", {"smoke": 8, "default": 16, "paper": 256}, help="population size N"),
        sized("finalists", {"smoke": 4, "default": 4, "paper": 32}, help="members that go on to stage 2"),
        sized("parents", {"smoke": 2, "default": 2, "paper": 8},
              help="finalists kept unmutated as the next generation's parents"),
        sized("stage1_episodes", {"default": 2}, help="episodes every member plays in stage 1"),
        sized("stage2_episodes", {"smoke": 2, "default": 4, "paper": 4},
              help="further episodes each finalist plays in stage 2"),
        sized("generations", {"smoke": 2, "default": 4, "paper": 40}, minimum=2,
              help="generations (the stage-1 claims are tested from the first ones)"),
        sized("max_steps", {"smoke": 40, "default": 1000, "paper": 1000}, maximum=1000,
              help="frames per episode at most (CarRacing-v3's limit is 1000)"),
        sized("rank", {"default": 1}, help="rank of the factorized variant's kernels"),
        sized("early_termination", {"default": True},
              help="end an episode once more than 20 rewards were seen and the last 21 are all negative "
                   "(the original's rule)"),
        racing["mutation_rate"],
        racing["chunk_steps"],
    )


def _check_real_task(values: Mapping[str, Any]) -> str | None:
    """C6 runs only on envpool's CarRacing-v3: without the extra, the install command, before compute."""
    problem = pixel_task_problem(REAL_TASK)
    return f"c6_real_carracing: {problem}" if problem else None


SPECS = (*SPECS, NotebookSpec(
    name="c6_real_carracing",
    check=_check_real_task,
    memory_estimate=_real_memory,
    claims_page=True,
    title="Study C, pixel RL on the real CarRacing-v3: the stage-1 claims, dense vs factorized",
    description="The Deep GA with two-stage selection on envpool's CarRacing-v3 (the paper's environment and "
                "preprocessing; the envpool extra): stage-1 mean score and environment steps, dense vs "
                "factorized, from the first generations and at matched parent fitness, beside C5's rows of "
                "the same claims on the racing stand-in; an evolved policy's episode from the real renderer.",
    params=_real_params(),
))

SPECS_BY_NAME: dict[str, NotebookSpec] = {spec.name: spec for spec in SPECS}
