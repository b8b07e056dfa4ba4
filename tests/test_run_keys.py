"""Every parameter of every notebook reaches the cache: changing any one of them changes the set of
run keys its notebook computes, unless its spec declares it presentation-only.

A value may be an alias of the current one (Study B's ``strategy="paper"`` picks Sep-CMA-ES on
Pendulum and digits, the default's own strategy), so a parameter passes when one of its valid
alternative values changes the keys; one that changes nothing whatever its value is left out of them.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from nevolab.config import ConfigError, Param
from nevolab.registry import NOTEBOOKS, configure

STUDY_OF = {"a": "nevolab.studies.a.runs", "b": "nevolab.studies.b.pages", "c": "nevolab.studies.c.runs"}


def _run_configs(config) -> list:
    if config.notebook == "scorecard":  # its "runs" are the claims tables it reads
        from nevolab.studies import scorecard

        return list(scorecard.run_configs(config).values())
    return importlib.import_module(STUDY_OF[config.notebook[0]]).run_configs(config)


def _run_keys(config) -> frozenset[str]:
    return frozenset(run.hash() for run in _run_configs(config))


def _alternatives(param: Param, value: Any) -> list[Any]:
    """Other values of ``param`` to try, most ordinary first."""
    if param.kind == "bool":
        return [not value]
    if param.kind == "int":
        return [value + 1, value - 1, value * 2, value + 2048]
    if param.kind == "float":
        return [value * 0.5, value * 1.5, value + 0.1, 0.3]
    if param.kind == "str":
        return [choice for choice in param.choices or () if choice != value]
    if param.kind == "str_list":
        choices = list(param.choices or ("Pendulum-v1", "CartPole-v1", "Acrobot-v1"))
        shorter = [value[:-1]] if len(value) > 1 else []
        added = [[*value, c] for c in choices if c not in value]
        swapped = [[c] for c in choices if [c] != value]
        return shorter + added + swapped
    raise AssertionError(param.kind)


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_changing_any_parameter_changes_the_run_keys(name):
    base = configure(name, "default")
    keys = _run_keys(base)
    assert keys, f"{name} computes no runs"
    for param in NOTEBOOKS[name].params:
        if param.presentation:
            continue
        tried = []
        for value in _alternatives(param, base[param.name]):
            try:
                changed = configure(name, "default", **{param.name: value})
            except ConfigError:
                continue
            tried.append(value)
            if _run_keys(changed) != keys:
                break
        else:
            pytest.fail(f"{name}: {param.name} leaves every run key unchanged (tried {tried})" if tried
                        else f"{name}: found no valid alternative value for {param.name!r} to test")


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
@pytest.mark.parametrize("profile", ["smoke", "default"])
def test_run_keys_name_the_committed_tables(name, profile):
    """The committed smoke and default runs are found under their keys: no result was re-keyed."""
    from nevolab.paths import data_dir

    assert NOTEBOOKS[name].in_book, f"{name} is not in the book: commit its default results and add it"
    for run in _run_configs(configure(name, profile)):
        stem = data_dir() / "results" / run.directory / run.hash()
        assert stem.with_suffix(".csv").exists() and stem.with_suffix(".json").exists(), (name, profile, run)
