"""The results store: tidy tables cached by key, with provenance, written atomically, computed once.

A key is a notebook's :class:`~nevolab.config.Config` or a study's
:class:`~nevolab.config.RunConfig`: ``data/results/<key.directory>/<key.hash()>.csv`` holds the
table and ``<hash>.json`` its provenance: the full key, seeds, git commit, package versions, device,
wall time and date, plus the table's SHA-256 and columns. The JSON is written last, so a result
without a valid JSON record never counts as present, and a kill at any moment leaves no partial
table. On load everything is checked (record parses, schema, key hash, table checksum, columns);
anything wrong is reported and recomputed, never silently used. Computing holds a per-key file lock,
so two processes asking for the same key compute it once: the second waits, then loads.

A run can be undone: where ``$NEVOLAB_STORE_JOURNAL`` names a file (``nevolab run`` sets it for the
notebook's kernel), :func:`save` appends one line per new table to it before writing, and
:func:`roll_back` removes what a journal lists in chosen folders, so a page whose later cell fails
leaves none of its own tables behind.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import io
import json
import os
import platform
import subprocess
import time
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from nevolab import distributed
from nevolab.config import Config, NotebookSpec, resolve_from
from nevolab.paths import atomic_write, file_lock, repo_root, results_dir
from nevolab.stats import CLAIM_COLUMNS, VERDICTS

SCHEMA_VERSION = 1
JOURNAL_ENV = "NEVOLAB_STORE_JOURNAL"
PACKAGES = ("nevolab", "jax", "jaxlib", "evosax", "flax", "optax", "gymnax", "numpy", "scipy", "pandas")


class Key(Protocol):
    """What the store needs of a key (a notebook ``Config`` or a study's ``RunConfig``)."""

    profile: str

    @property
    def directory(self) -> str: ...

    def hash(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


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


def cpu_id() -> str:
    """Family, model and stepping with a hash of the feature flags (``""`` off x86 Linux).

    The model name alone ("AMD EPYC") covers several microarchitectures, and XLA:CPU compiles for
    the host's features: the same name has given last-digit differences between hosts.
    """
    flags = " ".join(sorted(_cpuinfo("flags").split()))
    parts = [_cpuinfo(field) for field in ("cpu family", "model\t", "stepping")]
    if not flags and not any(parts):
        return ""
    return "-".join(parts) + "-" + hashlib.sha256(flags.encode()).hexdigest()[:8]


def machine() -> dict[str, Any]:
    """What the numbers were computed on."""
    import jax

    devices = jax.devices()
    return {
        "cpu": cpu_model(),
        "vector_isa": vector_isa(),
        "cpu_id": cpu_id(),
        "cpu_count": os.cpu_count(),
        "platform": devices[0].platform,
        "device_kind": devices[0].device_kind,
        "device_count": len(devices),
        "hostname_hash": hashlib.sha256(platform.node().encode()).hexdigest()[:8],
    }


def table_to_bytes(table: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, float_format="%.9g")
    return buffer.getvalue().encode()


class StaleResult(Exception):
    """A cached result that cannot be used; the message says why."""


def paths_for(key: Key) -> tuple[Path, Path]:
    """The table and provenance files of ``key``."""
    directory = results_dir() / key.directory
    digest = key.hash()
    return directory / f"{digest}.csv", directory / f"{digest}.json"


def lock_path(key: Key) -> Path:
    """The lock file of ``key`` (kept beside the results, not committed)."""
    return results_dir() / ".locks" / f"{key.directory}-{key.hash()}.lock"


def checkpoint_path(key: Key, suffix: str = ".npz") -> Path:
    """Where a run of ``key`` keeps its checkpoint while it runs (a file, or a folder with
    ``suffix=""``); not committed, and removed once the run's table is stored. A process other than
    process 0 of a multi-process run keeps its own, so no two processes write the same file."""
    folder = results_dir() / ".checkpoints"
    if not distributed.is_writer():
        folder = folder / f"process-{distributed.process_index()}"
    return folder / f"{key.directory}-{key.hash()}{suffix}"


def load(config: Key, columns: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
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


SEED_FIELDS = ("seed", "seeds", "master_seed", "repeats", "data_seed")
"""The fields of a key that say which random numbers a table was computed from."""


RECORD_COLUMNS = ["key", "wall_time_s", "date", "machine", "commit"]


def compute_records(keys: Sequence[Key]) -> pd.DataFrame:
    """Where, when and in how long each stored table of ``keys`` was computed: one row per key whose
    table is stored (the others are left out)."""
    rows, seen = [], set()
    for key in keys:
        if key.hash() in seen:
            continue
        seen.add(key.hash())
        try:
            _, record = load(key)
        except (FileNotFoundError, StaleResult):
            continue
        rows.append({"key": key.hash(), "wall_time_s": record["wall_time_s"], "date": record["date"],
                     "machine": f"{record['machine']['cpu']} ({record['machine']['cpu_count']} cores)",
                     "commit": record["git_commit"][:7]})
    return pd.DataFrame(rows, columns=RECORD_COLUMNS)


def provenance_seeds(key: Key) -> dict[str, Any]:
    """The seeds of ``key`` for its provenance record, read from the key itself (a page config's
    values or a run config's fields, and a run kind's ``DATA_SEED``), so no caller restates them."""
    values = key.to_dict()
    seeds = {name: list(values[name]) if isinstance(values[name], tuple) else values[name]
             for name in SEED_FIELDS if name in values}
    data_seed = getattr(key, "DATA_SEED", None)
    if data_seed is not None and "data_seed" not in seeds:
        seeds["data_seed"] = data_seed
    return seeds


def save(config: Key, table: pd.DataFrame, wall_time_s: float) -> dict[str, Any]:
    """Write the table, then its provenance record, each atomically (journaled first, when a journal
    is set and the key had no record yet)."""
    seeds = provenance_seeds(config)
    table_path, record_path = paths_for(config)
    data = table_to_bytes(table)
    record = {
        "schema_version": SCHEMA_VERSION,
        "notebook": config.directory,
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
    record_bytes = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    _journal(config, {table_path: data, record_path: record_bytes})
    atomic_write(table_path, data)
    atomic_write(record_path, record_bytes)
    return record


def _journal(key: Key, files: Mapping[Path, bytes]) -> None:
    """Append ``key``'s files, with the checksums of the bytes about to be written, to the journal of
    ``$NEVOLAB_STORE_JOURNAL``. Written before the files, so a kill between the two writes is undone
    too. A key whose record already exists (a ``fresh`` recompute) is not journaled: its table was
    stored by an earlier run and stays."""
    journal = os.environ.get(JOURNAL_ENV)
    if not journal or any(path.exists() for path in files if path.suffix == ".json"):
        return
    entry = {"directory": key.directory, "lock": str(lock_path(key)),
             "files": {str(path): hashlib.sha256(data).hexdigest() for path, data in files.items()}}
    with open(journal, "a") as handle:  # one short line per append: appends do not interleave
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
        handle.flush()


def roll_back(journal: Path, directories: Collection[str]) -> list[Path]:
    """Remove the files ``journal`` lists for keys in ``directories`` (the record first, so a table
    never counts as present without its record), under each key's lock; a key whose record another
    process has since rewritten (its checksum differs) is kept whole. Returns the files removed."""
    try:
        lines = Path(journal).read_text().splitlines()
    except FileNotFoundError:
        return []
    removed = []
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill: its files were not written
            continue
        if entry["directory"] not in directories:
            continue
        ours = {Path(name): digest for name, digest in entry["files"].items()}
        with file_lock(Path(entry["lock"])):
            present = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in ours if path.exists()}
            if any(present[path] != ours[path] for path in present if path.suffix == ".json"):
                continue
            for path in sorted(present, key=lambda path: path.suffix != ".json"):
                if present[path] == ours[path]:
                    path.unlink()
                    removed.append(path)
    return removed


Loaded = tuple[pd.DataFrame, dict[str, Any]]  # a table and its provenance record


def _load_valid(key: Key, columns: list[str] | None) -> Loaded | None:
    """The stored result of ``key``, or None when absent or unusable (an unusable one is reported)."""
    try:
        return load(key, columns)
    except FileNotFoundError:
        return None
    except StaleResult as reason:
        warnings.warn(f"recomputing {key.directory}: {reason}", stacklevel=3)
        return None


@contextlib.contextmanager
def _locked(keys: Sequence[Key]):
    """Hold the locks of ``keys`` (in hash order, so two processes never wait on each other)."""
    with contextlib.ExitStack() as stack:
        for key in sorted(keys, key=lambda k: (k.directory, k.hash())):
            stack.enter_context(file_lock(lock_path(key)))
        yield


def cached_many(keys: Sequence[Key], compute: Callable[[], Sequence[pd.DataFrame]], fresh: bool = False,
                columns: list[str] | None = None) -> list[Loaded]:
    """Several tables made by one computation (``compute()`` returns them in the order of ``keys``):
    all loaded when all are stored and valid, else computed once under the keys' locks and saved.
    ``columns``, if given, is checked on every table. Across processes, see :func:`_cached_together`."""
    if distributed.is_multiprocess():
        return _cached_together(keys, compute, fresh, columns)
    if not fresh and all(loaded := [_load_valid(key, columns) for key in keys]):
        return loaded
    with _locked(keys):
        # Another process may have computed them while this one waited for the locks.
        if not fresh and all(loaded := [_load_valid(key, columns) for key in keys]):
            return loaded
        start = time.perf_counter()
        tables = list(compute())
        if len(tables) != len(keys):
            raise ValueError(f"compute returned {len(tables)} tables for {len(keys)} keys")
        seconds = time.perf_counter() - start
        records = [save(key, table, seconds) for key, table in zip(keys, tables, strict=True)]
    # Reload so a fresh run and a cached run return exactly the same (CSV-rounded) numbers.
    return [(load(key, columns)[0], record) for key, record in zip(keys, records, strict=True)]


def _all_valid(keys: Sequence[Key], columns: list[str] | None) -> list[Loaded] | None:
    """The stored results of ``keys``, or None unless every one is stored and valid."""
    loaded = [_load_valid(key, columns) for key in keys]
    return loaded if all(loaded) else None  # type: ignore[return-value]


def _cached_together(keys: Sequence[Key], compute: Callable[[], Sequence[pd.DataFrame]], fresh: bool,
                     columns: list[str] | None) -> list[Loaded]:
    """:func:`cached_many` on every process of a multi-process run, called by all at the same point.

    Process 0 alone reads the store, decides whether to compute, takes the keys' locks and writes;
    it tells the others, all compute together (the run's collectives need every process), and every
    process returns process 0's stored bytes. The others never take a lock, so none can block on a
    file while process 0 waits for it in a collective, and no shared file system is needed.
    """
    writer = distributed.is_writer()
    with contextlib.ExitStack() as stack:
        ready = None
        if writer:
            ready = None if fresh else _all_valid(keys, columns)
            if ready is None:
                stack.enter_context(_locked(keys))
                ready = None if fresh else _all_valid(keys, columns)
        if not distributed.share_flag(ready is not None):
            start = time.perf_counter()
            tables = list(compute())
            if len(tables) != len(keys):
                raise ValueError(f"compute returned {len(tables)} tables for {len(keys)} keys")
            if writer:
                seconds = time.perf_counter() - start
                for key, table in zip(keys, tables, strict=True):
                    save(key, table, seconds)
                ready = [load(key, columns) for key in keys]
    return [_from_process_zero(key, ready[index] if ready else None) for index, key in enumerate(keys)]


def _from_process_zero(key: Key, loaded: Loaded | None) -> Loaded:
    """Process 0's stored table and record of ``key`` (``loaded`` there), on every process."""
    table_path, record_path = paths_for(key)
    table_bytes = distributed.share_bytes(table_path.read_bytes() if loaded else None)
    record_bytes = distributed.share_bytes(record_path.read_bytes() if loaded else None)
    if loaded is not None:
        return loaded
    return pd.read_csv(io.BytesIO(table_bytes)), json.loads(record_bytes)


def cached(config: Key, compute: Callable[[], pd.DataFrame], fresh: bool = False,
           columns: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Load the results for ``config`` if present and valid, else compute and save them (once, under
    the key's lock)."""
    return cached_many([config], lambda: [compute()], fresh, columns)[0]


def stored_claims(claims_spec: NotebookSpec, config: Config, compute: Callable[[Config], pd.DataFrame],
                  fresh: bool = False) -> Loaded:
    """A claims page's table through the store, for the run parameters of any page of its study.

    ``config`` may be any page that reads the same runs: the claims page's config is resolved from
    it at the same profile, so a claim's numbers are the same on every page that shows them.
    ``compute(claims_config)`` builds the table; it must hold :data:`~nevolab.stats.CLAIM_COLUMNS`
    first and only known verdicts.
    """
    claims_config = resolve_from(claims_spec, config)

    def checked() -> pd.DataFrame:
        table = compute(claims_config)
        if list(table.columns[:len(CLAIM_COLUMNS)]) != list(CLAIM_COLUMNS):
            raise ValueError(f"{claims_spec.name}: a claims table starts with {', '.join(CLAIM_COLUMNS)}; "
                             f"got {', '.join(map(str, table.columns))}")
        unknown = set(table.verdict) - set(VERDICTS)
        if unknown:
            raise ValueError(f"{claims_spec.name}: unknown verdicts {sorted(unknown)}")
        return table

    return cached(claims_config, checked, fresh=fresh)


def describe(provenance: Mapping[str, Any]) -> str:
    """One line for a page: where, when, at which commit and in how long a result was computed."""
    machine = provenance["machine"]
    return (f"computed on {machine['cpu']} ({machine['cpu_count']} cores, {machine['platform']}), "
            f"{provenance['date']}, commit {provenance['git_commit'][:12]}, "
            f"{provenance['wall_time_s']:.0f} s")
