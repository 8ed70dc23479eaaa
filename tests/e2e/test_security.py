"""Security cases of the hardening review (issue 14): each guard holds, with the exact outcome asserted.

One test per case, so cases added by other changes are plain appends.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml

from gitml.serve import settings
from gitml.serve.main import create_app

GOOD = {"x": 0.5, "k": 1, "color": "red", "flag": True}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, serve_kit: Any) -> Path:
    return serve_kit.train_model(tmp_path_factory.mktemp("security") / "model")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def _gitml(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gitml", *args], cwd=repo, env=env, capture_output=True, text=True)


@pytest.fixture
def registry(tmp_path: Path, repo_root: Path, cmd_env: Any) -> tuple[Path, dict[str, str]]:
    """A repository with one trained commit registered as model@v0.0.1, and a second commit not registered."""
    repo = tmp_path / "project"
    (repo / "reports").mkdir(parents=True)
    _git(tmp_path, "init", "-q", "--initial-branch=main", str(repo))
    for name in ("params.yaml", "dvc.yaml"):
        (repo / name).write_bytes((repo_root / name).read_bytes())
    env = cmd_env()
    for n in (1, 2):
        lock = {"schema": "2.0", "stages": {"train": {"cmd": "python -m stages.train", "outs": [
            {"path": "models/model.skops", "hash": "md5", "md5": f"{n:032x}", "size": 1}]}}}
        (repo / "dvc.lock").write_text(yaml.safe_dump(lock))
        _git(repo, "add", "--all")
        _git(repo, "commit", "-qm", f"train {n}")
        if n == 1:
            assert _gitml(repo, env, "register").returncode == 0
    return repo, env


def _tag_refs(repo: Path) -> str:
    return _git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/tags")


def test_predict_refuses_bodies_a_web_page_can_send_cross_site(model_dir: Path, tmp_path: Path,
                                                                serve_kit: Any) -> None:
    """A page can POST text/plain, a form or multipart to any site without asking: none may reach the log."""
    app = create_app(settings.load(model_dir=model_dir, config={"log": {"dir": str(tmp_path / "log")}}))
    body = '{"records": [{"x": 0.5, "k": 1, "color": "red", "flag": true}]}'
    with serve_kit.thread_server(app) as url, httpx.Client(base_url=url) as client:
        for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
            response = client.post("/predict", content=body, headers={"Content-Type": kind} if kind else {})
            assert response.status_code == 415, response.text
            assert response.json()["error_code"] == "BAD_REQUEST"
            assert "Content-Type" in response.json()["message"] and "application/json" in response.json()["message"]
        assert client.post("/predict", content=body, headers={"Content-Type": "application/json"}).status_code == 200
    logged = pd.concat(pd.read_parquet(f) for f in (tmp_path / "log").glob("*.parquet"))
    assert len(logged) == 1  # the JSON request only


def test_serving_on_a_non_loopback_address_without_a_token_warns(model_dir: Path, tmp_path: Path, serve_kit: Any,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from gitml.cli import main as cli

    with serve_kit.cli_server(tmp_path, "--model", str(model_dir), "--host", "0.0.0.0") as (url, process):
        assert httpx.get(url + "/health").status_code == 200
        process.terminate()
        process.wait(60)
        err = process.stderr.read()
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "0.0.0.0 without a token" in warnings[0] and "GITML_SERVE_TOKEN" in warnings[0]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITML_SERVE_TOKEN", "t")  # with a token: no warning (the missing model then stops it)
    assert cli.main(["serve", "--host", "0.0.0.0", "--model", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert "warning:" not in err and err.startswith("error: model directory not found")


def test_a_lightweight_tag_in_the_registry_namespace_is_named_and_never_read(
        registry: tuple[Path, dict[str, str]]) -> None:
    repo, env = registry
    _git(repo, "tag", "model@v0.0.2", "HEAD~1")  # squats the next number; GTO reads no event from it
    before = _tag_refs(repo)
    refused = _gitml(repo, env, "register", "--version", "v0.0.2")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "model@v0.0.2 exists as a lightweight tag" in refused.stderr and "git tag -d" in refused.stderr
    assert _tag_refs(repo) == before
    shown = _gitml(repo, env, "models", "--json")
    assert "note: model@v0.0.2 is a lightweight tag" in shown.stderr
    assert [row["version"] for row in yaml.safe_load(shown.stdout)] == ["v0.0.1"]
    registered = _gitml(repo, env, "register")
    assert registered.returncode == 0 and registered.stdout.startswith("model@v0.0.3: registered")
    assert "model@v0.0.2 is a lightweight tag" in registered.stderr


def test_a_version_far_above_the_latest_needs_force(registry: tuple[Path, dict[str, str]]) -> None:
    repo, env = registry
    before = _tag_refs(repo)
    for version in ("v9999999999999999999999.0.0", "v2.0.0"):
        refused = _gitml(repo, env, "register", "--version", version)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
        assert f"--version {version} jumps more than one major version above v0.0.1" in refused.stderr
        assert "--force --reason" in refused.stderr
    assert _tag_refs(repo) == before
    forced = _gitml(repo, env, "register", "--version", "v2.0.0", "--force", "--reason", "new model family")
    assert forced.returncode == 0 and forced.stdout.startswith("model@v2.0.0: registered")
