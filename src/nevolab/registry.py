"""The registry of figure notebooks: it collects each study's parameter specs, and nothing imports
back into it.

``notebooks/<name>.py`` resolves its parameters here; ``nevolab list`` prints them; ``nevolab run``
validates against them before executing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nevolab.config import Config, ConfigError, NotebookSpec, resolve
from nevolab.studies.a.spec import SPECS as STUDY_A_SPECS
from nevolab.studies.b.spec import SPECS as STUDY_B_SPECS
from nevolab.studies.c.spec import SPECS as STUDY_C_SPECS
from nevolab.studies.scorecard import SPECS as SCORECARD_SPECS

NOTEBOOKS: dict[str, NotebookSpec] = {spec.name: spec for spec in (*STUDY_A_SPECS, *STUDY_B_SPECS,
                                                                    *STUDY_C_SPECS, *SCORECARD_SPECS)}


def get_spec(name: str) -> NotebookSpec:
    """The spec of a notebook, by name (the file stem under ``notebooks/``)."""
    name = name.removesuffix(".py").removesuffix(".ipynb").rsplit("/", 1)[-1]
    if name not in NOTEBOOKS:
        raise ConfigError(f"unknown notebook {name!r}; valid: {', '.join(sorted(NOTEBOOKS))}")
    return NOTEBOOKS[name]


def configure(name: str, profile: str = "default", **overrides: Any) -> Config:
    """Resolve and validate a notebook's parameters (what its validation cell calls)."""
    return resolve(get_spec(name), profile, **overrides)


def configure_from(name: str, namespace: Mapping[str, Any]) -> Config:
    """:func:`configure` with the notebook's parameter values read from ``namespace`` (the
    notebook's ``globals()`` after its parameters cell): ``profile`` and every parameter of the spec."""
    spec = get_spec(name)
    return configure(name, profile=namespace.get("profile", "default"),
                     **{param.name: namespace.get(param.name) for param in spec.params})


def page_key(config: Config):
    """The key under which a notebook stores its own table: its config, except for the scorecard,
    which is keyed by the claims tables it reads (its parameters are presentation only)."""
    if config.notebook == "scorecard":
        from nevolab.studies import scorecard

        return scorecard.scorecard_key(scorecard.run_configs(config))
    return config
