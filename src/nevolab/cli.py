"""``nevolab list | run | run-all | bench``.

``nevolab run NOTEBOOK --profile P -p NAME VALUE ...`` validates the parameters against the
notebook's spec (exit 2 with one line naming the bad parameter, before anything runs), converts the
Jupytext source ``notebooks/NOTEBOOK.py`` to a notebook in memory, executes it with Papermill and
writes the executed notebook atomically to ``book/NOTEBOOK.ipynb``, with the injected-parameters
cell hidden from the book. Nothing else is rebuilt.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
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


def execute(notebook: str, profile: str, parameters: dict[str, Any], fresh: bool = False,
            output_dir: Path | None = None, log_output: bool = False) -> Path:
    """Execute ``notebooks/<notebook>.py`` through Papermill into ``<output_dir>/<notebook>.ipynb``."""
    import jupytext
    import nbformat
    import papermill

    from nevolab.registry import get_spec

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
    handle, temp = tempfile.mkstemp(dir=output_dir, prefix=f".{spec.name}.", suffix=".ipynb")
    os.close(handle)
    try:
        executed = papermill.execute_notebook(
            notebook_node, temp, parameters={"profile": profile, **parameters, "fresh": fresh},
            kernel_name="python3", cwd=str(notebooks_dir()), progress_bar=False, log_output=log_output,
        )
        hide_injected_parameters(executed)
        nbformat.write(executed, temp)
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)
    return target


def cmd_list(args: argparse.Namespace) -> int:
    from nevolab.registry import NOTEBOOKS

    for spec in NOTEBOOKS.values():
        print(f"{spec.name}: {spec.description}")
        for param in spec.params:
            presets = ", ".join(f"{p}={param.presets.get(p, param.presets.get('default'))}" for p in PROFILES)
            print(f"    {param.name} ({param.kind}): {param.help} [{presets}; paper: {param.paper}]")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    try:
        parameters = validated_parameters(args.notebook, args.profile, _parse_overrides(args.param))
        target = execute(args.notebook, args.profile, parameters, fresh=args.fresh, log_output=args.verbose)
    except ConfigError as error:
        print(f"nevolab: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {target}")
    return 0


def cmd_run_all(args: argparse.Namespace) -> int:
    from nevolab.registry import NOTEBOOKS

    for name in NOTEBOOKS:
        if not NOTEBOOKS[name].in_book and args.profile != "smoke":
            print(f"skipped {name}: not in the book yet (its {args.profile} results are not committed; "
                  f"`nevolab run {name} --profile {args.profile}` computes them)")
            continue
        target = execute(name, args.profile, {}, fresh=args.fresh, log_output=args.verbose)
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
