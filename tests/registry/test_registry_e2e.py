"""End to end: a real pipeline trained twice, then the registry, the card and promote.yaml.

Real git, real dvc, real tags: two trained commits are registered and promoted, `gitml get`
materialises the prod model from the DVC cache and then from the DVC remote while
another commit is checked out, `gto show` reads the same registry, and the workflow's
own `run:` steps register and promote against a bare "origin" repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.e2e

IDENTITY = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@gitml.local",
            "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@gitml.local"}


@pytest.fixture(scope="module")
def ada(cmd_env: Callable[[], dict[str, str]]) -> Callable[..., dict[str, str]]:
    """`ada(**extra)`: the commands' environment with Ada as the git identity, plus `extra`."""

    def env(**extra: str) -> dict[str, str]:
        return {**cmd_env(), **IDENTITY, **extra}

    return env


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, run: Callable[..., Any],
            ada: Callable[..., dict[str, str]]) -> dict:
    """A project trained and committed twice (different n_estimators); the first model's bytes kept."""
    path = tmp_path_factory.mktemp("registry") / "demo"
    run(path.parent, "gitml", "init", str(path), "--name", "demo", env=ada())
    config = path / "conf" / "model" / "random_forest.yaml"
    (path / "conf" / "evaluate" / "default.yaml").write_text("importance: {n_repeats: 2}\n")
    trained = []
    for n_estimators in (8, 12):
        config.write_text(re.sub(r"n_estimators: \d+", f"n_estimators: {n_estimators}", config.read_text()))
        run(path, "gitml", "repro")
        run(path, "git", "add", "--all")
        run(path, "git", "commit", "-qm", f"train {n_estimators} trees", env=ada())
        commit = run(path, "git", "rev-parse", "HEAD").stdout.strip()
        trained.append({"commit": commit, "model": (path / "models" / "model.skops").read_bytes(),
                        "metrics": json.loads((path / "reports" / "metrics.json").read_text())})
    return {"path": path, "trained": trained}


def test_register_promote_models_lineage_get(project: dict, tmp_path: Path, run: Callable[..., Any],
                                             ada: Callable[..., dict[str, str]]) -> None:
    path, (first, second) = project["path"], project["trained"]
    # Register the first commit (checked out again), then the second; tag times one second apart.
    run(path, "git", "checkout", "-q", first["commit"])
    run(path, "gitml", "register", env=ada(GIT_COMMITTER_DATE="2030-01-01T00:00:01Z"))
    run(path, "git", "checkout", "-q", "main")
    run(path, "gitml", "register", "--bump", "minor", env=ada(GIT_COMMITTER_DATE="2030-01-01T00:00:02Z"))
    for second_of_day, (version, stage) in enumerate((("v0.0.1", "staging"), ("v0.0.1", "prod"),
                                                     ("v0.1.0", "staging")), start=3):
        run(path, "gitml", "promote", "model", version, "--stage", stage,
            env=ada(GIT_COMMITTER_DATE=f"2030-01-01T00:00:0{second_of_day}Z"))

    models = json.loads(run(path, "gitml", "models", "--json").stdout)
    assert [(m["version"], m["stages"], m["commit"]) for m in models] == [
        ("v0.1.0", ["staging"], second["commit"]), ("v0.0.1", ["prod"], first["commit"])]
    assert models[1]["metrics"] == first["metrics"]
    table = run(path, "gitml", "models").stdout.splitlines()
    assert [row.split()[:4] for row in table[1:]] == [["model", "v0.1.0", "staging", second["commit"][:8]],
                                                      ["model", "v0.0.1", "prod", first["commit"][:8]]]

    lineage = json.loads(run(path, "gitml", "lineage", "model#prod", "--json").stdout)
    lock = yaml.safe_load(run(path, "git", "show", f"{first['commit']}:dvc.lock").stdout)
    train_out = {o["path"]: o["md5"] for o in lock["stages"]["train"]["outs"]}
    assert lineage["commit"] == first["commit"] and lineage["version"] == "v0.0.1"
    assert lineage["model"]["md5"] == train_out["models/model.skops"]
    assert lineage["params"]["model"]["n_estimators"] == 8 and lineage["metrics"] == first["metrics"]
    assert lineage["outputs"]["data/raw/dataset.parquet"] == lock["stages"]["ingest"]["outs"][0]["md5"]
    # registered without a gate report: `gitml register` ran the gate (no prod yet: the policy floors alone)
    assert lineage["registered"]["by"] == "Ada <ada@gitml.local>" and lineage["registered"]["gate"] == "pass"

    # gto reads the registry gitml wrote.
    shown = json.loads(run(path, "gto", "show", "--json").stdout)
    assert shown["model"]["version"] == "v0.1.0"
    assert shown["model"]["stage"] == {"prod": "v0.0.1", "staging": "v0.1.0"}

    # get: the prod model while main (the second model) is checked out; byte-identical.
    out = tmp_path / "serve" / "current"
    assert (path / "models" / "model.skops").read_bytes() == second["model"] != first["model"]
    run(path, "gitml", "get", "model", "--stage", "prod", "-o", str(out))
    assert (out / "model.skops").read_bytes() == first["model"]
    signature = run(path, "git", "show", f"{first['commit']}:models/signature.json").stdout
    assert (out / "signature.json").read_text() == signature
    info = json.loads((out / "version.json").read_text())
    assert {k: info[k] for k in ("name", "version", "stage", "commit")} == {
        "name": "model", "version": "v0.0.1", "stage": "prod", "commit": first["commit"]}
    assert info["registered_at"] == "2030-01-01T00:00:01+00:00"
    assert sorted(p.name for p in out.parent.iterdir()) == ["current"], "a temporary folder was left behind"

    # From the DVC remote: push, drop the cache, get by version into the same folder (replaced whole).
    run(path, "dvc", "push", "-q")
    shutil.rmtree(path / ".dvc" / "cache")
    from gitml.registry import artifacts

    got = artifacts.get("model", version="v0.1.0", output=out, repo=path)
    assert got["stage"] is None and got["commit"] == second["commit"]
    assert (out / "model.skops").read_bytes() == second["model"]
    run(path, "dvc", "checkout", "-q")


def test_get_bad_inputs_leave_the_output_alone(project: dict, tmp_path: Path, run: Callable[..., Any]) -> None:
    path = project["path"]
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    cases = [
        (["nosuch", "--stage", "prod", "-o", str(tmp_path / "x")], "unknown model 'nosuch'"),
        (["model", "--version", "v9.0.0", "-o", str(tmp_path / "x")], "unknown version 'v9.0.0'"),
        (["model", "--stage", "qa", "-o", str(tmp_path / "x")], "no version is in stage 'qa'"),
        (["model", "--version", "latest", "-o", str(keep)], "holds files `gitml get` did not write ('notes.txt')"),
    ]
    if not run(path, "gitml", "models", "--json").stdout.strip("[]\n"):
        run(path, "gitml", "register", check=False)
    for args, message in cases:
        result = run(path, "gitml", "get", *args, check=False)
        assert result.returncode != 0 and message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "x").exists() and [p.name for p in keep.iterdir()] == ["notes.txt"]


def test_card_is_self_contained_and_reproducible(project: dict, run: Callable[..., Any]) -> None:
    path = project["path"]
    html = (path / "models" / "card.html").read_text()
    markdown = (path / "models" / "card.md").read_text()
    for heading in ("Intended use", "Data", "Features", "Model", "Metrics", "Feature importance", "Lineage",
                    "Known limitations"):
        assert f"<h2>{heading}" in html and f"## {heading}" in markdown
    assert re.findall(r'(?:src|href)\s*=\s*"(?!data:)', html) == [] and "<script" not in html
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert html.count('src="data:image/svg+xml;base64,') == 4  # ROC, PR, confusion matrix, importance
    lock = yaml.safe_load((path / "dvc.lock").read_text())
    model_md5 = next(o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.skops")
    assert model_md5 in html and model_md5 in markdown and "n_estimators" in html
    before = (path / "models" / "card.html").read_bytes(), (path / "models" / "card.md").read_bytes()
    run(path, sys.executable, "-m", "stages.card")
    assert ((path / "models" / "card.html").read_bytes(), (path / "models" / "card.md").read_bytes()) == before
    assert run(path, "git", "status", "--porcelain", "--untracked-files=no").stdout == ""


# --- .github/workflows/promote.yaml, run step by step ------------------------------------------------

def _promote(repo_root: Path, workflow: Callable[[Path], Any]) -> Any:
    return workflow(repo_root / ".github" / "workflows" / "promote.yaml")


def _run_job(flow: Any, job: str, event: str, cwd: Path, env: dict[str, str], inputs: dict[str, str]) -> Any:
    """Run the job's `run:` steps for `event` (the job must be the one that event runs), stopping at a failure."""
    # No DVC remote credentials (the secrets the jobs reference): this project's remote is a local folder.
    context = {"github": {"event_name": event}, "inputs": inputs,
               "secrets": {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}}
    result = flow.run_job(job, cwd, env, context=context, stop_on_failure=True)
    assert not result.skipped, f"job {job} does not run on {event}: if: {flow.spec['jobs'][job]['if']}"
    return result


def _failures(result: Any) -> str:
    return "\n".join(f"step {key!r} failed:\n{r.stdout}\n{r.stderr}" for key, r in result.steps.items() if r.returncode)


def test_promote_workflow_names_the_artifact_and_the_approval_environment(
        repo_root: Path, workflow: Callable[[Path], Any]) -> None:
    # Schema and zizmor checks of every workflow file live in test_workflows.py.
    flow = _promote(repo_root, workflow)
    params = yaml.safe_load((repo_root / "params.yaml").read_text())
    assert flow.spec["env"]["MODEL"] == params["registry"]["artifact"]
    assert flow.spec["jobs"]["prod"]["environment"] == "production"
    assert flow.on["push"] == {"branches": ["main"], "paths": ["dvc.lock"]}


def test_promote_workflow_pushes_tags_to_origin(project: dict, tmp_path: Path, repo_root: Path,
                                                workflow: Callable[[Path], Any], run: Callable[..., Any],
                                                cmd_env: Callable[[], dict[str, str]],
                                                pip_standin: Callable[[Path], Path]) -> None:
    flow = _promote(repo_root, workflow)
    origin = tmp_path / "origin.git"
    run(tmp_path, "git", "clone", "-q", "--bare", "--no-tags", str(project["path"]), str(origin))
    run(tmp_path, "git", "clone", "-q", str(origin), "checkout")
    checkout = tmp_path / "checkout"
    # A recording stand-in for pip (gitml is already installed); no git identity but the workflow's own.
    stand_in = tmp_path / "bin"
    pip_log = pip_standin(stand_in)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in cmd_env().items() if k not in IDENTITY}
    env.update(PATH=f"{stand_in}{os.pathsep}{env['PATH']}", HOME=str(home), GIT_CONFIG_NOSYSTEM="1")
    head = run(checkout, "git", "rev-parse", "HEAD").stdout.strip()

    staging = _run_job(flow, "staging", "push", checkout, env, {})
    assert staging.ok, _failures(staging)
    remote = run(tmp_path, "git", "ls-remote", "--tags", str(origin)).stdout
    peeled = {line.split()[1].removeprefix("refs/tags/").removesuffix("^{}"): line.split()[0]
              for line in remote.splitlines() if line.endswith("^{}")}
    assert peeled == {"model@v0.0.1": head, "model#staging#1": head}
    assert pip_log.read_text() == "install -r requirements.txt\n"

    prod = _run_job(flow, "prod", "workflow_dispatch", checkout, env, {"version": "staging"})
    assert prod.ok, _failures(prod)
    fresh = tmp_path / "fresh"
    run(tmp_path, "git", "clone", "-q", str(origin), str(fresh))
    models = json.loads(run(fresh, "gitml", "models", "--json").stdout)
    assert [(m["version"], sorted(m["stages"]), m["commit"]) for m in models] == [
        ("v0.0.1", ["prod", "staging"], head)]
    tagger = run(fresh, "git", "tag", "-l", "--format=%(taggername)", "model#prod#2").stdout.strip()
    assert tagger == "github-actions[bot]"

    # Running the push job again on the same commit is refused: no second version of one commit.
    again = _run_job(flow, "staging", "push", checkout, env, {})
    assert not again.ok and "registered already as model@v0.0.1" in _failures(again)
