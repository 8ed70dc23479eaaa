"""Security guards, one test per case: each asserts the exit code, the one line, and what was left alone.

The `_target_` allow-list holds after interpolation (a resolver cannot build an object it
never saw), refs and remotes never reach git as options, and every `paths.*` stays inside
the project. Real git, real files, the real `gitml` entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml

from gitml.cli import main as cli
from gitml.serve import settings
from gitml.serve.main import create_app

pytestmark = pytest.mark.e2e

Run = Callable[..., CompletedProcess[str]]
#: What the `gate_project` fixture is (test modules cannot import conftest's GateProject).
GateProject = Any
PREFIXES = "['sklearn.', 'gitml.'] (project.allowed_targets)"
ONLY_REFERENCES = ("only references to other keys (${key}, oc.select) are allowed there, nothing that builds "
                   "objects or reads the environment")


def _edit(path: Path, changes: dict[str, Any]) -> None:
    """Set dotted keys of a YAML file."""
    raw = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = raw
        for part in parents:
            node = node[part]
        node[leaf] = value
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = cli.main(["check", "--no-fresh", *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.splitlines()


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file a hostile config would truncate."""
    path = tmp_path / "victim.txt"
    path.write_text("precious\n")
    return path


# --- 1. the `_target_` allow-list holds after interpolation ---------------------------------------

def test_oc_create_building_a_file_handler_in_model_is_refused_and_the_file_untouched(
        project: Path, victim: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hostile = f"${{oc.create:{{_target_: logging.FileHandler, filename: {victim}, mode: w}}}}"
    _edit(project / "params.yaml", {"model.class_weight": hostile})

    assert _check(capsys) == (1, [f"error: params.yaml: model.class_weight: the resolver oc.create is refused in "
                                  f"`model`: {ONLY_REFERENCES}"])
    assert victim.read_text() == "precious\n"


def test_oc_env_in_model_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / "params.yaml", {"model.class_weight": "${oc.env:HOME}"})

    assert _check(capsys) == (1, [f"error: params.yaml: model.class_weight: the resolver oc.env is refused in "
                                  f"`model`: {ONLY_REFERENCES}"])


def test_oc_decode_nested_in_a_reference_in_features_is_refused(project: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / "params.yaml", {"features.numeric": [
        {"kind": "impute", "strategy": "${oc.select:nope,${oc.decode:'{_target_: os.system, command: id}'}}"}]})

    assert _check(capsys) == (1, [f"error: params.yaml: features.numeric[0].strategy: the resolver oc.decode is "
                                  f"refused in `features`: {ONLY_REFERENCES}"])


def test_oc_env_in_tune_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / "params.yaml", {"tune.seed": "${oc.env:SEED}"})

    assert _check(capsys) == (1, [f"error: params.yaml: tune.seed: the resolver oc.env is refused in `tune`: "
                                  f"{ONLY_REFERENCES}"])


def test_a_target_built_elsewhere_and_referenced_from_model_is_judged_after_resolution(
        project: Path, victim: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / "params.yaml", {
        "card.logo": f"${{oc.create:{{_target_: logging.FileHandler, filename: {victim}, mode: w}}}}",
        "model.class_weight": "${card.logo}",
    })

    assert _check(capsys) == (1, [
        "error: params.yaml: card.logo: unknown key (check its spelling)",
        f"params.yaml: model.class_weight._target_: 'logging.FileHandler' is outside the allowed prefixes {PREFIXES}",
        f"params.yaml: card.logo._target_: 'logging.FileHandler' is outside the allowed prefixes {PREFIXES}",
    ])
    assert victim.read_text() == "precious\n"


def test_an_escaped_interpolation_is_never_resolved_a_second_time(project: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / "params.yaml", {"model.class_weight": "\\${oc.env:HOME}"})

    assert _check(capsys) == (1, ["error: params.yaml: model.class_weight: '${oc.env:HOME}' still holds `${` after "
                                  "resolution; building would resolve it again"])


def test_a_target_anywhere_in_params_is_checked(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / "params.yaml", {"tune.spaces.Ridge.alpha": {"_target_": "subprocess.Popen", "args": "id"}})

    code, lines = _check(capsys)

    assert code == 1
    assert lines[-1] == (f"params.yaml: tune.spaces.Ridge.alpha._target_: 'subprocess.Popen' is outside the allowed "
                         f"prefixes {PREFIXES}")


def test_a_foreign_class_re_exported_under_an_allowed_prefix_is_refused(project: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / "params.yaml", {"model.class_weight": {"_target_": "sklearn.datasets._base.Path"}})

    assert _check(capsys) == (1, [f"error: model.class_weight._target_: 'sklearn.datasets._base.Path' is "
                                  f"pathlib.Path, outside the allowed prefixes {PREFIXES}"])


def test_oc_env_in_conf_model_is_refused_by_compose_and_params_untouched(
        project: Path, capsys: pytest.CaptureFixture[str], file_bytes: Callable[..., dict[Path, bytes]]) -> None:
    before = file_bytes([project / "params.yaml"])
    model = project / "conf" / "model" / "random_forest.yaml"
    model.write_text(model.read_text() + "class_weight: ${oc.env:HOME}\n")

    assert cli.main(["compose"]) == 1

    assert capsys.readouterr().err.splitlines() == [f"error: conf/: model.class_weight: the resolver oc.env is "
                                                    f"refused in `model`: {ONLY_REFERENCES}"]
    assert file_bytes(before) == before


# --- 2. refs and remotes never reach git as options -------------------------------------------------

@pytest.fixture
def with_origin(gate_project: GateProject, run: Run):
    """The gate project with an `origin` git remote (itself), so a fetch or a push could happen."""
    run(gate_project.path, "git", "remote", "add", "origin", str(gate_project.path))
    try:
        yield gate_project.path
    finally:
        run(gate_project.path, "git", "remote", "remove", "origin")


def test_a_baseline_that_is_a_git_option_is_refused_and_runs_nothing(with_origin: Path, run: Run) -> None:
    result = run(with_origin, "gitml", "gate", "--baseline", "--upload-pack=touch pwned;git-upload-pack", check=False)

    assert result.returncode == 2
    assert result.stderr == ("error: baseline '--upload-pack=touch pwned;git-upload-pack': not a ref or name git can "
                             "take (it starts with '-', which git would read as an option)\n")
    assert not (with_origin / "pwned").exists()


def test_a_baseline_that_is_no_ref_name_is_not_fetched(with_origin: Path, run: Run) -> None:
    result = run(with_origin, "gitml", "gate", "--baseline", "main..HEAD~9", check=False)

    assert result.returncode == 2
    assert result.stderr == ("error: baseline 'main..HEAD~9': no such commit or ref here, and not a ref name to fetch "
                             "from origin\n")


def test_a_push_remote_that_is_a_git_option_is_refused_before_any_tag(with_origin: Path, run: Run) -> None:
    result = run(with_origin, "gitml", "register", "--push", "--receive-pack=touch pwned;git-receive-pack",
                 check=False)

    assert result.returncode == 1
    assert result.stderr == ("error: --push '--receive-pack=touch pwned;git-receive-pack': not a ref or name git can "
                             "take (it starts with '-', which git would read as an option)\n")
    assert not (with_origin / "pwned").exists()
    assert run(with_origin, "git", "tag", "--list", "model@*").stdout == ""


def test_a_push_remote_that_is_not_configured_is_refused(with_origin: Path, run: Run) -> None:
    result = run(with_origin, "gitml", "register", "--push", "ext::sh -c touch% pwned", check=False)

    assert result.returncode == 1
    assert result.stderr == "error: --push 'ext::sh -c touch% pwned': no such git remote here (remotes: origin)\n"
    assert run(with_origin, "git", "tag", "--list", "model@*").stdout == ""


def test_a_retrain_branch_that_is_a_git_option_is_refused(with_origin: Path) -> None:
    from gitml.core.errors import RetrainError
    from gitml.monitor import retrain

    with pytest.raises(RetrainError) as caught:
        retrain.branch_name(with_origin, "--receive-pack=touch pwned", "retrain/")

    assert str(caught.value) == ("--branch '--receive-pack=touch pwned': not a ref or name git can take (it starts "
                                 "with '-', which git would read as an option)")


# --- 3. every paths.* stays inside the project ----------------------------------------------------

@pytest.mark.parametrize(("key", "value", "why"), [
    ("model", "/somewhere/else/model.skops", "is absolute"),
    ("raw", "../outside/dataset.parquet", "leaves the project through `..`"),
    ("metrics", "reports/../../metrics.json", "leaves the project through `..`"),
    ("plots", "s3://bucket/plots", "is a URL (copies elsewhere belong to a DVC remote, .dvc/config)"),
])
def test_check_refuses_a_path_outside_the_project(project: Path, capsys: pytest.CaptureFixture[str],
                                                 key: str, value: str, why: str) -> None:
    _edit(project / "params.yaml", {f"paths.{key}": value})

    assert _check(capsys) == (1, [f"error: paths.{key}: {value!r} {why}; paths.* are relative to the project "
                                  "folder and stay inside it"])


def test_the_gate_writes_nothing_outside_the_project(gate_project: GateProject, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "elsewhere"
    params = tmp_path / "params.yaml"
    params.write_text((gate_project.path / "params.yaml").read_text())
    _edit(params, {"paths.gate_report": str(outside / "gate.json"), "paths.gate_plots": "../gate-plots"})
    monkeypatch.chdir(gate_project.path)

    assert cli.main(["gate", "--params", str(params)]) == 2

    message = (f"paths.gate_report: '{outside / 'gate.json'}' is absolute; paths.* are relative to the project "
               "folder and stay inside it")
    assert capsys.readouterr().err.splitlines() == [
        f"error: {message}",
        "paths.gate_plots: '../gate-plots' leaves the project through `..`; paths.* are relative to the project "
        "folder and stay inside it"]
    assert not outside.exists() and not (gate_project.path.parent / "gate-plots").exists()
    report = json.loads((gate_project.path / "reports" / "gate.json").read_text())  # the default, inside
    assert report["verdict"] == "error" and report["error"].startswith(message)


def test_monitor_writes_no_report_outside_the_project(project: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _edit(project / "params.yaml", {"paths.drift": str(tmp_path / "drift.json")})

    assert cli.main(["monitor", "--current", "nowhere.parquet"]) == 2

    assert capsys.readouterr().err.splitlines() == [
        f"error: paths.drift: '{tmp_path / 'drift.json'}' is absolute; paths.* are relative to the project folder "
        "and stay inside it"]
    assert not (tmp_path / "drift.json").exists()


def test_get_never_deletes_files_it_did_not_write(gate_project: GateProject, tmp_path: Path, run: Run,
                                                  file_bytes: Callable[..., dict[Path, bytes]]) -> None:
    path = gate_project.path
    output = tmp_path / "serving"
    output.mkdir()
    (output / "version.json").write_text('{"name": "model"}\n')
    (output / "notes.txt").write_text("mine\n")
    before = file_bytes(output.iterdir())
    run(path, "git", "tag", "-a", "model@v0.1.0", "-m", "register", gate_project.baseline)
    try:
        result = run(path, "gitml", "get", "model", "--version", "v0.1.0", "-o", str(output), check=False)
    finally:
        run(path, "git", "tag", "-d", "model@v0.1.0")

    assert result.returncode == 1
    assert result.stderr == (f"error: -o {output}: holds files `gitml get` did not write ('notes.txt'); give a new "
                             "or empty folder, or one that only `gitml get` wrote to\n")
    assert file_bytes(before) == before and sorted(os.listdir(output)) == ["notes.txt", "version.json"]


# --- serving and the registry ------------------------------------------------------------

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
    (repo / ".gitignore").write_text("/reports/gate.json\n")  # as the project's: git does not keep the report
    env = cmd_env()
    for n in (1, 2):
        lock = {"schema": "2.0", "stages": {"train": {"cmd": "python -m stages.train", "outs": [
            {"path": "models/model.skops", "hash": "md5", "md5": f"{n:032x}", "size": 1}]}}}
        (repo / "dvc.lock").write_text(yaml.safe_dump(lock))
        _git(repo, "add", "--all")
        _git(repo, "commit", "-qm", f"train {n}")
        # the gate's report on it, as CI leaves one before it registers (without one, `gitml register` runs
        # the gate, which cannot judge a commit holding no DVC outputs)
        head = _git(repo, "rev-parse", "HEAD").strip()
        (repo / "reports" / "gate.json").write_text(json.dumps({"verdict": "pass", "candidate": {"commit": head}}))
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
