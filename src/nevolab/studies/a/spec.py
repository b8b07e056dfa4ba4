"""Study A notebooks (Gobbi & Konotopska, backprop vs bio-inspired training of tiny autoencoders):
their parameters, presets per profile and the paper's values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nevolab.config import NotebookSpec, Param
from nevolab.studies.a.cases import ALGORITHMS, CASES
from nevolab.studies.a.train import TABLES_VERSION
from nevolab.tasks.autoencoders import BATCH_SIZE, DATA_SEED


def _max_generations(value: int, values: Mapping[str, Any]) -> str | None:
    if value > 2000:
        return "the original data has 2000 batches (one per generation); use at most 2000"
    return None


ALL_CASES = list(CASES)
ALL_ALGORITHMS = list(ALGORITHMS)

# Upper bounds: ten times the paper's repeats, far above every profile.
MAX_REPEATS = 1000
MAX_LSTM_REPEATS = 5000

# The peak memory of one run (all repeats of one algorithm on one case, vmapped at once), per repeat,
# from bounds that hold for every case and algorithm: at most 2 x 20 networks evaluated a generation
# (corrected DE scores targets and offspring; the authors' largest population is 20), each with its
# parameters and a generous 8 copies of them in the algorithm's state, the activations of one batch,
# and 4 recorded metrics a generation. Float32 throughout.
_MAX_EVALUATED = 2 * 20
_STATE_COPIES = 8
_MAX_PARAMS = {"ff": 98, "lstm": 1212}
_ACTIVATIONS_PER_SAMPLE = {"ff": 4 * 8, "lstm": 64 * 4}  # (layers x width), (gates and states x seq)
_METRICS = 4


def run_bytes_per_repeat(kind: str, generations: int) -> float:
    """A generous bound on the memory one repeat of a Study A run of ``kind`` ("ff", "lstm") uses."""
    per_network = _STATE_COPIES * _MAX_PARAMS[kind] + BATCH_SIZE * _ACTIVATIONS_PER_SAMPLE[kind]
    return 4.0 * (_MAX_EVALUATED * per_network + _METRICS * generations)


def peak_memory(values: Mapping[str, Any]) -> tuple[float, str]:
    """The peak memory of a Study A page's largest run, in bytes, and the parameter that drives it."""
    kinds = {CASES[case].kind for case in values["cases"]}
    repeats = {"ff": ("repeats", values["repeats"]), "lstm": ("lstm_repeats", values["lstm_repeats"])}
    needs = [(repeats[kind][1] * run_bytes_per_repeat(kind, values["generations"]), repeats[kind][0])
             for kind in sorted(kinds)]
    return max(needs)


def _cases_param(default: list[str]) -> Param:
    return Param("cases", "str_list", {"smoke": ["I"], "default": default, "paper": ALL_CASES},
                 paper=ALL_CASES,
                 help="cases: I, II feed-forward d=4, 8; III s3h3, IV s4h4, V s3h10, VI s4h10 LSTM",
                 choices=tuple(CASES))


def _algorithms_param() -> Param:
    return Param("algorithms", "str_list",
                 {"smoke": ["backprop", "cosyne"], "default": ALL_ALGORITHMS, "paper": ALL_ALGORITHMS},
                 paper=ALL_ALGORITHMS, help="algorithms, each with the authors' best hyperparameters",
                 choices=ALGORITHMS)


def _study_a_scale_params() -> tuple[Param, ...]:
    return (
        Param("repeats", "int", {"smoke": 3, "default": 30, "paper": 100}, paper=100,
              help="independent runs per algorithm on the feed-forward cases", minimum=1,
              maximum=MAX_REPEATS),
        Param("lstm_repeats", "int", {"smoke": 3, "default": 30, "paper": 500}, paper=500,
              help="independent runs per algorithm on the LSTM cases", minimum=1,
              maximum=MAX_LSTM_REPEATS),
        Param("lstm_loss", "str", {"default": "fast", "paper": "fast"}, paper="PyTorch's LSTM, per network",
              help="the LSTM cases' population loss: fast (the four gates as one product of input and "
                   "hidden state, the same numbers up to float32 rounding; 2.7x faster on Case VI) or plain "
                   "(the vmapped per-network LSTM)", choices=("fast", "plain")),
        Param("generations", "int", {"smoke": 100, "default": 2000, "paper": 2000}, paper=2000,
              help="generations (= batches of 40; one batch per generation or step)", minimum=1,
              check=_max_generations),
        Param("seed", "int", {"default": 0}, paper="not applicable (torch default seeding)",
              help=f"master PRNG seed of the repeats (the data seed is always {DATA_SEED}, as the original)",
              minimum=0, maximum=2**32 - 1),
    )


FAITHFUL = Param("faithful", "bool", {"default": False}, paper=True,
                 help="reproduce the original code's quirks (originals.md §3.3), not the corrected behaviour")

SPECS: tuple[NotebookSpec, ...] = (
    NotebookSpec(
        name="a1_min_loss_curves",
        title="Study A, Figure 1: min loss against wall time and against network evaluations",
        version=TABLES_VERSION,
        memory_estimate=peak_memory,
        description="Backprop, CoSyNE, DE, EA and their IDCT variants on the six autoencoder cases: "
                    "running-min loss against wall time (the paper's view) and against network evaluations.",
        params=(_cases_param(ALL_CASES), _algorithms_param(), *_study_a_scale_params(), FAITHFUL,
                Param("dct", "str", {"default": "global"}, paper="global",
                      help="IDCT genotype of the *_idct algorithms: 'global' (the paper's: first k DCT "
                           "coefficients of the whole weight vector) or 'per_layer' (the paper's future "
                           "work)",
                      choices=("global", "per_layer"))),
    ),
    NotebookSpec(
        name="a2_final_losses",
        title="Study A, Figure 2: final-loss distributions, and whether the original code's quirks matter",
        version=TABLES_VERSION,
        memory_estimate=peak_memory,
        description="Distribution of the final running-min loss per algorithm and case, and the same with "
                    "the original code's quirks (faithful=True) against the corrected algorithms.",
        params=(_cases_param(ALL_CASES), _algorithms_param(), *_study_a_scale_params(),
                Param("quirk_cases", "str_list", {"smoke": ["I"], "default": ALL_CASES, "paper": ALL_CASES},
                      paper="not studied",
                      help="cases on which faithful and corrected algorithms are compared",
                      choices=tuple(CASES)),
                Param("ablation_cases", "str_list", {"smoke": ["I"], "default": ["I", "II"]},
                      paper="not studied",
                      help="cases on which each quirk of the ablation algorithms is switched on alone",
                      choices=tuple(CASES)),
                Param("ablation_algorithms", "str_list", {"default": ["de", "ea"]}, paper="not studied",
                      help="algorithms whose quirks are switched on one at a time, on the corrected code",
                      choices=tuple(a for a in ALGORITHMS if a != "backprop"))),
    ),
    NotebookSpec(
        name="a3_claims",
        claims_page=True,
        title="Study A, Table: the paper's claims, tested",
        # Three above the figures': the claims table's own changes (every bump changes the results key;
        # the last: margins on each case's scale, two-sided h = 10, the floor label, claims A.8-A.11).
        version=TABLES_VERSION + 3,
        memory_estimate=peak_memory,
        description="Each claim of the Study A paper under the original code's quirks and corrected: a "
                    "Hodges–Lehmann shift with its interval, a rank test Holm-corrected within the claim "
                    "and mode, and a verdict.",
        params=(_cases_param(ALL_CASES), _algorithms_param(), *_study_a_scale_params(),
                Param("modes", "str_list", {"default": ["faithful", "corrected"]}, paper=["faithful"],
                      help="faithful: the original code's quirks (originals.md §3.3); corrected: the "
                           "algorithms as described",
                      choices=("faithful", "corrected"))),
    ),
)

SPECS_BY_NAME: dict[str, NotebookSpec] = {spec.name: spec for spec in SPECS}
