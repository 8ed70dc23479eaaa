"""The GitHub workflows: schema and security lint of every file, and pr.yaml's own steps run in a clone.

The steps of a job run in order, as GitHub runs them (bash -e), in a clone of a real project:
`uses:` steps are skipped (the test prepared the checkout and the Python), `pip` and `gh` are
recording stand-ins, everything else (dvc, gitml) is real. The workflow file is what is tested.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import GateProject
from helpers import env, gh_calls, run, standin_gh

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
CONTEXT = {"github": {"token": "ghs_test", "event": {"pull_request": {"number": 17}}}}
PIP = f"#!{sys.executable}\nimport os, sys\nopen(os.environ['PIP_LOG'], 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_schema(workflow: Path) -> None:
    run(ROOT, "check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow))


def test_workflows_pass_zizmor_offline() -> None:
    result = run(ROOT, "zizmor", "--offline", "--no-progress", str(ROOT / ".github" / "workflows"), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _expand(text: str) -> str:
    def value(match: re.Match[str]) -> str:
        found: object = CONTEXT
        for part in match.group(1).split("."):
            assert isinstance(found, dict) and part in found, f"the test does not know ${{{{ {match.group(1)} }}}}"
            found = found[part]
        return str(found)

    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", value, str(text))


def _should_run(condition: str | None, failed: bool, cwd: Path) -> bool:
    """GitHub's step `if:`, for the functions the workflows use."""
    if condition is None:
        return not failed
    terms = re.fullmatch(r"\$\{\{(.*)\}\}", condition.strip()).group(1).split("&&")
    results = []
    for term in (t.strip() for t in terms):
        if term in ("!cancelled()", "always()"):
            results.append(True)
        elif term in ("success()", "failure()"):
            results.append(failed == (term == "failure()"))
        elif found := re.fullmatch(r"hashFiles\('([^']+)'\) != ''", term):
            results.append((cwd / found.group(1)).exists())
        else:
            raise AssertionError(f"the test cannot evaluate `if: {condition}`")
    return all(results)


def run_job(workflow: Path, job: str, cwd: Path, variables: dict[str, str]) -> dict[str, subprocess.CompletedProcess]:
    """Run a job's `run:` steps in order; the result of each step that ran, by name (or command)."""
    spec = yaml.safe_load(workflow.read_text())
    steps_env = {**variables, **{k: _expand(v) for k, v in {**spec.get("env", {}),
                                                           **spec["jobs"][job].get("env", {})}.items()}}
    results, failed = {}, False
    for step in spec["jobs"][job]["steps"]:
        if "uses" in step or not _should_run(step.get("if"), failed, cwd):
            continue
        step_env = {**steps_env, **{k: _expand(v) for k, v in step.get("env", {}).items()}}
        result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                                cwd=cwd, env=step_env, capture_output=True, text=True)
        results[step.get("name", step["run"])] = result
        failed = failed or result.returncode != 0
    return results


@pytest.fixture
def clone(gate_project: GateProject, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A full-history clone of the project (as actions/checkout with fetch-depth 0), DVC data pushed."""
    run(gate_project.path, "dvc", "push", "--quiet", "--all-branches")
    path = tmp_path / "clone"
    run(tmp_path, "git", "clone", "--quiet", "--no-local", str(gate_project.path), str(path))
    bin_dir = tmp_path / "bin"
    standin_gh(bin_dir)
    (bin_dir / "pip").write_text(PIP)
    (bin_dir / "pip").chmod(0o755)
    variables = {**env(), "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
                 "GITHUB_REPOSITORY": "acme/demo", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "99",
                 "GITHUB_BASE_REF": "main", "GH_LOG": str(bin_dir / "gh.log"), "PIP_LOG": str(bin_dir / "pip.log")}
    variables["PATH"] = f"{bin_dir}{os.pathsep}{variables['PATH']}"
    variables.pop("GH_COMMENTS", None)
    return path, variables


@pytest.mark.e2e
def test_pr_gate_job_fails_on_a_regression_and_comments_once(clone: tuple[Path, dict[str, str]],
                                                            tmp_path: Path) -> None:
    path, variables = clone
    workflow = path / ".github" / "workflows" / "pr.yaml"
    run(path, "git", "checkout", "--quiet", "worse")
    steps = run_job(workflow, "gate", path, variables)
    assert (tmp_path / "bin" / "pip.log").read_text() == "install -r requirements.txt\n"
    assert steps["Reproduce the pipeline"].returncode == 0
    assert "Running stage" not in steps["Reproduce the pipeline"].stdout, "dvc pull should have fetched the outputs"
    assert steps["Gate"].returncode == 1 and "gate failed on" in steps["Gate"].stderr
    assert steps["Comment on the pull request"].returncode == 0
    body = (path / "reports" / "gate" / "report.md").read_text()
    assert "paired-bootstrap intervals" in body, "the baseline's predictions should come from the DVC remote"
    assert "https://github.com/acme/demo/actions/runs/99" in body
    calls = gh_calls(tmp_path / "bin" / "gh.log")
    assert [c["args"] for c in calls] == [
        ["api", "--paginate", "--method", "GET", "repos/acme/demo/issues/17/comments?per_page=100"],
        ["api", "--method", "POST", "repos/acme/demo/issues/17/comments", "--input", "-"],
    ]
    assert calls[1]["payload"] == {"body": body} and calls[1]["token"] == "ghs_test"

    # The next push: the gate passes, and the same comment is updated.
    run(path, "git", "checkout", "--quiet", "better")
    (tmp_path / "comments.json").write_text(json.dumps([{"id": 555, "body": body}]))
    variables["GH_COMMENTS"] = str(tmp_path / "comments.json")
    steps = run_job(workflow, "gate", path, variables)
    assert all(result.returncode == 0 for result in steps.values()), {k: r.stderr for k, r in steps.items()}
    patch = gh_calls(tmp_path / "bin" / "gh.log")[-1]
    assert patch["args"] == ["api", "--method", "PATCH", "repos/acme/demo/issues/comments/555", "--input", "-"]
    assert patch["payload"] == {"body": (path / "reports" / "gate" / "report.md").read_text()}
    assert "gitml gate: pass" in patch["payload"]["body"]


@pytest.mark.e2e
def test_pr_params_job_checks_params_yaml_is_the_composition(clone: tuple[Path, dict[str, str]]) -> None:
    path, variables = clone
    workflow = path / ".github" / "workflows" / "pr.yaml"
    steps = run_job(workflow, "params", path, variables)
    assert steps["Check params.yaml"].returncode == 0
    model = path / "conf" / "model" / "random_forest.yaml"
    model.write_text(model.read_text().replace("n_estimators: 20", "n_estimators: 21"))
    steps = run_job(workflow, "params", path, variables)
    assert steps["Check params.yaml"].returncode != 0
    assert "model.n_estimators" in steps["Check params.yaml"].stderr
