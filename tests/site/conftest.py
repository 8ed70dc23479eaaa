"""A project with a history worth a site: a real pipeline run, dozens of commits, branches, experiments,
two versions and stage moves.

The real run is the gate project's (its reports, cards and DVC outputs); the clone shares its
DVC cache. The other commits write their metrics and curve files directly (no pipeline run per
commit); experiments are commits under DVC's own `refs/exps/XX/REST/NAME` refs on a baseline.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

Run = Callable[..., CompletedProcess[str]]


@dataclass
class SiteProject:
    path: Path
    site: Path
    #: Every commit the site must list: main and branch commits, then experiment commits.
    commits: list[str] = field(default_factory=list)
    experiments: dict[str, str] = field(default_factory=dict)
    malformed: str = ""
    built: CompletedProcess[str] | None = None


def _commit(run: Run, path: Path, message: str, metrics: dict[str, float] | None = None,
            seed: int | None = None) -> str:
    if metrics is not None:
        (path / "reports" / "metrics.json").write_text(json.dumps(metrics, indent=2))
        roc = [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 0.05, "tpr": metrics["roc_auc"] - 0.1}, {"fpr": 1.0, "tpr": 1.0}]
        (path / "reports" / "plots" / "roc.json").write_text(json.dumps({"roc": roc}))
    if seed is not None:
        params = path / "params.yaml"
        lines = [f"seed: {seed}" if line.startswith("seed: ") else line for line in params.read_text().splitlines()]
        params.write_text("\n".join(lines) + "\n")
    run(path, "git", "commit", "-qam", message)
    return run(path, "git", "rev-parse", "HEAD").stdout.strip()


def _experiment(run: Run, path: Path, baseline: str, name: str, metrics: dict[str, float]) -> str:
    """A commit on `baseline` with other metrics, stored where `dvc exp save` stores one."""
    run(path, "git", "checkout", "-q", "--detach", baseline)
    (path / "reports" / "metrics.json").write_text(json.dumps(metrics, indent=2))
    run(path, "git", "add", "reports/metrics.json")
    tree = run(path, "git", "write-tree").stdout.strip()
    sha = run(path, "git", "commit-tree", tree, "-p", baseline, "-m", f"dvc: commit experiment {name}").stdout.strip()
    run(path, "git", "update-ref", f"refs/exps/{baseline[:2]}/{baseline[2:]}/{name}", sha)
    run(path, "git", "reset", "-q", "--hard")
    return sha


@pytest.fixture(scope="session")
def site_project(gate_project: Any, tmp_path_factory: pytest.TempPathFactory, run: Run) -> SiteProject:
    root = tmp_path_factory.mktemp("site")
    path = root / "demo"
    run(root, "git", "clone", "--quiet", "--no-local", str(gate_project.path), str(path))
    run(path, "dvc", "cache", "dir", "--local", str(gate_project.path / ".dvc" / "cache"))
    for branch in ("worse", "better", "noise"):
        run(path, "git", "branch", "--quiet", branch, f"origin/{branch}")
    run(path, "dvc", "checkout", "--quiet")
    project = SiteProject(path, root / "site")
    run(path, "gitml", "register")  # v0.0.1: the real run
    run(path, "gitml", "promote", "model", "v0.0.1", "--stage", "staging")
    run(path, "gitml", "promote", "model", "v0.0.1", "--stage", "prod")
    base = json.loads((path / "reports" / "metrics.json").read_text())
    for i in range(24):
        metrics = {**base, "roc_auc": round(0.9 + i / 400, 4), "accuracy": round(0.85 + (i % 5) / 100, 4)}
        _commit(run, path, f"tune seed {i}", metrics, seed=100 + i)
    (path / "reports" / "metrics.json").write_text('{"roc_auc": 0.9,')  # malformed
    run(path, "git", "commit", "-qam", "a broken metrics file")
    project.malformed = run(path, "git", "rev-parse", "HEAD").stdout.strip()
    tip = _commit(run, path, "fix the metrics file", {**base, "roc_auc": 0.97, "accuracy": 0.93}, seed=7)
    # v0.0.2: its metrics were written, not produced by a pipeline run, so the gate (which `register` runs
    # without a report, and promotion to prod recomputes from the commits' own outputs) does not pass it
    forced = ("--force", "--reason", "a site fixture: metrics written by hand")
    run(path, "gitml", "register", *forced)
    run(path, "gitml", "promote", "model", "v0.0.2", "--stage", "staging", *forced)
    run(path, "gitml", "promote", "model", "v0.0.2", "--stage", "prod", *forced)
    run(path, "gitml", "promote", "model", "v0.0.1", "--stage", "prod")  # a rollback
    run(path, "git", "checkout", "-qb", "feature/wide", tip)
    for i in range(3):
        _commit(run, path, f"wider forest {i}", {**base, "roc_auc": 0.95 - i / 100, "accuracy": 0.9}, seed=500 + i)
    run(path, "git", "checkout", "-q", "main")
    for name, auc in (("exp-alpha", 0.9991), ("exp-beta", 0.42)):
        project.experiments[name] = _experiment(run, path, tip, name, {**base, "roc_auc": auc})
    run(path, "git", "checkout", "-q", "main")
    listed = run(path, "git", "rev-list", "--branches").stdout.split()
    project.commits = listed + list(project.experiments.values())
    project.built = run(path, "gitml", "site", "-o", str(project.site), check=False)
    return project
