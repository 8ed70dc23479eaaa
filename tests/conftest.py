"""Fixtures shared by several test modules."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from helpers import init, run

#: Branches of the gate project: each edits conf/model/random_forest.yaml of the baseline
#: (a depth-2 forest of 20 trees) and reruns the pipeline.
BRANCHES = {
    "worse": ("max_depth: 2", "max_depth: 1"),  # a crippled forest
    "better": ("max_depth: 2", "max_depth: null"),
    "noise": ("n_estimators: 20", "n_estimators: 25"),  # a params-only change within noise
}


@dataclass
class GateProject:
    """A project with a baseline on main, one branch per BRANCHES entry, and `gitml gate` run on each."""

    path: Path
    remote: Path
    baseline: str
    outcomes: dict[str, CompletedProcess[str]] = field(default_factory=dict)
    reports: dict[str, dict] = field(default_factory=dict)
    markdown: dict[str, str] = field(default_factory=dict)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="session")
def gate_project(tmp_path_factory: pytest.TempPathFactory) -> GateProject:
    root = tmp_path_factory.mktemp("gate")
    path = init(root / "demo")
    model = path / "conf" / "model" / "random_forest.yaml"
    _edit(model, "max_depth: null", "max_depth: 2")
    _edit(path / "conf" / "evaluate" / "default.yaml", "n_repeats: 5", "n_repeats: 1")
    run(path, "dvc", "remote", "modify", "storage", "url", str(root / "remote"))
    run(path, "gitml", "compose")
    run(path, "dvc", "repro")
    run(path, "git", "add", "--all")
    run(path, "git", "commit", "-qm", "baseline: depth-2 forest")
    project = GateProject(path, root / "remote", run(path, "git", "rev-parse", "HEAD").stdout.strip())
    for branch, (old, new) in BRANCHES.items():  # `gitml repro` reruns what the last branch's outputs lack
        run(path, "git", "checkout", "-qb", branch, "main")
        _edit(model, old, new)
        run(path, "gitml", "repro")
        run(path, "git", "add", "--all")
        run(path, "git", "commit", "-qm", f"{branch}: {new}")
        project.outcomes[branch] = run(path, "gitml", "gate", check=False)
        project.reports[branch] = json.loads((path / "reports" / "gate.json").read_text())
        project.markdown[branch] = (path / "reports" / "gate" / "report.md").read_text()
    run(path, "git", "checkout", "-q", "main")
    run(path, "dvc", "checkout", "--quiet")
    return project
