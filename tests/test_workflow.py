"""The GitHub workflows: each matches SchemaStore's github-workflow schema (vendored by
check-jsonschema, so the check runs offline), pins its actions, and the publish workflow deploys the
book to GitHub Pages from main."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
PUBLISH = ROOT / ".github" / "workflows" / "publish.yml"


def validate(*paths: Path) -> subprocess.CompletedProcess:
    """check-jsonschema against the github-workflow schema it ships (no download)."""
    check = Path(sys.executable).with_name("check-jsonschema")
    return subprocess.run([str(check), "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


def load(path: Path) -> dict:
    """A workflow as a dict, with its trigger under "on" (YAML 1.1 reads a bare `on` key as true)."""
    workflow = yaml.safe_load(path.read_text())
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def steps(workflow: dict) -> list[tuple[str, dict]]:
    """(job id, step) for every step of every job."""
    return [(job_id, step) for job_id, job in workflow["jobs"].items() for step in job.get("steps", [])]


def test_every_workflow_matches_the_schema():
    assert WORKFLOWS, "no workflow in .github/workflows"
    done = validate(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("broken", [
    "on: push\njobs:\n  build:\n    steps:\n      - run: make html\n",  # no runs-on
    "on: push\npermissions:\n  pages: writ\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - run: make html\n",  # no such permission level
])
def test_schema_check_rejects_a_broken_workflow(tmp_path, broken):
    path = tmp_path / "broken.yml"
    path.write_text(broken)
    assert validate(path).returncode != 0


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_actions_are_pinned_to_a_version(path):
    for job_id, step in steps(load(path)):
        if "uses" in step:
            action, _, ref = step["uses"].partition("@")
            assert ref, f"{path.name}: job {job_id} uses {action} without a pinned version"


def test_publish_workflow_deploys_the_book_to_pages_from_main():
    workflow = load(PUBLISH)
    assert "main" in workflow["on"]["push"]["branches"]
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["concurrency"]
    uses: dict[str, set[str]] = {}
    for job_id, step in steps(workflow):
        uses.setdefault(job_id, set()).add(step.get("uses", "").split("@")[0])
    deploy = next(job_id for job_id, actions in uses.items() if "actions/deploy-pages" in actions)
    job = workflow["jobs"][deploy]
    permissions = {**workflow.get("permissions", {}), **job.get("permissions", {})}
    assert permissions.get("pages") == "write" and permissions.get("id-token") == "write"
    assert job["environment"]["name"] == "github-pages"
    builds = [job_id for job_id, actions in uses.items() if "actions/upload-pages-artifact" in actions]
    needs = job.get("needs", [])
    assert builds and set(builds) <= set([needs] if isinstance(needs, str) else needs)
    runs = " ".join(step.get("run", "") for job_id, step in steps(workflow) if job_id in builds)
    assert "make book" in runs or "make html" in runs
