"""Retraining and alerts: pure pieces, the drift issue through a recording `gh`, and the monitor
workflow's own `run:` steps end to end in a temporary clone (real git, real dvc, a bare origin).
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml

from gitml import config
from gitml.core import errors
from gitml.monitor import alert, retrain

pytestmark = pytest.mark.e2e

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "monitor.yaml"
INPUTS = ["num_0", "num_1", "num_2", "num_3", "num_4", "num_5", "cat_0", "cat_1"]


# --- pure pieces -------------------------------------------------------------------------------


def test_combine_appends_new_rows_without_exact_duplicates(monitor_table: Callable[..., pd.DataFrame]) -> None:
    base = monitor_table(50, 1, 2, 1)
    new = pd.concat([base.iloc[:5], monitor_table(10, 2, 2, 1)], ignore_index=True)
    combined, dropped = retrain.combine(base, new, "append")
    assert dropped == 5 and len(combined) == 60
    assert retrain.combine(base, new, "replace")[0].shape == (15, 4)


def test_labelled_rows_keep_training_columns_and_need_every_one(
    tmp_path: Path, monitor_table: Callable[..., pd.DataFrame], write_table: Callable[..., Path]
) -> None:
    frame = monitor_table(30, 1, 2, 1).assign(prediction="class_0", request_id="r")
    frame.loc[:9, "target"] = None
    rows = retrain.labelled_rows(write_table(frame, tmp_path / "l" / "a.parquet"),
                                 ["num_0", "num_1", "cat_0", "target"], "target")
    assert list(rows.columns) == ["num_0", "num_1", "cat_0", "target"] and len(rows) == 20
    with pytest.raises(errors.DataError, match=r"lacks training columns \['num_9'\]"):
        retrain.labelled_rows(tmp_path / "l", ["num_9", "target"], "target")
    with pytest.raises(errors.DataError, match="no rows with a label"):
        retrain.labelled_rows(write_table(frame.iloc[:10], tmp_path / "u.parquet"), ["num_0", "target"], "target")


def test_data_config_keeps_the_contract_and_points_at_the_new_file(
    tmp_path: Path, monitor_params: Callable[..., config.Params]
) -> None:
    text = retrain.data_config(monitor_params(2, 1), "data/retrain/2026-01-01.parquet", "note")
    section = yaml.safe_load(text)
    assert section["source"] == {"kind": "file", "path": "data/retrain/2026-01-01.parquet", "format": "parquet"}
    assert set(section["contract"]["columns"]) == {"num_0", "num_1", "cat_0", "target"}
    defaults = tmp_path / "config.yaml"
    defaults.write_text("defaults:\n  - data: breast_cancer  # the data\n  - model: x\n")
    retrain.select_data_config(defaults, "retrain")
    assert defaults.read_text() == "defaults:\n  - data: retrain  # the data\n  - model: x\n"
    defaults.write_text("defaults:\n  - model: x\n")
    with pytest.raises(errors.ConfigError, match="no `- data: ...` entry"):
        retrain.select_data_config(defaults, "retrain")


DRIFT = {"status": "drift", "generated_at": "2026-01-01T00:00:00+00:00",
         "checks": {"dataset": {"status": "no_drift", "reason": "2 of 8 evaluated columns drifted (25%)",
                                "n_drifted": 2, "n_evaluated": 8, "share_drifted": 0.25,
                                "drifted_columns": ["num_0", "num_1"]},
                    "prediction": {"status": "drift", "reason": "'prediction': jensenshannon 0.4 >= 0.1"},
                    "performance": {"status": "not_evaluated", "reason": "no labels"}},
         "alerts": ["column 'num_0': drift: wasserstein 0.9 >= 0.1"],
         "reference": {"source": "prod", "commit": "abc", "rows": 10}, "current": {"path": "data/inference", "rows": 5}}


def test_alert_opens_one_issue_then_updates_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               gh_standin: Callable[[Path], Any],
                                               monitor_params: Callable[..., config.Params]) -> None:
    gh = gh_standin(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{gh.folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GH_LOG", str(gh.log))
    monkeypatch.delenv("GH_ISSUES", raising=False)
    monkeypatch.delenv("GH_FAIL", raising=False)
    cfg = monitor_params().monitor.alert
    assert alert.open_or_update(DRIFT, cfg, "https://run") == "opened issue https://github.example/acme/demo/issues/7"
    first = gh.calls()
    assert [c["args"][:2] for c in first] == [["issue", "list"], ["label", "create"], ["issue", "create"]]
    assert first[0]["args"] == ["issue", "list", "--state", "open", "--label", "drift", "--json", "number,body",
                                "--limit", "100"]
    assert first[2]["args"][:6] == ["issue", "create", "--title", "Data drift detected", "--label", "drift"]
    body = first[2]["body"]
    assert alert.MARKER in body and "wasserstein 0.9" in body and "https://run" in body
    issues = tmp_path / "issues.json"
    issues.write_text(json.dumps([{"number": 3, "body": "someone else's"}, {"number": 7, "body": first[2]["body"]}]))
    monkeypatch.setenv("GH_ISSUES", str(issues))
    assert alert.open_or_update(DRIFT, cfg) == "updated issue #7"
    update = gh.calls()[3:]
    assert [c["args"][:3] for c in update] == [["issue", "list", "--state"], ["issue", "edit", "7"],
                                               ["issue", "comment", "7"]]
    assert alert.open_or_update({**DRIFT, "status": "no_drift"}, cfg).startswith("no drift")
    assert len(gh.calls()) == 6


def test_alert_without_gh_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             monitor_params: Callable[..., config.Params]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(errors.GitHubError, match=r"^gh: not found on PATH: the GitHub CLI is not installed \("):
        alert.open_or_update(DRIFT, monitor_params().monitor.alert)


# --- end to end ----------------------------------------------------------------------------------


def _configure(path: Path, remote: Path, run: Callable[..., Any]) -> None:
    """Small synthetic data, a fast model (`new_project` made it), and an absolute DVC remote (a team's bucket)."""
    synthetic = path / "conf" / "data" / "synthetic.yaml"
    section = yaml.safe_load(synthetic.read_text())
    section["source"].update(n_rows=1200, n_numeric=6, n_categorical=2)
    synthetic.write_text(yaml.safe_dump(section, sort_keys=False))
    retrain.select_data_config(path / "conf" / "config.yaml", "synthetic")
    forest = path / "conf" / "model" / "random_forest.yaml"
    assert "n_estimators: 20" in forest.read_text()
    evaluate = path / "conf" / "evaluate" / "default.yaml"
    evaluate.write_text(evaluate.read_text().replace("n_repeats: 5", "n_repeats: 1"))
    run(path, "gitml", "compose")
    run(path, "dvc", "remote", "modify", "storage", "url", str(remote))


def _serve_and_log(path: Path, serve_kit: Any, monitor_table: Callable[..., pd.DataFrame],
                   write_table: Callable[..., Path]) -> None:
    """Serve the prod model for real and send it drifted traffic; its labels arrive later, apart."""
    current = monitor_table(400, 99, 6, 2)
    for name in ("num_0", "num_1", "num_2", "num_3"):
        current[name] = current[name] + current[name].std()
    current.loc[: len(current) // 2, "cat_0"] = "a"
    with serve_kit.cli_server(path, "--stage", "prod") as (url, process):
        response = httpx.post(f"{url}/predict", json={"records": current[INPUTS].to_dict("records")}, timeout=120)
        assert response.status_code == 200, response.text
        process.send_signal(signal.SIGTERM)  # a clean shutdown flushes the prediction log
        process.wait(60)
    assert list((path / "data" / "inference").glob("predictions-*.parquet"))
    write_table(current[[*INPUTS, "target"]], path / "data" / "labelled" / "2026-01-02.parquet")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, run: Callable[..., Any], new_project: Callable[[Path], Path],
            serve_kit: Any, monitor_table: Callable[..., pd.DataFrame], write_table: Callable[..., Path]) -> Path:
    """A trained project whose model is in prod and served drifted traffic: its log and labels, pushed."""
    root = tmp_path_factory.mktemp("monitor-e2e")
    path = new_project(root / "demo")
    _configure(path, root / "remote", run)
    run(path, "dvc", "repro")
    run(path, "git", "add", "--all")
    run(path, "git", "commit", "-qm", "first model")
    run(path, "gitml", "register", "--version", "v0.0.1")
    run(path, "gitml", "promote", "model", "v0.0.1", "--stage", "prod")
    _serve_and_log(path, serve_kit, monitor_table, write_table)
    run(path, "dvc", "add", "data/inference", "data/labelled")
    run(path, "git", "add", "--all")
    run(path, "git", "commit", "-qm", "prediction log and labels")
    run(path, "dvc", "push")
    run(root, "git", "clone", "--quiet", "--bare", str(path), str(root / "origin.git"))
    return path


@pytest.fixture(scope="module")
def workflow_run(project: Path, run: Callable[..., Any], cmd_env: Callable[[], dict[str, str]],
                 gh_standin: Callable[[Path], Any], pip_standin: Callable[[Path], Path],
                 workflow: Callable[[Path], Any]) -> dict[str, Any]:
    """The monitor workflow's `run:` steps, run once in a fresh clone of the bare origin."""
    root = project.parent
    clone = root / "ci"
    run(root, "git", "clone", "--quiet", str(root / "origin.git"), str(clone))
    gh = gh_standin(root / "bin")
    pip_log = pip_standin(gh.folder)  # gitml is installed already: record what the workflow asks pip for
    path = f"{gh.folder}{os.pathsep}{cmd_env()['PATH']}"
    # As on a runner: no git identity in the environment (the workflow configures gitml-bot), no index for pip.
    env = {key: value for key, value in cmd_env().items()
           if not key.startswith(("GIT_AUTHOR", "GIT_COMMITTER", "GH_"))}
    env.update(PATH=path, GH_LOG=str(gh.log), GITHUB_ACTIONS="true",
               GITHUB_REF_NAME="main", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    context = {"github": {"token": "test-token", "server_url": "https://github.example", "repository": "acme/demo",
                          "run_id": "42"},
               # No secrets set, as in a repository that added none: the remote and the log are local folders.
               "secrets": {"RETRAIN_TOKEN": "", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}}
    job = workflow(WORKFLOW).run_job("monitor", clone, env, context=context, stop_on_failure=True)
    failed = {name: f"{result.stdout}\n{result.stderr}" for name, result in job.steps.items() if result.returncode}
    assert job.ok, f"steps failed: {failed}"
    return {"root": root, "clone": clone, "gh": gh, "pip_log": pip_log, "summary": job.summary, "ran": list(job.steps),
            "outputs": job.outputs, "path": path}


def test_monitor_workflow_alerts_and_opens_a_retrain_pull_request(project: Path, workflow_run: dict[str, Any],
                                                                  run: Callable[..., Any]) -> None:
    root, clone, gh = workflow_run["root"], workflow_run["clone"], workflow_run["gh"]
    assert workflow_run["pip_log"].read_text() == "install -r requirements.txt\n"
    assert workflow_run["ran"] == [
        "Install gitml", "Pull data and labels (when a DVC remote is configured)",
        "Monitor (exit 0 no drift, 1 drift, 2 could not evaluate)", "Open or update the drift issue",
        "Open the retraining pull request",
    ], workflow_run["ran"]
    assert workflow_run["outputs"]["monitor"] == {"status": "1"}

    report = json.loads((clone / "reports" / "drift.json").read_text())
    prod = run(project, "git", "rev-list", "-n", "1", "model@v0.0.1").stdout.strip()
    assert report["reference"] == {"source": "prod", "version": "v0.0.1", "commit": prod,
                                   "path": "data/features/train.parquet", "rows": 960}
    dataset = report["checks"]["dataset"]
    assert dataset["status"] == "drift" and dataset["rule"] == "importance"
    assert set(dataset["drifted_columns"]) >= {"num_0", "num_1", "num_2", "num_3"}
    assert report["current"]["model_versions"] == {"v0.0.1": 400}
    # The log has no labels: they arrive separately, for retraining.
    assert report["checks"]["performance"]["status"] == "not_evaluated"
    assert "Drift report" in workflow_run["summary"]
    shown = json.loads(run(clone, "dvc", "metrics", "show", "--json", "reports/drift.json").stdout)
    assert "share_drifted" in json.dumps(shown)

    made = gh.calls()
    assert [c["args"][:2] for c in made] == [["issue", "list"], ["label", "create"], ["issue", "create"],
                                             ["auth", "setup-git"], ["label", "create"], ["pr", "create"]]
    assert {c["token"] for c in made} == {"test-token"}
    assert "https://github.example/acme/demo/actions/runs/42" in made[2]["body"]
    pr = made[5]["args"]
    branch = pr[pr.index("--head") + 1]
    assert re.fullmatch(r"retrain/\d{4}-\d{2}-\d{2}", branch)
    assert pr[:6] == ["pr", "create", "--base", "main", "--head", branch] and pr[-2:] == ["--label", "retrain"]
    title = pr[pr.index("--title") + 1]
    assert title.startswith(f"Retrain: drift in {dataset['n_drifted']} of 8 columns")
    assert "num_0" in made[5]["body"] and "The gate decides" in made[5]["body"]

    origin = root / "origin.git"
    message = run(origin, "git", "log", "-1", "--format=%an%n%B", branch).stdout
    assert message.startswith(f"gitml-bot\n{title}\n")
    assert "Drift report reports/drift.json" in message and "column 'num_0': drift: " in message
    assert "- dataset drift: drift: drifted columns carry" in message
    assert "400 labelled rows from data/labelled" in message and "Metrics of the retrained model" in message
    changed = run(origin, "git", "diff", "--name-only", "main", branch).stdout.split()
    dataset = f"data/retrain/{branch.removeprefix('retrain/')}.parquet"
    assert {"conf/config.yaml", "conf/data/retrain.yaml", "params.yaml", "dvc.lock", f"{dataset}.dvc"} <= set(changed)
    params_on_branch = yaml.safe_load(run(origin, "git", "show", f"{branch}:params.yaml").stdout)
    assert params_on_branch["data"]["source"] == {"kind": "file", "path": dataset, "format": "parquet"}
    metrics = [json.loads(run(origin, "git", "show", f"{ref}:reports/metrics.json").stdout) for ref in ("main", branch)]
    assert metrics[0] != metrics[1]
    md5 = yaml.safe_load(run(origin, "git", "show", f"{branch}:{dataset}.dvc").stdout)["outs"][0]["md5"]
    assert (root / "remote" / "files" / "md5" / md5[:2] / md5[2:]).is_file(), "dvc push did not upload the data"
    assert pd.read_parquet(clone / dataset).shape == (1600, 9)
    # The branch is taken here and on origin: the next retrain of the day gets `-2`.
    date = branch.removeprefix("retrain/")
    assert retrain.branch_name(clone, None, "retrain/", date) == f"{branch}-2"
    with pytest.raises(errors.RetrainError, match="already exists"):
        retrain.branch_name(clone, branch, "retrain/")


def test_the_gate_decides_on_the_retrain_branch(project: Path, workflow_run: dict[str, Any], run: Callable[..., Any],
                                                cmd_env: Callable[[], dict[str, str]]) -> None:
    """The loop's last step: the retrained model is judged against the prod model, not promoted."""
    clone, path = workflow_run["clone"], workflow_run["path"]
    branch = run(clone, "git", "branch", "--show-current").stdout.strip()
    assert branch.startswith("retrain/")
    gate = run(clone, "gitml", "gate", check=False, env={**cmd_env(), "PATH": path})
    assert gate.returncode in (errors.OK, errors.FAILED), gate.stderr
    report = json.loads((clone / "reports" / "gate.json").read_text())
    assert report["verdict"] == ("pass" if gate.returncode == errors.OK else "fail")
    assert report["baseline"]["commit"] == run(project, "git", "rev-list", "-n", "1", "model@v0.0.1").stdout.strip()
    assert report["candidate"]["commit"] == run(clone, "git", "rev-parse", "HEAD").stdout.strip()
    assert run(clone, "git", "tag", "--list", "model@*").stdout.split() == ["model@v0.0.1"], "nothing was registered"


def test_a_second_retrain_replaces_the_previous_training_file(
    workflow_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch, run: Callable[..., Any],
    cmd_env: Callable[[], dict[str, str]], monitor_table: Callable[..., pd.DataFrame],
    write_table: Callable[..., Path]
) -> None:
    clone, path = workflow_run["clone"], workflow_run["path"]
    monkeypatch.setenv("PATH", path)
    again = run(clone, "gitml", "retrain", check=False, env={**cmd_env(), "PATH": path})
    assert again.returncode == errors.FAILED
    assert "all 400 labelled rows are already in the training data" in again.stderr
    assert run(clone, "git", "status", "--porcelain", "--untracked-files=no").stdout == ""
    p = config.load(clone / "params.yaml")
    previous = p.data.source.path
    labels = write_table(monitor_table(150, 7, 6, 2)[[*INPUTS, "target"]], clone / "new-labels" / "batch.parquet")
    new = retrain.labelled_rows(labels, INPUTS + ["target"], "target")
    refreshed, note = retrain.training_data(p, new, "new-labels", clone)
    assert len(refreshed) == 1750 and note.endswith("+ 150 labelled rows from new-labels")
    run(clone, "git", "switch", "-q", "-c", "retrain/second")
    retrain.write_training_data(p, refreshed, "data/retrain/second.parquet", note, clone)
    assert config.load(clone / "params.yaml").data.source.path == "data/retrain/second.parquet"
    assert not (clone / previous).exists() and not (clone / f"{previous}.dvc").exists()
    staged = run(clone, "git", "status", "--porcelain", "data/retrain").stdout.splitlines()
    assert sorted(staged) == sorted([f"D  {previous}.dvc", "A  data/retrain/second.parquet.dvc",
                                     "M  data/retrain/.gitignore"])
    assert pd.read_parquet(clone / "data/retrain/second.parquet").shape == (1750, 9)


def test_retrain_refuses_a_dirty_working_tree(project: Path, tmp_path: Path, run: Callable[..., Any]) -> None:
    clone = tmp_path / "dirty"
    run(tmp_path, "git", "clone", "--quiet", str(project), str(clone))
    (clone / "params.yaml").write_text((clone / "params.yaml").read_text() + "\n")
    result = run(clone, "gitml", "retrain", check=False)
    assert result.returncode == errors.FAILED
    assert result.stderr.strip() == "error: the working tree has uncommitted changes; commit or stash them first"
    assert run(clone, "git", "branch", "--list", "retrain/*").stdout == ""
