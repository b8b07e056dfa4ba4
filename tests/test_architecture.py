"""The library's shape, checked: import layers and no circles (import-linter, configured in
pyproject.toml), every module inside a layer, and no module over 600 lines."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "nevolab"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(config: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(config), "--no-cache"], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"})


def test_import_layers_and_no_circles():
    done = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _layers() -> list[str]:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    return [name.strip().strip("()") for layer in layers for name in layer.split(":")]


def test_every_module_sits_in_a_layer():
    """A top-level module missing from the layers contract would escape it."""
    listed = set(_layers())
    modules = {f"nevolab.{path.stem}" for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    packages = {f"nevolab.{path.parent.name}" for path in PACKAGE.glob("*/__init__.py")}
    assert modules | packages <= listed, sorted((modules | packages) - listed)


def test_no_module_is_over_600_lines():
    sizes = {str(path.relative_to(ROOT)): len(path.read_text().splitlines())
             for path in PACKAGE.rglob("*.py")}
    assert not {path: lines for path, lines in sizes.items() if lines > 600}


def test_a_new_circle_or_an_upward_import_fails_the_contracts(tmp_path):
    """The same two contract types on a tiny package: adding a circle, or a lower layer importing a
    higher one, breaks them (so the check above is not vacuous)."""
    package = tmp_path / "toylab"
    (package / "studies").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "studies" / "__init__.py").write_text("")
    (package / "studies" / "runs.py").write_text("from toylab import core\n")
    (package / "core.py").write_text("")
    config = tmp_path / "contracts.toml"
    config.write_text(textwrap.dedent("""
        [tool.importlinter]
        root_package = "toylab"
        [[tool.importlinter.contracts]]
        name = "layers"
        type = "layers"
        layers = ["toylab.studies", "toylab.core : toylab.paths"]
        [[tool.importlinter.contracts]]
        name = "no circles"
        type = "acyclic_siblings"
        ancestors = ["toylab"]
        depth = 8
    """))
    (package / "paths.py").write_text("")
    assert _lint(config, tmp_path).returncode == 0
    (package / "paths.py").write_text("from toylab import core\n")
    (package / "core.py").write_text("from toylab import paths\n")  # a circle inside the core layer
    circle = _lint(config, tmp_path)
    assert circle.returncode != 0 and "no circles BROKEN" in circle.stdout
    (package / "core.py").write_text("from toylab.studies import runs\n")  # core importing up
    (package / "paths.py").write_text("")
    upward = _lint(config, tmp_path)
    assert upward.returncode != 0 and "layers BROKEN" in upward.stdout
