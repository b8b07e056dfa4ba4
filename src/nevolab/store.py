"""The results store: tidy tables cached by config hash, with provenance, written atomically.

``data/results/<notebook>/<config-hash>.csv`` holds the table and ``<config-hash>.json`` its
provenance: the full config, seeds, git commit, package versions, device, wall time and date, plus
the table's SHA-256 and columns. The JSON is written last, so a result without a valid JSON record
never counts as present. On load everything is checked (record parses, schema, config hash, table
checksum, columns); anything wrong is reported and recomputed, never silently used.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import platform
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from nevolab.config import Config

SCHEMA_VERSION = 1
PACKAGES = ("nevolab", "jax", "jaxlib", "evosax", "flax", "optax", "gymnax", "numpy", "scipy", "pandas")


def repo_root() -> Path:
    """The project checkout (the package is installed editable from ``src/``)."""
    return Path(__file__).resolve().parents[2]


def results_dir() -> Path:
    """``data/results`` in the checkout, or ``$NEVOLAB_RESULTS_DIR`` (the tests use a temp dir)."""
    override = os.environ.get("NEVOLAB_RESULTS_DIR")
    return Path(override) if override else repo_root() / "data" / "results"


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root(), capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo_root(),
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _cpuinfo(field: str) -> str:
    """The first ``field`` line of /proc/cpuinfo (empty where there is none, e.g. off Linux)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(field)), "")


def cpu_model() -> str:
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def vector_isa() -> str:
    """The widest x86 vector extension the CPU has (``avx512f``, ``avx2``, ...), or ``""``.

    XLA:CPU and its kernel libraries choose code by instruction set, so floating-point results
    can differ in the last digits between CPUs with different vector units.
    """
    flags = _cpuinfo("flags").split()
    return next((isa for isa in ("avx512f", "avx2", "avx", "sse4_2") if isa in flags), "")


def machine() -> dict[str, Any]:
    """What the numbers were computed on."""
    import jax

    devices = jax.devices()
    return {
        "cpu": cpu_model(),
        "vector_isa": vector_isa(),
        "cpu_count": os.cpu_count(),
        "platform": devices[0].platform,
        "device_kind": devices[0].device_kind,
        "device_count": len(devices),
        "hostname_hash": hashlib.sha256(platform.node().encode()).hexdigest()[:8],
    }


def _atomic_write(path: Path, data: bytes) -> None:
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


def table_to_bytes(table: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, float_format="%.9g")
    return buffer.getvalue().encode()


class StaleResult(Exception):
    """A cached result that cannot be used; the message says why."""


def paths_for(config: Config) -> tuple[Path, Path]:
    directory = results_dir() / config.notebook
    key = config.hash()
    return directory / f"{key}.csv", directory / f"{key}.json"


def load(config: Config, columns: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The cached table and provenance for ``config``; raises :class:`StaleResult` or FileNotFoundError."""
    table_path, record_path = paths_for(config)
    if not record_path.exists():
        raise FileNotFoundError(record_path)
    try:
        record = json.loads(record_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise StaleResult(f"{record_path.name}: unreadable provenance record ({error})") from None
    if record.get("schema_version") != SCHEMA_VERSION:
        raise StaleResult(f"{record_path.name}: schema {record.get('schema_version')} != {SCHEMA_VERSION}")
    if record.get("config_hash") != config.hash():
        raise StaleResult(f"{record_path.name}: config hash does not match")
    try:
        data = table_path.read_bytes()
    except OSError:
        raise StaleResult(f"{table_path.name}: table missing") from None
    if hashlib.sha256(data).hexdigest() != record.get("table_sha256"):
        raise StaleResult(f"{table_path.name}: checksum mismatch (corrupted or edited)")
    table = pd.read_csv(io.BytesIO(data))
    expected = columns or record.get("columns")
    if list(table.columns) != list(expected):
        raise StaleResult(f"{table_path.name}: columns {list(table.columns)} != expected {list(expected)}")
    return table, record


def save(config: Config, table: pd.DataFrame, wall_time_s: float, seeds: Any = None) -> dict[str, Any]:
    """Write the table, then its provenance record, each atomically."""
    table_path, record_path = paths_for(config)
    data = table_to_bytes(table)
    record = {
        "schema_version": SCHEMA_VERSION,
        "notebook": config.notebook,
        "config_hash": config.hash(),
        "profile": config.profile,
        "config": config.to_dict(),
        "seeds": seeds,
        "git_commit": git_commit(),
        "packages": package_versions(),
        "machine": machine(),
        "wall_time_s": round(wall_time_s, 3),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "rows": len(table),
        "columns": list(table.columns),
        "table_sha256": hashlib.sha256(data).hexdigest(),
    }
    _atomic_write(table_path, data)
    _atomic_write(record_path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())
    return record


def cached(config: Config, compute: Callable[[], pd.DataFrame], fresh: bool = False,
           seeds: Any = None, columns: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Load the results for ``config`` if present and valid, else compute and save them."""
    if not fresh:
        try:
            return load(config, columns)
        except FileNotFoundError:
            pass
        except StaleResult as reason:
            warnings.warn(f"recomputing {config.notebook}: {reason}", stacklevel=2)
    start = time.perf_counter()
    table = compute()
    record = save(config, table, time.perf_counter() - start, seeds)
    # Reload so a fresh run and a cached run return exactly the same (CSV-rounded) numbers.
    return load(config, columns)[0], record


def describe(provenance: Mapping[str, Any]) -> str:
    """One line for a page: where, when, at which commit and in how long a result was computed."""
    machine = provenance["machine"]
    return (f"computed on {machine['cpu']} ({machine['cpu_count']} cores, {machine['platform']}), "
            f"{provenance['date']}, commit {provenance['git_commit'][:12]}, "
            f"{provenance['wall_time_s']:.0f} s")
