"""Checkpoints of an iterative-pruning run: everything after a completed round, written atomically.

``pruning_state.npz`` is the commit point (history of every completed round, the carry for the next
one, and a JSON ``meta`` entry); ``pruning_progress.json`` is a readable mirror written after it.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from nevolab.paths import atomic_write

CHECKPOINT_FILE = "pruning_state.npz"
PROGRESS_FILE = "pruning_progress.json"


def fingerprint(identity: dict[str, Any]) -> str:
    """A run's identity (everything but the number of rounds) as a SHA-256 hex digest."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def save_checkpoint(directory: Path, meta: dict[str, Any], history: dict[str, list[np.ndarray]],
                    carry: dict[str, Any]) -> None:
    """Write ``history`` (one array per completed round and name), ``carry`` and ``meta``."""
    buffer = io.BytesIO()
    arrays = {f"history_{k}": np.stack(v) for k, v in history.items() if v}
    arrays.update({f"carry_{k}": np.asarray(v) for k, v in carry.items()})
    arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True))
    np.savez(buffer, **arrays)
    atomic_write(directory / CHECKPOINT_FILE, buffer.getvalue())
    atomic_write(directory / PROGRESS_FILE, json.dumps(meta, indent=2, sort_keys=True).encode())


def load_checkpoint(directory: Path) -> tuple[dict[str, Any], dict[str, list[np.ndarray]],
                                               dict[str, np.ndarray]] | None:
    """``(meta, history, carry)`` from ``directory``, or None when it holds no checkpoint."""
    path = directory / CHECKPOINT_FILE
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        history = {k[len("history_"):]: list(data[k]) for k in data.files if k.startswith("history_")}
        carry = {k[len("carry_"):]: data[k] for k in data.files if k.startswith("carry_")}
    return meta, history, carry
