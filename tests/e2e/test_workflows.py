"""The GitHub workflows: schema and security lint of every file, and pr.yaml's own steps run in a clone.

The steps of a job run in order, as GitHub runs them (bash -e), in a clone of a real project:
`uses:` steps are skipped (the test prepared the checkout and the Python), `pip` and `gh` are
recording stand-ins, everything else (dvc, gitml) is real. The workflow file is what is tested.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
CONTEXT = {"github": {"token": "ghs_test", "event": {"pull_request": {"number": 17}}}}
Run = Callable[..., CompletedProcess[str]]


@pytest.mark.parametrize("workflow_file", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_schema(workflow_file: Path, run: Run) -> None:
    run(ROOT, "check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow_file))


def test_workflows_pass_zizmor_offline(run: Run) -> None:
    result = run(ROOT, "zizmor", "--offline", "--no-progress", str(ROOT / ".github" / "workflows"), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def run_job(workflow: Callable[[Path], Any], path: Path, job: str, variables: dict[str, str]) -> dict[str, Any]:
    """Run pr.yaml's `job` in the clone at `path`; the result of each step that ran, by name (or command)."""
    return workflow(path / ".github" / "workflows" / "pr.yaml").run_job(job, path, variables, context=CONTEXT).steps


@pytest.fixture
def clone(gate_project: Any, tmp_path: Path, run: Run, cmd_env: Callable[[], dict[str, str]],
          gh_standin: Callable[[Path], Any], pip_standin: Callable[[Path], Path]) -> tuple[Path, dict[str, str], Any]:
    """A full-history clone of the project (as actions/checkout with fetch-depth 0), DVC data pushed;
    its environment, and the recording `gh` on its PATH."""
    run(gate_project.path, "dvc", "push", "--quiet", "--all-branches")
    path = tmp_path / "clone"
    run(tmp_path, "git", "clone", "--quiet", "--no-local", str(gate_project.path), str(path))
    bin_dir = tmp_path / "bin"
    gh = gh_standin(bin_dir)
    pip_standin(bin_dir)
    variables = {**cmd_env(), "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
                 "GITHUB_REPOSITORY": "acme/demo", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "99",
                 "GITHUB_BASE_REF": "main", "GH_LOG": str(gh.log)}
    variables["PATH"] = f"{bin_dir}{os.pathsep}{variables['PATH']}"
    for name in ("GH_COMMENTS", "GH_FAIL", "GH_TOKEN"):
        variables.pop(name, None)
    return path, variables, gh


@pytest.mark.e2e
def test_pr_gate_job_fails_on_a_regression_and_comments_once(clone: tuple[Path, dict[str, str], Any],
                                                            tmp_path: Path, run: Run,
                                                            workflow: Callable[[Path], Any]) -> None:
    path, variables, gh = clone
    run(path, "git", "checkout", "--quiet", "worse")
    steps = run_job(workflow, path, "gate", variables)
    assert (tmp_path / "bin" / "pip.log").read_text() == "install -r requirements.txt\n"
    assert steps["Reproduce the pipeline"].returncode == 0
    assert "Running stage" not in steps["Reproduce the pipeline"].stdout, "dvc pull should have fetched the outputs"
    assert steps["Gate"].returncode == 1 and "gate failed on" in steps["Gate"].stderr
    assert steps["Comment on the pull request"].returncode == 0
    body = (path / "reports" / "gate" / "report.md").read_text()
    assert "paired-bootstrap intervals" in body, "the baseline's predictions should come from the DVC remote"
    assert "https://github.com/acme/demo/actions/runs/99" in body
    calls = gh.calls()
    assert [c["args"] for c in calls] == [
        ["api", "--paginate", "--method", "GET", "repos/acme/demo/issues/17/comments?per_page=100"],
        ["api", "--method", "POST", "repos/acme/demo/issues/17/comments", "--input", "-"],
    ]
    assert calls[1]["payload"] == {"body": body} and calls[1]["token"] == "ghs_test"

    # The next push: the gate passes, and the same comment is updated.
    run(path, "git", "checkout", "--quiet", "better")
    (tmp_path / "comments.json").write_text(json.dumps([{"id": 555, "body": body}]))
    variables["GH_COMMENTS"] = str(tmp_path / "comments.json")
    steps = run_job(workflow, path, "gate", variables)
    assert all(result.returncode == 0 for result in steps.values()), {k: r.stderr for k, r in steps.items()}
    patch = gh.calls()[-1]
    assert patch["args"] == ["api", "--method", "PATCH", "repos/acme/demo/issues/comments/555", "--input", "-"]
    assert patch["payload"] == {"body": (path / "reports" / "gate" / "report.md").read_text()}
    assert "gitml gate: pass" in patch["payload"]["body"]


@pytest.mark.e2e
def test_pr_params_job_checks_params_yaml_is_the_composition(clone: tuple[Path, dict[str, str], Any],
                                                            workflow: Callable[[Path], Any]) -> None:
    path, variables, _ = clone
    steps = run_job(workflow, path, "params", variables)
    assert steps["Check params.yaml"].returncode == 0
    model = path / "conf" / "model" / "random_forest.yaml"
    model.write_text(model.read_text().replace("n_estimators: 20", "n_estimators: 21"))
    steps = run_job(workflow, path, "params", variables)
    assert steps["Check params.yaml"].returncode != 0
    assert "model.n_estimators" in steps["Check params.yaml"].stderr
