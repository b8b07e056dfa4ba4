"""Notebook parameters: specs, profiles, validation.

Every figure notebook has a :class:`NotebookSpec`: its parameters with a type, a value per profile
(``smoke``: seconds, for tests; ``default``: the published book on a 2-core CPU; ``paper``: the
paper's own scale), the value the paper used, and a validity check. :func:`resolve` turns a profile
plus explicit overrides into a frozen :class:`Config`, raising :class:`ConfigError` with one line
that names the parameter and what would be valid, before anything is computed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

PROFILES = ("smoke", "default", "paper")


class ConfigError(ValueError):
    """A bad parameter: the message names it and says what would be valid."""


@dataclasses.dataclass(frozen=True)
class Param:
    """One notebook parameter.

    ``kind`` is one of "int", "float", "str", "bool", "str_list" (a list of names); ``choices``
    restricts str and str_list values; ``minimum``/``maximum`` bound numbers; ``check(value,
    values)`` returns an error message or None, and may look at the other resolved values.
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
    numbers this notebook computes, so cached results are not reused.
    """

    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    version: int = 1
    check: Callable[[Mapping[str, Any]], str | None] | None = None

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise ConfigError(
            f"unknown parameter {name!r} for notebook {self.name!r}; valid: "
            f"{', '.join(p.name for p in self.params)}"
        )


@dataclasses.dataclass(frozen=True)
class Config:
    """A resolved, validated, hashable notebook configuration."""

    notebook: str
    profile: str
    values: Mapping[str, Any]
    overrides: tuple[str, ...]
    version: int

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
        """A short stable hash of everything that determines the results (not the profile name)."""
        payload = json.dumps({**self.to_dict(), **extra}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def table(self):
        """A table of parameter, value used, value in the paper (shown on every executed page)."""
        import pandas as pd

        from nevolab.figures import get_spec

        spec = get_spec(self.notebook)
        rows = []
        for param in spec.params:
            value = self.values[param.name]
            rows.append({
                "parameter": param.name,
                "value used": _show(value) + (" (set)" if param.name in self.overrides else ""),
                "value in the paper": _show(param.paper),
                "meaning": param.help,
            })
        frame = pd.DataFrame(rows).set_index("parameter")
        frame.attrs["profile"] = self.profile
        return frame


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
    return Config(spec.name, profile, values, tuple(sorted(explicit)), spec.version)
