"""The GitOps loop on a fresh runner: pr.yaml's and promote.yaml's own steps in new clones, as GitHub runs them.

A bare "origin" holds main (the committed baseline) and one pull-request branch per kind of
change (`gate_project`). Each run is a new clone with an empty DVC cache, as a new runner
sees the repository, and then either (a) the DVC cache restored as actions/cache restores
it, (b) nothing at all: the gate reproduces the baseline commit, or (c) an S3 remote (moto
on 127.0.0.1) the outputs were pushed to. The gate's verdict and, per metric, the method
that judged it and its interval must equal the local run's.

Each run reproduces what its runner lacks, which is the expensive part: (a) restores the
pull request's own cache (main's outputs and the branch's, as a re-run of the job finds it)
and (c) pulls the branch's outputs (pushed with the commit, as the README asks), so only (b)
runs the whole pipeline, once, for the within-noise change that used to fail in CI.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]
CASES = {"noise": "pass", "worse": "fail", "better": "pass"}
SECRETS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _judged(report: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on the runner: the verdict and, per metric, method, interval, change, status."""
    return {"verdict": report["verdict"], "baseline": report["baseline"]["commit"],
            "metrics": {m["name"]: (m["method"], m["interval"], m["change"], m["status"]) for m in report["metrics"]}}


def _outputs(project: Any, run: Run, *refs: str) -> set[str]:
    """The md5 of every cached output the dvc.lock of each ref records: what a run on it leaves in its cache."""
    found = set()
    for ref in refs:
        lock = yaml.safe_load(run(project.path, "git", "show", f"{ref}:dvc.lock").stdout)
        found |= {out["md5"] for stage in lock["stages"].values() for out in stage.get("outs") or []
                  if out.get("md5") and (project.path / ".dvc" / "cache" / "files" / "md5" / out["md5"][:2]
                                         / out["md5"][2:]).is_file()}
    return found


@pytest.fixture(scope="module")
def runner(gate_project: Any, tmp_path_factory: pytest.TempPathFactory, run: Run,
           cmd_env: Callable[[], dict[str, str]], gh_standin: Callable[[Path], Any],
           pip_standin: Callable[[Path], Path]) -> Callable[..., tuple[Path, dict[str, str]]]:
    """`runner(branch)`: a new clone of origin on `branch` with an empty DVC cache and an empty default
    remote (the template's `.dvc/storage` on a new runner), and the job's environment."""
    root = tmp_path_factory.mktemp("runners")
    bin_dir = root / "bin"
    gh = gh_standin(bin_dir)
    pip_standin(bin_dir)
    base = {**cmd_env(), "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REPOSITORY": "acme/demo", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "99",
            "GITHUB_BASE_REF": "main", "GH_LOG": str(gh.log)}
    base["PATH"] = f"{bin_dir}{os.pathsep}{base['PATH']}"
    for name in ("GH_COMMENTS", "GH_FAIL", "GH_TOKEN", *SECRETS):
        base.pop(name, None)

    counter = itertools.count()

    def new(branch: str) -> tuple[Path, dict[str, str]]:
        path = root / f"{branch}-{next(counter)}"
        run(root, "git", "clone", "--quiet", str(gate_project.origin), str(path))
        run(path, "git", "checkout", "--quiet", branch)
        empty = path.parent / f"{path.name}-storage"
        empty.mkdir()
        run(path, "dvc", "remote", "modify", "--local", "storage", "url", str(empty))
        assert not (path / ".dvc" / "cache").exists()
        return path, dict(base)

    return new


def _restore_cache(clone: Path, gate_project: Any, run: Run, *refs: str) -> None:
    """What actions/cache restores: the outputs runs on `refs` stored, in the cache's layout."""
    for md5 in _outputs(gate_project, run, *refs):
        target = clone / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(gate_project.path / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:], target)


def _pr_gate(workflow: Callable[[Path], Any], clone: Path, env: dict[str, str], secrets: dict[str, str] | None = None
             ) -> Any:
    context = {"github": {"token": "ghs_test", "event": {"pull_request": {"number": 17}}},
               "secrets": {name: "" for name in SECRETS} | (secrets or {})}
    return workflow(clone / ".github" / "workflows" / "pr.yaml").run_job("gate", clone, env, context=context)


def _report(clone: Path) -> dict[str, Any]:
    return json.loads((clone / "reports" / "gate.json").read_text())


def _check(job: Any, clone: Path, case: str, gate_project: Any, run: Run) -> dict[str, Any]:
    """The job's result is the gate's verdict, and the gate's judgement equals the local run's."""
    failed = {name: step.stderr[-2000:] for name, step in job.steps.items() if step.returncode}
    assert set(failed) <= {"Gate"}, failed
    assert (job.steps["Gate"].returncode == 0) == (CASES[case] == "pass"), job.steps["Gate"].stderr[-2000:]
    report = _report(clone)
    assert _judged(report) == _judged(gate_project.reports[case])
    assert report["verdict"] == CASES[case]
    assert all(m["method"] == "paired bootstrap" for m in report["metrics"] if m["gated"])
    assert run(clone, "git", "worktree", "list").stdout.count("\n") == 1, "a temporary worktree was left behind"
    return report


@pytest.mark.parametrize("case", CASES)
def test_a_restored_cache_gives_the_local_verdict(case: str, gate_project: Any, runner: Any, run: Run,
                                                  workflow: Callable[[Path], Any]) -> None:
    clone, env = runner(case)
    _restore_cache(clone, gate_project, run, "main", case)  # the pull request's cache: main's outputs and its own
    job = _pr_gate(workflow, clone, env)
    report = _check(job, clone, case, gate_project, run)
    # The predictions, and the model and test rows the production figures are timed with.
    assert report["baseline"]["sources"] == {"predictions": "cache", "model": "cache", "test": "cache"}
    assert "Running stage" not in job.steps["Reproduce the pipeline"].stdout, "the outputs were restored"


def test_no_cache_at_all_reproduces_the_baseline_and_keeps_it(gate_project: Any, runner: Any, run: Run,
                                                             workflow: Callable[[Path], Any]) -> None:
    case = "noise"  # the change within noise that failed in CI when the baseline's predictions were missing
    clone, env = runner(case)
    job = _pr_gate(workflow, clone, env)
    report = _check(job, clone, case, gate_project, run)
    # The test split is the candidate's own (one md5), which its `dvc repro` left in the cache.
    assert report["baseline"]["test_md5"] == report["candidate"]["test_md5"]
    assert report["baseline"]["sources"] == {"predictions": "reproduced", "model": "reproduced", "test": "cache"}
    assert f"reproducing {gate_project.baseline[:12]}" in job.steps["Gate"].stderr
    assert "Running stage 'evaluate'" in job.steps["Gate"].stderr, "DVC's own progress is shown"
    # The reproduction stays in the DVC cache: the next run takes the baseline from there.
    again = run(clone, "gitml", "gate", check=False, env=env)
    assert again.returncode == job.steps["Gate"].returncode and "reproducing" not in again.stderr
    assert _report(clone)["baseline"]["sources"] == {"predictions": "cache", "model": "cache", "test": "cache"}
    assert _judged(_report(clone)) == _judged(gate_project.reports[case])


@pytest.fixture(scope="module")
def s3_main(gate_project: Any, s3_endpoint: str, run: Run, cmd_env: Callable[[], dict[str, str]]) -> str:
    """A bucket holding main's and every branch's outputs, as `dvc push` leaves them; its DVC remote URL."""
    import boto3

    bucket = f"gitml-loop-{os.getpid()}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **{
        "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}).create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/dvcstore"
    main = gate_project.path.parent / "main-for-s3"
    run(main.parent, "git", "clone", "--quiet", str(gate_project.origin), str(main))
    run(main, "dvc", "cache", "dir", "--local", str(gate_project.path / ".dvc" / "cache"))
    env = {**cmd_env(), **SECRETS}
    run(main, "dvc", "remote", "add", "--local", "--default", "team", url)
    run(main, "dvc", "remote", "modify", "--local", "team", "endpointurl", s3_endpoint)
    for branch in CASES:
        run(main, "git", "branch", "--quiet", branch, f"origin/{branch}")
    run(main, "dvc", "push", "--quiet", "--all-branches", env=env)
    return url


@pytest.mark.parametrize("case", CASES)
def test_an_s3_remote_gives_the_local_verdict(case: str, gate_project: Any, runner: Any, run: Run,
                                              s3_main: str, s3_endpoint: str, workflow: Callable[[Path], Any]) -> None:
    clone, env = runner(case)
    # The remote is one line of .dvc/config (plus the endpoint of an S3-compatible store); the
    # credentials come from the workflow's secrets.
    run(clone, "dvc", "remote", "add", "--local", "--default", "team", s3_main)
    run(clone, "dvc", "remote", "modify", "--local", "team", "endpointurl", s3_endpoint)
    job = _pr_gate(workflow, clone, env, SECRETS)
    report = _check(job, clone, case, gate_project, run)
    # The test split is the candidate's own (one md5), pulled with the branch's outputs.
    assert report["baseline"]["test_md5"] == report["candidate"]["test_md5"]
    assert report["baseline"]["sources"] == {"predictions": "remote", "model": "remote", "test": "cache"}
    assert job.steps["Pull data and models (when a DVC remote is configured)"].returncode == 0


def _tag(clone: Path, run: Run, name: str) -> dict[str, str]:
    """The gitml trailers of a tag's message."""
    text = run(clone, "git", "tag", "-l", "--format=%(contents)", name).stdout
    return dict(line.split(": ", 1) for line in text.splitlines() if line.startswith("gitml-"))


def test_promote_workflow_records_real_verdicts_and_no_text_reaches_prod(
        gate_project: Any, runner: Any, run: Run, workflow: Callable[[Path], Any], tmp_path: Path) -> None:
    """promote.yaml on pushes to main (gate, register, staging) and its reviewed prod run; then every way
    of making a failed version look passed: a forged tag message, a deleted gate.json, a lightweight tag."""
    origin = tmp_path / "origin.git"  # this test's own origin: the tags it pushes stay out of the others'
    run(tmp_path, "git", "clone", "--quiet", "--bare", str(gate_project.origin), str(origin))
    promote = None

    def job(name: str, branch: str, event: str, inputs: dict[str, str] | None = None) -> tuple[Any, Path]:
        clone, env = runner(branch)
        run(clone, "git", "remote", "set-url", "origin", str(origin))
        run(clone, "git", "fetch", "--quiet", "--tags", "origin")
        run(clone, "git", "reset", "--quiet", "--hard", f"origin/{branch}")
        _restore_cache(clone, gate_project, run, "main", "worse")
        env["GITHUB_EVENT_NAME"] = event
        context = {"github": {"event_name": event, "token": "ghs_test"}, "inputs": inputs or {},
                   "secrets": {name: "" for name in SECRETS}}
        nonlocal promote
        promote = promote or workflow(clone / ".github" / "workflows" / "promote.yaml")
        return promote.run_job(name, clone, env, context=context), clone

    # The first version on main: no prod yet, so the policy's floors alone judge it; it passes.
    staged, clone = job("staging", "main", "push")
    assert not [n for n, step in staged.steps.items() if step.returncode], staged.steps
    assert _tag(clone, run, "model@v0.0.1")["gitml-gate"] == "pass"
    run(origin, "git", "rev-parse", "--verify", "model#staging#1")
    # The reviewed prod run: the gate is recomputed (against nothing in prod) and recorded.
    prod, clone = job("prod", "main", "workflow_dispatch", {"version": "staging"})
    assert not [n for n, step in prod.steps.items() if step.returncode], prod.steps
    assert _tag(clone, run, "model#prod#2") == {"gitml-gate": "pass", "gitml-baseline": "none"}

    # A crippled model merged to main: judged against prod, registered as failed, never staged; the job fails.
    run(gate_project.path, "git", "push", "--quiet", "--force", str(origin), "worse:main")
    staged, clone = job("staging", "main", "push")
    failed = {n for n, step in staged.steps.items() if step.returncode}
    assert failed == {"The job's result is the gate's verdict"}, {n: staged.steps[n].stderr[-1500:] for n in failed}
    assert _tag(clone, run, "model@v0.0.2")["gitml-gate"] == "fail"
    assert "model#staging#3" not in run(origin, "git", "tag", "-l").stdout.split()
    prod, clone = job("prod", "main", "workflow_dispatch", {"version": "v0.0.2"})
    step = prod.steps["Assign prod (the gate is recomputed against the version now in prod)"]
    assert step.returncode == 1 and "recomputed against v0.0.1 (now in 'prod')" in step.stderr, step.stderr[-1500:]

    # Forgeries, in a clone with the crippled version checked out: none of them reaches prod.
    tags_before = run(clone, "git", "tag", "-l").stdout
    run(clone, "git", "tag", "--force", "-a", "model@v0.0.2", "-m",
        "Registering artifact model version v0.0.2\n\ngitml-gate: pass")  # a forged message
    forged = run(clone, "gitml", "promote", "model", "v0.0.2", "--stage", "prod", check=False)
    assert forged.returncode == 1 and "fails on" in forged.stderr, forged.stderr
    run(clone, "git", "tag", "model@v0.0.9", "HEAD")  # a lightweight tag: not a registered version
    light = run(clone, "gitml", "promote", "model", "v0.0.9", "--stage", "prod", check=False)
    assert light.returncode == 1 and "v0.0.9" in light.stderr, light.stderr
    run(clone, "git", "tag", "--delete", "model@v0.0.2", "model@v0.0.9")
    (clone / "reports" / "gate.json").unlink(missing_ok=True)  # no report: register runs the gate itself
    unjudged = run(clone, "gitml", "register", check=False)
    assert unjudged.returncode == 1 and "the gate's verdict for HEAD is 'fail'" in unjudged.stderr, unjudged.stderr
    held = {v["version"]: sorted(v["stages"]) for v in json.loads(run(clone, "gitml", "models", "--json").stdout)}
    assert held == {"v0.0.1": ["prod", "staging"]}
    assert run(clone, "git", "tag", "-l").stdout == tags_before.replace("model@v0.0.2\n", "")
