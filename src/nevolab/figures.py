"""The registry of figure notebooks and their parameter specs (one place per fact).

``notebooks/<name>.py`` reads its spec from here; ``nevolab list`` prints them; ``nevolab run``
validates against them before executing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nevolab.config import ConfigError, NotebookSpec, Param, resolve
from nevolab.studies import autoencoders as study_a


def _max_generations(value: int, values: Mapping[str, Any]) -> str | None:
    if value > 2000:
        return "the original data has 2000 batches (one per generation); use at most 2000"
    return None


ALL_CASES = list(study_a.CASES)
ALL_ALGORITHMS = list(study_a.ALGORITHMS)


def _cases_param(default: list[str]) -> Param:
    return Param("cases", "str_list", {"smoke": ["I"], "default": default, "paper": ALL_CASES},
                 paper=ALL_CASES,
                 help="cases: I, II feed-forward d=4, 8; III s3h3, IV s4h4, V s3h10, VI s4h10 LSTM",
                 choices=tuple(study_a.CASES))


def _algorithms_param() -> Param:
    return Param("algorithms", "str_list",
                 {"smoke": ["backprop", "cosyne"], "default": ALL_ALGORITHMS, "paper": ALL_ALGORITHMS},
                 paper=ALL_ALGORITHMS, help="algorithms, each with the authors' best hyperparameters",
                 choices=study_a.ALGORITHMS)


def _study_a_scale_params() -> tuple[Param, ...]:
    return (
        Param("repeats", "int", {"smoke": 3, "default": 30, "paper": 100}, paper=100,
              help="independent runs per algorithm on the feed-forward cases", minimum=1),
        Param("lstm_repeats", "int", {"smoke": 3, "default": 30, "paper": 500}, paper=500,
              help="independent runs per algorithm on the LSTM cases", minimum=1),
        Param("generations", "int", {"smoke": 100, "default": 2000, "paper": 2000}, paper=2000,
              help="generations (= batches of 40; one batch per generation or step)", minimum=1,
              check=_max_generations),
        Param("seed", "int", {"default": 0}, paper="not applicable (torch default seeding)",
              help="master PRNG seed of the repeats (the data seed is always 1337, as the original)"),
    )


FAITHFUL = Param("faithful", "bool", {"default": False}, paper=True,
                 help="reproduce the original code's quirks (originals.md §3.3), not the corrected behaviour")

NOTEBOOKS: dict[str, NotebookSpec] = {}


def register(spec: NotebookSpec) -> NotebookSpec:
    NOTEBOOKS[spec.name] = spec
    return spec


register(NotebookSpec(
    name="a1_min_loss_curves",
    title="Study A, Figure 1: min loss against wall time and against network evaluations",
    version=study_a.TABLES_VERSION,
    description="Backprop, CoSyNE, DE, EA and their IDCT variants on the six autoencoder cases: "
                "running-min loss against wall time (the paper's view) and against network evaluations.",
    params=(_cases_param(ALL_CASES), _algorithms_param(), *_study_a_scale_params(), FAITHFUL,
            Param("dct", "str", {"default": "global"}, paper="global",
                  help="IDCT genotype of the *_idct algorithms: 'global' (the paper's: first k DCT "
                       "coefficients of the whole weight vector) or 'per_layer' (the paper's future work)",
                  choices=("global", "per_layer"))),
))

register(NotebookSpec(
    name="a2_final_losses",
    title="Study A, Figure 2: final-loss distributions, and whether the original code's quirks matter",
    version=study_a.TABLES_VERSION,
    description="Distribution of the final running-min loss per algorithm and case, and the same with "
                "the original code's quirks (faithful=True) against the corrected algorithms.",
    params=(_cases_param(ALL_CASES), _algorithms_param(), *_study_a_scale_params(),
            Param("quirk_cases", "str_list", {"smoke": ["I"], "default": ["I", "II"],
                                              "paper": ALL_CASES},
                  paper="not studied", help="cases on which faithful and corrected algorithms are compared",
                  choices=tuple(study_a.CASES))),
))

register(NotebookSpec(
    name="a3_claims",
    title="Study A, Table: the paper's claims, tested",
    version=study_a.TABLES_VERSION,
    description="Each claim of the Study A paper with its measured effect, a 95% bootstrap interval, a "
                "rank test and a computed verdict.",
    params=(*_study_a_scale_params(), FAITHFUL),
))


def get_spec(name: str) -> NotebookSpec:
    """The spec of a notebook, by name (the file stem under ``notebooks/``)."""
    name = name.removesuffix(".py").removesuffix(".ipynb").rsplit("/", 1)[-1]
    if name not in NOTEBOOKS:
        raise ConfigError(f"unknown notebook {name!r}; valid: {', '.join(sorted(NOTEBOOKS))}")
    return NOTEBOOKS[name]


def configure(name: str, profile: str = "default", **overrides: Any):
    """Resolve and validate a notebook's parameters (what its validation cell calls)."""
    return resolve(get_spec(name), profile, **overrides)


def configure_from(name: str, namespace: Mapping[str, Any]):
    """:func:`configure` with the notebook's parameter values read from ``namespace`` (the
    notebook's ``globals()`` after its parameters cell): ``profile`` and every parameter of the spec."""
    spec = get_spec(name)
    return configure(name, profile=namespace.get("profile", "default"),
                     **{param.name: namespace.get(param.name) for param in spec.params})


# Specs of the other studies register themselves on import (after `register` exists).
from nevolab.specs import study_b, study_c  # noqa: E402, F401
