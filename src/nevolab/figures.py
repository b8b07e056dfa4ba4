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


def _study_a_params(default_algorithms: list[str]) -> tuple[Param, ...]:
    return (
        Param("cases", "str_list", {"smoke": ["I", "II"], "default": ["I", "II"], "paper": ["I", "II"]},
              paper=["I", "II", "III", "IV", "V", "VI"], help="experimental cases (I, II: feed-forward d=4, 8)",
              choices=tuple(study_a.CASES)),
        Param("algorithms", "str_list", {"default": default_algorithms}, paper=list(study_a.ALGORITHMS),
              help="training algorithms, each with the authors' best hyperparameters",
              choices=study_a.ALGORITHMS),
        Param("repeats", "int", {"smoke": 3, "default": 30, "paper": 100}, paper="100 (FF), 500 (LSTM)",
              help="independent runs per algorithm (different initial networks and seeds)", minimum=1),
        Param("generations", "int", {"smoke": 200, "default": 2000, "paper": 2000}, paper=2000,
              help="generations (= batches of 40; one batch per generation or step)", minimum=1,
              check=_max_generations),
        Param("seed", "int", {"default": 0}, paper="not applicable (torch default seeding)",
              help="master PRNG seed of the repeats (the data seed is always 1337, as the original)"),
        Param("faithful", "bool", {"default": False}, paper=True,
              help="reproduce the original code's quirks (originals.md §3.3) instead of the corrected behaviour"),
    )


NOTEBOOKS: dict[str, NotebookSpec] = {}


def register(spec: NotebookSpec) -> NotebookSpec:
    NOTEBOOKS[spec.name] = spec
    return spec


register(NotebookSpec(
    name="a1_min_loss_curves",
    title="Study A, Figure 1: min loss against wall time and against network evaluations",
    description="Backprop vs CoSyNE on the feed-forward autoencoders (Cases I, II): running-min loss "
                "against wall-clock time (the paper's view) and against network evaluations.",
    params=_study_a_params(["backprop", "cosyne", "cosyne_idct"]),
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
