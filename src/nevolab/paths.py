"""Where NevoLab keeps its files, and the one way it writes them (atomically)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def repo_root() -> Path:
    """The project checkout (the package is installed editable from ``src/``)."""
    return Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """``data/`` in the checkout: shipped corpora, downloads and cached results."""
    return repo_root() / "data"


def results_dir() -> Path:
    """``data/results`` in the checkout, or ``$NEVOLAB_RESULTS_DIR`` (the tests use a temp dir)."""
    override = os.environ.get("NEVOLAB_RESULTS_DIR")
    return Path(override) if override else data_dir() / "results"


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one, never a part:
    a temporary file in the same folder, flushed to disk, then renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if absent) for the ``with`` block.

    Another process asking for the same lock waits until this one leaves the block or dies: the
    kernel releases a dead process's ``flock``, so a killed run never leaves the lock held.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
