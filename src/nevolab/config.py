"""Notebook parameters: specs, profiles, validation.

Every figure notebook has a :class:`NotebookSpec`: its parameters with a type, a value per profile
(``smoke``: seconds, for tests; ``default``: the published book on a 2-core CPU; ``paper``: the
paper's own scale), the value the paper used, and a validity check. :func:`resolve` turns a profile
plus explicit overrides into a frozen :class:`Config`, raising :class:`ConfigError` with one line
that names the parameter and what would be valid, before anything is computed.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

PROFILES = ("smoke", "default", "paper")


class ConfigError(ValueError):
    """A bad parameter: the message names it and says what would be valid."""


@dataclasses.dataclass(frozen=True)
class Param:
    """One notebook parameter.

    ``kind`` is one of "int", "float", "str", "bool", "str_list" (a list of names); ``choices``
    restricts str and str_list values; ``minimum``/``maximum`` bound numbers; ``check(value,
    values)`` returns an error message or None, and may look at the other resolved values.
    ``presentation`` marks a parameter that changes only how results are shown, never a number
    computed (the key-coverage test lets such a parameter leave the run keys unchanged).
    """

    name: str
    kind: str
    presets: Mapping[str, Any]
    paper: Any
    help: str
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    check: Callable[[Any, Mapping[str, Any]], str | None] | None = None
    presentation: bool = False

    def coerce(self, value: Any) -> Any:
        """Convert a value (possibly a command-line string) to this parameter's type."""
        kind = self.kind
        try:
            if kind == "bool":
                if isinstance(value, str):
                    lowered = value.strip().lower()
                    if lowered in ("true", "1", "yes"):
                        return True
                    if lowered in ("false", "0", "no"):
                        return False
                    raise ValueError
                if isinstance(value, bool):
                    return value
                raise ValueError
            if kind == "int":
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                return int(value)
            if kind == "float":
                if isinstance(value, bool):
                    raise ValueError
                return float(value)
            if kind == "str":
                if not isinstance(value, str):
                    raise ValueError
                return value
            if kind == "str_list":
                if isinstance(value, str):
                    text = value.strip()
                    if text.startswith("["):
                        value = json.loads(text)
                    else:
                        value = [part.strip() for part in text.split(",") if part.strip()]
                if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                    raise ValueError
                return list(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"parameter {self.name!r}: expected {_KIND_WORDS[kind]}, got {value!r}"
            ) from None
        raise AssertionError(f"unknown parameter kind {kind}")

    def validate(self, value: Any, values: Mapping[str, Any]) -> None:
        """Raise :class:`ConfigError` (one line) unless ``value`` is valid here: a known choice, no
        repeated list entry, a finite number within the bounds, and the parameter's own check."""
        if self.kind == "str_list":
            repeated = sorted({item for item in value if value.count(item) > 1})
            if repeated:
                raise ConfigError(f"parameter {self.name!r}: {repeated[0]!r} is listed more than once; "
                                  "give each entry once")
        if self.kind == "float" and not math.isfinite(value):
            raise ConfigError(f"parameter {self.name!r}: must be a finite number; got {value}")
        if self.choices is not None:
            items = value if self.kind == "str_list" else [value]
            bad = [item for item in items if item not in self.choices]
            if bad:
                raise ConfigError(
                    f"parameter {self.name!r}: unknown value {bad[0]!r}; valid: {', '.join(self.choices)}"
                )
            if self.kind == "str_list" and not items:
                raise ConfigError(f"parameter {self.name!r}: needs at least one of {', '.join(self.choices)}")
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"parameter {self.name!r}: must be >= {self.minimum:g}; got {value}")
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"parameter {self.name!r}: must be <= {self.maximum:g}; got {value}")
        if self.check is not None:
            message = self.check(value, values)
            if message:
                raise ConfigError(f"parameter {self.name!r}: {message}")


_KIND_WORDS = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "str_list": "a comma-separated list of names",
}


@dataclasses.dataclass(frozen=True)
class NotebookSpec:
    """A figure notebook: its parameters and a one-line description.

    ``version`` is part of every result hash: bump it when a change to the library changes the
    numbers this notebook computes, so cached results are not reused. ``in_book=False`` keeps a page
    out of the published (default-profile) book and ``run-all`` while its default results are not
    committed; ``nevolab run`` and the smoke tests still run it. ``claims_page`` marks a page that
    stores a claims table (the scorecard reads every such page). ``memory_estimate(values)`` gives
    the peak memory of the page's largest unit of compute, in bytes, with the parameter that drives
    it: a config that cannot fit :func:`memory_budget_bytes` is refused before anything runs.
    """

    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    version: int = 1
    check: Callable[[Mapping[str, Any]], str | None] | None = None
    in_book: bool = True
    claims_page: bool = False
    memory_estimate: Callable[[Mapping[str, Any]], tuple[float, str]] | None = None

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise ConfigError(
            f"unknown parameter {name!r} for notebook {self.name!r}; valid: "
            f"{', '.join(p.name for p in self.params)}"
        )


def machine_memory_bytes() -> float:
    """The physical memory of this machine."""
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def memory_budget_bytes() -> float:
    """The memory one population evaluation may use: ``NEVOLAB_MEMORY_GB`` if set, else a quarter
    of the machine's memory (room for the process, the notebook kernel and a second run)."""
    override = os.environ.get("NEVOLAB_MEMORY_GB")
    if override:
        try:
            gigabytes = float(override)
        except ValueError:
            gigabytes = math.nan
        if not math.isfinite(gigabytes) or gigabytes <= 0:
            raise ConfigError(f"NEVOLAB_MEMORY_GB: must be a positive number of GB; got {override!r}")
        return gigabytes * 2**30
    return machine_memory_bytes() / 4


def check_memory(spec: NotebookSpec, values: Mapping[str, Any]) -> None:
    """Refuse, in one line, a config whose estimated peak memory exceeds the budget (and a bad
    ``NEVOLAB_MEMORY_GB`` for every spec, so a typo is caught before the page that would need it)."""
    budget = memory_budget_bytes()
    if spec.memory_estimate is None:
        return
    needed, parameter = spec.memory_estimate(values)
    if needed > budget:
        raise ConfigError(
            f"parameter {parameter!r}: this run needs about {needed / 2**30:.3g} GB at its peak, over the "
            f"memory budget of {budget / 2**30:.3g} GB (a quarter of this machine's memory, or "
            f"NEVOLAB_MEMORY_GB); lower {parameter}")


def stable_hash(payload: Mapping[str, Any]) -> str:
    """A short hash of a JSON-able mapping that does not depend on key order."""
    text = json.dumps(dict(payload), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class Config:
    """A resolved, validated, hashable notebook configuration."""

    notebook: str
    profile: str
    values: Mapping[str, Any]
    overrides: tuple[str, ...]
    version: int
    spec: NotebookSpec | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def directory(self) -> str:
        """The results-store folder of this notebook's own tables."""
        return self.notebook

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "values")
        if name in values:
            return values[name]
        raise AttributeError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"notebook": self.notebook, "version": self.version, **dict(self.values)}

    def hash(self, **extra: Any) -> str:
        """A short stable hash of everything that determines the results.

        The profile name is left out on purpose: a profile only presets values, and every value is
        hashed, so two profiles that resolve to the same values share their results.
        """
        return stable_hash({**self.to_dict(), **extra})

    def table(self):
        """A table of parameter, value used, value in the paper (shown on every executed page, every
        row and cell in full)."""
        if self.spec is None:
            raise ValueError(f"config of {self.notebook!r} was built without its spec; use config.resolve")
        rows = []
        for param in self.spec.params:
            value = self.values[param.name]
            rows.append({
                "parameter": param.name,
                "value used": _show(value) + (" (set)" if param.name in self.overrides else ""),
                "value in the paper": _show(param.paper),
                "meaning": param.help,
            })
        frame = _parameter_table_class()(rows).set_index("parameter")
        frame.attrs["profile"] = self.profile
        return frame


@functools.cache
def _parameter_table_class():
    """:class:`pandas.DataFrame` with an HTML view that shows every row and every cell in full
    (a notebook's own view cuts cells at 50 characters and long tables at 60 rows, with "…").
    Built on first use, so importing this module does not import pandas."""
    import pandas as pd

    class ParameterTable(pd.DataFrame):
        """The parameter table of a page: a DataFrame; in a notebook, the whole table."""

        @property
        def _constructor(self):
            return ParameterTable

        def _repr_html_(self) -> str:
            frame = self.reset_index() if self.index.name else self
            return ('<div class="nevolab-table nevolab-parameters">'
                    + frame.to_html(index=frame is self, max_rows=None, max_cols=None, border=0)
                    + "</div>")

    return ParameterTable


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def resolve(spec: NotebookSpec, profile: str = "default", **overrides: Any) -> Config:
    """Profile preset, then explicit overrides (``None`` means "not set"), then validation."""
    if profile not in PROFILES:
        raise ConfigError(f"parameter 'profile': unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    explicit = {name: value for name, value in overrides.items() if value is not None}
    for name in explicit:
        spec.param(name)  # raises on unknown names
    values: dict[str, Any] = {}
    for param in spec.params:
        raw = explicit.get(param.name, param.presets.get(profile, param.presets.get("default")))
        values[param.name] = param.coerce(raw)
    for param in spec.params:
        param.validate(values[param.name], values)
    if spec.check is not None:
        message = spec.check(values)
        if message:
            raise ConfigError(message)
    check_memory(spec, values)
    return Config(spec.name, profile, values, tuple(sorted(explicit)), spec.version, spec)


def resolve_from(spec: NotebookSpec, config: Config) -> Config:
    """``spec`` resolved at ``config``'s profile with the values of the parameters the two share: the
    config of a page that reads the same runs (e.g. a study's claims page, from one of its figures)."""
    names = {param.name for param in spec.params}
    return resolve(spec, config.profile, **{name: value for name, value in config.values.items()
                                            if name in names})


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Base of a study's frozen run config: everything one cached unit of runs depends on.

    A subclass is a frozen dataclass whose fields are the run's parameters; ``KIND`` names its
    results-store folder and ``VERSION`` (or a ``version`` property) moves when a library change
    alters its numbers. Every field is hashed together with the kind and version, so a parameter
    cannot be left out of the cache key. The run config is passed whole to the study's
    ``make_train(run)``; there are no hand-built values dicts.
    """

    KIND: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    profile: ClassVar[str] = "-"

    @property
    def version(self) -> int:
        return self.VERSION

    @property
    def directory(self) -> str:
        return self.KIND

    def to_dict(self) -> dict[str, Any]:
        # "notebook" names the store folder: the key scheme predates run configs, and keeping it
        # keeps every committed result's file name.
        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        return {"notebook": self.KIND, "version": self.version, **fields}

    def hash(self, **extra: Any) -> str:
        """The cache key: every field, the kind and the version."""
        return stable_hash({**self.to_dict(), **extra})
