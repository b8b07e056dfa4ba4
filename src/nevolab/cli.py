"""``nevolab list | run | run-all | bench``.

``nevolab run NOTEBOOK --profile P -p NAME VALUE ...`` validates the parameters against the
notebook's spec (exit 2 with one line naming the bad parameter, before anything runs), converts the
Jupytext source ``notebooks/NOTEBOOK.py`` to a notebook in memory, executes it with Papermill and
writes the executed notebook atomically to ``book/NOTEBOOK.ipynb``, with the injected-parameters
cell hidden from the book. Nothing else is rebuilt.

A notebook that raises ends in one line naming the notebook, the cell and the error (exit 1; 2 for a
``ConfigError`` raised inside it); the executed notebook, with the full traceback, is kept as
``book/NOTEBOOK.failed.ipynb`` and ``book/NOTEBOOK.ipynb`` is left as it was. The run's store writes
are journaled (:data:`nevolab.store.JOURNAL_ENV`), and on a failure the tables it newly stored in a
page's own folder (any notebook's table or claims table) are removed: a page stores nothing when a
later cell of the same run fails. The study run tables it stored (``study_*_runs`` and the like) stay:
each is a pure function of its own run config, valid whatever the page did next.

``nevolab run ... --processes N`` runs the notebook as N local processes of one JAX distributed run
(:mod:`nevolab.distributed`); with ``$JAX_COORDINATOR_ADDRESS`` set, ``nevolab run`` is one process
of such a run. Every process executes the notebook; process 0 alone writes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from nevolab.config import PROFILES, ConfigError
from nevolab.paths import repo_root


def notebooks_dir() -> Path:
    return repo_root() / "notebooks"


def book_dir() -> Path:
    override = os.environ.get("NEVOLAB_BOOK_DIR")
    if override:
        return Path(override)
    return repo_root() / "book"


def _parse_overrides(pairs: list[list[str]] | None) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for name, value in pairs or []:
        overrides[name] = value
    return overrides


def validated_parameters(notebook: str, profile: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Validate against the spec; return the (typed) parameters to inject."""
    from nevolab.config import resolve
    from nevolab.registry import get_spec

    spec = get_spec(notebook)
    typed = {name: spec.param(name).coerce(value) for name, value in raw.items()}
    resolve(spec, profile, **typed)  # full validation, raises ConfigError
    return typed


def hide_injected_parameters(notebook) -> None:
    """Tag the parameter cells for the book: Papermill's injected cell is removed, the notebook's own
    parameters cell (the defaults a reader edits in Jupyter) is collapsed."""
    for cell in notebook.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
        elif "parameters" in tags and "hide-cell" not in tags:
            cell.metadata["tags"] = [*tags, "hide-cell"]


class RunFailed(Exception):
    """A notebook that raised while executing; the message is one line, ``exit_code`` 1 (2 for a
    ``ConfigError`` raised inside the notebook)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def failed_path(output_dir: Path, notebook: str) -> Path:
    """Where a failed run keeps its executed notebook (with the traceback) beside the book's pages."""
    return Path(output_dir) / f"{notebook}.failed.ipynb"


@contextlib.contextmanager
def _store_journal() -> Iterator[Path]:
    """A fresh journal file named in ``$NEVOLAB_STORE_JOURNAL`` for the block (the kernel Papermill
    starts inherits the environment), the previous value restored and the file removed after."""
    from nevolab.store import JOURNAL_ENV

    handle, name = tempfile.mkstemp(prefix="nevolab-journal-", suffix=".jsonl")
    os.close(handle)
    previous = os.environ.get(JOURNAL_ENV)
    os.environ[JOURNAL_ENV] = name
    try:
        yield Path(name)
    finally:
        if previous is None:
            os.environ.pop(JOURNAL_ENV, None)
        else:
            os.environ[JOURNAL_ENV] = previous
        Path(name).unlink(missing_ok=True)


@contextlib.contextmanager
def _papermill_log(verbose: bool) -> Iterator[None]:
    """Papermill's logger (which nbclient shares) for the block: the notebook's streamed output on
    stderr when ``verbose``, else silent, so that a failure's own line is the only one printed
    (without a handler, Python would print its warnings, e.g. "Kernel died ...", to stderr)."""
    logger = logging.getLogger("papermill")
    previous = logger.level
    handler = logging.StreamHandler(sys.stderr) if verbose else logging.NullHandler()
    logger.setLevel(logging.INFO if verbose else logging.CRITICAL)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _first_line(text: Any, width: int = 200) -> str:
    """The first non-blank line of ``text``, cut to ``width`` characters."""
    line = next((line.strip() for line in str(text).splitlines() if line.strip()), "")
    return line if len(line) <= width else line[:width - 1] + "…"


# The kernel's own log (e.g. its start-up notice that the local TCP transport is unencrypted) goes
# to this process's stderr, as does its "KeyboardInterrupt caught" when shut down after a failure;
# critical only, so a run's stderr holds its own lines and nothing else.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
PLAIN_TAGS = {"parameters", "injected-parameters", "remove-cell", "hide-cell", "papermill-error-cell-tag"}


def _failing_cell(path: Path) -> tuple[Any, str]:
    """(number In [n], description) of the cell Papermill marked as failed, else of the last cell it
    started (the one running when the kernel died), in the notebook at ``path``; (None, "") when
    there is none or the file cannot be read."""
    import nbformat

    try:
        cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    except Exception:  # an empty or partial file from a kernel that died early
        return None, ""
    states = [cell.get("metadata", {}).get("papermill", {}) for cell in cells]
    started = [number for number, state in enumerate(states, 1) if state.get("start_time")]
    failed = [number for number, state in enumerate(states, 1) if state.get("exception")]
    number = failed[0] if failed else started[-1] if started else None
    if number is None:
        return None, ""
    # Every code cell runs in order, so the n-th one is In [n] (a cell cut short has no count).
    return cells[number - 1].get("execution_count") or number, _describe_source(cells[number - 1])


def _describe_source(cell: Mapping[str, Any]) -> str:
    """A cell's tags (other than the book's and Papermill's own) and its first source line."""
    tags = [tag for tag in cell.get("metadata", {}).get("tags", []) if tag not in PLAIN_TAGS]
    first = f'`{_first_line(cell.get("source", ""), 80)}`'
    return f"[{', '.join(tags)}] {first}" if tags else first


def failure_line(notebook: str, error: BaseException, kept: Path | None) -> str:
    """One line for a failed run: the notebook, the cell (its number In [n], tags and first source
    line), the error's name and first line, and where the executed notebook was kept."""
    import papermill

    number, source = _failing_cell(kept) if kept else (None, "")
    if isinstance(error, papermill.PapermillExecutionError):
        number, ename, evalue = error.exec_count or number, error.ename, error.evalue
        source = source or _describe_source({"source": error.source})
    else:  # the kernel died, or would not start: no cell output holds the error
        ename, evalue = type(error).__name__, error
    where = f" in cell In [{number}] {source}" if number is not None else ""
    message = f"{notebook} failed{where}: {ename}: {_first_line(evalue)}".rstrip(": ")
    return message + (f" (full traceback in {kept})" if kept else "")


def _keep_failed(temp: Path, target: Path) -> Path | None:
    """Move a failed run's executed notebook from ``temp`` to ``target`` (atomically); None when
    Papermill wrote nothing (an older run's ``target`` is then removed: it is not this failure's)."""
    if not temp.exists() or temp.stat().st_size == 0:
        target.unlink(missing_ok=True)
        return None
    os.replace(temp, target)
    return target


def kernel_arguments() -> list[str]:
    """The kernel's arguments; in a multi-process run (:mod:`nevolab.distributed`) the kernel joins
    the other processes before its first cell."""
    from nevolab import distributed

    return [*KERNEL_ARGUMENTS, distributed.KERNEL_STARTUP] if distributed.requested() else KERNEL_ARGUMENTS


def execute(notebook: str, profile: str, parameters: dict[str, Any], fresh: bool = False,
            output_dir: Path | None = None, log_output: bool = False) -> Path:
    """Execute ``notebooks/<notebook>.py`` through Papermill into ``<output_dir>/<notebook>.ipynb``;
    raise :class:`RunFailed` (one line) if it raises, with the page tables it stored removed.

    In a multi-process run every process executes the whole notebook (each jitted run needs all of
    them); process 0 alone writes the store's tables and the executed notebook, the others' copy of
    the notebook goes to a temporary folder and is discarded.
    """
    if _process_id() > 0:
        with tempfile.TemporaryDirectory(prefix="nevolab-process-") as scratch:
            _execute(notebook, profile, parameters, fresh, Path(scratch), log_output)
        return (Path(output_dir) if output_dir else book_dir()) / f"{notebook}.ipynb"
    return _execute(notebook, profile, parameters, fresh, output_dir, log_output)


def _process_id() -> int:
    """This process's id from ``$JAX_PROCESS_ID`` in a multi-process run (0 otherwise); the
    notebook's kernel, not this process, initialises JAX, so the id must be set."""
    from nevolab import distributed

    if not distributed.requested():
        return 0
    value = os.environ.get(distributed.PROCESS_ID_ENV, "")
    if not value.strip().isdigit():
        raise ConfigError(f"a multi-process run (${distributed.COORDINATOR_ENV} is set) needs "
                          f"${distributed.PROCESS_ID_ENV} (0 .. N-1) and ${distributed.NUM_PROCESSES_ENV}; "
                          f"got {distributed.PROCESS_ID_ENV}={value!r}")
    return int(value)


def _execute(notebook: str, profile: str, parameters: dict[str, Any], fresh: bool,
             output_dir: Path | None, log_output: bool) -> Path:
    """:func:`execute` on one process."""
    import jupytext
    import nbformat
    import papermill

    from nevolab import store
    from nevolab.registry import NOTEBOOKS, get_spec

    spec = get_spec(notebook)
    source = notebooks_dir() / f"{spec.name}.py"
    if not source.exists():
        raise ConfigError(f"notebook source {source} is missing")
    output_dir = Path(output_dir) if output_dir else book_dir()
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"{spec.name}.ipynb"
    notebook_node = jupytext.read(source)
    notebook_node.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                            "language": "python"}
    handle, temp_name = tempfile.mkstemp(dir=output_dir, prefix=f".{spec.name}.", suffix=".ipynb")
    os.close(handle)
    temp = Path(temp_name)
    try:
        with _store_journal() as journal, _papermill_log(log_output):
            try:
                executed = papermill.execute_notebook(
                    notebook_node, temp, parameters={"profile": profile, **parameters, "fresh": fresh},
                    kernel_name="python3", cwd=str(notebooks_dir()), progress_bar=False,
                    log_output=log_output, extra_arguments=kernel_arguments(),
                )
            except Exception as error:
                # Only pages' own folders are rolled back; see the module docstring for why.
                store.roll_back(journal, set(NOTEBOOKS))
                kept = _keep_failed(temp, failed_path(output_dir, spec.name))
                code = 2 if getattr(error, "ename", "") == "ConfigError" else 1
                raise RunFailed(failure_line(spec.name, error, kept), code) from error
        hide_injected_parameters(executed)
        nbformat.write(executed, temp)
        os.replace(temp, target)
        failed_path(output_dir, spec.name).unlink(missing_ok=True)
    finally:
        temp.unlink(missing_ok=True)
    return target


def cmd_list(args: argparse.Namespace) -> int:
    from nevolab.registry import NOTEBOOKS

    for spec in NOTEBOOKS.values():
        print(f"{spec.name}: {spec.description}")
        for param in spec.params:
            presets = ", ".join(f"{p}={param.presets.get(p, param.presets.get('default'))}" for p in PROFILES)
            print(f"    {param.name} ({param.kind}): {param.help} [{presets}; paper: {param.paper}]")
    return 0


def run_processes(argv: list[str], num_processes: int) -> int:
    """``nevolab <argv>`` in ``num_processes`` local processes that form one multi-process run
    (:func:`nevolab.distributed.local_environments`); process 0's output is shown, the others' errors
    only. Returns the first failing exit code (the other processes are then stopped), else 0."""
    import subprocess
    import time

    from nevolab.distributed import local_environments

    children = []
    for index, variables in enumerate(local_environments(num_processes)):
        # Each in its own session: stopping one stops its notebook kernel too.
        children.append(subprocess.Popen(
            [sys.executable, "-m", "nevolab.cli", *argv], env={**os.environ, **variables},
            stdout=None if index == 0 else subprocess.DEVNULL, start_new_session=True))
    try:
        while any(child.poll() is None for child in children):
            if any(child.returncode for child in children):
                break  # the others would wait for the failed one in their next collective
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
                child.wait()
    return next((child.returncode for child in children if child.returncode), 0)


def _run_argv(args: argparse.Namespace) -> list[str]:
    """``nevolab run``'s arguments for one process of a ``--processes`` run (without that option)."""
    argv = ["run", args.notebook, "--profile", args.profile]
    argv += [item for name, value in args.param or [] for item in ("-p", name, value)]
    return argv + ["--fresh"] * args.fresh + ["--verbose"] * args.verbose


def cmd_run(args: argparse.Namespace) -> int:
    if args.processes is not None and args.processes < 1:
        print(f"nevolab: error: --processes must be at least 1; got {args.processes}", file=sys.stderr)
        return 2
    if args.processes is not None and args.processes > 1:
        from nevolab import distributed

        if distributed.requested():
            print(f"nevolab: error: --processes starts its own processes; unset "
                  f"${distributed.COORDINATOR_ENV} or drop --processes", file=sys.stderr)
            return 2
        try:  # refused here, once, rather than by every process
            validated_parameters(args.notebook, args.profile, _parse_overrides(args.param))
        except ConfigError as error:
            print(f"nevolab: error: {error}", file=sys.stderr)
            return 2
        return run_processes(_run_argv(args), args.processes)
    try:
        parameters = validated_parameters(args.notebook, args.profile, _parse_overrides(args.param))
        target = execute(args.notebook, args.profile, parameters, fresh=args.fresh, log_output=args.verbose)
    except ConfigError as error:
        print(f"nevolab: error: {error}", file=sys.stderr)
        return 2
    except RunFailed as failure:
        print(f"nevolab: error: {failure}", file=sys.stderr)
        return failure.exit_code
    print(f"wrote {target}")
    return 0


def cmd_run_all(args: argparse.Namespace) -> int:
    from nevolab.registry import NOTEBOOKS

    for name in NOTEBOOKS:
        if not NOTEBOOKS[name].in_book and args.profile != "smoke":
            print(f"skipped {name}: not in the book yet (its {args.profile} results are not committed; "
                  f"`nevolab run {name} --profile {args.profile}` computes them)")
            continue
        try:
            target = execute(name, args.profile, {}, fresh=args.fresh, log_output=args.verbose)
        except ConfigError as error:
            print(f"nevolab: error: {error}", file=sys.stderr)
            return 2
        except RunFailed as failure:  # later pages may read this one's tables: stop here
            print(f"nevolab: error: {failure}", file=sys.stderr)
            return failure.exit_code
        print(f"wrote {target}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from nevolab.bench import run_benchmarks

    try:
        for result in run_benchmarks(args.names):
            print(json.dumps(result), flush=True)
    except ConfigError as error:
        print(f"nevolab: error: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nevolab", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list notebooks with their parameters").set_defaults(func=cmd_list)
    run = commands.add_parser("run", help="execute one notebook into book/")
    run.add_argument("notebook")
    run.add_argument("--profile", default="default", help=f"one of {', '.join(PROFILES)}")
    run.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"))
    run.add_argument("--fresh", action="store_true", help="recompute even if cached results exist")
    run.add_argument("-v", "--verbose", action="store_true", help="stream the notebook's output")
    run.add_argument("--processes", type=int, default=None, metavar="N",
                     help="run as N local processes on JAX's distributed runtime (process 0 writes)")
    run.set_defaults(func=cmd_run)
    run_all = commands.add_parser("run-all", help="execute every notebook into book/")
    run_all.add_argument("--profile", default="default", choices=PROFILES)
    run_all.add_argument("--fresh", action="store_true")
    run_all.add_argument("-v", "--verbose", action="store_true")
    run_all.set_defaults(func=cmd_run_all)
    bench = commands.add_parser("bench", help="run benchmarks; one JSON object per line")
    bench.add_argument("names", nargs="*", help="benchmark names or prefixes (default: all)")
    bench.set_defaults(func=cmd_bench)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
