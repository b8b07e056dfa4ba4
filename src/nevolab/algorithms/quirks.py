"""Switches for the original Study A code's quirks: each algorithm names its own in ``QUIRKS``, and
``faithful=True`` is shorthand for all of them."""

from __future__ import annotations

from collections.abc import Iterable


def resolve_quirks(known: Iterable[str], faithful: bool, quirks: Iterable[str]) -> frozenset[str]:
    """The quirks switched on: all of ``known`` if ``faithful``, else ``quirks`` (checked against it)."""
    known, quirks = tuple(known), tuple(quirks)
    if faithful and quirks:
        raise ValueError(f"pass either faithful=True (all quirks) or quirks={quirks}, not both")
    unknown = [quirk for quirk in quirks if quirk not in known]
    if unknown:
        raise ValueError(f"unknown quirk {unknown[0]!r}; valid: {', '.join(known)}")
    return frozenset(known if faithful else quirks)
