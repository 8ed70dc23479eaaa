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
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
#: No DVC remote credentials: the pull request of a fork gets none, and this project's remote is a local folder.
CONTEXT = {"github": {"token": "ghs_test", "event": {"pull_request": {"number": 17}}},
           "secrets": {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}}
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


@pytest.mark.e2e
def test_site_build_job_builds_the_site_with_the_last_monitor_runs_drift_report(
        clone: tuple[Path, dict[str, str], Any], tmp_path: Path, workflow: Callable[[Path], Any]) -> None:
    path, variables, gh = clone
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    # The shape gitml monitor writes (gitml.monitor.drift): verdict and reason on top, the counts in checks.dataset.
    reason = "3 of 30 evaluated columns drifted (10%; dataset drift at 10%)"
    dataset = {"status": "drift", "reason": reason, "rule": "share", "n_columns": 30, "n_evaluated": 30,
               "n_drifted": 3, "drifted_columns": ["x", "y", "z"], "share_drifted": 0.1, "threshold": 0.1}
    (artifact / "drift.json").write_text(json.dumps({
        "status": "drift", "generated_at": "2024-06-01T05:23:00+00:00", "reason": f"dataset drift: {reason}",
        "drift": True, "checks": {"dataset": dataset}, "alerts": ["x drifted"]}))
    (artifact / "drift.html").write_text("<!DOCTYPE html><title>Drift report</title>")
    variables.update(GH_RUN_ID="4711", GH_ARTIFACT=str(artifact))
    site = workflow(path / ".github" / "workflows" / "site.yaml")
    on_push = {"github": {"token": "ghs_test"}, "inputs": {"drift-artifact": None}}
    steps = site.run_job("build", path, variables, context=on_push).steps
    assert all(result.returncode == 0 for result in steps.values()), {k: r.stderr for k, r in steps.items()}
    assert [c["args"][:2] for c in gh.calls()] == [["run", "list"], ["run", "download"]]
    assert gh.calls()[1]["args"] == ["run", "download", "4711", "--name", "drift-report", "--dir", "reports"]
    index = (path / "site" / "index.html").read_text()
    assert 'class="badge drift"' in index and "3 of 30 columns drifted" in index
    assert (path / "site" / "reports" / "drift.html").is_file() and (path / "site" / "reports" / "eda.html").is_file()
    assert "wrote site/index.html" in steps["Build the site"].stdout
    # Called by the monitor workflow: its own run's artifact comes by download-artifact (a `uses:` step here).
    from_monitor = {"github": {"token": "ghs_test"}, "inputs": {"drift-artifact": "drift-report"}}
    steps = site.run_job("build", path, variables, context=from_monitor).steps
    assert "The last monitor run's drift report" not in steps and steps["Build the site"].returncode == 0


def test_site_deploys_with_pages_own_actions_and_the_least_permissions(repo_root: Path) -> None:
    site = yaml.safe_load((repo_root / ".github" / "workflows" / "site.yaml").read_text())
    assert set(site[True]) == {"push", "workflow_dispatch", "workflow_call"} and site["permissions"] == {}
    build, deploy = site["jobs"]["build"], site["jobs"]["deploy"]
    assert build["permissions"] == {"contents": "read", "actions": "read"}
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"} and deploy["needs"] == "build"
    uses = [step["uses"].split("@")[0] for job in (build, deploy) for step in job["steps"] if "uses" in step]
    assert "actions/upload-pages-artifact" in uses and uses[-1] == "actions/deploy-pages"
    monitor = yaml.safe_load((repo_root / ".github" / "workflows" / "monitor.yaml").read_text())
    call = monitor["jobs"]["site"]
    assert call["uses"] == "./.github/workflows/site.yaml" and call["needs"] == "monitor"
    assert call["with"] == {"drift-artifact": "drift-report"}
    assert call["permissions"] == {"contents": "read", "actions": "read", "pages": "write", "id-token": "write"}
